"""Residents' requests under PIPL (Arts. 45–47): a copy of their data, a correction, a deletion.

A resident submits as themselves (their account's registry person, ``selectors_rights.resident_of``);
the request is due in ``SHEQU_PIPL_DAYS`` working days (15 by default) on the grid's holiday calendar.
The community's staff (``sharing.rights`` in the person's community) answer:

- copy: the platform writes the resident's data as an Excel workbook (``rights_copy``), sealed, that
  only the resident downloads (each download audited);
- correction: applied through the registry's ``person_correct`` (its audit and timeline), or refused
  with a reason; an item the registry cannot correct by itself ("other") is done by hand and described;
- deletion: refused with the legal ground when the law obliges keeping the data (household
  registration, the government's base data), or done where the law allows, saying what was deleted.

Every step is audited (``sharing.rights_*``, never the values) and emits ``RightsRequestChanged``;
the handlers in ``rights_jobs`` tell the resident and the staff.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shequ.core import audit, crypto
from shequ.core.guards import require_actor
from shequ.core.models import AuditResult, User
from shequ.core.outbox import DomainEvent, emit, register_event
from shequ.core.permissions import Viewer
from shequ.core.personal import mask_name
from shequ.core.sealed_files import open_sealed, seal_upload
from shequ.core.text import bounded_text
from shequ.grid import deadlines
from shequ.registry import subject_data
from shequ.sharing import selectors_rights as sel
from shequ.sharing.models import (
    DeletionGround,
    RightsFile,
    RightsFileKind,
    RightsKind,
    RightsRequest,
    RightsStatus,
)
from shequ.sharing.permissions import SharePerm as P

DEFAULT_PIPL_DAYS = 15
DETAIL_MAX = 1000
VALUE_MAX = 200
ANSWER_MAX = 2000
REASON_MIN = 5
OPEN_PER_ACCOUNT = 10
OTHER_ITEM = "other"
# Registry fields a resident may ask to correct (``registry.services.PERSON_FIELDS`` minus the
# technical ones); "other" is anything else, put right by hand.
CORRECTABLE: tuple[str, ...] = (
    "name",
    "id_number",
    "birth_date",
    "sex",
    "phone",
    "ethnicity",
    "nationality",
    "residence_type",
    "hukou_address",
    "work_unit",
    "occupation",
    "education",
    "marital_status",
    "political_status",
)
NOT_LINKED = gettext_lazy(
    "Your account is not linked to a resident's record: ask your community to check your mobile number."
)
SECRET_ITEMS = frozenset({"id_number", "phone"})  # shown masked to staff and never audited
OBJECT_TYPE = "sharing.rightsrequest"


@register_event
class RightsRequestChanged(DomainEvent):
    """A resident's request was submitted or answered, or its deadline is near or past."""

    name: ClassVar[str] = "sharing.rights_request_changed"
    actor_id: int | None
    request_id: int
    region_code: str
    action: str  # submit, copy, correct, done, refuse, warn, overdue


def pipl_days() -> int:
    return int(getattr(settings, "SHEQU_PIPL_DAYS", DEFAULT_PIPL_DAYS))


def clock(submitted_at: dt.datetime, calendar: deadlines.Calendar) -> tuple[dt.datetime, dt.datetime]:
    """(warning point at 80 %, deadline): the end of the Nth working day after submission."""
    due = calendar.add_working_days(submitted_at, pipl_days())
    return deadlines.warn_point(submitted_at, due), due


def item_choices() -> list[tuple[str, str]]:
    return [(name, subject_data.field_label(name)) for name in CORRECTABLE] + [
        (OTHER_ITEM, _("Something else (say what below)"))
    ]


def item_label(item: str) -> str:
    return dict(item_choices()).get(item, item)


def _record(
    action: str,
    rights_request: RightsRequest,
    *,
    actor: Viewer | None,
    request: HttpRequest | None,
    detail: dict[str, Any] | None = None,
    reason: str = "",
    result: str = AuditResult.SUCCESS,
) -> None:
    audit.record(
        f"sharing.{action}",
        actor=actor if isinstance(actor, User) else None,
        request=request,
        region_code=rights_request.region_code,
        object_type=OBJECT_TYPE,
        object_id=rights_request.pk,
        detail={"kind": rights_request.kind, "person": rights_request.person_id, **(detail or {})},
        reason=reason,
        result=result,
    )


