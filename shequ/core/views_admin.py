"""Administration pages, one per separated duty (三权分立, security requirement 7):

* ``accounts``    — the system admin creates, disables and enables accounts in their region;
* ``memberships`` — the security admin grants and revokes roles in their region;
* ``audit_log``   — the auditor reads the audit log (read-only).

Views are thin: forms parse input, ``accounts`` services decide and audit. Everyone else gets 403,
and each refusal is written to the audit log as ``access.denied``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Prefetch
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from shequ.core import accounts as account_services
from shequ.core import audit, audit_labels, guards, selectors
from shequ.core.forms import (
    AuditFilterForm,
    MembershipGrantForm,
    MembershipRevokeForm,
    UserCreateForm,
    UserStatusForm,
)
from shequ.core.models import Membership, Region, User
from shequ.core.permissions import Perm, scopes_for
from shequ.core.personal import mask_phone

PAGE_SIZE = 50


def _page(request: HttpRequest, items: Any) -> Page:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _apply_errors(form: Form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form fields it names (others on the form itself)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _region_names(codes: set[str]) -> dict[str, str]:
    return dict(Region.objects.filter(code__in=codes).values_list("code", "name"))


# --- Accounts (system admin) --------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def accounts(request: HttpRequest) -> HttpResponse:
    guards.require(request, Perm.MANAGE_USERS)
    actor: User = request.user  # type: ignore[assignment]
    create_form = UserCreateForm(prefix="new")
    create_form.limit_to(actor)
    status = 200
    if request.method == "POST":
        op = request.POST.get("op")
        if op == "create":
            create_form = UserCreateForm(request.POST, prefix="new")
            create_form.limit_to(actor)
            status = _create_user(request, actor, create_form)
        elif op == "status":
            status = _set_status(request, actor, UserStatusForm(request.POST))
        else:
            status = 400
            messages.error(request, _("Unknown action."))
        if status == 302:
            return redirect("core:accounts")
    query = request.GET.get("q", "").strip()[:150]
    users = account_services.user_list(viewer=actor, query=query).prefetch_related(
        Prefetch(
            "memberships",
            queryset=Membership.objects.filter(revoked_at__isnull=True).order_by("region_code"),
            to_attr="active_roles",
        )
    )
    page = _page(request, users)
    accounts_on_page: list[Any] = list(page)
    codes = {m.region_code for u in accounts_on_page for m in u.active_roles} | {
        u.region_code for u in accounts_on_page
    }
    scopes = scopes_for(actor, Perm.MANAGE_USERS)
    names = _region_names(codes | set(scopes))
    rows = [
        {
            "user": u,
            "phone": mask_phone(u.phone),
            "roles": [
                f"{m.get_role_display()} · {names.get(m.region_code, m.region_code)}" for m in u.active_roles
            ],
            "home": names.get(u.region_code, u.region_code),
        }
        for u in accounts_on_page
    ]
    context = {
        "page": page,
        "rows": rows,
        "query": query,
        "create_form": create_form,
        "scope_labels": [names.get(c, c) for c in scopes],
    }
    return render(request, "core/admin/accounts.html", context, status=status)


def _create_user(request: HttpRequest, actor: User, form: UserCreateForm) -> int:
    if not form.is_valid():
        return 400
    data = form.cleaned_data
    try:
        user = account_services.user_create(
            actor=actor,
            username=data["username"],
            display_name=data["display_name"],
            password=data["password"],
            phone=data["phone"],
            email=data["email"],
            region_code=data["region"].code,
            request=request,
        )
    except PermissionDenied as exc:
        form.add_error("region", str(exc) or _("You may not do this in this region."))
        return 403
    except ValidationError as exc:
        _apply_errors(form, exc)
        return 400
    messages.success(
        request,
        _("Account %(name)s created; the user must change the password at first sign-in.") % {"name": user},
    )
    return 302


def _set_status(request: HttpRequest, actor: User, form: UserStatusForm) -> int:
    if not form.is_valid():
        messages.error(request, _("Give a reason (at most 500 characters)."))
        return 400
    target = account_services.user_get_for(actor, form.cleaned_data["user"])  # 404 outside the region
    active = form.cleaned_data["active"]
    try:
        account_services.user_set_active(
            actor=actor, user=target, active=active, reason=form.cleaned_data["reason"], request=request
        )
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return 403
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return 400
    if active:
        messages.success(request, _("Account %(name)s enabled.") % {"name": target})
    else:
        messages.success(request, _("Account %(name)s disabled; its sessions were ended.") % {"name": target})
    return 302


# --- Roles (security admin) ---------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def memberships(request: HttpRequest) -> HttpResponse:
    guards.require(request, Perm.MANAGE_MEMBERSHIPS)
    actor: User = request.user  # type: ignore[assignment]
    grant_form = MembershipGrantForm(prefix="grant")
    grant_form.limit_to(actor)
    status = 200
    if request.method == "POST":
        op = request.POST.get("op")
        if op == "grant":
            grant_form = MembershipGrantForm(request.POST, prefix="grant")
            grant_form.limit_to(actor)
            status = _grant(request, actor, grant_form)
        elif op == "revoke":
            status = _revoke(request, actor, MembershipRevokeForm(request.POST))
        else:
            status = 400
            messages.error(request, _("Unknown action."))
        if status == 302:
            return redirect("core:memberships")
    include_revoked = request.GET.get("revoked") == "1"
    scopes = scopes_for(actor, Perm.MANAGE_MEMBERSHIPS)
    names = _region_names(set(scopes))
    page = _page(request, account_services.membership_list(viewer=actor, include_revoked=include_revoked))
    context = {
        "page": page,
        "grant_form": grant_form,
        "include_revoked": include_revoked,
        "scope_labels": [names.get(c, c) for c in scopes],
    }
    return render(request, "core/admin/memberships.html", context, status=status)


def _grant(request: HttpRequest, actor: User, form: MembershipGrantForm) -> int:
    if not form.is_valid():
        return 400
    data = form.cleaned_data
    # Accounts outside the admin's region look the same as unknown ones.
    target = (
        account_services.user_list(viewer=actor, perm=Perm.MANAGE_MEMBERSHIPS)
        .filter(username__iexact=data["username"].strip())
        .first()
    )
    if target is None:
        form.add_error("username", _("No account with this user name in your region."))
        return 400
    try:
        membership = account_services.membership_grant(
            actor=actor,
            user=target,
            role=data["role"],
            region=data["region"],
            department=data["department"],
            request=request,
        )
    except PermissionDenied as exc:
        form.add_error(None, str(exc))
        return 403
    except ValidationError as exc:
        _apply_errors(form, exc)
        return 400
    messages.success(
        request,
        _("%(user)s is now %(role)s in %(region)s.")
        % {"user": target, "role": membership.get_role_display(), "region": membership.region.name},
    )
    return 302


def _revoke(request: HttpRequest, actor: User, form: MembershipRevokeForm) -> int:
    if not form.is_valid():
        messages.error(request, _("Give a reason (at most 500 characters)."))
        return 400
    membership = account_services.membership_get_for(actor, form.cleaned_data["membership"])
    try:
        account_services.membership_revoke(
            actor=actor, membership=membership, reason=form.cleaned_data["reason"], request=request
        )
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return 403
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return 400
    messages.success(
        request,
        _("%(user)s is no longer %(role)s in %(region)s.")
        % {"user": membership.user, "role": membership.get_role_display(), "region": membership.region.name},
    )
    return 302


# --- Audit log (auditor) ------------------------------------------------------------------------


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    guards.require(request, Perm.VIEW_AUDIT)
    form = AuditFilterForm(request.GET or None)
    form.limit_to(request.user)
    filters: dict[str, Any] = {}
    status = 200
    if form.is_bound:
        if form.is_valid():
            filters = form.filters()
        else:
            status = 400
    entries = selectors.audit_list(viewer=request.user, filters=filters) if status == 200 else []
    page = _page(request, entries)
    page.object_list = list(page.object_list)  # read before this visit's own entry is written
    scopes = scopes_for(request.user, Perm.VIEW_AUDIT)
    # The auditors' own reading is audited too (separation of duties cuts both ways).
    audit.record(
        "audit.view",
        request=request,
        region_code=scopes[0] if scopes else "",
        detail={k: str(v) for k, v in filters.items()} | {"page": page.number},
    )
    names = _region_names({e.region_code for e in page.object_list if e.region_code})
    audit_labels.labelled(page.object_list)  # words for the codes; the codes stay on the page
    rows = [(e, names.get(e.region_code, "")) for e in page.object_list]
    context = {"form": form, "page": page, "rows": rows, "filtered": bool(filters)}
    context["checkpoint"] = audit.newest_checkpoint()  # what the auditor can compare with a printout
    return render(request, "core/admin/audit.html", context, status=status)
