from typing import Any

from django.http import HttpRequest

from shequ.core.components import nav_for


def shell(request: HttpRequest) -> dict[str, Any]:
    """What the base layout needs: navigation (with badges) and the elderly-mode switch."""
    user = getattr(request, "user", None)
    signed_in = bool(user is not None and user.is_authenticated)
    session = getattr(request, "session", None)
    if signed_in:
        elderly = bool(user.elderly_mode)  # type: ignore[union-attr]
    else:
        elderly = bool(session is not None and session.get("elderly_mode", False))
    return {"nav_entries": nav_for(user) if signed_in else [], "elderly_mode": elderly}
