"""The self-service terminal (自助终端): a community's staff member opens kiosk mode on a device;
a resident signs in there with their ID number and a one-time code sent by SMS to the number the
registry holds, applies for an item (materials prefilled, photos from the camera), and prints the
receipt. The staff session stays the actor of every write (audit), the resident's is kept in the
session: only a hash of the code, the person's id and the times.

Session keys: ``KIOSK`` (community, opener), ``RESIDENT`` (person, last seen), ``CODE`` (person,
hash, expiry, attempts) and ``RECEIPTS`` (applications made in this resident session).
"""

from __future__ import annotations

import functools
import hmac
import secrets
import time
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from shequ.core import audit, guards
from shequ.core.forms import apply_service_errors
from shequ.core.messaging import Contact, notify
from shequ.core.models import AuditResult, Region, RegionLevel, User
from shequ.core.models import Channel as MessageChannel
from shequ.core.permissions import codes_q, has_perm, scopes_for
from shequ.govservice import materials as material_kinds
from shequ.govservice import selectors
from shequ.govservice.forms_kiosk import KioskCodeForm, KioskOpenForm, KioskSigninForm
from shequ.govservice.forms_resident import ApplyForm, uploads
from shequ.govservice.models import Application, Channel, Domain, ServiceItem
from shequ.govservice.permissions import GovPerm as P
from shequ.govservice.services import applications as apps
from shequ.govservice.services._common import working_days_from
from shequ.govservice.views_resident import DOMAIN_ORDER, DOMAIN_WORDS, material_rows, present, progress
from shequ.registry import prefill
from shequ.registry import selectors as registry_selectors
from shequ.registry.models import IdType, Person

FORBIDDEN = "govservice/kiosk/forbidden.html"
kiosk_page = functools.partial(guards.page, P.HANDLE, template=FORBIDDEN)

KIOSK = "govservice_kiosk"
RESIDENT = "govservice_kiosk_resident"
CODE = "govservice_kiosk_code"
RECEIPTS = "govservice_kiosk_receipts"
RESIDENT_IDLE_SECONDS = 300  # the server forgets a resident idle this long (the page: 2 minutes)
PAGE_IDLE_SECONDS = 120
CODE_SECONDS = 300
CODE_ATTEMPTS = 5
SENDS = "govservice_kiosk_sends"
SEND_LIMIT = 5  # codes sent from one kiosk session …
SEND_WINDOW = 600  # … in ten minutes (no one is flooded with SMS from a terminal)
KIOSK_ACCEPT = "image/*,application/pdf"


# --- Kiosk mode and the resident signed in --------------------------------------------------------


def _communities(user: Any) -> list[Region]:
    scopes = scopes_for(user, P.HANDLE)
    if not scopes:
        return []
    return list(
        Region.objects.filter(codes_q(scopes, "code"), level=RegionLevel.COMMUNITY).order_by("code")[:300]
    )


def kiosk_community(request: HttpRequest) -> Region | None:
    """The community kiosk mode was opened for on this device, by the user signed in now."""
    state = request.session.get(KIOSK) or {}
    code = str(state.get("community", ""))
    if state.get("opener") != request.user.pk or not code or not has_perm(request.user, P.HANDLE, code):
        return None
    return Region.objects.filter(code=code, level=RegionLevel.COMMUNITY).first()


def _forget_resident(request: HttpRequest) -> None:
    for key in (RESIDENT, CODE, RECEIPTS):
        request.session.pop(key, None)


def kiosk_resident(request: HttpRequest, community: Region) -> Person | None:
    """The resident signed in at the terminal, unless idle too long (then forgotten)."""
    state = request.session.get(RESIDENT) or {}
    if not state:
        return None
    now = time.time()
    if now - float(state.get("seen", 0)) > RESIDENT_IDLE_SECONDS:
        _forget_resident(request)
        return None
    person = _person_in(request, community, int(state.get("person", 0)))
    if person is None:
        _forget_resident(request)
        return None
    request.session[RESIDENT] = {**state, "seen": now}
    return person


def _person_in(request: HttpRequest, community: Region, pk: int) -> Person | None:
    try:
        person = registry_selectors.get_person_for(request.user, pk)
    except Http404:
        return None
    return person if _lives_in(person, community) else None


def _lives_in(person: Person, community: Region) -> bool:
    return person.house is not None and person.house.region_code.startswith(community.code)


def _kiosk_or_open(request: HttpRequest) -> Region | HttpResponse:
    community = kiosk_community(request)
    if community is None:
        messages.info(request, _("Open kiosk mode on this device first."))
        return redirect("govservice:kiosk_open")
    return community


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    return render(
        request,
        f"govservice/kiosk/{template}",
        {"page_idle": PAGE_IDLE_SECONDS, **context},
        status=status,
    )


