from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest

from shequ.core.components import nav_for
from shequ.core.models import Region

if TYPE_CHECKING:
    from shequ.core.permissions import Viewer


def shell(request: HttpRequest) -> dict[str, Any]:
    """What the base layout needs: navigation (with badges), the elderly-mode switch and the region
    the user is working in (with its breadcrumb), for users with more than one region."""
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    limit = {"max_request_mb": settings.MAX_REQUEST_BYTES >> 20}
    if user is None or not user.is_authenticated:
        return {
            "nav_entries": [],
            "elderly_mode": bool(session is not None and session.get("elderly_mode")),
            **limit,
        }
    return {
        **limit,
        "nav_entries": nav_for(user),
        "elderly_mode": bool(user.elderly_mode),
        **_current_region(request, user),
    }


def _current_region(request: HttpRequest, user: Viewer) -> dict[str, Any]:
    from shequ.core.permissions import scopes_for
    from shequ.core.selectors import breadcrumb

    scopes = scopes_for(user)
    if not scopes:
        return {}
    chosen = request.session.get("current_region", "")
    code = chosen if any(chosen.startswith(s) for s in scopes) else scopes[0]
    region = Region.objects.filter(code=code).first()
    if region is None:
        return {}
    crumbs = [r for r in breadcrumb(region) if any(r.code.startswith(s) for s in scopes)]
    return {"current_region": region, "region_crumbs": crumbs, "multi_region": len(scopes) > 1}
