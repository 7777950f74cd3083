"""The risk page, the evacuation-assistance list and a person's helpers, through the pages: what
they show (in Chinese, scoped, no ID or full phone number), the audit of each opening and export,
drafting a warning from the model, and helpers named or refused (bad input changes nothing). Then
both pages on a phone in a real browser (axe-core clean, normal and elderly mode; screenshots in
var/screenshots/emergency-*.png)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from shequ.conftest import World
from shequ.core.models import AuditEntry
from shequ.emergency.models import AssistanceLink, Warning, WarningSource, WarningStatus
from shequ.emergency.services import helpers
from shequ.emergency.tests.conftest import COMMUNITY_A, GRID_A, Registry
from shequ.emergency.tests.test_assistance import community_warning, listed  # noqa: F401 (fixture)
from shequ.emergency.tests.test_risk import storm  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def as_user(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world[persona])
    return client


def text(response: Any) -> str:
    return str(response.content.decode())


# --- Risk -----------------------------------------------------------------------------------------


def test_risk_page_shows_levels_and_reasons_of_the_viewers_regions(storm: Registry) -> None:  # noqa: F811
    page = text(as_user(storm.world, "head_a").get(reverse("emergency:risk")))
    assert "枇杷塘社区" in page and "泽盛社区" not in page
    assert "过去3小时降雨90毫米" in page and "麓山南路积水监测积水深0.35米" in page
    assert "红色" in page and "起草暴雨洪涝预警" in page
    # A grid worker sees their grid, with no button to draft a warning.
    grid = text(as_user(storm.world, "grid_a").get(reverse("emergency:risk")))
    assert "第一网格" in grid and "枇杷塘社区" not in grid and "起草" not in grid
    sibling = text(as_user(storm.world, "head_b").get(reverse("emergency:risk")))
    assert "泽盛社区" in sibling and "过去3小时降雨" not in sibling
    assert as_user(storm.world, "resident").get(reverse("emergency:risk")).status_code == 403


def test_draft_a_warning_from_the_risk_page(storm: Registry) -> None:  # noqa: F811
    url = reverse("emergency:risk_draft")
    data = {"region": COMMUNITY_A, "kind": "rainstorm"}
    # The sibling community's head and a grid worker cannot; nothing is drafted.
    assert as_user(storm.world, "head_b").post(url, data).status_code == 404
    assert as_user(storm.world, "grid_a").post(url, data).status_code == 404  # above their grid
    assert as_user(storm.world, "grid_a").post(url, {**data, "region": GRID_A}).status_code == 403
    assert not Warning.objects.exists()
    client = as_user(storm.world, "head_a")
    response = client.post(url, data)
    assert response.status_code == 302
    draft = Warning.objects.get()
    assert (draft.status, draft.source, draft.created_by) == (
        WarningStatus.DRAFT,
        WarningSource.RISK_MODEL,
        storm.world["head_a"],
    )
    assert draft.reasons and draft.source_ref == f"risk:{COMMUNITY_A}:rainstorm"
    # Again: the waiting draft, not a second one; a type with no risk: a clear error.
    client.post(url, data)
    assert Warning.objects.count() == 1
    page = text(client.post(url, {"region": COMMUNITY_A, "kind": "gas"}, follow=True))
    assert "风险模型目前未发现此处有燃气泄漏风险" in page and Warning.objects.count() == 1
    page = text(client.get(reverse("emergency:risk")))
    assert "待工作人员处理的建议预警" in page and draft.title in page


# --- The assistance list --------------------------------------------------------------------------


def test_assistance_list_page_is_scoped_masked_and_audited(listed: Registry) -> None:  # noqa: F811
    helpers.helper_add(
        actor=listed.world["head_a"],
        person_id=listed.people["a"].pk,
        relation="family",
        helper_name="张小三",
        helper_phone="13900001111",
    )
    warning = community_warning(listed)
    url = reverse("emergency:warning_assistance", args=[warning.pk])
    response = as_user(listed.world, "head_a").get(url)
    page = text(response)
    assert response["Cache-Control"] == "no-store"
    assert "张三" in page and "李四" in page and "王五" not in page and "赵六" not in page
    assert "残疾人 二级 肢体" in page and "独居老人" in page and "139****1111" in page
    assert "13900001111" not in page and "13811112222" not in page
    assert "无专人包保" in page and "其中1人无专人包保" in page
    assert listed.people["a"].id_number not in page
    entry = AuditEntry.objects.filter(action="emergency.assistance_read").latest("pk")
    assert entry.detail["count"] == 2 and entry.actor_id == listed.world["head_a"].pk
    # The grid worker sees their grid's person only, and no link to change helpers.
    grid = text(as_user(listed.world, "grid_a").get(url))
    assert "张三" in grid and "李四" not in grid and "指定或解除包保人" not in grid
    # The sibling community and the outsider: 404; a resident: 403.
    assert as_user(listed.world, "head_b").get(url).status_code == 404
    assert as_user(listed.world, "outsider").get(url).status_code == 404
    assert as_user(listed.world, "resident").get(url).status_code == 403
    own = text(as_user(listed.world, "head_b").get(reverse("emergency:assistance")))
    assert "王五" in own and "张三" not in own


def test_assistance_export_is_audited_and_carries_no_full_number(listed: Registry) -> None:  # noqa: F811
    helpers.helper_add(
        actor=listed.world["head_a"],
        person_id=listed.people["b"].pk,
        relation="neighbour",
        helper_name="邻居王",
        helper_phone="13900005555",
    )
    response = as_user(listed.world, "head_a").get(reverse("emergency:assistance"), {"format": "xlsx"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert "李四" in cells and any("邻居王（邻居 139****5555）" in c for c in cells)
    assert not any("13900005555" in c for c in cells)
    entry = AuditEntry.objects.filter(action="emergency.assistance_read").latest("pk")
    assert entry.detail["export"] == "xlsx" and entry.detail["count"] == 2


# --- Helpers --------------------------------------------------------------------------------------


def test_helpers_page_adds_and_removes_and_refuses_bad_input(listed: Registry) -> None:  # noqa: F811
    client = as_user(listed.world, "head_a")
    person = listed.people["b"]
    url = reverse("emergency:helpers", args=[person.pk])
    page = text(client.get(url))
    assert "李四的包保人" in page and "残疾人 二级 肢体" in page
    bad = client.post(url, {"relation": "family", "helper_name": "李小四", "helper_phone": "12345"})
    assert bad.status_code == 400 and "13812345678" in text(bad)  # the error, with an example
    assert not AssistanceLink.objects.exists()
    good = client.post(url, {"relation": "family", "helper_name": "李小四", "helper_phone": "13900006666"})
    assert good.status_code == 302
    link = AssistanceLink.objects.get()
    page = text(client.get(url))
    assert "李小四" in page and "139****6666" in page and "13900006666" not in page
    # A sibling community's head: the person is a 404, for reading, adding and removing.
    other = as_user(listed.world, "head_b")
    assert other.get(url).status_code == 404
    assert (
        other.post(url, {"relation": "family", "helper_name": "x", "helper_phone": "13900007777"}).status_code
        == 404
    )
    remove = reverse("emergency:helper_remove", args=[person.pk, link.pk])
    assert other.post(remove).status_code == 404
    # A grid worker may read the list, not change helpers (403, audited).
    assert as_user(listed.world, "grid_b").post(remove).status_code == 403
    assert AssistanceLink.objects.get().active
    assert client.post(remove).status_code == 302
    assert not AssistanceLink.objects.get().active
    assert AuditEntry.objects.filter(action="emergency.helper_remove", result="success").count() == 1


# --- On a phone -----------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_risk_and_assistance_pages_on_a_phone(phone_page: Any, storm: Registry) -> None:  # noqa: F811
    from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
    from shequ.registry.tests.test_browser_registry import sign_in

    helpers.helper_add(
        actor=storm.world["head_a"],
        person_id=storm.people["a"].pk,
        relation="family",
        helper_name="张小三",
        helper_phone="13900001111",
    )
    page = phone_page
    sign_in(page, "head_a")

    def check(name: str) -> None:
        assert page.locator("h1").count() == 1, name
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
        screenshot(page, f"emergency-{name}")
        assert axe_violations(page) == [], (name, axe_violations(page))

    for mode in ("", "-elderly"):
        page.goto("/emergency/risk/")
        assert "过去3小时降雨90毫米" in page.locator(".risk-cards").inner_text()
        check(f"risk{mode}")
        page.goto("/emergency/assistance/")
        assert page.locator(".assist-row").count() == 2
        check(f"assistance{mode}")
        page.goto(f"/emergency/assistance/people/{storm.people['b'].pk}/helpers/")
        check(f"helpers{mode}")
        if not mode:
            toggle_elderly(page)


# --- The scope matrix of these pages --------------------------------------------------------------

# persona → expected status of: risk page, own assistance list, community A's warning's list,
# 张三's helpers (grid A), drafting community A's warning, removing 张三's helper.
MATRIX: dict[str, tuple[int, int, int, int, int, int]] = {
    "grid_a": (200, 200, 200, 403, 404, 403),
    "grid_b": (200, 200, 200, 403, 404, 403),
    "worker_a": (200, 200, 200, 200, 403, 302),
    "head_a": (200, 200, 200, 200, 302, 302),
    "street": (200, 200, 200, 200, 302, 302),
    "head_b": (200, 200, 404, 404, 404, 404),
    "outsider": (200, 200, 404, 404, 404, 404),
    "dept": (403, 403, 403, 403, 403, 403),
    "resident": (403, 403, 403, 403, 403, 403),
}
ROUTES = ("risk", "assistance", "warning_assistance", "helpers", "risk_draft", "helper_remove")


def test_every_assist_route_is_in_the_matrix() -> None:
    from shequ.emergency import urls_assist

    assert {p.name for p in urls_assist.urlpatterns} == set(ROUTES)  # type: ignore[union-attr]


@pytest.mark.parametrize("persona", sorted(MATRIX))
def test_assist_pages_follow_the_persona_scope(listed: Registry, persona: str) -> None:  # noqa: F811
    warning = community_warning(listed)
    person = listed.people["a"].pk
    link = helpers.helper_add(
        actor=None, person_id=person, relation="family", helper_name="张小三", helper_phone="13900001111"
    )
    client = as_user(listed.world, persona)
    got = (
        client.get(reverse("emergency:risk")).status_code,
        client.get(reverse("emergency:assistance")).status_code,
        client.get(reverse("emergency:warning_assistance", args=[warning.pk])).status_code,
        client.get(reverse("emergency:helpers", args=[person])).status_code,
        client.post(
            reverse("emergency:risk_draft"), {"region": COMMUNITY_A, "kind": "rainstorm"}
        ).status_code,
        client.post(reverse("emergency:helper_remove", args=[person, link.pk])).status_code,
    )
    # The draft needs a risk: without readings the model sees none (a redirect with the error) —
    # what counts here is who gets past the scope and permission checks.
    assert got == MATRIX[persona], dict(zip(ROUTES, got, strict=True))
    assert AssistanceLink.objects.get(pk=link.pk).active == (MATRIX[persona][5] != 302)
