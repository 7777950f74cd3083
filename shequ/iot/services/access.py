"""Access control: residents' credentials (cards, plates), visitor passes and their checks.

A credential is kept as the ingester looks it up — ``crypto.blind_index(value, "iot_<kind>")`` —
plus a masked form; the clear card number or plate is never stored. A visitor pass is given by a
resident for the house they live in (the account is linked to its registry person by the mobile
number, ``registry.selectors.person_for_account``); a guard or a gate controller checks its code.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shequ.core import audit, crypto
from shequ.core.guards import require_actor
from shequ.core.models import AuditResult, Role, User
from shequ.core.permissions import Viewer, active_memberships, has_perm
from shequ.core.text import clean_text
from shequ.iot import ingest
from shequ.iot.models import AccessCredential, CredentialKind, Device, PassCheck, VisitorPass
from shequ.iot.permissions import IotPerm as P

# 湘A12345 (7) or a new-energy plate 湘AD12345 (8); letters I and O are not used on plates.
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE = re.compile(
    rf"^[{PROVINCES}][A-HJ-NP-Z](?:[A-HJ-NP-Z0-9]{{5}}|[A-HJ-NP-Z0-9]{{6}}|[A-HJ-NP-Z0-9]{{4}}[挂学])$"
)
_CARD = re.compile(r"^[0-9]{4,20}$")
# Pass codes: no 0/O, 1/I/L look-alikes, so a code read aloud or typed from a photo is unambiguous.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
PASS_MAX_DAYS = 7
PASS_MAX_USES = 20
PASS_PAST_SLACK = dt.timedelta(minutes=10)


def clean_credential(kind: Any, value: Any) -> tuple[str, str]:
    """The kind and the normalized value (``crypto.normalize``: what the index is taken of)."""
    if kind not in CredentialKind.values:
        raise ValidationError({"kind": _("Choose a card or a plate.")})
    text = crypto.normalize(str(value or "").strip())
    if not text:
        raise ValidationError({"value": _("This field is required.")})
    if kind == CredentialKind.PLATE and not _PLATE.match(text):
        raise ValidationError(
            {"value": _("Not a plate number: write it like 湘A12345, or 湘AD12345 for a new-energy car.")}
        )
    if kind == CredentialKind.CARD and not _CARD.match(text):
        raise ValidationError({"value": _("A card number is 4 to 20 digits.")})
    return kind, text


def credential_index(kind: str, value: str) -> str:
    """The same index the ingester computes for a door or gate event (``ingest.Pipeline._subject``)."""
    return crypto.blind_index(value, f"iot_{kind}")


def credential_register(
    *,
    actor: Viewer | None,
    person: Any,
    kind: Any,
    value: Any,
    house: Any = None,
    request: HttpRequest | None = None,
) -> AccessCredential:
    """Register a resident's card or plate so door and gate events name them. ``house`` defaults to
    the person's home; a card or plate already registered to anyone is refused."""
    require_actor(
        actor,
        P.MANAGE,
        person.region_code,
        action="iot.credential_register",
        object_type="registry.person",
        object_id=person.pk,
        request=request,
    )
    kind, text = clean_credential(kind, value)
    house = house if house is not None else person.house
    if house is not None and not house.region_code.startswith(person.region_code[:12]):
        raise ValidationError({"house": _("The house lies outside the person's community.")})
    index = credential_index(kind, text)
    duplicate = (
        _("This card is already registered.") if kind == "card" else _("This plate is already registered.")
    )
    if AccessCredential.objects.filter(kind=kind, value_index=index, active=True).exists():
        raise ValidationError({"value": duplicate})
    try:
        with transaction.atomic():
            credential = AccessCredential.objects.create(
                kind=kind,
                value_index=index,
                masked=ingest.mask_credential(kind, text),
                person=person,
                house=house,
                region_id=person.region_id,
                region_code=person.region_code,
                created_by=actor if isinstance(actor, User) else None,
            )
            audit.record(
                "iot.credential_register",
                actor=actor,
                request=request,
                region_code=person.region_code,
                object_type="registry.person",
                object_id=person.pk,
                fields=["credential"],
                detail={"credential": credential.pk, "kind": kind, "masked": credential.masked},
            )
    except IntegrityError:  # registered by someone else between the check and the insert
        raise ValidationError({"value": duplicate}) from None
    return credential


