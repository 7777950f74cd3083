"""Sign-in services: password check with lockout and IP throttle, the second factor (TOTP), session
bookkeeping and timeouts (security requirements 1-5 of shared/DOMAIN.md).

The login is two-step. After the first factor (password or OIDC) a user who must give a TOTP code
is *not* logged in: the session only holds a short-lived "pending" record. ``complete_login`` calls
Django's ``login()`` once every factor has passed, so a pending session is anonymous everywhere
(pages, API, templates) by construction; the session middleware only has to steer it to the
second-factor page.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pyotp
import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, login, logout
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from pyotp.exceptions import OTPVerificationError

from shequ.core import audit, crypto
from shequ.core.models import AuditResult, LoginThrottle, User, UserSession
from shequ.core.permissions import is_staff_account, needs_second_factor

PASSWORD_BACKEND = "shequ.core.auth.ShequBackend"

# One text for every failure, so that nobody learns whether an account exists, is locked or disabled.
GENERIC_LOGIN_ERROR = _(
    "Sign-in failed. Check your user name and password. "
    "After repeated failures sign-in is blocked for a while."
)

# Session keys.
AUTH_AT = "shequ_auth_at"  # epoch seconds when the login completed (absolute timeout)
SEEN_AT = "shequ_seen_at"  # epoch seconds of the last request (idle timeout)
MFA_KEY = "shequ_mfa"  # True when this session passed the second factor
PENDING_KEY = "shequ_pending"  # first factor passed, second factor awaited
TOTP_NEW_KEY = "shequ_totp_new"  # encrypted secret being enrolled, until confirmed
NOTICE_KEY = "shequ_notice"  # a notice for the login page ("expired", "signed_out", "failed")

PENDING_SECONDS = 10 * 60  # time allowed between the password and the code (enrolment included)
SEEN_RESOLUTION_SECONDS = 30  # refresh SEEN_AT at most this often, to spare a session write per request
TOTP_ISSUER = "Shequ"


class ShequBackend(ModelBackend):
    """Argon2 passwords (PASSWORD_HASHERS); a locked account cannot authenticate on any path."""

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and is_locked(user):
            return None
        return user


# --- lockout and throttle -------------------------------------------------------------------------


def is_locked(user: User, now: Any = None) -> bool:
    return user.locked_until is not None and user.locked_until > (now or timezone.now())


def ip_throttled(ip: str | None, now: Any = None) -> bool:
    """True when ``ip`` reached IP_THROTTLE_FAILURES failures inside the current window."""
    if not ip:
        return False
    now = now or timezone.now()
    row = LoginThrottle.objects.filter(ip=ip).first()
    if row is None or now - row.window_start > timedelta(minutes=settings.IP_THROTTLE_MINUTES):
        return False
    return row.failures >= settings.IP_THROTTLE_FAILURES


def _ip_count_failure(ip: str | None, now: Any) -> None:
    if not ip:
        return
    window_start = now - timedelta(minutes=settings.IP_THROTTLE_MINUTES)
    row, created = LoginThrottle.objects.get_or_create(ip=ip, defaults={"window_start": now, "failures": 1})
    if created:
        return
    # A stale window starts over; otherwise count atomically (parallel attempts from one address).
    if not LoginThrottle.objects.filter(pk=row.pk, window_start__lt=window_start).update(
        window_start=now, failures=1
    ):
        LoginThrottle.objects.filter(pk=row.pk).update(failures=F("failures") + 1)


def _count_failure(user: User, now: Any) -> bool:
    """Count one failure against the account; lock it at LOCKOUT_FAILURES. True when it locked now."""
    User.objects.filter(pk=user.pk).update(failed_login_count=F("failed_login_count") + 1)
    user.refresh_from_db(fields=["failed_login_count"])
    if user.failed_login_count < settings.LOCKOUT_FAILURES:
        return False
    # The counter starts over so that the account gets its full allowance again after the lock.
    user.locked_until = now + timedelta(minutes=settings.LOCKOUT_MINUTES)
    user.failed_login_count = 0
    user.save(update_fields=["locked_until", "failed_login_count"])
    return True


def record_failure(
    request: HttpRequest, *, user: User | None, username: str, reason: str, method: str
) -> None:
    """Audit a failed attempt, count it against the address and (for wrong secrets) the account."""
    now = timezone.now()
    with transaction.atomic():
        _ip_count_failure(audit.client_ip(request), now)
        locked = False
        if user is not None and reason in {"bad_password", "bad_code"}:
            locked = _count_failure(user, now)
        audit.record(
            "auth.login_failed",
            request=request,
            actor_name=username[:150],
            result=AuditResult.FAILURE,
            object_type="user" if user else "",
            object_id=user.pk if user else "",
            detail={"reason": reason, "method": method},
        )
        if locked and user is not None:
            audit.record(
                "auth.lockout",
                request=request,
                actor_name=user.username,
                result=AuditResult.DENIED,
                object_type="user",
                object_id=user.pk,
                detail={
                    "until": user.locked_until.isoformat() if user.locked_until else "",
                    "minutes": settings.LOCKOUT_MINUTES,
                },
            )


def record_throttled(request: HttpRequest, *, username: str, method: str) -> None:
    audit.record(
        "auth.throttled",
        request=request,
        actor_name=username[:150],
        result=AuditResult.DENIED,
        detail={"method": method, "ip_failures_limit": settings.IP_THROTTLE_FAILURES},
    )


# --- first factor ---------------------------------------------------------------------------------


@dataclass
class LoginOutcome:
    user: User | None
    throttled: bool = False


_DUMMY_HASH: list[str] = []


def _burn_hash(password: str) -> None:
    """Spend the time of a real password check, so an unknown user name is not faster to refuse."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(make_password("not a real password"))
    check_password(password, _DUMMY_HASH[0])


