"""Population tags: adding, ending and verifying them, and grants to see sensitive categories."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.accounts import check_grantor
from shequ.core.models import Region, User
from shequ.core.outbox import emit
from shequ.core.permissions import ADMIN_ROLES, active_memberships, scopes_for
from shequ.registry import events
from shequ.registry.models import (
    Person,
    PersonStatus,
    PersonTag,
    Sensitivity,
    TagCategory,
    TagGrant,
    TagSource,
)
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.selectors import can_view_tag, forget_grants
from shequ.registry.services._common import (
    GRANT_MAX_DAYS,
    NOTE_MAX_LENGTH,
    _actor_id,
    _as_date,
    _audit,
    _choice,
    _clean_reason,
    _deny,
    _integrity_to_validation,
    _require,
    _text,
    _timeline,
    _today,
)

# --- Population tags ----------------------------------------------------------------------------


def _category(category: TagCategory | str) -> TagCategory:
    if isinstance(category, TagCategory):
        return category
    found = TagCategory.objects.filter(code=str(category), is_active=True).first()
    if found is None:
        raise ValidationError({"category": _("Unknown tag.")})
    return found


def _require_tag_access(
    actor: User | None,
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
    cls: type[events.TagAdded] | type[events.TagEnded] | type[events.TagVerified],
    actor: User | None,
    tag: PersonTag,
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
    actor: User | None,
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
    *, actor: User | None, tag: PersonTag, on: Any = None, reason: str, request: HttpRequest | None = None
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


def tag_verify(*, actor: User | None, tag: PersonTag, request: HttpRequest | None = None) -> PersonTag:
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
    actor: User | None,
    user: User,
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
    *, actor: User | None, grant: TagGrant, reason: str, request: HttpRequest | None = None
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
