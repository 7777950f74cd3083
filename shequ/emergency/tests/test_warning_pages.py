"""The warning pages: the staff list, the draft form (with a zone drawn on the map), one warning's
page and its steps (issue, update, lift, discard), and the public pages residents open from the SMS
without signing in. Scope: a sibling community's head gets 404, a grid worker may read but not act
(an audited 403); bad input gets a specific Chinese error and saves nothing; every step is audited
by its service."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from shequ.conftest import World
from shequ.core import outbox
from shequ.core.models import AuditEntry, AuditResult, Message
from shequ.emergency.models import Level, Warning, WarningSource, WarningStatus, WarningStep, WarningType
from shequ.emergency.services import warnings as services
from shequ.emergency.tests import test_warning_map
from shequ.emergency.tests.conftest import COMMUNITY_A, COMMUNITY_B, GRID_A, GRID_B, GRID_C, Registry
from shequ.registry.models import Building

pytestmark = pytest.mark.django_db

# A square around building a (grid A), drawn as the form posts it; building b lies outside.
ZONE = {
    "type": "Polygon",
    "coordinates": [[[112.93, 28.22], [112.94, 28.22], [112.94, 28.23], [112.93, 28.23], [112.93, 28.22]]],
}


def as_user(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world[persona])
    return client


def text(response: Any) -> str:
    return str(response.content.decode())


def audits(action: str, result: str = AuditResult.SUCCESS) -> int:
    return AuditEntry.objects.filter(action=action, result=result).count()


def draft(town: Registry, persona: str = "head_a", **extra: Any) -> Warning:
    data: dict[str, Any] = {
        "actor": town.world[persona],
        "kind": WarningType.RAINSTORM,
        "level": Level.ORANGE,
        "title": "暴雨橙色预警：低洼处请转移",
        "text": "今晚有特大暴雨。低洼地带住户请于20时前转移至社区服务中心。",
        "area_codes": [COMMUNITY_A],
    }
    data.update(extra)
    return services.warning_draft(**data)


def issued(town: Registry, **extra: Any) -> Warning:
    warning = draft(town, **extra)
    return services.warning_issue(actor=town.world["head_a"], warning=warning)


def form_data(**change: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": WarningType.RAINSTORM,
        "level": str(Level.RED),
        "title": "暴雨红色预警",
        "text": "立即转移到社区服务中心，不要靠近河边。",
        "area_codes": [GRID_A],
        "area_polygon": "",
    }
    data.update(change)
    return {k: v for k, v in data.items() if v is not None}


# --- The staff list ------------------------------------------------------------------------------


def test_the_list_shows_the_scope_s_warnings_with_level_words_source_and_drill(town: Registry) -> None:
    in_force = issued(town)
    draft(town, title="消防演练", kind=WarningType.FIRE, level=Level.BLUE, is_drill=True)
    proposed = services.warning_propose(
        source=WarningSource.RISK_MODEL,
        source_ref=f"risk:{GRID_A}",
        kind=WarningType.RAINSTORM,
        level=Level.YELLOW,
        title="第一网格内涝风险",
        text="水位上涨，请做好转移准备。",
        area_codes=[GRID_A],
        reasons=[{"text": "河道水位 2.8 米，超过警戒线 0.3 米"}, {"text": "独居老人 3 人"}],
    )
    assert proposed is not None
    sibling = draft(town, persona="head_b", title="泽盛社区燃气泄漏", area_codes=[COMMUNITY_B])
    page = text(as_user(town.world, "head_a").get(reverse("emergency:warnings")))
    assert in_force.title in page and "消防演练" in page and "第一网格内涝风险" in page
    assert sibling.title not in page
    assert "橙色预警（Ⅱ级）" in page and "蓝色预警（Ⅳ级）" in page and "黄色预警（Ⅲ级）" in page
    assert "【演练】" in page and "暴雨洪涝" in page and "火灾" in page
    assert "人工录入" in page and "风险模型" in page
    assert "枇杷塘社区 第一网格" in page
    # Filters: in force, drafts, lifted.
    client = as_user(town.world, "head_a")
    only_issued = text(client.get(reverse("emergency:warnings"), {"status": "issued"}))
    assert in_force.title in only_issued and "消防演练" not in only_issued
    drafts = text(client.get(reverse("emergency:warnings"), {"status": "draft"}))
    assert "消防演练" in drafts and in_force.title not in drafts
    services.warning_lift(actor=town.world["head_a"], warning=in_force, reason="雨停了")
    lifted = text(client.get(reverse("emergency:warnings"), {"status": "lifted"}))
    assert in_force.title in lifted and "消防演练" not in lifted
    assert in_force.title not in text(client.get(reverse("emergency:warnings")))
    assert client.get(reverse("emergency:warnings"), {"status": "everything"}).status_code == 400
    # The sibling head sees only theirs; the street sees both.
    assert "消防演练" not in text(as_user(town.world, "head_b").get(reverse("emergency:warnings")))
    street = text(as_user(town.world, "street").get(reverse("emergency:warnings")))
    assert "消防演练" in street and sibling.title in street


def test_the_list_needs_emergency_view(town: Registry) -> None:
    response = as_user(town.world, "resident").get(reverse("emergency:warnings"))
    assert response.status_code == 403 and "无权操作" in text(response)
    assert audits("access.denied", AuditResult.DENIED) == 1
    assert Client().get(reverse("emergency:warnings")).status_code == 302  # to sign in


# --- The draft form ------------------------------------------------------------------------------


def test_the_form_offers_the_officer_s_own_regions(town: Registry) -> None:
    page = text(as_user(town.world, "head_a").get(reverse("emergency:warning_new")))
    assert f'value="{COMMUNITY_A}"' in page and f'value="{GRID_A}"' in page and f'value="{GRID_B}"' in page
    assert f'value="{COMMUNITY_B}"' not in page and f'value="{GRID_C}"' not in page
    assert "枇杷塘社区 第二网格" in page and "draw-map-config" in page
    street = text(as_user(town.world, "street").get(reverse("emergency:warning_new")))
    assert f'value="{COMMUNITY_B}"' in street and f'value="{GRID_C}"' in street
    assert "岳麓街道（全部）" in street


def test_a_draft_with_a_zone_is_saved_audited_and_reaches_only_the_zone(town: Registry) -> None:
    Building.objects.filter(pk=town.buildings["a"].pk).update(
        latitude=Decimal("28.225"), longitude=Decimal("112.935")
    )
    Building.objects.filter(pk=town.buildings["b"].pk).update(
        latitude=Decimal("28.30"), longitude=Decimal("112.99")
    )
    client = as_user(town.world, "head_a")
    data = form_data(area_codes=[GRID_A, GRID_B], area_polygon=json.dumps(ZONE), is_drill="on")
    response = client.post(reverse("emergency:warning_new"), data)
    warning = Warning.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "emergency:warning", args=[warning.pk]
    )
    assert warning.status == WarningStatus.DRAFT and warning.is_drill and warning.level == Level.RED
    assert warning.area_codes == [GRID_A, GRID_B] and warning.area_polygon == ZONE
    assert warning.created_by == town.world["head_a"]
    assert audits("emergency.warning_draft") == 1
    assert list(warning.entries.values_list("step", flat=True)) == [WarningStep.DRAFTED]
    assert not Message.objects.exists()  # a draft sends nothing
    page = text(client.get(response["Location"]))
    assert "【演练】" in page and "红色预警（Ⅰ级）" in page and "草稿" in page
    assert "只通知居住在地图所画范围内的人" in page and '"zone": {"type": "Polygon"' in page
    # The issue page says how many it reaches: 张三 and 赵六 in the zone, not 李四 outside it.
    confirm = text(client.get(reverse("emergency:warning_issue", args=[warning.pk])))
    people = services.area_people(warning)
    names = {a.name for a in people}
    assert {"张三", "赵六"} <= names and "李四" not in names
    assert f"发送给 {len(people)} 人" in confirm


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"kind": ""}, "kind", "请选择预警类型"),
        ({"kind": "meteor"}, "kind", "选择一个有效的选项"),
        ({"level": "7"}, "level", "选择一个有效的选项"),
        ({"level": None}, "level", "请选择级别"),
        ({"title": "  "}, "title", "请填写预警标题"),
        ({"title": "长" * 101}, "title", "100"),
        ({"text": ""}, "text", "请说明群众应采取的防范措施"),
        ({"area_codes": None}, "area_codes", "请选择预警覆盖的区域"),
        ({"area_codes": [GRID_C]}, "area_codes", "选择一个有效的选项"),  # the sibling community's grid
        ({"area_polygon": "{not json"}, "area_polygon", "不是有效的 GeoJSON"),
        ({"area_polygon": '{"type": "Point", "coordinates": [112.9, 28.2]}'}, "area_polygon", "多边形"),
        (
            {
                "area_polygon": json.dumps(
                    {"type": "Polygon", "coordinates": [[[2.3, 48.8], [2.4, 48.8], [2.4, 48.9], [2.3, 48.8]]]}
                )
            },
            "area_polygon",
            "地图上绘制的范围无效",
        ),
        (
            {
                "area_polygon": json.dumps(
                    {"type": "Polygon", "coordinates": [[[112.9, 28.2], [113.0, 28.2], [113.0, 28.3]]]}
                )
            },
            "area_polygon",
            "地图上绘制的范围无效",
        ),
    ],
)
def test_bad_drafts_get_a_clear_error_and_save_nothing(
    town: Registry, change: dict[str, Any], field: str, words: str
) -> None:
    response = as_user(town.world, "head_a").post(reverse("emergency:warning_new"), form_data(**change))
    assert response.status_code == 400
    page = text(response)
    assert "未做任何更改" in page and words in page, page[page.find("error-summary") :][:800]
    assert f'href="#id_{field}' in page  # the summary links to the field
    assert not Warning.objects.exists() and audits("emergency.warning_draft") == 0


def test_a_grid_worker_reads_but_cannot_draft_or_issue(town: Registry) -> None:
    warning = draft(town, area_codes=[GRID_A])  # the grid worker's own grid
    client = as_user(town.world, "grid_a")
    assert client.get(reverse("emergency:warning_new")).status_code == 403
    assert client.post(reverse("emergency:warning_new"), form_data()).status_code == 403
    page = text(client.get(reverse("emergency:warning", args=[warning.pk])))
    assert warning.title in page and "发布预警" not in page and "时间线" in page
    denied_before = audits("access.denied", AuditResult.DENIED)
    response = client.post(reverse("emergency:warning_issue", args=[warning.pk]))
    assert response.status_code == 403
    assert audits("access.denied", AuditResult.DENIED) == denied_before + 1
    assert client.post(reverse("emergency:warning_discard", args=[warning.pk])).status_code == 403
    warning.refresh_from_db()
    assert warning.status == WarningStatus.DRAFT and Warning.objects.count() == 1
    assert not Message.objects.exists()


def test_a_sibling_head_gets_404_on_another_community_s_warnings(town: Registry) -> None:
    warning = draft(town)
    live = issued(town, title="已发布的预警")
    client = as_user(town.world, "head_b")
    assert client.get(reverse("emergency:warning", args=[warning.pk])).status_code == 404
    for name in ("warning_issue", "warning_update", "warning_lift", "warning_discard"):
        for target in (warning, live):
            assert client.post(reverse(f"emergency:{name}", args=[target.pk])).status_code == 404, name
    assert client.get(reverse("emergency:warning_issue", args=[warning.pk])).status_code == 404
    # An issued warning is public: head_b sees the residents' page, without timeline or steps.
    page = text(client.get(reverse("emergency:warning", args=[live.pk])))
    assert live.title in page and "时间线" not in page and "解除预警" not in page and "tel:119" in page
    warning.refresh_from_db()
    live.refresh_from_db()
    assert (warning.status, live.status, live.revision) == (WarningStatus.DRAFT, WarningStatus.ISSUED, 1)


# --- One warning's steps ---------------------------------------------------------------------------


def test_issue_update_and_lift_from_the_page(town: Registry) -> None:
    warning = draft(town)
    client = as_user(town.world, "head_a")
    page = text(client.get(reverse("emergency:warning", args=[warning.pk])))
    assert "发布预警…" in page and "放弃草稿" in page and "为此预警动员人员" not in page
    response = client.post(reverse("emergency:warning_issue", args=[warning.pk]))
    assert response.status_code == 302
    warning.refresh_from_db()
    assert warning.status == WarningStatus.ISSUED and warning.recipients > 0
    assert audits("emergency.warning_issued") == 1
    assert Message.objects.filter(topic=services.TOPIC).count() == warning.recipients
    page = text(client.get(reverse("emergency:warning", args=[warning.pk])))
    assert "已发布并正在发送给" in page  # the flash message
    assert f'href="/emergency/callouts/new/?warning={warning.pk}"' in page
    assert f"发送给 {warning.recipients} 人" in page
    # Issuing again: refused, nothing sent twice.
    again = client.post(reverse("emergency:warning_issue", args=[warning.pk]))
    assert again.status_code == 400 and "只有草稿可以发布" in text(again)
    # An update that changes nothing is refused with the service's words.
    url = reverse("emergency:warning_update", args=[warning.pk])
    same = {"update-level": warning.level, "update-title": warning.title, "update-text": warning.text}
    refused = client.post(url, same)
    assert refused.status_code == 400 and "没有改动" in text(refused)
    blank = client.post(url, {**same, "update-title": ""})
    assert blank.status_code == 400 and "请填写预警标题" in text(blank)
    assert audits("emergency.warning_updated") == 0
    response = client.post(url, {**same, "update-level": Level.RED, "update-note": "水位继续上涨"})
    assert response.status_code == 302
    warning.refresh_from_db()
    assert (warning.level, warning.revision) == (Level.RED, 2)
    assert audits("emergency.warning_updated") == 1
    # Lifting needs a reason.
    lift = reverse("emergency:warning_lift", args=[warning.pk])
    no_reason = client.post(lift, {"lift-reason": " "})
    assert no_reason.status_code == 400 and "请说明解除预警的原因" in text(no_reason)
    assert client.post(lift, {"lift-reason": "雨势减弱，水位回落"}).status_code == 302
    warning.refresh_from_db()
    assert warning.status == WarningStatus.LIFTED and audits("emergency.warning_lifted") == 1
    page = text(client.get(reverse("emergency:warning", args=[warning.pk])))
    steps = [e.step for e in warning.entries.all()]
    assert steps == [WarningStep.DRAFTED, WarningStep.ISSUED, WarningStep.UPDATED, WarningStep.LIFTED]
    assert "水位继续上涨" in page and "雨势减弱，水位回落" in page and "head_a" in page
    assert "红色预警（Ⅰ级）" in page and "橙色预警（Ⅱ级）" in page
    assert 'id="step-lift"' not in page and 'id="step-update"' not in page


def test_discarding_a_draft(town: Registry) -> None:
    warning = draft(town)
    client = as_user(town.world, "head_a")
    response = client.post(reverse("emergency:warning_discard", args=[warning.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("emergency:warnings")
    warning.refresh_from_db()
    assert warning.status == WarningStatus.DISCARDED and audits("emergency.warning_discarded") == 1
    assert not Message.objects.exists()
    assert warning.title in text(client.get(reverse("emergency:warnings"), {"status": "discarded"}))
    # Discarded drafts were never public.
    assert Client().get(reverse("emergency:warning", args=[warning.pk])).status_code == 404


def test_the_risk_model_s_reasons_show_on_its_draft(town: Registry) -> None:
    proposed = services.warning_propose(
        source=WarningSource.RISK_MODEL,
        source_ref=f"risk:{GRID_A}",
        kind=WarningType.RAINSTORM,
        level=Level.YELLOW,
        title="第一网格内涝风险",
        text="水位上涨，请做好转移准备。",
        area_codes=[GRID_A],
        reasons=[{"text": "河道水位 2.8 米，超过警戒线 0.3 米"}, {"text": "独居老人 3 人"}],
    )
    assert proposed is not None
    page = text(as_user(town.world, "head_a").get(reverse("emergency:warning", args=[proposed.pk])))
    assert (
        "风险模型为何建议" in page
        and "河道水位 2.8 米，超过警戒线 0.3 米" in page
        and "独居老人 3 人" in page
    )
    assert "风险模型建议" in page and "平台" in page  # the timeline's first step, by the platform


# --- The public pages ------------------------------------------------------------------------------


def test_the_public_pages_need_no_sign_in_and_never_show_drafts(town: Registry) -> None:
    live = issued(town, is_drill=True)
    hidden = draft(town, title="尚未发布的草稿")
    anonymous = Client()
    page = text(anonymous.get(reverse("emergency:public")))
    assert live.title in page and hidden.title not in page
    assert "橙色预警（Ⅱ级）" in page and "【演练】" in page and "枇杷塘社区" in page
    assert 'href="tel:119"' in page and 'href="tel:110"' in page and 'href="tel:120"' in page
    assert anonymous.get(reverse("emergency:warning", args=[hidden.pk])).status_code == 404
    assert anonymous.get("/emergency/warnings/999999/").status_code == 404
    # The SMS carries the page's link; it opens without signing in.
    outbox.run_pending()
    message = Message.objects.filter(topic=services.TOPIC).first()
    assert message is not None and message.link == f"/emergency/warnings/{live.pk}/"
    detail = text(anonymous.get(message.link))
    assert live.text in detail and "演练" in detail
    assert "发布时间" in detail and "时间线" not in detail and "head_a" not in detail
    # A lifted warning says so.
    services.warning_lift(actor=town.world["head_a"], warning=live, reason="雨停了，水位回落")
    detail = text(anonymous.get(message.link))
    assert "此预警已于" in detail and "解除" in detail and "雨停了，水位回落" in detail
    assert live.title not in text(anonymous.get(reverse("emergency:public")))


def test_the_public_list_by_region(town: Registry) -> None:
    live = issued(town)
    anonymous = Client()
    assert live.title in text(anonymous.get(reverse("emergency:public"), {"region": GRID_A}))
    assert live.title not in text(anonymous.get(reverse("emergency:public"), {"region": COMMUNITY_B}))
    bad = anonymous.get(reverse("emergency:public"), {"region": "43x"})
    assert bad.status_code == 400 and "没有代码为 43x 的区域" in text(bad)


def test_staff_see_the_staff_page_or_the_residents_view(town: Registry) -> None:
    live = issued(town)
    client = as_user(town.world, "head_a")
    staff = text(client.get(reverse("emergency:warning", args=[live.pk])))
    assert "时间线" in staff and "解除预警" in staff
    public = text(client.get(reverse("emergency:warning", args=[live.pk]), {"view": "public"}))
    assert "时间线" not in public and "tel:119" in public
    # A signed-in resident gets the public page.
    resident = text(as_user(town.world, "resident").get(reverse("emergency:warning", args=[live.pk])))
    assert live.title in resident and "时间线" not in resident


# --- The scope matrix of the warning pages (the core matrix leaves ``emergency:`` to the app) ------

COVERED = {
    "emergency:warnings",
    "emergency:warning_new",
    "emergency:warning",
    "emergency:warning_issue",
    "emergency:warning_update",
    "emergency:warning_lift",
    "emergency:warning_discard",
    "emergency:public",
}
PERSONAS = [
    "grid_a",
    "grid_b",
    "worker_a",
    "head_a",
    "head_b",
    "street",
    "dept",
    "resident",
    "outsider",
    "nobody",
    "sysadmin",
    "secadmin",
    "auditor",
]
# Written from the memberships (shequ/conftest.py, emergency/permissions.py): who holds
# emergency.view / emergency.warn where. A warning of community A is seen by community A's head,
# worker and grid workers (it covers their grids) and by the street; only head and street act on it.
VIEWERS = {"grid_a", "grid_b", "worker_a", "head_a", "head_b", "street", "outsider"}
WARNERS = {"head_a", "head_b", "street", "outsider"}
SEES_COMMUNITY_A = {"grid_a", "grid_b", "worker_a", "head_a", "street"}
WARNS_COMMUNITY_A = {"head_a", "street"}


def test_every_warning_route_is_in_the_matrix() -> None:
    from shequ.emergency import urls_warnings

    names = {f"emergency:{p.name}" for p in urls_warnings.urlpatterns if isinstance(p, URLPattern) and p.name}
    assert names == COVERED | test_warning_map.COVERED  # the map data has its own matrix


def step_outcome(persona: str) -> int:
    """A step (issue, update, lift, discard) on a community-A warning: 403 without the permission
    anywhere or without ``warn`` over the warning, 404 when the warning is out of sight."""
    if persona not in VIEWERS:
        return 403
    if persona not in SEES_COMMUNITY_A:
        return 404
    return 302 if persona in WARNS_COMMUNITY_A else 403


@pytest.mark.parametrize("persona", PERSONAS)
def test_scope_matrix_of_the_warning_pages(world: World, persona: str) -> None:
    head = world["head_a"]
    base: dict[str, Any] = {"kind": WarningType.RAINSTORM, "level": Level.YELLOW, "text": "注意防范。"}
    to_issue = services.warning_draft(actor=head, title="待发布", area_codes=[COMMUNITY_A], **base)
    to_discard = services.warning_draft(actor=head, title="待放弃", area_codes=[COMMUNITY_A], **base)
    to_update = services.warning_draft(actor=head, title="待更新", area_codes=[COMMUNITY_A], **base)
    to_lift = services.warning_draft(actor=head, title="待解除", area_codes=[COMMUNITY_A], **base)
    for w in (to_update, to_lift):
        services.warning_issue(actor=head, warning=w)
    client = as_user(world, persona)

    assert client.get(reverse("emergency:warnings")).status_code == (200 if persona in VIEWERS else 403)
    assert client.get(reverse("emergency:warning_new")).status_code == (200 if persona in WARNERS else 403)
    assert client.get(reverse("emergency:public")).status_code == 200
    draft_page = client.get(reverse("emergency:warning", args=[to_issue.pk]))
    assert draft_page.status_code == (200 if persona in SEES_COMMUNITY_A else 404)
    live_page = client.get(reverse("emergency:warning", args=[to_update.pk]))
    assert live_page.status_code == 200  # in force: public
    assert ("时间线" in text(live_page)) == (persona in SEES_COMMUNITY_A)
    confirm = client.get(reverse("emergency:warning_issue", args=[to_issue.pk])).status_code
    assert confirm == (200 if step_outcome(persona) == 302 else step_outcome(persona))

    expected = step_outcome(persona)
    steps = [
        ("emergency:warning_issue", to_issue, {}),
        ("emergency:warning_discard", to_discard, {}),
        (
            "emergency:warning_update",
            to_update,
            {"update-level": Level.RED, "update-title": "升级", "update-text": "快跑"},
        ),
        ("emergency:warning_lift", to_lift, {"lift-reason": "结束"}),
    ]
    for name, warning, data in steps:
        before = Warning.objects.get(pk=warning.pk)
        response = client.post(reverse(name, args=[warning.pk]), data)
        assert response.status_code == expected, (name, response.status_code)
        after = Warning.objects.get(pk=warning.pk)
        changed = (after.status, after.revision) != (before.status, before.revision)
        assert changed == (expected == 302), name
    if expected == 403:
        assert AuditEntry.objects.filter(action="access.denied", result=AuditResult.DENIED).exists()


def test_anonymous_visitors_see_only_the_public_pages(world: World) -> None:
    head = world["head_a"]
    base: dict[str, Any] = {
        "kind": WarningType.FIRE,
        "level": Level.RED,
        "text": "撤离。",
        "area_codes": [COMMUNITY_A],
    }
    hidden = services.warning_draft(actor=head, title="草稿", **base)
    live = services.warning_issue(
        actor=head, warning=services.warning_draft(actor=head, title="生效", **base)
    )
    anonymous = Client()
    for name in ("emergency:warnings", "emergency:warning_new"):
        assert anonymous.get(reverse(name)).status_code == 302, name
    for name in ("emergency:warning_issue", "emergency:warning_update", "emergency:warning_lift"):
        assert anonymous.post(reverse(name, args=[live.pk])).status_code == 302, name
    assert anonymous.post(reverse("emergency:warning_discard", args=[hidden.pk])).status_code == 302
    assert anonymous.get(reverse("emergency:warning", args=[hidden.pk])).status_code == 404
    assert anonymous.get(reverse("emergency:warning", args=[live.pk])).status_code == 200
    assert anonymous.post(reverse("emergency:warning", args=[live.pk])).status_code == 405
    live.refresh_from_db()
    hidden.refresh_from_db()
    assert (live.status, hidden.status) == (WarningStatus.ISSUED, WarningStatus.DRAFT)


def test_the_home_counts_warnings_in_force_and_residents_find_the_public_page(town: Registry) -> None:
    issued(town)
    draft(town, title="另一份草稿")
    home = text(as_user(town.world, "head_a").get("/"))
    tile = home[home.find('class="tile tile-bad" href="/emergency/warnings/"') :][:400]
    assert '<span class="tile-label">生效中的预警</span><span class="tile-count">1</span>' in tile
    resident = text(as_user(town.world, "resident").get("/me/"))
    assert 'href="/emergency/public/"' in resident and "当前预警" in resident
