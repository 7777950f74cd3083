"""Resident pages of the grid app (phone first, elderly mode): report a problem in a few taps, my
reports with their status and the rating form, and the public list of resolved matters.

Views stay thin: forms parse what the browser sends, ``services`` validate and write (their
``ValidationError`` lands on the form fields it names and nothing is saved), ``selectors`` read
within the viewer's scope. The category suggestions come from ``shequ.grid.classifier`` when it is
installed and working, else from the categories' keywords: a resident never waits for, nor sees an
error from, the model.
"""

from __future__ import annotations

import importlib
import logging
import re
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models.functions import Substr
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from shequ.core import geo, guards, maps
from shequ.core.forms import PlatformForm
from shequ.core.models import LEVEL_CODE_LENGTH, Region, RegionLevel, User
from shequ.core.permissions import Viewer, scopes_for
from shequ.core.personal import mask_id_number, mask_phone
from shequ.core.selectors import resident_regions
from shequ.grid import selectors, services, views_urgent
from shequ.grid.forms import ClientKeyField, photos_input
from shequ.grid.models import Category, Source, Status, Ticket, Urgency
from shequ.grid.permissions import GridPerm as P

logger = logging.getLogger(__name__)

SUGGEST_MIN_CHARS = 4
SUGGEST_K = 3
CHIP_MIN_CONFIDENCE = 0.1
# Per account and minute: typing sends a request after each pause, a person never needs more.
SUGGEST_PER_MINUTE = 60
TITLE_FROM_TEXT = 30
MY_PAGE_SIZE = 20
PUBLIC_DAYS = 90
PUBLIC_ROWS = 200
PUBLIC_PAGE_SIZE = 30
PUBLIC_CACHE_SECONDS = 300
PUBLIC_RESULT_MAX = 300
_TICKET_LEVELS = (RegionLevel.GRID, RegionLevel.COMMUNITY)
_STREET_LEN = LEVEL_CODE_LENGTH[RegionLevel.STREET]
_COMMUNITY_LEN = LEVEL_CODE_LENGTH[RegionLevel.COMMUNITY]


FORBIDDEN = "grid/resident/forbidden.html"


# --- Category suggestions -----------------------------------------------------------------------


@dataclass(frozen=True)
class Chip:
    category: Category
    # The model's confidence; None for a keyword match (kept apart when the model is measured).
    confidence: float | None


def _model_suggestions(text: str, k: int) -> list[Chip]:
    try:
        # Imported by name: the classifier (and its model files) may not be installed.
        classifier: Any = importlib.import_module("shequ.grid.classifier")
        found = list(classifier.suggest(text, k=k))
    except ModuleNotFoundError:
        return []
    except Exception:  # a broken model must not break reporting: fall back to keywords
        logger.warning("grid classifier failed; using keyword suggestions", exc_info=True)
        return []
    codes = [str(s.category_code) for s in found]
    leaves = {c.code: c for c in selectors.leaf_categories().filter(code__in=codes)}
    chips = [
        Chip(leaves[str(s.category_code)], float(s.confidence)) for s in found if s.category_code in leaves
    ]
    # The first always; the others only when the model gives them a fair chance (fewer, better chips).
    return [c for i, c in enumerate(chips[:k]) if i == 0 or (c.confidence or 0) >= CHIP_MIN_CONFIDENCE]


def keyword_suggestions(text: str, k: int = SUGGEST_K) -> list[Chip]:
    """Leaf categories whose keywords (or name) occur in ``text``, most hits first."""
    scored: list[tuple[int, int, str, Category]] = []
    for cat in selectors.leaf_categories():
        words = {w for w in cat.keywords.split() if w} | {cat.name_zh}
        hits = sum(1 for w in words if w in text)
        if hits:
            scored.append((-hits, cat.sort_order, cat.code, cat))
    scored.sort(key=lambda row: row[:3])
    return [Chip(row[3], None) for row in scored[:k]]


def suggestions(text: str, k: int = SUGGEST_K) -> list[Chip]:
    text = text.strip()
    if len(text) < SUGGEST_MIN_CHARS:
        return []
    return _model_suggestions(text, k) or keyword_suggestions(text, k)


# --- Where the resident reports from --------------------------------------------------------------


def report_regions(user: Viewer) -> list[Region]:
    """The grids and communities where the account reports as a resident (its resident
    memberships). Staff report on the staff entry page, where the source says who entered it."""
    return resident_regions(user)


