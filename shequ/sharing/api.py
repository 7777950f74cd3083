"""The sharing API (mounted at /api/v1/sharing/).

* ``GET /catalog`` — the public resource catalog (政务信息资源目录): resources, fields with their
  sensitivity, owner, frequency, sharing type, row filters and events; no data, no sign-in.
* ``GET /{resource}/rows`` — a department's system reads a resource under its grant, with a
  department account's token of scope ``sharing:read``. Every call, answered or refused, is logged
  (``services.calls``); refusals are 403 with a machine code (``no_grant``, ``grant_expired``,
  ``grant_revoked``, ``grant_not_started``, ``outside_grant``), 400 for bad parameters, 429 with
  ``Retry-After`` over the grant's rate.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema

from shequ.core import audit
from shequ.core.apiauth import TokenAuth, register_scope
from shequ.core.apierrors import ApiError, error_response
from shequ.core.models import User
from shequ.sharing.selectors_access import catalog
from shequ.sharing.services.calls import LIMIT_DEFAULT, LIMIT_MAX, CallRefused, refusal_record, rows_answer

SHARING_READ = register_scope(
    "sharing:read",
    "Read catalog resources under the department's grants (fields, regions and rows the grant names; "
    "personal fields masked unless granted in clear). Every call is logged and visible to the regions "
    "concerned.",
)

router = Router(tags=["sharing"])


class SharingTokenAuth(TokenAuth):
    """A bearer token of a department account. The scope is checked in the operation rather than
    here, so that a token without it is logged as a refused sharing call too."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        scope, self.scope = self.scope, None
        try:
            return super().authenticate(request, token)
        finally:
            self.scope = scope


class FieldOut(Schema):
    key: str
    title: str
    sensitivity: str
    masked: bool


class DimensionValueOut(Schema):
    value: str
    label: str


class DimensionOut(Schema):
    key: str
    label: str
    values: list[DimensionValueOut]


class ResourceOut(Schema):
    key: str
    title: str
    description: str
    owner: str
    frequency: str
    sharing: str
    fields: list[FieldOut]
    filters: list[DimensionOut]
    events: list[str]


class RowsOut(Schema):
    resource: str
    grant: int
    call: int
    fields: list[str]
    unmasked: list[str]
    rows: list[dict[str, Any]]
    next: int | None


@router.get("/catalog", response=list[ResourceOut], summary="The public resource catalog")
def catalog_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Every resource the platform offers for sharing, with its fields and their sensitivity — no data."""
    return catalog()


ROWS_PARAMETERS = [
    {
        "name": "after",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0, "default": 0},
        "description": "Keyset cursor: rows with an id above it (the previous page's `next`).",
    },
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": LIMIT_MAX, "default": LIMIT_DEFAULT},
        "description": "Rows per page.",
    },
    {
        "name": "grant",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1},
        "description": "The grant to use when the account holds several active grants on the resource.",
    },
    {
        "name": "region",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "pattern": "^[0-9]{2,15}$"},
        "description": "A region code inside the grant's regions (narrows, never widens).",
    },
]


@router.get(
    "/{resource}/rows",
    response=RowsOut,
    auth=[SharingTokenAuth(SHARING_READ)],
    summary="Read a resource under the department's grant",
    openapi_extra={
        "parameters": ROWS_PARAMETERS,
        "description": "Any other query parameter is a row filter over the resource's `filters` (see the "
        "catalog); it may only narrow the grant's own row filters. Responses 403 `no_grant`, "
        "`grant_expired`, `grant_revoked`, `grant_not_started`, `outside_grant`, `insufficient_scope`; "
        "429 `rate_limited` with `Retry-After`.",
    },
)
def rows(request: HttpRequest, resource: str) -> Any:
    client: User = request.auth  # type: ignore[attr-defined]
    token = getattr(request, "api_token", None)
    prefix = token.prefix if token is not None else ""
    ip = audit.client_ip(request)
    if token is None or SHARING_READ not in token.scopes:
        # Logged (and audited) as a refused sharing call: one entry, like every other refusal.
        refusal_record(
            client=client, resource=resource, code="insufficient_scope", token_prefix=prefix, ip=ip
        )
        raise ApiError(
            403,
            "insufficient_scope",
            _("This API token lacks the scope %(scope)s.") % {"scope": SHARING_READ},
            {"scope": SHARING_READ},
        )
    try:
        return rows_answer(
            client=client, resource_key=resource, params=request.GET.dict(), token_prefix=prefix, ip=ip
        )
    except CallRefused as refused:
        response: HttpResponse = error_response(
            refused.status, refused.code, refused.message, refused.details
        )
        if refused.retry_after:
            response["Retry-After"] = str(refused.retry_after)
        return response
