"""The on-duty roster (core/duty.py): who answers at a given time, validation that changes nothing,
audit entries, permission refusals, copying a week. The clock is fixed (``clock`` fixture) so that
"now" and "the past" do not depend on when the suite runs."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from shequ.conftest import World
from shequ.core import accounts, duty
from shequ.core.models import AuditEntry, AuditResult, DutyFallback, DutyShift, Membership

SH = ZoneInfo("Asia/Shanghai")
A = "430104002001"  # 枇杷塘社区
B = "430104002003"  # 泽盛社区, its sibling
STREET = "430104002"
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=SH)  # a Monday morning


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SH)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A settable "now" for the duty services (and the audit rows they write)."""

    class Clock:
        now = NOW

    c = Clock()
    monkeypatch.setattr("django.utils.timezone.now", lambda: c.now)
    return c


def add(
    world: World, who: str, start: datetime, end: datetime, *, actor: str = "head_a", region: str = A
) -> Any:
    return duty.shift_add(
        actor=world[actor], region_code=region, user=world[who], starts_at=start, ends_at=end, note="班"
    )


@pytest.fixture
def week(world: World, clock: Any) -> World:
    """Tuesday Dec 8: worker_a on the day shift 08:30–17:30, grid_a on the night shift to Wednesday
    08:30; nothing Wednesday after 08:30 (a gap)."""
    add(world, "worker_a", at(8, 8, 30), at(8, 17, 30))
    add(world, "grid_a", at(8, 17, 30), at(9, 8, 30))
    return world


@pytest.mark.django_db
def test_day_shift_and_night_shift_across_midnight(week: World) -> None:
    assert duty.on_duty(region_code=A, at=at(8, 12)) == [week["worker_a"]]
    # 03:00 in the night shift that started the evening before.
    answer = duty.duty_now(region_code=A, at=at(9, 3))
    assert answer.users == [week["grid_a"]] and answer.why == "shift" and answer.until == at(9, 8, 30)
    # The change of shift: the start belongs to the new shift, the end does not.
    assert duty.on_duty(region_code=A, at=at(8, 17, 30)) == [week["grid_a"]]
    assert duty.on_duty(region_code=A, at=at(8, 8, 30)) == [week["worker_a"]]
    # The exact region only: the sibling community and the street have nobody.
    assert duty.on_duty(region_code=B, at=at(8, 12)) == []
    assert duty.on_duty(region_code=STREET, at=at(8, 12)) == []


@pytest.mark.django_db
def test_two_people_on_duty_ordered_by_start(week: World) -> None:
    add(week, "head_a", at(8, 12), at(8, 20))
    assert duty.on_duty(region_code=A, at=at(8, 13)) == [week["worker_a"], week["head_a"]]


@pytest.mark.django_db
def test_a_gap_reaches_the_fallback_and_without_one_nobody(week: World) -> None:
    assert duty.duty_now(region_code=A, at=at(9, 12)) == duty.DutyAnswer(users=[], why="none", until=None)
    duty.fallback_set(actor=week["head_a"], region_code=A, user=week["head_a"])
    answer = duty.duty_now(region_code=A, at=at(9, 12))
    assert answer.users == [week["head_a"]] and answer.why == "fallback"
    # Before the first shift: the fallback, until that shift starts.
    assert duty.duty_now(region_code=A, at=at(8, 7)).until == at(8, 8, 30)
    # A second call replaces the fallback: one per region.
    duty.fallback_set(actor=week["head_a"], region_code=A, user=week["worker_a"])
    assert DutyFallback.objects.filter(region_code=A).count() == 1
    assert duty.on_duty(region_code=A, at=at(9, 12)) == [week["worker_a"]]


