"""The report pages through Django's test client: the index, one report with its manual fields,
refreshing, submitting (with the confirmation), the street returning it with a reason and approving
the resubmission, the history and its snapshots, the Excel form holding the page's numbers, the
drill-down whose list counts the cell — each for the users allowed and refused to the sibling
community, the other street and users without the permission (404/403, no data)."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from shequ.core.models import AuditEntry
from shequ.reports.models import InstanceStatus, ReportSnapshot
from shequ.reports.tests.fixtures_pages import Rep

pytestmark = pytest.mark.django_db

COVERED = {
    "reports:index",
    "reports:instance",
    "reports:refresh",
    "reports:submit",
    "reports:history",
    "reports:snapshot",
    "reports:export",
    "reports:cell",
    "reports:review",
    "reports:approve",
    "reports:return",
}


def text(response: Any) -> str:
    return str(response.content.decode())


def main(response: Any) -> str:
    """The page's main element without tags and blanks (what a reader sees)."""
    body = text(response).split('<main id="main"', 1)[1].split("</main>", 1)[0]
    return re.sub(r"\s+", "", re.sub(r"<[^>]+>", " ", body))


def url(name: str, instance: Any, *args: Any) -> str:
    return reverse(f"reports:{name}", args=[instance.pk, *args])


def submit(rep: Rep, staff: str = "12") -> None:
    worker = rep.client("worker_a")
    assert worker.post(url("instance", rep.a), {"staff": staff}).status_code == 302
    assert worker.post(url("submit", rep.a)).status_code == 302


# --- Index --------------------------------------------------------------------------------------


def test_index_lists_each_viewer_their_reports(rep: Rep) -> None:
    page = main(rep.client("worker_a").get("/reports/"))
    assert "人口基本情况统计表" in page and "测社统1表" in page and "枇杷塘社区" in page
    assert "泽盛社区" not in page and "石门楼社区" not in page
    page = main(rep.client("head_b").get("/reports/"))
    assert "泽盛社区" in page and "枇杷塘社区" not in page
    page = main(rep.client("street").get("/reports/"))
    assert "枇杷塘社区" in page and "泽盛社区" in page and "岳麓街道" in page and "石门楼社区" not in page
    page = main(rep.client("outsider").get("/reports/"))
    assert "枇杷塘社区" not in page and "泽盛社区" not in page and "石门楼社区" in page
    for who in ("resident", "dept", "nobody"):
        assert rep.client(who).get("/reports/").status_code == 403, who
    anonymous = Client().get("/reports/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")


def test_index_filters_by_status_template_and_period(rep: Rep) -> None:
    submit(rep)
    street = rep.client("street")
    page = main(street.get("/reports/?status=submitted"))
    assert "枇杷塘社区" in page and "泽盛社区" not in page
    page = main(street.get(f"/reports/?template=test_population&period={rep.start.isoformat()}&status=draft"))
    assert "泽盛社区" in page and "枇杷塘社区" not in page
    page = main(street.get("/reports/?template=nothing-like-it&status=submitted"))
    assert "不在可用的选项中" in page  # said, and the other filters still apply
    assert "枇杷塘社区" in page and "泽盛社区" not in page
    assert street.get("/reports/?period=garbage").status_code == 200


# --- One report ---------------------------------------------------------------------------------


def test_instance_page_shows_the_table_to_its_region_and_above(rep: Rep) -> None:
    a = rep.a
    page = main(rep.client("worker_a").get(url("instance", a)))
    residents = a.values["residents:total"]
    assert residents == 3 and a.values["residents:female"] == 1 and a.values["elderly:total"] == 1
    assert "常住人口" in page and "60岁及以上" in page and "33.3" in page
    assert f'href="{url("cell", a, "residents:total")}"' in text(
        rep.client("worker_a").get(url("instance", a))
    )
    assert (
        "刷新数据" in page
        and "报送…" in page
        and 'name="staff"' in text(rep.client("worker_a").get(url("instance", a)))
    )
    street_page = text(rep.client("street").get(url("instance", a)))
    assert "常住人口" in street_page and 'name="staff"' not in street_page and "刷新数据" not in street_page
    for who in ("head_b", "outsider"):
        response = rep.client(who).get(url("instance", a))
        assert response.status_code == 404, who
        assert "常住人口" not in text(response)
    assert rep.client("resident").get(url("instance", a)).status_code == 403


