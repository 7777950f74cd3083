"""The evacuation-assistance list (一对一包保) of a warning: every vulnerable person of its area with
address, needs and the people responsible for helping them leave — their helpers (``AssistanceLink``)
and, always, the grid worker of their grid.

``assistance_people`` is a platform read (a call-out to the assistance list uses it); pages call
``assistance_list_for``, which keeps to the viewer's ``emergency.assist`` regions (a grid worker sees
their grid's people of a community's warning) and audits the opening with the count. Names are
shown to the scoped staff; ID numbers never; helpers' numbers masked; restricted tags never (the
registry's ``vulnerable_people`` keeps to normal-sensitivity care tags).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.http import Http404, HttpRequest

from shequ.core import audit
from shequ.core.models import common_region_code
from shequ.core.permissions import Viewer, has_perm, scopes_for
from shequ.core.personal import mask_phone
from shequ.core.selectors import region_names, region_staff
from shequ.emergency.models import AssistanceLink, HelperRelation, Warning, WarningStatus
from shequ.emergency.permissions import EmergencyPerm
from shequ.registry import outreach


@dataclass(frozen=True)
class Helper:
    name: str
    relation: str  # a HelperRelation value
    user_id: int | None
    link_id: int | None
    phone: str = ""  # masked

    @property
    def relation_label(self) -> str:
        return str(HelperRelation(self.relation).label) if self.relation in HelperRelation.values else ""


@dataclass(frozen=True)
class AssistanceRow:
    person_id: int
    name: str
    region_code: str
    place: str
    birth_year: int | None
    needs: tuple[tuple[str, str, str], ...]
    helpers: tuple[Helper, ...]
    need_words: tuple[str, ...] = ()
    grid_name: str = ""

    @property
    def own_helpers(self) -> tuple[Helper, ...]:
        """The helpers named for this person (一对一包保), not the grid worker who helps everyone."""
        return tuple(h for h in self.helpers if h.link_id is not None)


def assistance_people(*, warning: Warning) -> list[AssistanceRow]:
    """Each vulnerable person of the warning's area with their helpers (grid worker last)."""
    return people_with_helpers(warning.area_codes or [warning.region_code])


def people_with_helpers(region_codes: Sequence[str]) -> list[AssistanceRow]:
    """Each vulnerable person under ``region_codes`` with their helpers (grid worker last). A
    platform read: the caller checks access."""
    people = outreach.vulnerable_people(region_codes=list(region_codes))
    links: dict[int, list[AssistanceLink]] = {}
    for link in AssistanceLink.objects.filter(
        person_id__in=[p.person_id for p in people], active=True
    ).select_related("helper_user"):
        links.setdefault(link.person_id, []).append(link)
    grid_workers: dict[str, list[Helper]] = {}
    names = region_names({p.region_code for p in people})
    rows = []
    for person in people:
        if person.region_code not in grid_workers:
            grid_workers[person.region_code] = [
                Helper(u.name, "grid_worker", u.pk, None)
                for u in region_staff(person.region_code, EmergencyPerm.ASSIST, exact=True)
            ]
        own = [
            Helper(
                link.helper_label,
                link.relation,
                link.helper_user_id,
                link.pk,
                mask_phone(link.helper_phone) if link.helper_phone else "",
            )
            for link in links.get(person.person_id, [])
        ]
        named = {h.user_id for h in own if h.user_id}
        helpers = own + [h for h in grid_workers[person.region_code] if h.user_id not in named]
        rows.append(
            AssistanceRow(
                person.person_id,
                person.name,
                person.region_code,
                person.place,
                person.birth_year,
                person.needs,
                tuple(helpers),
                tuple(outreach.need_labels(person.needs)),
                names.get(person.region_code, ""),
            )
        )
    return rows


# --- Pages: scoped to the viewer and audited ------------------------------------------------------


def _overlap(area: Sequence[str], scopes: Sequence[str]) -> list[str]:
    """The parts of ``area`` inside ``scopes``: an area code under a scope, or a scope under an
    area code (a grid worker's grid of a community's warning)."""
    found = set()
    for a in area:
        for s in scopes:
            if a.startswith(s):
                found.add(a)
            elif s.startswith(a):
                found.add(s)
    return sorted(c for c in found if not any(c != o and c.startswith(o) for o in found))


def assist_warning_get_for(viewer: Viewer, pk: Any) -> Warning:
    """A warning (not a discarded draft) whose area holds regions of the viewer's
    ``emergency.assist`` scope; 404 otherwise."""
    scopes = scopes_for(viewer, EmergencyPerm.ASSIST)
    if not scopes or not str(pk).isdigit():
        raise Http404
    near = Q(pk__in=[])
    for s in scopes:
        near |= Q(region_code__startswith=s) | Q(region_code__in=[s[:n] for n in range(2, len(s))])
    warning = Warning.objects.filter(near, pk=pk).exclude(status=WarningStatus.DISCARDED).first()
    if warning is None or not _overlap(warning.area_codes or [warning.region_code], scopes):
        raise Http404
    return warning


def _read(
    viewer: Viewer,
    rows: list[AssistanceRow],
    region_code: str,
    object_id: Any,
    request: HttpRequest | None,
    **detail: Any,
) -> None:
    audit.record(
        "emergency.assistance_read",
        actor=viewer,
        request=request,
        region_code=region_code,
        object_type="emergency.warning" if object_id else "emergency.assistance",
        object_id=object_id or region_code,
        fields=["name", "address", "needs"],
        detail={"count": len(rows), "people": [r.person_id for r in rows[:50]], **detail},
    )


def assistance_list_for(
    *, viewer: Viewer, warning: Warning | None = None, request: HttpRequest | None = None, export: str = ""
) -> list[AssistanceRow]:
    """The assistance list the viewer may read — of a warning's area, or of all their regions —
    limited to their ``emergency.assist`` regions, and the opening audited with the count."""
    scopes = scopes_for(viewer, EmergencyPerm.ASSIST)
    codes = _overlap(warning.area_codes or [warning.region_code], scopes) if warning else scopes
    rows = people_with_helpers(codes) if codes else []
    region = warning.region_code if warning else common_region_code(list(scopes))
    extra = {"export": export} if export else {}
    _read(viewer, rows, region, warning.pk if warning else "", request, **extra)
    return rows


def assistance_person_for(viewer: Viewer, person_id: Any, perm: str = EmergencyPerm.HELPERS) -> AssistanceRow:
    """One person of the assistance list in the viewer's ``perm`` regions; 404 otherwise (a person
    of a sibling community, or someone not on the list, looks the same as no one)."""
    region = outreach.vulnerable_person_region(int(person_id)) if str(person_id).isdigit() else None
    if region is None or not has_perm(viewer, perm, region):
        raise Http404
    found = next((r for r in people_with_helpers([region]) if r.person_id == int(person_id)), None)
    if found is None:
        raise Http404
    return found


def helper_link_for(person: AssistanceRow, link_id: Any) -> AssistanceLink:
    """An active helper of a person the caller got from ``assistance_person_for``; 404 otherwise."""
    link = (
        AssistanceLink.objects.filter(pk=link_id, person_id=person.person_id, active=True).first()
        if str(link_id).isdigit()
        else None
    )
    if link is None:
        raise Http404
    return link
