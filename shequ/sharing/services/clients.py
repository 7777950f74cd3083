"""Department clients: the account a department's system signs in as (a core user with a
department-staff membership of the department) and its core API tokens of scope ``sharing:read``.

There is no second token system: tokens are ``core.apiauth`` tokens (hashed, expiring, shown
once). A security administrator (``sharing.grant`` over the department's region) creates and
revokes them; nobody does it for their own department or account (separation of duties).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from shequ.core import accounts, apiauth, audit
from shequ.core.guards import require_actor
from shequ.core.models import ApiToken, AuditResult, Department, Membership, Role, User
from shequ.core.permissions import Viewer
from shequ.core.text import bounded_text
from shequ.sharing.permissions import SharePerm as P

__all__ = ["SCOPE", "client_create", "client_token_issue", "client_token_revoke"]

SCOPE = "sharing:read"
NAME_MAX = 100


def _check(
    actor: Viewer | None,
    department: Department,
    action: str,
    *,
    client: User | None = None,
    request: HttpRequest | None = None,
) -> None:
    require_actor(
        actor,
        P.GRANT,
        department.region_code,
        action=f"sharing.{action}",
        object_type="core.department",
        object_id=department.pk,
        request=request,
    )
    if actor is None or actor.pk is None:
        return
    own = (client is not None and client.pk == actor.pk) or Membership.objects.filter(
        user_id=actor.pk, department=department, revoked_at__isnull=True
    ).exists()
    if own:
        audit.record(
            f"sharing.{action}",
            actor=actor,
            request=request,
            region_code=department.region_code,
            object_type="core.department",
            object_id=department.pk,
            result=AuditResult.DENIED,
            reason="own department or account",
        )
        raise PermissionDenied(_("Nobody manages the API access of their own department or account."))


def _department_account(user: User, department: Department) -> bool:
    return Membership.objects.filter(
        user=user, department=department, role=Role.DEPARTMENT_STAFF, revoked_at__isnull=True
    ).exists()


def _issue(
    actor: Viewer | None, client: User, name: Any, expires_at: datetime | None
) -> tuple[ApiToken, str]:
    token_name = bounded_text(name, "token_name", NAME_MAX, required=True, label=_("Token name"))
    try:
        # The platform issues it (actor=None): the administrator's right was checked above, and a
        # security administrator holds no general token right.
        return apiauth.token_create(
            actor=None, user=client, name=token_name, scopes=[SCOPE], expires_at=expires_at
        )
    except ValidationError as exc:
        errors = exc.message_dict
        raise ValidationError({("token_name" if k == "name" else k): v for k, v in errors.items()}) from None


def client_create(
    *,
    actor: Viewer | None,
    department: Department,
    username: str,
    display_name: str,
    token_name: str,
    expires_at: datetime | None,
    request: HttpRequest | None = None,
) -> tuple[User, ApiToken, str]:
    """A new system account of ``department`` and its first token. Returns the account, the token
    row and the raw token (shown once). The account cannot sign in to pages: it has no password."""
    _check(actor, department, "client_create", request=request)
    if not department.is_active:
        raise ValidationError({"department": _("The department is no longer active.")})
    with transaction.atomic():
        user = accounts.user_create(
            actor=None,
            username=username,
            display_name=bounded_text(display_name, "display_name", 150, required=True, label=_("Name")),
            password=None,
            region_code=department.region_code,
        )
        accounts.membership_grant(
            actor=None, user=user, role=Role.DEPARTMENT_STAFF, region=department.region, department=department
        )
        token, raw = _issue(actor, user, token_name, expires_at)
        audit.record(
            "sharing.client_create",
            actor=actor,
            request=request,
            region_code=department.region_code,
            object_type="core.user",
            object_id=user.pk,
            detail={"department": department.pk, "token": token.prefix, "expires_at": str(token.expires_at)},
        )
    return user, token, raw


def client_token_issue(
    *,
    actor: Viewer | None,
    department: Department,
    client: User,
    token_name: str,
    expires_at: datetime | None,
    request: HttpRequest | None = None,
) -> tuple[ApiToken, str]:
    """Another token for an existing account of ``department`` (a key rotation); the raw token is
    shown once."""
    _check(actor, department, "client_token_issue", client=client, request=request)
    if not client.is_active or not _department_account(client, department):
        raise ValidationError({"client": _("The client must be an active account of the department.")})
    with transaction.atomic():
        token, raw = _issue(actor, client, token_name, expires_at)
        audit.record(
            "sharing.client_token_issue",
            actor=actor,
            request=request,
            region_code=department.region_code,
            object_type="core.user",
            object_id=client.pk,
            detail={"department": department.pk, "token": token.prefix, "expires_at": str(token.expires_at)},
        )
    return token, raw


def client_token_revoke(
    *,
    actor: Viewer | None,
    department: Department,
    token: ApiToken,
    reason: str,
    request: HttpRequest | None = None,
) -> bool:
    """Revoke a department account's token at once (False if it was already revoked)."""
    _check(actor, department, "client_token_revoke", client=token.user, request=request)
    if not _department_account(token.user, department):
        raise ValidationError({"token": _("The token is not one of the department's.")})
    why = bounded_text(reason, "reason", 300, required=True, label=_("Reason"))
    with transaction.atomic():
        changed = apiauth.token_revoke(actor=None, token=token, reason=why)
        if changed:
            audit.record(
                "sharing.client_token_revoke",
                actor=actor,
                request=request,
                region_code=department.region_code,
                object_type="core.user",
                object_id=token.user_id,
                reason=why,
                detail={"department": department.pk, "token": token.prefix},
            )
    return changed
