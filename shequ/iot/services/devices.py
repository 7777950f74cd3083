"""Devices and rules: register, retire, reset a token; create and switch rules. Audited."""

from __future__ import annotations

import hashlib
import re
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.guards import require_actor
from shequ.core.models import Region, User
from shequ.core.permissions import Viewer
from shequ.iot import rules as rules_mod
from shequ.iot.models import Device, DeviceKind, Rule, RuleKind, Severity
from shequ.iot.permissions import IotPerm as P

CODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def token_hash(token: str) -> str:
    """Device tokens are long random strings: a plain SHA-256 is enough to keep them unusable at rest."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    token = "dev_" + secrets.token_urlsafe(24)
    return token, token_hash(token)


def _text(value: Any, key: str, limit: int, *, required: bool = False) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ValidationError({key: _("This field is required.")})
    if len(text) > limit:
        raise ValidationError({key: _("At most %(n)d characters.") % {"n": limit}})
    return text


def _coordinate(value: Any, key: str, low: int, high: int) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value)).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError):
        raise ValidationError({key: _("Not a number.")}) from None
    if not low <= number <= high:
        raise ValidationError({key: _("Out of range.")})
    return number


def clean_device(
    *,
    code: Any,
    name: Any,
    kind: Any,
    vendor: Any,
    serial: Any,
    model: Any = "",
    location_note: Any = "",
    latitude: Any = None,
    longitude: Any = None,
) -> dict[str, Any]:
    """The device fields checked, every problem at once (``ValidationError`` with a dict)."""
    errors: dict[str, Any] = {}
    cleaned: dict[str, Any] = {}
    checks = {
        "code": lambda: _text(code, "code", 64, required=True),
        "name": lambda: _text(name, "name", 100, required=True),
        "vendor": lambda: _text(vendor, "vendor", 50, required=True),
        "serial": lambda: _text(serial, "serial", 64, required=True),
        "model": lambda: _text(model, "model", 50),
        "location_note": lambda: _text(location_note, "location_note", 100),
        "latitude": lambda: _coordinate(latitude, "latitude", -90, 90),
        "longitude": lambda: _coordinate(longitude, "longitude", -180, 180),
    }
    for key, check in checks.items():
        try:
            cleaned[key] = check()
        except ValidationError as exc:
            errors.update(exc.error_dict)
    if "code" in cleaned and not CODE_RE.match(cleaned["code"]):
        errors["code"] = [_("Letters, digits, dot, dash and underscore only (it is part of the MQTT topic).")]
    if kind not in DeviceKind.values:
        errors["kind"] = [_("Unknown device kind.")]
    cleaned["kind"] = kind
    if errors:
        raise ValidationError(errors)
    return cleaned


def device_register(
    *,
    actor: Viewer | None,
    region: Region,
    building: Any = None,
    house: Any = None,
    key_place: Any = None,
    organization: Any = None,
    no_parking: bool = False,
    request: HttpRequest | None = None,
    **fields: Any,
) -> tuple[Device, str]:
    """Register a device; answers it and its token (shown once; only its hash is kept)."""
    require_actor(
        actor, P.MANAGE, region.code, action="iot.device_register", object_type="iot.device", request=request
    )
    cleaned = clean_device(**fields)
    outside = {
        key: _("The place lies outside the device's community.")
        if key != "organization"
        else _("The organization belongs to another community than the device's.")
        for key, place in (
            ("building", building),
            ("house", house),
            ("key_place", key_place),
            ("organization", organization),
        )
        if place is not None and not place.region_code.startswith(region.code[:12])
    }
    if outside:
        raise ValidationError(outside)
    if Device.objects.filter(code=cleaned["code"]).exists():
        raise ValidationError({"code": _("A device with this code is already registered.")})
    if Device.objects.filter(vendor=cleaned["vendor"], serial=cleaned["serial"]).exists():
        raise ValidationError(
            {"serial": _("This vendor's device with this serial number is already registered.")}
        )
    token, hashed = new_token()
    with transaction.atomic():
        device = Device.objects.create(
            region=region,
            region_code=region.code,
            building=building or (house.building if house is not None else None),
            house=house,
            key_place=key_place,
            organization=organization,
            no_parking=bool(no_parking),
            token_hash=hashed,
            mqtt_username=cleaned["code"],
            created_by=actor if isinstance(actor, User) else None,
            **cleaned,
        )
        audit.record(
            "iot.device_register",
            actor=actor,
            request=request,
            region_code=region.code,
            object_type="iot.device",
            object_id=device.pk,
        )
    return device, token


def device_token_reset(*, actor: Viewer | None, device: Device, request: HttpRequest | None = None) -> str:
    """A new token for a device (the old one stops working at once); answers it once."""
    require_actor(
        actor,
        P.MANAGE,
        device.region_code,
        action="iot.device_token",
        object_type="iot.device",
        object_id=device.pk,
        request=request,
    )
    token, hashed = new_token()
    with transaction.atomic():
        Device.objects.filter(pk=device.pk).update(token_hash=hashed)
        device.token_hash = hashed
        audit.record(
            "iot.device_token",
            actor=actor,
            request=request,
            region_code=device.region_code,
            object_type="iot.device",
            object_id=device.pk,
        )
    return token


def device_retire(*, actor: Viewer | None, device: Device, request: HttpRequest | None = None) -> Device:
    """A retired device's messages are dead-lettered; its events and alerts stay."""
    require_actor(
        actor,
        P.MANAGE,
        device.region_code,
        action="iot.device_retire",
        object_type="iot.device",
        object_id=device.pk,
        request=request,
    )
    with transaction.atomic():
        Device.objects.filter(pk=device.pk).update(active=False, online=False, token_hash="")
        device.active, device.online, device.token_hash = False, False, ""
        audit.record(
            "iot.device_retire",
            actor=actor,
            request=request,
            region_code=device.region_code,
            object_type="iot.device",
            object_id=device.pk,
        )
    return device


