"""Input and output schemas of the government-service API (``shequ/govservice/api.py``).

Outputs carry no ID number and no full phone number: registry-filled materials are the masked texts
shown at the counter. Inputs are strict (unknown fields, control characters and over-long text are a
400 before any service runs); the services then check the meaning and the workflow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import StringConstraints

from shequ.core.schemas import Str500, Str2000, StrictIn

# Plain literals, not the models' enums: an enum becomes an OpenAPI component by its class name, and
# "Status" or "Channel" would collide with the grid's and messaging's (a test checks each matches).
AppStatus = Literal[
    "submitted", "returned", "accepted", "forwarded", "decided", "closed", "rejected", "withdrawn"
]
AppChannel = Literal["online", "counter", "home", "kiosk"]
AppOutcome = Literal["approved", "denied", "answered"]
AppDelivery = Literal["pickup", "home", "post", "electronic"]
ItemDomain = Literal[
    "elderly",
    "disability",
    "assistance",
    "employment",
    "insurance",
    "health",
    "education",
    "hukou",
    "civil",
    "veterans",
    "certificates",
]
ItemMode = Literal["consult", "entrusted", "authorized", "assisted"]
MaterialCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]


class MaterialOut(Schema):
    code: str
    name: str
    name_zh: str
    required: bool
    from_registry: bool = Field(description="The platform fills it from the registry when it holds the fact.")


class ItemOut(Schema):
    code: str
    name: str
    name_zh: str
    domain: ItemDomain
    mode: ItemMode = Field(description="What the community does: consult, entrusted, authorized or assisted.")
    department_kind: str
    department_name: str
    summary: str
    materials: list[MaterialOut]
    legal_days: int = Field(description="Legal time limit, working days.")
    promised_days: int = Field(description="Promised time limit, working days.")
    fee: str = Field(description="Fee in yuan, `0.00` when free.")
    instant: bool = Field(description="Can be closed on receipt (即收即办).")
    online: bool
    version: int


class ApplicationOut(Schema):
    id: int
    number: str = Field(description="GS, the submission date (YYYYMMDD) and the id.")
    item: str = Field(description="Item code.")
    item_name: str
    status: AppStatus
    channel: AppChannel
    region_code: str
    department: str | None = Field(description="Code of the department it was forwarded to.")
    on_behalf: bool = Field(description="Applied for the resident by staff or a volunteer (帮办代办).")
    submitted_at: datetime
    due_at: datetime | None
    outcome: AppOutcome | Literal[""]
    rating: int | None

    @staticmethod
    def resolve_item(obj: Any) -> str:
        return str(obj.item.code)

    @staticmethod
    def resolve_item_name(obj: Any) -> str:
        return str(obj.item.name_zh)

    @staticmethod
    def resolve_department(obj: Any) -> str | None:
        return obj.department.code if obj.department_id else None


class AppliedMaterialOut(Schema):
    code: str
    name_zh: str
    required: bool
    how: Literal["registry", "upload", "paper", "missing"]
    value: str = Field(description="For registry materials: the masked text shown at the counter.")


class StepOut(Schema):
    at: datetime
    action: str
    from_status: str
    to_status: str
    note: str


class ApplicationDetailOut(ApplicationOut):
    applicant_name: str
    applicant_phone_masked: str
    materials: list[AppliedMaterialOut]
    answers: dict[str, str]
    missing: list[str]
    outcome_note: str
    steps: list[StepOut] = Field(description="The timeline; the applicant reads the public steps only.")

    @staticmethod
    def resolve_applicant_phone_masked(obj: Any) -> str:
        return str(obj.masked_phone)

    @staticmethod
    def resolve_answers(obj: Any) -> dict[str, str]:
        return {str(k): str(v) for k, v in obj.answers.items()}

    @staticmethod
    def resolve_steps(obj: Any) -> list[Any]:
        return list(obj.visible_steps)


class DecisionIn(StrictIn):
    outcome: AppOutcome
    note: Str2000 = Field("", description="Required for a denial or a consultation's answer.")


class ReturnIn(StrictIn):
    missing: list[MaterialCode] = Field(
        min_length=1, max_length=40, description="Codes of the missing materials."
    )
    note: Str2000 = ""


class DeliverIn(StrictIn):
    delivery: AppDelivery
    note: Str500 = ""


class ApplicationFilters(Schema):
    status: AppStatus | Literal["open", "final"] | None = None
