"""Pages of webhook subscriptions: the list (the security administrator's, or the department's
read-only), registering one on a grant (the signing secret shown once), one subscription with its
recent deliveries and actions (pause/resume, rotate the secret, delete), and the dead letters with
重新投递 and 放弃."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from shequ.core import guards
from shequ.core.components import resources_all
from shequ.core.forms import apply_service_errors
from shequ.sharing import selectors_subscriptions as selectors
from shequ.sharing.forms_subscriptions import GrantChoiceForm, SubscriptionForm
from shequ.sharing.handlers import EVENT_LABELS
from shequ.sharing.models import Subscription
from shequ.sharing.permissions import SharePerm as P
from shequ.sharing.services import subscriptions as services
from shequ.sharing.views_requests import region_names

FORBIDDEN = "sharing/subscriptions/forbidden.html"
SHOWN = 100
DELIVERIES_SHOWN = 30


def _titles() -> dict[str, str]:
    return {key: str(res.title) for key, res in resources_all().items()}


@guards.page((P.SUBSCRIBE, P.REQUEST), template=FORBIDDEN)
def subscription_list(request: HttpRequest) -> HttpResponse:
    titles = _titles()
    rows = [
        (s, titles.get(s.resource, s.resource))
        for s in selectors.subscription_list(viewer=request.user)[:SHOWN]
    ]
    return render(
        request,
        "sharing/subscriptions/list.html",
        {"rows": rows, "manager": guards.allows(request.user, P.SUBSCRIBE)},
    )


@guards.page(P.SUBSCRIBE, methods=("GET", "POST"), template=FORBIDDEN)
def subscription_new(request: HttpRequest) -> HttpResponse:
    grants = selectors.subscribable_grants(viewer=request.user)
    raw = request.POST.get("grant") or request.GET.get("grant") or ""
    grant = grants.filter(pk=int(raw)).first() if raw.isdigit() else None
    if grant is None:
        chooser = GrantChoiceForm(request.GET if raw else None, grants=grants)
        return render(
            request, "sharing/subscriptions/choose.html", {"form": chooser}, status=400 if raw else 200
        )
    posted = request.method == "POST"
    form = SubscriptionForm(
        request.POST if posted else None, grant=grant, event_labels=EVENT_LABELS, initial={"grant": grant.pk}
    )
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            sub, secret = services.subscription_create(
                actor=request.user,
                grant=grant,
                events=data["events"],
                region_codes=[r.code for r in data["regions"]],
                url=data["url"],
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc, {"region_codes": "regions"})
        else:
            return render(request, "sharing/subscriptions/secret.html", {"sub": sub, "secret": secret})
    return render(
        request,
        "sharing/subscriptions/new.html",
        {"form": form, "grant": grant, "title": _titles().get(grant.resource, grant.resource)},
        status=400 if form.errors else 200,
    )


@guards.page((P.SUBSCRIBE, P.REQUEST), template=FORBIDDEN)
def subscription_detail(request: HttpRequest, pk: int) -> HttpResponse:
    sub = selectors.get_subscription_for(request.user, pk)
    deliveries = [
        (d, EVENT_LABELS.get(d.event_name, d.event_name))
        for d in sub.deliveries.order_by("-created_at", "-pk")[:DELIVERIES_SHOWN]
    ]
    return render(
        request,
        "sharing/subscriptions/detail.html",
        {
            "sub": sub,
            "title": _titles().get(sub.resource, sub.resource),
            "events": [EVENT_LABELS.get(e, e) for e in sub.events],
            "regions_shown": region_names(sub.region_codes),
            "deliveries": deliveries,
            "manager": selectors.can_manage(request.user, sub),
        },
    )


def _managed(request: HttpRequest, pk: int) -> Subscription:
    sub = selectors.get_subscription_for(request.user, pk)
    if not selectors.can_manage(request.user, sub):
        guards.require(request, P.SUBSCRIBE, sub.region_code)
    return sub


@guards.page(P.SUBSCRIBE, methods=("POST",), template=FORBIDDEN)
def subscription_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    sub = _managed(request, pk)
    try:
        if action == "pause":
            services.subscription_pause(actor=request.user, subscription=sub, request=request)
            messages.success(request, _("The subscription is paused: no new events are queued."))
        elif action == "resume":
            services.subscription_resume(actor=request.user, subscription=sub, request=request)
            messages.success(request, _("The subscription is active again."))
        elif action == "delete":
            services.subscription_delete(actor=request.user, subscription=sub, request=request)
            messages.success(request, _("The subscription was deleted."))
            return redirect("sharing:subscriptions")
        elif action == "rotate":
            sub, secret = services.subscription_rotate_secret(
                actor=request.user, subscription=sub, request=request
            )
            return render(
                request, "sharing/subscriptions/secret.html", {"sub": sub, "secret": secret, "rotated": True}
            )
        else:
            raise Http404
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("sharing:subscription_detail", pk=sub.pk)


@guards.page(P.SUBSCRIBE, template=FORBIDDEN)
def dead_letters(request: HttpRequest) -> HttpResponse:
    rows = [
        (d, EVENT_LABELS.get(d.event_name, d.event_name))
        for d in selectors.dead_letters(viewer=request.user)[:SHOWN]
    ]
    return render(request, "sharing/subscriptions/dead.html", {"rows": rows})


@guards.page(P.SUBSCRIBE, methods=("POST",), template=FORBIDDEN)
def dead_letter_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    delivery = selectors.get_dead_letter_for(request.user, pk)
    try:
        if action == "redeliver":
            services.delivery_redeliver(actor=request.user, delivery=delivery, request=request)
            messages.success(request, _("Delivery No. %(no)s is queued again.") % {"no": delivery.pk})
        elif action == "discard":
            services.delivery_discard(actor=request.user, delivery=delivery, request=request)
            messages.success(request, _("Delivery No. %(no)s was discarded.") % {"no": delivery.pk})
        else:
            raise Http404
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("sharing:dead_letters")
