"""The registry's domain events. Payloads carry ids and region codes, never names, ID or phone
numbers: the outbox table is not encrypted. Handlers load what they need through selectors."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from shequ.core.outbox import DomainEvent, register_event


class RegistryEvent(DomainEvent):
    actor_id: int | None


@register_event
class PersonRegistered(RegistryEvent):
    name: ClassVar[str] = "registry.person_registered"
    person_id: int
    region_code: str
    house_id: int | None


@register_event
class PersonMovedIn(RegistryEvent):
    """Someone who had left the platform's area (or had no home here) lives here again."""

    name: ClassVar[str] = "registry.person_moved_in"
    person_id: int
    region_code: str
    from_region_code: str
    house_id: int | None
    on: date


@register_event
class PersonMovedOut(RegistryEvent):
    """A person left the platform's area."""

    name: ClassVar[str] = "registry.person_moved_out"
    person_id: int
    region_code: str
    on: date


@register_event
class PersonMoved(RegistryEvent):
    """A person moved between houses, possibly between grids or communities."""

    name: ClassVar[str] = "registry.person_moved"
    person_id: int
    from_region_code: str
    region_code: str
    from_house_id: int | None
    house_id: int
    on: date


@register_event
class PersonDied(RegistryEvent):
    name: ClassVar[str] = "registry.person_died"
    person_id: int
    region_code: str
    on: date


@register_event
class PersonCorrected(RegistryEvent):
    name: ClassVar[str] = "registry.person_corrected"
    person_id: int
    region_code: str
    fields: list[str]


@register_event
class ResidenceChanged(RegistryEvent):
    name: ClassVar[str] = "registry.residence_changed"
    residence_id: int
    person_id: int
    house_id: int
    region_code: str
    ended: bool


@register_event
class HouseholdChanged(RegistryEvent):
    name: ClassVar[str] = "registry.household_changed"
    household_id: int
    region_code: str
    change: str


@register_event
class TagAdded(RegistryEvent):
    name: ClassVar[str] = "registry.tag_added"
    tag_id: int
    person_id: int
    category_code: str
    sensitivity: str
    region_code: str


@register_event
class TagEnded(RegistryEvent):
    name: ClassVar[str] = "registry.tag_ended"
    tag_id: int
    person_id: int
    category_code: str
    sensitivity: str
    region_code: str


@register_event
class TagVerified(RegistryEvent):
    name: ClassVar[str] = "registry.tag_verified"
    tag_id: int
    person_id: int
    category_code: str
    sensitivity: str
    region_code: str


@register_event
class TagGrantChanged(RegistryEvent):
    name: ClassVar[str] = "registry.tag_grant_changed"
    grant_id: int
    user_id: int
    region_code: str
    revoked: bool


@register_event
class PlaceChanged(RegistryEvent):
    """A road, building, unit, house, organization or key place was created or changed."""

    name: ClassVar[str] = "registry.place_changed"
    object_type: str
    object_id: int
    region_code: str
    created: bool
    fields: list[str]


@register_event
class VisitRecorded(RegistryEvent):
    name: ClassVar[str] = "registry.visit_recorded"
    visit_id: int
    region_code: str
    person_id: int | None
    household_id: int | None
    house_id: int | None
    follow_up_date: date | None


@register_event
class RegistryImported(RegistryEvent):
    """A ledger file was imported: one event for the whole file (handlers that need the rows load
    them by the id ranges)."""

    name: ClassVar[str] = "registry.imported"
    kind: str  # people, houses, organizations
    region_code: str
    batch_id: int | None
    created: dict[str, int]
    id_ranges: dict[str, tuple[int, int]]  # model → (lowest, highest) id created
