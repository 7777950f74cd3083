"""Applications: taken online, at a kiosk, at the counter or at home (帮办代办), then accepted or
returned for missing materials, forwarded to the department, decided, delivered and closed.

Who may do each step:
- the applicant (their account) submits online, resubmits after a return and withdraws;
- community staff (``govservice.handle`` in the region) accept, return, reject, forward, decide the
  items the community is authorized for, deliver and close on receipt (即收即办);
- ``govservice.assist`` applies on a resident's behalf, with the resident's consent;
- the department's staff decide what was forwarded to it, or return it for missing materials.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from shequ.core.models import Department, Region, User
from shequ.core.permissions import Viewer, has_perm
from shequ.core.personal import clean_mobile
from shequ.core.sealed_files import open_sealed, seal_upload
from shequ.govservice import materials as material_kinds
from shequ.govservice.models import (
    Application,
    Channel,
    Consent,
    Delivery,
    MaterialFile,
    Mode,
    Outcome,
    ServiceItem,
    Status,
)
from shequ.govservice.permissions import GovPerm as P
from shequ.govservice.services import _common as c
from shequ.registry import prefill

# How a material was provided.
REGISTRY = "registry"
UPLOAD = "upload"
PAPER = "paper"
MISSING = "missing"

MAX_FILES = 20
FORWARD_MODES = frozenset({Mode.ENTRUSTED, Mode.ASSISTED})
# Decided by the community itself (no department in between).
COMMUNITY_MODES = frozenset({Mode.AUTHORIZED, Mode.CONSULT})


@dataclass(frozen=True)
class Applicant:
    """Who applies: a registry person (their facts fill the materials) or, without a registry
    record, a name and a number typed at the counter."""

    facts: prefill.Facts | None = None
    name: str = ""
    phone: str = ""
    user: User | None = None


# --- Materials -----------------------------------------------------------------------------------


def _sealed_file(
    application: Application, code: str, upload: UploadedFile, actor: Viewer | None
) -> MaterialFile:
    """Keep one uploaded material: an image is re-encoded (no EXIF), a PDF kept as sent; either is
    sealed with the current field key, bound to the application and the material."""
    sealed = seal_upload(upload, aad=lambda token: _material_aad(application.pk, code, token))
    row = MaterialFile(
        application=application,
        material=code,
        token=sealed.token,
        filename=sealed.filename,
        content_type=sealed.content_type,
        size=sealed.size,
        key_id=sealed.key_id,
        uploaded_by=actor if isinstance(actor, User) else None,
    )
    row.file.save(f"{sealed.token}.bin", sealed.content, save=False)
    row.save()
    return row


def open_file(row: MaterialFile) -> bytes:
    """The material's content (the caller has checked the reader may see the application)."""
    return open_sealed(row.file, row.key_id, _material_aad(row.application_id, row.material, row.token))


def _material_aad(application_id: int, code: str, token: str) -> bytes:
    return f"govservice.material:{application_id}:{code}:{token}".encode()


