"""Staff console pages about devices: the list with its counts, one device (facts, last values,
recent events, open alerts; register, reset the token, retire), and the device map with its
GeoJSON. Plus the helpers the other console modules share (``views_alerts``, ``views_rules``).

Views are thin: rows are read through ``selectors`` (404 outside the viewer's scope), writes go
through ``services``; a ``ValidationError`` re-renders the form with the message (400), a
``PermissionDenied`` (audited by the service) is the 403 page.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from shequ.core import geo, guards, maps
from shequ.core.models import Region
from shequ.core.permissions import Viewer, codes_q, has_perm, scopes_for
from shequ.iot import labels, selectors, services
from shequ.iot.forms import ConfirmForm, DeviceFilterForm, DeviceForm, TokenConfirmForm
from shequ.iot.maplayers import STATUS_LABELS, device_feature, located_devices, status_of
from shequ.iot.models import Alert, Device, DeviceKind
from shequ.iot.payloads import SCHEMAS, Silent, topic_for
from shequ.iot.permissions import IotPerm as P
from shequ.registry import selectors as registry_selectors

PAGE_SIZE = 30
EVENTS_SHOWN = 50
FORBIDDEN = "iot/console/forbidden.html"
# The core page guard with the console's 403 page: ``@iot_page(perm, methods=...)``.
iot_page = functools.partial(guards.page, template=FORBIDDEN)


# --- Shared helpers -----------------------------------------------------------------------------


def apply_errors(form: Form, exc: ValidationError, params_field: str | None = None) -> None:
    """Put a service's ValidationError on the form fields it names (others on the form itself);
    ``params_field`` takes the errors a rule service reports under ``params``."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            if name == "params" and params_field:
                name = params_field
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def page_of(request: HttpRequest, items: Any, size: int = PAGE_SIZE) -> Page:
    return Paginator(items, size).get_page(request.GET.get("page"))


def place_of(device: Device) -> str:
    """Where the device is, in words: the note, else its house, building or key place."""
    parts = [device.location_note]
    if not device.location_note:
        if device.house_id and device.house is not None:
            parts.append(device.house.address or device.house.number)
        elif device.building_id and device.building is not None:
            parts.append(device.building.address or device.building.name)
        elif device.key_place_id and device.key_place is not None:
            parts.append(device.key_place.name)
    return " ".join(p for p in parts if p)


def decorate(devices: list[Device], alerted: set[int] | None = None) -> list[Device]:
    """Devices with what the lists show: status and its words, last seen ago, battery, place."""
    now = timezone.now()
    for d in devices:
        d.status = status_of(d, alerted)  # type: ignore[attr-defined]
        d.status_label = STATUS_LABELS[d.status]()  # type: ignore[attr-defined]
        d.seen_ago = labels.ago(d.last_seen_at, now)  # type: ignore[attr-defined]
        battery = (d.last_values or {}).get("battery")
        d.battery = battery if isinstance(battery, int | float) else None  # type: ignore[attr-defined]
        d.place = place_of(d)  # type: ignore[attr-defined]
    return devices


def alerted_devices(viewer: Viewer, device_ids: list[int]) -> set[int]:
    return set(
        selectors.alert_list(viewer=viewer)
        .filter(device_id__in=device_ids)
        .values_list("device_id", flat=True)
    )


SEVERITY_TONES = {4: "bad", 3: "bad", 2: "warn", 1: ""}


def with_alert_words(alerts: list[Alert]) -> list[Alert]:
    now = timezone.now()
    for a in alerts:
        a.tone = SEVERITY_TONES.get(a.severity, "")  # type: ignore[attr-defined]
        a.last_ago = labels.ago(a.last_at, now)  # type: ignore[attr-defined]
        a.place = place_of(a.device) if a.device is not None else ""  # type: ignore[attr-defined]
        a.state_label = labels.ALERT_STATE_LABELS.get(a.state, a.state)  # type: ignore[attr-defined]
        a.detail_words = labels.alert_detail(a.detail, a.rule.kind)  # type: ignore[attr-defined]
    return alerts


# --- The device list ----------------------------------------------------------------------------


