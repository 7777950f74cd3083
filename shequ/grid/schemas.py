"""Input and output schemas of the grid API (``shequ/grid/api.py``).

Outputs never carry a full phone number (``contact_phone_masked`` only) and no ID number at all;
contact details and staff names are shown only to staff of the ticket and to its reporter (the API
sets ``show_contact``/``staff_view`` on the ticket before answering). Inputs are strict, as in the
registry's API: unknown fields, control characters and over-long text are refused with a 400
before any service runs; the services then check the meaning and the workflow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.utils import timezone
from ninja import Field, Schema
from pydantic import BeforeValidator, StrictBool, StringConstraints

from shequ.core.schemas import (
    MAX_DB_ID,
    MultiLine,
    ObjectId,
    OneLine,
    RegionCode,
    Str50,
    Str100,
    Str200,
    Str500,
    Str2000,
    StrictIn,
)
from shequ.grid import selectors
from shequ.grid.models import Source, Status, Urgency


def _json_number(value: Any) -> Any:
    # pydantic would take "30.5" or true for a number; the OpenAPI document says a JSON number.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("give a JSON number")
    return value


JsonNumber = BeforeValidator(_json_number)
CategoryCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,29}(\.[a-z][a-z0-9_]{0,29})?$")]
DepartmentCode = Annotated[str, StringConstraints(pattern=r"^[-a-zA-Z0-9_]{1,64}$")]
Text4000 = Annotated[str, StringConstraints(max_length=4000), MultiLine]
ExternalRef = Annotated[str, StringConstraints(pattern=r"^[-A-Za-z0-9_.:/#]{1,64}$")]
TicketNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{14,27}$")]
Latitude = Annotated[float, JsonNumber, Field(ge=-90, le=90)]
Longitude = Annotated[float, JsonNumber, Field(ge=-180, le=180)]
Colour = Literal["green", "yellow", "red"]


# --- Outputs ------------------------------------------------------------------------------------


class TicketOut(Schema):
    id: int
    number: str = Field(description="The number people quote: submission date (YYYYMMDD) and id.")
    source: Source
    status: Status
    status_label: str
    title: str
    category: str | None = Field(description="Leaf category code, e.g. `safety.gas`.")
    category_name: str
    urgency: Urgency
    region_code: str
    region_name: str
    department: str | None = Field(description="Code of the department the ticket is with now.")
    department_name: str
    colour: str = Field(description="`green`, `yellow` (80 % of the time used), `red` (overdue) or empty.")
    escalations: int
    submitted_at: datetime
    due_at: datetime | None = Field(description="The deadline of the running clock.")
    response_due_at: datetime | None
    resolve_due_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    rating: int | None

    @staticmethod
    def resolve_number(obj: Any) -> str:
        return obj.number

    @staticmethod
    def resolve_status_label(obj: Any) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_category(obj: Any) -> str | None:
        return obj.category.code if obj.category_id else None

    @staticmethod
    def resolve_category_name(obj: Any) -> str:
        return obj.category.name_zh if obj.category_id else ""

    @staticmethod
    def resolve_region_name(obj: Any) -> str:
        return obj.region.name

    @staticmethod
    def resolve_department(obj: Any) -> str | None:
        return obj.department.code if obj.department_id else None

    @staticmethod
    def resolve_department_name(obj: Any) -> str:
        return obj.department.name if obj.department_id else ""

    @staticmethod
    def resolve_colour(obj: Any) -> str:
        return selectors.colour(obj, timezone.now())


class TicketActionOut(Schema):
    id: int
    at: datetime
    action: str = Field(description="The step: `submit`, `accept`, `dispatch`, `resolve`, `comment` …")
    actor_name: str = Field(description="Shown to staff only; residents see the role and department.")
    actor_role: str
    department: str = Field(description="Name of the department that acted, if any.")
    from_status: str
    to_status: str
    comment: str
    params: dict[str, Any]
    photos: int = Field(description="Number of photos attached to this step.")
    photo_ids: list[int] = Field(
        description="Their ids, for GET /grid/tickets/{ticket_id}/photos/{photo_id}."
    )

    @staticmethod
    def resolve_department(obj: Any) -> str:
        return obj.department.name if obj.department_id else ""

    @staticmethod
    def resolve_photos(obj: Any) -> int:
        return len(obj.attachments.all())

    @staticmethod
    def resolve_photo_ids(obj: Any) -> list[int]:
        return [att.pk for att in obj.attachments.all()]


class ExtensionOut(Schema):
    id: int
    days: int
    reason: str
    status: str
    requested_at: datetime
    decided_at: datetime | None


class UrgentReasonOut(Schema):
    phrase: str = Field(
        description="The words that fired, as written (for the model: the n-grams it weighed)."
    )
    by: str = Field(description="`rule` or `model`.")
    kind: str
    score: float | None = Field(None, description="The model's probability.")
    set_aside: str = Field("", description="`negated`, `past` or `over` for a rule match that did not count.")


class UrgentOut(Schema):
    """An urgent ticket's alert: what the reporter should do now and what the community is doing."""

    state: str = Field(description="`open` (nobody has acknowledged yet), `acknowledged` or `cleared`.")
    level: int = Field(
        description="Who has been alerted: 0 the person on duty, 1 the community head, 2 the street."
    )
    life_safety: bool = Field(description="The detector read a present danger to life in the text.")
    kind: str = Field(
        description="gas, fire, trapped, person_down, flooding, live_wire, collapse, violence, …"
    )
    call: list[str] = Field(description="Emergency numbers to call now, the most fitting first.")
    advice: str = Field(description="What to do now, in the caller's language.")
    raised_at: datetime
    acknowledged_at: datetime | None
    reasons: list[UrgentReasonOut] = Field(description="Why it is urgent: staff of the ticket only.")