@pytest.mark.django_db
def test_a_revoked_or_disabled_person_is_skipped_for_the_fallback(week: World) -> None:
    duty.fallback_set(actor=week["head_a"], region_code=A, user=week["head_a"])
    membership = Membership.objects.get(user=week["grid_a"], revoked_at__isnull=True)
    accounts.membership_revoke(actor=None, membership=membership, reason="调离")
    answer = duty.duty_now(region_code=A, at=at(9, 3))
    assert answer.users == [week["head_a"]] and answer.why == "fallback"
    worker = week["worker_a"]
    worker.is_active = False
    worker.save()
    assert duty.on_duty(region_code=A, at=at(8, 12)) == [week["head_a"]]
    # A fallback who can no longer answer is no answer either.
    head = week["head_a"]
    head.is_active = False
    head.save()
    assert duty.duty_now(region_code=A, at=at(8, 12)).why == "none"
    assert duty.on_duty(region_code=A, at=at(8, 12)) == []


def _refused(world: World, field: str, **kwargs: Any) -> None:
    shifts, entries = DutyShift.objects.count(), AuditEntry.objects.count()
    args = {
        "actor": world["head_a"],
        "region_code": A,
        "user": world["worker_a"],
        "starts_at": at(10, 8, 30),
        "ends_at": at(10, 17, 30),
        **kwargs,
    }
    with pytest.raises(ValidationError) as caught:
        duty.shift_add(**args)
    assert field in caught.value.message_dict, caught.value
    assert DutyShift.objects.count() == shifts and AuditEntry.objects.count() == entries


@pytest.mark.django_db
def test_bad_shifts_are_refused_and_change_nothing(week: World) -> None:
    # Overlapping the same person's shift (also partly, also a night shift).
    _refused(week, "user", user=week["worker_a"], starts_at=at(8, 17), ends_at=at(8, 20))
    _refused(week, "user", user=week["grid_a"], starts_at=at(9, 8), ends_at=at(9, 9))
    # A resident, a head of the sibling community, someone of the sibling street.
    for who in ("resident", "head_b", "outsider", "dept"):
        _refused(week, "user", user=week[who])
    # Ends before it starts, or when it starts; longer than 7 days; wholly in the past.
    _refused(week, "end", starts_at=at(10, 17, 30), ends_at=at(10, 8, 30))
    _refused(week, "end", starts_at=at(10, 8), ends_at=at(10, 8))
    _refused(week, "end", starts_at=at(10, 8), ends_at=at(17, 8, 1))
    _refused(week, "day", starts_at=at(6, 8), ends_at=at(7, 9, 59))
    # A note too long; a region that keeps no roster (a grid).
    _refused(week, "note", note="长" * 41)
    _refused(week, "region", region_code=A + "001")


@pytest.mark.django_db
def test_who_may_be_on_duty(week: World) -> None:
    staff = set(duty.duty_staff(region_code=A))
    assert staff == {week[p] for p in ("grid_a", "grid_b", "worker_a", "head_a", "street")}
    # The street's roster: the street officer and everyone below it, nobody of the sibling street.
    assert set(duty.duty_staff(region_code=STREET)) == staff | {week["head_b"]}
    # The street officer above the community may stand a night there; a shift already running is fine.
    add(week, "street", at(7, 9), at(7, 18))
    assert duty.on_duty(region_code=A, at=NOW) == [week["street"]]
    # The same person may be on the street's roster at the same time (another roster).
    add(week, "street", at(7, 9), at(7, 18), actor="street", region=STREET)


