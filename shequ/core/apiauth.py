"""API authentication: hashed bearer tokens with scopes for systems, the session for pages.

A token looks like ``shq_<prefix>_<secret>``; only the SHA-256 of the whole string is stored, the
prefix finds the row. A token acts as its owner (so the owner's region scopes apply) and is further
limited to the token scopes it was issued with. Every operation declares the token scope it needs with
``auth=api_auth("regions:read")``; a session may do whatever its user's roles allow.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import APIKeyCookie, HttpBearer
from ninja.throttling import BaseThrottle
from ninja.utils import check_csrf

from shequ.core import audit
from shequ.core.apierrors import ApiError
from shequ.core.models import ApiToken, AuditResult, User
from shequ.core.permissions import Perm, active_memberships, has_perm

logger = logging.getLogger("shequ.api")

TOKEN_RE = re.compile(r"^shq_([0-9a-f]{8})_([0-9a-f]{48})$")
TOKEN_MAX_DAYS = 366
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

# Token scopes: code → what it allows. Apps register theirs in their api.py (at import).
_SCOPES: dict[str, str] = {}


def register_scope(code: str, description: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]*:(read|write)", code):
        raise ValueError(f"token scope {code!r} must look like 'area:read' or 'area:write'")
    _SCOPES[code] = description
    return code


def known_scopes() -> dict[str, str]:
    """Every registered scope; importing the API mounts all apps' routers, which register theirs."""
    import shequ.api  # noqa: F401

    return dict(sorted(_SCOPES.items()))


PROFILE_READ = register_scope("profile:read", "Read the token owner's own account (GET /me).")
REGIONS_READ = register_scope("regions:read", "Read regions inside the owner's scope.")
MESSAGES_READ = register_scope("messages:read", "Read the owner's inbox.")
MESSAGES_WRITE = register_scope("messages:write", "Mark the owner's messages read or acknowledged.")
AUDIT_READ = register_scope("audit:read", "Read the audit log (owner must be an auditor).")


# --- services ---------------------------------------------------------------------------------------


def _user_region(user: User) -> str:
    codes = sorted({m.region_code for m in active_memberships(user)}, key=len)
    return codes[0] if codes else ""


