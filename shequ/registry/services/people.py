"""People: cleaning their data, registration, moves, death and corrections."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import crypto
from shequ.core import validators as v
from shequ.core.models import Region, User
from shequ.core.outbox import emit
from shequ.registry import addresses, events
from shequ.registry.models import (
    ETHNICITY_ZH,
    Education,
    Ethnicity,
    House,
    Household,
    IdType,
    MaritalStatus,
    Person,
    PersonStatus,
    PoliticalStatus,
    RelationToHead,
    ResidenceRelation,
    ResidenceType,
    Sex,
)
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.pinyin import name_pinyin
from shequ.registry.services._common import (
    _PERSON_REGION_LEVELS,
    Errors,
    _actor_id,
    _add_error,
    _as_date,
    _audit,
    _check_region,
    _choice,
    _choice_values,
    _clean_reason,
    _collect,
    _day,
    _diff,
    _integrity_to_validation,
    _require,
    _text,
    _timeline,
)
from shequ.registry.services._residency import (
    _check_relation,
    _join_household,
    _leave_home,
    _leave_household,
    _lock_person,
    _move_person,
    _place_person,
    _start_residence,
)

# --- People: input ------------------------------------------------------------------------------

PERSON_FIELDS: tuple[str, ...] = (
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
)
_ETHNICITY_BY_NAME = {name: code for code, name in ETHNICITY_ZH.items()} | {
    f"{name}族": code for code, name in ETHNICITY_ZH.items()
}


def _clean_ethnicity(value: Any) -> str:
    text = v.normalize_text(value).replace(" ", "")
    if not text:
        return ""
    if text.isdigit() and len(text) == 1:
        text = f"0{text}"
    if text in _choice_values(Ethnicity):
        return text
    if text in _ETHNICITY_BY_NAME:
        return _ETHNICITY_BY_NAME[text]
    return _choice(text, Ethnicity, "ethnicity")


def _gb11643_layout(id_type: str, number: str) -> bool:
    """Whether the number codes a birth date and sex like a resident ID."""
    if id_type == IdType.RESIDENT_ID:
        return True
    return len(number) == 18 and number[:17].isdigit() and v.is_valid_resident_id(number)


def clean_person_data(data: Mapping[str, Any], *, person: Person | None = None) -> dict[str, Any]:
    """Validate and normalise person fields (see ``PERSON_FIELDS``); all errors at once, by field.

    Without ``person`` this is a new registration (name required, defaults filled in); with it,
    only the given fields are checked, against the person's other values. Birth date and sex
    come from a resident ID number; a different value given alongside it is an error."""
    unknown = sorted(set(data) - set(PERSON_FIELDS))
    if unknown:
        raise ValidationError({key: [_("Unknown field.")] for key in unknown})
    errors: Errors = {}
    out: dict[str, Any] = {}
    partial = person is not None

    def given(field: str) -> bool:
        return field in data or not partial

    if given("name"):
        out["name"] = _collect(errors, "name", lambda: v.clean_person_name(data.get("name")))
    id_type = person.id_type if person is not None else IdType.RESIDENT_ID
    if "id_type" in data:
        id_type = (
            _collect(errors, "id_type", lambda: _choice(data["id_type"], IdType, "id_type", blank=False))
            or id_type
        )
        out["id_type"] = id_type
    elif not partial:
        out["id_type"] = id_type
    number = person.id_number if person is not None else ""
    if "id_number" in data or "id_type" in data:
        raw = data.get("id_number", number)
        number = ""
        if v.normalize_code(raw):
            number = _collect(errors, "id_number", lambda: v.clean_id_number(id_type, raw)) or ""
        out["id_number"] = number
    elif not partial:
        out["id_number"] = ""
    derived_birth: dt.date | None = None
    derived_sex = ""
    if number and _gb11643_layout(id_type, number):
        derived_birth = v.resident_id_birth_date(number)
        derived_sex = v.resident_id_sex(number)
    if given("birth_date") or derived_birth:
        birth = _collect(errors, "birth_date", lambda: _as_date(data.get("birth_date"), "birth_date"))
        if derived_birth and birth and birth != derived_birth:
            _add_error(
                errors, "birth_date", _("The date of birth does not match the ID number."), "id_mismatch"
            )
        out["birth_date"] = derived_birth or birth
    if given("sex") or derived_sex:
        sex = _collect(errors, "sex", lambda: _choice(data.get("sex"), Sex, "sex"))
        if derived_sex and sex and sex != derived_sex:
            _add_error(errors, "sex", _("The sex does not match the ID number."), "id_mismatch")
        out["sex"] = derived_sex or sex or ""
    if given("phone"):
        out["phone"] = _collect(errors, "phone", lambda: v.clean_phone(data.get("phone")))
    if given("ethnicity"):
        out["ethnicity"] = _collect(errors, "ethnicity", lambda: _clean_ethnicity(data.get("ethnicity")))
    if given("nationality"):
        nationality = v.normalize_code(data.get("nationality"))
        if nationality and not (len(nationality) == 3 and nationality.isalpha()):
            _add_error(errors, "nationality", _("Use the three-letter country code, for example CHN."))
        out["nationality"] = nationality
    if given("residence_type"):
        out["residence_type"] = _collect(
            errors,
            "residence_type",
            lambda: _choice(data.get("residence_type"), ResidenceType, "residence_type"),
        ) or (ResidenceType.REGISTERED if not partial else "")
        if partial and not out["residence_type"]:
            _add_error(errors, "residence_type", _("This field is required."), "required")
    if given("hukou_address"):
        out["hukou_address"] = _collect(
            errors, "hukou_address", lambda: _text(data.get("hukou_address"), "hukou_address", 200)
        )
    if given("hukou_region_code"):
        out["hukou_region_code"] = _collect(
            errors, "hukou_region_code", lambda: v.clean_region_code(data.get("hukou_region_code"))
        )
    for field, length in (("work_unit", 100), ("occupation", 50)):
        if given(field):
            out[field] = _collect(errors, field, functools.partial(_text, data.get(field), field, length))
    for field, choices in (
        ("education", Education),
        ("marital_status", MaritalStatus),
        ("political_status", PoliticalStatus),
    ):
        if given(field):
            out[field] = _collect(errors, field, functools.partial(_choice, data.get(field), choices, field))
    if errors:
        raise ValidationError(errors)
    return out


def person_build(cleaned: Mapping[str, Any], *, region: Region, house: House | None = None) -> Person:
    """An unsaved person from ``clean_person_data`` output, pinyin filled in (for bulk imports)."""
    person = Person(**cleaned, region=region, region_code=region.code, house=house)
    person.name_pinyin, person.name_initials = name_pinyin(person.name)
    return person


def _existing_by_id(id_type: str, number: str, exclude_pk: int | None = None) -> Person | None:
    if not number:
        return None
    qs = Person.objects.filter(id_type=id_type, id_number_index=crypto.blind_index(number, "id_number"))
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.only("pk", "status", "region_code").first()


def _refuse_duplicate(existing: Person) -> None:
    if existing.status == PersonStatus.MOVED_OUT:
        raise ValidationError(
            {
                "id_number": ValidationError(
                    _(
                        "This person moved out of the area earlier: "
                        "record their move in instead of registering them again."
                    ),
                    code="moved_out",
                )
            }
        )
    if existing.status == PersonStatus.DECEASED:
        raise ValidationError(
            {
                "id_number": ValidationError(
                    _("A person with this ID number is recorded as deceased."), code="deceased"
                )
            }
        )
    raise ValidationError(
        {
            "id_number": ValidationError(
                _("A person with this ID number is already registered."), code="duplicate_id"
            )
        }
    )


# --- People: services ---------------------------------------------------------------------------


def person_register(
    *,
    actor: User | None,
    data: Mapping[str, Any],
    house: House | None = None,
    region: Region | None = None,
    relation: str = ResidenceRelation.FAMILY,
    since: Any = None,
    household: Household | None = None,
    relation_to_head: str = "",
    request: HttpRequest | None = None,
) -> Person:
    """Register a new person, living in ``house`` (or, without a known house, in ``region``: a
    grid or community). Exactly one person per ID number: someone already known is refused, with
    code ``moved_out`` when their move in should be recorded instead."""
    if house is not None:
        region = house.region
    if region is None:
        raise ValidationError(
            {"house": _("Choose the house the person lives in, or their grid or community.")}
        )
    _check_region(region, _PERSON_REGION_LEVELS)
    _require(
        actor,
        P.EDIT,
        region.code,
        action="registry.person_register",
        object_type="registry.person",
        request=request,
    )
    cleaned = clean_person_data(data)
    relation = _check_relation(relation)
    start = _day(since, "since")
    if household is not None:
        relation_to_head = _choice(relation_to_head, RelationToHead, "relation_to_head", blank=False)
        if relation_to_head == RelationToHead.HEAD:
            raise ValidationError({"relation_to_head": _("The household already has a head.")})
    existing = _existing_by_id(cleaned["id_type"], cleaned["id_number"])
    if existing is not None:
        _refuse_duplicate(existing)
    person = person_build(cleaned, region=region, house=house)
    try:
        with transaction.atomic():
            person.save()
            if house is not None:
                _start_residence(person, house, relation, start, actor)
            if household is not None:
                _join_household(household, person, relation_to_head, start, actor)
            address = house.address if house is not None else addresses.region_prefix(region.code)
            _timeline(
                "person",
                person,
                region.code,
                actor,
                "person.register",
                params={"address": address, "date": str(start)},
            )
            _audit(
                "registry.person_register",
                actor=actor,
                request=request,
                region_code=region.code,
                obj=person,
                fields=[f for f, value in cleaned.items() if value],
            )
            emit(
                events.PersonRegistered(
                    actor_id=_actor_id(actor),
                    person_id=person.pk,
                    region_code=region.code,
                    house_id=house.pk if house else None,
                )
            )
    except IntegrityError as exc:
        raise _integrity_to_validation(exc) from exc
    return person


def person_move_in(
    *,
    actor: User | None,
    person: Person,
    house: House,
    relation: str = ResidenceRelation.FAMILY,
    on: Any = None,
    reason: str = "",
    household: Household | None = None,
    relation_to_head: str = "",
    request: HttpRequest | None = None,
) -> Person:
    """Someone who had moved out of the platform's area lives here again: their record (found by
    ID number, ``selectors.person_for_move_in``) continues, with its history."""
    _require(
        actor,
        P.EDIT,
        house.region_code,
        action="registry.person_move_in",
        object_type="registry.person",
        object_id=person.pk,
        request=request,
    )
    relation = _check_relation(relation)
    day = _day(on, "on")
    reason = _clean_reason(reason, required=False)
    if household is not None:
        relation_to_head = _choice(relation_to_head, RelationToHead, "relation_to_head", blank=False)
    from_code = person.region_code
    with transaction.atomic():
        _lock_person(person, PersonStatus.MOVED_OUT)
        if person.status_date and day < person.status_date:
            raise ValidationError(
                {"on": _("The date is before the person moved out (%(d)s).") % {"d": person.status_date}}
            )
        _place_person(person, house, house.region)
        person.status = PersonStatus.ACTIVE
        person.status_date = day
        person.updated_at = timezone.now()
        person.save(update_fields=["region", "region_code", "house", "status", "status_date", "updated_at"])
        _start_residence(person, house, relation, day, actor)
        if household is not None:
            _join_household(household, person, relation_to_head, day, actor)
        _timeline(
            "person",
            person,
            house.region_code,
            actor,
            "person.move_in",
            params={"address": house.address, "date": str(day)},
            reason=reason,
        )
        _audit(
            "registry.person_move_in",
            actor=actor,
            request=request,
            region_code=house.region_code,
            obj=person,
            reason=reason,
            detail={"from_region": from_code},
        )
        emit(
            events.PersonMovedIn(
                actor_id=_actor_id(actor),
                person_id=person.pk,
                region_code=house.region_code,
                from_region_code=from_code,
                house_id=house.pk,
                on=day,
            )
        )
    return person


def person_move_out(
    *,
    actor: User | None,
    person: Person,
    on: Any = None,
    destination: str = "",
    reason: str = "",
    request: HttpRequest | None = None,
) -> Person:
    """The person left the platform's area. The record stays with the community (status "moved
    out", history kept); its home and household membership end."""
    _require(
        actor,
        P.EDIT,
        person.region_code,
        action="registry.person_move_out",
        object_type="registry.person",
        object_id=person.pk,
        request=request,
    )
    day = _day(on, "on")
    destination = _text(destination, "destination", 200)
    reason = _clean_reason(reason, required=False)
    with transaction.atomic():
        _lock_person(person, PersonStatus.ACTIVE)
        _leave_home(person, day, actor)
        _leave_household(person, day, actor, head_may_leave=False)
        person.house = None
        person.status = PersonStatus.MOVED_OUT
        person.status_date = day
        person.updated_at = timezone.now()
        person.save(update_fields=["house", "status", "status_date", "updated_at"])
        _timeline(
            "person",
            person,
            person.region_code,
            actor,
            "person.move_out",
            params={"destination": destination, "date": str(day)},
            reason=reason,
        )
        _audit(
            "registry.person_move_out",
            actor=actor,
            request=request,
            region_code=person.region_code,
            obj=person,
            reason=reason,
        )
        emit(
            events.PersonMovedOut(
                actor_id=_actor_id(actor), person_id=person.pk, region_code=person.region_code, on=day
            )
        )
    return person


