"""Disclosure items: drafted by the community's staff (``participation.disclose``), edited while a
draft, published (then fixed: a correction is a new item, and the wrong one is withdrawn with a
reason), with attachments (photos or PDFs, sealed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from shequ.core.models import User
from shequ.core.outbox import emit
from shequ.core.permissions import Viewer
from shequ.core.sealed_files import open_sealed, seal_upload
from shequ.grid import deadlines
from shequ.participation.models import DisclosureFile, DisclosureItem, DisclosureKind, DisclosureStatus
from shequ.participation.permissions import PartPerm as P
from shequ.participation.services.disclosure import _common as c
from shequ.participation.services.disclosure import events, rules

TITLE_MAX = 120
BODY_MAX = 20000
REASON_MAX = 300
MAX_FILES = 10


def _changed(item: DisclosureItem, action: str, actor: Viewer | None) -> None:
    emit(
        events.DisclosureItemChanged(
            actor_id=getattr(actor, "pk", None), item_id=item.pk, region_code=item.region_code, action=action
        )
    )


def _clean_fields(
    *, kind: str, period_key: str, decided_on: dt.date | None, title: Any, body: Any
) -> dict[str, Any]:
    if kind not in DisclosureKind.values:
        raise ValidationError({"kind": _("Choose what kind of disclosure this is.")})
    out: dict[str, Any] = {
        "kind": kind,
        "title": c.text(title, "title", TITLE_MAX, label=_("Title"), required=True),
        "body": c.text(body, "body", BODY_MAX, label=_("Content"), required=True, multiline=True),
        "period_key": "",
        "period_start": None,
        "period_end": None,
        "decided_on": None,
    }
    today = c.now().date()
    if kind in rules.PERIODIC:
        period = rules.parse_period(kind, period_key)
        if period.start > today:
            raise ValidationError({"period": _("This period has not started yet.")})
        out.update(period_key=period.key, period_start=period.start, period_end=period.end)
    elif kind in rules.DECIDED:
        if decided_on is None:
            raise ValidationError({"decided_on": _("Give the date the matter was decided.")})
        if decided_on > today:
            raise ValidationError({"decided_on": _("The decision date cannot be in the future.")})
        out["decided_on"] = decided_on
    return out


def _set_clock(item: DisclosureItem) -> None:
    period = rules.parse_period(item.kind, item.period_key) if item.kind in rules.PERIODIC else None
    item.warn_at, item.due_at = rules.item_clock(
        item.kind, period, item.decided_on, deadlines.Calendar.load()
    )
    item.warned_at = None
    item.overdue_at = None


def _seal(item: DisclosureItem, upload: UploadedFile, actor: User) -> DisclosureFile:
    """An image re-encoded without EXIF, or a PDF as sent, sealed with the current field key and
    bound to the item and the file's token."""
    sealed = seal_upload(upload, aad=lambda token: _aad(item.pk, token))
    row = DisclosureFile(
        item=item,
        token=sealed.token,
        filename=sealed.filename,
        content_type=sealed.content_type,
        size=sealed.size,
        key_id=sealed.key_id,
        uploaded_by=actor,
    )
    row.file.save(f"{sealed.token}.bin", sealed.content, save=False)
    row.save()
    return row


def _aad(item_id: int, token: str) -> bytes:
    return f"participation.disclosure_file:{item_id}:{token}".encode()


def open_file(row: DisclosureFile) -> bytes:
    """The attachment's content (the caller checked the reader may see the item)."""
    return open_sealed(row.file, row.key_id, _aad(row.item_id, row.token))


def _add_files(item: DisclosureItem, files: Sequence[UploadedFile], actor: User) -> int:
    if item.files.count() + len(files) > MAX_FILES:
        raise ValidationError({"files": _("An item may have at most %(n)d attachments.") % {"n": MAX_FILES}})
    for upload in files:
        _seal(item, upload, actor)
    return len(files)