@iot_page(P.VIEW)
def device_list(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    form = DeviceFilterForm(request.GET or None, viewer=viewer)
    kind = status = region_code = None
    if form.is_bound and form.is_valid():
        kind = form.cleaned_data["kind"] or None
        status = form.cleaned_data["status"] or None
        region = form.cleaned_data["region"]
        region_code = region.code if region else None
    bad = form.is_bound and not form.is_valid()
    qs = selectors.device_list(viewer=viewer, region_code=region_code, kind=kind, status=status)
    if status is None:
        qs = qs.filter(active=True)
    if bad:
        qs = qs.none()
    page = page_of(request, qs.select_related("region", "house", "building", "key_place"))
    devices = list(page.object_list)
    decorate(devices, alerted_devices(viewer, [d.pk for d in devices]))
    context = {
        "form": form,
        "page": page,
        "devices": devices,
        "counts": selectors.device_counts(viewer=viewer, region_code=region_code),
        "can_manage": has_perm(viewer, P.MANAGE),
    }
    return render(request, "iot/console/devices.html", context, status=400 if bad else 200)


# --- One device ---------------------------------------------------------------------------------


def event_rows(events: list[Any], kinds: dict[int, str]) -> list[dict[str, Any]]:
    """Events as the pages show them: time, what, details; access records say whose credential
    (masked) and whether it is a registered resident's, never who."""
    rows = []
    for e in events:
        rows.append(
            {
                "at": e.occurred_at,
                "channel": e.channel,
                "what": labels.event_label(e.type),
                "details": labels.event_in_words(e.data or {}, kinds.get(e.device_id, "")),
                "subject": e.subject_masked,
                "resident": e.person_id is not None,
                "device_id": e.device_id,
            }
        )
    return rows


def _device_context(request: HttpRequest, device: Device, **extra: Any) -> dict[str, Any]:
    viewer = request.user
    events = selectors.event_list(viewer=viewer, device=device, limit=EVENTS_SHOWN, request=request)
    decorate([device], alerted_devices(viewer, [device.pk]))
    can_manage = has_perm(viewer, P.MANAGE, device.region_code)
    open_alerts = selectors.alert_list(viewer=viewer).filter(device_id=device.pk)
    return {
        "device": device,
        "values": labels.values_in_words(device.last_values or {}, device.kind),
        "events": event_rows(events, {device.pk: device.kind}),
        "alerts": with_alert_words(list(open_alerts[:20])),
        "can_manage": can_manage,
        "sees_access": has_perm(viewer, P.ACCESS, device.region_code),
        "access_kind": device.kind in (DeviceKind.DOOR, DeviceKind.GATE, DeviceKind.CAMERA),
        "retire_form": extra.pop("retire_form", None) or ConfirmForm(prefix="retire"),
        "token_form": extra.pop("token_form", None) or TokenConfirmForm(prefix="token"),
        "topics": topics(device),
        **extra,
    }


def topics(device: Device) -> list[str]:
    return [topic_for(device.region_code, device.kind, device.code, ch) for ch in channels_of(device.kind)]


def channels_of(kind: str) -> list[str]:
    """The channels a kind sends on (payloads.SCHEMAS): heartbeat always, then event/telemetry."""
    return [ch for ch in ("event", "telemetry", "heartbeat") if SCHEMAS[(kind, ch)] is not Silent]


@iot_page(P.VIEW)
def device_detail(request: HttpRequest, pk: int) -> HttpResponse:
    device = selectors.get_device_for(request.user, pk)
    return render(request, "iot/console/device.html", _device_context(request, device))


def _token_page(request: HttpRequest, device: Device, token: str, *, new: bool) -> HttpResponse:
    """The token, shown this once (only its hash is kept), with the topics and the HTTP address."""
    context = {
        "device": device,
        "token": token,
        "new": new,
        "topics": topics(device),
        "ingest_url": request.build_absolute_uri(f"/api/v1/iot/ingest/{device.code}/"),
    }
    return render(request, "iot/console/device_token.html", context)


@iot_page(P.MANAGE, methods=("GET", "POST"))
def device_new(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    form = DeviceForm(request.POST if request.method == "POST" else None, viewer=viewer)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        region: Region = data["region"]
        places: dict[str, Any] = {}
        lookups = {
            "house": (registry_selectors.get_house_for, _("No house with this number in your area.")),
            "organization": (
                registry_selectors.get_organization_for,
                _("No such organization in your area."),
            ),
            "key_place": (registry_selectors.get_key_place_for, _("No such key place in your area.")),
        }
        for name, (get_for, missing) in lookups.items():
            if data[name]:
                try:
                    places[name] = get_for(viewer, data[name])
                except Http404:
                    form.add_error(name, missing)
        if form.is_valid():
            try:
                device, token = services.device_register(
                    actor=viewer,
                    region=region,
                    no_parking=data["no_parking"],
                    **places,
                    request=request,
                    **{
                        k: data[k]
                        for k in (
                            "code",
                            "name",
                            "kind",
                            "vendor",
                            "serial",
                            "model",
                            "location_note",
                            "latitude",
                            "longitude",
                        )
                    },
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                return _token_page(request, device, token, new=True)
    status = 400 if form.is_bound else 200
    return render(request, "iot/console/device_new.html", {"form": form}, status=status)


@iot_page(P.VIEW, methods=("POST",))
def device_token(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request.user
    device = selectors.get_device_for(viewer, pk)
    guards.require(request, P.MANAGE, device.region_code)
    if not device.active:
        context = _device_context(request, device, failed=_("A retired device gets no new token."))
        return render(request, "iot/console/device.html", context, status=400)
    form = TokenConfirmForm(request.POST, prefix="token")
    if not form.is_valid():
        context = _device_context(request, device, token_form=form, token_open=True)
        return render(request, "iot/console/device.html", context, status=400)
    token = services.device_token_reset(actor=viewer, device=device, request=request)
    return _token_page(request, device, token, new=False)


@iot_page(P.VIEW, methods=("POST",))
def device_retire(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request.user
    device = selectors.get_device_for(viewer, pk)
    guards.require(request, P.MANAGE, device.region_code)
    if not device.active:
        context = _device_context(request, device, failed=_("This device is already retired."))
        return render(request, "iot/console/device.html", context, status=400)
    form = ConfirmForm(request.POST, prefix="retire")
    if not form.is_valid():
        context = _device_context(request, device, retire_form=form, retire_open=True)
        return render(request, "iot/console/device.html", context, status=400)
    services.device_retire(actor=viewer, device=device, request=request)
    messages.success(request, _("The device is retired; its messages are refused from now on."))
    return redirect("iot:device", pk=device.pk)


# --- The device map -----------------------------------------------------------------------------


def area_for(viewer: Viewer, code: str) -> list[Region]:
    """The region asked for (404 outside the viewer's scope) or the viewer's own regions."""
    scopes = scopes_for(viewer, P.VIEW)
    code = code.strip()
    if code:
        if not code.isdigit() or not any(code.startswith(c) for c in scopes):
            raise Http404
        region = Region.objects.filter(code=code).first()
        if region is None:
            raise Http404
        return [region]
    return list(Region.objects.filter(code__in=scopes).order_by("code"))


def map_devices(viewer: Viewer, area: list[Region]) -> tuple[list[Device], int, bool]:
    """The area's active devices with a point (status set, open alerts first), how many have none,
    and whether the list was cut at ``MAX_POINTS`` (``maplayers.located_devices``)."""
    codes = [r.code for r in area]
    shown, cut = located_devices(viewer, codes)
    devices = decorate([d for _status, d in shown], {d.pk for status, d in shown if status == "alert"})
    without = (
        selectors.device_list(viewer=viewer)
        .filter(codes_q(codes), active=True, latitude__isnull=True)
        .count()
    )
    return devices, without, cut


@iot_page(P.VIEW)
def map_data(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    area = area_for(viewer, request.GET.get("region", ""))
    devices, _without, _cut = map_devices(viewer, area)
    features = [
        *maps.region_features(area, {r.code: {"focus": True} for r in area}),
        *[device_feature(d, d.status) for d in devices],  # type: ignore[attr-defined]
    ]
    return JsonResponse(geo.collection(features), content_type="application/geo+json")


@iot_page(P.VIEW)
def map_page(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    code = request.GET.get("region", "").strip()
    area = area_for(viewer, code)
    devices, without, cut = map_devices(viewer, area)
    counts = {s: 0 for s in ("alert", "offline", "online")}
    for d in devices:
        counts[d.status] = counts.get(d.status, 0) + 1  # type: ignore[attr-defined]
    query = "?" + urlencode({"region": code}) if code else ""
    config = {
        **maps.map_settings(),
        "sources": [{"url": reverse("iot:map_data") + query}],
        "text": {
            "open_device": _("Open the device"),
            "details": _("Details"),
            "ready": _("The map is drawn."),
        },
    }
    context = {
        "area": area,
        "devices": devices,
        "without_point": without,
        "truncated": cut,
        "legend": [(s, STATUS_LABELS[s](), counts[s]) for s in ("alert", "offline", "online")],
        "map_config": config,
    }
    return maps.allow_tiles(render(request, "iot/console/map.html", context))