def _emit(rights_request: RightsRequest, actor: Viewer | None, action: str) -> None:
    emit(
        RightsRequestChanged(
            actor_id=getattr(actor, "pk", None),
            request_id=rights_request.pk,
            region_code=rights_request.region_code,
            action=action,
        )
    )


def _proof_aad(request_id: int, kind: str, token: str) -> bytes:
    return f"sharing.rights:{request_id}:{kind}:{token}".encode()


# --- The resident -----------------------------------------------------------------------------------


def request_submit(
    *,
    actor: User,
    kind: str,
    item: str = "",
    value: Any = "",
    detail: Any = "",
    proof: UploadedFile | None = None,
    request: HttpRequest | None = None,
) -> RightsRequest:
    """A resident's request about their own data. Bad input raises ValidationError (by field) and
    writes nothing; an account not linked to a registry person may not ask here."""
    resident = sel.resident_of(actor)
    if resident is None:
        raise PermissionDenied(NOT_LINKED)
    if kind not in RightsKind.values:
        raise ValidationError({"kind": _("Choose a copy, a correction or a deletion.")})
    errors: dict[str, list[str]] = {}

    def collect(name: str, fn: Any) -> Any:
        try:
            return fn()
        except ValidationError as exc:
            errors.setdefault(name, []).extend(exc.message_dict.get(name, exc.messages))
            return ""

    text = collect(
        "detail",
        lambda: bounded_text(
            detail,
            "detail",
            DETAIL_MAX,
            required=kind == RightsKind.DELETION,
            label=_("What to delete and why") if kind == RightsKind.DELETION else _("Details"),
            multiline=True,
        ),
    )
    if kind == RightsKind.DELETION and text and len(text) < REASON_MIN:
        errors.setdefault("detail", []).append(
            _("Say a little more: at least %(n)d characters.") % {"n": REASON_MIN}
        )
    clean_item, clean_value = "", ""
    if kind == RightsKind.CORRECTION:
        clean_item = str(item or "")
        if clean_item not in dict(item_choices()):
            errors.setdefault("item", []).append(_("Choose which item is wrong."))
        elif clean_item == OTHER_ITEM:
            if not text:
                errors.setdefault("detail", []).append(_("Say what is wrong and what is right."))
        else:
            clean_value = collect(
                "value",
                lambda: bounded_text(value, "value", VALUE_MAX, required=True, label=_("The right value")),
            )
    if errors:
        raise ValidationError(errors)
    if RightsRequest.objects.filter(requester=actor, status=RightsStatus.OPEN).count() >= OPEN_PER_ACCOUNT:
        raise ValidationError(
            _("You have %(n)d requests waiting for an answer: wait for some of them first.")
            % {"n": OPEN_PER_ACCOUNT}
        )
    if (
        kind == RightsKind.COPY
        and RightsRequest.objects.filter(requester=actor, kind=kind, status=RightsStatus.OPEN).exists()
    ):
        raise ValidationError(_("Your request for a copy is already waiting for an answer."))
    submitted_at = timezone.now()
    warn_at, due_at = clock(submitted_at, deadlines.Calendar.load())
    person = resident.person
    with transaction.atomic():
        rights_request = RightsRequest(
            kind=kind,
            requester=actor,
            person_id=person.pk,
            person_masked=mask_name(person.name),
            region=resident.community,
            region_code=resident.community.code,
            item=clean_item,
            value=clean_value,
            detail=text,
            submitted_at=submitted_at,
            warn_at=warn_at,
            due_at=due_at,
        )
        rights_request.save()
        if proof is not None and kind == RightsKind.CORRECTION:
            sealed = seal_upload(
                proof,
                aad=lambda token: _proof_aad(rights_request.pk, RightsFileKind.PROOF, token),
                field="proof",
            )
            row = RightsFile(
                request=rights_request,
                kind=RightsFileKind.PROOF,
                token=sealed.token,
                filename=sealed.filename,
                content_type=sealed.content_type,
                size=sealed.size,
                key_id=sealed.key_id,
            )
            row.file.save(f"{sealed.token}.bin", sealed.content, save=False)
            row.save()
        _record("rights_submit", rights_request, actor=actor, request=request, detail={"item": clean_item})
        _emit(rights_request, actor, "submit")
    return rights_request


