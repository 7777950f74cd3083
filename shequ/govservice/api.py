"""The government-service API (mounted at /api/v1/govservice/): the catalog, the applications the
caller may see, and the steps a department's own system takes on what was forwarded to it (decide,
return for missing materials, deliver).

Reads go through ``selectors`` (404 outside what the caller may see, exactly like a missing one);
writes through ``services``, which check the caller's right (403, audited) and the application's
state (400 ``illegal_transition`` with the reason).
"""

from collections.abc import Callable
from typing import Annotated, Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from ninja import Path, Query, Router
from ninja.pagination import paginate

from shequ.core.api import Pagination
from shequ.core.apiauth import api_auth, register_scope
from shequ.core.apierrors import ApiError
from shequ.core.models import User
from shequ.core.schemas import MAX_DB_ID
from shequ.govservice import selectors
from shequ.govservice.models import Application, ServiceItem
from shequ.govservice.schemas import (
    ApplicationDetailOut,
    ApplicationFilters,
    ApplicationOut,
    DecisionIn,
    DeliverIn,
    ItemOut,
    ReturnIn,
)
from shequ.govservice.services import applications as services
from shequ.govservice.services._common import TransitionError

GOV_READ = register_scope(
    "govservice:read",
    "Read the service catalog and the applications the owner may see (no ID numbers, phones masked).",
)
GOV_WRITE = register_scope(
    "govservice:write",
    "Take the steps the owner's role allows on applications: a department decides, returns or delivers "
    "what was forwarded to it.",
)

router = Router(tags=["govservice"])
READ = api_auth(GOV_READ)
WRITE = api_auth(GOV_WRITE)
AppIdPath = Annotated[int, Path(ge=1, le=MAX_DB_ID, description="Application id.")]


def _viewer(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


def _item_out(item: ServiceItem) -> dict[str, Any]:
    return {
        **{
            f: getattr(item, f)
            for f in (
                "code",
                "name",
                "name_zh",
                "domain",
                "mode",
                "department_kind",
                "department_name",
                "summary",
                "legal_days",
                "promised_days",
                "instant",
                "online",
                "version",
            )
        },
        "fee": f"{item.fee:.2f}",
        "materials": [
            {
                "code": m["code"],
                "name": m.get("name", ""),
                "name_zh": m.get("name_zh", ""),
                "required": bool(m.get("required", True)),
                "from_registry": bool(m.get("source")),
            }
            for m in item.materials
        ],
    }


def _visible(viewer: User) -> QuerySet[Application]:
    """Staff: their regions' and their department's; a resident: their own."""
    return Application.objects.filter(selectors.visible_q(viewer) | Q(applicant_user_id=viewer.pk))


def _get(viewer: User, pk: int) -> Application:
    app = _visible(viewer).select_related("item", "department", "region").filter(pk=pk).first()
    if app is None:
        raise ApiError(404, "not_found", "No such application.")
    return app


def _detail(viewer: User, app: Application) -> Application:
    """The application with the timeline the caller may read, for ``ApplicationDetailOut``."""
    staff = app.applicant_user_id != viewer.pk
    app.visible_steps = list(selectors.steps_for(app, public_only=not staff))  # type: ignore[attr-defined]
    return app


@router.get("/items", response=list[ItemOut], auth=READ)
def item_list(request: HttpRequest) -> list[dict[str, Any]]:
    """The service item catalog (事项库) in use, with each item's materials and time limits."""
    return [_item_out(i) for i in selectors.item_list()]


@router.get("/applications", response=list[ApplicationOut], auth=READ)
@paginate(Pagination)
def application_list(request: HttpRequest, filters: Query[ApplicationFilters]) -> QuerySet[Application]:
    """Newest first: region staff their regions' applications, department staff those forwarded to
    their department, a resident their own."""
    from shequ.govservice.models import FINAL_STATUSES, OPEN_STATUSES

    apps = _visible(_viewer(request)).select_related("item", "department")
    if filters.status == "open":
        apps = apps.filter(status__in=OPEN_STATUSES)
    elif filters.status == "final":
        apps = apps.filter(status__in=FINAL_STATUSES)
    elif filters.status:
        apps = apps.filter(status=filters.status)
    return apps.order_by("-submitted_at", "-pk")


@router.get("/applications/{app_id}", response=ApplicationDetailOut, auth=READ)
def application_detail(request: HttpRequest, app_id: AppIdPath) -> Application:
    """One application: materials (registry ones as masked texts), answers, timeline (the applicant
    reads the public steps only). 404 outside what the caller may see."""
    viewer = _viewer(request)
    return _detail(viewer, _get(viewer, app_id))


def _step(
    request: HttpRequest, app_id: int, action: Callable[..., Application], **kwargs: Any
) -> Application:
    viewer = _viewer(request)
    app = _get(viewer, app_id)
    try:
        app = action(actor=viewer, application=app, request=request, **kwargs)
    except TransitionError as exc:
        raise ApiError(400, "illegal_transition", " ".join(exc.messages)) from exc
    return _detail(viewer, _get(viewer, app.pk))


@router.post("/applications/{app_id}/decision", response=ApplicationDetailOut, auth=WRITE)
def application_decide(request: HttpRequest, app_id: AppIdPath, payload: DecisionIn) -> Application:
    """The decision: a department on what was forwarded to it, the community on what it may decide."""
    return _step(request, app_id, services.application_decide, outcome=payload.outcome, note=payload.note)


@router.post("/applications/{app_id}/return", response=ApplicationDetailOut, auth=WRITE)
def application_return(request: HttpRequest, app_id: AppIdPath, payload: ReturnIn) -> Application:
    """补正: back to the applicant with the exact materials missing; the time limit stops."""
    return _step(request, app_id, services.application_return, missing=payload.missing, note=payload.note)


@router.post("/applications/{app_id}/deliver", response=ApplicationDetailOut, auth=WRITE)
def application_deliver(request: HttpRequest, app_id: AppIdPath, payload: DeliverIn) -> Application:
    """送达: the result reached the applicant; the application closes and asks for a rating."""
    return _step(request, app_id, services.application_deliver, delivery=payload.delivery, note=payload.note)