def test_manual_field_errors_are_specific_and_save_nothing(rep: Rep) -> None:
    worker = rep.client("worker_a")
    response = worker.post(url("instance", rep.a), {"staff": "十二"})
    assert response.status_code == 400
    assert "整数" in main(response) and rep.a.manual == {}
    response = worker.post(url("instance", rep.a), {"staff": "900"})
    assert response.status_code == 400 and "500" in main(response) and rep.a.manual == {}
    assert worker.post(url("instance", rep.a), {"staff": "12"}).status_code == 302
    assert rep.a.manual == {"staff": 12}
    assert "12" in main(worker.get(url("instance", rep.a)))
    # The sibling community cannot write into it, nor the street.
    assert rep.client("head_b").post(url("instance", rep.a), {"staff": "1"}).status_code == 404
    assert rep.client("street").post(url("instance", rep.a), {"staff": "1"}).status_code == 403
    assert rep.a.manual == {"staff": 12}


def test_refresh_recounts_a_draft_only_for_its_filler(rep: Rep) -> None:
    rep.reg.register("孙七", rep.reg.houses["a"][2])
    worker = rep.client("worker_a")
    assert rep.client("head_b").post(url("refresh", rep.a)).status_code == 404
    assert rep.a.values["residents:total"] == 3
    assert worker.post(url("refresh", rep.a)).status_code == 302
    assert rep.a.values["residents:total"] == 4


def test_submit_needs_the_required_fields_and_a_confirmation(rep: Rep) -> None:
    worker = rep.client("worker_a")
    confirm = worker.get(url("submit", rep.a))
    assert confirm.status_code == 200 and "确认报送" in main(confirm)
    assert rep.a.status == InstanceStatus.DRAFT  # a GET changes nothing
    refused = worker.post(url("submit", rep.a))
    assert refused.status_code == 400 and "社区工作者人数" in main(refused)
    assert rep.a.status == InstanceStatus.DRAFT and not ReportSnapshot.objects.exists()
    assert rep.client("head_b").post(url("submit", rep.a)).status_code == 404
    assert rep.client("street").post(url("submit", rep.a)).status_code == 403
    submit(rep)
    a = rep.a
    assert a.status == InstanceStatus.SUBMITTED and a.revision == 1
    page = text(worker.get(url("instance", a)))
    assert "已上报待审核" in page and "worker_a" in page and 'name="staff"' not in page
    assert worker.post(url("submit", a)).status_code == 403  # not twice