def copy_open(
    *, actor: User, rights_request: RightsRequest, request: HttpRequest | None = None
) -> RightsFile:
    """The copy's file for its resident only (anyone else: audited refusal); counts the download."""
    if rights_request.requester_id != actor.pk:
        _record(
            "rights_copy_download", rights_request, actor=actor, request=request, result=AuditResult.DENIED
        )
        raise PermissionDenied(_("Only the resident who asked may download this copy."))
    row = sel.copy_file(rights_request)
    if row is None:
        raise ValidationError(_("The copy is not ready yet."))
    with transaction.atomic():
        RightsFile.objects.filter(pk=row.pk).update(downloads=F("downloads") + 1)
        _record("rights_copy_download", rights_request, actor=actor, request=request, detail={"file": row.pk})
    return row


def file_bytes(row: RightsFile) -> bytes:
    """A request's file content (the caller has checked the reader)."""
    return open_sealed(row.file, row.key_id, _proof_aad(row.request_id, row.kind, row.token))


# --- The community's staff ----------------------------------------------------------------------------


def _require(actor: User, rights_request: RightsRequest, action: str, request: HttpRequest | None) -> None:
    require_actor(
        actor,
        P.RIGHTS,
        rights_request.region_code,
        action=f"sharing.{action}",
        object_type=OBJECT_TYPE,
        object_id=rights_request.pk,
        request=request,
    )


def _lock_open(rights_request: RightsRequest) -> RightsRequest:
    locked = RightsRequest.objects.select_for_update(of=("self",)).get(pk=rights_request.pk)
    if locked.status != RightsStatus.OPEN:
        raise ValidationError(_("This request has been answered already."))
    return locked


def _close(locked: RightsRequest, actor: User, status: str, answer: str, **extra: Any) -> None:
    locked.status = status
    locked.answer = answer
    locked.answered_at = timezone.now()
    locked.answered_by = actor
    for name, value in extra.items():
        setattr(locked, name, value)
    locked.save(update_fields=["status", "answer", "answered_at", "answered_by", *extra])


def proof_open(
    *, actor: User, rights_request: RightsRequest, request: HttpRequest | None = None
) -> RightsFile:
    _require(actor, rights_request, "rights_proof_read", request)
    row = sel.proof_file(rights_request)
    if row is None:
        raise ValidationError(_("The resident sent no proof."))
    _record("rights_proof_read", rights_request, actor=actor, request=request, detail={"file": row.pk})
    return row


def copy_generate(
    *, actor: User, rights_request: RightsRequest, request: HttpRequest | None = None
) -> RightsRequest:
    """Answer a copy request: the resident's data as a sealed Excel workbook they download."""
    from shequ.sharing.services import rights_copy

    _require(actor, rights_request, "rights_copy", request)
    if rights_request.kind != RightsKind.COPY:
        raise ValidationError(_("Only a request for a copy is answered with a copy."))
    with transaction.atomic():
        locked = _lock_open(rights_request)
        data, sheets = rights_copy.workbook(locked)
        token = secrets.token_hex(16)
        key_id = crypto.current_key_id()
        sealed = crypto.seal_bytes(
            crypto.field_key_bytes(key_id), data, _proof_aad(locked.pk, RightsFileKind.COPY, token)
        )
        row = RightsFile(
            request=locked,
            kind=RightsFileKind.COPY,
            token=token,
            filename=f"个人信息副本-{timezone.localdate():%Y%m%d}.xlsx",
            content_type=rights_copy.XLSX_CONTENT_TYPE,
            size=len(data),
            key_id=key_id,
        )
        row.file.save(f"{token}.bin", ContentFile(sealed), save=False)
        row.save()
        _close(locked, actor, RightsStatus.DONE, _("A copy of your data is ready to download."))
        _record(
            "rights_copy", locked, actor=actor, request=request, detail={"sheets": sheets, "file": row.pk}
        )
        _emit(locked, actor, "copy")
    return locked


