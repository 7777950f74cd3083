"""Every read of the government-service app, scoped to the viewer.

Staff see the applications of their regions (``govservice.view``); department staff see those
forwarded to their department; an applicant sees their own. ``get_*_for`` answers 404 outside.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from shequ.core.permissions import Viewer, has_perm, scope_q, scopes_for
from shequ.govservice.models import (
    Application,
    ApplicationStep,
    CarePlan,
    CareRecord,
    Channel,
    MaterialFile,
    Rectification,
    RectStatus,
    ServiceItem,
    Status,
)
from shequ.govservice.permissions import GovPerm as P
from shequ.govservice.services._common import COMMUNITY_LENGTH, department_ids


def _pk(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc


# --- The catalog --------------------------------------------------------------------------------


def item_list(
    *, active_only: bool = True, domain: str = "", online_only: bool = False, q: str = ""
) -> QuerySet[ServiceItem]:
    """The catalog is public: what a community can do for residents is no secret."""
    items = ServiceItem.objects.all()
    if active_only:
        items = items.filter(is_active=True)
    if online_only:
        items = items.filter(online=True)
    if domain:
        items = items.filter(domain=domain)
    if q:
        items = items.filter(Q(name_zh__contains=q) | Q(name__icontains=q) | Q(summary__contains=q))
    return items.order_by("domain", "sort_order", "code")


def get_item(code: str, *, active_only: bool = True) -> ServiceItem:
    items = ServiceItem.objects.filter(code=code)
    if active_only:
        items = items.filter(is_active=True)
    item = items.first()
    if item is None:
        raise Http404
    return item


# --- Applications ------------------------------------------------------------------------------


def visible_q(viewer: Viewer) -> Q:
    """Applications of the viewer's regions, or forwarded to one of their departments, or, for a
    grid worker, those they took themselves (a home visit's application belongs to the community,
    above the worker's grid; community staff and above keep the plain region filter)."""
    q = scope_q(viewer, P.VIEW)
    depts = department_ids(viewer)
    if depts:
        q |= Q(department_id__in=sorted(depts))
    if any(len(code) > COMMUNITY_LENGTH for code in scopes_for(viewer, P.VIEW)):
        q |= Q(created_by_id=getattr(viewer, "pk", None))
    return q


def application_list(
    *,
    viewer: Viewer,
    status: str = "",
    item: ServiceItem | None = None,
    channel: str = "",
    region_code: str = "",
    overdue: bool = False,
    number: str = "",
) -> QuerySet[Application]:
    """Newest first. ``status`` may be a status, ``open`` or ``final``."""
    from shequ.govservice.models import FINAL_STATUSES, OPEN_STATUSES, parse_number

    apps = Application.objects.filter(visible_q(viewer))
    if status == "open":
        apps = apps.filter(status__in=OPEN_STATUSES)
    elif status == "final":
        apps = apps.filter(status__in=FINAL_STATUSES)
    elif status in Status.values:
        apps = apps.filter(status=status)
    if item is not None:
        apps = apps.filter(item=item)
    if channel in Channel.values:
        apps = apps.filter(channel=channel)
    if region_code:
        apps = apps.filter(region_code__startswith=region_code)
    if overdue:
        from django.utils import timezone

        apps = apps.filter(status__in=OPEN_STATUSES, due_at__lt=timezone.now())
    if number:
        pk = parse_number(number)
        apps = apps.filter(pk=pk if pk is not None else -1)
    return apps.select_related("item", "department", "region").order_by("-submitted_at", "-pk")


def get_application_for(viewer: Viewer, pk: Any) -> Application:
    application = (
        Application.objects.filter(visible_q(viewer))
        .select_related("item", "department", "region", "helper")
        .filter(pk=_pk(pk))
        .first()
    )
    if application is None:
        raise Http404
    return application


def my_applications(*, user: Viewer) -> QuerySet[Application]:
    return (
        Application.objects.filter(applicant_user_id=getattr(user, "pk", None))
        .select_related("item", "region")
        .order_by("-submitted_at", "-pk")
    )


def get_my_application(user: Viewer, pk: Any) -> Application:
    application = my_applications(user=user).filter(pk=_pk(pk)).select_related("department").first()
    if application is None:
        raise Http404
    return application


def find_for_tracking(number: str, phone: str) -> Application | None:
    """An application by its number and the applicant's mobile number (the public tracking page,
    for those who applied at the counter or a kiosk without an account)."""
    from shequ.core.personal import clean_mobile
    from shequ.govservice.models import parse_number

    pk = parse_number(number)
    mobile = clean_mobile(phone)
    if pk is None or not mobile:
        return None
    application = Application.objects.select_related("item", "region", "department").filter(pk=pk).first()
    if application is None:
        return None
    from shequ.govservice.handlers import applicant_phones

    return application if applicant_phones([str(pk)]).get(str(pk)) == mobile else None


def steps_for(application: Application, *, public_only: bool) -> QuerySet[ApplicationStep]:
    steps = application.steps.all()
    if public_only:
        steps = steps.filter(public=True)
    return steps.order_by("at", "pk")


def files_of(application: Application) -> QuerySet[MaterialFile]:
    return application.files.order_by("pk")


# --- Rectifications ------------------------------------------------------------------------------


def rectification_list(*, viewer: Viewer, status: str = "") -> QuerySet[Rectification]:
    """The unit's own (its community, its department) and those the viewer supervises."""
    q = scope_q(viewer, P.VIEW) | scope_q(viewer, P.SUPERVISE, field="supervisor_code")
    depts = department_ids(viewer)
    if depts:
        q |= Q(department_id__in=sorted(depts))
    rects = Rectification.objects.filter(q)
    if status in RectStatus.values:
        rects = rects.filter(status=status)
    return rects.select_related("evaluation", "evaluation__application__item", "department").order_by(
        "due_at", "pk"
    )


def get_rectification_for(viewer: Viewer, pk: Any) -> Rectification:
    rect = rectification_list(viewer=viewer).filter(pk=_pk(pk)).first()
    if rect is None:
        raise Http404
    return rect


# --- Home care ------------------------------------------------------------------------------------


def care_plan_list(*, viewer: Viewer, active: bool | None = True) -> QuerySet[CarePlan]:
    plans = CarePlan.objects.filter(scope_q(viewer, P.CARE))
    if active is not None:
        plans = plans.filter(active=active)
    return plans.order_by("region_code", "person_name", "pk")


def get_care_plan_for(viewer: Viewer, pk: Any) -> CarePlan:
    plan = CarePlan.objects.filter(scope_q(viewer, P.CARE)).filter(pk=_pk(pk)).first()
    if plan is None:
        raise Http404
    return plan


def care_records(plan: CarePlan, *, limit: int = 50) -> list[CareRecord]:
    return list(plan.records.select_related("by").order_by("-at", "-pk")[:limit])


def can_handle(viewer: Viewer, application: Application) -> bool:
    return has_perm(viewer, P.HANDLE, application.region_code)


def can_decide_as_department(viewer: Viewer, application: Application) -> bool:
    return application.department_id is not None and application.department_id in department_ids(viewer)