def credential_revoke(
    *, actor: Viewer | None, credential: AccessCredential, request: HttpRequest | None = None
) -> AccessCredential:
    """A lost card or a sold car: later events no longer name the person (within the ingester's
    30-second cache refresh)."""
    require_actor(
        actor,
        P.MANAGE,
        credential.region_code,
        action="iot.credential_revoke",
        object_type="registry.person",
        object_id=credential.person_id,
        request=request,
    )
    with transaction.atomic():
        changed = AccessCredential.objects.filter(pk=credential.pk, active=True).update(active=False)
        credential.active = False
        if changed:
            audit.record(
                "iot.credential_revoke",
                actor=actor,
                request=request,
                region_code=credential.region_code,
                object_type="registry.person",
                object_id=credential.person_id,
                fields=["credential"],
                detail={"credential": credential.pk, "kind": credential.kind, "masked": credential.masked},
            )
    return credential


# --- Visitor passes ---------------------------------------------------------------------------


def pass_houses(user: Viewer) -> list[Any]:
    """The houses where ``user`` may give visitor passes: the home of the registry person the
    account belongs to, inside the account's resident regions (empty when the account is linked to
    no single registered person: the community registers the resident's mobile number first)."""
    from shequ.registry.selectors import person_for_account

    codes = [m.region_code for m in active_memberships(user) if m.role == Role.RESIDENT]
    codes = [c for c in codes if has_perm(user, P.PASS, c)]
    person = person_for_account(user, codes) if codes else None
    return [person.house] if person is not None and person.house is not None else []


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if not VisitorPass.objects.filter(code=code).exists():
            return code


