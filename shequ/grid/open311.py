"""Open311 GeoReport v2 over the grid app: services are the active leaf categories, service requests
are tickets (docs/api.md, "Open311").

What maps to what:

* ``service_code`` = category code, ``service_name`` = its Chinese name, ``group`` = its main type;
  every service has the attributes ``urgency`` (normal/urgent) and ``location_detail`` (free text).
* ``api_key`` = a core API token (``shequ token create … --scope open311:write``). It acts as its
  owner, and submits only inside the regions where the owner may report (``grid.report``).
* ``service_request_id`` = the ticket number; a ticket is created at once, so the token of
  ``tokens/{token}`` (the ticket's uid) is only a second way to the same number.

Privacy: a ticket's text, exact place and contact belong to its reporter. Everyone sees the public
view of a request (service, status, public notes with phone and ID numbers masked, department, times,
the area's name and a point rounded to about 100 m); only the key owner who submitted an Open311
request also sees its description, address, exact point and media URL. Requests about family
disputes, special groups and crime clues are not listed at all, except to their submitter.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator, validate_email
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.apiauth import authenticate_token, register_scope
from shequ.core.apierrors import ApiError
from shequ.core.models import ApiToken, AuditResult, Region, RegionLevel
from shequ.core.permissions import scopes_for
from shequ.core.personal import mask_id_number, mask_phone
from shequ.core.validators import clean_contact_phone
from shequ.grid import services
from shequ.grid.models import Category, Source, Status, Ticket, TicketAction, Urgency
from shequ.grid.models import parse_number as _parse_number
from shequ.grid.permissions import GridPerm
from shequ.registry import selectors as registry

OPEN311_WRITE = register_scope(
    "open311:write", "Submit Open311 service requests inside the regions where the owner may report."
)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this endpoint's behaviour last changed (discovery's changeset).
CHANGESET = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
MAX_RESULTS = 1000
MAX_CODES = 200  # service codes in one GET requests
DEFAULT_DAYS = 90
MAX_SPAN_DAYS = 90
DESCRIPTION_MAX = 4000  # the spec's limit, and services.TEXT_MAX
LOCATION_DETAIL_MAX = 100
MEDIA_URL_MAX = 500
NAME_MAX = 50
# A point belongs to the grid of the nearest registry building within this distance.
NEAR_METRES = 300
# Public coordinates are rounded to 3 decimals (about 110 m).
PUBLIC_DECIMALS = 3
# Main types and categories never listed to anyone but the request's submitter.
PRIVATE_CATEGORIES = frozenset({"dispute", "special", "security.crime_clue"})
# Timeline steps whose comment is the public status_notes: the replies and results written for the
# reporter (a subset of models.REPORTER_NOTE_ACTIONS; never staff-only notes).
PUBLIC_NOTE_ACTIONS = ("respond", "resolve", "close_on_spot", "handle")
# Our statuses that are "closed" for Open311: the work is done (or the ticket was merged).
CLOSED_STATUSES = frozenset({Status.RESOLVED, Status.VERIFIED, Status.CLOSED, Status.MERGED})
URGENCY_NAMES = {Urgency.NORMAL: "一般", Urgency.URGENT: "紧急"}

_REGION_CODE = re.compile(r"\d{12}|\d{15}")
_HOUSE_ID = re.compile(r"\d{1,11}")
_ATTRIBUTE = re.compile(r"attribute\[([^\]]*)\]")
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)")
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def parse_number(number: str) -> int | None:
    """The ticket's key in a service_request_id, or None (also beyond a 64-bit key, which the
    database would refuse with an error instead of finding nothing)."""
    pk = _parse_number(number)
    return pk if pk is not None and pk < 2**63 else None


class Open311Error(Exception):
    """A spec error: an HTTP status and one or more descriptions (``[{code, description}]``)."""

    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = list(descriptions) or [""]


# --- Time ------------------------------------------------------------------------------------------


def w3_datetime(value: dt.datetime | None) -> str | None:
    """ISO 8601 with the local offset, e.g. ``2026-05-01T09:30:00+08:00`` (the spec needs a zone)."""
    if value is None:
        return None
    return timezone.localtime(value).isoformat(timespec="seconds")


def parse_w3(value: str, name: str) -> dt.datetime:
    """A W3C datetime with a zone (``…Z`` or ``…+08:00``), or a date (midnight in Asia/Shanghai)."""
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = dt.date.fromisoformat(text)
            return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})", text):
            raise ValueError(text)
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Open311Error(
            400,
            _("%(name)s must be a W3C datetime with a time zone, e.g. 2026-05-01T00:00:00+08:00, or a date.")
            % {"name": name},
        ) from exc
    return parsed


# --- Keys --------------------------------------------------------------------------------------------


def authenticate(raw: str, request: HttpRequest) -> ApiToken:
    """The token behind ``api_key`` with the open311 scope, or a 403 spec error (audited)."""
    if not raw.strip():
        raise Open311Error(403, _("An api_key is required."))
    try:
        token = authenticate_token(raw.strip(), request)
    except ApiError as exc:
        raise Open311Error(403, exc.message) from exc
    if OPEN311_WRITE not in token.scopes:
        audit.record(
            "open311.denied",
            actor=token.user,
            request=request,
            result=AuditResult.DENIED,
            detail={"why": "scope", "token": token.prefix},
        )
        raise Open311Error(403, _("This api_key lacks the scope %(scope)s.") % {"scope": OPEN311_WRITE})
    return token


def key_regions(token: ApiToken) -> list[str]:
    """The region codes this key may submit into: where its owner may report."""
    return scopes_for(token.user, GridPerm.REPORT)


# --- Services ---------------------------------------------------------------------------------------


def _service_categories() -> QuerySet[Category]:
    return (
        Category.objects.filter(is_active=True, parent__isnull=False, parent__is_active=True)
        .select_related("parent")
        .order_by("parent__sort_order", "parent__code", "sort_order", "code")
    )


def get_service(code: str) -> Category:
    category = _service_categories().filter(code=code).first()
    if category is None:
        raise Open311Error(404, _("There is no service with the code %(code)s.") % {"code": code})
    return category


def _keywords(category: Category) -> str:
    return ", ".join(category.keywords.split())


def service_list() -> list[dict[str, Any]]:
    return [
        {
            "service_code": c.code,
            "service_name": c.name_zh,
            "description": c.name,
            "metadata": True,
            "type": "realtime",
            "keywords": _keywords(c),
            "group": c.parent.name_zh if c.parent else "",
        }
        for c in _service_categories()
    ]


def service_definition(code: str) -> dict[str, Any]:
    category = get_service(code)
    return {
        "service_code": category.code,
        "attributes": [
            {
                "variable": True,
                "code": "urgency",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": _("normal unless the matter endangers people now"),
                "order": 1,
                "description": _("How urgent is it?"),
                "values": [{"key": key, "name": name} for key, name in URGENCY_NAMES.items()],
            },
            {
                "variable": True,
                "code": "location_detail",
                "datatype": "string",
                "required": False,
                "datatype_description": _("at most %(n)d characters") % {"n": LOCATION_DETAIL_MAX},
                "order": 2,
                "description": _("Where exactly (building, unit, landmark)?"),
            },
        ],
    }


def service_notice(category: Category | None, urgency: str = Urgency.NORMAL) -> str:
    if category is None:
        return ""
    hours = category.urgent_response_hours if urgency == Urgency.URGENT else category.response_hours
    return _(
        "The community answers within %(hours)d hours and keeps the request's status up to date here."
    ) % {"hours": hours}


def created_notice(ticket: Ticket) -> str:
    """The notice of a request just created: a report read as a danger to life first says whom to
    call now (the client app shows it to the person who reported)."""
    from shequ.grid import selectors
    from shequ.grid.lifesafety import KINDS

    notice = service_notice(ticket.category, ticket.urgency)
    alert = selectors.urgent_alert(ticket)
    if alert is None or not alert.life_safety:
        return notice
    kind = KINDS.get(alert.kind) or KINDS["other"]
    call = _("If anyone is in danger, call %(call)s now") % {"call": " / ".join(kind.call)}
    urgent = _("%(call)s: %(advice)s") % {"call": call, "advice": kind.advice}
    return f"{urgent} {notice}".strip()


# --- Posting a request ----------------------------------------------------------------------------


@dataclass
class Place:
    region: Region
    house: Any = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    address: str = ""


@dataclass
class _Errors:
    messages: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.messages.append(message)

    def raise_if_any(self) -> None:
        if self.messages:
            raise Open311Error(400, *self.messages)


def _field(data: Mapping[str, Any], name: str) -> str:
    return str(data.get(name) or "").strip()


def _in_regions(code: str, regions: Iterable[str]) -> bool:
    return any(code.startswith(r) for r in regions)


def _deny(token: ApiToken, request: HttpRequest, why: str, region_code: str) -> Open311Error:
    audit.record(
        "open311.denied",
        actor=token.user,
        request=request,
        region_code=region_code,
        result=AuditResult.DENIED,
        detail={"why": why, "token": token.prefix},
    )
    return Open311Error(403, _("This api_key may not submit requests for that location."))


def _point(data: Mapping[str, Any], errors: _Errors) -> tuple[Decimal, Decimal] | None:
    lat, lng = _field(data, "lat"), _field(data, "long")
    if not lat and not lng:
        return None
    if not lat or not lng:
        errors.add(_("Give both lat and long."))
        return None
    try:
        la, lo = Decimal(lat), Decimal(lng)
        if not (la.is_finite() and lo.is_finite() and -90 <= la <= 90 and -180 <= lo <= 180):
            raise InvalidOperation
    except InvalidOperation:
        errors.add(_("lat and long must be decimal degrees (WGS-84)."))
        return None
    return la, lo


def _place(token: ApiToken, data: Mapping[str, Any], request: HttpRequest, errors: _Errors) -> Place | None:
    """Where the request is: address_id (a house id or a community/grid code), else the point's
    nearest registry building, else the key's only community or grid."""
    regions = key_regions(token)
    if not regions:
        raise _deny(token, request, "owner may not report anywhere", "")
    address_id = _field(data, "address_id")
    address = _field(data, "address_string")
    point = _point(data, errors)
    if len(address) > 200:
        errors.add(_("address_string has at most 200 characters."))
    if not (address_id or point or address or _field(data, "lat") or _field(data, "long")):
        errors.add(_("A location is required: lat and long, address_string or address_id."))
        return None
    lat, lng = point if point else (None, None)
    if address_id:
        if _REGION_CODE.fullmatch(address_id):
            region = Region.objects.filter(
                code=address_id, level__in=[RegionLevel.GRID, RegionLevel.COMMUNITY]
            ).first()
            if region is None:
                errors.add(_("address_id %(id)s is not a community or grid code.") % {"id": address_id})
                return None
            if not _in_regions(region.code, regions):
                raise _deny(token, request, "address_id outside the key's regions", region.code)
            return Place(region=region, latitude=lat, longitude=lng, address=address)
        if _HOUSE_ID.fullmatch(address_id):
            house = registry.house_by_pk(int(address_id))
            if house is None:
                errors.add(_("There is no house with the address_id %(id)s.") % {"id": address_id})
                return None
            if not _in_regions(house.region_code, regions):
                raise _deny(token, request, "house outside the key's regions", house.region_code)
            return Place(
                region=house.region,
                house=house,
                latitude=lat,
                longitude=lng,
                address=address or house.address,
            )
        errors.add(_("address_id must be a house id or a 12- or 15-digit community or grid code."))
        return None
    if point is not None:
        building = registry.nearest_building(*point, within_metres=NEAR_METRES)
        if building is not None:
            if not _in_regions(building.region_code, regions):
                raise _deny(token, request, "point outside the key's regions", building.region_code)
            return Place(region=building.region, latitude=lat, longitude=lng, address=address)
    if errors.messages:
        return None
    own = list(Region.objects.filter(code__in=regions, level__in=[RegionLevel.GRID, RegionLevel.COMMUNITY]))
    if len(own) == 1 and len(regions) == 1:
        return Place(region=own[0], latitude=lat, longitude=lng, address=address)
    errors.add(
        _(
            "A location inside this api_key's area is required: give address_id (a house id or a "
            "community or grid code) or a point near one of its registered buildings."
        )
    )
    return None


