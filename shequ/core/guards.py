"""The page guard: the one way to refuse a request the user may not make (security requirement 12:
every refusal is audited, then answered with a 403).

* ``page(allowed, methods=..., template=...)`` — decorates a signed-in page: a user ``allowed``
  does not admit gets the audited 403; a ``PermissionDenied`` raised inside (a service's refusal,
  already audited by the service, or ``require``'s) becomes the 403 page too.
* ``require(request, allowed, region_code=...)`` — the function form for a check on one region or
  object: audits and raises ``PermissionDenied``.
* ``require_api(request, allowed, message, region_code=...)`` — the API form: returns the caller,
  or audits and raises the platform's 403 ``ApiError``.
* ``denied(request, ...)`` audits and returns the 403 page for views that decide in their body;
  ``forbidden(request, message)`` only renders it (for refusals already audited).

``allowed`` is a permission code, several codes (holding any one suffices), a predicate on the user,
or None (every signed-in user). A page refusal is the audit action ``access.denied`` on the object
``page`` (the path), with the permission(s) and the HTTP method in ``detail``.

``template`` is the app's 403 page (it extends the app's base); without one ``PermissionDenied`` is
raised and the project's 403 handler answers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from shequ.core import audit
from shequ.core.apiauth import deny
from shequ.core.models import AuditResult
from shequ.core.permissions import Viewer, has_perm

if TYPE_CHECKING:
    from shequ.core.models import User

Allowed = str | Sequence[str] | Callable[[Viewer], bool] | None
View = Callable[..., HttpResponseBase]


def _perms(allowed: Allowed) -> tuple[str, ...]:
    if allowed is None or callable(allowed):
        return ()
    if isinstance(allowed, str):
        return (allowed,)
    return tuple(allowed)


def allows(user: Viewer, allowed: Allowed, region_code: str | None = None) -> bool:
    """Whether ``user`` passes ``allowed`` (in ``region_code`` when given, else somewhere)."""
    if allowed is None:
        return True
    if callable(allowed):
        return bool(allowed(user))
    return any(has_perm(user, perm, region_code) for perm in _perms(allowed))


def record_denial(request: HttpRequest, allowed: Allowed = None, *, region_code: str = "") -> None:
    """The audit entry of a refused page: ``access.denied`` on the page's path."""
    perms = _perms(allowed)
    detail: dict[str, Any] = {"method": request.method}
    if perms:
        detail = {"perm": perms[0] if len(perms) == 1 else list(perms), **detail}
    audit.record(
        "access.denied",
        request=request,
        region_code=region_code,
        object_type="page",
        object_id=request.path[:200],
        result=AuditResult.DENIED,
        detail=detail,
    )


def forbidden(request: HttpRequest, message: str = "", *, template: str | None = None) -> HttpResponse:
    """The 403 page with ``message`` (for a refusal already audited); without a template the
    project's 403 handler answers."""
    if template is None:
        raise PermissionDenied(message)
    return render(
        request,
        template,
        {"message": message or _("You are not allowed to do this here.")},
        status=403,
    )


def denied(
    request: HttpRequest,
    allowed: Allowed = None,
    *,
    region_code: str = "",
    message: str = "",
    template: str | None = None,
) -> HttpResponse:
    """Audit the refusal and answer with the 403 page."""
    record_denial(request, allowed, region_code=region_code)
    return forbidden(request, message, template=template)


def require(
    request: HttpRequest, allowed: Allowed, region_code: str | None = None, *, message: str | None = None
) -> None:
    """Return when the user passes ``allowed`` (in ``region_code`` when given, else somewhere);
    otherwise audit the refusal and raise ``PermissionDenied``."""
    if allows(request.user, allowed, region_code):
        return
    record_denial(request, allowed, region_code=region_code or "")
    if message is None:
        message = _("You may not do this in this region.") if region_code else ""
    raise PermissionDenied(message)


def require_actor(
    actor: Viewer | None,
    perm: str,
    region_code: str,
    *,
    action: str,
    object_type: str = "",
    object_id: Any = "",
    request: HttpRequest | None = None,
    message: str | None = None,
) -> None:
    """The services' check: return when ``actor`` holds ``perm`` in ``region_code`` (``None`` is the
    platform itself); otherwise audit the refusal under ``action`` and raise ``PermissionDenied``."""
    if actor is None or has_perm(actor, perm, region_code):
        return
    audit.record(
        action,
        actor=actor,
        request=request,
        region_code=region_code,
        object_type=object_type,
        object_id=object_id,
        result=AuditResult.DENIED,
        detail={"why": f"no {perm} in this region"},
    )
    raise PermissionDenied(message or _("You may not do this in this region."))


def page(
    allowed: Allowed = None, *, methods: Sequence[str] = ("GET",), template: str | None = None
) -> Callable[[View], View]:
    """A signed-in page taking ``methods``: users ``allowed`` does not admit get the audited 403,
    and a ``PermissionDenied`` raised by the view becomes the 403 page with its message."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not allows(request.user, allowed):
                return denied(request, allowed, template=template)
            try:
                return view(request, *args, **kwargs)
            except PermissionDenied as exc:
                return forbidden(request, str(exc), template=template)

        return login_required(require_http_methods(list(methods))(wrapper))

    return decorate


def require_api(
    request: HttpRequest,
    allowed: Allowed,
    message: str,
    *,
    region_code: str | None = None,
    code: str = "permission_denied",
) -> User:
    """The API caller (``request.auth``) when they pass ``allowed`` (in ``region_code`` when
    given); otherwise the refusal is audited (``api.denied``) and the 403 ``ApiError`` raised."""
    viewer: User = request.auth  # type: ignore[attr-defined]
    if allows(viewer, allowed, region_code):
        return viewer
    perms = _perms(allowed)
    detail: dict[str, Any] = {}
    if perms:
        detail["needs"] = perms[0] if len(perms) == 1 else list(perms)
    if region_code:
        detail["region"] = region_code
    raise deny(request, code, message, **detail)
