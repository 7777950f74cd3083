"""The component manifest every app registers (decidim-style): nav entries, home tiles,
permissions, events.

Each app puts ``COMPONENT = Component(...)`` in its ``component.py``; the shell builds its menu, the
phone's bottom tabs and the home's service grid from them, and reports later read the stats and
ledgers they offer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from importlib import import_module
from typing import TYPE_CHECKING, Any, Protocol

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
    # A bottom tab on phones: its short label (two characters, 任务) and rank (lower first). The
    # shell shows 首页, the user's two best-ranked tabs, 消息 and 我的.
    tab: str | Promise = ""
    tab_rank: int = 100
    # The page keeps working offline: the service worker keeps a copy, and a form posted from it
    # without a network is kept on the phone and sent once the network is back (core/sw.js).
    offline: bool = False

    def allows(self, user: Viewer, user_roles: frozenset[str] | set[str]) -> bool:
        from shequ.core.permissions import has_perm

        if self.perm is None and not self.roles:
            return True
        return (self.perm is not None and has_perm(user, self.perm)) or bool(self.roles & user_roles)


@dataclass(frozen=True)
class Tile:
    """A service on a role's home (the home is a grid of them): where it goes, its icon, and the
    key of its count in the component's ``tile_counts`` (None: a service without a count).
    ``tone`` colours a count above zero ("warn" or "bad"): work that is late or needs a look."""

    label: str | Promise
    url_name: str
    icon: str
    perm: str | None = None
    roles: frozenset[str] = frozenset()
    order: int = 100
    count: str | None = None
    tone: str = ""
    query: str = ""  # appended to the URL (a filtered list: "?status=resolved")
    hint: str | Promise = ""  # one line under the label
    hide_zero: bool = False  # an alert, not a service: shown only when its count is above zero

    def allows(self, user: Viewer, user_roles: frozenset[str] | set[str]) -> bool:
        return NavEntry(self.label, self.url_name, self.perm, self.roles).allows(user, user_roles)


@dataclass(frozen=True)
class ShownTile:
    label: str | Promise
    url: str
    icon: str
    count: int | None
    tone: str
    hint: str | Promise


@dataclass(frozen=True)
class LedgerColumn:
    key: str
    title: str | Promise
    width: int = 14
    # Text columns keep ID and phone numbers as text in Excel; dates and numbers are not text.
    text: bool = True


# The filters every ledger may accept, built by the reports app's ledger pages.
LEDGER_REGION, LEDGER_AS_OF, LEDGER_START, LEDGER_END = "region", "as_of", "start", "end"


def ledger_period(filters: Mapping[str, Any]) -> tuple[datetime, datetime]:
    """A period ledger's first moment and the moment after its last day, in Beijing time (this
    month so far when the filters name no period)."""
    from django.utils import timezone

    today = timezone.localdate()
    start: date = filters.get(LEDGER_START) or today.replace(day=1)
    end: date = filters.get(LEDGER_END) or today
    return (
        timezone.make_aware(datetime.combine(start, time.min)),
        timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min)),
    )


@dataclass(frozen=True)
class Ledger:
    """A standard ledger (台账) an app offers: its pages, its Excel export and the reports of other
    apps all read it through ``query`` and ``row``.

    ``query(viewer, filters)`` returns the rows in the viewer's scope (a QuerySet or any sequence
    with ``count()`` and slicing); ``row(obj, filters, full)`` gives one row's values by column key,
    personal data masked unless ``full`` (the caller has checked and audited the reveal).
    A restricted ledger exists only for users ``visible`` accepts (no menu entry, no count), and
    whoever shows its rows calls ``record_view(viewer, rows, request, context)`` first.

    Filters: ``region`` (a code inside the viewer's scope), ``as_of`` (a state ledger's day) and
    ``start``/``end`` (a period ledger's first and last day) are built by the reports app;
    ``filter_fields(viewer)`` gives the ledger's own form fields ({filter name: field}) and
    ``check_filters(values)`` its cross-field errors ({filter name: message}). Exports need
    ``export_perm`` over the area (None: the reports app's ledger permission); full values of
    ``reveal_fields`` also need ``reveal_perm`` and the reveal permission (None: always masked).
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
    filter_fields: Callable[[Any], Mapping[str, Any]] | None = None
    check_filters: Callable[[Mapping[str, Any]], Mapping[str, str]] | None = None
    export_perm: str | None = None
    reveal_perm: str | None = None
    reveal_fields: tuple[str, ...] = ()

    @property
    def periodic(self) -> bool:
        """A ledger of what happened in a period (tickets, alerts), not a state on a day."""
        return LEDGER_START in self.filters

    def is_visible_to(self, user: Viewer) -> bool:
        from shequ.core.permissions import has_perm

        if self.perm is not None and not has_perm(user, self.perm):
            return False
        return self.visible is None or self.visible(user)


@dataclass(frozen=True)
class Dimension:
    """A breakdown a statistic or a shared resource accepts (tag, age band, category, status …):
    its key, its label, and its values as ``(value, label)`` pairs (a callable: values may come
    from the database, e.g. the categories)."""

    key: str
    label: str | Promise
    values: Callable[[], Sequence[tuple[str, str | Promise]]]


@dataclass(frozen=True)
class StatQuery:
    """What a report cell asks a statistic: the value of every region under ``root`` grouped by
    the first ``group_length`` digits of its code (12: per community), for the period
    ``start``–``end`` (dates, both included; a "state" statistic counts as on ``end``), narrowed by
    ``filters`` ({dimension key: value})."""

    root: str
    group_length: int
    start: date
    end: date
    filters: Mapping[str, str] = field(default_factory=dict)

    @property
    def bounds(self) -> tuple[Any, Any]:
        """[start, end] as aware datetimes [local midnight of ``start``, of the day after ``end``)."""
        import datetime as dt

        from django.utils import timezone

        tz = timezone.get_current_timezone()
        low = dt.datetime.combine(self.start, dt.time.min, tzinfo=tz)
        high = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        return low, high

    def grouped(self, rows: Any, value: Any = None, code_field: str = "region_code") -> dict[str, Any]:
        """{region code prefix: value} of a queryset already narrowed to the question's rows: one
        GROUP BY over the first ``group_length`` digits of ``code_field`` (``value``: an aggregate,
        default the row count); groups whose value is zero or NULL are left out."""
        from django.db.models import Count
        from django.db.models.functions import Substr

        grouped_rows = (
            rows.filter(**{f"{code_field}__startswith": self.root})
            .annotate(_group=Substr(code_field, 1, self.group_length))
            .values("_group")
            .annotate(_value=value if value is not None else Count("pk"))
            .order_by()
        )
        return {row["_group"]: row["_value"] for row in grouped_rows if row["_value"]}


@dataclass(frozen=True)
class Stat:
    """A number an app offers to reports (统一制表): a count or sum over its data.

    ``compute(query)`` answers {region code prefix: value} for every group with a non-zero value,
    in a few grouped queries whatever the number of regions (a city's communities at once).
    ``records(viewer, region_code, query)`` is the drill-down: the rows behind the value of one
    region, in the viewer's scope (a QuerySet or a list), shown with ``columns`` through ``row``
    (personal data masked). ``kind`` is "state" (as on the period's last day: residents, houses)
    or "flow" (what happened in the period: tickets submitted, applications finished)."""

    key: str
    title: str | Promise
    unit: str | Promise
    kind: str
    compute: Callable[[StatQuery], Mapping[str, int | Decimal]]
    records: Callable[[Any, str, StatQuery], Any]
    columns: tuple[LedgerColumn, ...]
    row: Callable[[Any], Mapping[str, Any]]
    dimensions: tuple[Dimension, ...] = ()
    description: str | Promise = ""
    perm: str | None = None  # needed to open the drill-down (the number itself is aggregate)


class Sensitivity:
    """How sensitive a shared field is (GB/T 35273 / the catalog's 敏感级别)."""

    PUBLIC = "public"  # may be published (a building's address, a category)
    INTERNAL = "internal"  # government use, not personal (a ticket's text without its reporter)
    PERSONAL = "personal"  # personal information: masked unless a grant names it
    SENSITIVE = "sensitive"  # sensitive personal information (health, correction …): never by default


class SharingType:
    """The catalog's 共享类型."""

    UNCONDITIONAL = "unconditional"  # 无条件共享
    CONDITIONAL = "conditional"  # 有条件共享: through a grant
    NONE = "none"  # 不予共享


@dataclass(frozen=True)
class ResourceField:
    key: str
    title: str | Promise
    sensitivity: str = Sensitivity.INTERNAL
    # How the value is shown when the grant does not name the field as unmasked (None: left out).
    mask: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class DataResource:
    """An entry of the government information resource catalog (政务信息资源目录) an app offers for
    sharing with departments.

    ``rows(region_codes, filters, after, limit)`` answers up to ``limit`` objects with a primary key
    above ``after`` in any of ``region_codes`` (prefixes), narrowed by ``filters`` ({dimension key:
    value} over ``dimensions``), in primary-key order; ``row(obj)`` gives every field's clear value
    by key; ``region_code(obj)`` where the row belongs; ``subjects(obj)`` the registry people the
    row is about (for the resident's "who used my data" page)."""

    key: str
    title: str | Promise
    description: str | Promise
    owner: str | Promise  # the unit that keeps it (数源单位)
    frequency: str | Promise  # update frequency (实时, 每日 …)
    sharing: str
    fields: tuple[ResourceField, ...]
    rows: Callable[[Sequence[str], Mapping[str, str], int, int], Sequence[Any]]
    row: Callable[[Any], Mapping[str, Any]]
    region_code: Callable[[Any], str]
    subjects: Callable[[Any], Sequence[int]] = lambda obj: ()
    dimensions: tuple[Dimension, ...] = ()
    # Domain events about this resource a department may subscribe to (by name).
    events: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConsistencyCheck:
    """``run()`` returns the problems it finds (none when the data agree), in words for operators."""

    label: str
    run: Callable[[], list[str]]


class Companion(Protocol):
    """A companion process of ``shequ serve`` (started with the server's address, stopped with it)."""

    def start(self, server: str) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class MapLayer:
    """Marks an app offers to other apps' maps (the IoT app's devices and open alerts on the grid
    worker's map), so that a map page shows them without importing the app.

    ``features(viewer, region_codes)`` answers GeoJSON point features of the viewer's own scope
    (the layer scopes its rows itself) under those regions, each with the properties ``kind``,
    ``id``, ``label``, ``state``, ``state_label`` and ``url`` (``core/maps.js`` draws them; the map
    page lists them too). Offered to those holding ``perm`` in the area; ``legend`` gives the
    states in words: ((state, label), …)."""

    key: str
    label: str | Promise
    kind: str  # the features' ``kind``: their marks' class on the map and in the legend
    perm: str
    features: Callable[[Any, Sequence[str]], list[dict[str, Any]]]
    legend: tuple[tuple[str, str | Promise], ...] = ()


@dataclass(frozen=True)
class Component:
    name: str
    label: str | Promise
    nav: tuple[NavEntry, ...] = ()
    permissions: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    ledgers: tuple[Ledger, ...] = field(default=())
    # Numbers it offers to report templates (reports app) and resources to the sharing catalog.
    stats: tuple[Stat, ...] = field(default=())
    resources: tuple[DataResource, ...] = field(default=())
    # The app's services on the home page, and their counts for a user ({tile count key: n}), in
    # one call so that an app counts its queues with as few queries as it can.
    tiles: tuple[Tile, ...] = ()
    tile_counts: Callable[[Any], Mapping[str, int]] | None = None
    # Consistency checks of the app's derived data, which a restored backup must pass (``shequ
    # backup verify``).
    checks: tuple[ConsistencyCheck, ...] = ()
    # The app's audit actions in words ({"grid.dispatch": _("…")}) for the audit log page
    # (core/audit_labels.py); a callable, so the manifest imports no labels it does not need.
    audit_labels: Callable[[], Mapping[str, Any]] | None = None
    # Processes that run beside ``shequ serve --with-devices`` for the demo (the IoT app's simulated
    # devices): called with the command's output, answers a :class:`Companion`.
    companions: Callable[[Any], Companion] | None = None
    # Marks it offers to other apps' maps (``MapLayer``; core/maps.py ``layers_for``).
    map_layers: tuple[MapLayer, ...] = ()


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


def _url(url_name: str, query: str = "") -> str | None:
    try:
        return reverse(url_name) + query
    except NoReverseMatch:  # a page of an app that is not installed here
        return None


def nav_for(user: Viewer) -> list[dict[str, Any]]:
    """The navigation entries this user may see, in order (the menu on 我的 and the desktop sidebar)."""
    return [entry for group in menu_for(user) for entry in group["entries"]]


def menu_for(user: Viewer) -> list[dict[str, Any]]:
    """The entries this user may see, grouped by app in the order of each app's first entry."""
    from shequ.core.permissions import roles_of

    if not getattr(user, "is_authenticated", False):
        return []
    user_roles = roles_of(user)
    groups: list[tuple[int, dict[str, Any]]] = []
    for comp in components():
        shown: list[tuple[int, dict[str, Any]]] = []
        for entry in comp.nav:
            url = _url(entry.url_name) if entry.allows(user, user_roles) else None
            if url is None:
                continue
            badge = entry.badge(user) if entry.badge else 0
            shown.append(
                (
                    entry.order,
                    {"label": entry.label, "url": url, "icon": entry.icon or "dot", "badge": badge},
                )
            )
        if shown:
            shown.sort(key=lambda pair: pair[0])
            groups.append((shown[0][0], {"label": comp.label, "entries": [e for _, e in shown]}))
    return [g for _, g in sorted(groups, key=lambda pair: pair[0])]


# The tabs every signed-in user has: home first, then the user's best two, messages and "me".
TAB_SLOTS = 2


def tabs_for(user: Viewer, unread: int | None = None) -> list[dict[str, Any]]:
    """The phone's bottom tabs: 首页, the two best-ranked tabs this user may open, 消息, 我的.
    ``unread``: the inbox's count when the caller has it already (the menu's badge)."""
    from django.utils.translation import gettext_lazy as _

    from shequ.core.permissions import roles_of

    if not getattr(user, "is_authenticated", False):
        return []
    user_roles = roles_of(user)
    ranked: list[tuple[int, int, dict[str, Any]]] = []
    seen: set[str] = set()
    for comp in components():
        for entry in comp.nav:
            if not entry.tab or not entry.allows(user, user_roles):
                continue
            url = _url(entry.url_name)
            if url is None or url in seen:
                continue
            seen.add(url)
            item = {"label": entry.tab, "url": url, "icon": entry.icon or "dot", "badge": 0}
            ranked.append((entry.tab_rank, entry.order, item))
    ranked.sort(key=lambda triple: triple[:2])
    from shequ.core.selectors import unread_count

    return [
        {"label": _("Home"), "url": reverse("core:home"), "icon": "home", "badge": 0},
        *[item for _r, _o, item in ranked[:TAB_SLOTS]],
        {
            "label": _("Messages"),
            "url": reverse("core:inbox"),
            "icon": "inbox",
            "badge": unread_count(user=user) if unread is None else unread,
        },
        {"label": _("Me"), "url": reverse("core:me"), "icon": "user", "badge": 0},
    ]


def tiles_for(user: Viewer) -> list[ShownTile]:
    """The home's service grid: every tile this user may open, with its count where it has one."""
    from shequ.core.permissions import roles_of

    user_roles = roles_of(user)
    shown: list[tuple[int, ShownTile]] = []
    for comp in components():
        allowed = [t for t in comp.tiles if t.allows(user, user_roles)]
        if not allowed:
            continue
        counts = comp.tile_counts(user) if comp.tile_counts and any(t.count for t in allowed) else {}
        for tile in allowed:
            url = _url(tile.url_name, tile.query)
            if url is None:
                continue
            count = counts.get(tile.count) if tile.count else None
            if tile.count and count is None:
                continue  # the app counts nothing of this for the user: not their service
            if tile.hide_zero and not count:
                continue
            tone = tile.tone if count else ""
            shown.append((tile.order, ShownTile(tile.label, url, tile.icon, count, tone, tile.hint)))
    return [tile for _, tile in sorted(shown, key=lambda pair: pair[0])]


def offline_urls() -> list[str]:
    """The pages that work offline (the service worker keeps them and queues their forms)."""
    urls = {_url(e.url_name) for comp in components() for e in comp.nav if e.offline}
    return sorted(u for u in urls if u)


def ledgers_for(user: Viewer) -> list[Ledger]:
    """Every app's ledgers this user may know of (restricted ones only with their grant)."""
    return [ledger for comp in components() for ledger in comp.ledgers if ledger.is_visible_to(user)]


def stats_all() -> dict[str, Stat]:
    """Every app's declared statistics by key."""
    return {stat.key: stat for comp in components() for stat in comp.stats}


def resources_all() -> dict[str, DataResource]:
    """Every app's catalog resources by key."""
    return {res.key: res for comp in components() for res in comp.resources}


def choice_values(choices: Any) -> Callable[[], list[tuple[str, Any]]]:
    """A ``Dimension``'s values from a Django choices class (or its ``.choices`` pairs)."""
    pairs = getattr(choices, "choices", choices)
    return lambda: [(str(value), label) for value, label in pairs]


def keyset_page(rows: Any, region_codes: Sequence[str], after: int, limit: int) -> list[Any]:
    """A ``DataResource.rows`` page: rows in the regions, primary key above ``after``, in order."""
    from shequ.core.permissions import codes_q

    return list(rows.filter(codes_q(region_codes), pk__gt=after).order_by("pk")[: max(limit, 0)])