def _attributes(data: Any, errors: _Errors) -> dict[str, str]:
    values: dict[str, str] = {}
    for key in data:
        match = _ATTRIBUTE.fullmatch(key)
        if match is None:
            continue
        code = match.group(1)
        items = data.getlist(key) if hasattr(data, "getlist") else [data[key]]
        value = str(items[-1] if items else "").strip()
        if code not in {"urgency", "location_detail"}:
            errors.add(_("Unknown attribute %(code)s.") % {"code": code})
        elif len(items) > 1:
            errors.add(_("attribute[%(code)s] takes one value.") % {"code": code})
        else:
            values[code] = value
    urgency = values.get("urgency", "")
    if urgency and urgency not in URGENCY_NAMES:
        errors.add(_("attribute[urgency] must be one of: %(keys)s.") % {"keys": ", ".join(URGENCY_NAMES)})
    if len(values.get("location_detail", "")) > LOCATION_DETAIL_MAX:
        errors.add(_("attribute[location_detail] has at most %(n)d characters.") % {"n": LOCATION_DETAIL_MAX})
    return values


def _contact_name(first: str, last: str) -> str:
    if re.search(r"[\u3400-\u9fff]", first + last):
        return f"{last}{first}"  # Chinese order: family name first, no space
    return " ".join(p for p in (first, last) if p)


