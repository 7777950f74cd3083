"""Reads of the catalog, department clients, grants and the access log — always scoped by the viewer.

* The catalog is public (no data in it).
* Grants and clients: security administrators (``sharing.grant``) in their regions.
* The access log: holders of ``sharing.access_log`` see the calls that returned rows of their
  regions (through ``SharedRegion``) with the rows for their region; a province-level holder (the
  auditor) also sees every refused call, which returned nothing to anyone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from shequ.core.components import DataResource, resources_all
from shequ.core.models import LEVEL_CODE_LENGTH, ApiToken, Department, Membership, RegionLevel, Role, User
from shequ.core.permissions import Viewer, codes_q, has_perm, scopes_for
from shequ.sharing.models import Grant, SharedRegion, SharedSubject, SharingCall
from shequ.sharing.permissions import SharePerm as P

PROVINCE_LENGTH = LEVEL_CODE_LENGTH[RegionLevel.PROVINCE]


class UnknownResource(Http404, ValueError):
    """No such resource in the catalog (a 404 on pages and the API, a ValueError to services)."""


def resources() -> list[DataResource]:
    """The catalog's resources in title order of their apps' declarations."""
    return list(resources_all().values())


def resource_for(key: str) -> DataResource:
    resource = resources_all().get(key)
    if resource is None:
        raise UnknownResource(key)
    return resource


def catalog() -> list[dict[str, Any]]:
    """The public catalog (API and page): every resource with its fields, filters and events."""
    out = []
    for res in resources():
        out.append(
            {
                "key": res.key,
                "title": str(res.title),
                "description": str(res.description),
                "owner": str(res.owner),
                "frequency": str(res.frequency),
                "sharing": res.sharing,
                "fields": [
                    {
                        "key": f.key,
                        "title": str(f.title),
                        "sensitivity": f.sensitivity,
                        "masked": f.mask is not None,
                    }
                    for f in res.fields
                ],
                "filters": [
                    {
                        "key": d.key,
                        "label": str(d.label),
                        "values": [{"value": str(v), "label": str(label)} for v, label in d.values()],
                    }
                    for d in res.dimensions
                ],
                "events": list(res.events),
            }
        )
    return out


# --- clients and grants -------------------------------------------------------------------------


def department_list(*, viewer: Viewer) -> QuerySet[Department]:
    """Active departments of the regions where the viewer holds ``sharing.grant`` (a security
    administrator manages the API access of the departments of their area)."""
    return (
        Department.objects.filter(codes_q(scopes_for(viewer, P.GRANT)), is_active=True)
        .select_related("region")
        .order_by("region_code", "name")
    )


def get_department_for(viewer: Viewer, pk: Any) -> Department:
    try:
        return department_list(viewer=viewer).get(pk=int(pk))
    except (Department.DoesNotExist, TypeError, ValueError):
        raise Http404 from None


def client_accounts(department: Department) -> QuerySet[User]:
    """The department's active staff accounts (its systems' accounts among them)."""
    members = Membership.objects.filter(
        user=OuterRef("pk"), department=department, role=Role.DEPARTMENT_STAFF, revoked_at__isnull=True
    )
    return User.objects.filter(Exists(members), is_active=True).order_by("username")


def client_tokens(departments: Sequence[Department]) -> dict[int, list[ApiToken]]:
    """{department id: the API tokens of its active staff accounts, newest first}, in two queries
    whatever the number of departments."""
    accounts: dict[int, list[int]] = {}
    for user_id, department_id in Membership.objects.filter(
        department__in=departments,
        role=Role.DEPARTMENT_STAFF,
        revoked_at__isnull=True,
        user__is_active=True,
    ).values_list("user_id", "department_id"):
        accounts.setdefault(user_id, []).append(department_id)
    out: dict[int, list[ApiToken]] = {}
    tokens = (
        ApiToken.objects.filter(user_id__in=accounts).select_related("user").order_by("-created_at", "-pk")
    )
    for token in tokens:
        for department_id in accounts[token.user_id]:
            out.setdefault(department_id, []).append(token)
    return out


def grant_list(
    *,
    viewer: Viewer,
    department: Department | None = None,
    resource: str = "",
    active_only: bool = False,
) -> QuerySet[Grant]:
    qs = Grant.objects.filter(codes_q(scopes_for(viewer, P.GRANT))).select_related(
        "department", "client", "granted_by", "revoked_by"
    )
    if department is not None:
        qs = qs.filter(department=department)
    if resource:
        qs = qs.filter(resource=resource)
    if active_only:
        now = timezone.now()
        qs = qs.filter(revoked_at__isnull=True, starts_at__lte=now, expires_at__gt=now)
    return qs.order_by("-created_at", "-pk")


def get_grant_for(viewer: Viewer, pk: Any) -> Grant:
    try:
        return grant_list(viewer=viewer).get(pk=int(pk))
    except (Grant.DoesNotExist, TypeError, ValueError):
        raise Http404 from None


# --- the access log ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogFilters:
    department: int | None = None
    resource: str = ""
    start: date | None = None
    end: date | None = None


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def call_log(*, viewer: Viewer, filters: LogFilters | None = None) -> QuerySet[SharingCall]:
    """The calls the viewer may see, newest first, each with ``rows_here``: the rows it returned of
    the viewer's regions."""
    scopes = scopes_for(viewer, P.ACCESS_LOG)
    if not scopes:
        return SharingCall.objects.none()
    regions_here = SharedRegion.objects.filter(codes_q(scopes), call=OuterRef("pk"))
    visible = Q(Exists(regions_here))
    provinces = [code for code in scopes if len(code) <= PROVINCE_LENGTH]
    if provinces:
        # Every call of the province, refused ones (no rows, maybe no region) included.
        visible |= codes_q(provinces) | Q(region_code="")
    rows_here = regions_here.order_by().values("call").annotate(total=Sum("rows")).values("total")[:1]
    qs = (
        SharingCall.objects.filter(visible)
        .select_related("department", "grant", "client")
        .annotate(rows_here=Coalesce(Subquery(rows_here, output_field=IntegerField()), 0))
    )
    f = filters or LogFilters()
    if f.department is not None:
        qs = qs.filter(department_id=f.department)
    if f.resource:
        qs = qs.filter(resource=f.resource)
    if f.start is not None:
        qs = qs.filter(at__gte=_day_start(f.start))
    if f.end is not None:
        qs = qs.filter(at__lt=_day_start(f.end) + timedelta(days=1))
    return qs.order_by("-at", "-id")


