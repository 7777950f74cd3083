"""The component manifest every app registers (decidim-style): nav entries, permissions, events.

Each app puts ``COMPONENT = Component(...)`` in its ``component.py``; the shell builds navigation
from them and reports/insight later read the stats and ledgers they offer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise

if TYPE_CHECKING:
    from shequ.core.permissions import Viewer


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
class LedgerColumn:
    key: str
    title: str | Promise
    width: int = 14
    # Text columns keep ID and phone numbers as text in Excel; dates and numbers are not text.
    text: bool = True


@dataclass(frozen=True)
class Ledger:
    """A standard ledger (台账) an app offers: its pages, its Excel export and the reports of other
    apps all read it through ``query`` and ``row``.

    ``query(viewer, filters)`` returns the rows in the viewer's scope (a QuerySet or any sequence
    with ``count()`` and slicing); ``row(obj, filters, full)`` gives one row's values by column key,
    personal data masked unless ``full`` (the caller has checked and audited the reveal).
    A restricted ledger exists only for users ``visible`` accepts (no menu entry, no count), and
    whoever shows its rows calls ``record_view(viewer, rows, request, context)`` first.
    """

    key: str
    title: str | Promise
    columns: tuple[LedgerColumn, ...]
    query: Callable[[Any, Mapping[str, Any]], Any]
    row: Callable[[Any, Mapping[str, Any], bool], Mapping[str, Any]]
    description: str | Promise = ""
    filters: tuple[str, ...] = ()
    perm: str | None = None  # needed to see the ledger at all (in some region)
    restricted: bool = False
    visible: Callable[[Any], bool] | None = None
    record_view: Callable[[Any, list[Any], Any, str], None] | None = None

    def is_visible_to(self, user: Viewer) -> bool:
        from shequ.core.permissions import has_perm

        if self.perm is not None and not has_perm(user, self.perm):
            return False
        return self.visible is None or self.visible(user)


@dataclass(frozen=True)
class ConsistencyCheck:
    """``run()`` returns the problems it finds (none when the data agree), in words for operators."""

    label: str
    run: Callable[[], list[str]]


@dataclass(frozen=True)
class Component:
    name: str
    label: str | Promise
    nav: tuple[NavEntry, ...] = ()
    permissions: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    ledgers: tuple[Ledger, ...] = field(default=())
    stats: tuple[Any, ...] = field(default=())
    # Returns what waits for this user in the app (only items with a count are shown).
    home_items: Callable[[Any], list[HomeItem]] | None = None
    # Consistency checks of the app's derived data, which a restored backup must pass (``shequ
    # backup verify``).
    checks: tuple[ConsistencyCheck, ...] = ()
    # The app's audit actions in words ({"grid.dispatch": _("…")}) for the audit log page
    # (core/audit_labels.py); a callable, so the manifest imports no labels it does not need.
    audit_labels: Callable[[], Mapping[str, Any]] | None = None


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


def nav_for(user: Viewer) -> list[dict[str, Any]]:
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


def home_items_for(user: Viewer) -> list[HomeItem]:
    items: list[HomeItem] = []
    for comp in components():
        if comp.home_items is not None:
            items.extend(item for item in comp.home_items(user) if item.count)
    return items


def ledgers_for(user: Viewer) -> list[Ledger]:
    """Every app's ledgers this user may know of (restricted ones only with their grant)."""
    return [ledger for comp in components() for ledger in comp.ledgers if ledger.is_visible_to(user)]
