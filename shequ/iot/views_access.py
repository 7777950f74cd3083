"""Access-control pages: residents' visitor passes (phone), the guard's gate check (phone),
credentials on a person's or a house's page, unknown plates and residents' vehicles.

Thin views: forms parse, ``services.access`` checks and writes (a ``ValidationError`` lands on the
fields it names and nothing is saved), ``selectors`` read within the viewer's scope.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shequ.core import guards
from shequ.core.auth import qr_data_uri
from shequ.core.forms import PlatformForm
from shequ.iot import selectors
from shequ.iot.models import CredentialKind, VisitorPass
from shequ.iot.permissions import IotPerm as P
from shequ.iot.services import access

FORBIDDEN = "iot/access/forbidden.html"
PASSES_SHOWN = 30


def _form_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# --- Visitor passes (residents) ---------------------------------------------------------------


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


class PassForm(PlatformForm):
    visitor_name = forms.CharField(
        label=gettext_lazy("Visitor's name"),
        max_length=50,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    plate = forms.CharField(
        label=gettext_lazy("Plate (if they come by car)"),
        required=False,
        max_length=12,
        help_text=gettext_lazy("For example 湘A12345."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    valid_from = forms.DateTimeField(
        label=gettext_lazy("Valid from"), input_formats=["%Y-%m-%dT%H:%M"], widget=LocalDateTimeInput()
    )
    valid_until = forms.DateTimeField(
        label=gettext_lazy("Valid until"),
        input_formats=["%Y-%m-%dT%H:%M"],
        widget=LocalDateTimeInput(),
        help_text=gettext_lazy("At most 7 days after the start."),
    )
    max_uses = forms.IntegerField(
        label=gettext_lazy("Entries allowed"), min_value=1, max_value=access.PASS_MAX_USES, initial=1
    )
    house = forms.TypedChoiceField(label=gettext_lazy("For the house"), coerce=int)

    def __init__(self, *args: Any, houses: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["house"]
        field.choices = [(h.pk, str(h)) for h in houses]
        if len(houses) == 1:
            field.widget = forms.HiddenInput()
            field.initial = houses[0].pk


@guards.page(P.PASS, methods=("GET", "POST"), template=FORBIDDEN)
def passes(request: HttpRequest) -> HttpResponse:
    """The resident's passes and the form for a new one."""
    houses = access.pass_houses(request.user)
    now = timezone.localtime().replace(second=0, microsecond=0)
    initial = {"valid_from": now, "valid_until": now + dt.timedelta(hours=4), "max_uses": 1}
    posted = request.method == "POST"
    form = PassForm(request.POST if posted and houses else None, initial=initial, houses=houses)
    if posted and houses and form.is_valid():
        data = form.cleaned_data
        house = next(h for h in houses if h.pk == data["house"])
        try:
            created = access.visitor_pass_create(
                actor=request.user,  # type: ignore[arg-type]
                house=house,
                visitor_name=data["visitor_name"],
                plate=data["plate"],
                valid_from=data["valid_from"],
                valid_until=data["valid_until"],
                max_uses=data["max_uses"],
                request=request,
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            return redirect("iot:pass_detail", pk=created.pk)
    mine = list(selectors.my_pass_list(viewer=request.user)[:PASSES_SHOWN])
    return render(
        request,
        "iot/access/passes.html",
        {"form": form, "houses": houses, "passes": [(p, _state(p)) for p in mine]},
        status=400 if form.errors else 200,
    )


def _state(vp: VisitorPass) -> tuple[str, str]:
    """(css class, label) of a pass for its resident."""
    reason = access.refusal(vp, timezone.now())
    if not reason:
        return "ok", _("Valid")
    return "bad" if reason in ("revoked", "expired", "used_up") else "warn", str(access.REFUSALS[reason])


def _gate_link(request: HttpRequest, code: str) -> str:
    return request.build_absolute_uri(reverse("iot:gate_check")) + f"?code={code}"


@guards.page(P.PASS, template=FORBIDDEN)
def pass_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The pass to show at the gate or to send to the visitor: the code in big letters and a QR."""
    vp = selectors.get_my_pass(request.user, pk)
    link = _gate_link(request, vp.code)
    return render(
        request,
        "iot/access/pass_detail.html",
        {
            "vp": vp,
            "state": _state(vp),
            "qr": qr_data_uri(link),
            "share": _(
                "Visitor pass for %(name)s: code %(code)s, valid %(start)s to %(end)s. Show the code or the "
                "QR code at the gate."
            )
            % {
                "name": vp.visitor_name,
                "code": vp.code,
                "start": timezone.localtime(vp.valid_from).strftime("%m-%d %H:%M"),
                "end": timezone.localtime(vp.valid_until).strftime("%m-%d %H:%M"),
            },
            "left": max(0, vp.max_uses - vp.uses),
        },
    )


@guards.page(P.PASS, methods=("POST",), template=FORBIDDEN)
def pass_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    vp = selectors.get_my_pass(request.user, pk)
    access.visitor_pass_revoke(actor=request.user, visitor_pass=vp, request=request)  # type: ignore[arg-type]
    messages.success(request, _("The pass was revoked: the gate no longer lets it in."))
    return redirect("iot:pass_detail", pk=vp.pk)


# --- The guard's gate check -----------------------------------------------------------------------


class GateForm(PlatformForm):
    code = forms.CharField(
        label=gettext_lazy("Pass code"),
        max_length=300,
        help_text=gettext_lazy("8 letters and digits, or scan the visitor's QR code."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )


@guards.page(P.GUARD, methods=("GET", "POST"), template=FORBIDDEN)
def gate_check(request: HttpRequest) -> HttpResponse:
    """Type or scan a code → allowed or refused, with the reason in big letters. A GET (the link of
    a scanned QR code) only fills the form: an entry is used by pressing the button."""
    posted = request.method == "POST"
    form = GateForm(request.POST if posted else None, initial={"code": request.GET.get("code", "")[:12]})
    result = None
    if posted and form.is_valid():
        result = access.pass_check(code=form.cleaned_data["code"], actor=request.user, request=request)
        form = GateForm()
    return render(
        request,
        "iot/access/gate.html",
        {"form": form, "result": result, "left": _left(result)},
        status=400 if form.errors else 200,
    )


def _left(result: access.CheckResult | None) -> int | None:
    if result is None or result.visitor_pass is None:
        return None
    return max(0, result.visitor_pass.max_uses - result.visitor_pass.uses)


# --- Credentials on a person's or a house's page --------------------------------------------------


class CredentialForm(PlatformForm):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=CredentialKind.choices)
    value = forms.CharField(
        label=gettext_lazy("Card number or plate"),
        max_length=40,
        help_text=gettext_lazy("Only a masked form is kept; the full number is not stored."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class HouseCredentialForm(CredentialForm):
    person = forms.TypedChoiceField(label=gettext_lazy("Resident"), coerce=int)

    def __init__(self, *args: Any, people: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["person"]
        field.choices = [("", "")] + [(p.pk, p.name) for p in people]
        self.order_fields(["person", "kind", "value"])


def _credentials_page(
    request: HttpRequest,
    *,
    region_code: str,
    title: str,
    person: Any = None,
    house: Any = None,
    people: list[Any] | None = None,
) -> HttpResponse:
    guards.require(request, (P.ACCESS, P.MANAGE), region_code=region_code)
    can_manage = guards.allows(request.user, P.MANAGE, region_code)
    posted = request.method == "POST"
    if posted:
        guards.require(request, P.MANAGE, region_code=region_code)
    form: CredentialForm = (
        HouseCredentialForm(request.POST if posted else None, people=people or [])
        if house is not None
        else CredentialForm(request.POST if posted else None)
    )
    if posted and form.is_valid():
        data = form.cleaned_data
        who = person if person is not None else next(p for p in people or [] if p.pk == data["person"])
        try:
            access.credential_register(
                actor=request.user,
                person=who,
                kind=data["kind"],
                value=data["value"],
                house=house,
                request=request,
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("The credential was registered."))
            return redirect(request.path)
    rows = list(
        selectors.credential_list(
            viewer=request.user,
            person_id=person.pk if person is not None else None,
            house_id=house.pk if house is not None else None,
        )
    )
    selectors.record_credential_read(
        viewer=request.user,
        rows=rows,
        request=request,
        what=f"person:{person.pk}" if person is not None else f"house:{house.pk}",
    )
    return render(
        request,
        "iot/access/credentials.html",
        {
            "title": title,
            "rows": rows,
            "form": form if can_manage else None,
            "person": person,
            "house": house,
        },
        status=400 if form.errors else 200,
    )


@guards.page((P.ACCESS, P.MANAGE), methods=("GET", "POST"), template=FORBIDDEN)
def person_credentials(request: HttpRequest, person_id: int) -> HttpResponse:
    from shequ.registry.selectors import get_person_for

    person = get_person_for(request.user, person_id)  # 404 outside the viewer's scope
    return _credentials_page(
        request,
        region_code=person.region_code,
        title=_("Cards and plates of %(name)s") % {"name": person.name},
        person=person,
    )


@guards.page((P.ACCESS, P.MANAGE), methods=("GET", "POST"), template=FORBIDDEN)
def house_credentials(request: HttpRequest, house_id: int) -> HttpResponse:
    from shequ.registry.selectors import get_house_for, person_list

    house = get_house_for(request.user, house_id)  # 404 outside the viewer's scope
    people = list(person_list(viewer=request.user, house=house))
    return _credentials_page(
        request,
        region_code=house.region_code,
        title=_("Cards and plates at %(house)s") % {"house": str(house)},
        house=house,
        people=people,
    )


@guards.page(P.MANAGE, methods=("POST",), template=FORBIDDEN)
def credential_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    credential = selectors.get_credential_for(request.user, pk)
    access.credential_revoke(actor=request.user, credential=credential, request=request)
    messages.success(request, _("The credential was revoked."))
    back = request.POST.get("next", "")
    if back.startswith("/iot/access/") and "//" not in back:
        return redirect(back)
    return redirect("iot:person_credentials", person_id=credential.person_id)


# --- Plates --------------------------------------------------------------------------------------


@guards.page(P.ACCESS, template=FORBIDDEN)
def plates(request: HttpRequest) -> HttpResponse:
    """Unknown plates seen at gates in the last 7 days, and the residents' registered vehicles
    (that list names people: its read is audited)."""
    unknown = selectors.unknown_plates(viewer=request.user)
    vehicles = list(selectors.credential_list(viewer=request.user, kind=CredentialKind.PLATE)[:500])
    selectors.record_credential_read(viewer=request.user, rows=vehicles, request=request, what="vehicles")
    return render(request, "iot/access/plates.html", {"unknown": unknown, "vehicles": vehicles})