def person_move(
    *,
    actor: User | None,
    person: Person,
    house: House,
    relation: str | None = None,
    on: Any = None,
    reason: str = "",
    household: Household | None = None,
    relation_to_head: str = "",
    request: HttpRequest | None = None,
) -> Person:
    """Move a person to another house on the platform — in the same grid, another grid or another
    community. The record moves with its whole history: the new region sees the person and all of
    it; the old one keeps only what happened while the person lived there, ending in "moved away".

    The releasing side decides: the actor needs ``registry.edit`` where the person lives now. The
    person leaves their household unless the whole household moves (``household_move``)."""
    _require(
        actor,
        P.EDIT,
        person.region_code,
        action="registry.person_move",
        object_type="registry.person",
        object_id=person.pk,
        request=request,
    )
    day = _day(on, "on")
    reason = _clean_reason(reason, required=False)
    if household is not None:
        relation_to_head = _choice(relation_to_head, RelationToHead, "relation_to_head", blank=False)
    with transaction.atomic():
        _lock_person(person, PersonStatus.ACTIVE)
        if person.house_id == house.pk:
            raise ValidationError({"house": _("The person already lives in this house.")})
        _leave_household(person, day, actor, head_may_leave=False)
        _move_person(person, house, day, actor, relation=relation, reason=reason, request=request)
        if household is not None:
            _join_household(household, person, relation_to_head, day, actor)
    return person


