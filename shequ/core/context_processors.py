from typing import Any

from django.http import HttpRequest

from shequ.core.components import nav_for


def shell(request: HttpRequest) -> dict[str, Any]:
    """What the base layout needs: navigation, elderly mode, the current region."""
    user = getattr(request, "user", None)
    elderly = bool(user and user.is_authenticated and user.elderly_mode) or request.session.get(
        "elderly_mode", False
    ) if hasattr(request, "session") else False
    return {
        "nav_entries": nav_for(user) if user is not None else [],
        "elderly_mode": elderly,
        "unread_count": _unread(user),
    }


def _unread(user: Any) -> int:
    if not user or not user.is_authenticated:
        return 0
    from shequ.core.selectors import unread_count

    return unread_count(user=user)