def _labels() -> tuple[str, str]:
    """The labels of the lines we add to a description, in the platform's language (stored text)."""
    with translation.override(settings.LANGUAGE_CODE):
        return _("Location detail: "), _("Photo: ")


def compose_description(text: str, category: Category, location_detail: str, media_url: str) -> str:
    """The ticket's description: the reporter's text, then a line for each extra we keep."""
    detail_label, photo_label = _labels()
    extras = [detail_label + location_detail] if location_detail else []
    if media_url:
        extras.append(photo_label + media_url)
    body = text or category.name_zh
    return body + "\n\n" + "\n".join(extras) if extras else body


def media_url_of(description: str) -> str | None:
    _detail, photo_label = _labels()
    for line in reversed(description.splitlines()):
        if line.startswith(photo_label):
            return line[len(photo_label) :].strip() or None
    return None


def _title(text: str, category: Category) -> str:
    first = " ".join(text.split())
    if not first:
        return category.name_zh
    return first if len(first) <= 30 else first[:29] + "…"


def _validation_messages(exc: ValidationError) -> list[str]:
    names = {
        "location": "lat/long",
        "point": "lat/long",
        "contact_phone": "phone",
        "contact_name": "first_name/last_name",
        "address": "address_string",
        "region": "address_id",
        "category": "service_code",
    }
    if hasattr(exc, "error_dict"):
        return [f"{names.get(k, k)}: {m}" for k, errs in exc.message_dict.items() for m in errs]
    return list(exc.messages)