def person_record_death(
    *, actor: User | None, person: Person, on: Any, reason: str = "", request: HttpRequest | None = None
) -> Person:
    """Record a death: the home and household membership end (a household whose head died keeps
    its other members and waits for a new head); the record and its history stay."""
    _require(
        actor,
        P.EDIT,
        person.region_code,
        action="registry.person_death",
        object_type="registry.person",
        object_id=person.pk,
        request=request,
    )
    day = _as_date(on, "on", required=True)
    assert day is not None
    if person.birth_date and day < person.birth_date:
        raise ValidationError({"on": _("The date is before the date of birth.")})
    reason = _clean_reason(reason, required=False)
    with transaction.atomic():
        _lock_person(person, PersonStatus.ACTIVE, PersonStatus.MOVED_OUT)
        _leave_home(person, day, actor)
        _leave_household(person, day, actor, head_may_leave=True)
        person.house = None
        person.status = PersonStatus.DECEASED
        person.status_date = day
        person.updated_at = timezone.now()
        person.save(update_fields=["house", "status", "status_date", "updated_at"])
        _timeline(
            "person",
            person,
            person.region_code,
            actor,
            "person.death",
            params={"date": str(day)},
            reason=reason,
        )
        _audit(
            "registry.person_death",
            actor=actor,
            request=request,
            region_code=person.region_code,
            obj=person,
            reason=reason,
        )
        emit(
            events.PersonDied(
                actor_id=_actor_id(actor), person_id=person.pk, region_code=person.region_code, on=day
            )
        )
    return person


