"""Core's API router: the caller's account, regions, inbox and the audit log (mounted at /api/v1/)."""

import hmac
import json
import logging
from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.security import HttpBearer

from shequ.core import audit, guards, inbound, messaging, selectors
from shequ.core.apiauth import (
    AUDIT_READ,
    MESSAGES_READ,
    MESSAGES_WRITE,
    PROFILE_READ,
    REGIONS_READ,
    api_auth,
)
from shequ.core.apierrors import ApiError, ErrorOut
from shequ.core.models import AuditEntry, InboundOutcome, Message, Region, Role, User
from shequ.core.permissions import Perm, active_memberships, scopes_for
from shequ.core.personal import mask_phone
from shequ.core.schemas import (
    MAX_DB_ID,
    AuditEntryOut,
    AuditFilters,
    MeOut,
    MessageFilters,
    MessageOut,
    RegionCode,
    RegionOut,
)

log = logging.getLogger(__name__)
router = Router(tags=["core"])

MessageId = Annotated[int, Path(ge=1, le=MAX_DB_ID, description="Message id.")]


class Pagination(PageNumberPagination):
    """Page numbers with bounds, so that no page or size can overflow the database's OFFSET."""

    class Input(PageNumberPagination.Input):
        page: int = Field(1, ge=1, le=100_000)
        page_size: int | None = Field(None, ge=1, le=100)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(page_size=20, max_page_size=100, **kwargs)


def _viewer(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


@router.get("/me", response=MeOut, auth=api_auth(PROFILE_READ))
def me(request: HttpRequest) -> dict[str, Any]:
    """The caller's account: roles, regions and a masked phone number."""
    user = _viewer(request)
    token = getattr(request, "api_token", None)
    roles = [
        {
            "role": m.role,
            "role_label": str(Role(m.role).label),
            "region_code": m.region_code,
            "region_name": m.region.name,
            "department": m.department.name if m.department is not None else None,
        }
        for m in active_memberships(user)
    ]
    auth = {"method": "session"}
    if token is not None:
        auth = {
            "method": "token",
            "token_name": token.name,
            "token_scopes": token.scopes,
            "token_expires_at": token.expires_at,
        }
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": user.display_name,
        "phone_masked": mask_phone(user.phone),
        "elderly_mode": user.elderly_mode,
        "roles": roles,
        "regions": selectors.viewer_regions(viewer=user),
        "auth": auth,
    }


@router.get("/regions", response=list[RegionOut], auth=api_auth(REGIONS_READ))
@paginate(Pagination)
def region_list(
    request: HttpRequest,
    parent: Annotated[RegionCode | None, Query(description="List this region's children instead.")] = None,
) -> QuerySet[Region]:
    """The top regions of the caller's scope, or the children of ``parent`` (404 outside the scope)."""
    viewer = _viewer(request)
    if parent is not None:
        selectors.region_get_for(viewer, parent)
        return selectors.region_list(viewer=viewer, parent_code=parent).order_by("code")
    tops = scopes_for(viewer, Perm.VIEW_REGION)
    return selectors.region_list(viewer=viewer).filter(code__in=tops).order_by("code")


@router.get("/regions/{code}", response=RegionOut, auth=api_auth(REGIONS_READ))
def region_detail(
    request: HttpRequest, code: Annotated[RegionCode, Path(description="Region code.")]
) -> Region:
    """One region; 404 when it does not exist or lies outside the caller's scope."""
    return selectors.region_get_for(_viewer(request), code)


@router.get("/messages", response=list[MessageOut], auth=api_auth(MESSAGES_READ))
@paginate(Pagination)
def message_list(request: HttpRequest, filters: Query[MessageFilters]) -> QuerySet[Message]:
    """The caller's own inbox: unread first, newest first."""
    qs = selectors.message_list(viewer=_viewer(request), state=filters.state)
    if filters.needs_ack is True:
        qs = qs.filter(requires_ack=True, acknowledged_at__isnull=True)
    elif filters.needs_ack is False:
        qs = qs.exclude(requires_ack=True, acknowledged_at__isnull=True)
    return qs


@router.post("/messages/{message_id}/read", response=MessageOut, auth=api_auth(MESSAGES_WRITE))
def message_read(request: HttpRequest, message_id: MessageId) -> Message:
    """Mark one of the caller's messages read (repeating it changes nothing)."""
    viewer = _viewer(request)
    return messaging.mark_read(user=viewer, message=selectors.message_get_for(viewer, message_id))


@router.post(
    "/messages/{message_id}/ack", response={200: MessageOut, 409: ErrorOut}, auth=api_auth(MESSAGES_WRITE)
)
def message_ack(request: HttpRequest, message_id: MessageId) -> Message:
    """Acknowledge a notice that asks for it (roll-calls count these; repeating it changes nothing).
    409 when the message does not ask for an acknowledgement."""
    viewer = _viewer(request)
    message = selectors.message_get_for(viewer, message_id)
    if not message.requires_ack:
        raise ApiError(409, "ack_not_requested", _("This message does not ask for an acknowledgement."))
    return messaging.acknowledge(user=viewer, message=message)


@router.get("/audit", response=list[AuditEntryOut], auth=api_auth(AUDIT_READ))
@paginate(Pagination)
def audit_list(request: HttpRequest, filters: Query[AuditFilters]) -> QuerySet[AuditEntry]:
    """The audit log for auditors, newest first, within the auditor's regions. Reading it is audited."""
    viewer = guards.require_api(request, Perm.VIEW_AUDIT, _("Only auditors may read the audit log."))
    wanted = filters.model_dump(exclude_none=True)
    audit.record(
        "audit.view",
        actor=viewer,
        request=request,
        detail={k: v.isoformat() if hasattr(v, "isoformat") else str(v) for k, v in wanted.items()},
    )
    return selectors.audit_list(viewer=viewer, filters=wanted)


class SmsGatewayToken(HttpBearer):
    """The SMS gateway's callback token (``SHEQU_SMS_CALLBACK_TOKEN``), compared in constant time."""

    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> str | None:
        expected = settings.SMS_CALLBACK_TOKEN
        if not expected:
            # Replies are not taken: every token is wrong (401), and the log says why.
            log.warning("SMS reply refused: SHEQU_SMS_CALLBACK_TOKEN is not set")
            return None
        return token if hmac.compare_digest(token.encode(), expected.encode()) else None


class InboundSmsOut(Schema):
    received: int = Field(description="SMS stored now (a redelivered id is not stored again).")
    answered: int = Field(description="Of those, how many a service took as an answer.")


@router.post(
    "/sms/inbound",
    response={200: InboundSmsOut},
    auth=SmsGatewayToken(),
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": 'One SMS `{"id": "mo-1", "from": "13912345678", "text": "1", '
            '"received_at": "2026-07-01T08:00:00+08:00"}` or `{"messages": [...]}` (at most 1000).',
        }
    },
)
def sms_inbound(request: HttpRequest) -> dict[str, int]:
    """The SMS gateway delivers SMS that people sent to the platform's number (docs/api.md)."""
    try:
        raw = json.loads(request.body or b"null")
    except ValueError:
        raise ApiError(400, "bad_json", _("The body is not JSON.")) from None
    try:
        items = inbound.clean(raw)
    except ValidationError as exc:
        raise ApiError(400, "bad_sms", " ".join(exc.messages)) from None
    rows = inbound.receive(items)
    return {"received": len(rows), "answered": sum(r.outcome == InboundOutcome.ANSWERED for r in rows)}