def get_call_for(viewer: Viewer, pk: Any) -> SharingCall:
    try:
        return call_log(viewer=viewer).get(pk=int(pk))
    except (SharingCall.DoesNotExist, TypeError, ValueError):
        raise Http404 from None


def call_regions(call: SharingCall, viewer: Viewer) -> list[SharedRegion]:
    """The communities of ``call`` in the viewer's scope, with their rows."""
    return list(call.regions.filter(codes_q(scopes_for(viewer, P.ACCESS_LOG))).order_by("region_code"))


def calls_about_person(person_ids: Sequence[int]) -> QuerySet[SharingCall]:
    """The answered calls that returned data about any of these registry people, newest first, with
    their grant and department (the resident's "who used my data"; the caller has checked that the
    people are the viewer's own)."""
    ids = [int(pk) for pk in person_ids]
    about = SharedSubject.objects.filter(call=OuterRef("pk"), person_id__in=ids)
    return (
        SharingCall.objects.filter(Exists(about)).select_related("grant", "department").order_by("-at", "-id")
    )


def client_choices(viewer: Viewer) -> list[tuple[User, str]]:
    """Department accounts that hold a live ``sharing:read`` token — the clients a grant can name —
    with their department's name (none for a viewer without ``sharing.grant``)."""
    if not has_perm(viewer, P.GRANT):
        return []
    now = timezone.now()
    live = ApiToken.objects.filter(revoked_at__isnull=True, expires_at__gt=now, user__is_active=True)
    user_ids = {t.user_id for t in live.only("user_id", "scopes") if "sharing:read" in t.scopes}
    members = (
        Membership.objects.filter(
            user_id__in=user_ids,
            role=Role.DEPARTMENT_STAFF,
            revoked_at__isnull=True,
            department__is_active=True,
        )
        .select_related("user", "department")
        .order_by("department__name", "user__username")
    )
    seen: set[int] = set()
    out: list[tuple[User, str]] = []
    for m in members:
        if m.user_id not in seen and m.department is not None:
            seen.add(m.user_id)
            out.append((m.user, m.department.name))
    return out


def department_of_client(client: User) -> Department | None:
    """The department a client account works for (its first department-staff membership)."""
    membership = (
        Membership.objects.filter(
            user=client, role=Role.DEPARTMENT_STAFF, revoked_at__isnull=True, department__isnull=False
        )
        .select_related("department")
        .order_by("pk")
        .first()
    )
    return membership.department if membership else None


def log_departments(viewer: Viewer) -> list[tuple[int, str]]:
    """The departments in the viewer's access log (the filter's choices)."""
    ids = call_log(viewer=viewer).order_by().values_list("department_id", flat=True).distinct()
    return list(Department.objects.filter(pk__in=ids).order_by("name").values_list("pk", "name"))


def resources_all_map() -> dict[str, DataResource]:
    return dict(resources_all())
