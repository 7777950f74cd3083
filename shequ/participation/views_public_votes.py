"""Public vote pages (no sign-in): a community's votes, one vote's status and result with both
tallies and the legal rule that decided it, the tracker lookup, the bulletin board (pages and the
JSON the verifier reads), and an election's published voter list (names masked)."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from shequ.core.models import Region
from shequ.participation import selectors_votes as selectors
from shequ.participation.forms_votes import TrackerForm
from shequ.participation.models import Vote, VoteStatus
from shequ.participation.views_votes import result_rows

BOARD_PAGE = 50


def reasons_in_words(vote: Vote) -> list[str]:
    """Why a vote did not decide (or an election left seats empty), in the law's words."""
    outcome = vote.result.get("outcome", {})
    words = {
        "turnout": _("Not valid: no more than half of the registered voters voted."),
        "quorum": _("No decision: the quorum was not reached."),
        "owners": _("No decision: owners taking part were fewer than two thirds of all owners."),
        "area": _("No decision: owners taking part held less than two thirds of the floor area."),
    }
    found = [str(words[r]) for r in outcome.get("reasons", []) if r in words]
    if outcome.get("ties"):
        found.append(_("Candidates tied across the last seat: none of them is elected in this round."))
    if outcome.get("empty_seats"):
        found.append(
            _("%(n)d seat(s) stay empty: a by-election among the best placed follows.")
            % {"n": outcome["empty_seats"]}
        )
    return found


@require_GET
def public_vote(request: HttpRequest, uid: str) -> HttpResponse:
    vote = selectors.get_public_vote(uid)
    form = TrackerForm(request.GET or None)
    found: dict[str, Any] | None = None
    if request.GET.get("tracker") and form.is_valid():
        code = form.cleaned_data["tracker"].strip().lower()
        ballot = selectors.find_tracker(vote, code)
        found = {
            "tracker": code,
            "entry": ballot.entry if ballot else None,
            "counts": bool(ballot and ballot.current),
        }
    context = {
        "vote": vote,
        "form": form,
        "found": found,
        "rows": result_rows(vote),
        "reasons": reasons_in_words(vote) if vote.status == VoteStatus.DECIDED else [],
        "ballots": vote.ballots.count(),
        "counted": vote.ballots.filter(current=True).count(),
        "weighted": bool(vote.manifest.get("weighted")),
        "head": vote.board.order_by("-seq").values_list("hash", flat=True).first() or "",
    }
    status = 400 if request.GET.get("tracker") and not form.is_valid() else 200
    return render(request, "participation/votes/public.html", context, status=status)


@require_GET
def public_board(request: HttpRequest, uid: str) -> HttpResponse:
    vote = selectors.get_public_vote(uid)
    page = Paginator(
        vote.board.order_by("seq").only("seq", "kind", "hash", "prev_hash", "created_at"), BOARD_PAGE
    ).get_page(request.GET.get("page"))
    trackers = dict(vote.ballots.filter(entry__in=[e.pk for e in page]).values_list("entry_id", "tracker"))
    for entry in page:
        entry.tracker = trackers.get(entry.pk, "")  # type: ignore[attr-defined]
    return render(request, "participation/votes/board.html", {"vote": vote, "page": page})


@require_GET
def public_board_json(request: HttpRequest, uid: str) -> StreamingHttpResponse:
    """The board as the verifier reads it, streamed (public data: it is compressed for our own
    pages like any answer, see core.middleware)."""
    vote = selectors.get_public_vote(uid)
    chunks = (chunk.encode() for chunk in selectors.board_chunks(vote))
    response = StreamingHttpResponse(chunks, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="board-{vote.uid}.json"'
    return response


@require_GET
def public_roll(request: HttpRequest, uid: str) -> HttpResponse:
    vote = selectors.get_published_roll(uid)
    page = Paginator(vote.voters.filter(removed_at__isnull=True).order_by("label", "pk"), 200).get_page(
        request.GET.get("page")
    )
    return render(request, "participation/votes/public_roll.html", {"vote": vote, "page": page})


@require_GET
def public_votes(request: HttpRequest, code: str) -> HttpResponse:
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise Http404("no such region")
    votes = list(selectors.public_votes(code)[:100])
    rolls = list(selectors.published_rolls(code)[:20])
    return render(
        request, "participation/votes/public_list.html", {"region": region, "votes": votes, "rolls": rolls}
    )
