"""Checking people rows."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from shequ.core import validators as v
from shequ.core.permissions import has_perm
from shequ.core.spreadsheets import (
    DamagedNumber,
    PartialDate,
    Row,
    cell_text,
    id_text,
    is_blank,
    parse_date,
    phone_text,
)
from shequ.registry import services
from shequ.registry.imports._common import CHECK_CHUNK, _apply_errors, _bad_date, _choice_error, _region_name
from shequ.registry.imports.columns import choice_value
from shequ.registry.imports.places import HouseIndex, HouseRef, _resolve_house
from shequ.registry.models import (
    Education,
    IdType,
    MaritalStatus,
    Person,
    PersonStatus,
    PoliticalStatus,
    ResidenceRelation,
    ResidenceType,
    Sex,
)
from shequ.registry.permissions import RegistryPerm as P

# --- Checking: people ---------------------------------------------------------------------------


@dataclass
class PersonPlan:
    number: int
    cleaned: dict[str, Any]
    house: HouseRef | None
    relation: str
    since: dt.date
    id_index: str = ""  # the blind index of the ID number, from the duplicate check


_PERSON_CHOICE_FIELDS: dict[str, type[models.TextChoices]] = {
    "id_type": IdType,
    "sex": Sex,
    "residence_type": ResidenceType,
    "education": Education,
    "marital_status": MaritalStatus,
    "political_status": PoliticalStatus,
}


def _check_person(
    row: Row, exact_ids: Mapping[int, Any], index: HouseIndex, today: dt.date
) -> PersonPlan | None:
    data: dict[str, Any] = {}
    for key in services.PERSON_FIELDS:
        if (
            key in row.cells
            and key not in ("id_number", "birth_date", "phone")
            and not is_blank(row.cells[key])
        ):
            choices = _PERSON_CHOICE_FIELDS.get(key)
            data[key] = choice_value(choices, row.cells[key]) if choices else cell_text(row.cells[key])
    if is_blank(row.cells.get("id_number")):
        row.add("id_number", _("Enter the ID number: every person needs one."), "required")
    else:
        try:
            data["id_number"] = id_text(row.cells["id_number"], exact_ids.get(row.index))
        except DamagedNumber:
            row.add(
                "id_number",
                _(
                    "Excel stored this ID number as a number and kept only its first 15 digits; the rest "
                    "cannot be recovered. Format the column as text and type the number again."
                ),
                "id_number_damaged",
            )
    if "phone" in row.cells:
        data["phone"] = phone_text(row.cells["phone"])
    partial: PartialDate | None = None
    if not is_blank(row.cells.get("birth_date")):
        try:
            born = parse_date(row.cells["birth_date"])
        except ValueError:
            born = None
            row.add("birth_date", _bad_date(), "bad_date")
        if isinstance(born, PartialDate):
            partial = born
        elif born is not None:
            data["birth_date"] = born.isoformat()
    if row.problems and "id_number" not in data:
        # Without a usable ID number the rest is still checked, so every problem shows at once.
        data["id_number"] = ""
    try:
        cleaned = services.clean_person_data(data)
    except ValidationError as exc:
        _apply_errors(row, exc)
        cleaned = None
    if cleaned is not None and cleaned.get("id_number"):
        row.key = (cleaned["id_type"], cleaned["id_number"])
    elif data.get("id_number"):
        id_type = data.get("id_type") or IdType.RESIDENT_ID
        if id_type in IdType.values:
            with contextlib.suppress(ValidationError):  # reported by clean_person_data
                row.key = (id_type, v.clean_id_number(id_type, data["id_number"]))
    if cleaned is not None and partial is not None:
        derived = cleaned.get("birth_date")
        if derived is None:
            row.add("birth_date", _("Give the full date of birth (year, month and day)."), "partial_date")
        elif not partial.matches(derived):
            row.add("birth_date", _("The date of birth does not match the ID number."), "id_mismatch")
    relation = ResidenceRelation.FAMILY
    if not is_blank(row.cells.get("relation")):
        relation_text = choice_value(ResidenceRelation, row.cells["relation"])
        if relation_text in ResidenceRelation.values:
            relation = ResidenceRelation(relation_text)
        else:
            row.add("relation", _choice_error(relation_text, ResidenceRelation), "invalid_choice")
    since = today
    if not is_blank(row.cells.get("since")):
        try:
            parsed = parse_date(row.cells["since"])
        except ValueError:
            parsed = None
            row.add("since", _bad_date(), "bad_date")
        if isinstance(parsed, PartialDate):
            row.add("since", _("Give the full date (year, month and day)."), "partial_date")
        elif parsed is not None:
            if parsed > today:
                row.add("since", _("The date cannot be in the future."), "future_date")
            elif parsed.year < v.OLDEST_BIRTH_YEAR:
                row.add("since", _("The date is too far in the past."), "bad_date")
            else:
                since = parsed
    house = _resolve_house(row, index)
    if row.problems or cleaned is None:
        return None
    if not cleaned.get("id_number"):
        row.add("id_number", _("Enter the ID number: every person needs one."), "required")
        return None
    if house is not None and cleaned.get("birth_date") and since < cleaned["birth_date"]:
        since = cleaned["birth_date"]
    return PersonPlan(number=row.number, cleaned=cleaned, house=house, relation=relation, since=since)


def _people_in_db(rows: Sequence[Row], actor: Any, plans: Mapping[int, PersonPlan]) -> set[int]:
    """Rows whose person is already registered. Inside the importer's scope the message says where;
    outside it, only that the person is registered in another community."""
    from shequ.core import crypto

    wanted: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        if row.key:
            id_type, number = row.key
            index = crypto.blind_index(number, "id_number")
            wanted[(index, id_type)].append(row)
            if row.number in plans:
                plans[row.number].id_index = index
    bad: set[int] = set()
    names: dict[str, str] = {}
    keys = list(wanted)
    for start in range(0, len(keys), CHECK_CHUNK):
        chunk = keys[start : start + CHECK_CHUNK]
        found = Person.objects.filter(id_number_index__in=[k[0] for k in chunk]).values_list(
            "id_number_index", "id_type", "status", "region_code"
        )
        for index, id_type, status, region_code in found:
            numbers = wanted.get((index, id_type))
            if not numbers:
                continue
            visible = actor is None or has_perm(actor, P.VIEW_PEOPLE, region_code)
            if status == PersonStatus.MOVED_OUT:
                message, code = (
                    _(
                        "This person moved out of the area earlier: record their move in instead of "
                        "importing them again."
                    ),
                    "moved_out",
                )
            elif not visible:
                message, code = (
                    _("A person with this ID number is already registered in another community."),
                    "registered_elsewhere",
                )
            elif status == PersonStatus.DECEASED:
                message, code = _("A person with this ID number is recorded as deceased."), "deceased"
            else:
                message, code = (
                    _("A person with this ID number is already registered here (%(region)s).")
                    % {"region": _region_name(region_code, names)},
                    "duplicate_id",
                )
            for row in numbers:
                row.add("id_number", message, code)
                bad.add(row.number)
    return bad