@kiosk_page(methods=("GET", "POST"))
def kiosk_open(request: HttpRequest) -> HttpResponse:
    communities = _communities(request.user)
    if request.method == "POST" and request.POST.get("close"):
        _forget_resident(request)
        request.session.pop(KIOSK, None)
        messages.success(request, _("Kiosk mode is closed on this device."))
        return redirect("govservice:kiosk_open")
    form = KioskOpenForm(request.POST if request.method == "POST" else None, communities=communities)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["community"]
        guards.require(request, P.HANDLE, code)
        _forget_resident(request)
        request.session[KIOSK] = {"community": code, "opener": request.user.pk, "opened_at": time.time()}
        return redirect("govservice:kiosk")
    status = 400 if form.is_bound else 200
    context = {"form": form, "community": kiosk_community(request)}
    return render(request, "govservice/kiosk/open.html", context, status=status)


# --- Home, signing in --------------------------------------------------------------------------------


def _home(request: HttpRequest, community: Region, *, status: int = 200, **extra: Any) -> HttpResponse:
    person = kiosk_resident(request, community)
    domain = request.GET.get("domain", "")
    domain = domain if domain in Domain.values else ""
    items = list(selectors.item_list(online_only=True))
    present_domains = sorted({i.domain for i in items}, key=lambda d: DOMAIN_ORDER.get(d, 99))
    context = {
        "community": community,
        "person": person,
        "domains": [(d, DOMAIN_WORDS[Domain(d)]) for d in present_domains],
        "domain": domain,
        "domain_words": DOMAIN_WORDS[Domain(domain)] if domain else "",
        "items": [i for i in items if i.domain == domain] if domain else [],
        "signin_form": extra.pop("signin_form", None) or KioskSigninForm(),
        **extra,
    }
    return _render(request, "home.html", context, status=status)


@kiosk_page()
def kiosk(request: HttpRequest) -> HttpResponse:
    community = _kiosk_or_open(request)
    if isinstance(community, HttpResponse):
        return community
    return _home(request, community)


def _code_hash(person_id: int, code: str) -> str:
    return salted_hmac("govservice.kiosk_code", f"{person_id}:{code}").hexdigest()


@kiosk_page(methods=("POST",))
def kiosk_signin(request: HttpRequest) -> HttpResponse:
    community = _kiosk_or_open(request)
    if isinstance(community, HttpResponse):
        return community
    _forget_resident(request)
    form = KioskSigninForm(request.POST)
    if not form.is_valid():
        return _home(request, community, status=400, signin_form=form)
    person = registry_selectors.person_find_by_id(
        viewer=request.user, id_type=IdType.RESIDENT_ID, id_number=form.cleaned_data["id_number"]
    )
    if person is None or not _lives_in(person, community):
        form.add_error(
            "id_number",
            _("This ID number is not in this community's registry. Please ask at the counter."),
        )
        return _home(request, community, status=400, signin_form=form)
    if not person.phone:
        form.add_error(
            "id_number", _("The registry holds no mobile number for you. Please ask at the counter.")
        )
        return _home(request, community, status=400, signin_form=form)
    now = time.time()
    sends = [t for t in request.session.get(SENDS, []) if now - float(t) < SEND_WINDOW]
    if len(sends) >= SEND_LIMIT:
        form.add_error(None, _("Too many codes were sent from this terminal: please wait ten minutes."))
        return _home(request, community, status=429, signin_form=form)
    request.session[SENDS] = [*sends, now]
    code = f"{secrets.randbelow(10**6):06d}"
    notify(
        sender=None,
        recipients=[],
        contacts=[Contact(ref=f"registry.person:{person.pk}", name=person.name)],
        subject=_("Self-service terminal sign-in code"),
        body=_("Your sign-in code is %(code)s (valid for 5 minutes). Do not tell it to anyone.")
        % {"code": code},
        channels=(MessageChannel.SMS,),
        region_code=community.code,
        topic="govservice.kiosk_code",
    )
    request.session[CODE] = {
        "person": person.pk,
        "hash": _code_hash(person.pk, code),
        "expires": time.time() + CODE_SECONDS,
        "attempts": 0,
        "phone": person.masked_phone,
    }
    return redirect("govservice:kiosk_verify")


