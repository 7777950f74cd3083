"""Reads of data requests, scoped by the viewer: a department's staff see their department's
requests; owners (``sharing.own``) and security administrators (``sharing.grant``) see the requests
whose every region lies in their scope. Anything else is 404."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from shequ.core.permissions import Viewer, codes_q, has_perm, scopes_for
from shequ.sharing.models import DataRequest, RequestStatus
from shequ.sharing.permissions import SharePerm as P
from shequ.sharing.services.requests import OWNER, SECURITY, STEP_PERMS, request_departments


def _base() -> QuerySet[DataRequest]:
    return DataRequest.objects.select_related("department", "requester", "client", "owner_by", "security_by")


def department_requests(*, viewer: Viewer) -> QuerySet[DataRequest]:
    """The requests of the viewer's departments, newest first."""
    return _base().filter(department__in=[d.pk for d in request_departments(viewer)])


def decider_steps(viewer: Viewer, req: DataRequest) -> list[str]:
    """The steps of ``req`` the viewer holds the permission for (deciding or not)."""
    return [step for step, perm in STEP_PERMS.items() if has_perm(viewer, perm, req.region_code)]


def queue(*, viewer: Viewer, step: str, pending_only: bool = True) -> QuerySet[DataRequest]:
    """The requests the viewer may decide as ``step`` (``OWNER``/``SECURITY``)."""
    qs = _base().filter(codes_q(scopes_for(viewer, STEP_PERMS[step])))
    if pending_only:
        field = "owner_decision" if step == OWNER else "security_decision"
        qs = qs.filter(status=RequestStatus.PENDING, **{field: ""})
    return qs


def get_request_for(viewer: Viewer, pk: int) -> DataRequest:
    """One request the viewer may read (their department's, or in a decider's scope), else 404."""
    mine = Q(department__in=[d.pk for d in request_departments(viewer)])
    for step in (OWNER, SECURITY):
        mine |= codes_q(scopes_for(viewer, STEP_PERMS[step]))
    req = _base().filter(mine, pk=pk).first()
    if req is None:
        raise Http404
    return req


def can_request(viewer: Viewer) -> bool:
    return has_perm(viewer, P.REQUEST) and bool(request_departments(viewer))
