"""Staff pages of polls, owners' votes and elections: the list, a new vote, one vote with its setup
steps in order (ballot, electorate, trustees, times, opening, closing, by-election), and its roll
with corrections, objections and proxies. Thin: forms parse, ``services.votes`` decides."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import guards
from shequ.core import selectors as core_selectors
from shequ.core.forms import PlatformForm, apply_service_errors
from shequ.core.permissions import has_perm
from shequ.participation import selectors_votes as selectors
from shequ.participation.forms_votes import (
    CandidateForm,
    DecideForm,
    ObjectionForm,
    OptionForm,
    ProxyForm,
    RepresentativeForm,
    ScheduleForm,
    TrusteeForm,
    VoteForm,
    VoterAddForm,
    VoterRemoveForm,
)
from shequ.participation.models import (
    Electorate,
    KeyMode,
    Objection,
    Vote,
    VoteKind,
    Voter,
    VoteStatus,
)
from shequ.participation.permissions import PartPerm as P
from shequ.participation.services import votes as svc
from shequ.participation.services.votes.rolls import DECIDE_DAYS

FORBIDDEN = "participation/votes/forbidden.html"
votes_page = functools.partial(guards.page, template=FORBIDDEN)
ROLL_PAGE = 200


@votes_page(P.VIEW)
def vote_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    status = status if status in VoteStatus.values else ""
    votes = list(selectors.vote_list(viewer=request.user, status=status)[:200])
    context = {
        "votes": votes,
        "status": status,
        "statuses": VoteStatus.choices,
        "may_create": has_perm(request.user, P.RUN_VOTES),
    }
    return render(request, "participation/votes/list.html", context)


@votes_page(P.RUN_VOTES, methods=("GET", "POST"))
def vote_new(request: HttpRequest) -> HttpResponse:
    form = VoteForm(request.POST or None, viewer=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            vote = svc.vote_create(
                actor=request.user,
                region=data["region"],
                kind=data["kind"],
                title=data["title"],
                description=data["description"],
                electorate=data["electorate"],
                matter=data["matter"],
                quorum=data["quorum"],
                max_choices=data["max_choices"],
                seats=data.get("seats") or 0,
                cutoff_date=data["cutoff_date"],
                opens_at=data["opens_at"],
                closes_at=data["closes_at"],
                election_day=data.get("election_day"),
                residence_rule=data["residence_rule"],
                allow_proxy=data.get("allow_proxy", False),
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Vote created. Add the options, then compute the electorate."))
            return redirect("participation:vote", pk=vote.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "participation/votes/new.html", {"form": form}, status=status)


def _roll_choices(vote: Vote) -> list[tuple[int, str]]:
    return [
        (pid, f"{label} ({pid})")
        for pid, label in vote.voters.filter(removed_at__isnull=True, person__isnull=False)
        .order_by("label", "pk")
        .values_list("person_id", "label")[:2000]
    ]


def _detail(
    request: HttpRequest, vote: Vote, forms: dict[str, PlatformForm] | None = None, status: int = 200
) -> HttpResponse:
    forms = forms or {}
    may_run = has_perm(request.user, P.RUN_VOTES, vote.region_code)
    draft = vote.status == VoteStatus.DRAFT
    roll = vote.voters.filter(removed_at__isnull=True)
    context: dict[str, Any] = {
        "vote": vote,
        "options": list(vote.options.order_by("position").select_related("person")),
        "trustees": list(vote.trustees.order_by("position").select_related("user")),
        "roll_count": roll.count(),
        "voted_count": svc.voted_count(vote),
        "pending_objections": vote.objections.filter(decided_at__isnull=True).count(),
        "problems": svc.readiness(vote) if draft else {},
        "may_run": may_run,
        "draft": draft,
        "candidates_open": draft and vote.is_election and vote.candidates_final_at is None,
        "options_open": draft and not vote.is_election,
        "can_close": vote.status == VoteStatus.OPEN
        and vote.closes_at is not None
        and vote.closes_at <= timezone.now(),
        "can_by_elect": vote.status == VoteStatus.DECIDED
        and vote.kind == VoteKind.ELECTION
        and vote.result.get("outcome", {}).get("empty_seats")
        and not vote.by_elections.exists(),
        "result_rows": result_rows(vote),
        "option_form": forms.get("option_add") or OptionForm(),
        "candidate_form": forms.get("candidate_add")
        or CandidateForm(voters=_roll_choices(vote) if vote.is_election and draft else []),
        "trustee_form": forms.get("trustee_add") or TrusteeForm(),
        "schedule_form": forms.get("schedule")
        or ScheduleForm(
            initial={
                "opens_at": vote.opens_at,
                "closes_at": vote.closes_at,
                "election_day": vote.election_day,
            }
        ),
        "trustee_mode": vote.key_mode == KeyMode.TRUSTEES,
        "by_elections": list(vote.by_elections.all()),
    }
    return render(request, "participation/votes/detail.html", context, status=status)


def result_rows(vote: Vote) -> list[dict[str, Any]]:
    """One row per option: the counts (and floor area), elected or carried."""
    if vote.status != VoteStatus.DECIDED:
        return []
    result, outcome = vote.result, vote.result.get("outcome", {})
    winners = set(outcome.get("elected", [])) | set(outcome.get("passed", []))
    ties = set(outcome.get("ties", []))
    rows = []
    for i, label in enumerate(vote.manifest.get("options", [])):
        rows.append(
            {
                "label": label,
                "votes": result["counts"][i],
                "area": result["counts_area"][i] / 100 if result.get("counts_area") else None,
                "won": i in winners,
                "tied": i in ties,
            }
        )
    return rows


Action = Callable[[HttpRequest, Vote], "PlatformForm | None"]


def _option_add(request: HttpRequest, vote: Vote) -> PlatformForm | None:
    form = OptionForm(request.POST)
    if form.is_valid():
        svc.option_add(actor=request.user, vote=vote, label=form.cleaned_data["label"], request=request)
        return None
    return form


def _candidate_add(request: HttpRequest, vote: Vote) -> PlatformForm | None:
    form = CandidateForm(request.POST, voters=_roll_choices(vote))
    if form.is_valid():
        svc.option_add(
            actor=request.user,
            vote=vote,
            person_id=form.cleaned_data["person"],
            nominated_by=form.cleaned_data["nominated_by"],
            request=request,
        )
        return None
    return form


def _option_withdraw(request: HttpRequest, vote: Vote) -> PlatformForm | None:
    option = vote.options.filter(pk=_int(request.POST.get("option"))).first()
    if option is None:
        raise ValidationError(_("Choose an option of this vote."))
    svc.option_withdraw(actor=request.user, option=option, request=request)
    return None


def _trustee_add(request: HttpRequest, vote: Vote) -> PlatformForm | None:
    form = TrusteeForm(request.POST)
    if form.is_valid():
        user = core_selectors.active_user_named(form.cleaned_data["username"])
        if user is None:
            form.add_error("username", _("No active account has this name."))
            return form
        svc.trustee_add(actor=request.user, vote=vote, user=user, request=request)
        return None
    return form


def _schedule(request: HttpRequest, vote: Vote) -> PlatformForm | None:
    form = ScheduleForm(request.POST)
    if form.is_valid():
        svc.vote_schedule(
            actor=request.user,
            vote=vote,
            opens_at=form.cleaned_data["opens_at"],
            closes_at=form.cleaned_data["closes_at"],
            election_day=form.cleaned_data.get("election_day"),
            request=request,
        )
        return None
    return form


def _simple(step: Callable[..., Any]) -> Action:
    def act(request: HttpRequest, vote: Vote) -> PlatformForm | None:
        step(actor=request.user, vote=vote, request=request)
        return None

    return act


ACTIONS: dict[str, tuple[Action, str]] = {
    "option_add": (_option_add, _("Option added.")),
    "candidate_add": (_candidate_add, _("Candidate nominated.")),
    "option_withdraw": (_option_withdraw, _("Removed from the ballot.")),
    "finalize": (_simple(svc.candidates_finalize), _("The candidate list is final.")),
    "trustee_add": (_trustee_add, _("Trustee named: they are asked to make their key share on their phone.")),
    "roll_compute": (_simple(svc.roll_compute), _("The electorate is computed from the registry.")),
    "roll_publish": (
        _simple(svc.roll_publish),
        _("The voter list is published: objections are open for five days."),
    ),
    "schedule": (_schedule, _("Voting times saved.")),
    "open": (
        _simple(svc.vote_open),
        _("The vote is open: the ballot box and its public board have started."),
    ),
    "close": (_simple(svc.vote_close), _("The vote is closed.")),
    "by_election": (
        _simple(svc.by_election_create),
        _("By-election called: set its times and let the trustees make new keys."),
    ),
}


@votes_page(P.VIEW, methods=("GET", "POST"))
def vote_detail(request: HttpRequest, pk: int) -> HttpResponse:
    vote = selectors.get_vote_for(request.user, pk)
    if request.method != "POST":
        return _detail(request, vote)
    name = request.POST.get("action", "")
    if name not in ACTIONS:
        messages.error(request, _("Choose one of the steps on this page."))
        return _detail(request, vote, status=400)
    action, done = ACTIONS[name]
    try:
        form = action(request, vote)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        vote.refresh_from_db()
        return _detail(request, vote, status=400)
    if form is not None:
        return _detail(request, vote, {name: form}, status=400)
    messages.success(request, done)
    if name == "by_election":
        child = vote.by_elections.order_by("-pk").first()
        if child is not None:
            return redirect("participation:vote", pk=child.pk)
    return redirect("participation:vote", pk=vote.pk)


def _roll_page(
    request: HttpRequest, vote: Vote, forms: dict[str, PlatformForm] | None = None, status: int = 200
) -> HttpResponse:
    forms = forms or {}
    query = request.GET.get("q", "").strip()[:20]
    lines = vote.voters.order_by("removed_at", "label", "pk")
    if query:
        lines = lines.filter(label__contains=query)
    page = Paginator(lines, ROLL_PAGE).get_page(request.GET.get("page"))
    draft = vote.status == VoteStatus.DRAFT
    # The proxy form's lists only where written proxies are allowed (up to 2,000 lines each).
    choices = _proxy_lines(vote) if vote.allow_proxy else []
    objections = list(selectors.objections_of(vote))
    proxies = list(vote.proxies.select_related("voter", "holder", "holder_account"))
    now = timezone.now()
    for o in objections:
        # The law gives the committee three days to decide an objection.
        o.decide_by = o.filed_at + dt.timedelta(days=DECIDE_DAYS)  # type: ignore[attr-defined]
        o.late = o.decided_at is None and now > o.decide_by  # type: ignore[attr-defined]
        form = DecideForm(initial={"objection": o.pk}, prefix=f"o{o.pk}") if o.decided_at is None else None
        o.decide_form = form  # type: ignore[attr-defined]
    context = {
        "vote": vote,
        "page": page,
        "query": query,
        "draft": draft,
        "may_run": has_perm(request.user, P.RUN_VOTES, vote.region_code),
        "add_form": forms.get("voter_add") or VoterAddForm(),
        "remove_form": VoterRemoveForm(),
        "proxy_form": forms.get("proxy") or ProxyForm(lines=choices),
        "objection_form": forms.get("objection") or ObjectionForm(),
        "objections": objections,
        "decide_forms": {
            o.pk: DecideForm(initial={"objection": o.pk}) for o in objections if o.decided_at is None
        },
        "proxies": proxies,
        "representatives": [p for p in proxies if p.holder_account_id],
        "developer_line": _developer_line(vote) if vote.electorate == Electorate.OWNERS else None,
        "representative_form": forms.get("representative") or RepresentativeForm(),
        # Who has voted shows line by line only after closing, when the marks are written: watched
        # while ballots arrive, a new mark beside the board's newest entry would name its voter.
        "show_marks": vote.status in (VoteStatus.CLOSED, VoteStatus.DECIDED),
        "voting": vote.status == VoteStatus.OPEN,
        "voted_count": svc.voted_count(vote) if vote.status == VoteStatus.OPEN else 0,
    }
    return render(request, "participation/votes/roll.html", context, status=status)


@votes_page(P.VIEW, methods=("GET", "POST"))
def vote_roll(request: HttpRequest, pk: int) -> HttpResponse:
    vote = selectors.get_vote_for(request.user, pk)
    if request.method != "POST":
        return _roll_page(request, vote)
    name = request.POST.get("action", "")
    forms: dict[str, PlatformForm] = {}
    try:
        if name == "voter_add":
            form: PlatformForm = VoterAddForm(request.POST)
            if form.is_valid():
                svc.voter_add(actor=request.user, vote=vote, request=request, **form.cleaned_data)
                messages.success(request, _("Added to the list."))
                return redirect("participation:vote_roll", pk=vote.pk)
        elif name == "voter_remove":
            form = VoterRemoveForm(request.POST)
            if form.is_valid():
                voter = vote.voters.filter(pk=form.cleaned_data["voter"]).first()
                if voter is None:
                    raise ValidationError(_("Choose a line of this list."))
                svc.voter_remove(
                    actor=request.user, voter=voter, reason=form.cleaned_data["reason"], request=request
                )
                messages.success(request, _("Removed from the list."))
                return redirect("participation:vote_roll", pk=vote.pk)
        elif name == "proxy":
            form = ProxyForm(request.POST, lines=_proxy_lines(vote))
            if form.is_valid():
                data = form.cleaned_data
                svc.proxy_record(
                    actor=request.user,
                    voter=vote.voters.get(pk=data["voter"]),
                    holder=vote.voters.get(pk=data["holder"]),
                    relation=data["relation"],
                    document=data["document"],
                    request=request,
                )
                messages.success(request, _("Proxy recorded."))
                return redirect("participation:vote_roll", pk=vote.pk)
        elif name == "representative":
            form = RepresentativeForm(request.POST)
            if form.is_valid():
                line = _developer_line(vote)
                user = core_selectors.active_user_named(form.cleaned_data["username"])
                if line is None:
                    raise ValidationError(_("This vote has no developer's line."))
                if user is None:
                    form.add_error("username", _("No active account has this name."))
                else:
                    svc.representative_record(
                        actor=request.user,
                        voter=line,
                        account=user,
                        document=form.cleaned_data["document"],
                        request=request,
                    )
                    messages.success(request, _("The developer's representative is recorded."))
                    return redirect("participation:vote_roll", pk=vote.pk)
        elif name == "objection":
            form = ObjectionForm(request.POST)
            if form.is_valid():
                svc.objection_file(actor=request.user, vote=vote, request=request, **form.cleaned_data)
                messages.success(request, _("Objection recorded: decide it within three days."))
                return redirect("participation:vote_roll", pk=vote.pk)
        elif name == "decide":
            prefix = f"o{_int(request.POST.get('objection'))}"
            form = DecideForm(request.POST, prefix=prefix)
            if form.is_valid():
                objection = Objection.objects.filter(vote=vote, pk=form.cleaned_data["objection"]).first()
                if objection is None:
                    raise ValidationError(_("Choose an objection to this list."))
                svc.objection_decide(
                    actor=request.user,
                    objection=objection,
                    upheld=form.cleaned_data["upheld"],
                    answer=form.cleaned_data["answer"],
                    request=request,
                )
                messages.success(request, _("Objection decided; the list is corrected where it was upheld."))
                return redirect("participation:vote_roll", pk=vote.pk)
        else:
            messages.error(request, _("Choose one of the steps on this page."))
            return _roll_page(request, vote, status=400)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _roll_page(request, vote, status=400)
    forms[name] = form
    return _roll_page(request, vote, forms, status=400)


def _developer_line(vote: Vote) -> Voter | None:
    """The line of the developer's unsold houses (owners' votes), if the roll has one."""
    return vote.voters.filter(person__isnull=True, removed_at__isnull=True).first()


def _proxy_lines(vote: Vote) -> list[tuple[int, str]]:
    return [
        (v.pk, v.label) for v in vote.voters.filter(removed_at__isnull=True).order_by("label", "pk")[:2000]
    ]


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
