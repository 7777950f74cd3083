"""Daily check-in pages (epidemic mode): the campaigns of the viewer's area, a new one, and one
campaign with each day's round — answered, "something wrong", missing — linking to the round's
roll-call. Writes go through ``services.checkins`` (scope-checked and audited there)."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import guards
from shequ.core.forms import apply_service_errors
from shequ.core.models import User
from shequ.core.permissions import has_perm
from shequ.emergency import selectors_checkins as selectors
from shequ.emergency.forms_checkins import CampaignForm, StopForm
from shequ.emergency.models import CheckInCampaign
from shequ.emergency.permissions import EmergencyPerm as P
from shequ.emergency.services import checkins

FORBIDDEN = "emergency/checkins/forbidden.html"
checkin_page = functools.partial(guards.page, template=FORBIDDEN)


def roll_call_url(pk: int) -> str:
    """A round's roll-call: the call-out page (a round is a call-out of kind check-in)."""
    return reverse("emergency:callout", args=[pk])


def _states(campaigns: list[CheckInCampaign]) -> list[CheckInCampaign]:
    today = timezone.localdate()
    for c in campaigns:
        c.state = selectors.campaign_state(c, today)  # type: ignore[attr-defined]
    return campaigns


@checkin_page(P.VIEW)
def campaign_list(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    campaigns = _states(list(selectors.campaign_list(viewer=viewer)[:100]))
    context = {"campaigns": campaigns, "can_start": has_perm(viewer, P.MOBILIZE)}
    return render(request, "emergency/checkins/list.html", context)


@checkin_page(P.MOBILIZE, methods=("GET", "POST"))
def campaign_new(request: HttpRequest) -> HttpResponse:
    viewer = cast(User, request.user)  # the page guard lets signed-in accounts only
    today = timezone.localdate()
    form = CampaignForm(
        request.POST if request.method == "POST" else None,
        viewer=viewer,
        initial={"starts_on": today, "ends_on": today + dt.timedelta(days=13)},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = checkins.campaign_start(
                actor=viewer,
                title=data["title"],
                question=data["question"],
                targets=form.targets(),
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                send_at=data["send_at"],
                is_drill=data["is_drill"],
                request=request,
            )
        except ValidationError as exc:
            _apply(form, exc)
        else:
            messages.success(
                request,
                _("Daily check-in “%(title)s” started: a round goes out each day at %(time)s.")
                % {"title": campaign.title, "time": campaign.send_at.strftime("%H:%M")},
            )
            return redirect("emergency:checkin", pk=campaign.pk)
    status = 400 if form.is_bound else 200
    return render(request, "emergency/checkins/new.html", {"form": form}, status=status)


def _apply(form: CampaignForm, exc: ValidationError) -> None:
    """A service's errors on the form's fields (the targets' on the area)."""
    apply_service_errors(form, exc, {"targets": "region"})


def _detail(
    request: HttpRequest, campaign: CheckInCampaign, *, status: int = 200, **extra: Any
) -> HttpResponse:
    viewer = request.user
    rounds = selectors.campaign_rounds(campaign=campaign, viewer=viewer)
    for r in rounds:
        r.url = roll_call_url(r.round.pk)  # type: ignore[attr-defined]
    state = selectors.campaign_state(campaign)
    context = {
        "campaign": campaign,
        "state": state,
        "rounds": rounds,
        "targets": _target_words(campaign),
        "can_stop": campaign.active
        and state != "ended"
        and has_perm(viewer, P.MOBILIZE, campaign.region_code),
        "stop_form": extra.pop("stop_form", None) or StopForm(),
        **extra,
    }
    return render(request, "emergency/checkins/detail.html", context, status=status)


def _target_words(campaign: CheckInCampaign) -> list[str]:
    from shequ.core.selectors import region_names
    from shequ.emergency.models import TargetKind

    names = region_names([t.get("region", "") for t in campaign.targets if t.get("region")])
    words = []
    for t in campaign.targets:
        kind = TargetKind(t["kind"]).label if t.get("kind") in TargetKind.values else t.get("kind", "")
        region = names.get(t.get("region", ""), t.get("region", ""))
        words.append(f"{kind} · {region}" if region else str(kind))
    return words


@checkin_page(P.VIEW)
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, selectors.campaign_get_for(request.user, pk))


@checkin_page(P.VIEW, methods=("POST",))
def campaign_stop(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = selectors.campaign_get_for(request.user, pk)
    guards.require(request, P.MOBILIZE, campaign.region_code)
    form = StopForm(request.POST)
    if not form.is_valid():
        return _detail(request, campaign, status=400, stop_form=form)
    try:
        checkins.campaign_stop(actor=cast(User, request.user), campaign=campaign, request=request)
    except ValidationError as exc:
        return _detail(request, campaign, status=400, failed=exc.messages)
    messages.success(request, _("Check-in stopped: no more rounds are sent."))
    return redirect("emergency:checkin", pk=campaign.pk)
