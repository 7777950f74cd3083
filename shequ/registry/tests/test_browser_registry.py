"""The grid worker's day in a real browser on a phone: open my grid, a building, a house, a person,
record a visit. Every page fits the phone and axe-core finds no serious or critical violation, in
the normal and the elderly mode. Screenshots go to var/screenshots/registry-*.png."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
from shequ.conftest import PASSWORD
from shequ.registry import services
from shequ.registry.models import HouseUse, Visit
from shequ.registry.tests.conftest import COMMUNITY_A, Registry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def street_life(reg: Registry) -> Registry:
    """Grid A with a fuller building: houses of every use, elderly residents, tags, a visit due."""
    building = reg.buildings["a"]
    unit = building.units.get()
    uses = [HouseUse.RENTED, HouseUse.VACANT, HouseUse.BUSINESS, HouseUse.OWNER_OCCUPIED]
    for floor in (1, 2, 5, 6):
        for n in (1, 2, 3):
            services.house_create(
                actor=None,
                building=building,
                data={"unit": unit, "number": f"{floor}0{n}", "floor": floor, "use": uses[(floor + n) % 4]},
            )
    second = services.unit_create(actor=None, building=building, number="1")
    for number in ("101", "102", "201"):
        services.house_create(
            actor=None, building=building, data={"unit": second, "number": number, "floor": int(number[0])}
        )
    elder = reg.register("刘秀英", reg.houses["a"][1], birth="19380412", phone="13912340000", ethnicity="15")
    services.tag_add(actor=None, person=elder, category="living_alone")
    services.tag_add(actor=None, person=reg.people["a"], category="veteran")
    services.household_create(actor=None, head=reg.people["a"], number="4301040001")
    services.visit_record(
        actor=reg.world["grid_a"],
        person=elder,
        visited_at=timezone.now() - timedelta(days=20),
        purpose="care",
        notes="腿脚不便，需定期探望",
        follow_up_date=timezone.localdate() - timedelta(days=5),
    )
    return reg


def sign_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/")


def check(page: Any, name: str) -> None:
    """One h1, fits the phone, no serious axe violation; screenshot."""
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"registry-{name}")
    assert axe_violations(page) == [], name


def test_grid_worker_day_on_a_phone(phone_page: Any, street_life: Registry) -> None:
    page = phone_page
    sign_in(page, "grid_a")
    assert page.locator("a[href='/registry/follow-ups/']").count() == 1  # the home page item

    page.click("nav.tabbar a[href='/registry/my-grid/']")  # the 走访 tab
    page.wait_for_url("**/registry/my-grid/")
    assert "刘秀英" in page.content()
    check(page, "my-grid")

    page.click(f"a[href='/registry/buildings/{street_life.buildings['a'].pk}/']")
    page.wait_for_url("**/registry/buildings/*/")
    assert page.locator(".house-cell").count() == 18
    check(page, "building")

    house = street_life.houses["a"][1]
    page.click(f"a.house-cell[href='/registry/houses/{house.pk}/']")
    page.wait_for_url(f"**/registry/houses/{house.pk}/")
    check(page, "house")

    page.click("main a:has-text('刘秀英')")
    page.wait_for_url("**/registry/people/*/")
    assert "139****0000" in page.content() and "13912340000" not in page.content()
    check(page, "person")

    page.click("ul.actions a[href^='/registry/visits/new/']")
    page.wait_for_url("**/registry/visits/new/**")
    check(page, "visit")
    page.select_option("#id_purpose", "care")
    page.fill("#id_notes", "上门探望，血压正常")
    page.fill("#id_follow_up_date", "2000-01-01")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("[aria-invalid=true]").count() == 1  # the follow-up date
    check(page, "visit-errors")
    page.fill("#id_follow_up_date", str(timezone.localdate() + timedelta(days=14)))
    page.click("main form button[type=submit]")
    page.wait_for_url("**/registry/people/*/")
    assert "上门探望" in page.content()
    assert Visit.objects.filter(notes__startswith="上门探望", visitor=street_life.world["grid_a"]).exists()

    # The same pages in the elderly mode.
    toggle_elderly(page)
    assert page.evaluate("() => document.documentElement.classList.contains('elderly')")
    check(page, "person-elderly")
    for path, name in [
        ("/registry/my-grid/", "my-grid-elderly"),
        (f"/registry/buildings/{street_life.buildings['a'].pk}/", "building-elderly"),
        (f"/registry/houses/{house.pk}/", "house-elderly"),
        ("/registry/follow-ups/", "follow-ups-elderly"),
    ]:
        page.goto(path)
        check(page, name)


def open_as(page: Any, live_server: Any, user: Any, path: str) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(path)


def test_community_worker_pages_on_a_phone(phone_page: Any, live_server: Any, street_life: Registry) -> None:
    page = phone_page
    person = street_life.people["a"]
    open_as(page, live_server, street_life.world["head_a"], f"/registry/regions/{COMMUNITY_A}/")
    check(page, "community")
    for path, name in [
        ("/registry/people/?q=liu&age_min=60", "search"),
        (f"/registry/people/{person.pk}/", "person-head"),
        (f"/registry/people/{person.pk}/correct/", "correct"),
        (f"/registry/people/{person.pk}/move/?q=麓山南路", "move"),
        (f"/registry/houses/{street_life.houses['a'][2].pk}/register/", "register"),
        ("/registry/follow-ups/", "follow-ups"),
    ]:
        page.goto(path)
        check(page, name)
    # The reveal: the form opens, asks for a reason, shows the number once.
    page.goto(f"/registry/people/{person.pk}/")
    page.click("details.disclose summary >> nth=0")
    page.fill("#reveal-id_number", "核对身份")
    page.click("#reveal-id_number ~ button, details.disclose[open] button[type=submit]")
    page.wait_for_load_state()
    assert person.id_number in page.content()
    check(page, "reveal")
    # A form with errors.
    page.goto(f"/registry/houses/{street_life.houses['a'][2].pk}/register/")
    page.fill("#id_name", "赵六")
    page.fill("#id_id_number", "430104198001011230")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("[aria-invalid=true]").count() >= 1
    check(page, "register-errors")
