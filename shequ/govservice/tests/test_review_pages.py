"""The 好差评 pages through the browser's eyes (Django's test client): the rectification list and
page with the unit's feedback and the supervisor's review, scoped (the sibling community's head, the
other street's head and officer see and do nothing; the civil clerk acts on its department's),
bad input answering a form error that changes nothing; the statistics page scoped to the viewer's
regions; the public satisfaction page without signing in, hiding groups of fewer than 5 ratings.
Then the pages on a phone in a real browser (axe-core clean, normal and elderly mode; screenshots
in var/screenshots/govservice-review-*.png)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from shequ.conftest import PASSWORD
from shequ.core.models import AuditEntry, Role, User
from shequ.govservice import urls_review
from shequ.govservice.models import Rectification, RectStatus
from shequ.govservice.services import evaluations as ev
from shequ.govservice.tests.conftest import COMMUNITY_A, COUNTY, Gov
from shequ.govservice.tests.test_evaluations import (
    OTHER_STREET,
    bad,
    closed_by_community,
    closed_by_department,
    staff,
)

pytestmark = pytest.mark.django_db

COVERED = {
    "govservice:rectifications",
    "govservice:rectification",
    "govservice:stats",
    "govservice:public_satisfaction",
}


def test_every_route_of_the_area_is_covered() -> None:
    names = {f"govservice:{p.name}" for p in urls_review.urlpatterns if isinstance(p, URLPattern)}
    assert names == COVERED


@dataclass
class Rects:
    gov: Gov
    community: Rectification
    department: Rectification
    other_street: User
    county: User

    def client(self, who: str | User) -> Client:
        client = Client()
        client.force_login(self.gov[who] if isinstance(who, str) else who)
        return client


@pytest.fixture
def rects(gov: Gov) -> Rects:
    community = bad(gov, closed_by_community(gov))
    department = bad(gov, closed_by_department(gov), reasons=["attitude"], comment="")
    return Rects(
        gov=gov,
        community=community,
        department=department,
        other_street=staff(gov, "street_c", Role.STREET_OFFICER, OTHER_STREET),
        county=staff(gov, "county", Role.COUNTY_OFFICER, COUNTY),
    )


def text(response: Any) -> str:
    return str(response.content.decode())


def number(rect: Rectification) -> str:
    return rect.evaluation.application.number


def detail(rect: Rectification) -> str:
    return reverse("govservice:rectification", args=[rect.pk])


LIST = "/govservice/rectifications/"


def test_routes_are_where_the_notices_point() -> None:
    assert reverse("govservice:rectifications") == LIST
    assert reverse("govservice:rectification", args=[7]) == "/govservice/rectifications/7/"
    assert reverse("govservice:stats") == "/govservice/stats/"
    assert reverse("govservice:public_satisfaction") == "/govservice/public/satisfaction/"


def test_list_shows_each_viewer_their_own(rects: Rects) -> None:
    a, d = number(rects.community), number(rects.department)
    page = text(rects.client("worker_a").get(LIST))
    todo, rest = page.split('id="review-heading"')
    # The community's own is to do; the bureau's answer for its resident is only listed.
    assert a in todo and d not in todo and d in rest.split('id="others-heading"')[1]
    assert "枇杷塘社区" in page
    clerk = text(rects.client(rects.gov.clerk).get(LIST))
    assert d in clerk and a not in clerk and "岳麓区民政局" in clerk
    street = text(rects.client("street").get(LIST))
    assert a in street  # its community's (the street may answer and reviews)
    county = text(rects.client(rects.county).get(LIST))
    assert a in county and d in county
    for who in ("head_b", "outsider"):
        page = text(rects.client(who).get(LIST))
        assert a not in page and d not in page, who
    page = text(rects.client(rects.other_street).get(LIST))
    assert a not in page and d not in page
    for who in ("resident", "grid_a", "nobody"):
        assert rects.client(who).get(LIST).status_code == 403, who
    anonymous = Client().get(LIST)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")


def test_list_puts_to_do_and_to_review_first_and_filters(rects: Rects) -> None:
    client = rects.client("street")
    page = text(client.get(LIST))
    todo, review = page.split('id="todo-heading"')[1].split('id="review-heading"')
    assert (
        number(rects.community) in todo
        and number(rects.community) not in review.split('id="others-heading"')[0]
    )
    ev.rectification_feedback(
        actor=rects.gov["worker_a"], rect=rects.community, finding="a", measures="b", feedback="c"
    )
    page = text(client.get(LIST))
    review = page.split('id="review-heading"')[1].split('id="others-heading"')[0]
    assert number(rects.community) in review
    assert number(rects.community) in text(client.get(LIST, {"status": "fed_back"}))
    assert number(rects.community) not in text(client.get(LIST, {"status": "open"}))
    bad_filter = client.get(LIST, {"status": "nonsense"})
    assert bad_filter.status_code == 400


def test_detail_shows_the_rating_in_words_and_no_personal_numbers(rects: Rects) -> None:
    page = text(rects.client("worker_a").get(detail(rects.community)))
    app = rects.community.evaluation.application
    assert app.number in page and app.item.name_zh in page
    assert "不满意" in page and "办理时间过长" in page and "跑了三趟" in page
    assert rects.gov.elder.id_number not in page and rects.gov["resident"].phone not in page
    assert 'name="action" value="feedback"' in page and 'value="review"' not in page


def test_detail_is_404_outside_and_sibling_actions_change_nothing(rects: Rects) -> None:
    data = {"action": "feedback", "finding": "a", "measures": "b", "feedback": "c"}
    for who in ("head_b", "outsider", rects.other_street, rects.gov.clerk):
        client = rects.client(who)
        assert client.get(detail(rects.community)).status_code == 404
        assert client.post(detail(rects.community), data).status_code == 404
    for who in ("head_b", "outsider", rects.other_street):
        client = rects.client(who)
        assert client.get(detail(rects.department)).status_code == 404
    # The community sees how the bureau answers for its resident, but does not answer for it.
    assert rects.client("worker_a").get(detail(rects.department)).status_code == 200
    assert rects.client("worker_a").post(detail(rects.department), data).status_code == 403
    assert rects.client("resident").get(detail(rects.community)).status_code == 403
    rects.community.refresh_from_db()
    assert rects.community.status == RectStatus.OPEN and rects.community.finding == ""
    # The county officer sees it but may not answer for the community: 403, audited.
    response = rects.client(rects.county).post(detail(rects.community), data)
    assert response.status_code == 403
    assert AuditEntry.objects.filter(action="govservice.rectify", result="denied").exists()
    rects.community.refresh_from_db()
    assert rects.community.status == RectStatus.OPEN


def test_feedback_then_review_send_back_then_accept(rects: Rects) -> None:
    url = detail(rects.community)
    worker = rects.client("worker_a")
    # Bad input: a clear form error, nothing changed.
    response = worker.post(url, {"action": "feedback", "finding": "", "measures": "培训", "feedback": "已改"})
    assert response.status_code == 400 and "error-summary" in text(response)
    rects.community.refresh_from_db()
    assert rects.community.status == RectStatus.OPEN
    response = worker.post(url, {"action": "nonsense"})
    assert response.status_code == 400
    response = worker.post(
        url,
        {"action": "feedback", "finding": "未一次告知", "measures": "培训", "feedback": "已改进，感谢监督"},
    )
    assert response.status_code == 302
    rects.community.refresh_from_db()
    assert rects.community.status == RectStatus.FED_BACK and rects.community.feedback == "已改进，感谢监督"
    # Again: the unit's form is gone and a second post is refused with a message.
    again = worker.post(url, {"action": "feedback", "finding": "x", "measures": "y", "feedback": "z"})
    assert again.status_code == 400
    # The community may not review its own answer.
    assert worker.post(url, {"action": "review", "decision": "accept"}).status_code == 403

    street = rects.client("street")
    page = text(street.get(url))
    assert 'value="review"' in page and "未一次告知" in page
    response = street.post(url, {"action": "review", "decision": "send_back", "note": ""})
    assert response.status_code == 400
    response = street.post(url, {"action": "review", "decision": "maybe"})
    assert response.status_code == 400
    rects.community.refresh_from_db()
    assert rects.community.status == RectStatus.FED_BACK
    response = street.post(url, {"action": "review", "decision": "send_back", "note": "未回访当事人"})
    assert response.status_code == 302
    rects.community.refresh_from_db()
    assert rects.community.status == RectStatus.OPEN and rects.community.rounds == 2
    page = text(worker.get(url))
    assert "未回访当事人" in page and "第2轮" in page
    worker.post(
        url, {"action": "feedback", "finding": "已回访", "measures": "致歉", "feedback": "已上门致歉"}
    )
    response = street.post(url, {"action": "review", "decision": "accept", "note": ""})
    assert response.status_code == 302
    rects.community.refresh_from_db()
    assert rects.community.status == RectStatus.DONE
    page = text(street.get(url))
    assert "整改审核通过" in page or "审核通过" in page
    assert 'value="review"' not in page and 'value="feedback"' not in page


def test_the_clerk_answers_for_the_department_and_the_county_reviews(rects: Rects) -> None:
    url = detail(rects.department)
    clerk = rects.client(rects.gov.clerk)
    assert 'value="feedback"' in text(clerk.get(url))
    response = clerk.post(
        url, {"action": "feedback", "finding": "态度生硬", "measures": "批评教育", "feedback": "已整改"}
    )
    assert response.status_code == 302
    # The street sees it (its area's resident) but the county reviews the county's bureau.
    assert rects.client("street").post(url, {"action": "review", "decision": "accept"}).status_code == 403
    response = rects.client(rects.county).post(url, {"action": "review", "decision": "accept"})
    assert response.status_code == 302
    rects.department.refresh_from_db()
    assert rects.department.status == RectStatus.DONE


# --- Statistics ---------------------------------------------------------------------------------------


STATS = "/govservice/stats/"


def test_stats_page_is_scoped(rects: Rects) -> None:
    page = text(rects.client("street").get(STATS))
    assert (
        "岳麓街道" in page
        and "枇杷塘社区" in page
        and rects.gov.item("residence_certificate").name_zh in page
    )
    county = text(rects.client(rects.county).get(STATS))
    assert "岳麓街道" in county and "桔子洲街道" in county
    assert rects.client("head_a").get(STATS, {"region": COMMUNITY_A}).status_code == 200
    for who, region in (
        ("head_b", COMMUNITY_A),
        ("outsider", "430104002"),
        ("head_a", "430104"),
        ("street", "430104003"),
    ):
        assert rects.client(who).get(STATS, {"region": region}).status_code == 404, who
    assert rects.client(rects.other_street).get(STATS, {"region": COMMUNITY_A}).status_code == 404
    for who in ("resident", "nobody"):
        assert rects.client(who).get(STATS).status_code == 403
    assert rects.client(rects.gov.clerk).get(STATS).status_code == 403  # no govservice.view
    assert Client().get(STATS).status_code == 302


def test_stats_filters_refuse_bad_input(rects: Rects) -> None:
    client = rects.client("street")
    for params in (
        {"period": "custom", "start": "2026-12-01"},
        {"period": "custom", "start": "2026-12-05", "end": "2026-12-01"},
        {"period": "custom", "start": "2024-01-01", "end": "2026-12-01"},
        {"period": "custom", "start": "not a date", "end": "2026-12-01"},
        {"period": "decade"},
        {"region": "abc"},
    ):
        response = client.get(STATS, params)
        assert response.status_code in (400, 404), params
        if response.status_code == 400:
            assert "error-summary" in text(response)
    assert client.get(STATS, {"period": "30d"}).status_code == 200
    assert client.get(STATS, {"period": "year", "region": COMMUNITY_A}).status_code == 200


# --- The public page ----------------------------------------------------------------------------------


PUBLIC = "/govservice/public/satisfaction/"


def test_public_page_needs_no_login_and_hides_small_groups(rects: Rects) -> None:
    response = Client().get(PUBLIC)
    assert response.status_code == 200
    page = text(response)
    # Two ratings only: every group is too small to show.
    assert rects.gov.item("residence_certificate").name_zh not in page
    assert "枇杷塘社区" not in page
    assert number(rects.community) not in page and "刘奶奶" not in page
    assert Client().get(PUBLIC, {"region": "99"}).status_code == 404
    assert Client().get(PUBLIC, {"region": "x"}).status_code == 404


# --- In a real browser -------------------------------------------------------------------------------


def check(page: Any, name: str) -> None:
    """One h1, fits the phone, no serious axe violation; screenshot."""
    from shequ.browser import PHONE, axe_violations, screenshot

    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"govservice-review-{name}")
    assert axe_violations(page) == [], name


def sign_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main form[action='/login/'] button[type=submit]")
    page.wait_for_url("**/")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_on_a_phone(gov: Gov, phone_page: Any) -> None:
    community = bad(gov, closed_by_community(gov))
    for _i in range(5):  # enough ratings for the public page to show the community
        ev.evaluation_submit(actor=gov["resident"], application=closed_by_community(gov), stars=5)
    page = phone_page
    page.goto(PUBLIC)
    assert "枇杷塘社区" in page.content()
    check(page, "public")
    sign_in(page, "worker_a")
    for name, path in (("list", LIST), ("detail", detail(community)), ("stats", STATS + "?period=year")):
        page.goto(path)
        check(page, name)
    # The feedback form works on the phone.
    page.goto(detail(community))
    page.fill("#id_finding", "窗口未一次告知所需材料")
    page.fill("#id_measures", "培训窗口人员")
    page.fill("#id_feedback", "已改进，感谢监督")
    page.click("text=发送反馈")
    page.wait_for_load_state()
    community.refresh_from_db()
    assert community.status == RectStatus.FED_BACK
    # Elderly mode: larger text, still fits and is accessible.
    page.click("header form button.tool >> nth=0")
    page.wait_for_load_state()
    for name, path in (("detail-elderly", detail(community)), ("stats-elderly", STATS + "?period=year")):
        page.goto(path)
        check(page, name)