@pytest.mark.django_db
def test_writes_are_audited(week: World) -> None:
    shift = DutyShift.objects.get(user=week["worker_a"])
    entry = AuditEntry.objects.get(action="core.duty_shift_add", object_id=str(shift.pk))
    assert entry.actor_id == week["head_a"].pk and entry.region_code == A
    assert entry.result == AuditResult.SUCCESS and entry.detail["user"] == week["worker_a"].pk
    duty.shift_remove(actor=week["head_a"], shift=shift)
    assert not DutyShift.objects.filter(pk=shift.pk).exists()
    assert AuditEntry.objects.filter(action="core.duty_shift_remove", object_id=str(shift.pk)).count() == 1
    duty.fallback_set(actor=week["street"], region_code=A, user=week["head_a"])
    entry = AuditEntry.objects.get(action="core.duty_fallback_set")
    assert entry.actor_id == week["street"].pk and entry.detail == {"user": week["head_a"].pk}
    with pytest.raises(ValidationError):
        duty.shift_remove(actor=week["head_a"], shift=shift)  # already gone


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona", ["grid_a", "resident", "head_b", "outsider", "dept", "sysadmin", "nobody"]
)
def test_refusals_are_audited_and_change_nothing(week: World, persona: str) -> None:
    actor = week[persona]
    shift = DutyShift.objects.get(user=week["worker_a"])
    calls = {
        "core.duty_shift_add": lambda: duty.shift_add(
            actor=actor, region_code=A, user=week["worker_a"], starts_at=at(10, 8), ends_at=at(10, 9)
        ),
        "core.duty_shift_remove": lambda: duty.shift_remove(actor=actor, shift=shift),
        "core.duty_fallback_set": lambda: duty.fallback_set(actor=actor, region_code=A, user=week["head_a"]),
        "core.duty_copy_week": lambda: duty.shifts_copy_week(
            actor=actor, region_code=A, from_monday=date(2026, 12, 7), to_monday=date(2026, 12, 14)
        ),
    }
    for action, call in calls.items():
        with pytest.raises(PermissionDenied):
            call()
        entry = AuditEntry.objects.filter(action=action).order_by("-id").first()
        assert entry is not None and entry.result == AuditResult.DENIED, (persona, action)
        assert entry.actor_id == actor.pk and entry.region_code == A
    assert DutyShift.objects.count() == 2 and not DutyFallback.objects.exists()


@pytest.mark.django_db
def test_copy_week_skips_overlaps(week: World, clock: Any) -> None:
    add(week, "head_a", at(11, 9), at(11, 12))  # Friday
    # Next week grid_a already has Tuesday evening: the copied night shift would overlap it.
    add(week, "grid_a", at(15, 19), at(15, 22))
    result = duty.shifts_copy_week(
        actor=week["worker_a"], region_code=A, from_monday=date(2026, 12, 7), to_monday=date(2026, 12, 14)
    )
    assert (result.copied, result.skipped) == (2, 1)
    copied = DutyShift.objects.filter(starts_at__gte=at(14, 0)).order_by("starts_at")
    assert [(s.user, s.starts_at, s.ends_at) for s in copied] == [
        (week["worker_a"], at(15, 8, 30), at(15, 17, 30)),
        (week["grid_a"], at(15, 19), at(15, 22)),
        (week["head_a"], at(18, 9), at(18, 12)),
    ]
    entry = AuditEntry.objects.get(action="core.duty_copy_week")
    assert entry.detail["copied"] == 2 and entry.detail["skipped"] == 1
    # Copying again adds nothing: every copy would overlap itself.
    again = duty.shifts_copy_week(
        actor=week["head_a"], region_code=A, from_monday=date(2026, 12, 7), to_monday=date(2026, 12, 14)
    )
    assert (again.copied, again.skipped) == (0, 3)
    # Copying into a week already over copies nothing; a date that is no Monday is refused.
    clock.now = at(30, 12)
    assert duty.shifts_copy_week(
        actor=week["head_a"], region_code=A, from_monday=date(2026, 12, 14), to_monday=date(2026, 12, 21)
    ) == duty.CopyResult(copied=0, skipped=3)
    with pytest.raises(ValidationError) as caught:
        duty.shifts_copy_week(
            actor=week["head_a"], region_code=A, from_monday=date(2026, 12, 8), to_monday=date(2026, 12, 14)
        )
    assert "from_monday" in caught.value.message_dict


