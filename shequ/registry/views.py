"""Registry pages: the region tree down to buildings (this module), plus the shared helpers of the
other page modules (``views_people``, ``views_places``, ``views_visits``).

Views are thin: they parse input with ``forms``, read through ``selectors`` (404 outside the
viewer's scope) and write through ``services``; a service's ``ValidationError`` goes onto the form
fields it names and changes nothing, its ``PermissionDenied`` becomes the 403 page.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Substr
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from shequ.core import guards
from shequ.core.models import Region, RegionLevel
from shequ.core.permissions import Viewer, has_perm, scope_q, scopes_for
from shequ.registry import addresses, selectors
from shequ.registry.models import Building, House, Person, PersonStatus, PersonTag
from shequ.registry.permissions import RegistryPerm as P

PAGE_SIZE = 50


# --- Shared helpers -----------------------------------------------------------------------------


FORBIDDEN = "registry/forbidden.html"
# The core page guard with the registry's 403 page: ``@registry_page(perm, methods=...)``.
registry_page = functools.partial(guards.page, template=FORBIDDEN)


def apply_errors(form: Form, exc: ValidationError, aliases: dict[str, str] | None = None) -> None:
    """Put a service's ValidationError on the form fields it names (others on the form itself);
    ``aliases`` maps a service's field name to the form's."""
    aliases = aliases or {}
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            name = aliases.get(field, field)
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def posted(request: HttpRequest) -> Any:
    """The submitted data of a POST (also when empty, so that an empty form is invalid), or None."""
    return request.POST if request.method == "POST" else None


def page_of(request: HttpRequest, items: Any, size: int = PAGE_SIZE) -> Page:
    return Paginator(items, size).get_page(request.GET.get("page"))


def can(request: HttpRequest, perm: str, region_code: str) -> bool:
    return has_perm(request.user, perm, region_code)


def region_in_scope(viewer: Viewer, code: str, perm: str = P.VIEW_PLACES) -> Region:
    """A region inside the viewer's scope for ``perm`` (404 otherwise)."""
    if not code.isdigit() or not any(code.startswith(c) for c in scopes_for(viewer, perm)):
        raise Http404
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise Http404
    return region


def crumbs_for(viewer: Viewer, code: str, perm: str = P.VIEW_PLACES) -> list[Region]:
    """The regions from the top of the viewer's scope down to ``code`` (for a breadcrumb)."""
    codes = [code[:n] for n in (2, 4, 6, 9, 12, 15) if n <= len(code)]
    visible = [c for c in codes if has_perm(viewer, perm, c)]
    by_code = {r.code: r for r in Region.objects.filter(code__in=visible)}
    return [by_code[c] for c in visible if c in by_code]


def edit_regions(viewer: Viewer) -> QuerySet[Region]:
    """Grids and communities where the viewer may register people and places."""
    return Region.objects.filter(
        scope_q(viewer, P.EDIT, field="code"), level__in=[RegionLevel.GRID, RegionLevel.COMMUNITY]
    ).order_by("code")


def without_people(viewer: Viewer, entries: Iterable[Any]) -> list[Any]:
    """A place's history for someone who may see the place but not the people there (a property
    manager): the entries about residents and visits name people, so only changes to the place
    itself remain."""
    return [
        e for e in entries if e.action.startswith("place.") or has_perm(viewer, P.VIEW_PEOPLE, e.region_code)
    ]


def get_tag_for(viewer: Viewer, pk: Any) -> PersonTag:
    """A person's tag the viewer may see (404 otherwise, also for restricted tags without a grant)."""
    qs = PersonTag.objects.filter(selectors.visible_tag_q(viewer)).select_related("category", "person")
    try:
        return qs.get(pk=int(pk))
    except (PersonTag.DoesNotExist, TypeError, ValueError, OverflowError) as exc:
        raise Http404 from exc


MOVE_SEARCH_MIN = 2
MOVE_SEARCH_LIMIT = 20


def move_targets(viewer: Viewer, query: str) -> list[House]:
    """Houses a person may move to, found by their standard address. A move may cross into another
    community, so the search covers the whole platform; it shows addresses only (standard
    addresses are public), never who lives there. Only for those who may change people somewhere."""
    query = " ".join(query.split())
    if len(query) < MOVE_SEARCH_MIN or not scopes_for(viewer, P.EDIT):
        return []
    terms = query.split(" ")[:4]
    qs = House.objects.all()
    for term in terms:
        qs = qs.filter(address__icontains=term)
    return list(qs.select_related("building", "unit").order_by("address", "pk")[:MOVE_SEARCH_LIMIT])


