"""Every write to the registry: validated input in, one transaction, an audit entry, a timeline
entry per changed object (nothing is silently overwritten), a domain event out.

``actor=None`` is the platform itself (imports run by an operator, the demo generator). Anyone
else needs the registry permission in the region of what they change: a grid worker in their
grid, a community worker in their community. Refusals are audited and raise ``PermissionDenied``;
bad input raises ``ValidationError`` with a message per field and changes nothing.

One module per entity (``people``, ``households``, ``houses`` …), like Zulip's ``zerver/actions``;
this package re-exports their public functions, so ``services.person_register(...)`` keeps working.
"""

from __future__ import annotations

from shequ.registry.services._common import GRANT_MAX_DAYS, NOTE_MAX_LENGTH, REASON_MAX_LENGTH, Errors
from shequ.registry.services.buildings import (
    BUILDING_FIELDS,
    building_create,
    building_update,
    clean_building_data,
    rebuild_addresses,
    road_create,
    road_update,
    unit_create,
    unit_update,
)
from shequ.registry.services.households import (
    household_add_member,
    household_create,
    household_move,
    household_remove_member,
    household_set_head,
    household_set_relation,
)
from shequ.registry.services.houses import HOUSE_FIELDS, clean_house_data, house_create, house_update
from shequ.registry.services.organizations import (
    KEY_PLACE_FIELDS,
    ORGANIZATION_FIELDS,
    clean_key_place_data,
    clean_organization_data,
    key_place_create,
    key_place_update,
    organization_create,
    organization_update,
)
from shequ.registry.services.people import (
    PERSON_FIELDS,
    clean_person_data,
    person_build,
    person_correct,
    person_move,
    person_move_in,
    person_move_out,
    person_record_death,
    person_register,
)
from shequ.registry.services.residences import residence_add, residence_end
from shequ.registry.services.tags import tag_add, tag_end, tag_grant, tag_grant_revoke, tag_verify
from shequ.registry.services.visits import VISIT_FUTURE_TOLERANCE, visit_follow_up_done, visit_record

__all__ = [
    "BUILDING_FIELDS",
    "GRANT_MAX_DAYS",
    "HOUSE_FIELDS",
    "KEY_PLACE_FIELDS",
    "NOTE_MAX_LENGTH",
    "ORGANIZATION_FIELDS",
    "PERSON_FIELDS",
    "REASON_MAX_LENGTH",
    "VISIT_FUTURE_TOLERANCE",
    "Errors",
    "building_create",
    "building_update",
    "clean_building_data",
    "clean_house_data",
    "clean_key_place_data",
    "clean_organization_data",
    "clean_person_data",
    "house_create",
    "house_update",
    "household_add_member",
    "household_create",
    "household_move",
    "household_remove_member",
    "household_set_head",
    "household_set_relation",
    "key_place_create",
    "key_place_update",
    "organization_create",
    "organization_update",
    "person_build",
    "person_correct",
    "person_move",
    "person_move_in",
    "person_move_out",
    "person_record_death",
    "person_register",
    "rebuild_addresses",
    "residence_add",
    "residence_end",
    "road_create",
    "road_update",
    "tag_add",
    "tag_end",
    "tag_grant",
    "tag_grant_revoke",
    "tag_verify",
    "unit_create",
    "unit_update",
    "visit_follow_up_done",
    "visit_record",
]
