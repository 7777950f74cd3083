"""Sign-in, second factor, TOTP enrolment, password change, account security, sign-out.

Thin views: the rules (lockout, throttle, codes, session records, audit) live in ``shequ.core.auth``;
password changes go through ``accounts.user_set_password``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from shequ.core import accounts, audit, auth
from shequ.core.forms import PlatformForm
from shequ.core.models import User, UserSession
from shequ.core.permissions import is_staff_account, needs_second_factor

NOTICES = {
    "expired": gettext_lazy("Your session has expired. Please sign in again."),
    "signed_out": gettext_lazy("You have signed out."),
    "failed": auth.GENERIC_LOGIN_ERROR,
}


class LoginForm(PlatformForm):
    username = forms.CharField(max_length=150)
    password = forms.CharField(max_length=4096, strip=False)


class CodeForm(PlatformForm):
    code = forms.CharField(max_length=12)

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not (code.isdigit() and len(code) == 6):
            raise ValidationError(_("Enter the 6-digit code shown in your authenticator app."))
        return code


class EnrolForm(CodeForm):
    """Confirming a new authenticator; signed-in users confirm their password as well."""

    password = forms.CharField(max_length=4096, strip=False, required=False)


class PasswordChangeForm(PlatformForm):
    current = forms.CharField(max_length=4096, strip=False)
    new = forms.CharField(max_length=4096, strip=False)
    repeat = forms.CharField(max_length=4096, strip=False)

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_current(self) -> str:
        current = self.cleaned_data["current"]
        if not self.user.check_password(current):
            raise ValidationError(_("The current password is not correct."))
        return current

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        new, repeat = data.get("new"), data.get("repeat")
        if new and repeat and new != repeat:
            self.add_error("repeat", _("The two new passwords differ."))
        return data


def _safe_next(request: HttpRequest, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(value, {request.get_host()}, request.is_secure()):
        return value
    return ""


def _go(target: str) -> HttpResponseRedirect:
    """Redirect to a URL name or a path."""
    return HttpResponseRedirect(resolve_url(target))


@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated:
        return _go(next_url or settings.LOGIN_REDIRECT_URL)
    notice_code = request.session.pop(auth.NOTICE_KEY, None)
    form = LoginForm(request.POST or None)
    error = ""
    status = 200
    if request.method == "POST" and form.is_valid():
        outcome = auth.password_login(request, form.cleaned_data["username"], form.cleaned_data["password"])
        if outcome.user is not None:
            return _go(
                auth.after_first_factor(
                    request, outcome.user, backend=auth.PASSWORD_BACKEND, method="password", next_url=next_url
                )
            )
        error = str(auth.GENERIC_LOGIN_ERROR)
        status = 429 if outcome.throttled else 200
    context = {
        "form": form,
        "error": error,
        "notice": NOTICES.get(notice_code or "", ""),
        "notice_is_error": notice_code == "failed",
        "next": next_url,
        "oidc_enabled": getattr(settings, "OIDC_ENABLED", False),
    }
    return render(request, "core/login.html", context, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        auth.end_session(request, action="auth.logout")
    auth.clear_pending(request)
    request.session[auth.NOTICE_KEY] = "signed_out"
    return redirect("core:login")


@never_cache
def second_factor(request: HttpRequest) -> HttpResponse:
    pending = auth.pending_login(request)
    if pending is None:
        return redirect("core:home" if request.user.is_authenticated else "core:login")
    user = pending.user
    if user.totp_confirmed_at is None:
        return redirect("core:totp_setup")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if auth.ip_throttled(audit.client_ip(request)):
            auth.record_throttled(request, username=user.username, method="totp")
            auth.clear_pending(request)
            request.session[auth.NOTICE_KEY] = "failed"
            return redirect("core:login")
        if form.is_valid():
            if auth.totp_check(user, form.cleaned_data["code"]):
                auth.complete_login(
                    request, user, backend=pending.backend, method=pending.method, second_factor=True
                )
                return _go(pending.next_url or settings.LOGIN_REDIRECT_URL)
            # Wrong codes count towards the account lockout like wrong passwords.
            auth.record_failure(request, user=user, username=user.username, reason="bad_code", method="totp")
            if auth.pending_login(request) is None:  # the account is now locked
                request.session[auth.NOTICE_KEY] = "failed"
                return redirect("core:login")
            form.add_error("code", _("This code is not correct or was already used. Wait for the next code."))
        status = 400
    return render(request, "core/auth/second_factor.html", {"form": form}, status=status)


@never_cache
def totp_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator: during sign-in (first time for a user who needs one) or later from
    the security page (also to replace one). A signed-in user confirms with the password too."""
    pending = auth.pending_login(request)
    if request.user.is_authenticated:
        user: User = request.user
        signed_in = True
    elif pending is not None:
        user = pending.user
        signed_in = False
        if user.totp_confirmed_at is not None:
            return redirect("core:second_factor")
    else:
        return redirect("core:login")
    ask_password = signed_in and user.has_usable_password()
    form = EnrolForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            if ask_password and not user.check_password(form.cleaned_data.get("password") or ""):
                form.add_error("password", _("The password is not correct."))
            elif auth.totp_confirm(request, user, form.cleaned_data["code"]):
                if signed_in:
                    messages.success(request, _("Your authenticator app is set up."))
                    return redirect("core:security")
                assert pending is not None
                auth.complete_login(
                    request, user, backend=pending.backend, method=pending.method, second_factor=True
                )
                return _go(pending.next_url or settings.LOGIN_REDIRECT_URL)
            else:
                form.add_error("code", _("This code is not correct. Check your phone's clock and try again."))
        status = 400
    secret = auth.enrolment_secret(request, user)
    context = {
        "form": form,
        "secret": secret,
        "secret_groups": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "qr": auth.qr_data_uri(auth.totp_uri(user, secret)),
        "ask_password": ask_password,
        "replacing": user.totp_confirmed_at is not None,
        "signed_in": signed_in,
    }
    return render(request, "core/auth/totp_setup.html", context, status=status)


@login_required
@never_cache
def security(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    staff = is_staff_account(user)
    expires_at = (
        user.password_changed_at + timedelta(days=settings.PASSWORD_MAX_AGE_DAYS)
        if staff and user.password_changed_at
        else None
    )
    context = {
        "account": user,
        "has_password": user.has_usable_password(),
        "password_expires_at": expires_at,
        "password_expired": auth.password_expired(user),
        "second_factor_required": needs_second_factor(user),
        "session_count": UserSession.objects.filter(user=user).count(),
        "oidc_bound": bool(user.oidc_subject),
    }
    return render(request, "core/auth/security.html", context)


@login_required
@never_cache
def password_change(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not user.has_usable_password():
        return render(request, "core/auth/password_change.html", {"no_password": True})
    form = PasswordChangeForm(user, request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                accounts.user_set_password(user=user, new_password=form.cleaned_data["new"], request=request)
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error("new", message)
            else:
                old_key = request.session.session_key
                update_session_auth_hash(request, user)  # stay signed in here; other sessions end
                auth.session_rotated(old_key, request.session.session_key)
                messages.success(request, _("Your password was changed."))
                return redirect("core:security")
        status = 400
    context = {
        "form": form,
        "expired": auth.password_expired(user),
        "temporary": user.password_changed_at is None,
        "max_age_days": settings.PASSWORD_MAX_AGE_DAYS,
        "history": settings.PASSWORD_HISTORY,
    }
    return render(request, "core/auth/password_change.html", context, status=status)