def token_create(
    *,
    actor: User | None,
    user: User,
    name: str,
    scopes: list[str],
    expires_at: datetime | None,
    request: HttpRequest | None = None,
) -> tuple[ApiToken, str]:
    """Issue a token for ``user``; returns the row and the raw token, which is never shown again.

    ``actor=None`` is the platform operator (the ``shequ token`` command). Tokens always expire
    (at most TOKEN_MAX_DAYS ahead) and nobody issues one for themselves: a token skips the second
    factor, so it must come from someone else who answers for it.
    """
    region_code = _user_region(user)
    if actor is not None:
        if actor.pk == user.pk:
            raise PermissionDenied(_("Nobody can issue an API token for themselves."))
        if not has_perm(actor, Perm.MANAGE_TOKENS, region_code or None):
            audit.record(
                "token.create",
                actor=actor,
                request=request,
                region_code=region_code,
                object_type="user",
                object_id=user.pk,
                result=AuditResult.DENIED,
            )
            raise PermissionDenied(_("You may not issue API tokens for this user."))
    errors: dict[str, str] = {}
    name = name.strip()
    if not name or len(name) > 100:
        errors["name"] = _("Give the token a name of at most 100 characters.")
    scopes = sorted(set(scopes))
    unknown = [s for s in scopes if s not in known_scopes()]
    if not scopes:
        errors["scopes"] = _("Give at least one scope.")
    elif unknown:
        errors["scopes"] = _("Unknown scopes: %(scopes)s.") % {"scopes": ", ".join(unknown)}
    now = timezone.now()
    if expires_at is None:
        errors["expires_at"] = _("API tokens must expire.")
    elif expires_at <= now or expires_at > now + timedelta(days=TOKEN_MAX_DAYS):
        errors["expires_at"] = _("The expiry must lie within the next %(days)d days.") % {
            "days": TOKEN_MAX_DAYS
        }
    if not user.is_active:
        errors["user"] = _("The account is disabled.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        while True:
            prefix = secrets.token_hex(4)
            if not ApiToken.objects.filter(prefix=prefix).exists():
                break
        raw = f"shq_{prefix}_{secrets.token_hex(24)}"
        token = ApiToken.objects.create(
            name=name,
            user=user,
            prefix=prefix,
            token_hash=ApiToken.hash(raw),
            scopes=scopes,
            expires_at=expires_at,
        )
        audit.record(
            "token.create",
            actor=actor,
            request=request,
            region_code=region_code,
            object_type="api_token",
            object_id=token.pk,
            detail={
                "user": user.pk,
                "name": name,
                "prefix": prefix,
                "scopes": scopes,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
    return token, raw


def token_revoke(
    *, actor: User | None, token: ApiToken, reason: str = "", request: HttpRequest | None = None
) -> bool:
    """Revoke a token at once; its owner or a token manager may. Returns False if it was already revoked."""
    region_code = _user_region(token.user)
    if (
        actor is not None
        and actor.pk != token.user_id
        and not has_perm(actor, Perm.MANAGE_TOKENS, region_code or None)
    ):
        audit.record(
            "token.revoke",
            actor=actor,
            request=request,
            region_code=region_code,
            object_type="api_token",
            object_id=token.pk,
            result=AuditResult.DENIED,
        )
        raise PermissionDenied(_("You may not revoke this API token."))
    with transaction.atomic():
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if not changed:
            return False
        token.refresh_from_db(fields=["revoked_at"])
        audit.record(
            "token.revoke",
            actor=actor,
            request=request,
            region_code=region_code,
            object_type="api_token",
            object_id=token.pk,
            reason=reason,
            detail={"prefix": token.prefix, "user": token.user_id},
        )
    return True


# --- authentication -----------------------------------------------------------------------------------


def _invalid_token(message: str | None = None) -> ApiError:
    return ApiError(401, "invalid_token", message or _("The API token is not valid."))


def authenticate_token(raw: str, request: HttpRequest | None = None) -> ApiToken:
    """The active token for ``raw`` or ApiError(401). Expired and revoked tokens are audited."""
    match = TOKEN_RE.fullmatch(raw)
    if match is None:
        raise _invalid_token(_("The API token is malformed."))
    token = ApiToken.objects.select_related("user").filter(prefix=match.group(1)).first()
    if token is None or not hmac.compare_digest(token.token_hash, ApiToken.hash(raw)):
        logger.info("unknown API token prefix %s", match.group(1))
        raise _invalid_token()
    now = timezone.now()
    why = ""
    if token.revoked_at is not None:
        why = "revoked"
    elif token.expires_at is not None and token.expires_at <= now:
        why = "expired"
    elif not token.user.is_active:
        why = "user_disabled"
    if why:
        audit.record(
            "api.token_rejected",
            actor=token.user,
            request=request,
            object_type="api_token",
            object_id=token.pk,
            result=AuditResult.DENIED,
            detail={"prefix": token.prefix, "why": why},
        )
        messages = {
            "revoked": _("The API token has been revoked."),
            "expired": _("The API token has expired."),
            "user_disabled": _("The API token's account is disabled."),
        }
        raise _invalid_token(messages[why])
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
    return token


def deny(
    request: HttpRequest, code: str, message: str, *, action: str = "api.denied", **detail: Any
) -> ApiError:
    """Audit a refused request (security requirement 12) and return the 403 to raise."""
    user = getattr(request, "auth", None) or request.user
    audit.record(
        action,
        actor=user if getattr(user, "is_authenticated", False) else None,
        request=request,
        result=AuditResult.DENIED,
        detail={"path": request.path[:200], "method": request.method, **detail},
    )
    return ApiError(403, code, message)


class TokenAuth(HttpBearer):
    """``Authorization: Bearer shq_<prefix>_<secret>``; needs ``scope`` among the token's scopes."""

    openapi_bearerFormat = "shq_<prefix>_<secret>"
    openapi_description = "An API token issued with `shequ token create`; see each operation's x-token-scope."

    def __init__(self, scope: str | None) -> None:
        if scope is not None and scope not in _SCOPES:
            raise ValueError(f"unregistered token scope {scope!r}")
        self.scope = scope
        super().__init__()

    def __call__(self, request: HttpRequest) -> User | None:
        header = request.headers.get("Authorization")
        if not header:
            return None  # let the session try
        scheme, _sep, raw = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise _invalid_token(_("Use the header 'Authorization: Bearer <token>'."))
        return self.authenticate(request, raw.strip())

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        api_token = authenticate_token(token, request)
        user = api_token.user
        request.user = user  # services and the audit log see the token's owner
        request.api_token = api_token  # type: ignore[attr-defined]
        if self.scope is not None and self.scope not in api_token.scopes:
            raise deny(
                request,
                "insufficient_scope",
                _("This API token lacks the scope %(scope)s.") % {"scope": self.scope},
                scope=self.scope,
                token=api_token.prefix,
            )
        return user


class SessionAuth(APIKeyCookie):
    """The signed-in browser session; CSRF is enforced on unsafe methods, and a session that has not
    passed its second factor yet (``session["otp_pending"]``) is refused."""

    param_name = settings.SESSION_COOKIE_NAME
    openapi_description = "The web session cookie; unsafe methods need the X-CSRFToken header."

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def __call__(self, request: HttpRequest) -> User | None:
        return self.authenticate(request, request.COOKIES.get(self.param_name))

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        unsafe = request.method not in SAFE_METHODS and not getattr(request, "_ninja_csrf_exempt", False)
        if unsafe and check_csrf(request) is not None:
            raise ApiError(403, "csrf_failed", _("The CSRF token is missing or wrong."))
        if request.session.get("otp_pending"):
            raise ApiError(403, "second_factor_required", _("Pass the second factor first."))
        return user


def api_auth(scope: str | None) -> list[TokenAuth | SessionAuth]:
    """The auth of an operation: a token with ``scope``, or a session."""
    return [TokenAuth(scope), SessionAuth()]


# --- rate limiting ------------------------------------------------------------------------------------

_PERIODS = {"s": 1, "sec": 1, "min": 60, "m": 60, "hour": 3600, "h": 3600, "day": 86400, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    count, _sep, period = rate.partition("/")
    return int(count), _PERIODS[period]


class ApiThrottle(BaseThrottle):
    """A fixed window per token, user or client address. The rate comes from the setting
    ``SHEQU_API_RATE`` (default 600/min) at request time, so tests and deployments can change it."""

    _local = threading.local()

    def allow_request(self, request: HttpRequest) -> bool:
        limit, period = parse_rate(settings.API_RATE)
        token = getattr(request, "api_token", None)
        user = getattr(request, "auth", None)
        if token is not None:
            ident = f"t{token.pk}"
        elif user is not None and getattr(user, "pk", None) is not None:
            ident = f"u{user.pk}"
        else:
            ident = f"ip{self.get_ident(request)}"
        now = time.time()
        window = int(now // period)
        key = f"shequ:api-rate:{ident}:{period}:{window}"
        cache.add(key, 0, timeout=period + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, timeout=period + 1)
            count = 1
        self._local.wait = (window + 1) * period - now
        return count <= limit

    def wait(self) -> float | None:
        return getattr(self._local, "wait", None)
