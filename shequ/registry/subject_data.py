"""What the registry holds about one person, for that person (PIPL rights of access and copy).

Scoped by the person, not by a viewer: the caller has established that the reader is the person
themselves (their account linked through ``selectors.person_for_account``) or staff answering that
person's request in their region. Population tags are given as the person may see them: care tags
(normal sensitivity) in full; restricted and secret ones (community correction, drug use, mental
disorder …) are kept by the police, judicial or health departments under their own laws, so only
their number is given with where to ask — never their category or detail.

Reveals: staff who showed the person's full ID or mobile number wrote a ``personal.reveal`` entry
on the person (``views_people.person_reveal``); those entries are listed here. A bulk export with
full values writes one entry for the whole export (``exports``), not one per person: those are not
in this list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from shequ.core.models import AuditEntry, AuditResult
from shequ.core.personal import mask_name
from shequ.registry.models import HouseholdMember, Person, PersonTag, Residence, Sensitivity

PERSON_OBJECT = "registry.person"
REVEAL_ACTION = "personal.reveal"
# The person's own fields as the registry keeps them (the order of the copy's first sheet).
PERSON_COPY_FIELDS: tuple[str, ...] = (
    "name",
    "id_type",
    "id_number",
    "birth_date",
    "sex",
    "phone",
    "ethnicity",
    "nationality",
    "residence_type",
    "hukou_address",
    "hukou_region_code",
    "work_unit",
    "occupation",
    "education",
    "marital_status",
    "political_status",
    "status",
    "status_date",
)


@dataclass
class Section:
    """One table of a person's data: a title, column titles and rows of values."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""


@dataclass(frozen=True)
class Reveal:
    at: dt.datetime
    fields: tuple[str, ...]  # the fields' names in words
    role: str
    region_code: str
    reason: str


def subject_person(person_id: int) -> Person | None:
    return Person.objects.select_related("house", "region").filter(pk=person_id).first()


def field_label(name: str) -> str:
    return str(getattr(Person._meta.get_field(name), "verbose_name", name))


def _display(person: Person, name: str) -> Any:
    value = getattr(person, name)
    getter = getattr(person, f"get_{name}_display", None)
    if getter is not None and value:
        return str(getter())
    return value if value not in (None, "") else ""


def _person_section(person: Person) -> Section:
    rows = [[field_label(name), _display(person, name)] for name in PERSON_COPY_FIELDS]
    rows.append([_("current home"), person.house.address if person.house else ""])
    return Section("person", _("Personal data"), [_("Item"), pgettext("copy column", "Value")], rows)


def _residence_section(person: Person) -> Section:
    rows = [
        [
            r.house.address,
            r.get_relation_display(),
            _("yes") if r.lives_here else _("no"),
            r.start_date,
            r.end_date,
        ]
        for r in Residence.objects.filter(person=person).select_related("house").order_by("start_date", "pk")
    ]
    columns = [_("Address"), _("Relation"), _("Lives here"), _("From"), _("Until")]
    return Section("residences", _("Residence"), columns, rows)


def _household_section(person: Person) -> Section:
    rows = []
    memberships = HouseholdMember.objects.filter(person=person).select_related("household", "household__head")
    for m in memberships.order_by("start_date", "pk"):
        household = m.household
        head = household.head
        # The head is another person unless it is the resident: their name masked (张*丰).
        head_name = "" if head is None else (_("yourself") if head.pk == person.pk else mask_name(head.name))
        rows.append(
            [
                household.number,
                household.get_kind_display(),
                head_name,
                m.get_relation_to_head_display(),
                m.start_date,
                m.end_date,
            ]
        )
    columns = [_("Household number"), _("Kind"), _("Head"), _("Relation to the head"), _("From"), _("Until")]
    return Section("household", _("Household"), columns, rows)


def _tag_section(person: Person) -> Section:
    tags = list(
        PersonTag.objects.filter(person=person).select_related("category").order_by("valid_from", "pk")
    )
    shown = [t for t in tags if t.category.sensitivity == Sensitivity.NORMAL]
    withheld = len(tags) - len(shown)
    rows = [
        [
            t.category.label,
            t.subtype,
            t.grade,
            t.get_source_display(),
            t.valid_from,
            t.valid_to,
            _("yes") if t.active else _("no"),
        ]
        for t in shown
    ]
    columns = [
        _("Tag"),
        _("Subtype"),
        _("Grade"),
        _("Source"),
        _("Valid from"),
        _("Valid until"),
        _("Current"),
    ]
    note = ""
    if withheld:
        note = _(
            "%(n)d further entries are kept by the police, judicial or health departments under their own "
            "laws and are not listed here: ask the department concerned."
        ) % {"n": withheld}
    return Section("tags", _("Population tags"), columns, rows, note=note)


def subject_sections(person: Person) -> list[Section]:
    """The registry's data about ``person`` as tables: personal data, residence, household, tags."""
    return [
        _person_section(person),
        _residence_section(person),
        _household_section(person),
        _tag_section(person),
    ]


def reveals_of(person_ids: Sequence[int], *, limit: int = 200) -> list[Reveal]:
    """Staff reveals of these people's full ID or mobile number (successful ones), newest first."""
    if not person_ids:
        return []
    rows = AuditEntry.objects.filter(
        action=REVEAL_ACTION,
        object_type=PERSON_OBJECT,
        object_id__in=[str(pk) for pk in person_ids],
        result=AuditResult.SUCCESS,
    ).order_by("-id")[:limit]
    out = []
    for entry in rows:
        names = tuple(
            field_label(name) if name in PERSON_COPY_FIELDS else name for name in (entry.fields or [])
        )
        out.append(Reveal(entry.at, names, entry.role, entry.region_code, entry.reason))
    return out