def item_create(
    *,
    actor: User,
    region_code: str,
    kind: str,
    title: Any,
    body: Any,
    period_key: str = "",
    decided_on: dt.date | None = None,
    files: Sequence[UploadedFile] = (),
    request: HttpRequest | None = None,
) -> DisclosureItem:
    """A draft item of the community (or village) ``region_code`` (a grid's code names its community)."""
    region = c.community(region_code)
    probe = DisclosureItem(region=region, region_code=region.code)
    c.require(actor, P.DISCLOSE, probe, "disclosure_create", request)
    fields = _clean_fields(kind=kind, period_key=period_key, decided_on=decided_on, title=title, body=body)
    with transaction.atomic():
        at = c.now()
        item = DisclosureItem(
            region=region, region_code=region.code, author=actor, created_at=at, updated_at=at, **fields
        )
        _set_clock(item)
        item.save()
        _add_files(item, files, actor)
        c.record("disclosure_create", item, actor=actor, request=request, detail={"kind": kind})
        _changed(item, "create", actor)
    return item


def _lock(item: DisclosureItem) -> DisclosureItem:
    return DisclosureItem.objects.select_for_update().get(pk=item.pk)


def _draft_only(item: DisclosureItem) -> None:
    if item.status != DisclosureStatus.DRAFT:
        raise ValidationError(
            _("A published or withdrawn item cannot be changed: withdraw it and publish a corrected one.")
        )


def item_update(
    *,
    actor: User,
    item: DisclosureItem,
    kind: str,
    title: Any,
    body: Any,
    period_key: str = "",
    decided_on: dt.date | None = None,
    files: Sequence[UploadedFile] = (),
    request: HttpRequest | None = None,
) -> DisclosureItem:
    c.require(actor, P.DISCLOSE, item, "disclosure_update", request)
    fields = _clean_fields(kind=kind, period_key=period_key, decided_on=decided_on, title=title, body=body)
    with transaction.atomic():
        item = _lock(item)
        _draft_only(item)
        for name, value in fields.items():
            setattr(item, name, value)
        _set_clock(item)
        item.updated_at = c.now()
        item.save()
        added = _add_files(item, files, actor)
        c.record("disclosure_update", item, actor=actor, request=request, detail={"files_added": added})
        _changed(item, "update", actor)
    return item


def item_publish(*, actor: User, item: DisclosureItem, request: HttpRequest | None = None) -> DisclosureItem:
    c.require(actor, P.DISCLOSE, item, "disclosure_publish", request)
    with transaction.atomic():
        item = _lock(item)
        if item.status != DisclosureStatus.DRAFT:
            raise ValidationError(_("Only a draft can be published."))
        item.status = DisclosureStatus.PUBLISHED
        item.published_at = c.now()
        item.published_by = actor
        item.updated_at = item.published_at
        item.save()
        c.record(
            "disclosure_publish",
            item,
            actor=actor,
            request=request,
            detail={"kind": item.kind, "period": item.period_key, "late": item.published_late},
        )
        _changed(item, "publish", actor)
    return item


def item_withdraw(
    *, actor: User, item: DisclosureItem, reason: Any, request: HttpRequest | None = None
) -> DisclosureItem:
    """Take a published item off the board; the reason stays with it (and in the audit log)."""
    c.require(actor, P.DISCLOSE, item, "disclosure_withdraw", request)
    why = c.text(reason, "reason", REASON_MAX, label=_("Reason"), required=True)
    with transaction.atomic():
        item = _lock(item)
        if item.status != DisclosureStatus.PUBLISHED:
            raise ValidationError(_("Only a published item can be withdrawn."))
        item.status = DisclosureStatus.WITHDRAWN
        item.withdrawn_at = c.now()
        item.withdrawn_by = actor
        item.withdraw_reason = why
        item.updated_at = item.withdrawn_at
        item.save()
        c.record("disclosure_withdraw", item, actor=actor, request=request, reason=why)
        _changed(item, "withdraw", actor)
    return item


def _delete_files(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        default_storage.delete(name)


def item_delete_draft(*, actor: User, item: DisclosureItem, request: HttpRequest | None = None) -> None:
    """A draft made by mistake: gone, with its files and list (nothing of it was public)."""
    c.require(actor, P.DISCLOSE, item, "disclosure_delete", request)
    with transaction.atomic():
        item = _lock(item)
        _draft_only(item)
        c.record("disclosure_delete", item, actor=actor, request=request, detail={"title": item.title})
        names = [str(row.file.name) for row in item.files.all()]
        item.delete()
        # The sealed files go once the rows are gone for good.
        transaction.on_commit(lambda: _delete_files(names))