def correction_apply(
    *,
    actor: User,
    rights_request: RightsRequest,
    reason: Any,
    value: Any = None,
    request: HttpRequest | None = None,
) -> RightsRequest:
    """Put the registry record right through the registry's ``person_correct`` (its audit entry and
    timeline keep old → new, ID and phone masked). ``value``: the staff's wording of the resident's
    value (e.g. the exact spelling on the proof); the resident's own by default."""
    from shequ.registry.services import person_correct

    _require(actor, rights_request, "rights_correct", request)
    if rights_request.kind != RightsKind.CORRECTION or rights_request.item not in CORRECTABLE:
        raise ValidationError(_("This request is not about an item the registry can correct."))
    why = bounded_text(
        reason, "reason", ANSWER_MAX, required=True, label=_("Note to the resident"), multiline=True
    )
    new_value = rights_request.value if value in (None, "") else bounded_text(value, "value", VALUE_MAX)
    person = subject_data.subject_person(rights_request.person_id)
    if person is None:
        raise ValidationError(_("The resident's record no longer exists."))
    with transaction.atomic():
        locked = _lock_open(rights_request)
        try:
            person_correct(
                actor=actor,
                person=person,
                changes={locked.item: new_value},
                reason=_("Resident's correction request no. %(n)s: %(why)s") % {"n": locked.pk, "why": why},
                request=request,
            )
        except ValidationError as exc:
            messages = (
                exc.message_dict.get(locked.item, exc.messages)
                if hasattr(exc, "error_dict")
                else exc.messages
            )
            raise ValidationError({"value": messages}) from exc
        _close(locked, actor, RightsStatus.DONE, why, applied_fields=[locked.item])
        _record("rights_correct", locked, actor=actor, request=request, detail={"item": locked.item})
        _emit(locked, actor, "correct")
    return locked


def request_complete(
    *, actor: User, rights_request: RightsRequest, answer: Any, request: HttpRequest | None = None
) -> RightsRequest:
    """Done by hand: a deletion carried out where the law allows, or a correction of an item the
    registry does not hold — the answer says exactly what was deleted or changed."""
    _require(actor, rights_request, "rights_done", request)
    if rights_request.kind == RightsKind.COPY:
        raise ValidationError(_("A request for a copy is answered by generating the copy."))
    if rights_request.kind == RightsKind.CORRECTION and rights_request.item != OTHER_ITEM:
        raise ValidationError(_("Apply the correction to the record instead."))
    text = bounded_text(answer, "answer", ANSWER_MAX, required=True, label=_("What was done"), multiline=True)
    if len(text) < REASON_MIN:
        raise ValidationError(
            {"answer": _("Say a little more: at least %(n)d characters.") % {"n": REASON_MIN}}
        )
    with transaction.atomic():
        locked = _lock_open(rights_request)
        _close(locked, actor, RightsStatus.DONE, text)
        _record("rights_done", locked, actor=actor, request=request, reason=text)
        _emit(locked, actor, "done")
    return locked


def request_refuse(
    *,
    actor: User,
    rights_request: RightsRequest,
    reason: Any,
    ground: str = "",
    request: HttpRequest | None = None,
) -> RightsRequest:
    """Refuse with a reason; a deletion also names its legal ground (why the law keeps the data)."""
    _require(actor, rights_request, "rights_refuse", request)
    errors: dict[str, list[str]] = {}
    text = ""
    try:
        text = bounded_text(reason, "reason", ANSWER_MAX, required=True, label=_("Reason"), multiline=True)
        if len(text) < REASON_MIN:
            errors["reason"] = [_("Say a little more: at least %(n)d characters.") % {"n": REASON_MIN}]
    except ValidationError as exc:
        errors["reason"] = exc.message_dict.get("reason", exc.messages)
    if rights_request.kind == RightsKind.DELETION and ground not in DeletionGround.values:
        errors["ground"] = [_("Choose the legal ground for keeping the data.")]
    if rights_request.kind != RightsKind.DELETION:
        ground = ""
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = _lock_open(rights_request)
        _close(locked, actor, RightsStatus.REFUSED, text, ground=ground)
        _record("rights_refuse", locked, actor=actor, request=request, reason=text, detail={"ground": ground})
        _emit(locked, actor, "refuse")
    return locked