def submit_request(token: ApiToken, data: Any, request: HttpRequest) -> Ticket:
    """POST requests: validate everything first, then ``services.ticket_submit`` as the key's owner.

    Nothing is written unless every parameter is valid and the place lies in the key's regions.
    """
    errors = _Errors()
    code = _field(data, "service_code")
    if not code:
        errors.add(_("service_code is required."))
    category = get_service(code) if code else None
    attrs = _attributes(data, errors)
    description = str(data.get("description") or "").strip()
    if len(description) > DESCRIPTION_MAX:
        errors.add(_("description has at most %(n)d characters.") % {"n": DESCRIPTION_MAX})
    email = _field(data, "email")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.add(_("email is not a valid address."))
    media_url = _field(data, "media_url")
    if media_url:
        try:
            if len(media_url) > MEDIA_URL_MAX:
                raise ValidationError("too long")
            URLValidator(schemes=["http", "https"])(media_url)
        except ValidationError:
            errors.add(
                _("media_url must be an http(s) URL of at most %(n)d characters.") % {"n": MEDIA_URL_MAX}
            )
    name = _contact_name(_field(data, "first_name"), _field(data, "last_name"))
    if len(name) > NAME_MAX:
        errors.add(_("first_name and last_name together have at most %(n)d characters.") % {"n": NAME_MAX})
    phone = _field(data, "phone")
    try:
        phone = clean_contact_phone(phone)
    except ValidationError as exc:
        errors.add("phone: " + " ".join(exc.messages))
    place = _place(token, data, request, errors)
    errors.raise_if_any()
    assert category is not None and place is not None
    text = compose_description(description, category, attrs.get("location_detail", ""), media_url)
    if len(text) > DESCRIPTION_MAX:
        raise Open311Error(
            400,
            _("description, location_detail and media_url together exceed %(n)d characters.")
            % {"n": DESCRIPTION_MAX},
        )
    try:
        return services.ticket_submit(
            actor=token.user,
            source=Source.OPEN311,
            region=place.region,
            title=_title(description, category),
            description=text,
            category=category,
            urgency=attrs.get("urgency") or Urgency.NORMAL,
            anonymous=not (name or phone),
            contact_name=name,
            contact_phone=phone,
            latitude=place.latitude,
            longitude=place.longitude,
            address=place.address,
            house=place.house,
            request=request,
        )
    except PermissionDenied as exc:  # audited by the service
        raise Open311Error(403, _("This api_key may not submit requests for that location.")) from exc
    except ValidationError as exc:
        raise Open311Error(400, *_validation_messages(exc)) from exc


# --- Reading requests ---------------------------------------------------------------------------


