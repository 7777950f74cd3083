"""Reads of residents' rights (PIPL): who used a resident's data, their requests, and the staff's
queue of requests in their communities.

A resident is their registry person through their account (``registry.selectors.person_for_account``,
the mobile number's blind index, in the communities where the account is a resident). Department
calls about them are the access log's ``calls_about_person`` (``SharedSubject`` names the person); staff
reveals of their full ID or mobile number come from the registry's ``subject_data.reveals_of``.
Staff see requests of their regions (``sharing.rights``); any other request is 404.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from shequ.core.components import resources_all
from shequ.core.models import LEVEL_CODE_LENGTH, Region, RegionLevel
from shequ.core.permissions import Viewer, scope_q
from shequ.core.selectors import region_names, resident_regions
from shequ.grid import deadlines
from shequ.registry import subject_data
from shequ.sharing.models import CallOutcome, RightsFileKind, RightsRequest, RightsStatus
from shequ.sharing.permissions import SharePerm as P
from shequ.sharing.selectors_access import calls_about_person

COMMUNITY_LENGTH = LEVEL_CODE_LENGTH[RegionLevel.COMMUNITY]
USES_MAX = 200


@dataclass(frozen=True)
class Resident:
    """An account's registry person and the community that keeps their record."""

    person: Any
    community: Region


def resident_of(user: Viewer) -> Resident | None:
    """The account's registry person with a home in one of its resident regions, or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    from shequ.registry.selectors import person_for_account

    regions = resident_regions(user)
    person = person_for_account(user, [r.code for r in regions]) if regions else None
    if person is None or person.house is None:
        return None
    community = Region.objects.filter(code=person.house.region_code[:COMMUNITY_LENGTH]).first()
    if community is None:
        return None
    return Resident(person=person, community=community)


# --- Who used my data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataUse:
    """One department call that returned data about the resident, in words."""

    at: dt.datetime
    department: str
    purpose: str
    legal_basis: str
    resource: str
    fields: list[str]


def _field_titles(resource_key: str, keys: Sequence[str]) -> tuple[str, list[str]]:
    resource = resources_all().get(resource_key)
    if resource is None:
        return resource_key, list(keys)
    titles = {f.key: str(f.title) for f in resource.fields}
    return str(resource.title), [titles.get(k, k) for k in keys]


def data_uses(person_ids: Sequence[int], *, limit: int = USES_MAX) -> list[DataUse]:
    out = []
    for call in calls_about_person(person_ids).filter(outcome=CallOutcome.OK)[:limit]:
        resource, fields = _field_titles(call.resource, call.fields or [])
        grant = call.grant
        out.append(
            DataUse(
                at=call.at,
                department=call.department.name if call.department else "",
                purpose=grant.purpose if grant else "",
                legal_basis=grant.legal_basis if grant else "",
                resource=resource,
                fields=fields,
            )
        )
    return out


@dataclass(frozen=True)
class StaffReveal:
    at: dt.datetime
    fields: tuple[str, ...]
    who: str  # the role and the region, never the staff member's name
    reason: str


def staff_reveals(person_ids: Sequence[int]) -> list[StaffReveal]:
    from shequ.core.models import Role

    reveals = subject_data.reveals_of(person_ids)
    names = region_names({r.region_code for r in reveals})
    roles = dict(Role.choices)
    return [
        StaffReveal(
            at=r.at,
            fields=r.fields,
            who=" · ".join(x for x in (names.get(r.region_code, ""), str(roles.get(r.role, r.role))) if x),
            reason=r.reason,
        )
        for r in reveals
    ]


# --- Requests --------------------------------------------------------------------------------------


def my_requests(*, user: Viewer) -> QuerySet[RightsRequest]:
    if getattr(user, "pk", None) is None:
        return RightsRequest.objects.none()
    return RightsRequest.objects.filter(requester_id=user.pk).order_by("-submitted_at", "-pk")


def get_my_request(user: Viewer, pk: Any) -> RightsRequest:
    try:
        return my_requests(user=user).get(pk=int(pk))
    except (RightsRequest.DoesNotExist, TypeError, ValueError, OverflowError) as exc:
        raise Http404 from exc


def request_queue(
    *, viewer: Viewer, status: str = RightsStatus.OPEN, kind: str = ""
) -> QuerySet[RightsRequest]:
    """Requests of the viewer's regions (``sharing.rights``), soonest deadline first."""
    qs = RightsRequest.objects.filter(scope_q(viewer, P.RIGHTS)).select_related("region")
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("due_at", "pk") if status == RightsStatus.OPEN else qs.order_by("-submitted_at", "-pk")


def get_request_for(viewer: Viewer, pk: Any) -> RightsRequest:
    try:
        return (
            request_queue(viewer=viewer, status="").select_related("requester", "answered_by").get(pk=int(pk))
        )
    except (RightsRequest.DoesNotExist, TypeError, ValueError, OverflowError) as exc:
        raise Http404 from exc


def open_count(viewer: Viewer) -> int:
    return request_queue(viewer=viewer).count()


def colour(rights_request: RightsRequest, now: dt.datetime | None = None) -> str:
    """green / yellow (due soon: past 80 % of the time) / red (overdue) / "" once answered."""
    if not rights_request.is_open:
        return deadlines.Colour.NONE
    return deadlines.colour(
        warn_at=rights_request.warn_at, due_at=rights_request.due_at, now=now or timezone.now()
    )


def copy_file(rights_request: RightsRequest) -> Any:
    return rights_request.files.filter(kind=RightsFileKind.COPY).order_by("-pk").first()


def proof_file(rights_request: RightsRequest) -> Any:
    return rights_request.files.filter(kind=RightsFileKind.PROOF).order_by("pk").first()