def test_return_with_reason_fix_and_resubmit(rep: Rep) -> None:
    submit(rep, staff="120")
    street = rep.client("street")
    review = street.get(url("review", rep.street))
    assert review.status_code == 200
    assert "枇杷塘社区" in main(review) and "泽盛社区" in main(review) and "审核通过" in main(review)
    # The reason is required; the sibling community and the other street cannot return it.
    missing = street.post(url("return", rep.a), {"reason": "  "})
    assert missing.status_code == 400 and "请填写退回原因" in main(missing)
    assert rep.a.status == InstanceStatus.SUBMITTED
    for who in ("head_b", "outsider", "worker_a"):  # no review permission at all
        assert rep.client(who).post(url("return", rep.a), {"reason": "x"}).status_code == 403, who
        assert rep.client(who).post(url("approve", rep.a)).status_code == 403, who
    other = rep.client(rep.other_street)  # reviews, but not this street's communities
    assert other.post(url("return", rep.a), {"reason": "x"}).status_code == 404
    assert other.post(url("approve", rep.a)).status_code == 404
    assert other.get(url("review", rep.street)).status_code == 404
    assert street.post(url("return", rep.a), {"reason": "社区工作者人数偏多，请核实"}).status_code == 302
    a = rep.a
    assert a.status == InstanceStatus.RETURNED and a.return_reason == "社区工作者人数偏多，请核实"
    worker = rep.client("worker_a")
    page = text(worker.get(url("instance", a)))
    assert 'class="rp-returned"' in page and "社区工作者人数偏多，请核实" in page
    assert "已退回" in main(worker.get("/reports/"))
    # Fixed and submitted again: a second revision; the street approves it.
    submit(rep, staff="12")
    a = rep.a
    assert a.status == InstanceStatus.SUBMITTED and a.revision == 2
    assert street.post(url("approve", a)).status_code == 302
    assert rep.a.status == InstanceStatus.APPROVED
    history = main(worker.get(url("history", a)))
    assert "第2次报送" in history and "第1次报送" in history and "社区工作者人数偏多，请核实" in history
    assert "审核通过" in history and "退回" in history
    first = main(worker.get(url("snapshot", a, 1)))
    assert "120" in first and "第1次报送" in first
    assert "12" in main(worker.get(url("snapshot", a, 2)))
    for who in ("head_b", "outsider"):
        assert rep.client(who).get(url("history", a)).status_code == 404
        assert rep.client(who).get(url("snapshot", a, 1)).status_code == 404
    assert worker.get(url("snapshot", a, 9)).status_code == 404


def test_review_page_is_for_the_level_above(rep: Rep) -> None:
    for who in ("worker_a", "head_b", "outsider"):  # community staff review nothing
        assert rep.client(who).get(url("review", rep.street)).status_code == 403, who
    assert rep.client(rep.other_street).get(url("review", rep.street)).status_code == 404
    page = main(rep.client(rep.other_street).get("/reports/"))
    assert "岳麓街道" not in page and "枇杷塘社区" not in page and "桔子洲街道" in page
    assert rep.client("street").get(url("review", rep.a)).status_code == 404  # nothing below a community


# --- Excel --------------------------------------------------------------------------------------


def sheet(response: Any) -> Any:
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.content)).active


def numbers(ws: Any) -> dict[str, list[Any]]:
    return {row[0].value: [c.value for c in row[2:]] for row in ws.iter_rows(min_row=6) if row[0].value}


def test_export_holds_the_page_numbers(rep: Rep) -> None:
    worker = rep.client("worker_a")
    worker.post(url("instance", rep.a), {"staff": "12"})
    ws = sheet(worker.get(url("export", rep.a)))
    a = rep.a
    assert ws["A1"].value == "人口基本情况统计表" and "测社统1表" in ws["A2"].value
    assert "岳麓街道枇杷塘社区" in ws["A4"].value and "草稿" in ws["A4"].value
    rows = numbers(ws)
    assert rows["常住人口"] == [
        a.values["residents:total"],
        a.values["residents:male"],
        a.values["residents:female"],
    ]
    assert rows["60岁及以上"][0] == a.values["elderly:total"]
    assert rows["老年人口占比"][0] == pytest.approx(33.3)
    assert rows["社区工作者人数"][0] == 12
    assert AuditEntry.objects.filter(action="reports.export", object_id=str(a.pk)).exists()
    for who in ("head_b", "outsider"):
        assert rep.client(who).get(url("export", a)).status_code == 404


def test_snapshot_export_is_frozen(rep: Rep) -> None:
    submit(rep)
    rep.client("street").post(url("return", rep.a), {"reason": "请核实"})
    rep.reg.register("孙七", rep.reg.houses["a"][2])
    worker = rep.client("worker_a")
    worker.post(url("refresh", rep.a))
    assert rep.a.values["residents:total"] == 4
    frozen = numbers(sheet(worker.get(url("export", rep.a) + "?revision=1")))
    assert frozen["常住人口"][0] == 3
    ws = sheet(worker.get(url("export", rep.a)))
    assert numbers(ws)["常住人口"][0] == 4 and "草稿" in ws["A4"].value


