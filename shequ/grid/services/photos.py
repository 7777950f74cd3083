"""Photos added to an open ticket as a step of their own."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from shequ.core.models import User
from shequ.core.permissions import has_perm
from shequ.grid.models import (
    OPEN_STATUSES,
    Ticket,
    TicketAction,
)
from shequ.grid.permissions import GridPerm as P
from shequ.grid.services._common import (
    COMMENT_MAX,
    MAX_PHOTOS,
    _allow,
    _attach,
    _clean_photo,
    _department_ids,
    _lock,
    _record,
    _refuse,
    _text,
)


def _require_photographer(actor: User | None, ticket: Ticket, request: HttpRequest | None) -> None:
    """Photos are added by the ticket's reporter, the region's staff who see it, or the department
    that has it now (selectors.can()["add_photos"] says the same for the pages)."""
    if actor is None or (
        ticket.reporter_user_id == getattr(actor, "pk", None)
        or has_perm(actor, P.VIEW, ticket.region_code)
        or (ticket.department_id is not None and ticket.department_id in _department_ids(actor))
    ):
        return
    _refuse(actor, ticket, "add_photos", "neither the reporter nor staff of the ticket", request=request)


def ticket_add_photos(
    *,
    actor: User | None,
    ticket: Ticket,
    photos: Sequence[UploadedFile | bytes],
    comment: str = "",
    request: HttpRequest | None = None,
) -> TicketAction:
    """补充照片: photos taken after the report (the resident's second try, the worker on site, the
    department's progress), as a timeline step of their own; the status does not change."""
    _require_photographer(actor, ticket, request)
    comment = _text(comment, "comment", COMMENT_MAX)
    if not photos:
        raise ValidationError({"photos": _("Choose at least one photo.")})
    if len(photos) > MAX_PHOTOS:
        raise ValidationError({"photos": _("At most %(n)d photos.") % {"n": MAX_PHOTOS}})
    images = [_clean_photo(p) for p in photos]
    with transaction.atomic():
        ticket = _lock(ticket)
        _require_photographer(actor, ticket, request)  # again: the ticket may have moved since
        _allow(ticket, OPEN_STATUSES, pgettext("ticket step", "given more photos"))
        step = _record(
            ticket,
            actor=actor,
            action="add_photos",
            from_status=ticket.status,
            comment=comment,
            params={"photos": len(images)},
            request=request,
        )
        _attach(ticket, step, images, actor)
    return step
