"""Reads of the ledgers (台账) every app declares in its manifest, always scoped by the viewer: which
ledgers a user may know of (grouped by app), the regions they may pick, who may export or reveal,
the rows of a page, and the generated runs and schedules of the viewer's area."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from shequ.core.components import LEDGER_REGION, Ledger, components
from shequ.core.models import Region
from shequ.core.permissions import Perm, Viewer, active_memberships, codes_q, has_perm, scopes_for
from shequ.reports.ledger_workbook import region_title
from shequ.reports.models import LedgerRun, LedgerSchedule
from shequ.reports.permissions import ReportPerm as P

REGION_OPTIONS_MAX = 1000
WIDE = 24  # columns this wide in Excel (addresses, notes) wrap on the page
_CODE = re.compile(r"^\d{2}(\d{2}(\d{2}(\d{3}(\d{3}(\d{3})?)?)?)?)?$")
_LEVEL_LENGTHS = (2, 4, 6, 9, 12, 15)


@dataclass(frozen=True)
class AppLedgers:
    """One app's ledgers on the index."""

    name: str
    label: str | Promise
    ledgers: list[Ledger]


# --- Which ledgers ------------------------------------------------------------------------------


def all_ledgers() -> dict[str, Ledger]:
    """Every declared ledger by key (keys are unique across apps: the manifest test checks)."""
    return {ledger.key: ledger for comp in components() for ledger in comp.ledgers}


def ledgers_by_app(user: Viewer) -> list[AppLedgers]:
    """The ledgers this user may know of, per app in the apps' order (restricted ones only with
    their grant)."""
    groups = []
    for comp in components():
        shown = [ledger for ledger in comp.ledgers if ledger.is_visible_to(user)]
        if shown:
            groups.append(AppLedgers(comp.name, comp.label, shown))
    return groups


def ledger_lookup(user: Viewer, key: str) -> Ledger | None:
    """The ledger ``key`` if the user may know it exists (None for unknown and hidden restricted
    ones: they answer 404, as if they did not exist)."""
    ledger = all_ledgers().get(key)
    if ledger is None or (ledger.restricted and not ledger.is_visible_to(user)):
        return None
    return ledger


def view_perms(ledger: Ledger) -> tuple[str, ...]:
    """The permission whose scope bounds the ledger's regions."""
    return (ledger.perm,) if ledger.perm else (P.VIEW,)


def export_perm(ledger: Ledger) -> str:
    return ledger.export_perm or P.LEDGERS


# --- Regions ------------------------------------------------------------------------------------


def top_scopes(user: Viewer, perms: Iterable[str]) -> list[str]:
    """The user's scopes for any of ``perms``, without those inside another."""
    codes = {c for perm in perms for c in scopes_for(user, perm)}
    return sorted(c for c in codes if not any(c != o and c.startswith(o) for o in codes))


def region_options(user: Viewer, perms: Iterable[str]) -> list[tuple[str, str]]:
    """The regions a user may pick (their scopes and everything below, down to grids), labelled
    with the path from their scope ("泽盛社区 › 第一网格": grid names repeat between communities)."""
    scopes = top_scopes(user, perms)
    if not scopes:
        return []
    q = Q()
    for code in scopes:
        q |= Q(code__startswith=code)
    found = list(Region.objects.filter(q).order_by("code").values_list("code", "name")[:REGION_OPTIONS_MAX])
    names = dict(found)
    options = [("", _("All of my area"))]
    for code, _name in found:
        top = next(s for s in scopes if code.startswith(s))
        parts = [names[code[:n]] for n in _LEVEL_LENGTHS if len(top) <= n <= len(code) and code[:n] in names]
        options.append((code, " › ".join(parts)))
    return options


def clean_region_code(user: Viewer, perms: Iterable[str], value: str) -> str:
    """A region code inside the user's scope ('' = all of it); a clear error otherwise."""
    code = (value or "").strip()
    if not code:
        return ""
    scopes = top_scopes(user, perms)
    if not _CODE.match(code) or not any(code.startswith(s) for s in scopes):
        raise ValidationError(_("Choose a region within your area."), code="region_scope")
    if not Region.objects.filter(code=code).exists():
        raise ValidationError(_("There is no region with this code."), code="region_unknown")
    return code


def default_region(request: HttpRequest, perms: Iterable[str]) -> str:
    """The region the user is working in (the region bar's choice), if it lies in these scopes."""
    chosen = str(request.session.get("current_region", "") or "")
    if chosen and any(chosen.startswith(s) for s in top_scopes(request.user, perms)):
        return chosen
    return ""


