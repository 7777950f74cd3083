"""好差评 through the services: a bad rating opens a rectification for the answerable unit (the
community, or the department that decided), the unit feeds back, the level above accepts it or sends
it back with 5 more working days; the reasons are checked, only the applicant (or the SMS link)
rates, once, and only a finished application; who may rectify and review, to the boundary."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from shequ.conftest import PASSWORD
from shequ.core import accounts
from shequ.core.models import AuditEntry, Role, User
from shequ.govservice.models import Application, Channel, Evaluation, Outcome, Rectification, RectStatus
from shequ.govservice.services import applications as apps
from shequ.govservice.services import evaluations as ev
from shequ.govservice.services._common import TransitionError, working_days_from
from shequ.govservice.tests.conftest import COMMUNITY_A, COUNTY, Gov
from shequ.govservice.tests.test_applications import online
from shequ.registry import prefill

pytestmark = pytest.mark.django_db

OTHER_STREET = "430104003"


def staff(gov: Gov, username: str, role: str, code: str) -> User:
    user = accounts.user_create(
        actor=None,
        username=username,
        display_name=username,
        password=PASSWORD,
        phone=f"1390000{abs(hash(username)) % 10000:04d}",
        email=f"{username}@example.test",
    )
    accounts.membership_grant(actor=None, user=user, role=role, region=gov.world.regions[code])
    return user


def closed_by_community(gov: Gov) -> Application:
    """即收即办 at the counter for 刘奶奶, whose account follows it: the community is answerable."""
    app = apps.application_submit(
        actor=gov["worker_a"],
        item=gov.item("residence_certificate"),
        channel=Channel.COUNTER,
        region=gov.world.regions[COMMUNITY_A],
        applicant=apps.Applicant(facts=prefill.facts_of(gov.elder), user=gov["resident"]),
        answers={"purpose": "办理银行业务"},
    )
    return apps.application_close_on_receipt(actor=gov["worker_a"], application=app)


def closed_by_department(gov: Gov) -> Application:
    """Forwarded to the civil-affairs bureau, decided by its clerk: the department is answerable."""
    app = online(gov)
    app = apps.application_accept(actor=gov["worker_a"], application=app)
    app = apps.application_forward(actor=gov["worker_a"], application=app, department=gov.civil)
    app = apps.application_decide(actor=gov.clerk, application=app, outcome=Outcome.APPROVED)
    return apps.application_deliver(actor=gov["worker_a"], application=app, delivery="pickup")


def bad(gov: Gov, app: Application, **extra: object) -> Rectification:
    data: dict[str, object] = {"reasons": ["slow", "many_trips"], "comment": "跑了三趟"}
    data.update(extra)
    evaluation = ev.evaluation_submit(actor=gov["resident"], application=app, stars=2, **data)  # type: ignore[arg-type]
    return Rectification.objects.get(evaluation=evaluation)


def test_bad_rating_rectification_feedback_and_review_round_trip(gov: Gov) -> None:
    app = closed_by_community(gov)
    rect = bad(gov, app)
    app.refresh_from_db()
    assert app.rating == 2
    assert rect.status == RectStatus.OPEN and rect.rounds == 1
    assert rect.department_id is None and rect.region_code == COMMUNITY_A
    assert rect.supervisor_code == "430104002"  # the street supervises its communities
    _warn, due = working_days_from(rect.opened_at, 15)
    assert rect.due_at == due
    assert AuditEntry.objects.filter(action="govservice.rectification_open", object_id=str(rect.pk)).exists()

    # The review cannot come before the unit's answer.
    with pytest.raises(TransitionError):
        ev.rectification_review(actor=gov["street"], rect=rect, accepted=True)
    rect = ev.rectification_feedback(
        actor=gov["worker_a"],
        rect=rect,
        finding="窗口人员未一次告知所需材料",
        measures="已对窗口人员进行培训，材料清单张贴上墙",
        feedback="刘奶奶您好，已改进，感谢监督",
    )
    assert rect.status == RectStatus.FED_BACK and rect.fed_back_by == gov["worker_a"]
    with pytest.raises(TransitionError):  # once per round
        ev.rectification_feedback(actor=gov["worker_a"], rect=rect, finding="x", measures="y", feedback="z")

    # Sent back: a note is required; a new round with 5 working days from now.
    with pytest.raises(ValidationError):
        ev.rectification_review(actor=gov["street"], rect=rect, accepted=False, note=" ")
    first_due = rect.due_at
    rect = ev.rectification_review(actor=gov["street"], rect=rect, accepted=False, note="未回访当事人")
    assert rect.status == RectStatus.OPEN and rect.rounds == 2 and rect.review_note == "未回访当事人"
    assert rect.reviewed_by == gov["street"]
    assert rect.due_at < first_due
    assert rect.warned_at is None and rect.warn_at is not None and rect.warn_at < rect.due_at

    rect = ev.rectification_feedback(
        actor=gov["head_a"], rect=rect, finding="已电话回访", measures="上门致歉", feedback="已回访致歉"
    )
    rect = ev.rectification_review(actor=gov["street"], rect=rect, accepted=True)
    assert rect.status == RectStatus.DONE and rect.closed_at is not None
    with pytest.raises(TransitionError):
        ev.rectification_review(actor=gov["street"], rect=rect, accepted=True)
    steps = list(app.steps.filter(action__in=["rate", "rectify"]).values_list("action", "params"))
    assert [a for a, _p in steps] == ["rate", "rectify", "rectify"]
    assert [p.get("round") for a, p in steps if a == "rectify"] == [1, 2]
    assert AuditEntry.objects.filter(action="govservice.rectification_review").count() == 2


def test_send_back_deadline_is_five_working_days(gov: Gov) -> None:
    rect = bad(gov, closed_by_community(gov))
    rect = ev.rectification_feedback(
        actor=gov["worker_a"], rect=rect, finding="a", measures="b", feedback="c"
    )
    before = timezone.now()
    rect = ev.rectification_review(actor=gov["street"], rect=rect, accepted=False, note="再查")
    # The new deadline is 5 working days after the review.
    _w, expected = working_days_from(before, 5)
    assert abs((rect.due_at - expected).total_seconds()) < 60


def test_department_decided_application_is_the_departments_to_rectify(gov: Gov) -> None:
    app = closed_by_department(gov)
    rect = bad(gov, app)
    assert rect.department_id == gov.civil.pk and rect.supervisor_code == COUNTY
    county = staff(gov, "county", Role.COUNTY_OFFICER, COUNTY)
    assert ev.can_rectify(gov.clerk, rect)
    for persona in ("worker_a", "head_a", "street", "head_b", "dept", "resident"):
        assert not ev.can_rectify(gov[persona], rect), persona
    assert ev.can_review(county, rect)
    assert not ev.can_review(gov["street"], rect)  # the bureau is the county's: the county reviews
    assert not ev.can_review(gov.clerk, rect)
    with pytest.raises(PermissionDenied):
        ev.rectification_feedback(actor=gov["worker_a"], rect=rect, finding="a", measures="b", feedback="c")
    rect = ev.rectification_feedback(actor=gov.clerk, rect=rect, finding="a", measures="b", feedback="c")
    with pytest.raises(PermissionDenied):
        ev.rectification_review(actor=gov["street"], rect=rect, accepted=True)
    rect = ev.rectification_review(actor=county, rect=rect, accepted=True)
    assert rect.status == RectStatus.DONE


def test_community_rectification_boundaries(gov: Gov) -> None:
    rect = bad(gov, closed_by_community(gov))
    other_street = staff(gov, "street_c", Role.STREET_OFFICER, OTHER_STREET)
    county = staff(gov, "county", Role.COUNTY_OFFICER, COUNTY)
    for persona in ("worker_a", "head_a", "street"):
        assert ev.can_rectify(gov[persona], rect), persona
    for persona in ("head_b", "outsider", "grid_a", "dept", "resident", "nobody"):
        assert not ev.can_rectify(gov[persona], rect), persona
    assert not ev.can_rectify(gov.clerk, rect) and not ev.can_rectify(other_street, rect)
    assert not ev.can_rectify(county, rect)  # the county supervises, it does not answer
    assert not ev.can_rectify(None, rect)
    assert ev.can_review(gov["street"], rect) and ev.can_review(county, rect)
    for user in (gov["head_a"], gov["worker_a"], gov["head_b"], gov["outsider"], other_street, gov.clerk):
        assert not ev.can_review(user, rect), user.username
    assert not ev.can_review(None, rect)
    for user in (gov["head_b"], other_street, gov["outsider"]):
        with pytest.raises(PermissionDenied):
            ev.rectification_feedback(actor=user, rect=rect, finding="a", measures="b", feedback="c")
    assert AuditEntry.objects.filter(action="govservice.rectify", result="denied").count() == 3
    rect.refresh_from_db()
    assert rect.status == RectStatus.OPEN and rect.finding == ""


def test_feedback_needs_every_part(gov: Gov) -> None:
    rect = bad(gov, closed_by_community(gov))
    for missing in ("finding", "measures", "feedback"):
        data = {"finding": "查明", "measures": "整改", "feedback": "反馈", missing: "  "}
        with pytest.raises(ValidationError) as exc:
            ev.rectification_feedback(
                actor=gov["worker_a"],
                rect=rect,
                finding=data["finding"],
                measures=data["measures"],
                feedback=data["feedback"],
            )
        assert missing in exc.value.message_dict
    with pytest.raises(ValidationError):
        ev.rectification_feedback(
            actor=gov["worker_a"], rect=rect, finding="a", measures="b", feedback="x" * 501
        )
    rect.refresh_from_db()
    assert rect.status == RectStatus.OPEN


@pytest.mark.parametrize(
    ("stars", "reasons", "comment", "field"),
    [
        (0, [], "", "stars"),
        (6, [], "", "stars"),
        ("five", [], "", "stars"),
        (1, [], "", "reasons"),  # a bad rating says what went wrong
        (2, ["polite"], "", "reasons"),  # a good reason on a bad rating
        (4, ["nonsense"], "", "reasons"),
        (5, [], "x" * 501, "comment"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(
    gov: Gov, stars: object, reasons: list[str], comment: str, field: str
) -> None:
    app = closed_by_community(gov)
    with pytest.raises(ValidationError) as exc:
        ev.evaluation_submit(
            actor=gov["resident"], application=app, stars=stars, reasons=reasons, comment=comment
        )
    assert field in exc.value.message_dict
    app.refresh_from_db()
    assert app.rating is None and not Evaluation.objects.exists() and not Rectification.objects.exists()


def test_good_rating_opens_nothing_and_keeps_reasons(gov: Gov) -> None:
    app = closed_by_community(gov)
    evaluation = ev.evaluation_submit(
        actor=gov["resident"], application=app, stars=5, reasons=["fast", "fast", "once"]
    )
    assert evaluation.reasons == ["fast", "once"] and evaluation.region_code == COMMUNITY_A
    assert not Rectification.objects.exists()
    # A bad rating may tick bad reasons only; a comment alone is enough.
    other = closed_by_community(gov)
    ev.evaluation_submit(actor=gov["resident"], application=other, stars=1, comment="态度差")
    assert Rectification.objects.count() == 1


def test_only_the_applicant_rates_once_and_only_when_finished(gov: Gov) -> None:
    app = closed_by_community(gov)
    for persona in ("worker_a", "head_a", "street", "grid_a"):
        with pytest.raises(PermissionDenied):
            ev.evaluation_submit(actor=gov[persona], application=app, stars=5)
    with pytest.raises(PermissionDenied):
        ev.evaluation_submit(actor=None, application=app, stars=5)
    assert AuditEntry.objects.filter(action="govservice.rate", result="denied").count() == 5
    # The SMS link (checked by the page) rates without an account.
    ev.evaluation_submit(actor=None, application=app, stars=4, by_token=True, channel=Channel.KIOSK)
    with pytest.raises(TransitionError):
        ev.evaluation_submit(actor=gov["resident"], application=app, stars=1, comment="再评")
    assert Evaluation.objects.get(application=app).stars == 4

    open_app = online(gov)
    with pytest.raises(TransitionError):
        ev.evaluation_submit(actor=gov["resident"], application=open_app, stars=1, comment="慢")
    withdrawn = apps.application_withdraw(actor=gov["resident"], application=online(gov))
    with pytest.raises(TransitionError):
        ev.evaluation_submit(actor=gov["resident"], application=withdrawn, stars=5)
    rejected = apps.application_reject(
        actor=gov["worker_a"], application=online(gov), reason="户籍不在本社区"
    )
    ev.evaluation_submit(actor=gov["resident"], application=rejected, stars=2, reasons=["result"])
    assert Rectification.objects.count() == 1
    with pytest.raises(ValidationError):
        ev.evaluation_submit(
            actor=None, application=closed_by_community(gov), stars=5, by_token=True, channel="fax"
        )