def _private_q() -> Q:
    return Q(category__code__in=PRIVATE_CATEGORIES) | Q(category__parent__code__in=PRIVATE_CATEGORIES)


def _own_q(token: ApiToken | None) -> Q:
    if token is None:
        return Q(pk__in=[])
    return Q(source=Source.OPEN311, created_by_id=token.user_id)


def visible_requests(token: ApiToken | None) -> QuerySet[Ticket]:
    """Tickets published through Open311: categorized and not private, plus the key's own."""
    public = Q(category__isnull=False) & ~_private_q()
    notes = (
        TicketAction.objects.filter(ticket=OuterRef("pk"), action__in=PUBLIC_NOTE_ACTIONS)
        .exclude(comment="")
        .order_by("-at", "-pk")
        .values("comment")[:1]
    )
    return (
        Ticket.objects.filter(public | _own_q(token))
        .select_related("category__parent", "department", "parent")
        .annotate(public_note=Subquery(notes))
    )


def mask_text(text: str) -> str:
    """Mask mobile, landline and ID numbers that staff may have typed into a public note."""
    text = _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group(0)), text)
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group(0).replace("-", "")), text)


def _region_names(codes: Iterable[str]) -> dict[str, str]:
    wanted = {code[:n] for code in codes for n in (9, 12, 15) if len(code) >= n}
    return dict(Region.objects.filter(code__in=wanted).values_list("code", "name"))


def _area_name(code: str, names: Mapping[str, str]) -> str:
    return "".join(names.get(code[:n], "") for n in (9, 12, 15) if len(code) >= n)


def _agency(ticket: Ticket, names: Mapping[str, str]) -> str:
    if ticket.department is not None:
        return ticket.department.name
    return names.get(ticket.region_code[:12], "")


def _status_notes(ticket: Ticket) -> str | None:
    if ticket.status == Status.MERGED and ticket.parent is not None:
        return _("Merged into request %(number)s.") % {"number": ticket.parent.number}
    note = getattr(ticket, "public_note", None) or ""
    return mask_text(note) or None


def _round(value: Decimal | None, decimals: int | None) -> float | None:
    if value is None:
        return None
    return round(float(value), decimals) if decimals is not None else float(value)


def request_dict(ticket: Ticket, token: ApiToken | None, names: Mapping[str, str]) -> dict[str, Any]:
    """One request in the spec's field order; the submitting key sees its own text and place."""
    own = token is not None and ticket.source == Source.OPEN311 and ticket.created_by_id == token.user_id
    category = ticket.category
    decimals = None if own else PUBLIC_DECIMALS
    return {
        "service_request_id": ticket.number,
        "status": "closed" if ticket.status in CLOSED_STATUSES else "open",
        "status_notes": _status_notes(ticket),
        "service_name": category.name_zh if category else None,
        "service_code": category.code if category else None,
        "description": ticket.description if own else None,
        "agency_responsible": _agency(ticket, names) or None,
        "service_notice": service_notice(category, ticket.urgency) or None,
        "requested_datetime": w3_datetime(ticket.submitted_at),
        "updated_datetime": w3_datetime(ticket.updated_at),
        "expected_datetime": w3_datetime(ticket.resolve_due_at),
        "address": (ticket.address or _area_name(ticket.region_code, names))
        if own
        else _area_name(ticket.region_code, names),
        "address_id": str(ticket.house_id) if own and ticket.house_id else ticket.region_code,
        "zipcode": None,
        "lat": _round(ticket.latitude, decimals),
        "long": _round(ticket.longitude, decimals),
        "media_url": media_url_of(ticket.description) if own else None,
    }


def request_dicts(tickets: list[Ticket], token: ApiToken | None) -> list[dict[str, Any]]:
    names = _region_names(t.region_code for t in tickets)
    return [request_dict(t, token, names) for t in tickets]


@dataclass(frozen=True)
class RequestQuery:
    numbers: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    statuses: tuple[str, ...] = ()