def get_move_target(viewer: Viewer, pk: Any) -> House:
    """The destination house of a move (anywhere on the platform, see ``move_targets``)."""
    if not scopes_for(viewer, P.EDIT):
        raise Http404
    try:
        return House.objects.select_related("building", "unit", "region").get(pk=int(pk))
    except (House.DoesNotExist, TypeError, ValueError, OverflowError) as exc:
        raise Http404 from exc


def local_address(full: str, region_code: str, names: dict[str, str]) -> str:
    """A standard address without the province … community names that every row of a
    community's list repeats (``麓山南路12号3栋``); ``names`` from ``addresses.region_names``."""
    prefix = addresses.region_prefix(region_code, names)
    return full[len(prefix) :] if prefix and full.startswith(prefix) and full != prefix else full


def with_local_addresses(
    objects: Iterable[Any], address: Callable[[Any], str] = lambda o: o.address
) -> list[Any]:
    """Set ``local_address`` (see ``local_address``) and ``community_name`` on each object."""
    rows = list(objects)
    names = addresses.region_names(o.region_code for o in rows)
    for obj in rows:
        obj.local_address = local_address(address(obj) or "", obj.region_code, names)
        obj.community_name = names.get(obj.region_code[: addresses.COMMUNITY_LENGTH], "")
    return rows


def count_subquery(qs: QuerySet[Any], link: str) -> Coalesce:
    rows = qs.filter(**{link: OuterRef("pk")}).order_by().values(link).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def buildings_with_counts(qs: QuerySet[Building]) -> QuerySet[Building]:
    """Buildings with their number of houses and of people living there (two subqueries)."""
    return qs.annotate(
        house_count=count_subquery(House.objects.all(), "building"),
        people_count=count_subquery(Person.objects.filter(status=PersonStatus.ACTIVE), "house__building"),
    )


def counts_by_child(qs: QuerySet[Any], length: int) -> dict[str, int]:
    """Rows per child region: ``region_code`` cut to the children's code length."""
    rows = (
        qs.annotate(child=Substr("region_code", 1, length)).values("child").annotate(n=Count("pk")).order_by()
    )
    return {row["child"]: row["n"] for row in rows}


# --- The region tree ----------------------------------------------------------------------------


@registry_page(P.VIEW_PLACES)
def index(request: HttpRequest) -> HttpResponse:
    """The top regions of the viewer's scope; with only one, its page directly."""
    viewer = request.user
    tops = scopes_for(viewer, P.VIEW_PLACES)
    if len(tops) == 1:
        return redirect("registry:region", code=tops[0])
    regions = list(Region.objects.filter(code__in=tops).order_by("code"))
    return render(request, "registry/index.html", {"regions": regions})


@registry_page(P.VIEW_PLACES)
def region(request: HttpRequest, code: str) -> HttpResponse:
    """A region of the tree: its children with counts, and the buildings that belong to it."""
    viewer = request.user
    here = region_in_scope(viewer, code)
    sees_people = has_perm(viewer, P.VIEW_PEOPLE, code)
    children = list(Region.objects.filter(parent=here).order_by("code"))
    rows = []
    if children:
        length = len(children[0].code)
        buildings = counts_by_child(selectors.building_list(viewer=viewer, region_code=code), length)
        houses = counts_by_child(selectors.house_list(viewer=viewer, region_code=code), length)
        people = (
            counts_by_child(selectors.person_list(viewer=viewer, region_code=code), length)
            if sees_people
            else {}
        )
        rows = [
            {
                "region": child,
                "buildings": buildings.get(child.code, 0),
                "houses": houses.get(child.code, 0),
                "people": people.get(child.code, 0),
            }
            for child in children
        ]
    own = page_of(
        request, buildings_with_counts(selectors.building_list(viewer=viewer).filter(region_code=code))
    )
    own.object_list = with_local_addresses(own.object_list)
    context = {
        "here": here,
        "crumbs": crumbs_for(viewer, code)[:-1],
        "children": rows,
        "buildings": own,
        "sees_people": sees_people,
        "can_add_building": here.level in (RegionLevel.GRID, RegionLevel.COMMUNITY)
        and can(request, P.EDIT, code),
    }
    return render(request, "registry/region.html", context)