def area_codes(user: Viewer, ledger: Ledger, filters: dict[str, Any]) -> list[str]:
    """The regions a ledger's rows come from: the chosen one, or all of the user's area."""
    region = filters.get(LEDGER_REGION) or ""
    return [region] if region else top_scopes(user, view_perms(ledger))


def single_area(codes: Sequence[str]) -> str:
    """The one region code of an area ('' when it spans several)."""
    return codes[0] if len(codes) == 1 else ""


# --- Who may export -----------------------------------------------------------------------------


def covers(user: Viewer, perm: str, codes: Sequence[str]) -> bool:
    return bool(codes) and all(has_perm(user, perm, code) for code in codes)


def can_export(user: Viewer, ledger: Ledger, codes: Sequence[str]) -> bool:
    return covers(user, export_perm(ledger), codes)


def can_reveal(user: Viewer, ledger: Ledger, codes: Sequence[str]) -> bool:
    """Whether the user may export the full values of the ledger's personal fields here."""
    if not ledger.reveal_perm or not ledger.reveal_fields:
        return False
    return covers(user, ledger.reveal_perm, codes) and covers(user, Perm.REVEAL_PERSONAL_DATA, codes)


def unit_of(user: Viewer) -> str:
    """Where the exporter works, for the watermark: their department, or their region."""
    memberships = sorted(active_memberships(user), key=lambda m: len(m.region_code))
    for m in memberships:
        if m.department is not None:
            return str(m.department.name)
    return region_title([memberships[0].region_code]) if memberships else ""


def person_name(user: Viewer) -> str:
    return getattr(user, "name", "") or user.get_username()


# --- Rows on a page -----------------------------------------------------------------------------

_LINKED = ("name", "head")


def _person_url() -> Any:
    """Links to person pages when the people pages exist (``registry:person``)."""
    try:
        reverse("registry:person", args=[1])
    except NoReverseMatch:
        return None
    return lambda pk: reverse("registry:person", args=[pk])


def display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def table(ledger: Ledger, objects: list[Any], filters: dict[str, Any], first: int) -> list[dict[str, Any]]:
    """The page's rows, masked; a row's ``_person`` (a registry person) links its name."""
    link = _person_url()
    rows = []
    for n, obj in enumerate(objects, start=first):
        row = ledger.row(obj, filters, False)
        person = row.get("_person")
        cells = [
            {
                "value": display(row.get(c.key)),
                "url": link(person) if link and person and c.key in _LINKED else "",
                "wide": c.width >= WIDE,
            }
            for c in ledger.columns
        ]
        rows.append({"n": n, "cells": cells})
    return rows


# --- Runs and schedules -------------------------------------------------------------------------


def _ledgers_q(user: Viewer) -> Q:
    """Runs and schedules of ledgers the user may see, where they may export them (a run is a
    file: who may only read the ledger's page does not see its files)."""
    q = Q(pk__in=[])
    for ledger in all_ledgers().values():
        if ledger.is_visible_to(user):
            q |= Q(ledger_key=ledger.key) & codes_q(top_scopes(user, [export_perm(ledger)]))
    return q


def run_list(*, viewer: Viewer, ledger_key: str = "") -> QuerySet[LedgerRun]:
    """Generated runs the viewer may download, newest first. Runs of a ledger that needs a grant
    (restricted, or by tag) are listed to the person they were made for only."""
    qs = LedgerRun.objects.filter(_ledgers_q(viewer)).select_related("region", "requested_by", "schedule")
    personal = [k for k, ledger in all_ledgers().items() if ledger.restricted or ledger.visible is not None]
    qs = qs.exclude(Q(ledger_key__in=personal) & ~Q(requested_by_id=getattr(viewer, "pk", None)))
    if ledger_key:
        qs = qs.filter(ledger_key=ledger_key)
    return qs.order_by("-created_at", "-pk")


def run_get_for(viewer: Viewer, pk: Any) -> LedgerRun:
    run = run_list(viewer=viewer).filter(pk=pk).first() if str(pk).isdigit() else None
    if run is None:
        raise Http404
    return run


def schedule_list(*, viewer: Viewer) -> QuerySet[LedgerSchedule]:
    """Active schedules of ledgers the viewer may see and export, in the regions they may export
    them (a person also sees the others' schedules there)."""
    return (
        LedgerSchedule.objects.filter(_ledgers_q(viewer), active=True)
        .select_related("region", "owner")
        .order_by("ledger_key", "region_code", "pk")
    )


def schedule_get_for(viewer: Viewer, pk: Any) -> LedgerSchedule:
    found = schedule_list(viewer=viewer).filter(pk=pk).first() if str(pk).isdigit() else None
    if found is None:
        raise Http404
    return found
