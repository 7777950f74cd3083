"""Unified identity login (OIDC authorization-code flow with PKCE) through mozilla-django-oidc.

Off unless ``SHEQU_OIDC_ISSUER`` is set. The provider proves *who* somebody is; the platform keeps
deciding *what* they may do, so this backend never creates accounts or roles.

Binding rule (an identity is tied to at most one account, an account to at most one identity):

1. An account whose ``oidc_subject`` equals the token's ``sub`` is that person.
2. Otherwise, the first time, the identity binds to the single active account that has no subject
   yet and whose e-mail equals the ``email`` claim, if the provider marks it ``email_verified``;
   or, when ``OIDC_BIND_USERNAME_CLAIM`` names a claim (for a provider that issues the platform's
   user names, e.g. ``preferred_username``), whose user name equals that claim.
   The binding stores ``sub`` on the account and is audited (``auth.oidc_bind``).
3. Anything else (no match, several matches, disabled or locked account) is refused and audited.

After the provider, the login continues like a password login: accounts that need the TOTP second
factor must still give it (``auth.after_first_factor``).

This module is also the URL configuration mounted at ``oidc/`` by ``shequ/urls.py`` when enabled.
"""

from __future__ import annotations

from typing import Any

import jwt
import requests
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from shequ.core import audit, auth
from shequ.core.models import AuditResult, User

BACKEND_PATH = "shequ.core.oidc.ShequOIDCBackend"


class ShequOIDCBackend(OIDCAuthenticationBackend):
    def authenticate(self, request: Any, **kwargs: Any) -> User | None:
        """A provider that errs or sends a bad token means a refused login (audited), not a 500."""
        try:
            user: User | None = super().authenticate(request, **kwargs)
        except (requests.RequestException, jwt.PyJWTError, SuspiciousOperation, KeyError, ValueError) as exc:
            _refuse(request, {}, "provider_error", detail=type(exc).__name__)
            return None
        return user

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get("sub"))

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """The library checks signature, expiry and nonce; also check issuer and audience."""
        payload: dict[str, Any] = super().verify_token(token, **kwargs)
        issuer = getattr(settings, "OIDC_OP_ISSUER", "")
        if issuer and str(payload.get("iss", "")).rstrip("/") != issuer.rstrip("/"):
            raise SuspiciousOperation("id_token issuer does not match")
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("id_token audience does not match")
        return payload

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> User | None:
        claims = self.get_userinfo(access_token, id_token, payload)
        if not self.verify_claims(claims) or claims.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("userinfo does not belong to the id_token subject")
        return bind_identity(self.request, claims)

    def filter_users_by_claims(self, claims: dict[str, Any]) -> QuerySet[User]:
        return User.objects.filter(oidc_subject=str(claims.get("sub", "")), oidc_subject__gt="")

    def create_user(self, claims: dict[str, Any]) -> User:
        raise SuspiciousOperation("OIDC never creates accounts")

    def get_user(self, user_id: Any) -> User | None:
        user = User.objects.filter(pk=user_id).first()
        return user if user is not None and user.is_active else None


def _refuse(
    request: Any, claims: dict[str, Any], reason: str, user: User | None = None, detail: str = ""
) -> None:
    audit.record(
        "auth.login_failed",
        request=request,
        actor_name=str(claims.get("sub", ""))[:150],
        result=AuditResult.FAILURE,
        object_type="user" if user else "",
        object_id=user.pk if user else "",
        detail={"reason": reason, "method": "oidc", **({"error": detail} if detail else {})},
    )


def _candidates(claims: dict[str, Any]) -> list[User]:
    unbound = User.objects.filter(oidc_subject="")
    email = str(claims.get("email") or "").strip()
    if email and claims.get("email_verified") is True:
        return list(unbound.filter(email__iexact=email)[:2])
    claim = getattr(settings, "OIDC_BIND_USERNAME_CLAIM", "")
    username = str(claims.get(claim) or "").strip() if claim else ""
    if username:
        return list(unbound.filter(username=username)[:2])
    return []


def bind_identity(request: Any, claims: dict[str, Any]) -> User | None:
    """Find the account of this identity, binding it the first time (see the module rule)."""
    subject = str(claims["sub"])
    user = User.objects.filter(oidc_subject=subject).first()
    if user is None:
        found = _candidates(claims)
        if len(found) != 1:
            _refuse(request, claims, "no_account" if not found else "ambiguous")
            return None
        user = found[0]
        if not user.is_active or auth.is_locked(user):
            _refuse(request, claims, "inactive" if not user.is_active else "locked", user)
            return None
        with transaction.atomic():
            # Conditional: two first logins at once cannot bind one account to two identities.
            if not User.objects.filter(pk=user.pk, oidc_subject="").update(oidc_subject=subject):
                _refuse(request, claims, "ambiguous", user)
                return None
            user.oidc_subject = subject
            audit.record(
                "auth.oidc_bind",
                actor=user,
                request=request,
                object_type="user",
                object_id=user.pk,
                detail={"subject": subject},
            )
        return user
    if not user.is_active or auth.is_locked(user):
        _refuse(request, claims, "inactive" if not user.is_active else "locked", user)
        return None
    return user


class ShequOIDCRequestView(OIDCAuthenticationRequestView):
    """Starts the flow; PKCE is on unless settings turn it off."""

    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        if attr == "OIDC_USE_PKCE":
            return getattr(settings, attr, True)
        return OIDCAuthenticationRequestView.get_settings(attr, *args)


class ShequOIDCCallbackView(OIDCAuthenticationCallbackView):
    """Ends the provider's part and hands over to the platform's login (second factor, session
    records, audit) instead of calling ``login()`` directly."""

    def login_success(self) -> HttpResponse:
        request = self.request
        next_url = str(request.session.get("oidc_login_next") or "")
        request.session.pop("oidc_login_next", None)
        target = auth.after_first_factor(
            request, self.user, backend=BACKEND_PATH, method="oidc", next_url=next_url
        )
        return HttpResponseRedirect(target)

    def login_failure(self) -> HttpResponse:
        self.request.session[auth.NOTICE_KEY] = "failed"
        return HttpResponseRedirect(reverse("core:login"))


urlpatterns = [
    path("authenticate/", ShequOIDCRequestView.as_view(), name="oidc_authentication_init"),
    path("callback/", ShequOIDCCallbackView.as_view(), name="oidc_authentication_callback"),
]