@kiosk_page(methods=("GET", "POST"))
def kiosk_verify(request: HttpRequest) -> HttpResponse:
    community = _kiosk_or_open(request)
    if isinstance(community, HttpResponse):
        return community
    state = request.session.get(CODE) or {}
    if not state or time.time() > float(state.get("expires", 0)):
        request.session.pop(CODE, None)
        if state:
            messages.error(request, _("The code has expired. Please enter your ID number again."))
        return redirect("govservice:kiosk")
    form = KioskCodeForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            person_id = int(state["person"])
            if hmac.compare_digest(state["hash"], _code_hash(person_id, form.cleaned_data["code"])):
                return _signed_in(request, community, person_id)
            state["attempts"] = int(state.get("attempts", 0)) + 1
            if state["attempts"] >= CODE_ATTEMPTS:
                request.session.pop(CODE, None)
                audit.record(
                    "govservice.kiosk_signin",
                    actor=request.user,
                    request=request,
                    region_code=community.code,
                    object_type="registry.person",
                    object_id=person_id,
                    result=AuditResult.DENIED,
                    reason="too many wrong codes",
                )
                messages.error(request, _("Too many wrong codes. Please enter your ID number again."))
                return redirect("govservice:kiosk")
            request.session[CODE] = state
            left = CODE_ATTEMPTS - state["attempts"]
            form.add_error("code", _("The code is not right: %(n)d tries left.") % {"n": left})
    return _render(
        request,
        "verify.html",
        {"community": community, "form": form, "phone": state.get("phone", "")},
        status=status,
    )


def _signed_in(request: HttpRequest, community: Region, person_id: int) -> HttpResponse:
    request.session.pop(CODE, None)
    person = _person_in(request, community, person_id)
    if person is None:
        return redirect("govservice:kiosk")
    request.session[RESIDENT] = {"person": person.pk, "seen": time.time()}
    request.session[RECEIPTS] = []
    audit.record(
        "govservice.kiosk_signin",
        actor=request.user,
        request=request,
        region_code=community.code,
        object_type="registry.person",
        object_id=person.pk,
        detail={"community": community.code},
    )
    return redirect("govservice:kiosk")


@kiosk_page(methods=("POST",))
def kiosk_signout(request: HttpRequest) -> HttpResponse:
    _forget_resident(request)
    messages.success(request, _("Signed out. Thank you!"))
    return redirect("govservice:kiosk")


# --- Applying and the receipt ----------------------------------------------------------------------


def _apply_page(
    request: HttpRequest,
    community: Region,
    item: ServiceItem,
    facts: prefill.Facts,
    form: ApplyForm,
    *,
    status: int = 200,
) -> HttpResponse:
    rows = material_rows(item, facts)
    context = {
        "community": community,
        "item": item,
        "form": form,
        "filled": [r for r in rows if r["how"] == apps.REGISTRY],
        "to_upload": [r for r in rows if r["how"] != apps.REGISTRY],
        "accept": KIOSK_ACCEPT,
        "person_name": facts.name,
    }
    return _render(request, "apply.html", context, status=status)


@kiosk_page(methods=("GET", "POST"))
def kiosk_apply(request: HttpRequest, code: str) -> HttpResponse:
    community = _kiosk_or_open(request)
    if isinstance(community, HttpResponse):
        return community
    item = selectors.get_item(code)
    person = kiosk_resident(request, community)
    if person is None:
        messages.info(request, _("Please sign in with your ID number first."))
        return redirect("govservice:kiosk")
    facts = prefill.facts_of(person)
    form = ApplyForm(request.POST if request.method == "POST" else None, item=item)
    if request.method != "POST":
        return _apply_page(request, community, item, facts, form)
    if not form.is_valid():
        return _apply_page(request, community, item, facts, form, status=400)
    try:
        application = apps.application_submit(
            actor=request.user,
            item=item,
            channel=Channel.KIOSK,
            region=community,
            applicant=apps.Applicant(facts=facts),
            answers=form.answers(),
            files=uploads(request, [str(m["code"]) for m in item.materials]),
            request=request,
        )
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return _apply_page(request, community, item, facts, form, status=400)
    request.session[RECEIPTS] = [*request.session.get(RECEIPTS, []), application.pk]
    return redirect("govservice:kiosk_receipt", pk=application.pk)


@kiosk_page()
def kiosk_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    community = _kiosk_or_open(request)
    if isinstance(community, HttpResponse):
        return community
    if kiosk_resident(request, community) is None or pk not in request.session.get(RECEIPTS, []):
        raise Http404
    application = cast(Application, selectors.get_application_for(request.user, pk))
    materials = [{**m, "label": material_kinds.label(m)} for m in application.materials]
    # Accepted within a working day, then handled within the promised time: the latest day.
    start = application.due_at or application.submitted_at
    promised = working_days_from(start, application.item.promised_days)[1]
    context = {
        "community": community,
        "application": present(application),
        "received": [m for m in materials if m["how"] in {apps.REGISTRY, apps.UPLOAD}],
        "to_bring": [m for m in materials if m["how"] not in {apps.REGISTRY, apps.UPLOAD}],
        "promised": promised,
        "progress": progress(application),
        "track_url": request.build_absolute_uri(reverse("govservice:track")),
        "opener": cast(User, request.user),
    }
    return _render(request, "receipt.html", context)