def find_user(username: str) -> User | None:
    username = username.strip()
    if not username:
        return None
    exact = User.objects.filter(username=username).first()
    if exact is not None:
        return exact
    matches = list(User.objects.filter(username__iexact=username)[:2])
    return matches[0] if len(matches) == 1 else None


def password_login(request: HttpRequest, username: str, password: str) -> LoginOutcome:
    """Check the first factor. Every refusal looks the same to the caller (GENERIC_LOGIN_ERROR)."""
    if ip_throttled(audit.client_ip(request)):
        record_throttled(request, username=username, method="password")
        return LoginOutcome(user=None, throttled=True)
    user = find_user(username)
    if user is None:
        _burn_hash(password)
        reason: str | None = "unknown_user"
    else:
        password_ok = user.check_password(password)  # always hashed: equal time for every outcome
        if is_locked(user):
            reason = "locked"  # not counted: an attacker must not be able to extend a lock forever
        elif not user.is_active:
            reason = "inactive"
        elif not password_ok:
            reason = "bad_password"
        else:
            reason = None
    if reason is not None:
        record_failure(request, user=user, username=username, reason=reason, method="password")
        return LoginOutcome(user=None)
    return LoginOutcome(user=user)


def requires_code(user: User) -> bool:
    """Admins and cross-community staff must give a code; anyone who enrolled TOTP gives one too."""
    return needs_second_factor(user) or user.totp_confirmed_at is not None


def after_first_factor(
    request: HttpRequest, user: User, *, backend: str, method: str, next_url: str = ""
) -> str:
    """Continue after the password (or OIDC): log in, or wait for the second factor.
    Returns the URL to go to next."""
    if requires_code(user):
        begin_pending(request, user, backend=backend, method=method, next_url=next_url)
        return reverse("core:second_factor" if user.totp_confirmed_at else "core:totp_setup")
    complete_login(request, user, backend=backend, method=method, second_factor=False)
    return next_url or resolve_url(settings.LOGIN_REDIRECT_URL)


# --- pending (second factor awaited) --------------------------------------------------------------


@dataclass
class Pending:
    user: User
    backend: str
    method: str
    next_url: str


def begin_pending(request: HttpRequest, user: User, *, backend: str, method: str, next_url: str = "") -> None:
    if request.user.is_authenticated:
        logout(request)
    request.session.cycle_key()  # a new key once the password is known (session fixation)
    request.session[PENDING_KEY] = {
        "user": user.pk,
        "backend": backend,
        "method": method,
        "at": time.time(),
        "next": next_url,
    }


