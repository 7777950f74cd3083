"""Answering a department's call on shared data, and the access log of every call.

``rows_answer`` is the API's whole decision: which grant, which regions and rows, which fields
masked, how fast. Every call — answered or refused — is one ``SharingCall`` with the communities
it touched (``SharedRegion``) and the people it returned (``SharedSubject``), bulk-inserted, and one
audit entry ``sharing.call``, in one transaction (``call_record``); never one entry per row.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.components import DataResource, Sensitivity, resources_all
from shequ.core.models import (
    LEVEL_CODE_LENGTH,
    AuditResult,
    Department,
    RegionLevel,
    User,
    common_region_code,
)
from shequ.sharing.models import CallOutcome, Grant, SharedRegion, SharedSubject, SharingCall
from shequ.sharing.selectors_access import department_of_client

__all__ = [
    "LIMIT_DEFAULT",
    "LIMIT_MAX",
    "CallRefused",
    "call_record",
    "refusal_record",
    "rows_answer",
    "shown_value",
]

LIMIT_DEFAULT = 100
LIMIT_MAX = 500
COMMUNITY_LENGTH = LEVEL_CODE_LENGTH[RegionLevel.COMMUNITY]
RESERVED = frozenset({"after", "limit", "grant", "region"})
CLEAR = frozenset({Sensitivity.PUBLIC, Sensitivity.INTERNAL})
QUERY_MAX = 20  # parameters kept in the log (a caller cannot grow the log row without bound)
PARAMETER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
UNKNOWN = "?"  # what the log keeps of a parameter, or a value, it must not keep
LONG_DIGITS = re.compile(r"\d{11,}")  # a phone or ID number's run of digits
REGION_LENGTHS = frozenset(LEVEL_CODE_LENGTH.values())


def _logged_value(name: str, value: str) -> str:
    text = str(value)[:100]
    if name == "region" and text.isdigit() and len(text) in REGION_LENGTHS:
        return text
    return UNKNOWN if LONG_DIGITS.search(text) else text


def _logged_query(params: Mapping[str, str], known: frozenset[str]) -> dict[str, str]:
    """The call's parameters as the log keeps them: the cursor, grant, region and the resource's
    filters with their values; of any other parameter only a name-like name. A caller may send an
    ID or phone number in any parameter, and the log must not keep it in clear: a long run of digits
    (not a region code) is dropped too."""
    out: dict[str, str] = {}
    for key, value in list(params.items())[:QUERY_MAX]:
        name = str(key)
        if name in RESERVED or name in known:
            out[name] = _logged_value(name, value)
        else:
            out[name if PARAMETER_NAME.fullmatch(name) else UNKNOWN] = UNKNOWN
    return out


class CallRefused(Exception):
    """A refused call, already logged: ``status`` (400/403/404/429), a machine ``code``, a message
    and details for the error body; ``retry_after`` seconds for a 429."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        retry_after: int = 0,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.retry_after = retry_after


@dataclass
class _Call:
    client: User
    resource: str
    query: dict[str, str]
    token_prefix: str = ""
    ip: str | None = None
    grant: Grant | None = None
    department: Department | None = None
    fields: list[str] = field(default_factory=list)
    unmasked: list[str] = field(default_factory=list)


def _community(code: str) -> str:
    return code[:COMMUNITY_LENGTH]


def _write(
    call: _Call, outcome: str, reason: str, regions: Mapping[str, int], subjects: Sequence[int], rows: int
) -> SharingCall:
    """The log row, its regions and subjects, and the audit entry, in one transaction."""
    codes = sorted(regions)
    grant = call.grant
    department = call.department or (grant.department if grant else None)
    scope = common_region_code(codes) if codes else (grant.region_code if grant else "")
    with transaction.atomic():
        row = SharingCall.objects.create(
            at=timezone.now(),
            client=call.client,
            department=department,
            grant=grant,
            token_prefix=call.token_prefix[:12],
            resource=call.resource[:60],
            query=call.query,
            fields=call.fields,
            unmasked=call.unmasked,
            rows=rows,
            outcome=outcome,
            reason=reason[:200],
            ip=call.ip,
            region_code=scope,
        )
        SharedRegion.objects.bulk_create(
            [SharedRegion(call=row, region_code=code, rows=regions[code]) for code in codes], batch_size=1000
        )
        SharedSubject.objects.bulk_create(
            [SharedSubject(call=row, person_id=pk) for pk in sorted(set(subjects))], batch_size=1000
        )
        audit.record(
            "sharing.call",
            actor=call.client,
            region_code=scope,
            object_type="sharing.call",
            object_id=row.pk,
            fields=call.fields,
            reason=reason,
            result=AuditResult.SUCCESS if outcome == CallOutcome.OK else AuditResult.DENIED,
            detail={
                "grant": grant.pk if grant else None,
                "department": department.pk if department else None,
                "resource": call.resource[:60],
                "outcome": outcome,
                "rows": rows,
                "regions": {code: regions[code] for code in codes},
                "subjects": len(set(subjects)),
                "unmasked": call.unmasked,
                "token": call.token_prefix,
            },
        )
    return row


