"""Every write to the registry: validated input in, one transaction, an audit entry, a timeline
entry per changed object (nothing is silently overwritten), a domain event out.

``actor=None`` is the platform itself (imports run by an operator, the demo generator). Anyone
else needs the registry permission in the region of what they change: a grid worker in their
grid, a community worker in their community. Refusals are audited and raise ``PermissionDenied``;
bad input raises ``ValidationError`` with a message per field and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit, crypto
from shequ.core.accounts import check_grantor
from shequ.core.models import AuditResult, Region, RegionLevel
from shequ.core.outbox import emit
from shequ.core.permissions import ADMIN_ROLES, active_memberships, has_perm, scopes_for
from shequ.core.personal import mask_id_number, mask_phone
from shequ.core.text import clean_text
from shequ.registry import addresses, events
from shequ.registry import validators as v
from shequ.registry.models import (
    ETHNICITY_ZH,
    Building,
    BuildingType,
    Education,
    Ethnicity,
    House,
    Household,
    HouseholdKind,
    HouseholdMember,
    HouseUse,
    IdType,
    KeyPlace,
    KeyPlaceKind,
    MaritalStatus,
    Organization,
    OrganizationStatus,
    OrganizationType,
    Person,
    PersonStatus,
    PersonTag,
    PoliticalStatus,
    PropertyType,
    RelationToHead,
    Residence,
    ResidenceRelation,
    ResidenceType,
    RiskLevel,
    Road,
    Sensitivity,
    Sex,
    TagCategory,
    TagGrant,
    TagSource,
    TimelineEntry,
    Unit,
    Visit,
    VisitPurpose,
)
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.pinyin import name_pinyin
from shequ.registry.selectors import can_view_tag, forget_grants

REASON_MAX_LENGTH = 500
NOTE_MAX_LENGTH = 2000
# How long a tag grant may run before it must be renewed.
GRANT_MAX_DAYS = 366
_PERSON_REGION_LEVELS = {RegionLevel.GRID, RegionLevel.COMMUNITY}
_ROAD_REGION_LEVELS = {RegionLevel.STREET, RegionLevel.COMMUNITY}
# Fields whose values the timeline shows masked.
_MASKERS: dict[str, Callable[[str], str]] = {
    "id_number": mask_id_number,
    "phone": mask_phone,
    "contact_phone": mask_phone,
}


# --- Shared helpers -----------------------------------------------------------------------------


def _today() -> dt.date:
    return timezone.localdate()


def _require(
    actor: Any,
    perm: str,
    region_code: str,
    *,
    action: str,
    object_type: str = "",
    object_id: Any = "",
    request: HttpRequest | None = None,
    message: str | None = None,
) -> None:
    """Refuse (audited) unless ``actor`` holds ``perm`` in ``region_code``."""
    if actor is None or has_perm(actor, perm, region_code):
        return
    audit.record(
        action,
        actor=actor,
        request=request,
        region_code=region_code,
        object_type=object_type,
        object_id=object_id,
        result=AuditResult.DENIED,
        detail={"why": f"no {perm} in this region"},
    )
    raise PermissionDenied(message or _("You may not change base data in this region."))


def _deny(
    action: str, *, actor: Any, request: Any, region_code: str, object_type: str, object_id: Any, why: str
) -> None:
    audit.record(
        action,
        actor=actor,
        request=request,
        region_code=region_code,
        object_type=object_type,
        object_id=object_id,
        result=AuditResult.DENIED,
        detail={"why": why},
    )


def _clean_reason(reason: str | None, *, required: bool) -> str:
    reason = clean_text(reason, multiline=True, field="reason")
    if required and not reason:
        raise ValidationError({"reason": _("Give a reason for the change.")})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": _("Keep the reason under %(n)d characters.") % {"n": REASON_MAX_LENGTH}}
        )
    return reason


def _as_date(value: Any, field: str, *, allow_future: bool = False, required: bool = False) -> dt.date | None:
    if value in (None, ""):
        if required:
            raise ValidationError({field: _("Enter a date.")})
        return None
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(v.normalize_code(value).replace("/", "-"))
        except ValueError as exc:
            raise ValidationError({field: _("Enter a date such as 2024-03-01.")}) from exc
    if not allow_future and value > _today():
        raise ValidationError({field: _("The date cannot be in the future.")})
    if value.year < v.OLDEST_BIRTH_YEAR:
        raise ValidationError({field: _("The date is too far in the past.")})
    return value


def _day(value: Any, field: str = "date") -> dt.date:
    """A date for a change (defaults to today; never in the future)."""
    return _as_date(value, field) or _today()


def _shown(field: str, value: Any) -> Any:
    """A value as the timeline keeps it: masked personal numbers, JSON-friendly types."""
    if value is None:
        return ""
    masker = _MASKERS.get(field)
    if masker is not None:
        return masker(str(value))
    if isinstance(value, dt.date | Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return str(value)
    return value


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        field: {"old": _shown(field, before.get(field)), "new": _shown(field, after[field])}
        for field in after
        if before.get(field) != after[field]
    }


def _timeline(
    object_type: str,
    obj: models.Model,
    region_code: str,
    actor: Any,
    action: str,
    *,
    params: Mapping[str, Any] | None = None,
    changes: Mapping[str, Any] | None = None,
    reason: str = "",
    tag_category: TagCategory | None = None,
) -> TimelineEntry:
    return TimelineEntry.objects.create(
        object_type=object_type,
        object_id=obj.pk,
        region_code=region_code,
        actor=actor,
        actor_name=(getattr(actor, "username", "") or "") if actor is not None else "",
        action=action,
        params=dict(params or {}),
        changes=dict(changes or {}),
        reason=reason,
        tag_category=tag_category,
    )


def _audit(
    action: str,
    *,
    actor: Any,
    request: HttpRequest | None,
    region_code: str,
    obj: models.Model,
    fields: Iterable[str] = (),
    reason: str = "",
    detail: Mapping[str, Any] | None = None,
) -> None:
    audit.record(
        action,
        actor=actor,
        request=request,
        region_code=region_code,
        object_type=obj._meta.label_lower,
        object_id=obj.pk,
        fields=sorted(fields),
        reason=reason,
        detail=dict(detail or {}),
    )


def _actor_id(actor: Any) -> int | None:
    return getattr(actor, "pk", None)


def _check_region(region: Region, levels: set[RegionLevel], field: str = "region") -> None:
    if region.level not in levels:
        names = ", ".join(str(RegionLevel(level).label) for level in RegionLevel.values if level in levels)
        raise ValidationError(
            {field: _("Choose a region of one of these levels: %(levels)s.") % {"levels": names}}
        )


@functools.cache
def _choice_values(choices: type[models.TextChoices]) -> frozenset[str]:
    # Django computes ``choices.values`` anew on every access; imports clean 100,000s of rows.
    return frozenset(choices.values)


def _choice(value: Any, choices: type[models.TextChoices], field: str, *, blank: bool = True) -> str:
    value = v.normalize_text(value)
    if not value:
        if blank:
            return ""
        raise ValidationError({field: ValidationError(_("This field is required."), code="required")})
    if value in _choice_values(choices):
        return value
    # Accept the label as shown in either language (a ledger may say 出租 for rented).
    for key, label in choices.choices:
        if value == str(label):
            return str(key)
    raise ValidationError(
        {
            field: ValidationError(
                _("“%(value)s” is not one of the choices.") % {"value": value[:50]}, code="invalid_choice"
            )
        }
    )


def _text(
    value: Any,
    field: str,
    max_length: int,
    *,
    required: bool = False,
    multiline: bool = False,
    key: bool = False,
) -> str:
    # Free text is kept as written (full-width punctuation too); only keys (numbers) are normalised.
    text = v.normalize_text(value) if key else clean_text(value, multiline=multiline, field=field)
    if required and not text:
        raise ValidationError({field: _("This field is required.")})
    if len(text) > max_length:
        raise ValidationError({field: _("Use at most %(n)d characters.") % {"n": max_length}})
    return text


Errors = dict[str, list[ValidationError]]


def _collect(errors: Errors, field: str, func: Callable[[], Any]) -> Any:
    """Run one field's cleaning and keep its error (with its code), so that every bad field is
    reported at once."""
    try:
        return func()
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for key, errs in exc.error_dict.items():
                errors.setdefault(key if key != "__all__" else field, []).extend(errs)
        else:
            errors.setdefault(field, []).extend(exc.error_list)
        return None


def _add_error(errors: Errors, field: str, message: str, code: str = "invalid") -> None:
    errors.setdefault(field, []).append(ValidationError(message, code=code))


def _integrity_to_validation(exc: IntegrityError) -> ValidationError:
    text = str(exc)
    if "registry_person_unique_id_number" in text or "id_number_index" in text:
        return ValidationError(
            {
                "id_number": ValidationError(
                    _("A person with this ID number is already registered."), code="duplicate_id"
                )
            }
        )
    if "registry_org_unique_uscc" in text or "uscc" in text:
        return ValidationError({"uscc": _("An organization with this credit code is already registered.")})
    if "registry_member_one_household" in text:
        return ValidationError({"person": _("This person already belongs to a household.")})
    if "registry_residence_one" in text:
        return ValidationError({"house": _("This person is already linked to this house.")})
    if "registry_tag_one_active" in text:
        return ValidationError({"category": _("This person already has this tag.")})
    if "unique" in text.lower():
        return ValidationError({"number": _("This number is already used here.")})
    return ValidationError(_("The change conflicts with existing data."))


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


def _lock_person(person: Person, *statuses: str) -> None:
    """Lock the row for the transaction and check that its status still allows the change."""
    status = Person.objects.select_for_update().filter(pk=person.pk).values_list("status", flat=True).first()
    if status is None:
        raise ValidationError(_("This person no longer exists."))
    person.status = status
    if statuses and status not in statuses:
        messages = {
            PersonStatus.ACTIVE: _("This person lives in the area: record a move instead."),
            PersonStatus.MOVED_OUT: _("This person has moved out of the area."),
            PersonStatus.DECEASED: _("This person is recorded as deceased."),
        }
        raise ValidationError(
            {"status": ValidationError(messages[PersonStatus(status)], code="wrong_status")}
        )


def _place_person(person: Person, house: House | None, region: Region) -> None:
    """Move the person's record (and their tags) to ``region``."""
    person.region = region
    person.region_code = region.code
    person.house = house
    PersonTag.objects.filter(person=person).update(region_code=region.code)