def person_correct(
    *,
    actor: User | None,
    person: Person,
    changes: Mapping[str, Any],
    reason: str,
    request: HttpRequest | None = None,
) -> Person:
    """Correct a person's fields (name, ID, phone, ethnicity, residence type, work …) with a
    reason; the timeline keeps old → new with ID and phone numbers masked."""
    _require(
        actor,
        P.EDIT,
        person.region_code,
        action="registry.person_correct",
        object_type="registry.person",
        object_id=person.pk,
        request=request,
    )
    reason = _clean_reason(reason, required=True)
    if not changes:
        raise ValidationError(_("Nothing to change."))
    cleaned = clean_person_data(changes, person=person)
    before = {field: getattr(person, field) for field in cleaned}
    diff = _diff(before, cleaned)
    if not diff:
        raise ValidationError(_("The new values are the same as the current ones."))
    if "id_number" in diff or "id_type" in diff:
        existing = _existing_by_id(
            cleaned.get("id_type", person.id_type),
            cleaned.get("id_number", person.id_number),
            exclude_pk=person.pk,
        )
        if existing is not None:
            raise ValidationError(
                {
                    "id_number": ValidationError(
                        _("Another person is registered with this ID number."), code="duplicate_id"
                    )
                }
            )
    for field in diff:
        setattr(person, field, cleaned[field])
    fields = list(diff)
    if "name" in diff:
        person.name_pinyin, person.name_initials = name_pinyin(person.name)
        fields += ["name_pinyin", "name_initials"]
    person.updated_at = timezone.now()
    try:
        with transaction.atomic():
            _lock_person(person)
            person.save(update_fields=[*fields, "updated_at"])
            _timeline(
                "person",
                person,
                person.region_code,
                actor,
                "person.correct",
                params={"fields": sorted(diff)},
                changes=diff,
                reason=reason,
            )
            _audit(
                "registry.person_correct",
                actor=actor,
                request=request,
                region_code=person.region_code,
                obj=person,
                fields=diff,
                reason=reason,
            )
            emit(
                events.PersonCorrected(
                    actor_id=_actor_id(actor),
                    person_id=person.pk,
                    region_code=person.region_code,
                    fields=sorted(diff),
                )
            )
    except IntegrityError as exc:
        raise _integrity_to_validation(exc) from exc
    return person