@pytest.mark.django_db
def test_roster_shows_shifts_and_gaps_in_the_viewers_scope(week: World) -> None:
    duty.fallback_set(actor=week["head_a"], region_code=A, user=week["head_a"])
    plan = duty.roster(viewer=week["worker_a"], region_code=A, start=date(2026, 12, 8), days=2)
    assert [s.user for s in plan.shifts] == [week["worker_a"], week["grid_a"]]
    assert [(g.starts_at, g.ends_at) for g in plan.gaps] == [
        (at(8, 0), at(8, 8, 30)),
        (at(9, 8, 30), at(10, 0)),
    ]
    assert plan.fallback is not None and plan.fallback_active
    tuesday, wednesday = plan.days
    assert [(e.shift is None, e.start_label, e.end_label) for e in tuesday.entries] == [
        (True, "00:00", "08:30"),
        (False, "08:30", "17:30"),
        (False, "17:30", "次日 08:30"),
    ]
    # The night shift shows again on Wednesday morning, without a second remove button.
    night = wednesday.entries[0]
    assert night.shift is not None and night.shift.user == week["grid_a"] and not night.first
    assert night.start_label == "前一日 17:30" and wednesday.entries[1].end_label == "24:00"
    # The street officer above reads it; the sibling community, the other street and a resident do not.
    assert duty.roster(viewer=week["street"], region_code=A, start=date(2026, 12, 8)).shifts
    for persona in ("head_b", "outsider", "resident", "grid_a", "nobody"):
        with pytest.raises(Http404):
            duty.roster(viewer=week[persona], region_code=A, start=date(2026, 12, 8))
    with pytest.raises(Http404):
        duty.roster(viewer=week["head_a"], region_code=A + "001", start=date(2026, 12, 8))  # a grid


@pytest.mark.django_db
def test_on_duty_asks_a_few_queries(week: World, django_assert_max_num_queries: Any) -> None:
    duty.fallback_set(actor=week["head_a"], region_code=A, user=week["head_a"])
    with django_assert_max_num_queries(1):
        duty.on_duty(region_code=A, at=at(9, 3))
    with django_assert_max_num_queries(3):
        duty.on_duty(region_code=A, at=at(9, 12))


@pytest.mark.django_db
def test_demo_rosters_name_someone_at_every_hour(world: World, clock: Any) -> None:
    from shequ.demo.duty import generate_duty

    summary = generate_duty(communities=[A, B])
    # Yesterday's shifts are over at 10:00; today's day shift runs: 14 days × 2 per community.
    assert summary.shifts == 2 * 28 and summary.fallbacks == 2
    assert generate_duty(communities=[A, B]).shifts == 0  # a second run adds nothing
    for hour in range(14 * 24 - 2):  # to the last night shift's end, 08:30 in 14 days
        t = NOW + timedelta(hours=hour)
        for code in (A, B):
            answer = duty.duty_now(region_code=code, at=t)
            assert answer.why == "shift" and len(answer.users) == 1, (code, t)
    people = {s.user.username for s in DutyShift.objects.filter(region_code=A).select_related("user")}
    assert people == {"grid_a", "grid_b", "worker_a", "head_a"}
    assert duty.fallback_get(region_code=A).user == world["head_a"]  # type: ignore[union-attr]
    assert duty.fallback_get(region_code=B).user == world["head_b"]  # type: ignore[union-attr]


def test_demo_rotation_never_gives_one_person_two_shifts_in_a_row() -> None:
    from shequ.demo.duty import _turn

    for n in (2, 3, 4, 5, 6):
        turns = [_turn(k, n) for k in range(200)]
        assert all(a != b for a, b in itertools.pairwise(turns)), n
        if n > 2:  # everyone works days and nights
            assert {t for k, t in enumerate(turns) if k % 2 == 0} == set(range(n)), n
            assert {t for k, t in enumerate(turns) if k % 2 == 1} == set(range(n)), n
