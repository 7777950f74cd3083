"""Reads of the registry's timelines (履历): an object's history as the viewer may see it, and the
departures of their area. Re-exported by ``registry.selectors``, which callers use."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import F, Model, QuerySet
from django.http import Http404, HttpRequest

from shequ.core import audit
from shequ.core.permissions import Viewer, scope_q
from shequ.registry.models import (
    Building,
    House,
    Household,
    KeyPlace,
    Organization,
    Person,
    Sensitivity,
    TimelineEntry,
)
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.selectors import can_view_tag

_TIMELINE_OBJECTS: dict[str, tuple[type[Model], str]] = {
    "person": (Person, P.VIEW_PEOPLE),
    "household": (Household, P.VIEW_PEOPLE),
    "house": (House, P.VIEW_PLACES),
    "building": (Building, P.VIEW_PLACES),
    "organization": (Organization, P.VIEW_PLACES),
    "key_place": (KeyPlace, P.VIEW_PLACES),
}
TIMELINE_LIMIT = 200


def timeline_for(
    *,
    viewer: Viewer,
    object_type: str,
    object_id: Any,
    request: HttpRequest | None = None,
    limit: int = TIMELINE_LIMIT,
) -> list[TimelineEntry]:
    """The history of one object, newest first.

    A viewer who may see the object now sees its whole history (the record moved with the
    person); someone who may not sees only the entries made while it was in their region (the old
    community sees "moved away", nothing after). Entries about a tag are shown only to those who
    may see that tag, and restricted ones shown are audited. 404 when nothing is visible."""
    if object_type not in _TIMELINE_OBJECTS:
        raise Http404
    model, perm = _TIMELINE_OBJECTS[object_type]
    try:
        pk = int(object_id)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    current = (
        model._default_manager.filter(scope_q(viewer, perm), pk=pk)
        .values_list("region_code", flat=True)
        .first()
    )
    qs = (
        TimelineEntry.objects.filter(object_type=object_type, object_id=pk)
        .select_related("tag_category")
        .annotate(actor_display=F("actor__display_name"))  # a join: no account row decrypted
    )
    if current is None:
        qs = qs.filter(scope_q(viewer, perm))
    entries: list[TimelineEntry] = []
    restricted: list[TimelineEntry] = []
    for entry in qs.order_by("-at", "-pk")[:limit]:
        category = entry.tag_category
        if category is not None:
            if not can_view_tag(viewer, category, current or entry.region_code):
                continue
            if category.sensitivity != Sensitivity.NORMAL:
                restricted.append(entry)
        entries.append(entry)
    if current is None and not entries:
        raise Http404
    if restricted:
        audit.record(
            "registry.tag_view",
            actor=viewer,
            request=request,
            region_code=current or restricted[0].region_code,
            object_type=f"registry.{object_type}",
            object_id=pk,
            fields=sorted({e.tag_category.code for e in restricted if e.tag_category}),
            detail={"timeline_entries": [e.pk for e in restricted], "context": "timeline"},
        )
    return entries


def person_timeline(
    viewer: Viewer, person_id: Any, request: HttpRequest | None = None
) -> list[TimelineEntry]:
    return timeline_for(viewer=viewer, object_type="person", object_id=person_id, request=request)


def house_timeline(viewer: Viewer, house_id: Any, request: HttpRequest | None = None) -> list[TimelineEntry]:
    return timeline_for(viewer=viewer, object_type="house", object_id=house_id, request=request)


def household_timeline(
    viewer: Viewer, household_id: Any, request: HttpRequest | None = None
) -> list[TimelineEntry]:
    return timeline_for(viewer=viewer, object_type="household", object_id=household_id, request=request)


def organization_timeline(
    viewer: Viewer, organization_id: Any, request: HttpRequest | None = None
) -> list[TimelineEntry]:
    return timeline_for(viewer=viewer, object_type="organization", object_id=organization_id, request=request)


# Entries that mark a person leaving a region: the old community's "moved out" list.
LEAVING_ACTIONS = ("person.move_out", "person.move_away", "person.death")


def departure_list(*, viewer: Viewer, since: date | None = None) -> QuerySet[TimelineEntry]:
    """People who left the viewer's region (moved away, moved out of the area, died), as
    timeline entries made in that region: what a community still knows after they left."""
    qs = TimelineEntry.objects.filter(
        scope_q(viewer, P.VIEW_PEOPLE), object_type="person", action__in=LEAVING_ACTIONS
    )
    if since is not None:
        qs = qs.filter(at__date__gte=since)
    return qs.order_by("-at", "-pk")