def _tally(resource: DataResource, objs: Sequence[Any]) -> tuple[dict[str, int], list[int]]:
    regions = Counter(_community(resource.region_code(obj)) for obj in objs)
    subjects = [pk for obj in objs for pk in resource.subjects(obj)]
    return dict(regions), subjects


def call_record(
    *,
    grant: Grant,
    outcome: str,
    rows: Sequence[Any],
    query: Mapping[str, Any],
    reason: str = "",
    token_prefix: str = "",
    ip: str | None = None,
) -> SharingCall:
    """Log data sent under ``grant`` outside the rows API (a webhook delivery): ``rows`` are the
    resource's objects; their communities and people are logged as for an API call. Call it in
    the sender's transaction."""
    resource = resources_all().get(grant.resource)
    regions, subjects = _tally(resource, rows) if resource is not None else ({}, [])
    call = _Call(
        client=grant.client,
        resource=grant.resource,
        query={str(k): v for k, v in query.items()},
        token_prefix=token_prefix,
        ip=ip,
        grant=grant,
        fields=list(grant.fields),
        unmasked=list(grant.unmasked),
    )
    return _write(call, outcome, reason, regions, subjects, len(rows) if outcome == CallOutcome.OK else 0)


def refusal_record(
    *, client: User, resource: str, code: str, token_prefix: str = "", ip: str | None = None
) -> SharingCall:
    """Log a call refused before any grant was looked at (a token without the sharing scope)."""
    call = _Call(
        client=client,
        resource=resource[:60],
        query={},
        token_prefix=token_prefix,
        ip=ip,
        department=department_of_client(client),
    )
    return _write(call, CallOutcome.DENIED, code, {}, [], 0)


def shown_value(resource_field: Any, value: Any, unmasked: bool) -> tuple[bool, Any]:
    """Whether a granted field is shown, and how: public and internal fields as they are, personal
    and sensitive ones in clear only when the grant names them, else masked, else left out."""
    if unmasked or resource_field.sensitivity in CLEAR:
        return True, value
    if resource_field.mask is None:
        return False, None
    return True, resource_field.mask(value) if value not in (None, "") else value


def _refuse(call: _Call, outcome: str, status: int, code: str, message: str, **extra: Any) -> CallRefused:
    retry_after = int(extra.pop("retry_after", 0))
    _write(call, outcome, code, {}, [], 0)
    details = {**extra, **({"retry_after": retry_after} if retry_after else {})}
    return CallRefused(status, code, message, details, retry_after)


def _why_inactive(grant: Grant, now: Any) -> tuple[str, str]:
    if grant.revoked_at is not None:
        return "grant_revoked", _("The grant has been revoked.")
    if grant.starts_at > now:
        return "grant_not_started", _("The grant has not started yet.")
    if grant.expires_at <= now:
        return "grant_expired", _("The grant has expired.")
    return "department_inactive", _("The department is no longer active.")


def _choose_grant(call: _Call, wanted: str) -> Grant:
    now = timezone.now()
    grants = list(
        Grant.objects.filter(client=call.client, resource=call.resource).select_related(
            "department", "client"
        )
    )
    if wanted:
        if not wanted.isdigit():
            raise _refuse(call, CallOutcome.INVALID, 400, "invalid_parameter", _("grant must be a number."))
        grants = [g for g in grants if g.pk == int(wanted)]
    if not grants:
        raise _refuse(
            call,
            CallOutcome.DENIED,
            403,
            "no_grant",
            _("Your account holds no grant on this resource."),
            resource=call.resource,
        )
    active = [g for g in grants if g.in_force(now)]
    if not active:
        newest = max(grants, key=lambda g: (g.created_at, g.pk))
        call.grant = newest
        code, message = _why_inactive(newest, now)
        raise _refuse(call, CallOutcome.DENIED, 403, code, message, grant=newest.pk)
    if len(active) > 1:
        raise _refuse(
            call,
            CallOutcome.INVALID,
            400,
            "grant_required",
            _("Several grants cover this resource: choose one with grant=<id>."),
            grants=sorted(g.pk for g in active),
        )
    return active[0]


def _over_rate(grant: Grant) -> int:
    """0 when the call is within the grant's rate, else the seconds to wait (a fixed window per
    grant per minute in Django's cache, like core's API throttle)."""
    now = time.time()
    window = int(now // 60)
    key = f"shequ:sharing-rate:{grant.pk}:{window}"
    cache.add(key, 0, timeout=61)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=61)
        count = 1
    if count <= grant.rate_per_minute:
        return 0
    return max(1, math.ceil((window + 1) * 60 - now))