# --- Drill-down ---------------------------------------------------------------------------------


def test_drilldown_lists_the_records_the_cell_counts(rep: Rep) -> None:
    worker = rep.client("worker_a")
    a = rep.a
    for cell in ("residents:total", "residents:female", "elderly:total", "residents:male"):
        page = main(worker.get(url("cell", a, cell)))
        assert f"{a.values[cell]}条记录" in page, cell
        assert "这个数字从哪里来" in page
    female = main(worker.get(url("cell", a, "residents:female")))
    assert "赵*英" in female or "赵桂英" in female
    assert "张三" not in female and "张*" not in female
    assert "女" in female  # the column's filter in words
    assert rep.client("street").get(url("cell", a, "residents:total")).status_code == 200
    for who in ("head_b", "outsider"):
        response = rep.client(who).get(url("cell", a, "residents:total"))
        assert response.status_code == 404 and "赵" not in text(response), who
    assert worker.get(url("cell", a, "staff")).status_code == 404  # a manual field has no records
    assert worker.get(url("cell", a, "elderly_ratio:total")).status_code == 404
    assert worker.get(url("cell", a, "nothing:total")).status_code == 404


def test_drilldown_of_a_snapshot_shows_both_counts(rep: Rep) -> None:
    submit(rep)
    rep.reg.register("孙七", rep.reg.houses["a"][2])
    page = main(rep.client("worker_a").get(url("cell", rep.a, "residents:total") + "?revision=1"))
    assert "4条记录" in page and "数字3是第1次报送" in page


# --- Home tiles ---------------------------------------------------------------------------------


def test_home_tiles_count_what_is_to_submit_and_to_review(rep: Rep) -> None:
    from django.utils import translation

    from shequ.core.components import tiles_for

    def counts(who: str) -> dict[str, int | None]:
        with translation.override("en"):
            # The registry's "Ledgers" tile also leads under /reports/ (to the ledger pages).
            return {
                str(t.label): t.count
                for t in tiles_for(rep[who])
                if t.url.startswith("/reports/") and not t.url.startswith("/reports/ledgers")
            }

    assert counts("worker_a") == {"Reports to submit": 1}
    submit(rep)
    assert counts("worker_a") == {"Reports to submit": 0}
    # The street: its own aggregate to submit, and the community's report to review.
    assert counts("street") == {"Reports to submit": 1, "Reports to review": 1}
    assert counts("head_b") == {"Reports to submit": 1}
    assert counts("resident") == {} and counts("dept") == {}


def test_index_and_review_do_not_query_per_report(rep: Rep) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from shequ.core.models import Region, RegionKind, RegionLevel
    from shequ.reports.models import ReportTemplate, period_of
    from shequ.reports.services import fill_period
    from shequ.reports.tests.fixtures_pages import DEFINITION

    street = rep.client("street")

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert street.get(path).status_code == 200
        return len(ctx.captured_queries)

    review = url("review", rep.street)
    before = queries("/reports/"), queries(review)
    parent = rep.reg.world.regions["430104002"]
    for n in range(3):  # three more communities under the street, each with its report
        Region.objects.create(
            code=f"43010400201{n}",
            name=f"新建{n}社区",
            level=RegionLevel.COMMUNITY,
            kind=RegionKind.COMMUNITY,
            parent=parent,
        )
    fill_period(template=rep.template, period_start=rep.start)
    assert len(main(street.get(review)).split("新建")) == 4
    for n in range(3):
        extra = ReportTemplate.objects.create(
            key=f"extra_{n}",
            title=f"附加表{n}",
            periodicity="monthly",
            fill_level="community",
            receive_level="county",
            definition=DEFINITION,
        )
        fill_period(template=extra, period_start=period_of("monthly", rep.start)[0])
    submit(rep)
    # Several times the reports and children, one of them submitted: the same queries (a
    # submitted report's line may add one).
    assert queries("/reports/") <= before[0] + 1
    assert queries(review) <= before[1] + 1
