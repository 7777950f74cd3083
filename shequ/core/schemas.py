"""Input and output schemas of core's API (``shequ/core/api.py``)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, StringConstraints, field_validator

from shequ.core.models import AuditResult, RegionKind, RegionLevel, Role
from shequ.core.text import check_line, check_multiline

# Region codes keep only their significant digits: 2, 4, 6, 9, 12 or 15 of them ([0-9], not \d,
# which would also accept other scripts' digits).
REGION_CODE_PATTERN = r"^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12}|[0-9]{15})$"
RegionCode = Annotated[str, StringConstraints(pattern=REGION_CODE_PATTERN)]
# Text as the API takes it: the characters shequ/core/text.py refuses are a 400 (the services refuse
# the same ones for pages, Open311 and imports). Up to 200 characters: one line; from 500: multi-line.
OneLine = AfterValidator(check_line)
MultiLine = AfterValidator(check_multiline)
Str3 = Annotated[str, StringConstraints(max_length=3), OneLine]
Str10 = Annotated[str, StringConstraints(max_length=10), OneLine]
Str12 = Annotated[str, StringConstraints(max_length=12), OneLine]
Str20 = Annotated[str, StringConstraints(max_length=20), OneLine]
Str40 = Annotated[str, StringConstraints(max_length=40), OneLine]
Str50 = Annotated[str, StringConstraints(max_length=50), OneLine]
Str100 = Annotated[str, StringConstraints(max_length=100), OneLine]
Str200 = Annotated[str, StringConstraints(max_length=200), OneLine]
Str500 = Annotated[str, StringConstraints(max_length=500), MultiLine]
Str2000 = Annotated[str, StringConstraints(max_length=2000), MultiLine]
# Database ids: positive and within a signed 64-bit integer (bigger values overflow the database driver).
MAX_DB_ID = 2**63 - 1

# --- Input primitives shared by the apps' schemas -----------------------------------------------

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _json_int(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("give a JSON integer")
    return value


def _iso_date(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("use a date such as 2024-03-01")
    return value


def _rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not RFC3339.fullmatch(value):
        raise ValueError("use an RFC 3339 time with a zone, e.g. 2025-01-31T08:00:00+08:00")
    return value


def _sane_year(value: datetime | None) -> datetime | None:
    if value is not None and not 1970 <= value.year <= 2200:
        raise ValueError("the year must lie between 1970 and 2200")
    return value


ObjectId = Annotated[int, BeforeValidator(_json_int), Field(ge=1, le=MAX_DB_ID)]
Day = Annotated[date, BeforeValidator(_iso_date)]
Moment = Annotated[datetime, BeforeValidator(_rfc3339), AfterValidator(_sane_year)]


class StrictIn(Schema):
    model_config = ConfigDict(extra="forbid")


class RegionOut(Schema):
    code: str = Field(description="Significant digits of the division code (2 to 15 digits).")
    statistical_code: str = Field(description="The official 12-digit code (grids keep 15 digits).")
    name: str
    level: RegionLevel
    kind: RegionKind
    parent_code: str | None
    child_count: int | None = Field(None, description="Number of child regions (lists only).")

    @staticmethod
    def resolve_parent_code(obj: Any) -> str | None:
        return obj.code[: _parent_length(obj.code)] if len(obj.code) > 2 else None

    @staticmethod
    def resolve_child_count(obj: Any) -> int | None:
        return getattr(obj, "child_count", None)


def _parent_length(code: str) -> int:
    return {4: 2, 6: 4, 9: 6, 12: 9, 15: 12}[len(code)]


class MembershipOut(Schema):
    role: Role
    role_label: str
    region_code: str
    region_name: str
    department: str | None


class AuthInfoOut(Schema):
    method: str = Field(description="`token` or `session`.")
    token_name: str | None = None
    token_scopes: list[str] | None = None
    token_expires_at: datetime | None = None


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    phone_masked: str = Field(description="The mobile number, masked like 138****5678.")
    elderly_mode: bool
    roles: list[MembershipOut]
    regions: list[RegionOut] = Field(description="The top regions of the user's scopes.")
    auth: AuthInfoOut


class MessageOut(Schema):
    id: int
    subject: str
    body: str
    link: str
    topic: str
    topic_ref: str
    thread_key: str  # messages about one object share it ("grid.ticket:42"): group them
    region_code: str
    sender_name: str | None
    requires_ack: bool
    created_at: datetime
    read_at: datetime | None
    acknowledged_at: datetime | None

    @staticmethod
    def resolve_sender_name(obj: Any) -> str | None:
        return obj.sender.name if obj.sender_id else None


class AuditEntryOut(Schema):
    id: int
    seq: int | None  # the place in the hash chain; empty for the second or so before the sealer runs
    at: datetime
    actor_id: int | None
    actor_name: str
    role: str
    region_code: str
    action: str
    object_type: str
    object_id: str
    fields: list[Any]
    reason: str
    ip: str | None
    result: AuditResult
    detail: dict[str, Any]


# RFC 3339 date-time (the OpenAPI `date-time` format): a zone is required.
RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


class AuditFilters(Schema):
    action: str | None = Field(
        None,
        max_length=64,
        pattern=r"^[a-z0-9_.:-]+$",
        description="Action, or the start of one (`login` matches `login.failed`).",
    )
    actor: str | None = Field(
        None, max_length=150, pattern=r"^[\w.@+-]+$", description="User name of the actor."
    )
    result: AuditResult | None = None
    region: RegionCode | None = Field(None, description="Region code; its whole subtree matches.")
    since: datetime | None = Field(None, description="From this time (inclusive), RFC 3339 with a zone.")
    until: datetime | None = Field(None, description="Until this time (exclusive), RFC 3339 with a zone.")

    @field_validator("since", "until", mode="before")
    @classmethod
    def _rfc3339_text(cls, value: Any) -> Any:
        # pydantic would also take a number of seconds or a time without a zone; the document says
        # RFC 3339 date-time, so that is what we accept.
        if isinstance(value, str) and not RFC3339.fullmatch(value):
            raise ValueError("use an RFC 3339 time with a zone, e.g. 2025-01-31T08:00:00+08:00")
        return value

    @field_validator("since", "until")
    @classmethod
    def _sane_year(cls, value: datetime | None) -> datetime | None:
        if value is not None and not 1970 <= value.year <= 2200:  # far-off years overflow in UTC
            raise ValueError("the year must lie between 1970 and 2200")
        return value


class MessageFilters(Schema):
    state: Literal["all", "unread", "read"] = Field(
        "all", description="All, only unread or only read messages."
    )
    needs_ack: bool | None = Field(None, description="Only messages still waiting for an acknowledgement.")
