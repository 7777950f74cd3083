"""The registry API (mounted at /api/v1/registry/): people (masked), places, organizations, key
places, tag categories, timelines; registering, correcting and moving people; recording visits.

Every read goes through ``selectors`` (404 outside the caller's regions, exactly like a missing
object), every write through ``services`` (which audit and refuse with 403 where the caller may not
change data). A caller without the registry permission at all gets an audited 403.
"""

from typing import Any

from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Status
from ninja.pagination import paginate

from shequ.core import guards
from shequ.core.api import Pagination
from shequ.core.apiauth import api_auth, register_scope
from shequ.core.models import Region, User
from shequ.core.permissions import has_perm
from shequ.core.schemas import MAX_DB_ID
from shequ.registry import search, selectors, services
from shequ.registry.models import (
    Building,
    House,
    Household,
    KeyPlace,
    Organization,
    Person,
    TagCategory,
    TimelineEntry,
    Visit,
)
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.schemas import (
    BuildingDetailOut,
    BuildingOut,
    HouseDetailOut,
    HouseFilters,
    HouseholdOut,
    HouseOut,
    KeyPlaceFilters,
    KeyPlaceOut,
    OrganizationOut,
    PersonCorrectIn,
    PersonDetailOut,
    PersonFilters,
    PersonMoveIn,
    PersonOut,
    PersonPage,
    PersonRegisterIn,
    PlaceFilters,
    TagCategoryOut,
    TimelineEntryOut,
    TimelineObject,
    VisitIn,
    VisitOut,
)
from shequ.registry.views import get_move_target, without_people

REGISTRY_READ = register_scope(
    "registry:read", "Read base data inside the owner's regions: places, and people with masked numbers."
)
REGISTRY_WRITE = register_scope(
    "registry:write", "Register, correct and move people and record visits in the owner's regions."
)

router = Router(tags=["registry"])
READ = api_auth(REGISTRY_READ)
WRITE = api_auth(REGISTRY_WRITE)


