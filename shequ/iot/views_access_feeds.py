"""Pages of department feeds: the officer's list, the authorization form (the webhook secret is
shown once), a feed's deliveries, and revoking it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shequ.core import guards
from shequ.core.forms import PlatformForm
from shequ.core.models import Department, Region, RegionLevel, Role, User
from shequ.core.permissions import codes_q, scopes_for
from shequ.iot import selectors
from shequ.iot.models import DeviceKind, FeedMode
from shequ.iot.permissions import IotPerm as P
from shequ.iot.services import feeds
from shequ.iot.views_access import FORBIDDEN, _form_errors

DELIVERIES_SHOWN = 50


class RegionChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name}（{obj.code}）"


class ClientChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name or obj.username}（{obj.username}）"


class FeedForm(PlatformForm):
    name = forms.CharField(label=gettext_lazy("Feed name"), max_length=100)
    department = forms.ModelChoiceField(label=gettext_lazy("Department"), queryset=Department.objects.none())
    client = ClientChoice(
        label=gettext_lazy("Client account"),
        queryset=User.objects.none(),
        help_text=gettext_lazy("A staff account of the department; the pull API answers only to it."),
    )
    regions = RegionChoice(
        label=gettext_lazy("Regions"), queryset=Region.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    kinds = forms.MultipleChoiceField(
        label=gettext_lazy("Device kinds"),
        choices=[(k.value, k.label) for k in feeds.FEED_KINDS],
        widget=forms.CheckboxSelectMultiple,
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("Delivery"), choices=FeedMode.choices, widget=forms.RadioSelect
    )
    url = forms.CharField(
        label=gettext_lazy("Webhook address"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Only for a webhook: an https:// address of the department."),
    )
    authorization = forms.CharField(
        label=gettext_lazy("Authorization"),
        max_length=200,
        help_text=gettext_lazy("The legal basis and the document number, e.g. 岳公函〔2026〕12号."),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        codes = scopes_for(user, P.FEEDS)
        area = codes_q(codes, "code")
        regions: Any = self.fields["regions"]
        regions.queryset = Region.objects.filter(
            area, level__in=(RegionLevel.STREET, RegionLevel.COMMUNITY)
        ).order_by("code")
        near = Q(pk__in=[])
        for code in codes:
            near |= Q(region_code__startswith=code) | Q(
                region_code__in=[code[:n] for n in (2, 4, 6, 9) if n < len(code)]
            )
        department: Any = self.fields["department"]
        department.queryset = Department.objects.filter(near, is_active=True).order_by("region_code", "name")
        client: Any = self.fields["client"]
        client.queryset = (
            User.objects.filter(
                is_active=True,
                memberships__role=Role.DEPARTMENT_STAFF,
                memberships__revoked_at__isnull=True,
                memberships__department__in=department.queryset,
            )
            .distinct()
            .order_by("username")
        )


@guards.page(P.FEEDS, template=FORBIDDEN)
def feed_list(request: HttpRequest) -> HttpResponse:
    rows = (
        selectors.feed_list(viewer=request.user)
        .select_related("department", "client")
        .order_by("-created_at")
    )
    return render(request, "iot/access/feeds.html", {"feeds": rows})


@guards.page(P.FEEDS, methods=("GET", "POST"), template=FORBIDDEN)
def feed_new(request: HttpRequest) -> HttpResponse:
    posted = request.method == "POST"
    form = FeedForm(request.POST if posted else None, user=request.user, initial={"kinds": [DeviceKind.GATE]})
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            feed, secret = feeds.feed_authorize(
                actor=request.user,
                name=data["name"],
                department=data["department"],
                client=data["client"],
                regions=list(data["regions"]),
                kinds=list(data["kinds"]),
                mode=data["mode"],
                url=data["url"],
                authorization=data["authorization"],
                request=request,
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            return render(request, "iot/access/feed_created.html", {"feed": feed, "secret": secret})
    return render(request, "iot/access/feed_new.html", {"form": form}, status=400 if form.errors else 200)


@guards.page(P.FEEDS, template=FORBIDDEN)
def feed_detail(request: HttpRequest, pk: int) -> HttpResponse:
    feed = selectors.get_feed_for(request.user, pk)
    deliveries = feed.deliveries.order_by("-at", "-pk")[:DELIVERIES_SHOWN]
    labels = dict(DeviceKind.choices)
    return render(
        request,
        "iot/access/feed_detail.html",
        {"feed": feed, "deliveries": deliveries, "kinds": [labels.get(k, k) for k in feed.kinds]},
    )


@guards.page(P.FEEDS, methods=("POST",), template=FORBIDDEN)
def feed_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    feed = selectors.get_feed_for(request.user, pk)
    feeds.feed_revoke(actor=request.user, feed=feed, request=request)
    messages.success(request, _("The feed was stopped."))
    return redirect("iot:feed_detail", pk=feed.pk)
