"""The evacuation-assistance list (一对一包保) of a warning: every vulnerable person of its area with
address, needs and the people responsible for helping them leave — their helpers (``AssistanceLink``)
and, always, the grid worker of their grid.

A platform read: pages call ``assistance_list_for`` (services/assistance_views), which checks
``emergency.assist`` and audits the opening.
"""

from __future__ import annotations

from dataclasses import dataclass

from shequ.core.selectors import region_staff
from shequ.emergency.models import AssistanceLink, Warning
from shequ.emergency.permissions import EmergencyPerm
from shequ.registry import outreach


@dataclass(frozen=True)
class Helper:
    name: str
    relation: str  # a HelperRelation value
    user_id: int | None
    link_id: int | None


@dataclass(frozen=True)
class AssistanceRow:
    person_id: int
    name: str
    region_code: str
    place: str
    birth_year: int | None
    needs: tuple[tuple[str, str, str], ...]
    helpers: tuple[Helper, ...]


def assistance_people(*, warning: Warning) -> list[AssistanceRow]:
    """Each vulnerable person of the warning's area with their helpers (grid worker last)."""
    people = outreach.vulnerable_people(region_codes=warning.area_codes or [warning.region_code])
    links: dict[int, list[AssistanceLink]] = {}
    for link in AssistanceLink.objects.filter(
        person_id__in=[p.person_id for p in people], active=True
    ).select_related("helper_user"):
        links.setdefault(link.person_id, []).append(link)
    grid_workers: dict[str, list[Helper]] = {}
    rows = []
    for person in people:
        if person.region_code not in grid_workers:
            grid_workers[person.region_code] = [
                Helper(u.name, "grid_worker", u.pk, None)
                for u in region_staff(person.region_code, EmergencyPerm.ASSIST, exact=True)
            ]
        own = [
            Helper(link.helper_label, link.relation, link.helper_user_id, link.pk)
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
            )
        )
    return rows