def _home(person: Person) -> Residence | None:
    return (
        Residence.objects.filter(person=person, end_date__isnull=True, lives_here=True)
        .select_related("house")
        .first()
    )


def _start_residence(
    person: Person, house: House, relation: str, start: dt.date, actor: Any, *, lives_here: bool = True
) -> Residence:
    residence = Residence.objects.create(
        person=person,
        house=house,
        relation=relation,
        lives_here=lives_here,
        start_date=start,
        region_code=house.region_code,
    )
    _timeline(
        "house",
        house,
        house.region_code,
        actor,
        "residence.start",
        params={"name": person.name, "relation": relation, "date": str(start), "person_id": person.pk},
    )
    emit(
        events.ResidenceChanged(
            actor_id=_actor_id(actor),
            residence_id=residence.pk,
            person_id=person.pk,
            house_id=house.pk,
            region_code=house.region_code,
            ended=False,
        )
    )
    return residence


def _end_residence(residence: Residence, end: dt.date, actor: Any) -> None:
    if end < residence.start_date:
        raise ValidationError(
            {
                "date": _("The date is before the person started living there (%(d)s).")
                % {"d": residence.start_date}
            }
        )
    residence.end_date = end
    residence.updated_at = timezone.now()
    residence.save(update_fields=["end_date", "updated_at"])
    house = residence.house
    _timeline(
        "house",
        house,
        house.region_code,
        actor,
        "residence.end",
        params={
            "name": residence.person.name,
            "relation": residence.relation,
            "date": str(end),
            "person_id": residence.person_id,
        },
    )
    emit(
        events.ResidenceChanged(
            actor_id=_actor_id(actor),
            residence_id=residence.pk,
            person_id=residence.person_id,
            house_id=house.pk,
            region_code=house.region_code,
            ended=True,
        )
    )


def _check_relation(relation: Any) -> str:
    return _choice(relation, ResidenceRelation, "relation", blank=False)


# --- People: services ---------------------------------------------------------------------------