def pending_login(request: HttpRequest) -> Pending | None:
    """The pending first-factor login of this session, if it is still valid."""
    data = request.session.get(PENDING_KEY)
    if not isinstance(data, dict):
        return None
    user = User.objects.filter(pk=int(data.get("user") or 0)).first()
    fresh = time.time() - float(data.get("at", 0)) <= PENDING_SECONDS
    if user is None or not fresh or not user.is_active or is_locked(user):
        clear_pending(request)
        return None
    return Pending(
        user=user,
        backend=str(data.get("backend", PASSWORD_BACKEND)),
        method=str(data.get("method", "password")),
        next_url=str(data.get("next", "")),
    )


def clear_pending(request: HttpRequest) -> None:
    request.session.pop(PENDING_KEY, None)
    request.session.pop(TOTP_NEW_KEY, None)


# --- full login, session bookkeeping --------------------------------------------------------------


def complete_login(
    request: HttpRequest, user: User, *, backend: str, method: str, second_factor: bool
) -> None:
    """Log in (rotating the session key), start the timeout clocks, record the session for
    ``accounts.end_sessions``, reset the failure counter and audit the login."""
    clear_pending(request)
    login(request, user, backend=backend)
    now = time.time()
    request.session[AUTH_AT] = now
    request.session[SEEN_AT] = now
    request.session[MFA_KEY] = second_factor
    with transaction.atomic():
        _prune_sessions(user)
        UserSession.objects.get_or_create(session_key=request.session.session_key, defaults={"user": user})
        User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
        audit.record(
            "auth.login",
            actor=user,
            request=request,
            object_type="user",
            object_id=user.pk,
            detail={"method": method, "second_factor": second_factor},
        )


def track_session(request: HttpRequest, user: User) -> None:
    """Adopt a session logged in by other means (Django test helpers): start its clocks and record it."""
    now = time.time()
    request.session[AUTH_AT] = now
    request.session[SEEN_AT] = now
    if request.session.session_key:
        UserSession.objects.get_or_create(session_key=request.session.session_key, defaults={"user": user})


def _prune_sessions(user: User) -> None:
    """Forget this user's session records whose session has expired or was deleted."""
    live = Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    UserSession.objects.filter(user=user).exclude(session_key__in=live).delete()


def session_rotated(old_key: str | None, new_key: str | None) -> None:
    """Keep the session record right when Django rotates the key (password change)."""
    if old_key and new_key and old_key != new_key:
        UserSession.objects.filter(session_key=old_key).update(session_key=new_key)


def session_expiry(request: HttpRequest, user: User, now: float) -> str | None:
    """Why this session has run out ("absolute" or "idle"), or None."""
    started = float(request.session.get(AUTH_AT, now))
    if now - started > settings.SESSION_ABSOLUTE_SECONDS:
        return "absolute"
    seen = float(request.session.get(SEEN_AT, now))
    # Residents keep only the absolute limit; staff time out when idle (requirement 4).
    if now - seen > settings.SESSION_IDLE_SECONDS and is_staff_account(user):
        return "idle"
    return None


def touch(request: HttpRequest, now: float) -> None:
    if now - float(request.session.get(SEEN_AT, 0)) >= SEEN_RESOLUTION_SECONDS:
        request.session[SEEN_AT] = now


def end_session(request: HttpRequest, *, action: str, detail: dict[str, Any] | None = None) -> None:
    """Log out and delete the session server-side (``logout`` flushes it from the store)."""
    user = request.user
    key = request.session.session_key
    with transaction.atomic():
        if user.is_authenticated:
            audit.record(
                action,
                actor=user,
                request=request,
                object_type="user",
                object_id=user.pk,
                detail=detail or {},
            )
        if key:
            UserSession.objects.filter(session_key=key).delete()
    logout(request)


def demote_to_pending(request: HttpRequest, user: User) -> None:
    """A session that gained a role needing the second factor must pass it before going on."""
    backend = str(request.session.get(BACKEND_SESSION_KEY, PASSWORD_BACKEND))
    end_session(request, action="auth.second_factor_required", detail={"why": "role gained"})
    begin_pending(request, user, backend=backend, method="session")


