"""Shell pages: home, 我的 (the full menu), region browser and picker, elderly mode."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from shequ.core import selectors
from shequ.core.components import menu_for, tiles_for
from shequ.core.models import Role
from shequ.core.permissions import Perm, active_memberships, has_perm, primary_role


def _back(request: HttpRequest, default: str = "core:home") -> HttpResponseRedirect:
    target = request.POST.get("next") or request.META.get("HTTP_REFERER") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return HttpResponseRedirect(target)
    return redirect(default)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    memberships = active_memberships(user)
    role = primary_role(user)
    context = {
        "memberships": memberships,
        "role": role,
        "role_label": Role(role).label if role else "",
        "regions": selectors.viewer_regions(viewer=user),
        "tiles": tiles_for(user),
        "recent_messages": list(selectors.message_list(viewer=user).filter(read_at__isnull=True)[:5]),
        "can_browse_regions": has_perm(user, Perm.VIEW_REGION),
        # The volunteer role has no pages yet: its home says what it is for and what is coming.
        "volunteer": any(m.role == Role.VOLUNTEER for m in memberships),
    }
    return render(request, "core/home.html", context)


@login_required
def me(request: HttpRequest) -> HttpResponse:
    """我的: who I am, every page I may open (the full menu; the phone shows only five tabs), my
    account's settings and signing out."""
    user = request.user
    role = primary_role(user)
    return render(
        request,
        "core/me.html",
        {
            "menu": menu_for(user),
            "memberships": active_memberships(user),
            "role_label": Role(role).label if role else "",
        },
    )


@login_required
def regions(request: HttpRequest, code: str | None = None) -> HttpResponse:
    """Browse the region tree inside the viewer's scope (the region picker)."""
    user = request.user
    if code is None:
        tops = [r for r in selectors.viewer_regions(viewer=user) if has_perm(user, Perm.VIEW_REGION, r.code)]
        if len(tops) == 1:
            return redirect("core:region", code=tops[0].code)
        return render(request, "core/regions.html", {"region": None, "children": tops, "crumbs": []})
    region = selectors.region_get_for(user, code)
    children = list(selectors.region_list(viewer=user, parent_code=code))
    crumbs = [r for r in selectors.breadcrumb(region) if has_perm(user, Perm.VIEW_REGION, r.code)]
    return render(request, "core/regions.html", {"region": region, "children": children, "crumbs": crumbs})


@login_required
@require_POST
def pick_region(request: HttpRequest) -> HttpResponse:
    """Remember the region a multi-region user is working in."""
    region = selectors.region_get_for(request.user, request.POST.get("code", ""))
    request.session["current_region"] = region.code
    return _back(request)


@require_POST
def toggle_elderly(request: HttpRequest) -> HttpResponse:
    """Elderly mode: larger text, higher contrast, simpler pages; kept on the account when signed in."""
    if request.user.is_authenticated:
        from shequ.core.accounts import user_set_elderly_mode

        user_set_elderly_mode(user=request.user, enabled=not request.user.elderly_mode)
    else:
        request.session["elderly_mode"] = not request.session.get("elderly_mode", False)
    return _back(request)