def _viewer(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


def _require(request: HttpRequest, perm: str) -> User:
    """The caller, who must hold ``perm`` somewhere (else an audited 403)."""
    return guards.require_api(request, perm, _("Your role gives no access to this base data."))


# --- People -------------------------------------------------------------------------------------


@router.get("/people", response=PersonPage, auth=READ)
def person_search(request: HttpRequest, filters: Query[PersonFilters]) -> Any:
    """People in the caller's regions, with masked ID and phone numbers: one search box (`q`) and
    filters. A list filtered by a restricted tag is audited. Pages hold `page_size` people;
    `has_next` tells whether there are more."""
    viewer = _require(request, P.VIEW_PEOPLE)
    return search.person_search(
        viewer=viewer,
        q=filters.q,
        tag=filters.tag or "",
        age_min=filters.age_min,
        age_max=filters.age_max,
        residence_type=filters.residence_type or "",
        sex=filters.sex or "",
        status=str(filters.status),
        region_code=filters.region or "",
        page=filters.page,
        page_size=filters.page_size,
        count=filters.count,
        request=request,
    )


def _person_detail(request: HttpRequest, viewer: User, person: Person) -> Person:
    """The person with what the caller may see of their tags (restricted ones audited), household
    and houses, for ``PersonDetailOut``."""
    household = selectors.household_of(viewer=viewer, person=person)
    member = None
    if household is not None:
        member = (
            selectors.household_member_list(viewer=viewer, household=household).filter(person=person).first()
        )
    person.visible_tags = selectors.person_tag_list(viewer=viewer, person=person, request=request)  # type: ignore[attr-defined]
    person.visible_household = household  # type: ignore[attr-defined]
    person.relation_to_head = member.relation_to_head if member else ""  # type: ignore[attr-defined]
    person.visible_residences = list(  # type: ignore[attr-defined]
        selectors.residence_list(viewer=viewer, person=person, current=None)
    )
    return person


@router.get("/people/{person_id}", response=PersonDetailOut, auth=READ)
def person_detail(
    request: HttpRequest, person_id: int = Path(..., ge=1, le=MAX_DB_ID, description="Person id.")
) -> Person:
    """One person (masked numbers), with the tags the caller may see (restricted ones audited),
    household and houses. 404 outside the caller's regions."""
    viewer = _require(request, P.VIEW_PEOPLE)
    person = selectors.get_person_for(viewer, person_id)
    return _person_detail(request, viewer, person)


def _house_anywhere_for(viewer: User, house_id: int) -> House:
    return get_move_target(viewer, house_id)


@router.post("/people", response={201: PersonDetailOut}, auth=WRITE)
def person_register(request: HttpRequest, payload: PersonRegisterIn) -> Status[Person]:
    """Register a new person living in `house_id` (or, without a known house, in `region_code`).
    Exactly one person per ID number: a known one is refused (`moved_out` when their move in should
    be recorded instead)."""
    viewer = _require(request, P.EDIT)
    house = selectors.get_house_for(viewer, payload.house_id) if payload.house_id else None
    region = None
    if house is None and payload.region_code:
        region = Region.objects.filter(code=payload.region_code).first()
        if region is None:
            raise Http404
    household = None
    if payload.household_id:
        household = selectors.get_household_for(viewer, payload.household_id)
    person = services.person_register(
        actor=viewer,
        data=payload.person_data(),
        house=house,
        region=region,
        relation=payload.relation,
        since=payload.since,
        household=household,
        relation_to_head=payload.relation_to_head or "",
        request=request,
    )
    return Status(201, _person_detail(request, viewer, selectors.get_person_for(viewer, person.pk)))


@router.post("/people/{person_id}/correct", response=PersonDetailOut, auth=WRITE)
def person_correct(
    request: HttpRequest,
    payload: PersonCorrectIn,
    person_id: int = Path(..., ge=1, le=MAX_DB_ID, description="Person id."),
) -> Person:
    """Correct fields of a person, with a reason; the history keeps old → new (numbers masked)."""
    viewer = _require(request, P.EDIT)
    person = selectors.get_person_for(viewer, person_id)
    services.person_correct(
        actor=viewer,
        person=person,
        changes=payload.changes.person_data(),
        reason=payload.reason,
        request=request,
    )
    return _person_detail(request, viewer, selectors.get_person_for(viewer, person.pk))


@router.post("/people/{person_id}/move", response=PersonOut, auth=WRITE)
def person_move(
    request: HttpRequest,
    payload: PersonMoveIn,
    person_id: int = Path(..., ge=1, le=MAX_DB_ID, description="Person id."),
) -> Person:
    """Move a person to another house — in another grid or community too (the record moves with its
    history). The caller decides for the region the person leaves; afterwards they may no longer see
    the person."""
    viewer = _require(request, P.EDIT)
    person = selectors.get_person_for(viewer, person_id)
    house = _house_anywhere_for(viewer, payload.house_id)
    return services.person_move(
        actor=viewer,
        person=person,
        house=house,
        relation=payload.relation,
        on=payload.on,
        reason=payload.reason,
        request=request,
    )


# --- Places -------------------------------------------------------------------------------------


@router.get("/buildings", response=list[BuildingOut], auth=READ)
@paginate(Pagination)
def building_list(request: HttpRequest, filters: Query[PlaceFilters]) -> QuerySet[Building]:
    """Buildings in the caller's regions."""
    viewer = _require(request, P.VIEW_PLACES)
    return selectors.building_list(viewer=viewer, region_code=filters.region)


@router.get("/buildings/{building_id}", response=BuildingDetailOut, auth=READ)
def building_detail(
    request: HttpRequest, building_id: int = Path(..., ge=1, le=MAX_DB_ID, description="Building id.")
) -> Building:
    """One building with its units and its houses counted by use."""
    viewer = _require(request, P.VIEW_PLACES)
    building = selectors.get_building_for(viewer, building_id)
    uses = dict(
        selectors.house_list(viewer=viewer, building=building)
        .order_by()
        .values_list("use")
        .annotate(n=Count("pk"))
    )
    building.visible_units = list(selectors.unit_list(viewer=viewer, building=building))  # type: ignore[attr-defined]
    building.house_count = sum(uses.values())  # type: ignore[attr-defined]
    building.houses_by_use = uses  # type: ignore[attr-defined]
    return building


@router.get("/houses", response=list[HouseOut], auth=READ)
@paginate(Pagination)
def house_list(request: HttpRequest, filters: Query[HouseFilters]) -> QuerySet[House]:
    """Houses in the caller's regions (of one building, of one use)."""
    viewer = _require(request, P.VIEW_PLACES)
    building = selectors.get_building_for(viewer, filters.building_id) if filters.building_id else None
    return selectors.house_list(viewer=viewer, region_code=filters.region, building=building, use=filters.use)


@router.get("/houses/{house_id}", response=HouseDetailOut, auth=READ)
def house_detail(
    request: HttpRequest, house_id: int = Path(..., ge=1, le=MAX_DB_ID, description="House id.")
) -> House:
    """One house; with who is linked to it when the caller may see people there."""
    viewer = _require(request, P.VIEW_PLACES)
    house = selectors.get_house_for(viewer, house_id)
    house.visible_residents = house.visible_household_ids = None  # type: ignore[attr-defined]
    if has_perm(viewer, P.VIEW_PEOPLE, house.region_code):
        house.visible_residents = list(selectors.residence_list(viewer=viewer, house=house))  # type: ignore[attr-defined]
        house.visible_household_ids = list(  # type: ignore[attr-defined]
            selectors.household_list(viewer=viewer, house=house).values_list("pk", flat=True)
        )
    return house


@router.get("/households/{household_id}", response=HouseholdOut, auth=READ)
def household_detail(
    request: HttpRequest, household_id: int = Path(..., ge=1, le=MAX_DB_ID, description="Household id.")
) -> Household:
    """One household with its current members."""
    viewer = _require(request, P.VIEW_PEOPLE)
    household: Household = selectors.get_household_for(viewer, household_id)
    household.visible_members = list(  # type: ignore[attr-defined]
        selectors.household_member_list(viewer=viewer, household=household)
    )
    return household


@router.get("/organizations", response=list[OrganizationOut], auth=READ)
@paginate(Pagination)
def organization_list(request: HttpRequest, filters: Query[PlaceFilters]) -> QuerySet[Organization]:
    """Organizations in the caller's regions (contact phones masked)."""
    viewer = _require(request, P.VIEW_PLACES)
    return selectors.organization_list(viewer=viewer, region_code=filters.region)


@router.get("/organizations/{organization_id}", response=OrganizationOut, auth=READ)
def organization_detail(
    request: HttpRequest,
    organization_id: int = Path(..., ge=1, le=MAX_DB_ID, description="Organization id."),
) -> Organization:
    viewer = _require(request, P.VIEW_PLACES)
    return selectors.get_organization_for(viewer, organization_id)


@router.get("/key-places", response=list[KeyPlaceOut], auth=READ)
@paginate(Pagination)
def key_place_list(request: HttpRequest, filters: Query[KeyPlaceFilters]) -> QuerySet[KeyPlace]:
    """Key places (schools, markets, rental clusters …) in the caller's regions."""
    viewer = _require(request, P.VIEW_PLACES)
    return selectors.key_place_list(viewer=viewer, region_code=filters.region, kind=filters.kind)


@router.get("/key-places/{key_place_id}", response=KeyPlaceOut, auth=READ)
def key_place_detail(
    request: HttpRequest, key_place_id: int = Path(..., ge=1, le=MAX_DB_ID, description="Key place id.")
) -> KeyPlace:
    viewer = _require(request, P.VIEW_PLACES)
    return selectors.get_key_place_for(viewer, key_place_id)


# --- Tags, timelines, visits --------------------------------------------------------------------


@router.get("/tag-categories", response=list[TagCategoryOut], auth=READ)
def tag_category_list(request: HttpRequest) -> list[TagCategory]:
    """The population tags the caller may see (restricted ones only with a grant)."""
    viewer = _require(request, P.VIEW_PEOPLE)
    return selectors.tag_category_list(viewer=viewer)


@router.get("/timeline/{object_type}/{object_id}", response=list[TimelineEntryOut], auth=READ)
def timeline(
    request: HttpRequest,
    object_type: TimelineObject,
    object_id: int = Path(..., ge=1, le=MAX_DB_ID, description="The object's id."),
) -> list[TimelineEntry]:
    """The history of a person, household, house, building, organization or key place, newest
    first. A region the object left sees only what happened while it was there; entries about
    restricted tags need a grant (and are audited)."""
    viewer = _require(request, P.VIEW_PLACES)
    entries = selectors.timeline_for(
        viewer=viewer, object_type=object_type, object_id=object_id, request=request
    )
    # People's and households' histories are for those who may see people; a place's history
    # loses the entries naming residents for someone who may see only places.
    return entries if object_type in ("person", "household") else without_people(viewer, entries)


@router.post("/visits", response={201: VisitOut}, auth=WRITE)
def visit_record(request: HttpRequest, payload: VisitIn) -> Status[Visit]:
    """Record a visit to a person, a household or a house (at least one); `follow_up_date` asks
    for another visit, `follows_up_id` marks an earlier visit's follow-up done."""
    viewer = _require(request, P.VISIT)
    targets: dict[str, Any] = {}
    if payload.person_id:
        targets["person"] = selectors.get_person_for(viewer, payload.person_id)
    if payload.household_id:
        targets["household"] = selectors.get_household_for(viewer, payload.household_id)
    if payload.house_id:
        targets["house"] = selectors.get_house_for(viewer, payload.house_id)
    earlier = selectors.get_visit_for(viewer, payload.follows_up_id) if payload.follows_up_id else None
    visit = services.visit_record(
        actor=viewer,
        visited_at=payload.visited_at,
        purpose=payload.purpose,
        notes=payload.notes,
        findings=payload.findings,
        follow_up_date=payload.follow_up_date,
        follows_up=earlier,
        request=request,
        **targets,
    )
    return Status(201, visit)
