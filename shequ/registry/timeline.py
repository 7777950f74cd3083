"""Human-readable lines for timeline entries, rendered in the reader's language at read time
(entries store an action and its parameters, not text)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from shequ.registry.models import (
    HouseholdKind,
    HouseUse,
    PersonStatus,
    RelationToHead,
    ResidenceRelation,
    TimelineEntry,
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
        params["fields"] = ", ".join(str(f) for f in params["fields"])
    if template is None:
        return entry.action
    return (str(template) % params).strip()