class TicketDetailOut(TicketOut):
    description: str
    address: str
    latitude: float | None
    longitude: float | None
    anonymous: bool
    contact_name: str = Field(description="Empty unless the caller is staff of the ticket or its reporter.")
    contact_phone_masked: str = Field(description="Masked like 138****5678; empty as contact_name.")
    suggested_category: str | None = Field(description="What the classifier proposed at intake.")
    suggestion_confidence: float | None
    external_ref: str = Field(description="The 12345 hotline number or the sensor alert id.")
    result: str
    rating_comment: str
    parent_id: int | None = Field(description="The ticket this one was merged into.")
    allowed_steps: list[str] = Field(description="The workflow steps the caller may take now.")
    pending_extension: ExtensionOut | None
    urgent: UrgentOut | None = Field(description="Set when the ticket came in urgent.")
    timeline: list[TicketActionOut]

    # api._detail puts what the caller may see on the ticket before answering.
    @staticmethod
    def resolve_contact_name(obj: Any) -> str:
        return obj.contact_name if obj.show_contact else ""

    @staticmethod
    def resolve_contact_phone_masked(obj: Any) -> str:
        return obj.masked_contact_phone if obj.show_contact else ""

    @staticmethod
    def resolve_suggested_category(obj: Any) -> str | None:
        return obj.suggested_category.code if obj.suggested_category_id else None

    @staticmethod
    def resolve_latitude(obj: Any) -> float | None:
        return float(obj.latitude) if obj.latitude is not None else None

    @staticmethod
    def resolve_longitude(obj: Any) -> float | None:
        return float(obj.longitude) if obj.longitude is not None else None

    @staticmethod
    def resolve_allowed_steps(obj: Any) -> list[str]:
        return obj.allowed_steps

    @staticmethod
    def resolve_pending_extension(obj: Any) -> Any:
        return obj.pending_extension

    @staticmethod
    def resolve_urgent(obj: Any) -> Any:
        return obj.urgent_view

    @staticmethod
    def resolve_timeline(obj: Any) -> Any:
        return obj.visible_timeline


class CategoryOut(Schema):
    code: str
    name: str
    name_zh: str
    department_kind: str
    response_hours: int
    resolution_days: int
    urgent_response_hours: int
    urgent_resolution_hours: int


class CategoryTreeOut(CategoryOut):
    children: list[CategoryOut] = Field(description="The leaf categories tickets carry.")


class SuggestionOut(Schema):
    category: str
    name_zh: str
    confidence: float = Field(ge=0, le=1)


class SuggestOut(Schema):
    available: bool = Field(description="False when the classifier is not trained or not installed.")
    suggestions: list[SuggestionOut]


class RoutingRuleOut(Schema):
    id: int
    category: str
    category_name: str
    region_code: str
    department: str
    department_name: str
    auto_dispatch: bool

    @staticmethod
    def resolve_category(obj: Any) -> str:
        return obj.category.code

    @staticmethod
    def resolve_category_name(obj: Any) -> str:
        return obj.category.name_zh

    @staticmethod
    def resolve_department(obj: Any) -> str:
        return obj.department.code

    @staticmethod
    def resolve_department_name(obj: Any) -> str:
        return obj.department.name


# --- Inputs -------------------------------------------------------------------------------------


class TicketFiltersIn(Schema):
    status: Status | None = None
    category: CategoryCode | None = Field(None, description="A leaf code, or a main type with its leaves.")
    source: Source | None = None
    colour: Colour | None = Field(None, description="Open tickets in this deadline state.")
    region: RegionCode | None = Field(None, description="Only this region's subtree.")
    q: Str100 = Field("", description="Words of the title, or a ticket number.")
    open_only: bool = Field(False, description="Only tickets someone still owes work on.")