def _material_codes(item_materials: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {str(m["code"]): m for m in item_materials}


def plan_materials(
    item: ServiceItem, facts: prefill.Facts | None, *, uploaded: Sequence[str] = (), paper: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Each material of the item and how it is provided: from the registry when it holds the fact,
    else uploaded, brought on paper, or still missing. Registry values are masked texts."""
    rows: list[dict[str, Any]] = []
    for m in item.materials:
        code = str(m["code"])
        value = facts.get(str(m.get("source") or "")) if facts is not None and m.get("source") else ""
        if value:
            how = REGISTRY
        elif code in uploaded:
            how = UPLOAD
        elif code in paper:
            how = PAPER
        else:
            how = MISSING
        rows.append(
            {
                "code": code,
                "name": m.get("name", ""),
                "name_zh": m.get("name_zh", ""),
                "required": bool(m.get("required", True)),
                "source": m.get("source", ""),
                "how": how,
                "value": value,
            }
        )
    return rows


def missing_required(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in rows if r["required"] and r["how"] == MISSING]


def _missing_error(rows: Sequence[Mapping[str, Any]], *, at_counter: bool) -> ValidationError:
    names = "、".join(material_kinds.label(dict(r)) for r in rows)
    if at_counter:
        return ValidationError(
            {"materials": _("Still missing: %(names)s. Tick what the resident brought.") % {"names": names}}
        )
    return ValidationError({"materials": _("Please add: %(names)s.") % {"names": names}})


def clean_answers(item: ServiceItem, answers: Mapping[str, Any]) -> dict[str, str]:
    """The online form's answers, checked against the item's form (unknown fields are dropped)."""
    cleaned: dict[str, str] = {}
    errors: dict[str, str] = {}
    for f in item.form:
        name = str(f["name"])
        label = str(f.get("label_zh") or f.get("label") or name)
        raw = answers.get(f"answer_{name}", answers.get(name, ""))
        value = c.text(raw, name, 500)
        if not value:
            if f.get("required", True):
                errors[f"answer_{name}"] = _("%(label)s is required.") % {"label": label}
            continue
        if f.get("kind") == "number" and (not value.isdigit() or not 0 < int(value) <= 1000):
            errors[f"answer_{name}"] = _("%(label)s must be a whole number.") % {"label": label}
            continue
        if f.get("kind") == "choice" and value not in list(f.get("choices") or []):
            errors[f"answer_{name}"] = _("Choose one of the options for %(label)s.") % {"label": label}
            continue
        cleaned[name] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def check_eligibility(item: ServiceItem, facts: prefill.Facts | None) -> None:
    """Refuse only what the registry shows for certain (an age below the item's); a fact the
    registry lacks is proven by a material instead."""
    min_age = (item.eligibility or {}).get("min_age")
    if facts is not None and min_age and facts.age is not None and facts.age < int(min_age):
        raise ValidationError(
            {
                "item": _("%(item)s is for people aged %(min)s or over; the registry shows age %(age)s.")
                % {"item": item.name_zh, "min": min_age, "age": facts.age}
            }
        )


# --- Submission ----------------------------------------------------------------------------------


def _clean_channel_actor(
    actor: Viewer | None, channel: str, place: str, *, on_behalf: bool, request: HttpRequest | None
) -> None:
    probe = Application(region_code=place)
    if channel == Channel.ONLINE:
        if actor is None or not getattr(actor, "is_authenticated", False):
            c.refuse(actor, probe, "apply", "online applications need an account", request=request)
        if on_behalf:
            raise ValidationError({"on_behalf": _("Applications on someone's behalf are taken by staff.")})
        return
    if channel == Channel.HOME or on_behalf:
        c.require(actor, P.ASSIST, probe, "apply", request)
        return
    if channel in {Channel.COUNTER, Channel.KIOSK}:
        c.require(actor, P.HANDLE, probe, "apply", request)
        return
    raise ValidationError({"channel": _("Choose how the application is made.")})


def application_submit(
    *,
    actor: Viewer | None,
    item: ServiceItem,
    channel: str,
    region: Region,
    applicant: Applicant,
    answers: Mapping[str, Any] | None = None,
    files: Mapping[str, Sequence[UploadedFile]] | None = None,
    paper: Sequence[str] = (),
    on_behalf: bool = False,
    consent: str = "",
    consent_note: str = "",
    request: HttpRequest | None = None,
) -> Application:
    """Take an application. Online and kiosk ones wait for the counter to accept them (one working
    day); one taken by staff (counter, at home) is accepted at once, so every required material
    must be there: from the registry, uploaded, or ticked as brought on paper."""
    # Staff act where the applicant lives (a grid worker's grid), the community takes it.
    place = applicant.facts.region_code if applicant.facts is not None else region.code
    region = c.application_region(place)
    _clean_channel_actor(actor, channel, place, on_behalf=on_behalf, request=request)
    if not item.is_active:
        raise ValidationError({"item": _("This service is no longer offered.")})
    if channel in {Channel.ONLINE, Channel.KIOSK} and not item.online:
        raise ValidationError({"item": _("This service is handled at the counter only.")})
    staff_taken = channel in {Channel.COUNTER, Channel.HOME}
    if on_behalf:
        if applicant.facts is None:
            raise ValidationError({"person": _("Find the resident in the registry first.")})
        if consent not in Consent.values:
            raise ValidationError({"consent": _("Record how the resident agreed that you apply for them.")})
        consent_note = c.text(consent_note, "consent_note", 200)
    else:
        consent, consent_note = "", ""
    facts = applicant.facts
    name = (
        facts.name if facts else c.text(applicant.name, "applicant_name", 50, required=True, label=_("Name"))
    )
    # The number notices go to: the one given, else the account's (the registry's at send time).
    phone = clean_mobile(applicant.phone) if applicant.phone else ""
    if not applicant.phone and applicant.user is not None:
        phone = clean_mobile(applicant.user.phone)
    if applicant.phone and not phone:
        raise ValidationError({"applicant_phone": _("Enter an 11-digit mobile number.")})
    if facts is None and channel != Channel.COUNTER:
        raise ValidationError(
            {"person": _("Only the counter takes applications from people not in the registry.")}
        )
    check_eligibility(item, facts)
    cleaned_answers = clean_answers(item, answers or {})
    files = files or {}
    known = _material_codes(item.materials)
    unknown = [code for code in (*files, *paper) if code not in known]
    if unknown:
        raise ValidationError({"materials": _("Unknown material: %(code)s.") % {"code": unknown[0]}})
    if sum(len(v) for v in files.values()) > MAX_FILES:
        raise ValidationError({"files": _("At most %(n)d files per application.") % {"n": MAX_FILES}})
    rows = plan_materials(
        item, facts, uploaded=[k for k, v in files.items() if v], paper=list(paper) if staff_taken else []
    )
    missing = missing_required(rows)
    if missing:
        raise _missing_error(missing, at_counter=staff_taken)
    now = c.now()
    with transaction.atomic():
        application = Application.objects.create(
            item=item,
            item_version=item.version,
            region=region,
            region_code=region.code,
            channel=channel,
            person_id=facts.person_id if facts else None,
            applicant_user=applicant.user,
            applicant_name=name,
            applicant_phone=phone,
            helper=actor if on_behalf and isinstance(actor, User) else None,
            on_behalf=on_behalf,
            consent=consent,
            consent_note=consent_note,
            materials=rows,
            answers=cleaned_answers,
            status=Status.ACCEPTED if staff_taken else Status.SUBMITTED,
            fee=item.fee,
            submitted_at=now,
            accepted_at=now if staff_taken else None,
            created_by=actor if isinstance(actor, User) else None,
        )
        for code, uploads in files.items():
            for upload in uploads:
                _sealed_file(application, code, upload, actor)
        c.start_clock(application, now, item.promised_days if staff_taken else c.ACCEPT_DAYS)
        c.save(application, *c.CLOCK_FIELDS)
        filled = [r["code"] for r in rows if r["how"] == REGISTRY]
        c.record(
            application,
            actor=actor,
            action="take" if staff_taken else "submit",
            from_status="",
            note=consent_note,
            params={"channel": channel, "on_behalf": on_behalf, "consent": consent, "filled": filled},
            request=request,
            audit_detail={"channel": channel, "filled_from_registry": filled, "on_behalf": on_behalf},
        )
    return application


# --- The counter's steps --------------------------------------------------------------------------


def application_accept(
    *, actor: Viewer | None, application: Application, request: HttpRequest | None = None
) -> Application:
    """受理: the materials are complete; the promised time limit starts."""
    c.require(actor, P.HANDLE, application, "accept", request)
    with transaction.atomic():
        application = c.lock(application)
        c.allow(application, {Status.SUBMITTED}, pgettext("application step", "accepted"))
        missing = missing_required(application.materials)
        if missing:
            raise ValidationError(
                {
                    "materials": _("Materials are missing (%(names)s): return it to the applicant instead.")
                    % {"names": "、".join(material_kinds.label(dict(r)) for r in missing)}
                }
            )
        before, now = application.status, c.now()
        application.status = Status.ACCEPTED
        application.accepted_at = now
        c.start_clock(application, now, application.item.promised_days)
        c.save(application, "status", "accepted_at", *c.CLOCK_FIELDS)
        c.record(application, actor=actor, action="accept", from_status=before, request=request)
    return application


def fresh(application: Application) -> Application:
    """The row as it is now: who may act depends on its status and department."""
    return Application.objects.select_related("item", "department").get(pk=application.pk)


def _can_department(actor: Viewer | None, application: Application) -> bool:
    return application.department_id is not None and application.department_id in c.department_ids(actor)


def application_return(
    *,
    actor: Viewer | None,
    application: Application,
    missing: Sequence[str],
    note: str = "",
    request: HttpRequest | None = None,
) -> Application:
    """补正: back to the applicant with the exact list of what is missing (一次性告知). The clock stops:
    the time limit runs again from the complete materials."""
    application = fresh(application)
    by_department = _can_department(actor, application)
    if not by_department:
        c.require(actor, P.HANDLE, application, "return", request)
    known = _material_codes(application.materials)
    codes = list(dict.fromkeys(str(code) for code in missing))
    if not codes:
        raise ValidationError({"missing": _("Tick each material that is missing or must be redone.")})
    if any(code not in known for code in codes):
        raise ValidationError({"missing": _("Tick materials of this application only.")})
    note = c.text(note, "note", c.NOTE_MAX)
    with transaction.atomic():
        application = c.lock(application)
        c.allow(
            application,
            {Status.FORWARDED} if by_department else {Status.SUBMITTED, Status.ACCEPTED},
            pgettext("application step", "returned for missing materials"),
        )
        before = application.status
        application.status = Status.RETURNED
        application.missing = codes
        for row in application.materials:
            if row["code"] in codes:
                row["how"] = MISSING
        c.stop_clock(application)
        c.save(application, "status", "missing", "materials", *c.CLOCK_FIELDS)
        c.record(
            application,
            actor=actor,
            action="return",
            from_status=before,
            note=note,
            params={"missing": codes},
            request=request,
        )
    return application


def application_resubmit(
    *,
    actor: Viewer | None,
    application: Application,
    files: Mapping[str, Sequence[UploadedFile]] | None = None,
    paper: Sequence[str] = (),
    request: HttpRequest | None = None,
) -> Application:
    """The applicant sends what was missing (online), or staff receive it at the counter (paper);
    every material on the list must now be there."""
    is_applicant = actor is not None and application.applicant_user_id == getattr(actor, "pk", None)
    is_counter = actor is not None and has_perm(actor, P.HANDLE, application.region_code)
    if not (is_applicant or is_counter):
        c.refuse(actor, application, "resubmit", "neither the applicant nor the counter", request=request)
    files = files or {}
    if sum(len(v) for v in files.values()) > MAX_FILES:
        raise ValidationError({"files": _("At most %(n)d files per application.") % {"n": MAX_FILES}})
    with transaction.atomic():
        application = c.lock(application)
        c.allow(application, {Status.RETURNED}, pgettext("application step", "sent again"))
        provided = {code for code, v in files.items() if v} | (set(paper) if is_counter else set())
        if any(code not in application.missing for code in provided):
            raise ValidationError({"materials": _("Send the materials on the list only.")})
        still = [code for code in application.missing if code not in provided]
        if still:
            rows = [r for r in application.materials if r["code"] in still]
            raise _missing_error(rows, at_counter=is_counter and not is_applicant)
        for code, uploads in files.items():
            for upload in uploads:
                _sealed_file(application, code, upload, actor)
        for row in application.materials:
            if row["code"] in provided:
                row["how"] = UPLOAD if files.get(row["code"]) else PAPER
        before, now = application.status, c.now()
        # At the counter the materials are checked on the spot: accepted at once.
        application.status = Status.ACCEPTED if is_counter and not is_applicant else Status.SUBMITTED
        if application.status == Status.ACCEPTED:
            application.accepted_at = now
        application.missing = []
        days = application.item.promised_days if application.status == Status.ACCEPTED else c.ACCEPT_DAYS
        c.start_clock(application, now, days)
        c.save(application, "status", "accepted_at", "missing", "materials", *c.CLOCK_FIELDS)
        c.record(
            application,
            actor=actor,
            action="resubmit",
            from_status=before,
            params={"provided": sorted(provided)},
            request=request,
        )
    return application


def application_reject(
    *, actor: Viewer | None, application: Application, reason: str, request: HttpRequest | None = None
) -> Application:
    """不予受理: the application cannot be taken at all (not eligible, not this community's), with the
    reason the applicant reads."""
    c.require(actor, P.HANDLE, application, "reject", request)
    reason = c.text(reason, "reason", c.NOTE_MAX, required=True, label=_("The reason"))
    with transaction.atomic():
        application = c.lock(application)
        c.allow(application, {Status.SUBMITTED, Status.RETURNED}, pgettext("application step", "refused"))
        before, now = application.status, c.now()
        application.status = Status.REJECTED
        application.outcome_note = reason
        application.closed_at = now
        c.stop_clock(application)
        c.save(application, "status", "outcome_note", "closed_at", *c.CLOCK_FIELDS)
        c.record(application, actor=actor, action="reject", from_status=before, note=reason, request=request)
    return application


def application_withdraw(
    *, actor: Viewer | None, application: Application, reason: str = "", request: HttpRequest | None = None
) -> Application:
    """The applicant withdraws before a decision."""
    if actor is None or application.applicant_user_id != getattr(actor, "pk", None):
        c.refuse(actor, application, "withdraw", "only the applicant withdraws", request=request)
    reason = c.text(reason, "reason", 500)
    with transaction.atomic():
        application = c.lock(application)
        c.allow(
            application,
            {Status.SUBMITTED, Status.RETURNED, Status.ACCEPTED},
            pgettext("application step", "withdrawn"),
        )
        before = application.status
        application.status = Status.WITHDRAWN
        application.closed_at = c.now()
        c.stop_clock(application)
        c.save(application, "status", "closed_at", *c.CLOCK_FIELDS)
        c.record(
            application, actor=actor, action="withdraw", from_status=before, note=reason, request=request
        )
    return application


def departments_for(application: Application) -> list[Department]:
    """The active departments serving the application's region, those of the item's kind first."""
    rows = [
        d
        for d in Department.objects.filter(is_active=True).order_by("region_code", "name")
        if application.region_code.startswith(d.region_code)
    ]
    return sorted(
        rows, key=lambda d: (d.kind != application.item.department_kind, -len(d.region_code), d.name)
    )


def application_forward(
    *,
    actor: Viewer | None,
    application: Application,
    department: Department,
    note: str = "",
    request: HttpRequest | None = None,
) -> Application:
    """委托受理 / 帮办代办: the community passes the accepted application to the department that decides."""
    c.require(actor, P.HANDLE, application, "forward", request)
    note = c.text(note, "note", c.NOTE_MAX)
    if not department.is_active or not application.region_code.startswith(department.region_code):
        raise ValidationError({"department": _("Choose a department that serves this community.")})
    with transaction.atomic():
        application = c.lock(application)
        c.allow(application, {Status.ACCEPTED}, pgettext("application step", "forwarded"))
        if application.item.mode not in FORWARD_MODES:
            raise ValidationError(
                {"department": _("The community handles this item itself: decide it here.")}
            )
        before = application.status
        application.status = Status.FORWARDED
        application.department = department
        application.forwarded_at = c.now()
        c.save(application, "status", "department", "forwarded_at")
        c.record(
            application,
            actor=actor,
            action="forward",
            from_status=before,
            note=note,
            public=True,
            params={"department": department.name},
            request=request,
        )
    return application


def application_decide(
    *,
    actor: Viewer | None,
    application: Application,
    outcome: str,
    note: str = "",
    request: HttpRequest | None = None,
) -> Application:
    """The decision: the department's on a forwarded application, the community's on an item it is
    authorized for (or the answer to a consultation). A denial gives its reason."""
    application = fresh(application)
    by_department = _can_department(actor, application)
    if not by_department:
        c.require(actor, P.HANDLE, application, "decide", request)
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": _("Choose the decision.")})
    note = c.text(
        note, "note", c.NOTE_MAX, required=outcome != Outcome.APPROVED, label=_("The reason or answer")
    )
    with transaction.atomic():
        application = c.lock(application)
        c.allow(
            application,
            {Status.FORWARDED} if by_department else {Status.ACCEPTED},
            pgettext("application step", "decided"),
        )
        mode = application.item.mode
        if application.status == Status.ACCEPTED and mode in FORWARD_MODES:
            raise ValidationError({"outcome": _("The department decides this item: forward it first.")})
        if (outcome == Outcome.ANSWERED) != (mode == Mode.CONSULT):
            raise ValidationError(
                {"outcome": _("A consultation is answered; other items are approved or denied.")}
            )
        before, now = application.status, c.now()
        application.status = Status.DECIDED
        application.outcome = outcome
        application.outcome_note = note
        application.decided_at = now
        c.save(application, "status", "outcome", "outcome_note", "decided_at")
        c.record(
            application,
            actor=actor,
            action="decide",
            from_status=before,
            note=note,
            params={"outcome": outcome},
            request=request,
        )
        if outcome == Outcome.APPROVED and application.item.care_plan:
            from shequ.govservice.services.care import plan_from_application

            plan_from_application(application, actor=actor)
    return application


def application_deliver(
    *,
    actor: Viewer | None,
    application: Application,
    delivery: str,
    note: str = "",
    request: HttpRequest | None = None,
) -> Application:
    """送达: the result reaches the applicant; the application closes and asks for a rating."""
    application = fresh(application)
    if not (
        _can_department(actor, application)
        or (actor is not None and has_perm(actor, P.HANDLE, application.region_code))
    ):
        c.refuse(actor, application, "deliver", "neither the counter nor the department", request=request)
    if delivery not in Delivery.values:
        raise ValidationError({"delivery": _("Choose how the result reached the applicant.")})
    note = c.text(note, "note", c.NOTE_MAX)
    with transaction.atomic():
        application = c.lock(application)
        c.allow(application, {Status.DECIDED}, pgettext("application step", "delivered"))
        before = application.status
        application.status = Status.CLOSED
        application.delivery = delivery
        application.closed_at = c.now()
        c.stop_clock(application)
        c.save(application, "status", "delivery", "closed_at", *c.CLOCK_FIELDS)
        c.record(
            application,
            actor=actor,
            action="deliver",
            from_status=before,
            note=note,
            params={"delivery": delivery},
            request=request,
        )
    return application


def application_close_on_receipt(
    *, actor: Viewer | None, application: Application, note: str = "", request: HttpRequest | None = None
) -> Application:
    """即收即办: an item the community may close on receipt is approved and handed over at once."""
    c.require(actor, P.HANDLE, application, "close_on_receipt", request)
    note = c.text(note, "note", c.NOTE_MAX)
    with transaction.atomic():
        application = c.lock(application)
        c.allow(
            application,
            {Status.SUBMITTED, Status.ACCEPTED},
            pgettext("application step", "closed on receipt"),
        )
        if not application.item.instant:
            raise ValidationError({"item": _("This item cannot be closed on receipt.")})
        missing = missing_required(application.materials)
        if missing:
            raise _missing_error(missing, at_counter=True)
        before, now = application.status, c.now()
        application.status = Status.CLOSED
        application.accepted_at = application.accepted_at or now
        application.outcome = Outcome.ANSWERED if application.item.mode == Mode.CONSULT else Outcome.APPROVED
        application.decided_at = now
        application.closed_at = now
        application.delivery = Delivery.PICKUP
        c.stop_clock(application)
        c.save(
            application,
            "status",
            "accepted_at",
            "outcome",
            "decided_at",
            "closed_at",
            "delivery",
            *c.CLOCK_FIELDS,
        )
        c.record(
            application,
            actor=actor,
            action="close_on_receipt",
            from_status=before,
            note=note,
            request=request,
        )
    return application


def on_time(application: Application, at: dt.datetime | None = None) -> bool | None:
    """Whether the running (or last) deadline holds at ``at``; None without one."""
    if application.due_at is None:
        return None
    return (at or c.now()) <= application.due_at


__all__ = [
    "MISSING",
    "PAPER",
    "REGISTRY",
    "UPLOAD",
    "Applicant",
    "application_accept",
    "application_close_on_receipt",
    "application_decide",
    "application_deliver",
    "application_forward",
    "application_reject",
    "application_resubmit",
    "application_return",
    "application_submit",
    "application_withdraw",
    "departments_for",
    "open_file",
    "plan_materials",
]
