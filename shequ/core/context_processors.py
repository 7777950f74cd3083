from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from shequ.core.components import menu_for, tabs_for
from shequ.core.models import Region

if TYPE_CHECKING:
    from shequ.core.permissions import Viewer


def shell(request: HttpRequest) -> dict[str, Any]:
    """What the base layout needs: the menu (desktop sidebar, with badges), the phone's bottom tabs,
    the elderly-mode switch and the region the user is working in (with its breadcrumb), for users
    with more than one region."""
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    limit = {"max_request_mb": settings.MAX_REQUEST_BYTES >> 20}
    if user is None or not user.is_authenticated:
        return {
            "elderly_mode": bool(session is not None and session.get("elderly_mode")),
            **limit,
        }
    menu = menu_for(user)
    # The inbox's badge is counted once per page, for the menu and the 消息 tab alike.
    inbox = reverse("core:inbox")
    unread = next((e["badge"] for g in menu for e in g["entries"] if e["url"] == inbox), None)
    return {
        **limit,
        "menu": menu,
        "tabs": _mark_current(tabs_for(user, unread), request.path),
        "me_url": reverse("core:me"),
        "elderly_mode": bool(user.elderly_mode),
        **_current_region(request, user),
    }


def _mark_current(tabs: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
    """The tab a page belongs to: the longest tab URL the path starts with (a ticket opened from
    任务 keeps 任务 lit); the home tab only on the home page itself."""
    best = max(
        (t for t in tabs if path == t["url"] or (t["url"] != "/" and path.startswith(t["url"]))),
        key=lambda t: len(t["url"]),
        default=None,
    )
    return [{**t, "current": t is best} for t in tabs]


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
