"""Helpers shared by the vote services: refusals, the row lock, audit, and the board's append."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.models import AuditResult, User
from shequ.core.permissions import Viewer, has_perm
from shequ.participation.crypto.ballots import canonical
from shequ.participation.crypto.verifier import GENESIS, entry_hash
from shequ.participation.models import BoardEntry, Trustee, Vote, VoteStatus


class VoteError(ValidationError):
    """The step is not allowed now, or its input is wrong (nothing was changed)."""


def now() -> dt.datetime:
    return timezone.now()


def user_or_none(actor: Viewer | None) -> User | None:
    return actor if isinstance(actor, User) else None


def require(
    actor: Viewer | None, perm: str, vote: Vote, action: str, request: HttpRequest | None = None
) -> None:
    if actor is None or not has_perm(actor, perm, vote.region_code):
        audit.record(
            f"participation.{action}",
            actor=user_or_none(actor),
            request=request,
            region_code=vote.region_code,
            object_type="participation.vote",
            object_id=vote.pk,
            result=AuditResult.DENIED,
            reason=f"needs {perm} for the region",
        )
        raise PermissionDenied(f"needs {perm} for the region")


def lock(vote: Vote) -> Vote:
    return Vote.objects.select_for_update(of=("self",)).select_related("region").get(pk=vote.pk)


def in_status(vote: Vote, *statuses: str, step: str) -> None:
    if vote.status not in statuses:
        raise VoteError(
            _("%(step)s is not possible now: the vote is %(status)s.")
            % {"step": step, "status": VoteStatus(vote.status).label}
        )


def record(
    vote: Vote,
    action: str,
    *,
    actor: Viewer | None,
    request: HttpRequest | None = None,
    object_type: str = "participation.vote",
    object_id: Any = None,
    detail: dict[str, Any] | None = None,
    reason: str = "",
) -> None:
    audit.record(
        f"participation.{action}",
        actor=user_or_none(actor),
        request=request,
        region_code=vote.region_code,
        object_type=object_type,
        object_id=vote.pk if object_id is None else object_id,
        detail=detail,
        reason=reason,
    )


def append(vote: Vote, kind: str, payload: dict[str, Any]) -> BoardEntry:
    """Add an entry to the vote's board; the caller holds the vote's row lock (``lock``), which
    orders appends to one board without making other votes wait."""
    last = BoardEntry.objects.filter(vote=vote).order_by("-seq").values_list("seq", "hash").first()
    seq, prev = (last[0] + 1, last[1]) if last else (0, GENESIS)
    text = canonical(payload)
    return BoardEntry.objects.create(
        vote=vote, seq=seq, kind=kind, payload=text, prev_hash=prev, hash=entry_hash(prev, seq, kind, text)
    )


def announce(vote: Vote, action: str, *, trustee_id: int | None = None) -> None:
    """Outbox the event of a step people outside the staff hear about (see handlers_votes)."""
    from shequ.core.outbox import emit
    from shequ.participation.events_votes import VoteChanged

    emit(VoteChanged(vote_id=vote.pk, region_code=vote.region_code, action=action, trustee_id=trustee_id))  # type: ignore[arg-type]


def centi(area: Decimal | None) -> int:
    """Square metres as the board counts them: whole 0.01 m² (areas have two decimals)."""
    return int(((area or Decimal(0)) * 100).to_integral_value())


def lock_own_trustee(actor: Viewer | None, trustee: Trustee, status: str, step: str) -> tuple[Vote, Trustee]:
    """A trustee acting on their own row: the vote and the row locked, the vote at ``status``
    (inside the caller's transaction)."""
    if user_or_none(actor) is None or actor is None or trustee.user_id != actor.pk:
        raise PermissionDenied("only the trustee acts for their own share")
    vote = lock(trustee.vote)
    in_status(vote, status, step=step)
    return vote, Trustee.objects.select_for_update().get(pk=trustee.pk)