def password_expired(user: User) -> bool:
    """A temporary password set by an administrator (``password_changed_at`` is None) must be
    changed at the next sign-in by everyone; staff passwords also expire after
    PASSWORD_MAX_AGE_DAYS (requirement 2). OIDC-only accounts have no password to expire."""
    if not user.has_usable_password():
        return False
    changed = user.password_changed_at
    if changed is None:
        return True
    return is_staff_account(user) and timezone.now() - changed > timedelta(
        days=settings.PASSWORD_MAX_AGE_DAYS
    )


# --- TOTP -----------------------------------------------------------------------------------------


def totp_new_secret() -> str:
    return pyotp.random_base32(32)  # 160 bits


def totp_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)


def qr_data_uri(text: str) -> str:
    """An SVG QR code as a data: URI (an <img>, which the CSP allows; no inline markup or script)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10)
    svg = image.to_string(encoding="unicode")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _clean_code(code: str) -> str:
    return "".join(code.split())


def totp_matching_step(secret: str, code: str) -> int | None:
    """The time step the code belongs to (one step of clock drift allowed either way), or None."""
    code = _clean_code(code)
    if not secret or not code.isdigit() or len(code) != 6:
        return None
    try:
        return pyotp.TOTP(secret).verify_and_get_timecode(code, valid_window=1)
    except OTPVerificationError:
        return None


def totp_check(user: User, code: str) -> bool:
    """Verify a code against the user's confirmed secret; a code (time step) works only once."""
    if user.totp_confirmed_at is None:
        return False
    step = totp_matching_step(user.totp_secret, code)
    if step is None:
        return False
    # Conditional update: of two requests racing with the same code only one wins.
    won = User.objects.filter(pk=user.pk, totp_last_step__lt=step).update(totp_last_step=step)
    if won:
        user.totp_last_step = step
    return bool(won)


def enrolment_secret(request: HttpRequest, user: User, *, fresh: bool = False) -> str:
    """The secret being enrolled, kept encrypted in the session until the user confirms a code, so
    that an abandoned enrolment changes nothing."""
    sealed = request.session.get(TOTP_NEW_KEY)
    aad = f"totp-enrol:{user.uid}"
    if sealed and not fresh:
        try:
            return crypto.decrypt(str(sealed), aad)
        except crypto.CryptoError:
            pass
    secret = totp_new_secret()
    request.session[TOTP_NEW_KEY] = crypto.encrypt(secret, aad)
    return secret


def totp_confirm(request: HttpRequest, user: User, code: str) -> bool:
    """Confirm enrolment with a first code; stores the secret (encrypted field) on the account."""
    secret = enrolment_secret(request, user)
    step = totp_matching_step(secret, code)
    if step is None:
        return False
    with transaction.atomic():
        user.totp_secret = secret
        user.totp_confirmed_at = timezone.now()
        user.totp_last_step = step
        user.save(update_fields=["totp_secret", "totp_confirmed_at", "totp_last_step"])
        audit.record("auth.totp_enrol", actor=user, request=request, object_type="user", object_id=user.pk)
    request.session.pop(TOTP_NEW_KEY, None)
    return True


# Accounts made by the demo generator (shequ/demo/generator.py) carry this mail domain; a reserved
# name (.local never resolves), so no real account has it. ``shequ demo_totp`` serves only these.
DEMO_EMAIL_DOMAIN = "demo.shequ.local"


def is_demo_account(user: User) -> bool:
    return user.email.lower().endswith("@" + DEMO_EMAIL_DOMAIN)


def totp_enrol_directly(user: User) -> str:
    """Create and confirm a secret without an app (demo accounts only; see ``shequ demo_totp``)."""
    secret = totp_new_secret()
    with transaction.atomic():
        user.totp_secret = secret
        user.totp_confirmed_at = timezone.now()
        user.totp_last_step = 0
        user.save(update_fields=["totp_secret", "totp_confirmed_at", "totp_last_step"])
        audit.record(
            "auth.totp_enrol", actor=user, object_type="user", object_id=user.pk, detail={"demo": True}
        )
    return secret