def _int_param(call: _Call, params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise _refuse(
            call,
            CallOutcome.INVALID,
            400,
            "invalid_parameter",
            _("%(name)s must be a whole number from %(low)d to %(high)d.")
            % {"name": name, "low": low, "high": high},
            parameter=name,
        )
    return int(raw)


def rows_answer(
    *,
    client: User,
    resource_key: str,
    params: Mapping[str, str],
    token_prefix: str = "",
    ip: str | None = None,
) -> dict[str, Any]:
    """The answer to ``GET /sharing/{resource}/rows`` for ``client`` (a token's owner), or
    ``CallRefused`` — logged either way."""
    resource = resources_all().get(resource_key)
    known = frozenset(d.key for d in resource.dimensions) if resource is not None else frozenset()
    call = _Call(
        client=client,
        resource=resource_key,
        query=_logged_query(params, known),
        token_prefix=token_prefix,
        ip=ip,
        department=department_of_client(client),
    )
    if resource is None:
        raise _refuse(
            call, CallOutcome.INVALID, 404, "unknown_resource", _("There is no such resource in the catalog.")
        )
    grant = _choose_grant(call, params.get("grant", "").strip())
    call.grant, call.department = grant, grant.department
    wait = _over_rate(grant)
    if wait:
        raise _refuse(
            call,
            CallOutcome.LIMITED,
            429,
            "rate_limited",
            _("The grant allows %(n)d calls a minute.") % {"n": grant.rate_per_minute},
            retry_after=wait,
        )
    after = _int_param(call, params, "after", 0, 0, 2**63 - 1)
    limit = _int_param(call, params, "limit", LIMIT_DEFAULT, 1, LIMIT_MAX)
    codes = list(grant.region_codes)
    region = params.get("region", "").strip()
    if region:
        if not region.isdigit() or not any(region.startswith(code) for code in codes):
            raise _refuse(
                call,
                CallOutcome.DENIED,
                403,
                "outside_grant",
                _("The region lies outside the grant's regions."),
                region=region[:20],
                regions=codes,
            )
        codes = [region]
    dimensions = {d.key: d for d in resource.dimensions}
    filters = dict(grant.row_filters)
    for key, raw in params.items():
        if key in RESERVED:
            continue
        value = str(raw).strip()
        dim = dimensions.get(key)
        if dim is None:
            raise _refuse(
                call,
                CallOutcome.INVALID,
                400,
                "unknown_filter",
                _("The resource cannot be filtered by %(key)s.") % {"key": key[:40]},
                parameter=key[:40],
                filters=sorted(dimensions),
            )
        if value not in {str(v) for v, _label in dim.values()}:
            raise _refuse(
                call,
                CallOutcome.INVALID,
                400,
                "invalid_filter",
                _("%(value)s is not a value of %(key)s.") % {"value": value[:40], "key": key},
                parameter=key,
            )
        if key in filters and filters[key] != value:
            # The grant's row filter is the widest a caller may see: another value widens it.
            raise _refuse(
                call,
                CallOutcome.DENIED,
                403,
                "outside_grant",
                _("The grant only covers rows with %(key)s = %(value)s.")
                % {"key": key, "value": filters[key]},
                parameter=key,
            )
        filters[key] = value
    found = list(resource.rows(codes, filters, after, limit + 1))
    more = len(found) > limit
    # Never more than the grant's regions, whatever the resource's query does.
    objs = [obj for obj in found[:limit] if any(resource.region_code(obj).startswith(c) for c in codes)]
    by_key = {f.key: f for f in resource.fields}
    granted = [k for k in grant.fields if k in by_key]  # a field the catalog dropped is not answered
    unmasked = set(grant.unmasked)
    rows: list[dict[str, Any]] = []
    for obj in objs:
        values = resource.row(obj)
        out: dict[str, Any] = {"id": obj.pk}
        for key in granted:
            shown, value = shown_value(by_key[key], values.get(key), key in unmasked)
            if shown:
                out[key] = value
        rows.append(out)
    shown_fields = [k for k in granted if shown_value(by_key[k], "x", k in unmasked)[0]]
    call.fields = shown_fields
    call.unmasked = [k for k in grant.unmasked if k in shown_fields]
    regions, subjects = _tally(resource, objs)
    log = _write(call, CallOutcome.OK, "", regions, subjects, len(rows))
    return {
        "resource": resource.key,
        "grant": grant.pk,
        "call": log.pk,
        "fields": shown_fields,
        "unmasked": call.unmasked,
        "rows": rows,
        "next": found[limit - 1].pk if more else None,
    }
