"""The ticket workflow through its services: every step from every state (refused ones leave the
ticket untouched), permissions, scope, deadlines, escalation, merging, extensions, photos and the
notifications the steps queue."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from PIL import Image

from shequ.conftest import World
from shequ.core import outbox
from shequ.core.models import AuditEntry, AuditResult, Message
from shequ.grid import selectors, services
from shequ.grid.models import (
    Attachment,
    Clock,
    Extension,
    ExtensionStatus,
    Follower,
    RoutingRule,
    Status,
    Ticket,
    TicketAction,
)
from shequ.grid.services import Decision, TransitionError
from shequ.grid.tests.conftest import COMMUNITY_B, GRID_A, GRID_B, category, jpeg_with_gps, new_ticket, png

pytestmark = pytest.mark.django_db


def reported(world: World, grid: str = GRID_A) -> Ticket:
    return services.ticket_submit(
        actor=world["resident"],
        source="resident",
        region=world.regions[grid],
        title="路灯不亮",
        description="3栋旁边的路灯一个星期没亮了，晚上很黑。",
    )


def advance(world: World, status: str) -> Ticket:
    """A ticket of grid A reported by the resident, brought into ``status`` through the services."""
    t = reported(world)
    if status == Status.SUBMITTED:
        return t
    if status == Status.MERGED:
        other = reported(world)
        return services.ticket_merge(actor=world["worker_a"], ticket=t, into=other)
    t = services.ticket_accept(actor=world["worker_a"], ticket=t, category="security.public_order")
    if status == Status.ACCEPTED:
        return t
    t = services.ticket_dispatch(actor=world["worker_a"], ticket=t)
    if status == Status.DISPATCHED:
        return t
    t = services.ticket_department_accept(actor=world["dept"], ticket=t)
    if status == Status.DEPT_ACCEPTED:
        return t
    t = services.ticket_respond(actor=world["dept"], ticket=t, comment="已安排")
    if status == Status.IN_PROGRESS:
        return t
    t = services.ticket_resolve(actor=world["dept"], ticket=t, result="已修好")
    if status == Status.RESOLVED:
        return t
    t = services.ticket_verify(actor=world["grid_a"], ticket=t, passed=True)
    if status == Status.VERIFIED:
        return t
    if status == Status.REOPENED:
        return services.ticket_rate(actor=world["resident"], ticket=t, rating=1, comment="根本没修")
    assert status == Status.CLOSED
    return services.ticket_rate(actor=world["resident"], ticket=t, rating=5)


Step = Callable[[World, Ticket], Any]
STEPS: dict[str, tuple[set[str], Step]] = {
    "accept": (
        {Status.SUBMITTED},
        lambda w, t: services.ticket_accept(actor=w["worker_a"], ticket=t, category="security.public_order"),
    ),
    "close_on_spot": (
        {Status.SUBMITTED, Status.ACCEPTED},
        lambda w, t: services.ticket_close_on_spot(
            actor=w["grid_a"], ticket=t, result="当场处理", category="security.public_order"
        ),
    ),
    "dispatch": (
        {Status.ACCEPTED},
        lambda w, t: services.ticket_dispatch(actor=w["worker_a"], ticket=t, department=w.department),
    ),
    "handle": (
        {Status.ACCEPTED},
        lambda w, t: services.ticket_handle(actor=w["worker_a"], ticket=t, result="社区已处理"),
    ),
    "merge": (
        {Status.SUBMITTED, Status.ACCEPTED},
        lambda w, t: services.ticket_merge(actor=w["worker_a"], ticket=t, into=reported(w)),
    ),
    "recategorize": (
        {s for s in Status.values if s not in {Status.CLOSED, Status.MERGED}},
        lambda w, t: services.ticket_recategorize(
            actor=w["worker_a"], ticket=t, category="cityscape.facilities"
        ),
    ),
    "dept_accept": (
        {Status.DISPATCHED},
        lambda w, t: services.ticket_department_accept(actor=w["dept"], ticket=t),
    ),
    "respond": (
        {Status.DEPT_ACCEPTED, Status.IN_PROGRESS},
        lambda w, t: services.ticket_respond(actor=w["dept"], ticket=t, comment="处理中"),
    ),
    "resolve": (
        {Status.DEPT_ACCEPTED, Status.IN_PROGRESS},
        lambda w, t: services.ticket_resolve(actor=w["dept"], ticket=t, result="已处理"),
    ),
    "dept_return": (
        {Status.DISPATCHED, Status.DEPT_ACCEPTED, Status.IN_PROGRESS},
        lambda w, t: services.ticket_department_return(actor=w["dept"], ticket=t, reason="不属于本单位职责"),
    ),
    "request_extension": (
        {Status.DEPT_ACCEPTED, Status.IN_PROGRESS},
        lambda w, t: services.extension_request(actor=w["dept"], ticket=t, days=3, reason="需要采购配件"),
    ),
    "verify": (
        {Status.RESOLVED},
        lambda w, t: services.ticket_verify(actor=w["grid_a"], ticket=t, passed=True),
    ),
    "rate": (
        {Status.RESOLVED, Status.VERIFIED},
        lambda w, t: services.ticket_rate(actor=w["resident"], ticket=t, rating=4),
    ),
    "supervise": (
        {Status.REOPENED},
        lambda w, t: services.ticket_supervise(
            actor=w["head_a"], ticket=t, decision=Decision.CLOSE, comment="已向居民解释"
        ),
    ),
}
DEPARTMENT_STEPS = {"dept_accept", "respond", "resolve", "dept_return", "request_extension"}
STATES = [s for s in Status.values]


@pytest.mark.parametrize("step", sorted(STEPS))
def test_every_step_from_every_state(world: World, step: str) -> None:
    """One test per step (the world is built once), trying it from each state in turn."""
    allowed, call = STEPS[step]
    for state in STATES:
        ticket = advance(world, state)
        assert ticket.status == state
        actions = TicketAction.objects.filter(ticket=ticket).count()
        if state in allowed:
            call(world, ticket)
            assert TicketAction.objects.filter(ticket=ticket).count() > actions, (step, state)
            continue
        expected: type[Exception] = TransitionError
        if step in DEPARTMENT_STEPS and ticket.department_id != world.department.pk:
            expected = PermissionDenied
        with pytest.raises(expected) as caught:
            call(world, ticket)
        if isinstance(caught.value, TransitionError):
            text = " ".join(caught.value.messages)
            assert str(Status(state).label) in text or "already" in text or "已" in text, (step, state, text)
        ticket.refresh_from_db()
        assert ticket.status == state, (step, state)
        assert TicketAction.objects.filter(ticket=ticket).count() == actions, (step, state)


def test_illegal_step_message_says_what_is_allowed(world: World) -> None:
    ticket = advance(world, Status.SUBMITTED)
    with pytest.raises(TransitionError) as caught:
        services.ticket_dispatch(actor=world["worker_a"], ticket=ticket)
    assert caught.value.code == "illegal_transition"
    message = caught.value.messages[0]
    assert str(Status.SUBMITTED.label) in message and str(Status.ACCEPTED.label) in message
    assert message == "该工单当前为“已收到”，现在不能派单（仅在社区已受理时可以）。"


@pytest.mark.parametrize(
    ("persona", "step"),
    [
        ("grid_b", "accept"),  # the sibling grid's worker, and grid workers do not accept
        ("grid_a", "accept"),
        ("head_b", "accept"),  # the sibling community
        ("outsider", "accept"),
        ("resident", "accept"),
        ("dept", "accept"),
        ("street", "verify"),
        ("grid_b", "verify"),
        ("head_b", "dispatch"),
        ("sysadmin", "dispatch"),
        ("auditor", "close_on_spot"),
        ("grid_b", "close_on_spot"),
    ],
)
def test_refusals_are_audited_and_change_nothing(world: World, persona: str, step: str) -> None:
    state = {
        "accept": Status.SUBMITTED,
        "verify": Status.RESOLVED,
        "dispatch": Status.ACCEPTED,
        "close_on_spot": Status.SUBMITTED,
    }[step]
    ticket = advance(world, state)
    actor = world[persona]
    calls: dict[str, Callable[[], Any]] = {
        "accept": lambda: services.ticket_accept(
            actor=actor, ticket=ticket, category="security.public_order"
        ),
        "verify": lambda: services.ticket_verify(actor=actor, ticket=ticket, passed=True),
        "dispatch": lambda: services.ticket_dispatch(actor=actor, ticket=ticket),
        "close_on_spot": lambda: services.ticket_close_on_spot(actor=actor, ticket=ticket, result="x"),
    }
    denied = AuditEntry.objects.filter(result=AuditResult.DENIED).count()
    with pytest.raises(PermissionDenied):
        calls[step]()
    assert AuditEntry.objects.filter(result=AuditResult.DENIED).count() == denied + 1
    ticket.refresh_from_db()
    assert ticket.status == state


def test_another_department_cannot_act_or_see(world: World, urban: Any) -> None:
    from shequ.core import accounts
    from shequ.core.models import Role

    other = accounts.user_create(
        actor=None,
        username="urban1",
        display_name="城管",
        password="Tq7!correct-Horse-2",
        phone="13900000001",
    )
    accounts.membership_grant(
        actor=None, user=other, role=Role.DEPARTMENT_STAFF, region=world.regions["430104"], department=urban
    )
    ticket = advance(world, Status.DISPATCHED)
    with pytest.raises(PermissionDenied):
        services.ticket_department_accept(actor=other, ticket=ticket)
    with pytest.raises(Http404):
        selectors.get_ticket_for(other, ticket.pk)
    assert not selectors.tickets_for(other).exists()
    # The police see it while it is theirs, and keep seeing what they did after returning it.
    assert selectors.get_ticket_for(world["dept"], ticket.pk) == ticket
    services.ticket_department_return(actor=world["dept"], ticket=ticket, reason="属城管职责")
    services.ticket_dispatch(actor=world["worker_a"], ticket=ticket, department=urban)
    assert selectors.get_ticket_for(other, ticket.pk).pk == ticket.pk
    assert selectors.get_ticket_for(world["dept"], ticket.pk).pk == ticket.pk
    with pytest.raises(PermissionDenied):
        services.ticket_department_accept(actor=world["dept"], ticket=ticket)
    services.ticket_department_accept(actor=other, ticket=ticket)


def test_who_sees_what(world: World) -> None:
    a = advance(world, Status.SUBMITTED)
    a2 = new_ticket(world, grid=GRID_B, actor=world["grid_b"], source="patrol")
    b = new_ticket(world, grid=COMMUNITY_B, actor=world["head_b"])
    visible = {p: {t.pk for t in selectors.tickets_for(world[p])} for p in world.users}
    assert visible["grid_a"] == {a.pk}
    assert visible["grid_b"] == {a2.pk}
    assert visible["worker_a"] == visible["head_a"] == {a.pk, a2.pk}
    assert visible["head_b"] == {b.pk}
    assert visible["street"] == {a.pk, a2.pk, b.pk}
    assert visible["resident"] == {a.pk}
    assert visible["dept"] == set()  # nothing dispatched to the police yet
    for persona in ("outsider", "nobody", "sysadmin", "secadmin", "auditor"):
        assert visible[persona] == set(), persona


def test_resident_reports_only_in_their_own_area(world: World) -> None:
    with pytest.raises(PermissionDenied):
        reported(world, grid=COMMUNITY_B)
    assert not Ticket.objects.exists()


def test_bad_input_is_refused_field_by_field_and_writes_nothing(world: World) -> None:
    with pytest.raises(ValidationError) as caught:
        services.ticket_submit(
            actor=world["worker_a"],
            source="staff",
            region=world.regions[GRID_A],
            title="",
            description="x" * 5000,
            category="safety",  # a main type, not a leaf
            contact_phone="12345",
            latitude="91",
            longitude="200",
        )
    assert set(caught.value.error_dict) == {"title", "description", "category", "contact_phone", "location"}
    with pytest.raises(ValidationError):
        services.ticket_submit(
            actor=None, source="fax", region=world.regions[GRID_A], title="t", description="d"
        )
    with pytest.raises(ValidationError):
        services.ticket_submit(
            actor=None, source="hotline", region=world.regions["430104002"], title="t", description="d"
        )
    assert not Ticket.objects.exists() and not TicketAction.objects.exists()


def test_the_same_hotline_number_is_imported_once(world: World) -> None:
    new_ticket(world, external_ref="12345-0001")
    with pytest.raises(ValidationError) as caught:
        new_ticket(world, external_ref="12345-0001")
    assert "external_ref" in caught.value.error_dict
    assert Ticket.objects.count() == 1


def test_contact_phone_is_encrypted_and_masked(world: World) -> None:
    from django.db import connection

    t = new_ticket(world, contact_name="王先生", contact_phone="13812345678")
    assert t.masked_contact_phone == "138****5678"
    with connection.cursor() as cur:
        cur.execute("SELECT contact_phone FROM grid_ticket WHERE id = %s", [t.pk])
        assert "13812345678" not in cur.fetchone()[0]


def _clock(monkeypatch: pytest.MonkeyPatch, when: dt.datetime) -> None:
    monkeypatch.setattr(services._common, "_now", lambda: when)


def test_deadlines_follow_the_category_and_the_calendar(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zoneinfo import ZoneInfo

    cst = ZoneInfo("Asia/Shanghai")
    friday = dt.datetime(2026, 9, 25, 16, 0, tzinfo=cst)  # Mid-Autumn Festival, a day off
    _clock(monkeypatch, friday)
    t = new_ticket(world, code="environment.garbage", submitted_at=friday)  # 24 h response, 3 working days
    assert t.clock == Clock.RESPONSE and t.due_at == friday + dt.timedelta(hours=24)
    assert t.warn_at == friday + dt.timedelta(hours=24) * 0.8
    t = services.ticket_accept(actor=world["worker_a"], ticket=t)
    # 26 Sat, 27 Sun not counted, 28, 29, 30 Sep.
    assert t.resolve_due_at == dt.datetime(2026, 9, 30, 23, 59, 59, tzinfo=cst)
    # Dispatched on 30 Sep: 1–7 Oct off, 8, 9 Oct and Sat 10 Oct (worked) count.
    later = dt.datetime(2026, 9, 30, 9, 0, tzinfo=cst)
    _clock(monkeypatch, later)
    t = services.ticket_dispatch(actor=world["worker_a"], ticket=t, department=world.department)
    assert t.resolve_due_at == dt.datetime(2026, 10, 10, 23, 59, 59, tzinfo=cst)
    assert t.clock == Clock.RESPONSE and t.due_at == later + dt.timedelta(hours=24)


def test_urgent_tickets_run_on_hours(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from zoneinfo import ZoneInfo

    saturday_night = dt.datetime(2026, 11, 28, 22, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    _clock(monkeypatch, saturday_night)
    t = new_ticket(world, code="safety.gas", urgency="urgent", submitted_at=saturday_night)
    assert t.due_at == saturday_night + dt.timedelta(hours=1)
    t = services.ticket_accept(actor=world["worker_a"], ticket=t)
    assert t.resolve_due_at == saturday_night + dt.timedelta(hours=4)


def test_warning_and_escalation_up_the_levels(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    t = advance(world, Status.DISPATCHED)
    assert t.due_at is not None and t.warn_at is not None and t.clock_started_at is not None
    assert services.warn_due(now=t.warn_at - dt.timedelta(seconds=1)) == 0
    assert services.warn_due(now=t.warn_at) == 1
    assert services.warn_due(now=t.warn_at) == 0  # once per clock
    overdue = t.due_at + dt.timedelta(minutes=1)
    assert services.escalate_overdue(now=overdue) == 1
    t.refresh_from_db()
    assert (t.supervision_code, t.escalations) == ("430104002", 1)  # community → street
    assert services.escalate_overdue(now=overdue + dt.timedelta(hours=1)) == 0  # not again at once
    span = max(t.due_at - t.clock_started_at, dt.timedelta(days=1))
    assert services.escalate_overdue(now=overdue + span) == 1
    t.refresh_from_db()
    assert (t.supervision_code, t.escalations) == ("430104", 2)  # street → county
    assert t in selectors.supervision_list(world["street"])
    assert t not in selectors.supervision_list(world["head_b"])
    assert [a.action for a in t.actions.all()][-2:] == ["escalate", "escalate"]
    assert AuditEntry.objects.filter(action="grid.escalate").count() == 2


def test_yellow_and_red_lists(world: World) -> None:
    t = advance(world, Status.DISPATCHED)
    assert t.warn_at is not None and t.due_at is not None
    assert selectors.colour(t, now=t.warn_at) == "yellow"
    assert Ticket.objects.filter(selectors.colour_q("yellow", now=t.warn_at)).get() == t
    assert not Ticket.objects.filter(selectors.colour_q("red", now=t.warn_at)).exists()
    assert Ticket.objects.filter(selectors.colour_q("red", now=t.due_at + dt.timedelta(seconds=1))).get() == t


def test_extension_moves_the_deadline_after_approval(world: World) -> None:
    t = advance(world, Status.IN_PROGRESS)
    due = t.resolve_due_at
    assert due is not None
    ext = services.extension_request(actor=world["dept"], ticket=t, days=2, reason="等配件")
    with pytest.raises(TransitionError):
        services.extension_request(actor=world["dept"], ticket=t, days=2, reason="再等")
    with pytest.raises(PermissionDenied):
        services.extension_decide(actor=world["head_b"], extension=ext, approve=True)
    with pytest.raises(ValidationError):
        services.extension_decide(
            actor=world["head_a"], extension=ext, approve=False
        )  # a refusal needs a reason
    services.extension_decide(actor=world["head_a"], extension=ext, approve=True)
    t.refresh_from_db()
    assert t.resolve_due_at is not None and t.resolve_due_at > due and t.due_at == t.resolve_due_at
    with pytest.raises(TransitionError):
        services.extension_decide(actor=world["head_a"], extension=ext, approve=True)
    for bad in (0, 31, "x"):
        with pytest.raises(ValidationError):
            services.extension_request(actor=world["dept"], ticket=t, days=bad, reason="r")
    assert Extension.objects.count() == 1


def test_more_time_is_decided_only_while_the_department_works_on_it(world: World) -> None:
    # Resolving makes a waiting request moot; a request of an earlier push is not the current one.
    t = advance(world, Status.IN_PROGRESS)
    ext = services.extension_request(actor=world["dept"], ticket=t, days=2, reason="等配件")
    t = services.ticket_resolve(actor=world["dept"], ticket=t, result="已修好")
    assert Extension.objects.get(pk=ext.pk).status == ExtensionStatus.REJECTED
    assert (
        selectors.pending_extension(t) is None and not selectors.pending_extensions(world["head_a"]).exists()
    )
    with pytest.raises(TransitionError):
        services.extension_decide(actor=world["head_a"], extension=ext, approve=True)
    due = Ticket.objects.get(pk=t.pk).resolve_due_at
    t = services.ticket_verify(actor=world["grid_a"], ticket=t, passed=False, comment="还没修好")
    assert t.status == Status.IN_PROGRESS and t.resolve_due_at == due
    # Back with the department: it may ask again.
    again = services.extension_request(actor=world["dept"], ticket=t, days=1, reason="再等一天")
    assert selectors.pending_extension(t) == again


def test_failed_verification_goes_back_to_the_department(world: World) -> None:
    t = advance(world, Status.RESOLVED)
    with pytest.raises(ValidationError):
        services.ticket_verify(actor=world["grid_a"], ticket=t, passed=False)  # needs what is still wrong
    t = services.ticket_verify(actor=world["grid_a"], ticket=t, passed=False, comment="灯还是不亮")
    assert t.status == Status.IN_PROGRESS and t.resolved_at is None and t.clock == Clock.RESOLUTION


def test_tickets_without_a_rater_close_on_verification(world: World) -> None:
    t = new_ticket(world, actor=world["worker_a"])
    t = services.ticket_accept(actor=world["worker_a"], ticket=t)
    t = services.ticket_handle(actor=world["worker_a"], ticket=t, result="社区调解完毕")
    t = services.ticket_verify(actor=world["grid_a"], ticket=t, passed=True)
    assert t.status == Status.CLOSED and t.closed_at is not None


def test_low_rating_reopens_for_supervision(world: World) -> None:
    t = advance(world, Status.VERIFIED)
    with pytest.raises(PermissionDenied):
        services.ticket_rate(actor=world["worker_a"], ticket=t, rating=5)  # only the reporter rates
    with pytest.raises(ValidationError):
        services.ticket_rate(actor=world["resident"], ticket=t, rating=2)  # a low rating says why
    with pytest.raises(ValidationError):
        services.ticket_rate(actor=world["resident"], ticket=t, rating=6)
    t = services.ticket_rate(actor=world["resident"], ticket=t, rating=2, comment="只是敷衍")
    assert t.status == Status.REOPENED and t in selectors.supervision_list(world["head_a"])
    t = services.ticket_supervise(
        actor=world["head_a"], ticket=t, decision=Decision.REDISPATCH, comment="请重新处理"
    )
    assert t.status == Status.DISPATCHED and t.dispatches.count() == 2


def test_unrated_verified_tickets_close_after_the_window(world: World) -> None:
    t = advance(world, Status.VERIFIED)
    assert t.resolved_at is not None
    assert services.close_unrated(now=t.resolved_at + dt.timedelta(days=6)) == 0
    assert services.close_unrated(now=t.resolved_at + dt.timedelta(days=8)) == 1
    t.refresh_from_db()
    assert t.status == Status.CLOSED


def test_merged_reporters_follow_the_parent(world: World) -> None:
    parent = advance(world, Status.ACCEPTED)
    child = reported(world)
    with pytest.raises(ValidationError):
        services.ticket_merge(actor=world["worker_a"], ticket=child, into=child)
    services.ticket_merge(actor=world["worker_a"], ticket=child, into=parent)
    child.refresh_from_db()
    assert child.status == Status.MERGED and child.parent == parent
    assert Follower.objects.filter(ticket=parent, user=world["resident"]).exists()
    b = new_ticket(world, grid=COMMUNITY_B, actor=world["head_b"])
    other = reported(world)
    with pytest.raises(PermissionDenied):
        services.ticket_merge(actor=world["worker_a"], ticket=other, into=b)


def test_routing_picks_the_nearest_rule_and_can_dispatch_at_once(world: World, urban: Any) -> None:
    garbage = category("environment.garbage")
    assert services.default_department(garbage, GRID_A) == urban  # by kind: the county's 城管
    services.routing_rule_set(
        actor=world["street"],
        category=garbage,
        region=world.regions["430104002"],
        department=world.department,
    )
    assert services.default_department(garbage, GRID_A) == world.department
    with pytest.raises(PermissionDenied):
        services.routing_rule_set(
            actor=world["head_b"], category=garbage, region=world.regions["430104002"], department=urban
        )
    services.routing_rule_set(
        actor=world["street"],
        category=category("safety.gas"),
        region=world.regions["430104002"],
        department=world.department,
        auto_dispatch=True,
    )
    t = new_ticket(world, code="safety.gas", actor=world["grid_a"], source="patrol")
    assert t.status == Status.DISPATCHED and t.department == world.department
    assert t.category_confirmed_by == world["grid_a"]
    assert RoutingRule.objects.count() == 2
    # A resident's (or an Open311 client's) category is a suggestion: the community checks it first.
    mine = services.ticket_submit(
        actor=world["resident"],
        source="resident",
        region=world.regions[GRID_A],
        title="有燃气味",
        description="楼道里有很重的燃气味",
        category="safety.gas",
    )
    assert mine.status == Status.SUBMITTED and mine.category_confirmed_by is None


def test_photos_are_checked_and_stripped(world: World, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    t = new_ticket(world, photos=[png(), jpeg_with_gps()])
    photos = list(Attachment.objects.filter(ticket=t))
    assert [p.content_type for p in photos] == ["image/png", "image/jpeg"]
    with Image.open(photos[1].file.path) as stored:
        assert not stored.getexif()
    for bad in (b"not an image", b"GIF89a" + b"\0" * 20):
        with pytest.raises(ValidationError):
            new_ticket(world, photos=[bad])
    with pytest.raises(ValidationError):
        new_ticket(world, photos=[png()] * 10)
    assert Ticket.objects.count() == 1


def test_dispatch_tells_the_department_and_progress_tells_the_reporter(world: World) -> None:
    t = advance(world, Status.DISPATCHED)
    outbox.run_pending()
    to_dept = Message.objects.filter(recipient=world["dept"], topic="grid.dispatch")
    assert to_dept.count() == 1 and t.number in to_dept.get().subject
    assert world["resident"].phone not in to_dept.get().body
    to_resident = Message.objects.filter(recipient=world["resident"], topic="grid.progress")
    assert to_resident.count() == 2  # accepted, dispatched
    services.ticket_department_accept(actor=world["dept"], ticket=t)
    outbox.run_pending()
    assert (
        Message.objects.filter(recipient=world["resident"], topic="grid.progress").count() == 2
    )  # not told of internal steps
