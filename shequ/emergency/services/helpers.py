"""一对一包保: who helps a vulnerable person leave. A helper is an account of the person's community
(a grid worker, a volunteer, a party member) or a family member or neighbour named with a mobile
number (kept encrypted). Adding and removing need ``emergency.helpers`` in the person's region
(a refusal is audited) and are audited; bad input changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.guards import require_actor
from shequ.core.models import Role, User
from shequ.core.selectors import members_under
from shequ.core.validators import clean_person_name, clean_phone
from shequ.emergency.models import AssistanceLink, HelperRelation
from shequ.emergency.permissions import EmergencyPerm
from shequ.emergency.services.answers import short_text
from shequ.registry import outreach

COMMUNITY_LENGTH = 12
HELPERS_PER_PERSON = 5
# Helpers with an account, and the roles that may be chosen for them.
ACCOUNT_RELATIONS = frozenset(
    {HelperRelation.GRID_WORKER, HelperRelation.VOLUNTEER, HelperRelation.PARTY_MEMBER}
)
NAMED_RELATIONS = frozenset({HelperRelation.FAMILY, HelperRelation.NEIGHBOUR})
HELPER_ROLES: list[str] = [
    Role.GRID_WORKER,
    Role.COMMUNITY_WORKER,
    Role.COMMUNITY_HEAD,
    Role.VOLUNTEER,
]


def helper_accounts(region_code: str) -> list[tuple[User, str]]:
    """Accounts that may help the people of ``region_code``: staff and volunteers of its community."""
    return members_under(region_code[:COMMUNITY_LENGTH], HELPER_ROLES)


def _person_region(actor: User | None, person_id: int, request: HttpRequest | None) -> str:
    region = outreach.vulnerable_person_region(person_id)
    if region is None:
        raise ValidationError({"person": _("This person is not on the evacuation-assistance list.")})
    require_actor(
        actor,
        EmergencyPerm.HELPERS,
        region,
        action="emergency.helper_add",
        object_type="emergency.assistance",
        object_id=person_id,
        request=request,
        message=_("You may not assign helpers to people of this region."),
    )
    return region


def helper_add(
    *,
    actor: User | None,
    person_id: int,
    relation: str,
    helper_user_id: Any = None,
    helper_name: str = "",
    helper_phone: str = "",
    note: str = "",
    request: HttpRequest | None = None,
) -> AssistanceLink:
    """Name a helper for a person of the assistance list."""
    region = _person_region(actor, person_id, request)
    errors: dict[str, Any] = {}
    user: User | None = None
    name, phone = "", ""
    if relation in ACCOUNT_RELATIONS:
        accounts = {u.pk: u for u, _code in helper_accounts(region)}
        try:
            user = accounts.get(int(helper_user_id))
        except (TypeError, ValueError):
            user = None
        if user is None:
            errors["helper_user"] = _("Choose a staff member or volunteer of the person's community.")
    elif relation in NAMED_RELATIONS:
        try:
            name = clean_person_name(helper_name)
        except ValidationError as exc:
            errors["helper_name"] = exc.messages
        try:
            phone = clean_phone(helper_phone)
            if not phone:
                errors["helper_phone"] = _(
                    "Enter the helper's mobile number: they are called when a warning is issued."
                )
        except ValidationError as exc:
            errors["helper_phone"] = exc.messages
    else:
        errors["relation"] = _("Choose who the helper is to the person.")
    try:
        note = short_text(note, 200, "note")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    existing = list(AssistanceLink.objects.filter(person_id=person_id, active=True))
    if not errors:
        if user is not None and any(link.helper_user_id == user.pk for link in existing):
            errors["helper_user"] = _("%(name)s already helps this person.") % {"name": user.name}
        elif phone and any(link.helper_phone == phone for link in existing):
            errors["helper_phone"] = _("A helper with this number is already named for this person.")
        elif len(existing) >= HELPERS_PER_PERSON:
            errors["relation"] = _("At most %(n)d helpers per person.") % {"n": HELPERS_PER_PERSON}
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        link = AssistanceLink.objects.create(
            person_id=person_id,
            region_code=region,
            relation=relation,
            helper_user=user,
            helper_name=name,
            helper_phone=phone,
            note=note,
            created_by=actor,
        )
        audit.record(
            "emergency.helper_add",
            actor=actor,
            request=request,
            region_code=region,
            object_type="emergency.assistance",
            object_id=person_id,
            fields=["helper_phone"] if phone else [],
            detail={"link": link.pk, "relation": relation, "helper_user": user.pk if user else None},
        )
    return link


def helper_remove(
    *, actor: User | None, link: AssistanceLink, request: HttpRequest | None = None
) -> AssistanceLink:
    """Stop a helper's 包保 of a person (the row stays, inactive, for the record)."""
    require_actor(
        actor,
        EmergencyPerm.HELPERS,
        link.region_code,
        action="emergency.helper_remove",
        object_type="emergency.assistance",
        object_id=link.person_id,
        request=request,
        message=_("You may not change the helpers of people of this region."),
    )
    with transaction.atomic():
        changed = AssistanceLink.objects.filter(pk=link.pk, active=True).update(active=False)
        if not changed:
            raise ValidationError(_("This helper was already removed."))
        audit.record(
            "emergency.helper_remove",
            actor=actor,
            request=request,
            region_code=link.region_code,
            object_type="emergency.assistance",
            object_id=link.person_id,
            detail={"link": link.pk, "relation": link.relation},
        )
    link.refresh_from_db()
    return link