def person_register(
    *,
    actor: Any,
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
    actor: Any,
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
    actor: Any,
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


def _leave_home(person: Person, day: dt.date, actor: Any) -> Residence | None:
    home = _home(person)
    if home is not None:
        _end_residence(home, day, actor)
    return home


def person_move(
    *,
    actor: Any,
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


def _move_person(
    person: Person, house: House, day: dt.date, actor: Any, *, relation: str | None, reason: str, request: Any
) -> None:
    old_home = _leave_home(person, day, actor)
    relation = (
        _check_relation(relation)
        if relation
        else (old_home.relation if old_home else ResidenceRelation.FAMILY)
    )
    from_code = person.region_code
    from_house = old_home.house if old_home else None
    _place_person(person, house, house.region)
    person.updated_at = timezone.now()
    person.save(update_fields=["region", "region_code", "house", "updated_at"])
    _start_residence(person, house, relation, day, actor)
    from_address = from_house.address if from_house else ""
    if from_code == house.region_code:
        _timeline(
            "person",
            person,
            from_code,
            actor,
            "person.move",
            reason=reason,
            params={"from_address": from_address, "address": house.address, "date": str(day)},
            changes={"house": {"old": from_address, "new": house.address}},
        )
    else:
        # Two entries: the old region's ends its part of the story without saying where they went.
        _timeline(
            "person", person, from_code, actor, "person.move_away", reason=reason, params={"date": str(day)}
        )
        _timeline(
            "person",
            person,
            house.region_code,
            actor,
            "person.move_here",
            reason=reason,
            params={"address": house.address, "date": str(day)},
            changes={"house": {"old": from_address, "new": house.address}},
        )
    _audit(
        "registry.person_move",
        actor=actor,
        request=request,
        region_code=from_code,
        obj=person,
        reason=reason,
        detail={
            "to_region": house.region_code,
            "to_house": house.pk,
            "from_house": from_house.pk if from_house else None,
        },
    )
    emit(
        events.PersonMoved(
            actor_id=_actor_id(actor),
            person_id=person.pk,
            from_region_code=from_code,
            region_code=house.region_code,
            from_house_id=from_house.pk if from_house else None,
            house_id=house.pk,
            on=day,
        )
    )


def person_record_death(
    *, actor: Any, person: Person, on: Any, reason: str = "", request: HttpRequest | None = None
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
    *, actor: Any, person: Person, changes: Mapping[str, Any], reason: str, request: HttpRequest | None = None
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


def residence_add(
    *,
    actor: Any,
    person: Person,
    house: House,
    relation: str,
    since: Any = None,
    request: HttpRequest | None = None,
) -> Residence:
    """Link a person to a house they do not live in (an owner who lets it). Homes change through
    register, move in and move."""
    _require(
        actor,
        P.EDIT,
        house.region_code,
        action="registry.residence_add",
        object_type="registry.house",
        object_id=house.pk,
        request=request,
    )
    relation = _check_relation(relation)
    start = _day(since, "since")
    if person.status == PersonStatus.DECEASED:
        raise ValidationError({"person": _("This person is recorded as deceased.")})
    try:
        with transaction.atomic():
            residence = _start_residence(person, house, relation, start, actor, lives_here=False)
            _audit(
                "registry.residence_add",
                actor=actor,
                request=request,
                region_code=house.region_code,
                obj=residence,
                detail={"person": person.pk, "house": house.pk, "relation": relation},
            )
    except IntegrityError as exc:
        raise _integrity_to_validation(exc) from exc
    return residence


def residence_end(
    *, actor: Any, residence: Residence, on: Any = None, reason: str = "", request: HttpRequest | None = None
) -> Residence:
    """End a link to a house the person does not live in (the owner sold it)."""
    _require(
        actor,
        P.EDIT,
        residence.region_code,
        action="registry.residence_end",
        object_type="registry.residence",
        object_id=residence.pk,
        request=request,
    )
    if residence.end_date is not None:
        raise ValidationError(_("This link has already ended."))
    if residence.lives_here:
        raise ValidationError(_("This is the person's home: record a move or a move out instead."))
    day = _day(on, "on")
    reason = _clean_reason(reason, required=False)
    with transaction.atomic():
        _end_residence(residence, day, actor)
        _audit(
            "registry.residence_end",
            actor=actor,
            request=request,
            region_code=residence.region_code,
            obj=residence,
            reason=reason,
        )
    return residence


# --- Households ---------------------------------------------------------------------------------


def _join_household(
    household: Household, person: Person, relation: str, day: dt.date, actor: Any
) -> HouseholdMember:
    if household.end_date is not None:
        raise ValidationError({"household": _("This household has been closed.")})
    if HouseholdMember.objects.filter(person=person, end_date__isnull=True).exists():
        raise ValidationError({"person": _("This person already belongs to a household.")})
    member = HouseholdMember.objects.create(
        household=household, person=person, relation_to_head=relation, start_date=day
    )
    _timeline(
        "household",
        household,
        household.region_code,
        actor,
        "household.join",
        params={"name": person.name, "relation": relation, "person_id": person.pk},
    )
    return member


def _leave_household(person: Person, day: dt.date, actor: Any, *, head_may_leave: bool) -> None:
    member = (
        HouseholdMember.objects.filter(person=person, end_date__isnull=True)
        .select_related("household")
        .first()
    )
    if member is None:
        return
    household = member.household
    others = HouseholdMember.objects.filter(household=household, end_date__isnull=True).exclude(pk=member.pk)
    if household.head_id == person.pk and others.exists():
        if not head_may_leave:
            message = _(
                "%(name)s is the head of a household with other members: "
                "choose a new head or move the whole household first."
            ) % {"name": person.name}
            raise ValidationError({"household": ValidationError(message, code="household_head")})
        household.head = None
        household.save(update_fields=["head"])
    member.end_date = max(day, member.start_date)
    member.save(update_fields=["end_date"])
    _timeline(
        "household",
        household,
        household.region_code,
        actor,
        "household.leave",
        params={"name": person.name, "person_id": person.pk, "date": str(day)},
    )
    if not others.exists():
        household.end_date = max(day, household.start_date)
        household.save(update_fields=["end_date"])
        _timeline(
            "household", household, household.region_code, actor, "household.end", params={"date": str(day)}
        )
    emit(
        events.HouseholdChanged(
            actor_id=_actor_id(actor),
            household_id=household.pk,
            region_code=household.region_code,
            change="leave",
        )
    )


def household_create(
    *,
    actor: Any,
    head: Person,
    house: House | None = None,
    number: str = "",
    kind: str = HouseholdKind.FAMILY,
    since: Any = None,
    request: HttpRequest | None = None,
) -> Household:
    """A new household headed by ``head`` (at ``house``, by default the head's home)."""
    house = house or head.house
    region = house.region if house is not None else head.region
    _require(
        actor,
        P.EDIT,
        region.code,
        action="registry.household_create",
        object_type="registry.household",
        request=request,
    )
    if head.status != PersonStatus.ACTIVE:
        raise ValidationError({"head": _("The head of a household must live in the area.")})
    number = v.normalize_code(number)
    if len(number) > 30:
        raise ValidationError({"number": _("Use at most %(n)d characters.") % {"n": 30}})
    kind = _choice(kind, HouseholdKind, "kind", blank=False)
    day = _day(since, "since")
    with transaction.atomic():
        household = Household.objects.create(
            number=number,
            kind=kind,
            head=head,
            house=house,
            region=region,
            region_code=region.code,
            start_date=day,
        )
        _timeline("household", household, region.code, actor, "household.create", params={"kind": kind})
        _join_household(household, head, RelationToHead.HEAD, day, actor)
        _audit(
            "registry.household_create",
            actor=actor,
            request=request,
            region_code=region.code,
            obj=household,
            detail={"head": head.pk},
        )
        emit(
            events.HouseholdChanged(
                actor_id=_actor_id(actor), household_id=household.pk, region_code=region.code, change="create"
            )
        )
    return household


def household_add_member(
    *,
    actor: Any,
    household: Household,
    person: Person,
    relation_to_head: str,
    since: Any = None,
    request: HttpRequest | None = None,
) -> HouseholdMember:
    _require(
        actor,
        P.EDIT,
        household.region_code,
        action="registry.household_add_member",
        object_type="registry.household",
        object_id=household.pk,
        request=request,
    )
    relation = _choice(relation_to_head, RelationToHead, "relation_to_head", blank=False)
    if relation == RelationToHead.HEAD:
        raise ValidationError(
            {"relation_to_head": _("The household already has a head: change the head instead.")}
        )
    if person.status != PersonStatus.ACTIVE:
        raise ValidationError({"person": _("Only people living in the area join a household.")})
    day = _day(since, "since")
    try:
        with transaction.atomic():
            member = _join_household(household, person, relation, day, actor)
            _audit(
                "registry.household_add_member",
                actor=actor,
                request=request,
                region_code=household.region_code,
                obj=household,
                detail={"person": person.pk, "relation": relation},
            )
            emit(
                events.HouseholdChanged(
                    actor_id=_actor_id(actor),
                    household_id=household.pk,
                    region_code=household.region_code,
                    change="join",
                )
            )
    except IntegrityError as exc:
        raise _integrity_to_validation(exc) from exc
    return member


def household_remove_member(
    *,
    actor: Any,
    household: Household,
    person: Person,
    on: Any = None,
    reason: str = "",
    request: HttpRequest | None = None,
) -> None:
    """A member leaves the household (the head only when nobody else is left)."""
    _require(
        actor,
        P.EDIT,
        household.region_code,
        action="registry.household_remove_member",
        object_type="registry.household",
        object_id=household.pk,
        request=request,
    )
    if not HouseholdMember.objects.filter(household=household, person=person, end_date__isnull=True).exists():
        raise ValidationError({"person": _("This person is not a member of the household.")})
    day = _day(on, "on")
    reason = _clean_reason(reason, required=True)
    with transaction.atomic():
        _leave_household(person, day, actor, head_may_leave=False)
        _audit(
            "registry.household_remove_member",
            actor=actor,
            request=request,
            region_code=household.region_code,
            obj=household,
            reason=reason,
            detail={"person": person.pk},
        )


def household_set_head(
    *,
    actor: Any,
    household: Household,
    person: Person,
    former_head_relation: str = RelationToHead.OTHER_RELATIVE,
    reason: str,
    request: HttpRequest | None = None,
) -> Household:
    """Make a member the head; the former head (if still a member) takes ``former_head_relation``."""
    _require(
        actor,
        P.EDIT,
        household.region_code,
        action="registry.household_set_head",
        object_type="registry.household",
        object_id=household.pk,
        request=request,
    )
    reason = _clean_reason(reason, required=True)
    former_relation = _choice(former_head_relation, RelationToHead, "former_head_relation", blank=False)
    if former_relation == RelationToHead.HEAD:
        raise ValidationError({"former_head_relation": _("A household has one head.")})
    member = HouseholdMember.objects.filter(household=household, person=person, end_date__isnull=True).first()
    if member is None:
        raise ValidationError({"person": _("The new head must be a member of the household.")})
    if household.head_id == person.pk:
        raise ValidationError({"person": _("This person is already the head.")})
    with transaction.atomic():
        HouseholdMember.objects.filter(
            household=household, relation_to_head=RelationToHead.HEAD, end_date__isnull=True
        ).update(relation_to_head=former_relation)
        member.relation_to_head = RelationToHead.HEAD
        member.save(update_fields=["relation_to_head"])
        old_head = household.head
        household.head = person
        household.updated_at = timezone.now()
        household.save(update_fields=["head", "updated_at"])
        _timeline(
            "household",
            household,
            household.region_code,
            actor,
            "household.head",
            reason=reason,
            params={"name": person.name, "person_id": person.pk},
            changes={"head": {"old": old_head.name if old_head else "", "new": person.name}},
        )
        _audit(
            "registry.household_set_head",
            actor=actor,
            request=request,
            region_code=household.region_code,
            obj=household,
            reason=reason,
            detail={"head": person.pk},
        )
        emit(
            events.HouseholdChanged(
                actor_id=_actor_id(actor),
                household_id=household.pk,
                region_code=household.region_code,
                change="head",
            )
        )
    return household


def household_move(
    *,
    actor: Any,
    household: Household,
    house: House,
    on: Any = None,
    reason: str = "",
    request: HttpRequest | None = None,
) -> Household:
    """The whole household moves to ``house``: every current member who lives with it moves, and
    the household keeps its members and head."""
    _require(
        actor,
        P.EDIT,
        household.region_code,
        action="registry.household_move",
        object_type="registry.household",
        object_id=household.pk,
        request=request,
    )
    if household.end_date is not None:
        raise ValidationError({"household": _("This household has been closed.")})
    if household.house_id == house.pk:
        raise ValidationError({"house": _("The household already lives in this house.")})
    day = _day(on, "on")
    reason = _clean_reason(reason, required=False)
    members = list(
        HouseholdMember.objects.filter(household=household, end_date__isnull=True).select_related("person")
    )
    with transaction.atomic():
        old_address = household.house.address if household.house_id else ""  # type: ignore[union-attr]
        for member in members:
            person = member.person
            _lock_person(person, PersonStatus.ACTIVE)
            if household.house_id is None or person.house_id == household.house_id:
                _move_person(person, house, day, actor, relation=None, reason=reason, request=request)
        from_code = household.region_code
        household.house = house
        household.region = house.region
        household.region_code = house.region_code
        household.updated_at = timezone.now()
        household.save(update_fields=["house", "region", "region_code", "updated_at"])
        _timeline(
            "household",
            household,
            house.region_code,
            actor,
            "household.move",
            reason=reason,
            params={"address": house.address, "date": str(day)},
            changes={"house": {"old": old_address, "new": house.address}},
        )
        _audit(
            "registry.household_move",
            actor=actor,
            request=request,
            region_code=from_code,
            obj=household,
            reason=reason,
            detail={"to_region": house.region_code, "to_house": house.pk},
        )
        emit(
            events.HouseholdChanged(
                actor_id=_actor_id(actor),
                household_id=household.pk,
                region_code=house.region_code,
                change="move",
            )
        )
    return household


# --- Roads, buildings, units, houses ------------------------------------------------------------


def _place_event(
    actor: Any, obj: models.Model, object_type: str, region_code: str, created: bool, fields: Iterable[str]
) -> None:
    emit(
        events.PlaceChanged(
            actor_id=_actor_id(actor),
            object_type=object_type,
            object_id=obj.pk,
            region_code=region_code,
            created=created,
            fields=sorted(fields),
        )
    )


_UNITS = ("平方米", "平米", "m2", "米", "层", "人")


def _numeric_text(value: Any) -> str:
    """A typed number without spaces, thousands separators or a trailing unit (89.5㎡ → 89.5)."""
    text = v.normalize_text(value).replace(" ", "").replace(",", "")
    for unit in _UNITS:
        if text.endswith(unit):
            return text[: -len(unit)]
    return text


def _decimal(
    value: Any,
    field: str,
    *,
    max_digits: int,
    places: int,
    low: Decimal | None = None,
    high: Decimal | None = None,
) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(_numeric_text(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({field: _("Enter a number.")}) from exc
    if not number.is_finite():
        raise ValidationError({field: _("Enter a number.")})
    number = number.quantize(Decimal(1).scaleb(-places))
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValidationError(
            {field: _("Enter a number between %(low)s and %(high)s.") % {"low": low, "high": high}}
        )
    if len(number.as_tuple().digits) > max_digits:
        raise ValidationError({field: _("The number is too large.")})
    return number


def _int(value: Any, field: str, *, low: int, high: int) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(_numeric_text(value)) if not isinstance(value, int) else value
    except ValueError as exc:
        raise ValidationError({field: _("Enter a whole number.")}) from exc
    if not low <= number <= high:
        raise ValidationError(
            {field: _("Enter a number between %(low)s and %(high)s.") % {"low": low, "high": high}}
        )
    return number


def rebuild_addresses(*, buildings: Iterable[Building] = (), houses: Iterable[House] = ()) -> int:
    """Regenerate the stored standard addresses of these buildings, all their houses, these houses,
    and the organizations and key places at them. Updates the objects passed in too; returns the
    number of buildings and houses rewritten."""
    given_buildings = list(buildings)
    given_houses = list(houses)
    building_ids = {b.pk for b in given_buildings}
    house_q = models.Q(pk__in=[h.pk for h in given_houses]) | models.Q(building_id__in=building_ids)
    building_rows = list(Building.objects.filter(pk__in=building_ids).select_related("road"))
    house_rows = list(House.objects.filter(house_q).select_related("building__road", "unit"))
    names = addresses.region_names(
        [b.region_code for b in building_rows] + [h.region_code for h in house_rows]
    )
    for building in building_rows:
        building.address = addresses.building_address(building, names)
    for house in house_rows:
        house.address = addresses.house_address(house, names)
    Building.objects.bulk_update(building_rows, ["address"], batch_size=500)
    House.objects.bulk_update(house_rows, ["address"], batch_size=500)
    by_building = {b.pk: b.address for b in building_rows}
    by_house = {h.pk: h.address for h in house_rows}
    sites = models.Q(house_id__in=list(by_house)) | models.Q(
        building_id__in=list(by_building), house__isnull=True
    )
    orgs = list(Organization.objects.filter(sites).only("pk", "house_id", "building_id", "address"))
    for org in orgs:
        org.address = by_house.get(org.house_id or 0) or by_building.get(org.building_id or 0) or org.address
    Organization.objects.bulk_update(orgs, ["address"], batch_size=500)
    places = list(KeyPlace.objects.filter(sites).only("pk", "house_id", "building_id", "address"))
    for place in places:
        place.address = (
            by_house.get(place.house_id or 0) or by_building.get(place.building_id or 0) or place.address
        )
    KeyPlace.objects.bulk_update(places, ["address"], batch_size=500)
    for b in given_buildings:
        b.address = by_building.get(b.pk, b.address)
    for h in given_houses:
        h.address = by_house.get(h.pk, h.address)
    return len(building_rows) + len(house_rows)


def road_create(*, actor: Any, region: Region, name: str, request: HttpRequest | None = None) -> Road:
    _check_region(region, _ROAD_REGION_LEVELS)
    _require(
        actor,
        P.EDIT,
        region.code,
        action="registry.road_create",
        object_type="registry.road",
        request=request,
    )
    name = _text(name, "name", 60, required=True)
    if Road.objects.filter(region=region, name=name).exists():
        raise ValidationError({"name": _("This road is already registered here.")})
    with transaction.atomic():
        road = Road.objects.create(region=region, region_code=region.code, name=name)
        _audit(
            "registry.road_create",
            actor=actor,
            request=request,
            region_code=region.code,
            obj=road,
            detail={"name": name},
        )
        _place_event(actor, road, "road", region.code, True, ["name"])
    return road


def _rename_place(
    place: Road | Unit,
    *,
    actor: Any,
    kind: str,
    field: str,
    value: str,
    max_length: int,
    siblings: models.QuerySet[Any],
    taken_message: str,
    dependents: models.QuerySet[Any],
    reason: str,
    request: HttpRequest | None,
) -> None:
    """Rename a road or renumber a unit (``field`` of ``place``, unique among ``siblings``): the
    addresses of the buildings or houses on it (``dependents``) follow, each with a timeline entry."""
    action = f"registry.{kind}_update"
    _require(
        actor,
        P.EDIT,
        place.region_code,
        action=action,
        object_type=f"registry.{kind}",
        object_id=place.pk,
        request=request,
    )
    value = _text(value, field, max_length, required=True)
    reason = _clean_reason(reason, required=False)
    old = getattr(place, field)
    if value == old:
        raise ValidationError({field: _("The new values are the same as the current ones.")})
    if siblings.filter(**{field: value}).exclude(pk=place.pk).exists():
        raise ValidationError({field: taken_message})
    dependent_kind = dependents.model._meta.model_name  # "building" or "house"
    with transaction.atomic():
        setattr(place, field, value)
        place.updated_at = timezone.now()
        place.save(update_fields=[field, "updated_at"])
        items = list(dependents)
        rebuild_addresses(**{f"{dependent_kind}s": items})
        for item in items:
            _timeline(
                dependent_kind,
                item,
                item.region_code,
                actor,
                "place.update",
                params={"fields": [kind]},
                changes={kind: {"old": old, "new": value}},
                reason=reason,
            )
        _audit(
            action,
            actor=actor,
            request=request,
            region_code=place.region_code,
            obj=place,
            fields=[field],
            reason=reason,
            detail={"old": old, "new": value, f"{dependent_kind}s": len(items)},
        )
        _place_event(actor, place, kind, place.region_code, False, [field])


def road_update(
    *, actor: Any, road: Road, name: str, reason: str = "", request: HttpRequest | None = None
) -> Road:
    """Rename a road; the addresses of its buildings and houses follow."""
    _rename_place(
        road,
        actor=actor,
        kind="road",
        field="name",
        value=name,
        max_length=60,
        siblings=Road.objects.filter(region_id=road.region_id),
        taken_message=_("This road is already registered here."),
        dependents=Building.objects.filter(road=road),
        reason=reason,
        request=request,
    )
    return road


BUILDING_FIELDS = (
    "road",
    "door_number",
    "estate",
    "number",
    "name",
    "type",
    "floors",
    "basement_floors",
    "latitude",
    "longitude",
    "region",
)


def clean_building_data(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate building fields (see ``BUILDING_FIELDS``); all errors at once, by field."""
    unknown = sorted(set(data) - set(BUILDING_FIELDS))
    if unknown:
        raise ValidationError({key: [_("Unknown field.")] for key in unknown})
    errors: Errors = {}
    out: dict[str, Any] = {}
    for field, length in (("door_number", 20), ("estate", 60), ("number", 20), ("name", 60)):
        if field in data or not partial:
            out[field] = _collect(errors, field, functools.partial(_text, data.get(field), field, length))
    if "type" in data or not partial:
        out["type"] = (
            _collect(errors, "type", lambda: _choice(data.get("type"), BuildingType, "type"))
            or BuildingType.RESIDENTIAL
        )
    if "floors" in data or not partial:
        out["floors"] = _collect(
            errors, "floors", lambda: _int(data.get("floors"), "floors", low=1, high=200)
        )
    if "basement_floors" in data or not partial:
        out["basement_floors"] = (
            _collect(
                errors,
                "basement_floors",
                lambda: _int(data.get("basement_floors"), "basement_floors", low=0, high=20),
            )
            or 0
        )
    if "latitude" in data or not partial:
        out["latitude"] = _collect(
            errors,
            "latitude",
            lambda: _decimal(
                data.get("latitude"), "latitude", max_digits=9, places=6, low=Decimal(-90), high=Decimal(90)
            ),
        )
    if "longitude" in data or not partial:
        out["longitude"] = _collect(
            errors,
            "longitude",
            lambda: _decimal(
                data.get("longitude"),
                "longitude",
                max_digits=9,
                places=6,
                low=Decimal(-180),
                high=Decimal(180),
            ),
        )
    for field in ("road", "region"):
        if field in data:
            out[field] = data[field]
    if errors:
        raise ValidationError(errors)
    return out


def _check_road(road: Road | None, region: Region) -> None:
    if road is not None and not (region.code.startswith(road.region_code)):
        raise ValidationError({"road": _("The road belongs to another community or street.")})


def building_create(
    *, actor: Any, region: Region, data: Mapping[str, Any], request: HttpRequest | None = None
) -> Building:
    """A building in ``region`` (its grid, or a community without grids). ``data``: the fields of
    ``BUILDING_FIELDS`` (``road`` a Road of the community or street)."""
    _check_region(region, _PERSON_REGION_LEVELS)
    _require(
        actor,
        P.EDIT,
        region.code,
        action="registry.building_create",
        object_type="registry.building",
        request=request,
    )
    cleaned = clean_building_data({k: val for k, val in data.items() if k != "region"}, partial=False)
    if not (cleaned.get("number") or cleaned.get("name") or cleaned.get("door_number")):
        raise ValidationError({"number": _("Give the building a number, a name or a door number.")})
    _check_road(cleaned.get("road"), region)
    with transaction.atomic():
        building = Building(**cleaned, region=region, region_code=region.code)
        building.address = addresses.building_address(building)
        building.save()
        _timeline("building", building, region.code, actor, "place.create")
        _audit(
            "registry.building_create", actor=actor, request=request, region_code=region.code, obj=building
        )
        _place_event(actor, building, "building", region.code, True, cleaned)
    return building


def building_update(
    *,
    actor: Any,
    building: Building,
    changes: Mapping[str, Any],
    reason: str = "",
    request: HttpRequest | None = None,
) -> Building:
    """Change a building. A new ``region`` (another grid) moves its houses, the people living in
    them, their households and organizations along; the actor needs the edit right in both."""
    _require(
        actor,
        P.EDIT,
        building.region_code,
        action="registry.building_update",
        object_type="registry.building",
        object_id=building.pk,
        request=request,
    )
    reason = _clean_reason(reason, required=False)
    cleaned = clean_building_data(changes, partial=True)
    new_region: Region | None = cleaned.pop("region", None)
    if new_region is not None and new_region.pk != building.region_id:
        _check_region(new_region, _PERSON_REGION_LEVELS)
        _require(
            actor,
            P.EDIT,
            new_region.code,
            action="registry.building_update",
            object_type="registry.building",
            object_id=building.pk,
            request=request,
        )
        cleaned["region"] = new_region
    elif new_region is not None:
        new_region = None
    _check_road(cleaned.get("road", building.road), new_region or building.region)
    before = {field: getattr(building, field) for field in cleaned}
    diff = _diff(before, cleaned)
    if not diff:
        raise ValidationError(_("The new values are the same as the current ones."))
    old_code = building.region_code
    with transaction.atomic():
        for field, value in cleaned.items():
            setattr(building, field, value)
        if new_region is not None:
            building.region_code = new_region.code
            diff["region"] = {"old": old_code, "new": new_region.code}
        building.updated_at = timezone.now()
        building.save()
        if new_region is not None:
            _cascade_region(building, new_region)
        rebuild_addresses(buildings=[building])
        _timeline(
            "building",
            building,
            building.region_code,
            actor,
            "place.update",
            params={"fields": sorted(diff)},
            changes=diff,
            reason=reason,
        )
        _audit(
            "registry.building_update",
            actor=actor,
            request=request,
            region_code=old_code,
            obj=building,
            fields=diff,
            reason=reason,
            detail={"to_region": building.region_code} if new_region else None,
        )
        _place_event(actor, building, "building", building.region_code, False, diff)
    return building


def _cascade_region(building: Building, region: Region) -> None:
    """Everything at a building follows it into another grid (no person moves: the grid changed)."""
    code = region.code
    houses = House.objects.filter(building=building)
    house_ids = list(houses.values_list("pk", flat=True))
    houses.update(region=region, region_code=code)
    Unit.objects.filter(building=building).update(region_code=code)
    Residence.objects.filter(house_id__in=house_ids).update(region_code=code)
    people = Person.objects.filter(house_id__in=house_ids)
    PersonTag.objects.filter(person__in=people).update(region_code=code)
    people.update(region=region, region_code=code)
    Household.objects.filter(house_id__in=house_ids).update(region=region, region_code=code)
    Organization.objects.filter(models.Q(building=building) | models.Q(house_id__in=house_ids)).update(
        region=region, region_code=code
    )
    KeyPlace.objects.filter(models.Q(building=building) | models.Q(house_id__in=house_ids)).update(
        region=region, region_code=code
    )


def unit_create(*, actor: Any, building: Building, number: str, request: HttpRequest | None = None) -> Unit:
    _require(
        actor,
        P.EDIT,
        building.region_code,
        action="registry.unit_create",
        object_type="registry.unit",
        request=request,
    )
    number = _text(number, "number", 20, required=True, key=True)
    if Unit.objects.filter(building=building, number=number).exists():
        raise ValidationError({"number": _("The building already has this unit.")})
    with transaction.atomic():
        unit = Unit.objects.create(building=building, number=number, region_code=building.region_code)
        _audit(
            "registry.unit_create", actor=actor, request=request, region_code=building.region_code, obj=unit
        )
        _place_event(actor, unit, "unit", building.region_code, True, ["number"])
    return unit


def unit_update(
    *, actor: Any, unit: Unit, number: str, reason: str = "", request: HttpRequest | None = None
) -> Unit:
    """Renumber a unit; the addresses of its houses follow."""
    _rename_place(
        unit,
        actor=actor,
        kind="unit",
        field="number",
        value=number,
        max_length=20,
        siblings=Unit.objects.filter(building_id=unit.building_id),
        taken_message=_("The building already has this unit."),
        dependents=House.objects.filter(unit=unit),
        reason=reason,
        request=request,
    )
    return unit


HOUSE_FIELDS = ("unit", "floor", "number", "area", "use", "property_type")


def clean_house_data(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate house fields (see ``HOUSE_FIELDS``); all errors at once, by field."""
    unknown = sorted(set(data) - set(HOUSE_FIELDS))
    if unknown:
        raise ValidationError({key: [_("Unknown field.")] for key in unknown})
    errors: Errors = {}
    out: dict[str, Any] = {}
    if "number" in data or not partial:
        out["number"] = _collect(
            errors, "number", lambda: _text(data.get("number"), "number", 20, required=True, key=True)
        )
    if "floor" in data or not partial:
        out["floor"] = _collect(errors, "floor", lambda: _int(data.get("floor"), "floor", low=-20, high=200))
    if "area" in data or not partial:
        out["area"] = _collect(
            errors,
            "area",
            lambda: _decimal(
                data.get("area"),
                "area",
                max_digits=8,
                places=2,
                low=Decimal("0.01"),
                high=Decimal("99999.99"),
            ),
        )
    if "use" in data or not partial:
        out["use"] = (
            _collect(errors, "use", lambda: _choice(data.get("use"), HouseUse, "use"))
            or HouseUse.OWNER_OCCUPIED
        )
    if "property_type" in data or not partial:
        out["property_type"] = (
            _collect(
                errors,
                "property_type",
                lambda: _choice(data.get("property_type"), PropertyType, "property_type"),
            )
            or PropertyType.COMMODITY
        )
    if "unit" in data:
        out["unit"] = data["unit"]
    if errors:
        raise ValidationError(errors)
    return out


def _check_house_unique(
    building: Building, unit: Unit | None, number: str, exclude: int | None = None
) -> None:
    if unit is not None and unit.building_id != building.pk:
        raise ValidationError({"unit": _("The unit belongs to another building.")})
    qs = House.objects.filter(building=building, unit=unit, number=number)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    if qs.exists():
        raise ValidationError(
            {"number": _("This house number is already registered in this building and unit.")}
        )


def house_create(
    *, actor: Any, building: Building, data: Mapping[str, Any], request: HttpRequest | None = None
) -> House:
    """A house in ``building``; ``data``: the fields of ``HOUSE_FIELDS`` (``unit`` a Unit of the
    building or None)."""
    _require(
        actor,
        P.EDIT,
        building.region_code,
        action="registry.house_create",
        object_type="registry.house",
        request=request,
    )
    cleaned = clean_house_data(data, partial=False)
    unit = cleaned.get("unit")
    _check_house_unique(building, unit, cleaned["number"])
    try:
        with transaction.atomic():
            house = House(
                **cleaned, building=building, region_id=building.region_id, region_code=building.region_code
            )
            house.address = addresses.house_address(house)
            house.save()
            _timeline("house", house, house.region_code, actor, "place.create", params={"use": house.use})
            _audit(
                "registry.house_create",
                actor=actor,
                request=request,
                region_code=house.region_code,
                obj=house,
            )
            _place_event(actor, house, "house", house.region_code, True, cleaned)
    except IntegrityError as exc:
        raise _integrity_to_validation(exc) from exc
    return house


def house_update(
    *,
    actor: Any,
    house: House,
    changes: Mapping[str, Any],
    reason: str = "",
    request: HttpRequest | None = None,
) -> House:
    """Change a house (use, area, number …); old → new goes to its timeline."""
    _require(
        actor,
        P.EDIT,
        house.region_code,
        action="registry.house_update",
        object_type="registry.house",
        object_id=house.pk,
        request=request,
    )
    reason = _clean_reason(reason, required=False)
    cleaned = clean_house_data(changes, partial=True)
    before = {field: getattr(house, field) for field in cleaned}
    diff = _diff(before, cleaned)
    if not diff:
        raise ValidationError(_("The new values are the same as the current ones."))
    if "number" in diff or "unit" in diff:
        _check_house_unique(
            house.building, cleaned.get("unit", house.unit), cleaned.get("number", house.number), house.pk
        )
    try:
        with transaction.atomic():
            for field, value in cleaned.items():
                setattr(house, field, value)
            house.updated_at = timezone.now()
            house.save()
            if "number" in diff or "unit" in diff:
                rebuild_addresses(houses=[house])
            _timeline(
                "house",
                house,
                house.region_code,
                actor,
                "place.update",
                params={"fields": sorted(diff)},
                changes=diff,
                reason=reason,
            )
            _audit(
                "registry.house_update",
                actor=actor,
                request=request,
                region_code=house.region_code,
                obj=house,
                fields=diff,
                reason=reason,
            )
            _place_event(actor, house, "house", house.region_code, False, diff)
    except IntegrityError as exc:
        raise _integrity_to_validation(exc) from exc
    return house


# --- Organizations and key places ---------------------------------------------------------------

ORGANIZATION_FIELDS = (
    "name",
    "uscc",
    "type",
    "address",
    "legal_representative",
    "contact_name",
    "contact_phone",
    "staff_count",
    "industry",
    "status",
    "building",
    "house",
)


def clean_organization_data(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate organization fields (see ``ORGANIZATION_FIELDS``); all errors at once, by field."""
    unknown = sorted(set(data) - set(ORGANIZATION_FIELDS))
    if unknown:
        raise ValidationError({key: [_("Unknown field.")] for key in unknown})
    errors: Errors = {}
    out: dict[str, Any] = {}

    def given(field: str) -> bool:
        return field in data or not partial

    if given("name"):
        out["name"] = _collect(errors, "name", lambda: _text(data.get("name"), "name", 100, required=True))
    if given("uscc"):
        out["uscc"] = _collect(errors, "uscc", lambda: v.clean_uscc(data.get("uscc")))
    if given("type"):
        out["type"] = (
            _collect(errors, "type", lambda: _choice(data.get("type"), OrganizationType, "type"))
            or OrganizationType.ENTERPRISE
        )
    if given("status"):
        out["status"] = (
            _collect(errors, "status", lambda: _choice(data.get("status"), OrganizationStatus, "status"))
            or OrganizationStatus.OPERATING
        )
    for field, length in (
        ("address", 255),
        ("legal_representative", 50),
        ("contact_name", 50),
        ("industry", 60),
    ):
        if given(field):
            out[field] = _collect(errors, field, functools.partial(_text, data.get(field), field, length))
    if given("contact_phone"):
        out["contact_phone"] = _collect(
            errors, "contact_phone", lambda: v.clean_contact_phone(data.get("contact_phone"))
        )
    if given("staff_count"):
        out["staff_count"] = _collect(
            errors,
            "staff_count",
            lambda: _int(data.get("staff_count"), "staff_count", low=0, high=10_000_000),
        )
    for field in ("building", "house"):
        if field in data:
            out[field] = data[field]
    if errors:
        raise ValidationError(errors)
    return out


def _site_region(
    region: Region | None, building: Building | None, house: House | None
) -> tuple[Region, Building | None]:
    if house is not None:
        if building is not None and house.building_id != building.pk:
            raise ValidationError({"house": _("The house is in another building.")})
        return house.region, house.building
    if building is not None:
        return building.region, building
    if region is None:
        raise ValidationError(
            {"region": _("Choose the building, the house or at least the grid or community.")}
        )
    _check_region(region, _PERSON_REGION_LEVELS)
    return region, None


def organization_create(
    *, actor: Any, data: Mapping[str, Any], region: Region | None = None, request: HttpRequest | None = None
) -> Organization:
    """An organization at a house or building (``data["house"]``/``data["building"]``), or with a
    free-text address in ``region``. The credit code is unique on the platform."""
    cleaned = clean_organization_data(data)
    region, building = _site_region(region, cleaned.get("building"), cleaned.get("house"))
    _require(
        actor,
        P.EDIT,
        region.code,
        action="registry.organization_create",
        object_type="registry.organization",
        request=request,
    )
    if cleaned["uscc"] and Organization.objects.filter(uscc=cleaned["uscc"]).exists():
        raise ValidationError({"uscc": _("An organization with this credit code is already registered.")})
    if building is not None:
        cleaned["building"] = building
    site = cleaned.get("house") or building
    if site is not None:
        cleaned["address"] = site.address
    try:
        with transaction.atomic():
            org = Organization.objects.create(**cleaned, region=region, region_code=region.code)
            _timeline("organization", org, region.code, actor, "place.create")
            _audit(
                "registry.organization_create",
                actor=actor,
                request=request,
                region_code=region.code,
                obj=org,
                fields=[f for f, value in cleaned.items() if value],
            )
            _place_event(actor, org, "organization", region.code, True, cleaned)
    except IntegrityError as exc:
        raise _integrity_to_validation(exc) from exc
    return org


def organization_update(
    *,
    actor: Any,
    organization: Organization,
    changes: Mapping[str, Any],
    reason: str = "",
    request: HttpRequest | None = None,
) -> Organization:
    _require(
        actor,
        P.EDIT,
        organization.region_code,
        action="registry.organization_update",
        object_type="registry.organization",
        object_id=organization.pk,
        request=request,
    )
    reason = _clean_reason(reason, required=False)
    cleaned = clean_organization_data(changes, partial=True)
    if "house" in cleaned or "building" in cleaned:
        region, building = _site_region(
            organization.region,
            cleaned.get("building", organization.building),
            cleaned.get("house", organization.house),
        )
        if region.pk != organization.region_id:
            _require(
                actor,
                P.EDIT,
                region.code,
                action="registry.organization_update",
                object_type="registry.organization",
                object_id=organization.pk,
                request=request,
            )
        cleaned["building"] = building
        site = cleaned.get("house", organization.house) or building
        if site is not None:
            cleaned["address"] = site.address
    else:
        region = organization.region
    before = {field: getattr(organization, field) for field in cleaned}
    diff = _diff(before, cleaned)
    if not diff:
        raise ValidationError(_("The new values are the same as the current ones."))
    if (
        "uscc" in diff
        and cleaned["uscc"]
        and Organization.objects.filter(uscc=cleaned["uscc"]).exclude(pk=organization.pk).exists()
    ):
        raise ValidationError({"uscc": _("An organization with this credit code is already registered.")})
    old_code = organization.region_code
    try:
        with transaction.atomic():
            for field, value in cleaned.items():
                setattr(organization, field, value)
            organization.region = region
            organization.region_code = region.code
            organization.updated_at = timezone.now()
            organization.save()
            _timeline(
                "organization",
                organization,
                region.code,
                actor,
                "place.update",
                params={"fields": sorted(diff)},
                changes=diff,
                reason=reason,
            )
            _audit(
                "registry.organization_update",
                actor=actor,
                request=request,
                region_code=old_code,
                obj=organization,
                fields=diff,
                reason=reason,
            )
            _place_event(actor, organization, "organization", region.code, False, diff)
    except IntegrityError as exc:
        raise _integrity_to_validation(exc) from exc
    return organization


KEY_PLACE_FIELDS = (
    "name",
    "kind",
    "address",
    "risk_level",
    "risk_notes",
    "is_active",
    "building",
    "house",
    "organization",
)


def clean_key_place_data(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate key place fields (see ``KEY_PLACE_FIELDS``); all errors at once, by field."""
    unknown = sorted(set(data) - set(KEY_PLACE_FIELDS))
    if unknown:
        raise ValidationError({key: [_("Unknown field.")] for key in unknown})
    errors: Errors = {}
    out: dict[str, Any] = {}
    if "name" in data or not partial:
        out["name"] = _collect(errors, "name", lambda: _text(data.get("name"), "name", 100, required=True))
    if "kind" in data or not partial:
        out["kind"] = _collect(
            errors, "kind", lambda: _choice(data.get("kind"), KeyPlaceKind, "kind", blank=False)
        )
    if "address" in data or not partial:
        out["address"] = _collect(errors, "address", lambda: _text(data.get("address"), "address", 255))
    if "risk_level" in data or not partial:
        out["risk_level"] = (
            _collect(errors, "risk_level", lambda: _choice(data.get("risk_level"), RiskLevel, "risk_level"))
            or RiskLevel.LOW
        )
    if "risk_notes" in data or not partial:
        out["risk_notes"] = _collect(
            errors,
            "risk_notes",
            lambda: _text(data.get("risk_notes"), "risk_notes", NOTE_MAX_LENGTH, multiline=True),
        )
    if "is_active" in data:
        out["is_active"] = bool(data["is_active"])
    for field in ("building", "house", "organization"):
        if field in data:
            out[field] = data[field]
    if errors:
        raise ValidationError(errors)
    return out


def key_place_create(
    *, actor: Any, data: Mapping[str, Any], region: Region | None = None, request: HttpRequest | None = None
) -> KeyPlace:
    """A key place at a house, building or organization (``data``), or in ``region`` by address."""
    cleaned = clean_key_place_data(data, partial=False)
    org: Organization | None = cleaned.get("organization")
    house = cleaned.get("house") or (org.house if org is not None else None)
    building = cleaned.get("building") or (org.building if org is not None else None)
    region, building = _site_region(
        region if org is None or house or building else org.region, building, house
    )
    _require(
        actor,
        P.EDIT,
        region.code,
        action="registry.key_place_create",
        object_type="registry.keyplace",
        request=request,
    )
    cleaned["house"], cleaned["building"] = house, building
    site = house or building
    if site is not None:
        cleaned["address"] = site.address
    with transaction.atomic():
        place = KeyPlace.objects.create(**cleaned, region=region, region_code=region.code)
        _timeline("key_place", place, region.code, actor, "place.create")
        _audit("registry.key_place_create", actor=actor, request=request, region_code=region.code, obj=place)
        _place_event(actor, place, "key_place", region.code, True, cleaned)
    return place


def key_place_update(
    *,
    actor: Any,
    place: KeyPlace,
    changes: Mapping[str, Any],
    reason: str = "",
    request: HttpRequest | None = None,
) -> KeyPlace:
    _require(
        actor,
        P.EDIT,
        place.region_code,
        action="registry.key_place_update",
        object_type="registry.keyplace",
        object_id=place.pk,
        request=request,
    )
    reason = _clean_reason(reason, required=False)
    cleaned = clean_key_place_data(changes, partial=True)
    if {"house", "building"} & set(cleaned):
        region, building = _site_region(
            place.region, cleaned.get("building", place.building), cleaned.get("house", place.house)
        )
        if region.pk != place.region_id:
            _require(
                actor,
                P.EDIT,
                region.code,
                action="registry.key_place_update",
                object_type="registry.keyplace",
                object_id=place.pk,
                request=request,
            )
        cleaned["building"] = building
        site = cleaned.get("house", place.house) or building
        if site is not None:
            cleaned["address"] = site.address
    else:
        region = place.region
    before = {field: getattr(place, field) for field in cleaned}
    diff = _diff(before, cleaned)
    if not diff:
        raise ValidationError(_("The new values are the same as the current ones."))
    with transaction.atomic():
        for field, value in cleaned.items():
            setattr(place, field, value)
        place.region, place.region_code = region, region.code
        place.updated_at = timezone.now()
        place.save()
        _timeline(
            "key_place",
            place,
            region.code,
            actor,
            "place.update",
            params={"fields": sorted(diff)},
            changes=diff,
            reason=reason,
        )
        _audit(
            "registry.key_place_update",
            actor=actor,
            request=request,
            region_code=region.code,
            obj=place,
            fields=diff,
            reason=reason,
        )
        _place_event(actor, place, "key_place", region.code, False, diff)
    return place


# --- Population tags ----------------------------------------------------------------------------


def _category(category: TagCategory | str) -> TagCategory:
    if isinstance(category, TagCategory):
        return category
    found = TagCategory.objects.filter(code=str(category), is_active=True).first()
    if found is None:
        raise ValidationError({"category": _("Unknown tag.")})
    return found


def _require_tag_access(
    actor: Any,
    perm: str,
    category: TagCategory,
    region_code: str,
    *,
    action: str,
    object_id: Any,
    request: Any,
) -> None:
    """The role's permission in the region, and for a restricted tag a grant that covers it."""
    _require(
        actor,
        perm,
        region_code,
        action=action,
        object_type="registry.person",
        object_id=object_id,
        request=request,
        message=_("You may not manage population tags in this region."),
    )
    if (
        actor is not None
        and category.sensitivity != Sensitivity.NORMAL
        and not can_view_tag(actor, category, region_code)
    ):
        _deny(
            action,
            actor=actor,
            request=request,
            region_code=region_code,
            object_type="registry.person",
            object_id=object_id,
            why="no grant for this restricted tag",
        )
        raise PermissionDenied(_("You may not manage this tag."))


def _tag_event(
    cls: type[events.TagAdded] | type[events.TagEnded] | type[events.TagVerified], actor: Any, tag: PersonTag
) -> None:
    emit(
        cls(
            actor_id=_actor_id(actor),
            tag_id=tag.pk,
            person_id=tag.person_id,
            category_code=tag.category.code,
            sensitivity=tag.category.sensitivity,
            region_code=tag.region_code,
        )
    )


def tag_add(
    *,
    actor: Any,
    person: Person,
    category: TagCategory | str,
    source: str = TagSource.SURVEY,
    valid_from: Any = None,
    valid_to: Any = None,
    subtype: str = "",
    grade: str = "",
    note: str = "",
    request: HttpRequest | None = None,
) -> PersonTag:
    """Put a person in a key population. Restricted tags need a grant covering them."""
    category = _category(category)
    _require_tag_access(
        actor,
        P.MANAGE_TAGS,
        category,
        person.region_code,
        action="registry.tag_add",
        object_id=person.pk,
        request=request,
    )
    if person.status != PersonStatus.ACTIVE:
        raise ValidationError({"person": _("Tags are added only to people living in the area.")})
    source = _choice(source, TagSource, "source", blank=False)
    start = _as_date(valid_from, "valid_from", allow_future=True) or _today()
    end = _as_date(valid_to, "valid_to", allow_future=True)
    if end is not None and end < start:
        raise ValidationError({"valid_to": _("The end of validity is before its start.")})
    subtype = _text(subtype, "subtype", 30)
    grade = _text(grade, "grade", 10)
    note = _text(note, "note", NOTE_MAX_LENGTH, multiline=True)
    if PersonTag.objects.filter(person=person, category=category, active=True).exists():
        raise ValidationError({"category": _("This person already has this tag.")})
    try:
        with transaction.atomic():
            tag = PersonTag.objects.create(
                person=person,
                category=category,
                region_code=person.region_code,
                source=source,
                subtype=subtype,
                grade=grade,
                valid_from=start,
                valid_to=end,
                note=note,
                added_by=actor,
            )
            _timeline(
                "person",
                person,
                person.region_code,
                actor,
                "tag.add",
                tag_category=category,
                params={"source": source, "valid_from": str(start)},
            )
            _audit(
                "registry.tag_add",
                actor=actor,
                request=request,
                region_code=person.region_code,
                obj=person,
                fields=[category.code],
                detail={"tag": tag.pk, "sensitivity": category.sensitivity},
            )
            _tag_event(events.TagAdded, actor, tag)
    except IntegrityError as exc:
        raise _integrity_to_validation(exc) from exc
    return tag


def tag_end(
    *, actor: Any, tag: PersonTag, on: Any = None, reason: str, request: HttpRequest | None = None
) -> PersonTag:
    """End a tag (the allowance stopped, the child grew up …), with a reason; it stays in history."""
    _require_tag_access(
        actor,
        P.MANAGE_TAGS,
        tag.category,
        tag.region_code,
        action="registry.tag_end",
        object_id=tag.person_id,
        request=request,
    )
    if not tag.active:
        raise ValidationError(_("This tag has already ended."))
    reason = _clean_reason(reason, required=True)
    day = _as_date(on, "on", allow_future=False) or _today()
    if day < tag.valid_from:
        day = tag.valid_from
    with transaction.atomic():
        updated = PersonTag.objects.filter(pk=tag.pk, active=True).update(
            active=False,
            valid_to=day,
            ended_at=timezone.now(),
            end_reason=reason[:200],
            updated_at=timezone.now(),
        )
        if not updated:
            raise ValidationError(_("This tag has already ended."))
        tag.refresh_from_db()
        _timeline(
            "person",
            tag.person,
            tag.region_code,
            actor,
            "tag.end",
            tag_category=tag.category,
            params={"date": str(day)},
            reason=reason,
        )
        _audit(
            "registry.tag_end",
            actor=actor,
            request=request,
            region_code=tag.region_code,
            obj=tag.person,
            fields=[tag.category.code],
            reason=reason,
            detail={"tag": tag.pk},
        )
        _tag_event(events.TagEnded, actor, tag)
    return tag


def tag_verify(*, actor: Any, tag: PersonTag, request: HttpRequest | None = None) -> PersonTag:
    """Confirm a tag. Whoever added it cannot verify it (four eyes)."""
    _require_tag_access(
        actor,
        P.VERIFY_TAGS,
        tag.category,
        tag.region_code,
        action="registry.tag_verify",
        object_id=tag.person_id,
        request=request,
    )
    if actor is not None and tag.added_by_id == actor.pk:
        _deny(
            "registry.tag_verify",
            actor=actor,
            request=request,
            region_code=tag.region_code,
            object_type="registry.person",
            object_id=tag.person_id,
            why="verifier added the tag",
        )
        raise PermissionDenied(_("Someone other than the person who added the tag must verify it."))
    if not tag.active:
        raise ValidationError(_("This tag has ended."))
    if tag.verified_at is not None:
        raise ValidationError(_("This tag has already been verified."))
    with transaction.atomic():
        tag.verified_by = actor
        tag.verified_at = timezone.now()
        tag.updated_at = tag.verified_at
        tag.save(update_fields=["verified_by", "verified_at", "updated_at"])
        _timeline("person", tag.person, tag.region_code, actor, "tag.verify", tag_category=tag.category)
        _audit(
            "registry.tag_verify",
            actor=actor,
            request=request,
            region_code=tag.region_code,
            obj=tag.person,
            fields=[tag.category.code],
            detail={"tag": tag.pk},
        )
        _tag_event(events.TagVerified, actor, tag)
    return tag


def tag_grant(
    *,
    actor: Any,
    user: Any,
    region: Region,
    expires_at: dt.datetime,
    reason: str,
    category: TagCategory | str | None = None,
    sensitivity: str = "",
    request: HttpRequest | None = None,
) -> TagGrant:
    """Let ``user`` see restricted tags — one category, or a whole sensitivity level — of people
    in ``region``. Only a security administrator of that region grants; nobody grants themselves;
    every grant expires (at most a year ahead)."""
    check_grantor(
        actor,
        grantee_id=getattr(user, "pk", None),
        perm=P.GRANT_TAGS,
        region_code=region.code,
        action="registry.tag_grant",
        object_type="user",
        object_id=getattr(user, "pk", None),
        request=request,
        own=("self-grant", _("Nobody can grant rights to themselves.")),
        denied=(
            "no tag grant permission in this region",
            _("You may not grant access to restricted tags in this region."),
        ),
    )
    reason = _clean_reason(reason, required=True)
    if (category is None) == (not sensitivity):
        raise ValidationError({"category": _("Grant either one tag or one sensitivity level.")})
    cat: TagCategory | None = None
    if category is not None:
        cat = _category(category)
        if cat.sensitivity == Sensitivity.NORMAL:
            raise ValidationError({"category": _("This tag is not restricted: no grant is needed.")})
    else:
        if sensitivity not in (Sensitivity.RESTRICTED, Sensitivity.SECRET):
            raise ValidationError({"sensitivity": _("Choose the restricted or the secret level.")})
    now = timezone.now()
    if expires_at is None or timezone.is_naive(expires_at) or expires_at <= now:
        raise ValidationError({"expires_at": _("Choose an expiry date in the future.")})
    if expires_at > now + dt.timedelta(days=GRANT_MAX_DAYS):
        raise ValidationError({"expires_at": _("A grant runs for at most a year; renew it when it expires.")})
    if not user.is_active:
        raise ValidationError({"user": _("This account is disabled.")})
    if any(m.role in ADMIN_ROLES for m in active_memberships(user)):
        raise ValidationError({"user": _("Administrator accounts do not see personal data.")})
    if not any(
        c.startswith(region.code) or region.code.startswith(c) for c in scopes_for(user, P.VIEW_PEOPLE)
    ):
        raise ValidationError({"user": _("This account does not see people in that region.")})
    with transaction.atomic():
        grant = TagGrant.objects.create(
            user=user,
            category=cat,
            sensitivity="" if cat else sensitivity,
            region=region,
            region_code=region.code,
            reason=reason,
            granted_by=actor,
            expires_at=expires_at,
        )
        audit.record(
            "registry.tag_grant",
            actor=actor,
            request=request,
            region_code=region.code,
            object_type="user",
            object_id=user.pk,
            reason=reason,
            fields=[cat.code] if cat else [sensitivity],
            detail={"grant": grant.pk, "expires_at": expires_at.isoformat()},
        )
        emit(
            events.TagGrantChanged(
                actor_id=_actor_id(actor),
                grant_id=grant.pk,
                user_id=user.pk,
                region_code=region.code,
                revoked=False,
            )
        )
    forget_grants(user)
    return grant


def tag_grant_revoke(
    *, actor: Any, grant: TagGrant, reason: str, request: HttpRequest | None = None
) -> TagGrant:
    check_grantor(
        actor,
        grantee_id=grant.user_id,
        perm=P.GRANT_TAGS,
        region_code=grant.region_code,
        action="registry.tag_grant_revoke",
        object_type="registry.taggrant",
        object_id=grant.pk,
        request=request,
        own=("own grant", _("You may not revoke this grant.")),
        denied=("no tag grant permission in this region", _("You may not revoke this grant.")),
    )
    reason = _clean_reason(reason, required=True)
    with transaction.atomic():
        updated = TagGrant.objects.filter(pk=grant.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=actor
        )
        if not updated:
            raise ValidationError(_("This grant was already revoked."))
        forget_grants(grant.user)  # the account object the caller holds, before it is reloaded
        grant.refresh_from_db()
        audit.record(
            "registry.tag_grant_revoke",
            actor=actor,
            request=request,
            region_code=grant.region_code,
            object_type="user",
            object_id=grant.user_id,
            reason=reason,
            detail={"grant": grant.pk},
        )
        emit(
            events.TagGrantChanged(
                actor_id=_actor_id(actor),
                grant_id=grant.pk,
                user_id=grant.user_id,
                region_code=grant.region_code,
                revoked=True,
            )
        )
    return grant


# --- Visits -------------------------------------------------------------------------------------

VISIT_FUTURE_TOLERANCE = dt.timedelta(minutes=10)


def visit_record(
    *,
    actor: Any,
    person: Person | None = None,
    household: Household | None = None,
    house: House | None = None,
    visited_at: dt.datetime | None = None,
    purpose: str = VisitPurpose.ROUTINE,
    notes: str = "",
    findings: str = "",
    follow_up_date: Any = None,
    follows_up: Visit | None = None,
    request: HttpRequest | None = None,
) -> Visit:
    """Record a visit to a person, a household or a house; ``follow_up_date`` asks for another
    one. ``follows_up``: the earlier visit whose follow-up this is (marked done)."""
    if person is None and household is None and house is None:
        raise ValidationError({"person": _("Choose the person, household or house visited.")})
    target_code = (person or household or house).region_code  # type: ignore[union-attr]
    region_id = (person or household or house).region_id  # type: ignore[union-attr]
    _require(
        actor,
        P.VISIT,
        target_code,
        action="registry.visit_record",
        object_type="registry.visit",
        request=request,
        message=_("You may not record visits in this region."),
    )
    if actor is None:
        raise ValidationError({"visitor": _("A visit needs the person who made it.")})
    purpose = _choice(purpose, VisitPurpose, "purpose", blank=False)
    visited_at = visited_at or timezone.now()
    if timezone.is_naive(visited_at):
        raise ValidationError({"visited_at": _("Give the time with its time zone.")})
    if visited_at > timezone.now() + VISIT_FUTURE_TOLERANCE:
        raise ValidationError({"visited_at": _("The visit cannot be in the future.")})
    notes = _text(notes, "notes", NOTE_MAX_LENGTH, multiline=True)
    findings = _text(findings, "findings", NOTE_MAX_LENGTH, multiline=True)
    follow_up = _as_date(follow_up_date, "follow_up_date", allow_future=True)
    if follow_up is not None and follow_up < timezone.localtime(visited_at).date():
        raise ValidationError({"follow_up_date": _("The follow-up date is before the visit.")})
    if follows_up is not None and follows_up.follow_up_done_at is not None:
        raise ValidationError({"follows_up": _("That visit has already been followed up.")})
    with transaction.atomic():
        visit = Visit.objects.create(
            visitor=actor,
            person=person,
            household=household,
            house=house,
            visited_at=visited_at,
            purpose=purpose,
            notes=notes,
            findings=findings,
            follow_up_date=follow_up,
            region_id=region_id,
            region_code=target_code,
        )
        params = {
            "purpose": purpose,
            "visitor": actor.name if hasattr(actor, "name") else str(actor),
            "visit_id": visit.pk,
        }
        for object_type, obj in (("person", person), ("household", household), ("house", house)):
            if obj is not None:
                _timeline(object_type, obj, obj.region_code, actor, "visit.record", params=params)
        if follows_up is not None:
            _follow_up_done(follows_up, actor)
        _audit("registry.visit_record", actor=actor, request=request, region_code=target_code, obj=visit)
        emit(
            events.VisitRecorded(
                actor_id=_actor_id(actor),
                visit_id=visit.pk,
                region_code=target_code,
                person_id=person.pk if person else None,
                household_id=household.pk if household else None,
                house_id=house.pk if house else None,
                follow_up_date=follow_up,
            )
        )
    return visit


def _follow_up_done(visit: Visit, actor: Any) -> None:
    visit.follow_up_done_at = timezone.now()
    visit.save(update_fields=["follow_up_done_at"])
    for object_type, obj in (
        ("person", visit.person),
        ("household", visit.household),
        ("house", visit.house),
    ):
        if obj is not None:
            _timeline(
                object_type,
                obj,
                obj.region_code,
                actor,
                "visit.follow_up",
                params={"date": str(timezone.localtime(visit.visited_at).date()), "visit_id": visit.pk},
            )


def visit_follow_up_done(*, actor: Any, visit: Visit, request: HttpRequest | None = None) -> Visit:
    """Mark a visit's follow-up as done without recording a new visit."""
    _require(
        actor,
        P.VISIT,
        visit.region_code,
        action="registry.visit_follow_up",
        object_type="registry.visit",
        object_id=visit.pk,
        request=request,
        message=_("You may not record visits in this region."),
    )
    if visit.follow_up_date is None:
        raise ValidationError(_("This visit asked for no follow-up."))
    if visit.follow_up_done_at is not None:
        raise ValidationError(_("This visit has already been followed up."))
    with transaction.atomic():
        _follow_up_done(visit, actor)
        _audit(
            "registry.visit_follow_up", actor=actor, request=request, region_code=visit.region_code, obj=visit
        )
    return visit
