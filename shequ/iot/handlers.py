"""The IoT app's periodic jobs (run by ``shequ worker``): the rules decided by time passing
(absence, dwell, offline), and the event table's partitions and retention.

Each job takes ``now`` so tests drive it with a fake clock.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shequ.core import outbox
from shequ.core.messaging import notify
from shequ.core.models import LEVEL_CODE_LENGTH, Channel, Region, RegionLevel
from shequ.core.outbox import handles, periodic
from shequ.core.selectors import region_staff
from shequ.iot import notices, rules, storage
from shequ.iot.events import AlertRaised
from shequ.iot.models import Alert, DeadLetter, Device, DeviceEvent, HouseActivity, RuleKind, Severity
from shequ.iot.permissions import IotPerm as P
from shequ.iot.rules import Hit
from shequ.iot.services.alerts import alert_clear_recovered, raise_hits
from shequ.registry.selectors import house_by_pk, houses_with_tag

DEAD_LETTER_KEEP_DAYS = 30


def _region_ids(codes: set[str]) -> dict[str, int]:
    return dict(Region.objects.filter(code__in=codes).values_list("code", "pk"))


def check_absence(now: dt.datetime | None = None) -> int:
    """Welfare checks: a watched house (a resident holding the rule's tag, e.g. living alone) whose
    door has been seen before but not for the rule's hours. Houses never seen are not watched: no
    device covers them, and silence there says nothing."""
    now = now or timezone.now()
    hits: list[Hit] = []
    due: list[dt.datetime] = []  # when each hit's condition first called for an alert
    for rule in rules.load([RuleKind.ABSENCE]):
        houses = houses_with_tag(region_code=rule.region_code, tag_code=rule.params["tag"])
        if not houses:
            continue
        span = dt.timedelta(hours=rule.params["hours"])
        horizon = now - span
        silent = HouseActivity.objects.filter(house_id__in=list(houses), last_at__lt=horizon)
        for activity in silent:
            hours = int((now - activity.last_at).total_seconds() // 3600)
            hits.append(
                Hit(
                    rule,
                    f"house:{activity.house_id}",
                    now,
                    float(hours),
                    _("No door activity for %(hours)d hours (last: %(last)s).")
                    % {"hours": hours, "last": timezone.localtime(activity.last_at).strftime("%m-%d %H:%M")},
                    house_id=activity.house_id,
                    region_code=houses[activity.house_id],
                    place=str(house_by_pk(activity.house_id) or ""),
                )
            )
            due.append(activity.last_at + span)
    return _raise(_not_held(hits, due), now)


def check_dwell(now: dt.datetime | None = None) -> int:
    """Vehicles in a no-parking zone (fire lane): a camera or gate of such a zone saw a plate enter
    and not leave for the rule's minutes, or reported the parking itself."""
    now = now or timezone.now()
    specs = rules.load([RuleKind.DWELL])
    if not specs:
        return 0
    zones = {d.pk: rules.device_info(d) for d in Device.objects.filter(no_parking=True, active=True)}
    hits: list[Hit] = []
    due: list[dt.datetime] = []  # when each hit's condition first called for an alert
    for rule in specs:
        covered = [d for d in zones.values() if rule.covers(d)]
        if not covered:
            continue
        window = dt.timedelta(minutes=rule.params["minutes"])
        recent = DeviceEvent.objects.filter(
            device_id__in=[d.id for d in covered],
            occurred_at__gte=now - max(window * 6, dt.timedelta(hours=12)),
            type__in=["vehicle_enter", "vehicle_leave", "enter", "exit", "fire_lane_parking"],
        ).exclude(subject_ref="")
        last = recent.values("device_id", "subject_ref", "type").annotate(at=Max("occurred_at"))
        state: dict[tuple[int, str], dict[str, dt.datetime]] = {}
        masked: dict[str, str] = {}
        for row in last:
            state.setdefault((row["device_id"], row["subject_ref"]), {})[row["type"]] = row["at"]
        for (device_id, ref), times in state.items():
            entered = max(
                [t for k, t in times.items() if k in ("vehicle_enter", "enter", "fire_lane_parking")],
                default=None,
            )
            left = max([t for k, t in times.items() if k in ("vehicle_leave", "exit")], default=None)
            if entered is None or (left is not None and left >= entered) or now - entered < window:
                continue
            if ref not in masked:
                masked[ref] = (
                    recent.filter(subject_ref=ref).values_list("subject_masked", flat=True).first() or ""
                )
            device = zones[device_id]
            minutes = int((now - entered).total_seconds() // 60)
            hits.append(
                Hit(
                    rule,
                    f"device:{device_id}",
                    now,
                    float(minutes),
                    _("Vehicle %(plate)s parked for %(minutes)d minutes.")
                    % {"plate": masked[ref], "minutes": minutes},
                    device,
                    device.house_id,
                    device.region_code,
                )
            )
            due.append(entered + window)
    return _raise(_not_held(hits, due), now)


def check_offline(now: dt.datetime | None = None) -> int:
    """Devices silent for longer than ``IOT_OFFLINE_MINUTES`` go offline; an offline rule covering
    one raises an alert once it has been silent for the rule's minutes. An offline alert whose
    device has been heard from since is cleared by the platform."""
    now = now or timezone.now()
    quiet = now - dt.timedelta(minutes=settings.IOT_OFFLINE_MINUTES)
    Device.objects.filter(online=True, last_seen_at__lt=quiet).update(online=False)
    alert_clear_recovered()  # devices heard from again since their offline alert
    hits: list[Hit] = []
    due: list[dt.datetime] = []  # when each hit's condition first called for an alert
    for rule in rules.load([RuleKind.OFFLINE]):
        span = dt.timedelta(minutes=rule.params["minutes"])
        horizon = now - span
        silent = Device.objects.filter(
            active=True, region_code__startswith=rule.region_code, last_seen_at__lt=horizon
        )
        if rule.device_kind:
            silent = silent.filter(kind=rule.device_kind)
        for d in silent:
            info = rules.device_info(d)
            assert d.last_seen_at is not None
            minutes = int((now - d.last_seen_at).total_seconds() // 60)
            hits.append(
                Hit(
                    rule,
                    f"device:{d.pk}",
                    now,
                    float(minutes),
                    _("No message for %(minutes)d minutes.") % {"minutes": minutes},
                    info,
                    info.house_id,
                    info.region_code,
                )
            )
            due.append(d.last_seen_at + span)
    return _raise(_not_held(hits, due), now)


def _not_held(hits: list[Hit], due: list[dt.datetime]) -> list[Hit]:
    """A clear holds until the condition restarts. A hit is dropped when an alert of its rule and
    origin was still being hit after this hit's condition called for an alert (``due``: the same
    silence, offline spell or parked car) and has been cleared since. New door activity then
    silence again, the device back online then offline again, or a car entering again is a new
    condition and raises a new alert."""
    pairs = list(zip(hits, due, strict=True))
    if not pairs:
        return []
    cleared: dict[tuple[int, str], dt.datetime] = {}
    keys = sorted({(h.rule.id, h.origin) for h in hits})
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        rows = (
            Alert.objects.filter(
                open=False,
                rule_id__in={r for r, _o in chunk},
                origin__in={o for _r, o in chunk},
                last_at__gte=min(due),
            )
            .values_list("rule_id", "origin")
            .annotate(last=Max("last_at"))
        )
        cleared.update({(r, o): last for r, o, last in rows})
    return [hit for hit, at in pairs if (last := cleared.get((hit.rule.id, hit.origin))) is None or last < at]


def _raise(hits: list[Hit], now: dt.datetime) -> int:
    if not hits:
        return 0
    with transaction.atomic():
        return raise_hits(hits, now=now, region_ids=_region_ids({h.region_code for h in hits}))


def _place(alert: Alert) -> str:
    device = alert.device
    parts = [device.name, device.location_note] if device is not None else []
    if alert.house_id is not None:
        house = house_by_pk(alert.house_id)
        if house is not None:
            parts.append(str(house))
    return " · ".join(dict.fromkeys(p for p in parts if p))  # the same address only once


@handles(AlertRaised)
def alert_people(event: AlertRaised) -> None:
    """In-app to the staff who handle alerts at the alert's grid and community (property managers
    of the estate included); SMS too from major severity up. Idempotent per event."""
    alert = Alert.objects.select_related("rule", "device").filter(pk=event.alert_id).first()
    if alert is None or not alert.open:
        return  # cleared before the worker got here
    code = alert.region_code
    users = region_staff(code, P.ALERT)
    community = code[: LEVEL_CODE_LENGTH[RegionLevel.COMMUNITY]]
    if community != code:
        users += region_staff(community, P.ALERT)
    if not users:
        return
    with translation.override("zh-hans"):
        notice = notices.alert_raised(alert, place=_place(alert))
    channels = (Channel.INBOX, Channel.SMS) if alert.severity >= Severity.MAJOR else (Channel.INBOX,)
    try:
        link = reverse("iot:alert", args=[alert.pk])
    except NoReverseMatch:  # the console pages are not installed (an API-only deployment)
        link = ""
    notify(
        sender=None,
        recipients=users,
        subject=notice.subject,
        body=notice.body,
        link=link,
        channels=channels,
        region_code=code,
        topic="iot.alert",
        topic_ref=str(alert.pk),
        dedupe_key=outbox.current_event_id(),
    )


@periodic("iot.absence", dt.timedelta(minutes=10))
def absence_job() -> None:
    check_absence()


@periodic("iot.dwell", dt.timedelta(minutes=1))
def dwell_job() -> None:
    check_dwell()


@periodic("iot.offline", dt.timedelta(minutes=1))
def offline_job() -> None:
    check_offline()


@periodic("iot.partitions", dt.timedelta(hours=6))
def partitions_job() -> None:
    """Next months' partitions ahead of time; months past the retention dropped; old dead letters
    trimmed (their counters stay)."""
    storage.ensure_partitions()
    storage.drop_expired()
    DeadLetter.objects.filter(
        received_at__lt=timezone.now() - dt.timedelta(days=DEAD_LETTER_KEEP_DAYS)
    ).delete()