class DepartmentQueueFilters(Schema):
    include_done: bool = Field(False, description="Also tickets the department has finished.")


class RoutingRuleFilters(Schema):
    region: RegionCode | None = Field(None, description="Rules that apply to this region.")
    category: CategoryCode | None = None


class TicketIn(StrictIn):
    source: Literal["staff", "patrol", "resident"] | None = Field(
        None,
        description="Default: `staff` for staff of the region, `resident` for everyone else. "
        "Hotline files use the import page, sensors `/grid/sensor-alerts`.",
    )
    region_code: RegionCode = Field(description="The grid (or community) the problem lies in.")
    title: Str100
    description: Text4000
    category: CategoryCode | None = Field(None, description="Leaf category code (see /grid/categories).")
    urgency: Urgency = Urgency.NORMAL
    anonymous: StrictBool = False
    contact_name: Str50 = ""
    contact_phone: Annotated[str, StringConstraints(max_length=20), OneLine] = ""
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    address: Str200 = ""
    house_id: ObjectId | None = Field(None, description="A registered house in the caller's regions.")


class SensorAlertIn(StrictIn):
    alert_id: ExternalRef = Field(description="The alert's id at the sensor platform; repeating it is safe.")
    region_code: RegionCode = Field(description="The grid (or community) of the device.")
    title: Str100
    description: Text4000
    category: CategoryCode | None = Field(None, description="Leaf category code, e.g. `safety.gas`.")
    urgency: Urgency = Urgency.URGENT
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    address: Str200 = ""


STAFF_ONLY = "Staff only: the reporter does not see it."
FOR_REPORTER = "The reporter reads it on their ticket."


class AcceptIn(StrictIn):
    category: CategoryCode | None = Field(None, description="Confirm or correct the category.")
    urgency: Urgency | None = None
    comment: Str2000 = Field("", description=STAFF_ONLY)
    clear_reason: Str2000 = Field(
        "",
        description="Needed to accept as normal a ticket whose urgent alarm is live: the alarm is "
        "cleared as a false alarm with this reason (as `urgent_clear`).",
    )


class CategoryIn(StrictIn):
    category: CategoryCode


class ResultIn(StrictIn):
    result: Text4000 = Field(description=FOR_REPORTER)


class DispatchIn(StrictIn):
    department: DepartmentCode | None = Field(None, description="Default: the routing rule's department.")
    comment: Str2000 = Field("", description=f"Instructions to the department. {STAFF_ONLY}")


class MergeIn(StrictIn):
    into_id: ObjectId | None = Field(None, description="The ticket to merge into (its id) …")
    into_number: TicketNumber | None = Field(None, description="… or its number.")


class CommentIn(StrictIn):
    comment: Str2000 = Field("", description=STAFF_ONLY)


class ReplyIn(StrictIn):
    comment: Str2000 = Field(description=FOR_REPORTER)


class AckIn(StrictIn):
    """Nothing to say: the acknowledgement is the call itself."""


class ReasonIn(StrictIn):
    reason: Str2000 = Field(description=STAFF_ONLY)


class ExtensionIn(StrictIn):
    days: Annotated[int, JsonNumber] = Field(ge=1, le=30, description="Working days more.")
    reason: Str2000 = Field(description=STAFF_ONLY)


class DecideExtensionIn(StrictIn):
    approve: StrictBool
    comment: Str2000 = Field("", description=f"Required when refusing. {STAFF_ONLY}")


class VerifyIn(StrictIn):
    passed: StrictBool
    comment: Str2000 = Field(
        "", description=f"Required when the check failed: what is still wrong. {STAFF_ONLY}"
    )


class RateIn(StrictIn):
    rating: Annotated[int, JsonNumber] = Field(ge=1, le=5)
    comment: Str500 = Field("", description="Required for 1 or 2 stars.")


class SuperviseIn(StrictIn):
    decision: Literal["redispatch", "return", "close"]
    comment: Str2000 = Field(description=STAFF_ONLY)
    department: DepartmentCode | None = Field(None, description="For `redispatch`; default as before.")


class NoteIn(StrictIn):
    text: Str2000 = Field(description=STAFF_ONLY)


class SuggestIn(StrictIn):
    text: Annotated[str, StringConstraints(min_length=1, max_length=4000), MultiLine]
    k: Annotated[int, JsonNumber] = Field(3, ge=1, le=10)


class RoutingRuleIn(StrictIn):
    category: CategoryCode
    region_code: RegionCode
    department: DepartmentCode
    auto_dispatch: StrictBool = False


TicketId = Annotated[int, Field(ge=1, le=MAX_DB_ID)]
