"""Helpers shared by the registry's services: permission checks, audit and timeline entries,
input cleaning of dates, choices, text and numbers."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit, guards
from shequ.core import validators as v
from shequ.core.models import AuditResult, Region, RegionLevel, User
from shequ.core.outbox import emit
from shequ.core.personal import mask_id_number, mask_phone
from shequ.core.text import clean_text
from shequ.registry import events
from shequ.registry.models import (
    TagCategory,
    TimelineEntry,
)

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
    actor: User | None,
    perm: str,
    region_code: str,
    *,
    action: str,
    object_type: str = "",
    object_id: Any = "",
    request: HttpRequest | None = None,
    message: str | None = None,
) -> None:
    """Refuse (audited) unless ``actor`` holds ``perm`` in ``region_code`` (``guards.require_actor``)."""
    guards.require_actor(
        actor,
        perm,
        region_code,
        action=action,
        object_type=object_type,
        object_id=object_id,
        request=request,
        message=message or _("You may not change base data in this region."),
    )


def _deny(
    action: str,
    *,
    actor: User | None,
    request: Any,
    region_code: str,
    object_type: str,
    object_id: Any,
    why: str,
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
    actor: User | None,
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
        actor_name=actor.name if actor is not None else "",  # the person's name, as tickets keep it
        action=action,
        params=dict(params or {}),
        changes=dict(changes or {}),
        reason=reason,
        tag_category=tag_category,
    )


def _audit(
    action: str,
    *,
    actor: User | None,
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


def _actor_id(actor: User | None) -> int | None:
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


def _place_event(
    actor: User | None,
    obj: models.Model,
    object_type: str,
    region_code: str,
    created: bool,
    fields: Iterable[str],
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