def rule_create(
    *,
    actor: Viewer | None,
    region: Region,
    name: Any,
    kind: Any,
    params: Any,
    device_kind: Any = "",
    severity: Any = Severity.WARNING,
    ticket_category: Any = "",
    request: HttpRequest | None = None,
) -> Rule:
    require_actor(
        actor, P.RULES, region.code, action="iot.rule_create", object_type="iot.rule", request=request
    )
    errors: dict[str, Any] = {}
    try:
        label = _text(name, "name", 100, required=True)
    except ValidationError as exc:
        errors.update(exc.error_dict)
    if kind not in RuleKind.values:
        errors["kind"] = [_("Unknown rule kind.")]
    if device_kind and device_kind not in DeviceKind.values:
        errors["device_kind"] = [_("Unknown device kind.")]
    try:
        level = int(severity)
        if level not in Severity.values:
            raise ValueError
    except (TypeError, ValueError):
        errors["severity"] = [_("Unknown severity.")]
    category = str(ticket_category or "").strip()
    if len(category) > 40:
        errors["ticket_category"] = [_("At most %(n)d characters.") % {"n": 40}]
    if errors:
        raise ValidationError(errors)
    cleaned = rules_mod.clean_params(kind, device_kind or "", params)
    with transaction.atomic():
        rule = Rule.objects.create(
            region=region,
            region_code=region.code,
            name=label,
            kind=kind,
            device_kind=device_kind or "",
            severity=level,
            params=cleaned,
            ticket_category=category,
            created_by=actor if isinstance(actor, User) else None,
        )
        audit.record(
            "iot.rule_create",
            actor=actor,
            request=request,
            region_code=region.code,
            object_type="iot.rule",
            object_id=rule.pk,
        )
    return rule


def rule_set_enabled(
    *, actor: Viewer | None, rule: Rule, enabled: bool, request: HttpRequest | None = None
) -> Rule:
    require_actor(
        actor,
        P.RULES,
        rule.region_code,
        action="iot.rule_enable",
        object_type="iot.rule",
        object_id=rule.pk,
        request=request,
    )
    with transaction.atomic():
        Rule.objects.filter(pk=rule.pk).update(enabled=bool(enabled))
        rule.enabled = bool(enabled)
        audit.record(
            "iot.rule_enable",
            actor=actor,
            request=request,
            region_code=rule.region_code,
            object_type="iot.rule",
            object_id=rule.pk,
            detail={"enabled": rule.enabled},
        )
    return rule
