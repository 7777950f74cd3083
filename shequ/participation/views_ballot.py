"""The resident's and the trustee's vote pages, on the phone shell.

* my votes: the votes the resident is on the roll of (their own line, an owners' line they own, and
  lines that entrusted them), and elections of their community whose voter list is up for objections;
* the ballot: the browser encrypts the choices (``ballot.js``) and sends only the encrypted ballot;
  the answer is the tracker the voter keeps and finds on the public board;
* an objection to a published voter list;
* the trustee's pages: make a key share on the phone (the secret stays there, with a backup file)
  and, after closing, decrypt only the totals the phone recomputed from the public board.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import guards
from shequ.core.forms import apply_service_errors
from shequ.participation import selectors_votes as selectors
from shequ.participation.forms_votes import ResidentObjectionForm
from shequ.participation.models import ObjectionKind, Trustee, Vote, VoteStatus
from shequ.participation.services import votes as svc
from shequ.participation.services.votes.casting import voting_now

FORBIDDEN = "participation/votes/forbidden.html"
resident_page = functools.partial(guards.page, template=FORBIDDEN)
BALLOT_MAX_BYTES = 256 * 1024  # 50 options with their proofs stay far below


def _json_body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > BALLOT_MAX_BYTES:
        raise ValidationError(_("The request is too large."))
    try:
        data = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # JSONDecodeError is a ValueError
        raise ValidationError(_("The request is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise ValidationError(_("The request is not valid JSON."))
    return data


def _refused(exc: ValidationError, status: int = 400) -> JsonResponse:
    return JsonResponse({"ok": False, "error": " ".join(exc.messages)}, status=status)


@resident_page(None)
def my_votes(request: HttpRequest) -> HttpResponse:
    person = selectors.resident_person(request.user)
    rows = []
    found = selectors.resident_votes(request.user, person=person)
    voted = svc.voted_in([(vote, [v for v, _p in lines]) for vote, lines in found])
    for vote, lines in found:
        rows.append(
            {
                "vote": vote,
                "lines": lines,
                "open": voting_now(vote),
                "voted": all(v.pk in voted for v, _p in lines),
            }
        )
    context = {
        "rows": rows,
        "objections": selectors.lists_open_for_objection(request.user),
        "trustee_roles": selectors.trustee_roles(request.user).exists(),
        "registered": person is not None,
    }
    return render(request, "participation/votes/mine.html", context)


@resident_page(None, methods=("GET", "POST"))
def ballot(request: HttpRequest, uid: str) -> HttpResponse:
    vote, lines = selectors.get_resident_vote(request.user, uid)
    if not lines:
        raise Http404("not on this vote's roll")
    by_pk = {v.pk: (v, proxy) for v, proxy in lines}
    if request.method == "POST":
        try:
            data = _json_body(request)
            chosen = by_pk.get(int(data.get("voter") or 0))
            if chosen is None:
                raise ValidationError(_("Choose whom you vote for."))
            voter, proxy = chosen
            receipt = svc.ballot_cast(voter=voter, ballot=data.get("ballot"), request=request)
        except (ValidationError, ValueError, TypeError) as exc:
            error = (
                exc if isinstance(exc, ValidationError) else ValidationError(_("The request is not valid."))
            )
            return _refused(error)
        return JsonResponse(
            {
                "ok": True,
                "tracker": receipt.tracker,
                "replaced": receipt.replaced,
                "board": reverse("participation:public_vote", args=[vote.uid])
                + f"?tracker={receipt.tracker}",
            }
        )
    open_now = voting_now(vote)
    ballots = []
    if open_now:
        for voter, proxy in lines:
            ballots.append(
                {
                    "voter": voter,
                    "proxy": proxy,
                    "script_id": f"ballot-{voter.pk}",
                    "data": {
                        "voter": voter.pk,
                        "key": vote.public_key,
                        "manifestHash": vote.manifest_hash,
                        "credential": svc.credential_for(vote, voter),
                        "maxChoices": vote.max_choices,
                        "options": len(vote.manifest["options"]),
                    },
                }
            )
    context = {
        "vote": vote,
        "options": vote.manifest.get("options", []),
        "ballots": ballots,
        "open_now": open_now,
        "not_yet": vote.status == VoteStatus.OPEN and vote.opens_at and timezone.now() < vote.opens_at,
    }
    response = render(request, "participation/votes/ballot.html", context)
    response["Cache-Control"] = "no-store"
    return response


@resident_page(None, methods=("GET", "POST"))
def objection(request: HttpRequest, uid: str) -> HttpResponse:
    vote = selectors.get_objectable_vote(request.user, uid)
    person = selectors.resident_person(request.user)
    lines = [
        (v.pk, v.label) for v in vote.voters.filter(removed_at__isnull=True).order_by("label", "pk")[:2000]
    ]
    form = ResidentObjectionForm(request.POST or None, lines=lines)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        kind = ObjectionKind.LEFT_OUT if data["kind"] == "left_out_other" else data["kind"]
        try:
            if data["kind"] == "left_out":
                person_id = person.pk if person is not None else 0
                if not person_id:
                    raise ValidationError(
                        {"kind": _("You are not in this community's registry: name the person instead.")}
                    )
            elif data["kind"] == "left_out_other":
                person_id = svc.objection_person(
                    vote, actor=request.user, name=data["name"], id_number=data["id_number"], request=request
                )
            else:
                line = vote.voters.filter(pk=data["line"] or 0, removed_at__isnull=True).first()
                person_id = line.person_id if line is not None and line.person_id else 0
                if not person_id:
                    raise ValidationError({"line": _("Choose the line of the list you object to.")})
            svc.objection_file(
                actor=request.user,
                vote=vote,
                person_id=person_id,
                kind=kind,
                reason=data["reason"],
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(
                form, exc, {"person_id": "name" if data["kind"] == "left_out_other" else "line"}
            )
        else:
            messages.success(
                request, _("Your objection is recorded. The election committee decides it within three days.")
            )
            return redirect("participation:my_votes")
    status = 400 if request.method == "POST" else 200
    return render(request, "participation/votes/objection.html", {"vote": vote, "form": form}, status=status)


# --- Trustees --------------------------------------------------------------------------------------


@resident_page(None)
def trustee_home(request: HttpRequest) -> HttpResponse:
    roles = list(selectors.trustee_roles(request.user))
    return render(request, "participation/votes/trustee_home.html", {"roles": roles})


def _own_trustee(request: HttpRequest, pk: int) -> Trustee:
    trustee = selectors.trustee_roles(request.user).filter(pk=pk).first()
    if trustee is None:
        raise Http404("not your trustee role")
    return trustee


@resident_page(None, methods=("GET", "POST"))
def trustee_key(request: HttpRequest, pk: int) -> HttpResponse:
    trustee = _own_trustee(request, pk)
    vote: Vote = trustee.vote
    if request.method == "POST":
        try:
            data = _json_body(request)
            svc.trustee_key_submit(
                actor=request.user,
                trustee=trustee,
                public_key=str(data.get("public_key", "")),
                proof=data.get("proof"),
                request=request,
            )
        except ValidationError as exc:
            return _refused(exc)
        except PermissionDenied as exc:
            return JsonResponse({"ok": False, "error": str(exc)}, status=403)
        return JsonResponse({"ok": True})
    context = {
        "trustee": trustee,
        "vote": vote,
        "data": {"vote": str(vote.uid), "position": trustee.position, "title": vote.title},
        "can_make": vote.status == VoteStatus.DRAFT and trustee.keyed_at is None,
    }
    response = render(request, "participation/votes/trustee_key.html", context)
    response["Cache-Control"] = "no-store"
    return response


@resident_page(None, methods=("GET", "POST"))
def trustee_count(request: HttpRequest, pk: int) -> HttpResponse:
    trustee = _own_trustee(request, pk)
    vote: Vote = trustee.vote
    if request.method == "POST":
        try:
            data = _json_body(request)
            svc.trustee_decrypt_submit(
                actor=request.user,
                trustee=trustee,
                shares=data.get("shares"),
                shares_area=data.get("shares_area") or [],
                request=request,
            )
        except ValidationError as exc:
            return _refused(exc)
        except PermissionDenied as exc:
            return JsonResponse({"ok": False, "error": str(exc)}, status=403)
        return JsonResponse({"ok": True, "result": reverse("participation:public_vote", args=[vote.uid])})
    context = {
        "trustee": trustee,
        "vote": vote,
        "data": {
            "vote": str(vote.uid),
            "position": trustee.position,
            "manifestHash": vote.manifest_hash,
            "publicKey": trustee.public_key,
            "board": reverse("participation:public_board_json", args=[vote.uid]),
        },
        "can_count": vote.status == VoteStatus.CLOSED and trustee.decrypted_at is None,
    }
    response = render(request, "participation/votes/trustee_count.html", context)
    response["Cache-Control"] = "no-store"
    return response
