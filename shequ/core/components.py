"""The component manifest every app registers (decidim-style): nav entries, permissions, events.

Each app puts ``COMPONENT = Component(...)`` in its ``component.py``; the shell builds navigation
from them and reports/insight later read the stats and ledgers they offer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from django.apps import apps
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise


@dataclass(frozen=True)
class NavEntry:
    label: str | Promise
    url_name: str
    # Shown when the user holds this permission somewhere (None: every signed-in user).
    perm: str | None = None
    # Or when the user holds one of these roles.
    roles: frozenset[str] = frozenset()
    icon: str = ""
    order: int = 100
    # A number to show beside the entry (e.g. unread messages); None for no badge.
    badge: Callable[[Any], int] | None = None


@dataclass(frozen=True)
class HomeItem:
    """One line of "waiting for you" on the home page: a count and where to handle it."""

    label: str | Promise
    count: int
    url: str
    tone: str = ""  # "", "warn" or "bad"


@dataclass(frozen=True)
class Component:
    name: str
    label: str | Promise
    nav: tuple[NavEntry, ...] = ()
    permissions: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    ledgers: tuple[Any, ...] = field(default=())
    stats: tuple[Any, ...] = field(default=())
    # Returns what waits for this user in the app (only items with a count are shown).
    home_items: Callable[[Any], list[HomeItem]] | None = None


def components() -> list[Component]:
    found: list[Component] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("shequ."):
            continue
        try:
            module = import_module(f"{config.name}.component")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.component":
                raise
            continue
        found.append(module.COMPONENT)
    return found


def nav_for(user: Any) -> list[dict[str, Any]]:
    """The navigation entries this user may see, in order."""
    from shequ.core.permissions import has_perm, roles_of

    if not getattr(user, "is_authenticated", False):
        return []
    user_roles = roles_of(user)
    entries: list[tuple[int, dict[str, Any]]] = []
    for comp in components():
        for entry in comp.nav:
            allowed = (entry.perm is None and not entry.roles) or (
                (entry.perm is not None and has_perm(user, entry.perm)) or bool(entry.roles & user_roles)
            )
            if not allowed:
                continue
            try:
                url = reverse(entry.url_name)
            except NoReverseMatch:
                continue
            badge = entry.badge(user) if entry.badge else 0
            entries.append(
                (entry.order, {"label": entry.label, "url": url, "icon": entry.icon, "badge": badge})
            )
    return [e for _, e in sorted(entries, key=lambda pair: pair[0])]


def home_items_for(user: Any) -> list[HomeItem]:
    items: list[HomeItem] = []
    for comp in components():
        if comp.home_items is not None:
            items.extend(item for item in comp.home_items(user) if item.count)
    return items
