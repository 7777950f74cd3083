"""Residences added and ended by hand (a person living in a house besides their home)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from shequ.core.models import User
from shequ.registry.models import (
    House,
    Person,
    PersonStatus,
    Residence,
)
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.services._common import _audit, _clean_reason, _day, _integrity_to_validation, _require
from shequ.registry.services._residency import _check_relation, _end_residence, _start_residence


def residence_add(
    *,
    actor: User | None,
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
    *,
    actor: User | None,
    residence: Residence,
    on: Any = None,
    reason: str = "",
    request: HttpRequest | None = None,
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
