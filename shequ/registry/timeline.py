"""Human-readable lines for timeline entries, rendered in the reader's language at read time
(entries store an action and its parameters, not text)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import gettext_lazy, pgettext

from shequ.registry.models import (
    Building,
    House,
    Household,
    HouseholdKind,
    HouseUse,
    KeyPlace,
    Organization,
    Person,
    PersonStatus,
    RelationToHead,
    ResidenceRelation,
    Road,
    TimelineEntry,
    Unit,
    VisitPurpose,
)

SUMMARIES: dict[str, Any] = {
    "person.register": gettext_lazy("Registered at %(address)s"),
    "person.move_in": gettext_lazy("Moved in to %(address)s"),
    "person.move_out": gettext_lazy("Moved out of the area %(destination)s"),
    "person.move": gettext_lazy("Moved from %(from_address)s to %(address)s"),
    "person.move_away": gettext_lazy("Moved away to another grid or community"),
    "person.move_here": gettext_lazy("Moved here from elsewhere on the platform, to %(address)s"),
    "person.death": gettext_lazy("Recorded as deceased"),
    "person.correct": gettext_lazy("Corrected: %(fields)s"),
    "residence.start": gettext_lazy("%(name)s: %(relation)s from %(date)s"),
    "residence.end": gettext_lazy("%(name)s: %(relation)s until %(date)s"),
    "household.create": gettext_lazy("Household created (%(kind)s)"),
    "household.join": gettext_lazy("%(name)s joined the household (%(relation)s)"),
    "household.leave": gettext_lazy("%(name)s left the household"),
    "household.head": gettext_lazy("%(name)s is now the head of the household"),
    "household.relation": gettext_lazy("%(name)s's relation to the head is now: %(relation)s"),
    "household.move": gettext_lazy("Household moved to %(address)s"),
    "household.end": gettext_lazy("Household closed"),
    "tag.add": gettext_lazy("Tag added: %(tag)s"),
    "tag.end": gettext_lazy("Tag ended: %(tag)s"),
    "tag.verify": gettext_lazy("Tag verified: %(tag)s"),
    "visit.record": gettext_lazy("Visit (%(purpose)s) by %(visitor)s"),
    "visit.follow_up": gettext_lazy("Follow-up done for the visit of %(date)s"),
    "place.create": gettext_lazy("Created"),
    "place.update": gettext_lazy("Changed: %(fields)s"),
}

_CHOICES: dict[str, dict[str, Any]] = {
    "relation": dict(ResidenceRelation.choices) | dict(RelationToHead.choices),
    "kind": dict(HouseholdKind.choices),
    "purpose": dict(VisitPurpose.choices),
    "use": dict(HouseUse.choices),
    "status": dict(PersonStatus.choices),
}


# Entries name changed fields by their attribute; readers see the fields' verbose names.
_MODELS: dict[str, type[models.Model]] = {
    "person": Person,
    "household": Household,
    "house": House,
    "building": Building,
    "road": Road,
    "unit": Unit,
    "organization": Organization,
    "key_place": KeyPlace,
}


def _field(object_type: str, name: Any) -> models.Field[Any, Any] | None:
    model = _MODELS.get(object_type)
    if model is None:
        return None
    try:
        field = model._meta.get_field(str(name))
    except FieldDoesNotExist:  # a field since removed: its attribute name
        return None
    return field if isinstance(field, models.Field) else None


def field_label(object_type: str, name: Any) -> str:
    """``"phone"`` → "mobile number" (手机号码) in the reader's language."""
    field = _field(object_type, name)
    return str(getattr(field, "verbose_name", name)) if field is not None else str(name)


def field_labels(object_type: str, names: list[Any]) -> str:
    """``["phone", "residence_type"]`` → "mobile number, residence type" in the reader's language."""
    return pgettext("list separator", ", ").join(field_label(object_type, name) for name in names)


def change_rows(entry: TimelineEntry) -> list[dict[str, Any]]:
    """The entry's old → new values under the fields' labels (the attribute name kept for a title),
    choice codes as their labels."""
    rows = []
    for name, change in (entry.changes or {}).items():
        field = _field(entry.object_type, name)
        labels = dict(field.flatchoices) if field is not None and field.choices else {}
        old, new = (change or {}).get("old", ""), (change or {}).get("new", "")
        rows.append(
            {
                "field": name,
                "label": field_label(entry.object_type, name),
                "old": str(labels.get(old, old)) if old not in (None, "") else "",
                "new": str(labels.get(new, new)) if new not in (None, "") else "",
            }
        )
    return rows


class _Params(dict[str, Any]):
    """Missing parameters render as empty text instead of failing."""

    def __missing__(self, key: str) -> str:
        return ""


def describe(entry: TimelineEntry) -> str:
    template = SUMMARIES.get(entry.action)
    params = _Params()
    for key, value in (entry.params or {}).items():
        labels = _CHOICES.get(key)
        params[key] = str(labels.get(value, value)) if labels else value
    if entry.tag_category is not None:
        params["tag"] = entry.tag_category.label
    if "fields" in params and isinstance(params["fields"], list):
        params["fields"] = field_labels(entry.object_type, params["fields"])
    if template is None:
        return entry.action
    return (str(template) % params).strip()