def visitor_pass_create(
    *,
    actor: User,
    house: Any,
    visitor_name: Any,
    valid_from: dt.datetime,
    valid_until: dt.datetime,
    max_uses: Any = 1,
    plate: Any = "",
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> VisitorPass:
    """A resident's pass for a visitor to their own house: at most 7 days, at most 20 entries."""
    require_actor(
        actor,
        P.PASS,
        house.region_code,
        action="iot.pass_create",
        object_type="registry.house",
        request=request,
    )
    if house.pk not in {h.pk for h in pass_houses(actor)}:
        audit.record(
            "iot.pass_create",
            actor=actor,
            request=request,
            region_code=house.region_code,
            object_type="registry.house",
            object_id=house.pk,
            result=AuditResult.DENIED,
            detail={"why": "not the resident's home"},
        )
        raise PermissionDenied(_("You can give passes only for the house you live in."))
    now = now or timezone.now()
    errors: dict[str, Any] = {}
    try:
        name = clean_text(visitor_name, field="visitor_name")
        if not name:
            errors["visitor_name"] = [_("This field is required.")]
        elif len(name) > 50:
            errors["visitor_name"] = [_("At most %(n)d characters.") % {"n": 50}]
    except ValidationError as exc:
        errors.update(exc.message_dict)
    plate_text = crypto.normalize(str(plate or "").strip())
    if plate_text and not _PLATE.match(plate_text):
        errors["plate"] = [
            _("Not a plate number: write it like 湘A12345, or 湘AD12345 for a new-energy car.")
        ]
    if valid_from < now - PASS_PAST_SLACK:
        errors["valid_from"] = [_("The pass cannot start in the past.")]
    if valid_until <= valid_from:
        errors["valid_until"] = [_("The end must come after the start.")]
    elif valid_until - valid_from > dt.timedelta(days=PASS_MAX_DAYS):
        errors["valid_until"] = [_("A pass is valid for at most %(n)d days.") % {"n": PASS_MAX_DAYS}]
    try:
        uses = int(max_uses)
        if not 1 <= uses <= PASS_MAX_USES:
            raise ValueError
    except (TypeError, ValueError):
        errors["max_uses"] = [_("Between 1 and %(n)d entries.") % {"n": PASS_MAX_USES}]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        visitor_pass = VisitorPass.objects.create(
            code=_new_code(),
            house=house,
            region_id=house.region_id,
            region_code=house.region_code,
            host=actor,
            visitor_name=name,
            plate_masked=ingest.mask_credential("plate", plate_text) if plate_text else "",
            plate_index=credential_index("plate", plate_text) if plate_text else "",
            valid_from=valid_from,
            valid_until=valid_until,
            max_uses=uses,
        )
        audit.record(
            "iot.pass_create",
            actor=actor,
            request=request,
            region_code=house.region_code,
            object_type="iot.visitor_pass",
            object_id=visitor_pass.pk,
            detail={"house": house.pk, "until": valid_until.isoformat(), "uses": uses},
        )
    return visitor_pass


def visitor_pass_revoke(
    *, actor: User, visitor_pass: VisitorPass, request: HttpRequest | None = None
) -> VisitorPass:
    """Only the resident who gave the pass revokes it."""
    if visitor_pass.host_id != actor.pk:
        audit.record(
            "iot.pass_revoke",
            actor=actor,
            request=request,
            region_code=visitor_pass.region_code,
            object_type="iot.visitor_pass",
            object_id=visitor_pass.pk,
            result=AuditResult.DENIED,
        )
        raise PermissionDenied(_("Only the resident who gave this pass can revoke it."))
    with transaction.atomic():
        now = timezone.now()
        if VisitorPass.objects.filter(pk=visitor_pass.pk, revoked_at__isnull=True).update(revoked_at=now):
            visitor_pass.revoked_at = now
            audit.record(
                "iot.pass_revoke",
                actor=actor,
                request=request,
                region_code=visitor_pass.region_code,
                object_type="iot.visitor_pass",
                object_id=visitor_pass.pk,
            )
    return visitor_pass


# Why a pass is refused (PassCheck.reason) and what the guard reads.
REFUSALS: dict[str, Any] = {
    "unknown": gettext_lazy("No such pass code"),
    "wrong_place": gettext_lazy("Not a pass for this community"),
    "revoked": gettext_lazy("Revoked"),
    "not_yet": gettext_lazy("Not valid yet"),
    "expired": gettext_lazy("Expired"),
    "used_up": gettext_lazy("All entries used"),
}


@dataclass
class CheckResult:
    allowed: bool
    reason: str  # "" when allowed, else a REFUSALS key
    visitor_pass: VisitorPass | None
    check: PassCheck

    @property
    def message(self) -> str:
        return str(_("Allowed") if self.allowed else REFUSALS[self.reason])


def clean_code(text: Any) -> str:
    """What a guard types or a scanner reads: the code, or the gate-page link the QR holds."""
    raw = str(text or "").strip()
    if "code=" in raw:
        found = parse_qs(urlsplit(raw).query).get("code", [""])
        raw = found[0]
    return crypto.normalize(raw)[:12]


def refusal(vp: VisitorPass, now: dt.datetime) -> str:
    """Why the pass would be refused at ``now`` ("" when it is valid), before the place is checked."""
    if vp.revoked_at is not None:
        return "revoked"
    if now < vp.valid_from:
        return "not_yet"
    if now >= vp.valid_until:
        return "expired"
    if vp.uses >= vp.max_uses:
        return "used_up"
    return ""


def pass_check(
    *,
    code: Any,
    actor: Viewer | None = None,
    device: Device | None = None,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> CheckResult:
    """Check a pass code at a gate: by a guard (``actor`` with ``iot.guard`` where the pass's house
    is) or by a gate controller (``device``, whose community must hold the house). An allowed check
    uses one entry. Every check is recorded (``PassCheck``); a guard's is audited as well, since the
    guard reads the visitor's name."""
    if device is None and actor is None:
        raise ValueError("a pass is checked by a guard or a device")
    now = now or timezone.now()
    text = clean_code(code)
    if device is None and not has_perm(actor, P.GUARD):
        audit.record(
            "iot.pass_check",
            actor=actor,
            request=request,
            object_type="iot.visitor_pass",
            result=AuditResult.DENIED,
            detail={"why": f"no {P.GUARD}"},
        )
        raise PermissionDenied(_("You may not check visitor passes."))
    vp = VisitorPass.objects.select_related("house").filter(code=text).first() if text else None
    if vp is None:
        reason = "unknown"
    elif device is not None:
        reason = "" if vp.region_code.startswith(device.region_code[:12]) else "wrong_place"
    else:
        reason = "" if has_perm(actor, P.GUARD, vp.region_code) else "wrong_place"
    if vp is not None and not reason:
        reason = refusal(vp, now)
    with transaction.atomic():
        if vp is not None and not reason:
            used = VisitorPass.objects.filter(
                pk=vp.pk, revoked_at__isnull=True, uses__lt=F("max_uses")
            ).update(uses=F("uses") + 1)
            if used:
                vp.uses += 1
            else:  # the last entry was taken by another gate a moment ago
                reason = "used_up"
        known = vp is not None and reason != "wrong_place"
        region_code = vp.region_code if known and vp else _checker_region(actor, device)
        check = PassCheck.objects.create(
            visitor_pass=vp if known else None,
            code=text[:12],
            region_code=region_code,
            checked_by=actor if isinstance(actor, User) else None,
            device=device,
            at=now,
            allowed=not reason,
            reason=reason,
        )
        if device is None:
            audit.record(
                "iot.pass_check",
                actor=actor,
                request=request,
                region_code=region_code,
                object_type="iot.visitor_pass",
                object_id=vp.pk if known and vp else "",
                result=AuditResult.SUCCESS,
                detail={"allowed": not reason, "reason": reason},
            )
    return CheckResult(not reason, reason, vp if known else None, check)


def _checker_region(actor: Viewer | None, device: Device | None) -> str:
    if device is not None:
        return device.region_code
    codes = sorted(
        (m.region_code for m in active_memberships(actor) if has_perm(actor, P.GUARD, m.region_code)), key=len
    )
    return codes[0] if codes else ""