def _split(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def parse_query(params: Mapping[str, Any], now: dt.datetime | None = None) -> RequestQuery:
    """GET requests' filters. With service_request_id the others are ignored (as the spec says);
    without dates, the last 90 days; a range may span at most 90 days."""
    ids_text = _field(params, "service_request_id")
    if ids_text:
        numbers = tuple(_split(ids_text))
        if len(numbers) > MAX_RESULTS:
            raise Open311Error(400, _("Ask for at most %(n)d service_request_id.") % {"n": MAX_RESULTS})
        for number in numbers:
            if parse_number(number) is None:
                raise Open311Error(400, _("%(id)s is not a service_request_id.") % {"id": number[:40]})
        return RequestQuery(numbers=numbers)
    errors = _Errors()
    codes = tuple(_split(_field(params, "service_code")))
    if len(codes) > MAX_CODES:
        errors.add(_("Ask for at most %(n)d service_code.") % {"n": MAX_CODES})
    elif codes:
        known = set(
            Category.objects.filter(code__in=codes, parent__isnull=False).values_list("code", flat=True)
        )
        unknown = [c for c in codes if c not in known]
        if unknown:
            errors.add(_("Unknown service_code: %(codes)s.") % {"codes": ", ".join(unknown)[:200]})
    statuses = tuple(_split(_field(params, "status").lower()))
    if any(s not in {"open", "closed"} for s in statuses):
        errors.add(_("status must be open, closed or both (open,closed)."))
    start_text, end_text = _field(params, "start_date"), _field(params, "end_date")
    start = end = None
    for name, text in (("start_date", start_text), ("end_date", end_text)):
        if text:
            try:
                value = parse_w3(text, name)
            except Open311Error as exc:
                errors.messages.extend(exc.descriptions)
                continue
            if name == "start_date":
                start = value
            else:
                end = value
    errors.raise_if_any()
    span = dt.timedelta(days=MAX_SPAN_DAYS)
    if start is None and end is None:
        end = now or timezone.now()
        start = end - dt.timedelta(days=DEFAULT_DAYS)
    elif start is None:
        assert end is not None
        start = end - span
    elif end is None:
        end = start + span
    if start > end:
        raise Open311Error(400, _("start_date must not be after end_date."))
    if end - start > span:
        raise Open311Error(
            400, _("start_date and end_date may span at most %(days)d days.") % {"days": MAX_SPAN_DAYS}
        )
    return RequestQuery(service_codes=codes, start=start, end=end, statuses=statuses)


def request_list(query: RequestQuery, token: ApiToken | None) -> list[dict[str, Any]]:
    qs = visible_requests(token)
    if query.numbers:
        qs = qs.filter(pk__in=[parse_number(n) for n in query.numbers])
    else:
        if query.service_codes:
            qs = qs.filter(category__code__in=query.service_codes)
        if query.start is not None:
            qs = qs.filter(submitted_at__gte=query.start)
        if query.end is not None:
            qs = qs.filter(submitted_at__lte=query.end)
        if set(query.statuses) == {"open"}:
            qs = qs.exclude(status__in=CLOSED_STATUSES)
        elif set(query.statuses) == {"closed"}:
            qs = qs.filter(status__in=CLOSED_STATUSES)
    tickets = list(qs.order_by("-submitted_at", "-pk")[:MAX_RESULTS])
    if query.numbers:
        # parse_number ignores the date part; a number must match exactly.
        tickets = [t for t in tickets if t.number in query.numbers]
    return request_dicts(tickets, token)


def get_request(number: str, token: ApiToken | None) -> dict[str, Any]:
    pk = parse_number(number)
    ticket = visible_requests(token).filter(pk=pk).first() if pk is not None else None
    if ticket is None or ticket.number != number:
        raise Open311Error(404, _("There is no service request %(id)s.") % {"id": number[:40]})
    return request_dicts([ticket], token)[0]


def get_token(token_id: str) -> dict[str, Any]:
    try:
        uid = uuid.UUID(token_id)
    except ValueError:
        uid = None
    ticket = Ticket.objects.filter(uid=uid, source=Source.OPEN311).first() if uid else None
    if ticket is None:
        raise Open311Error(404, _("There is no token %(token)s.") % {"token": token_id[:40]})
    return {"service_request_id": ticket.number, "token": str(ticket.uid)}


def discovery(endpoint_url: str) -> dict[str, Any]:
    changed = w3_datetime(CHANGESET)
    return {
        "changeset": changed,
        "contact": settings.OPEN311_CONTACT,
        "key_service": _(
            "Ask the platform operator for an API token with the scope open311:write; it submits "
            "requests only inside the communities and grids its account may report in."
        ),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": endpoint_url,
                "changeset": changed,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


def check_jurisdiction(params: Mapping[str, Any]) -> None:
    value = _field(params, "jurisdiction_id")
    if value and value != settings.OPEN311_JURISDICTION_ID:
        raise Open311Error(404, _("Unknown jurisdiction_id %(id)s.") % {"id": value[:60]})