def registered_self(user: Viewer, regions: list[Region]) -> Any:
    """The registry person this account belongs to, with a home in the account's area."""
    from shequ.registry.selectors import person_for_account

    return person_for_account(user, [r.code for r in regions])


def _home_region(person: Any, regions: list[Region]) -> Region:
    """The reporting region that holds the person's home (the most specific one)."""
    code = person.house.region_code
    return max((r for r in regions if code.startswith(r.code)), key=lambda r: len(r.code))


# --- The report form ------------------------------------------------------------------------------


HOME = "home"
ELSEWHERE = "elsewhere"


def category_choices() -> list[tuple[str, Any]]:
    choices: list[tuple[str, Any]] = [("", gettext_lazy("Not sure — the community will choose"))]
    for root, leaves in selectors.category_tree():
        if leaves:
            choices.append((root.name_zh, [(leaf.code, leaf.name_zh) for leaf in leaves]))
    return choices


class ReportForm(PlatformForm):
    description = forms.CharField(
        label=gettext_lazy("What is the problem?"),
        max_length=services.TEXT_MAX,
        help_text=gettext_lazy(
            "Say what is wrong and where, for example: the street lamp at gate 3 is broken."
        ),
        widget=forms.Textarea(attrs={"rows": 5, "autocomplete": "off"}),
    )
    category = forms.ChoiceField(label=gettext_lazy("Kind of problem"), required=False)
    client_key = ClientKeyField()
    region = forms.ChoiceField(label=gettext_lazy("Your grid or community"))
    place = forms.ChoiceField(
        label=gettext_lazy("Where is it?"),
        required=False,
        widget=forms.RadioSelect,
    )
    address = forms.CharField(
        label=gettext_lazy("Address or landmark"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Building, street or a landmark nearby."),
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    latitude = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)
    longitude = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)
    urgent = forms.BooleanField(
        label=gettext_lazy("It endangers safety"),
        required=False,
        help_text=gettext_lazy(
            "Gas smell, fire risk, falling objects, someone in danger. In an emergency call 110 or 119 first."
        ),
    )
    title = forms.CharField(
        label=gettext_lazy("Short title"),
        required=False,
        max_length=services.TITLE_MAX,
        help_text=gettext_lazy("Optional: without one the first words of the description are used."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    anonymous = forms.BooleanField(
        label=gettext_lazy("Report anonymously"),
        required=False,
        help_text=gettext_lazy(
            "Staff will not see your name. You can still follow and rate the report here."
        ),
    )
    contact_name = forms.CharField(
        label=gettext_lazy("Contact name"),
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    contact_phone = forms.CharField(
        label=gettext_lazy("Contact phone"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"}),
    )

    def __init__(self, *args: Any, regions: list[Region], home: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choices("category").choices = category_choices()
        # Suggestions as the resident types (htmx); only the text is sent, never the photos.
        self.fields["description"].widget.attrs.update(
            {
                "hx-post": reverse("grid:suggest"),
                "hx-trigger": "input changed delay:600ms" + (", load" if self.is_bound else ""),
                "hx-target": "#suggestions",
                "hx-swap": "innerHTML",
                "hx-params": "description",
                "hx-sync": "this:replace",
            }
        )
        self._choices("region").choices = [(r.code, r.name) for r in regions]
        if len(regions) == 1:
            self.fields["region"].initial = regions[0].code
            self.fields["region"].widget = forms.HiddenInput()
        if home is not None:
            self._choices("place").choices = [
                (HOME, _("At my home: %(address)s") % {"address": home.house.address or home.house.number}),
                (ELSEWHERE, _("Somewhere else")),
            ]
            self.fields["place"].initial = HOME
        else:
            self._choices("place").choices = [(ELSEWHERE, _("Somewhere else"))]
            self.fields["place"].initial = ELSEWHERE
            self.fields["place"].widget = forms.HiddenInput()

    def _choices(self, name: str) -> forms.ChoiceField:
        return cast(forms.ChoiceField, self.fields[name])


def _title_from(description: str) -> str:
    first = description.strip().splitlines()[0].strip() if description.strip() else ""
    return first if len(first) <= TITLE_FROM_TEXT else first[: TITLE_FROM_TEXT - 1] + "…"


def _put_errors(form: forms.Form, exc: ValidationError) -> list[str]:
    """Put a service's errors on the form's fields; return the photo errors (no form field)."""
    photo_errors: list[str] = []
    aliases = {"location": "address", "urgency": "urgent"}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return photo_errors
    for field, errors in exc.message_dict.items():
        if field == "photos":
            photo_errors.extend(errors)
            continue
        name = aliases.get(field, field)
        form.add_error(name if name in form.fields else None, errors)
    return photo_errors


def _photo_attrs(photo_errors: list[str]) -> dict[str, str]:
    attrs = {"id": "photos"}
    if photo_errors:
        attrs["aria-describedby"] = "photo-errors"
        attrs["aria-invalid"] = "true"
    return attrs


def _map_settings(regions: list[Region]) -> dict[str, Any]:
    """The map pin: the reporting regions' boundaries and their buildings drawn on a plain
    background (no tile server needed), over tiles when ``GRID_MAP_TILES`` is set. No map when
    there is neither a boundary nor a tile server; the form works without it."""
    from shequ.registry.selectors import building_points

    settings_ = maps.map_settings()
    features = maps.region_features(regions)
    if features:
        features += [
            geo.feature(geo.point(float(lng), float(lat)), {"kind": "report", "label": address})
            for address, lat, lng in building_points([r.code for r in regions])
        ]
    return {**settings_, "data": geo.collection(features), "shown": bool(features or settings_["tiles"])}


@login_required
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    user = request.user
    regions = report_regions(user)
    if not regions:
        if scopes_for(user, P.REPORT):  # staff who enter tickets
            return redirect("grid:new")
        return guards.denied(request, P.REPORT, template=FORBIDDEN)
    home = registered_self(user, regions)
    form = ReportForm(request.POST if request.method == "POST" else None, regions=regions, home=home)
    photos = request.FILES.getlist("photos") if request.method == "POST" else []
    photo_errors: list[str] = []
    status = 200
    if request.method == "POST":
        if len(photos) > services.MAX_PHOTOS:
            photo_errors.append(_("At most %(n)d photos.") % {"n": services.MAX_PHOTOS})
        if form.is_valid() and not photo_errors:
            sent = selectors.sent_from_form(user, form.cleaned_data["client_key"])
            if sent is not None:  # already here: the earlier post went through
                return redirect("grid:report_done", sent.pk)
            try:
                ticket = _submit(request, form.cleaned_data, regions, home, photos)
            except PermissionDenied as exc:
                return guards.forbidden(request, str(exc), template=FORBIDDEN)
            except ValidationError as exc:
                sent = selectors.sent_from_form(user, form.cleaned_data["client_key"])
                if sent is not None:  # the same report, posted at the same moment
                    return redirect("grid:report_done", sent.pk)
                photo_errors = _put_errors(form, exc)
            else:
                return redirect("grid:report_done", ticket.pk)
        status = 400
    context = {
        "form": form,
        "home": home,
        "photo_errors": photo_errors,
        "photo_input": photos_input().render("photos", None, attrs=_photo_attrs(photo_errors)),
        "max_photos": services.MAX_PHOTOS,
        "account_phone": mask_phone(getattr(user, "phone", "")),
        "map": _map_settings(regions),
    }
    response = render(request, "grid/resident/report.html", context, status=status)
    return maps.allow_tiles(response)


def _submit(
    request: HttpRequest, data: dict[str, Any], regions: list[Region], home: Any, photos: list[Any]
) -> Ticket:
    user = cast(User, request.user)  # @login_required: a signed-in account
    description = data["description"]
    at_home = home is not None and data.get("place") == HOME
    region = _home_region(home, regions) if at_home else next(r for r in regions if r.code == data["region"])
    anonymous = bool(data["anonymous"])
    contact_name, contact_phone = data["contact_name"], data["contact_phone"]
    if not anonymous and not contact_name and not contact_phone:
        # Staff call back the account's owner unless the resident gave another contact.
        contact_name = getattr(user, "display_name", "") or user.get_username()
        contact_phone = getattr(user, "phone", "") or ""
    # Before the transaction: the model may take a moment and must not hold the write lock.
    top = suggestions(description, 1)
    with transaction.atomic():
        ticket = services.ticket_submit(
            actor=user,
            source=Source.RESIDENT,
            region=region,
            title=data["title"] or _title_from(description),
            description=description,
            category=data["category"] or None,
            urgency=Urgency.URGENT if data["urgent"] else Urgency.NORMAL,
            reporter_person=None if anonymous else home,
            anonymous=anonymous,
            contact_name=contact_name,
            contact_phone=contact_phone,
            latitude=None if at_home else data["latitude"],
            longitude=None if at_home else data["longitude"],
            address="" if at_home else data["address"],
            house=home.house if at_home else None,
            photos=photos,
            external_ref=selectors.app_ref(data["client_key"]),
            request=request,
        )
        if top:
            services.suggest(ticket, category=top[0].category, confidence=top[0].confidence)
    return ticket


@guards.page(P.REPORT, methods=("POST",), template=FORBIDDEN)
def suggest(request: HttpRequest) -> HttpResponse:
    """The chips under the description (an htmx fragment). POST keeps the typed text out of URLs
    and logs. Nothing typed yet (or the box emptied) is an empty fragment that clears the old chips:
    a 200, since an empty box is no error (a 400 showed in the browser's console at every clear)."""
    key = f"grid:suggest:{request.user.pk}:{int(timezone.now().timestamp()) // 60}"
    count = cache.get_or_set(key, 0, 60) or 0
    if count >= SUGGEST_PER_MINUTE:
        return HttpResponse(status=429)
    try:
        cache.incr(key)
    except ValueError:  # the minute ran out in between
        cache.set(key, 1, 60)
    text = request.POST.get("description", "")[: services.TEXT_MAX]
    if len(text.strip()) < SUGGEST_MIN_CHARS:
        return render(request, "grid/resident/_suggestions.html", {"chips": []})
    return render(request, "grid/resident/_suggestions.html", {"chips": suggestions(text)})


@login_required
def report_done(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = selectors.get_ticket_for(request.user, pk)
    context = {
        "ticket": ticket,
        "call": views_urgent.call_now(selectors.urgent_alert(ticket)),
        "ack_minutes": int(services.urgent_ack_window().total_seconds() // 60),
    }
    return render(request, "grid/resident/report_done.html", context)


# --- My reports and the rating --------------------------------------------------------------------

STATUS_TONES = {
    Status.CLOSED: "ok",
    Status.RESOLVED: "warn",
    Status.VERIFIED: "warn",
    Status.REOPENED: "bad",
}
_TO_RATE = (Status.RESOLVED, Status.VERIFIED)


def tone(ticket: Ticket) -> str:
    return STATUS_TONES.get(Status(ticket.status), "")


def resident_status(ticket: Ticket) -> str:
    """The state's one label (``Status``), the same word the ticket page and the staff pages use."""
    return str(ticket.get_status_display())


@login_required
def my_tickets(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)  # @login_required: a signed-in account
    tickets = selectors.my_tickets(user)
    to_rate = list(tickets.filter(reporter_user_id=user.pk, status__in=_TO_RATE)[:10])
    page = Paginator(tickets, MY_PAGE_SIZE).get_page(request.GET.get("page"))
    for t in page.object_list:
        t.tone = tone(t)  # type: ignore[attr-defined]
        t.resident_status = resident_status(t)  # type: ignore[attr-defined]
        t.to_rate = t.reporter_user_id == user.pk and t.status in _TO_RATE  # type: ignore[attr-defined]
    return render(
        request,
        "grid/resident/my_tickets.html",
        {"page": page, "to_rate": to_rate, "can_report": bool(report_regions(user))},
    )


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


@login_required
@require_POST
def ticket_rate(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = selectors.get_ticket_for(request.user, pk)
    try:
        ticket = services.ticket_rate(
            actor=cast(User, request.user),
            ticket=ticket,
            rating=request.POST.get("rating"),
            comment=request.POST.get("comment", ""),
            request=request,
        )
    except PermissionDenied as exc:
        return guards.forbidden(request, str(exc), template=FORBIDDEN)
    except ValidationError as exc:
        errors: dict[str, list[str]] = {"other": list(exc.messages)}
        if hasattr(exc, "error_dict"):
            found = exc.message_dict
            errors = {"rating": found.get("rating", []), "comment": found.get("comment", [])}
            errors["other"] = [m for k, ms in found.items() if k not in errors for m in ms]
        context = {
            "ticket": ticket,
            "status": resident_status(ticket),
            "rate_errors": errors,
            "rate_data": request.POST,
            "next": _next_url(request, ""),
        }
        return render(request, "grid/resident/rate.html", context, status=400)
    if ticket.status == Status.REOPENED:
        messages.success(request, _("Thank you. The ticket was reopened and goes to the supervisors."))
    else:
        messages.success(request, _("Thank you for your rating. The ticket is closed."))
    return redirect(_next_url(request, reverse("grid:ticket", args=[ticket.pk])))


# --- The public list ------------------------------------------------------------------------------

_MOBILE_IN_TEXT = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def scrub(text: str) -> str:
    """Mask mobile and ID numbers staff may have typed into a result (the public sees no one's)."""
    text = _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group(0)), text)
    text = _MOBILE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), text)
    if len(text) > PUBLIC_RESULT_MAX:
        text = text[: PUBLIC_RESULT_MAX - 1] + "…"
    return text


def public_rows(code: str) -> list[dict[str, Any]]:
    """What the public page shows of the area's resolved matters, cached a few minutes.

    Shown: category, community, submitted and resolved dates, the department, and the result as
    staff wrote it (phone and ID numbers masked). Never shown: the resident's title and description
    (free text people fill with names, numbers and house numbers), the reporter, contacts,
    addresses, the map point, photos and the rating comment.
    """
    key = f"grid:public:{code}"
    rows: list[dict[str, Any]] | None = cache.get(key)
    if rows is not None:
        return rows
    tickets = list(
        selectors.public_resolved(code, days=PUBLIC_DAYS).select_related("category__parent")[:PUBLIC_ROWS]
    )
    communities = dict(
        Region.objects.filter(code__in={t.region_code[:_COMMUNITY_LEN] for t in tickets}).values_list(
            "code", "name"
        )
    )
    rows = [
        {
            "main": t.category.parent.name_zh if t.category and t.category.parent else "",
            "category": t.category.name_zh if t.category else "",
            "community": communities.get(t.region_code[:_COMMUNITY_LEN], ""),
            "submitted": timezone.localdate(t.submitted_at),
            "resolved": timezone.localdate(t.resolved_at) if t.resolved_at else None,
            "department": t.department.name if t.department else "",
            "result": scrub(t.result),
            "closed": t.status == Status.CLOSED,
        }
        for t in tickets
    ]
    cache.set(key, rows, PUBLIC_CACHE_SECONDS)
    return rows


def public_areas() -> list[tuple[Region, list[Region]]]:
    """Streets with resolved matters in the window, each with its communities (cached)."""
    key = "grid:public:areas"
    found: list[tuple[str, list[str]]] | None = cache.get(key)
    if found is None:
        codes = sorted(
            set(
                selectors.public_resolved("", days=PUBLIC_DAYS)
                .annotate(community=Substr("region_code", 1, _COMMUNITY_LEN))
                .values_list("community", flat=True)
                .distinct()[:PUBLIC_ROWS]
            )
        )
        streets: dict[str, list[str]] = {}
        for c in codes:
            streets.setdefault(c[:_STREET_LEN], []).append(c)
        found = sorted(streets.items())
        cache.set(key, found, PUBLIC_CACHE_SECONDS)
    names = {
        r.code: r
        for r in Region.objects.filter(code__in=[s for s, cs in found] + [c for s, cs in found for c in cs])
    }
    return [(names[s], [names[c] for c in cs if c in names]) for s, cs in found if s in names]


def public(request: HttpRequest) -> HttpResponse:
    code = request.GET.get("region", "").strip()
    if not code:
        return render(request, "grid/resident/public.html", {"areas": public_areas(), "days": PUBLIC_DAYS})
    region = (
        Region.objects.filter(code=code, level__in=[RegionLevel.STREET, RegionLevel.COMMUNITY]).first()
        if code.isdigit()
        else None
    )
    if region is None:
        context = {
            "areas": public_areas(),
            "days": PUBLIC_DAYS,
            "error": _("There is no street or community with the code %(code)s.") % {"code": code[:20]},
        }
        return render(request, "grid/resident/public.html", context, status=400)
    page = Paginator(public_rows(region.code), PUBLIC_PAGE_SIZE).get_page(request.GET.get("page"))
    parent = region.parent if region.level == RegionLevel.COMMUNITY else None
    return render(
        request,
        "grid/resident/public.html",
        {"region": region, "parent": parent, "page": page, "days": PUBLIC_DAYS},
    )
