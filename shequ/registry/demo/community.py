"""One community built and written in bulk: places, people, past departures, tags."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Iterable
from dataclasses import fields
from decimal import Decimal
from typing import Any

from shequ.core import audit, geo
from shequ.core.bulk import bulk_insert, insert_rows
from shequ.core.models import Region, RegionKind
from shequ.core.region_shapes import shapes_of
from shequ.registry import addresses, services
from shequ.registry.demo._base import (
    Generator,
    Plan,
    RegistrySummary,
    _Home,
    _Household,
    _partition,
    _Resident,
    _Tag,
)
from shequ.registry.demo._common import COUNTY, STREET
from shequ.registry.demo.families import (
    OWNER_FAMILIES_URBAN,
    OWNER_FAMILIES_VILLAGE,
    TENANT_GROUPS,
    Family,
    Member,
    make_family,
)
from shequ.registry.demo.names import (
    _CHINESE_NUMBERS,
    CHANGSHA_COUNTIES,
    COMPANY_KINDS,
    COMPANY_WORDS,
    DESTINATIONS,
    DISABILITY_TYPES,
    EDUCATION_BEFORE_1960,
    EDUCATION_BEFORE_1980,
    EDUCATION_SINCE_1980,
    ESTATE_HEADS,
    ESTATE_TAILS,
    ETHNIC_MIX,
    FOREIGNERS,
    OPTIONAL_PLACES,
    OTHER_PROVINCE_COUNTIES,
    RISK_NOTES,
    ROAD_NAMES,
    SHOP_KINDS,
    SHOP_WORDS,
    TAG_SOURCES,
    UNIVERSITY_DORMS,
    WORK,
    _weighted,
    birth_date_for,
    given_name,
    landline,
    make_uscc,
    mobile,
    surname,
)
from shequ.registry.models import (
    Building,
    BuildingType,
    Education,
    House,
    Household,
    HouseholdKind,
    HouseholdMember,
    HouseUse,
    IdType,
    KeyPlace,
    KeyPlaceKind,
    MaritalStatus,
    Organization,
    OrganizationType,
    Person,
    PersonStatus,
    PersonTag,
    PoliticalStatus,
    PropertyType,
    RelationToHead,
    Residence,
    ResidenceRelation,
    ResidenceType,
    RiskLevel,
    Road,
    Sex,
    TagSource,
    TimelineEntry,
    Unit,
)

MISPLACED_SHARE = 0.02


class CommunityBuilder:
    """Builds one community's registry in memory, then writes it table by table."""

    def __init__(self, gen: Generator, p: Plan, grids: list[Region]) -> None:
        self.gen = gen
        self.community = p.community
        self.quota = p.people
        self.partition = _partition(p)
        self.rng = random.Random(f"{gen.seed}:{p.community.code}")
        self.village = p.community.kind == RegionKind.VILLAGE
        self.grids = grids
        self.prefix = addresses.region_prefix(p.community.code, gen.names)
        self.roads: list[Road] = []
        self.buildings: list[Building] = []
        self.units: list[Unit] = []
        self.houses: list[House] = []
        self.residents: list[_Resident] = []
        self.homes: list[_Home] = []
        self.households: list[_Household] = []
        self.tags: list[_Tag] = []
        self.organizations: list[Organization] = []
        self.key_places: list[KeyPlace] = []
        self.let_houses: list[House] = []
        self.people_count = 0
        self.moved_out = self.died = 0
        jitter = random.Random(p.community.code)
        self.center = (28.18 + jitter.uniform(-0.08, 0.08), 112.94 + jitter.uniform(-0.1, 0.06))
        # Boundaries (the demo draws them first): buildings go inside their grid's, a few (survey
        # errors, for the maps' "outside its grid" list) anywhere in the community's. A separate
        # generator, so that the community's people stay what they were without boundaries.
        self.shapes = shapes_of([p.community.code, *(g.code for g in grids)])
        self.place_rng = random.Random(f"{gen.seed}:{p.community.code}:places")

    # --- places ---

    def grid_for(self) -> Region:
        """Grids take consecutive buildings: the share of the quota filled so far picks the grid."""
        n = len(self.grids)
        return self.grids[min(n - 1, self.people_count * n // max(1, self.quota))]

    def point(self) -> tuple[Decimal, Decimal]:
        lat = self.center[0] + self.rng.uniform(-0.006, 0.006)
        lon = self.center[1] + self.rng.uniform(-0.006, 0.006)
        return Decimal(f"{lat:.6f}"), Decimal(f"{lon:.6f}")

    def building(
        self,
        *,
        road: Road | None,
        door: str,
        estate: str,
        number: str,
        floors: int,
        kind: str = BuildingType.RESIDENTIAL,
    ) -> Building:
        grid = self.grid_for()
        lat, lon = self.point()
        shape = self.shapes.get(grid.code)
        if shape is not None:
            if self.place_rng.random() < MISPLACED_SHARE and self.community.code in self.shapes:
                shape = self.shapes[self.community.code]
            x, y = geo.sample_point(shape, self.place_rng)
            lat, lon = Decimal(f"{y:.6f}"), Decimal(f"{x:.6f}")
        b = Building(
            region=grid,
            region_code=grid.code,
            road=road,
            door_number=door,
            estate=estate,
            number=number,
            type=kind,
            floors=floors,
            latitude=lat,
            longitude=lon,
            address=addresses.compose(
                region_part=self.prefix,
                road=road.name if road else "",
                door_number=door,
                estate=estate,
                building=number,
            ),
        )
        self.buildings.append(b)
        return b

    def house(
        self,
        b: Building,
        unit: Unit | None,
        number: str,
        floor: int,
        area: float,
        use: str,
        property_type: str,
    ) -> House:
        h = House(
            region=b.region,
            region_code=b.region_code,
            building=b,
            unit=unit,
            floor=floor,
            number=number,
            area=Decimal(f"{area:.2f}"),
            use=use,
            property_type=property_type,
            address=addresses.compose(
                region_part=self.prefix,
                road=b.road.name if b.road else "",
                door_number=b.door_number,
                estate=b.estate,
                building=b.number,
                unit=unit.number if unit else "",
                house=number,
            ),
        )
        self.houses.append(h)
        return h

    def build(self) -> None:
        started = time.perf_counter()
        self.roads = [
            Road(region=self.community, region_code=self.community.code, name=name)
            for name in self.rng.sample(ROAD_NAMES, 4)
        ]
        bulk_insert(Road, self.roads)  # buildings refer to saved roads
        if self.village:
            self.build_village()
        else:
            self.build_estates()
        self.build_shops()
        self.departures()
        self.assign_tags()
        self.gen.clock("generate", started)

    def build_estates(self) -> None:
        rng = self.rng
        door = rng.randrange(10, 60) * 2
        estate_no = 0
        while self.people_count < self.quota:
            road = rng.choice(self.roads)
            door += rng.randrange(2, 40) * 2
            if estate_no == 0 and rng.random() < 0.5 and self.community.code.startswith(STREET):
                estate = rng.choice(UNIVERSITY_DORMS)
            else:
                estate = rng.choice(ESTATE_HEADS) + rng.choice(ESTATE_TAILS)
            estate_no += 1
            style = _weighted(rng, (("walk_up", 45), ("mid_rise", 30), ("high_rise", 25)))
            for number in range(1, rng.randint(4, 18) + 1):
                if self.people_count >= self.quota:
                    break
                # The last buildings shrink to what the quota still needs; none outgrows a grid.
                wanted = min(self.quota - self.people_count, self.quota / len(self.grids))
                remaining_flats = max(8, int(wanted / 2.4))
                if style == "walk_up" or remaining_flats < 40:
                    floors, units, per_floor = rng.choice((6, 7)), rng.randint(2, 3), 2
                elif style == "mid_rise":
                    floors, units, per_floor = rng.choice((11, 16, 18)), 2, rng.choice((2, 3))
                else:
                    floors, units, per_floor = rng.choice((26, 30, 33)), rng.choice((1, 2)), 4
                while floors * units * per_floor > remaining_flats and floors > 3:
                    floors -= 1
                b = self.building(road=road, door=str(door), estate=estate, number=str(number), floors=floors)
                old = style == "walk_up"
                for u in range(1, units + 1):
                    unit = Unit(building=b, number=str(u), region_code=b.region_code)
                    self.units.append(unit)
                    for floor in range(1, floors + 1):
                        for k in range(1, per_floor + 1):
                            area = rng.uniform(48, 95) if old else rng.uniform(70, 145)
                            ptype = _weighted(
                                rng,
                                (
                                    (PropertyType.COMMODITY, 80),
                                    (PropertyType.PUBLIC_RENTAL, 8),
                                    (PropertyType.AFFORDABLE, 7),
                                    (PropertyType.COLLECTIVE, 5),
                                ),
                            )
                            house = self.house(
                                b, unit, f"{floor}{k:02d}", floor, area, self.flat_use(), ptype
                            )
                            self.occupy(house)

    def flat_use(self) -> str:
        if self.people_count >= self.quota:
            return HouseUse.VACANT
        return _weighted(
            self.rng, ((HouseUse.OWNER_OCCUPIED, 77), (HouseUse.RENTED, 15), (HouseUse.VACANT, 8))
        )

    def build_village(self) -> None:
        rng = self.rng
        group = 0
        while self.people_count < self.quota:
            group += 1
            estate = f"{self.community.name}{_CHINESE_NUMBERS[min(group, 20)]}组"
            for door in range(1, rng.randint(25, 60) + 1):
                if self.people_count >= self.quota:
                    break
                floors = rng.randint(2, 5)
                b = self.building(
                    road=None,
                    door=str(door),
                    estate=estate,
                    number="",
                    floors=floors,
                    kind=BuildingType.RURAL_SELF_BUILT,
                )
                home = self.house(
                    b, None, "1楼", 1, rng.uniform(90, 200), HouseUse.OWNER_OCCUPIED, PropertyType.SELF_BUILT
                )
                self.occupy(home)
                # Upper floors let to students and workers (出租屋): a floor of rooms per house.
                if floors >= 3 and rng.random() < 0.5:
                    for floor in range(3, floors + 1):
                        let = self.people_count < self.quota and rng.random() < 0.85
                        use = HouseUse.RENTED if let else HouseUse.VACANT
                        area = rng.uniform(60, 110)
                        room = self.house(b, None, f"{floor}楼", floor, area, use, PropertyType.SELF_BUILT)
                        self.occupy(room, room=True)

    def build_shops(self) -> None:
        """A row of street shops (沿街商铺) with their businesses, a few companies, key places."""
        rng = self.rng
        count = max(3, round(self.quota / 100))
        b = self.building(
            road=self.roads[0],
            door=str(rng.randrange(1, 30) * 2 + 1),
            estate="",
            number="商铺",
            floors=2,
            kind=BuildingType.COMMERCIAL,
        )
        shops = [
            self.house(
                b, None, f"1{k:02d}", 1, rng.uniform(20, 120), HouseUse.BUSINESS, PropertyType.COMMODITY
            )
            for k in range(1, count + 1)
        ]
        for shop in shops:
            kind, industry = rng.choice(SHOP_KINDS)
            self.organization(
                {
                    "name": f"长沙市岳麓区{rng.choice(SHOP_WORDS)}{kind}",
                    "uscc": self.uscc("92"),
                    "type": OrganizationType.INDIVIDUAL_BUSINESS,
                    "legal_representative": surname(rng)
                    + given_name(rng, rng.choice(("male", "female")), 1980),
                    "contact_phone": mobile(rng),
                    "staff_count": rng.randint(1, 6),
                    "industry": industry,
                },
                b.region,
                house=shop,
            )
        for _ in range(max(1, count // 4)):
            kind, industry = rng.choice(COMPANY_KINDS)
            city = "湖南" if rng.random() < 0.5 else "长沙"
            self.organization(
                {
                    "name": f"{city}{rng.choice(COMPANY_WORDS)}{kind}",
                    "uscc": self.uscc("91"),
                    "type": OrganizationType.ENTERPRISE,
                    "legal_representative": surname(rng) + given_name(rng, "male", 1975),
                    "contact_name": surname(rng) + given_name(rng, "female", 1990),
                    "contact_phone": landline(rng),
                    "staff_count": rng.randint(5, 200),
                    "industry": industry,
                },
                b.region,
                house=rng.choice(shops),
            )
        self.build_key_places()

    def build_key_places(self) -> None:
        rng = self.rng
        short = self.community.name.removesuffix("社区").removesuffix("村")
        places: list[tuple[str, str, str, str]] = []  # kind, name, registrar, organization type
        if self.village:
            places.append((KeyPlaceKind.RENTAL_CLUSTER, f"{self.community.name}出租屋集中区", "", ""))
            if rng.random() < 0.5:
                places.append(
                    (
                        KeyPlaceKind.CONSTRUCTION_SITE,
                        f"{short}安置房项目工地",
                        "91",
                        OrganizationType.ENTERPRISE,
                    )
                )
        else:
            places.append(
                (KeyPlaceKind.MARKET, f"{short}农贸市场", "92", OrganizationType.INDIVIDUAL_BUSINESS)
            )
            if rng.random() < 0.5:
                places.append(
                    (
                        KeyPlaceKind.SCHOOL,
                        f"长沙市岳麓区{short}小学",
                        "12",
                        OrganizationType.PUBLIC_INSTITUTION,
                    )
                )
            else:
                places.append(
                    (
                        KeyPlaceKind.KINDERGARTEN,
                        f"岳麓区{short}幼儿园",
                        "12",
                        OrganizationType.PUBLIC_INSTITUTION,
                    )
                )
            for chance, kind, template, registrar, org_type in OPTIONAL_PLACES:
                if rng.random() < chance:
                    name = template.format(short=short, word=rng.choice(SHOP_WORDS))
                    places.append((kind, name, registrar, org_type))
        for kind, name, registrar, org_type in places:
            site = self.building(
                road=rng.choice(self.roads),
                door=str(rng.randrange(1, 300)),
                estate="",
                number="",
                floors=rng.randint(1, 5),
                kind=BuildingType.PUBLIC if registrar in ("12", "52", "") else BuildingType.COMMERCIAL,
            )
            org = None
            if registrar:
                org = self.organization(
                    {
                        "name": name,
                        "uscc": self.uscc(registrar),
                        "type": org_type,
                        "legal_representative": surname(rng) + given_name(rng, "male", 1970),
                        "contact_phone": landline(rng),
                        "staff_count": rng.randint(3, 120),
                    },
                    site.region,
                    building=site,
                )
            data = services.clean_key_place_data(
                {
                    "name": name,
                    "kind": kind,
                    "risk_level": _weighted(
                        rng, ((RiskLevel.LOW, 50), (RiskLevel.MEDIUM, 40), (RiskLevel.HIGH, 10))
                    ),
                    "risk_notes": RISK_NOTES.get(kind, ""),
                }
            )
            data.update(
                region=site.region,
                region_code=site.region_code,
                building=site,
                organization=org,
                address=site.address,
            )
            self.key_places.append(KeyPlace(**data))

    def uscc(self, registrar: str) -> str:
        """A credit code not used before (the partition digit keeps parallel workers apart)."""
        for _ in range(100):
            code = make_uscc(self.rng, registrar, partition=self.partition)
            if code not in self.gen.used_uscc:
                self.gen.used_uscc.add(code)
                return code
        raise RuntimeError("no free credit code")

    def organization(
        self,
        data: dict[str, Any],
        region: Region,
        *,
        house: House | None = None,
        building: Building | None = None,
    ) -> Organization:
        cleaned = services.clean_organization_data(data)
        site = house or building
        cleaned.update(
            region=region,
            region_code=region.code,
            house=house,
            building=house.building if house else building,
            address=site.address if site else "",
        )
        org = Organization(**cleaned)
        self.organizations.append(org)
        return org

    # --- people ---

    def occupy(self, house: House, *, room: bool = False) -> None:
        """Put one household (owner-occupied) or one group of tenants (rented) in a house."""
        rng = self.rng
        if house.use == HouseUse.OWNER_OCCUPIED:
            kinds = OWNER_FAMILIES_VILLAGE if self.village else OWNER_FAMILIES_URBAN
            self.family(house, make_family(rng, _weighted(rng, kinds)))
        elif house.use == HouseUse.RENTED:
            self.family(house, make_family(rng, "tenant_rooms" if room else _weighted(rng, TENANT_GROUPS)))
        if house.use in (HouseUse.RENTED, HouseUse.VACANT) and not room and rng.random() < 0.5:
            self.let_houses.append(house)  # its owner lives elsewhere in the community (see write)

    def family(self, house: House, fam: Family) -> None:
        rng, gen = self.rng, self.gen
        family_name = surname(rng)
        if fam.tenants:
            residence_type = ResidenceType.FLOATING if rng.random() < 0.7 else ResidenceType.RESIDENT
        else:
            residence_type = ResidenceType.REGISTERED if rng.random() < 0.85 else ResidenceType.RESIDENT
        birth_county = self.birth_county(residence_type)
        moved_in = gen.today - dt.timedelta(days=rng.randrange(30, 365 * (3 if fam.tenants else 25)))
        foreigner = fam.kind == "tenant_single" and not self.village and rng.random() < 0.02
        household: _Household | None = None
        if not fam.tenants:
            household = _Household(
                number=f"{self.community.code[6:]}{len(self.households) + 1:05d}", house=house, start=moved_in
            )
            self.households.append(household)
        for i, m in enumerate(fam.members):
            birth = birth_date_for(rng, m.age, gen.today)
            if fam.kind in ("tenant_single", "tenant_rooms") and i:
                family_name = surname(rng)  # flatmates are not related
                birth_county = self.birth_county(residence_type)
            # Children take the head's surname; spouses and in-laws keep their own.
            kin = m.relation_to_head in (
                RelationToHead.HEAD,
                RelationToHead.CHILD,
                RelationToHead.GRANDCHILD,
            ) or (m.relation_to_head == RelationToHead.PARENT and m.sex == Sex.MALE)
            if foreigner and i == 0:
                data = self.foreigner_data(birth)
            else:
                data = self.person_data(m, birth, birth_county, residence_type)
                data["name"] = (family_name if kin else surname(rng)) + given_name(rng, m.sex, birth.year)
            t0 = time.perf_counter()
            cleaned = services.clean_person_data(data)
            t1 = gen.clock("clean_person_data", t0)
            person = services.person_build(cleaned, region=house.region, house=house)
            person.created_at = person.updated_at = gen.now  # the load's time, like an import's
            gen.clock("person_build", t1)
            home = _Home(person, house, m.relation, max(moved_in, birth))
            self.homes.append(home)
            self.residents.append(
                _Resident(person, m.age, fam.kind, m.relation_to_head, fam.tenants, home, household)
            )
            if household is not None:
                if m.relation_to_head == RelationToHead.HEAD:
                    household.head = person
                household.members.append((person, m.relation_to_head, home))
            self.people_count += 1

    def birth_county(self, residence_type: str) -> str:
        rng, counties = self.rng, self.gen.hunan_counties
        if residence_type == ResidenceType.REGISTERED:
            if rng.random() < 0.55:
                return COUNTY
            return rng.choice(CHANGSHA_COUNTIES) if rng.random() < 0.5 else rng.choice(counties)
        if residence_type == ResidenceType.RESIDENT:
            return rng.choice(CHANGSHA_COUNTIES) if rng.random() < 0.5 else rng.choice(counties)
        return rng.choice(counties) if rng.random() < 0.55 else rng.choice(OTHER_PROVINCE_COUNTIES)[0]

    def person_data(self, m: Member, birth: dt.date, county: str, residence_type: str) -> dict[str, Any]:
        rng = self.rng
        age = m.age
        phone = ""
        if age >= 12 and rng.random() < (0.5 if age < 18 else 0.45 if age >= 80 else 0.96):
            phone = mobile(rng)
        if residence_type == ResidenceType.REGISTERED:
            hukou, hukou_code = self.prefix, self.community.code
        else:
            hukou, hukou_code = self.gen.county_place.get(county, ""), county
        work_unit, occupation, education = "", "", ""
        if 6 <= age < 19:
            education = Education.PRIMARY if age < 12 else Education.JUNIOR if age < 15 else Education.SENIOR
            occupation = "学生"
        elif age >= 19:
            education = _weighted(
                rng,
                EDUCATION_BEFORE_1960
                if birth.year < 1960
                else EDUCATION_BEFORE_1980
                if birth.year < 1980
                else EDUCATION_SINCE_1980,
            )
            if age >= 60:
                occupation = "退休"
            elif age < 23 and rng.random() < 0.6:
                occupation = "学生"
            elif rng.random() < 0.85:
                work_unit, occupation = rng.choice(WORK)
        if age < 14:
            political = ""
        elif age < 28 and rng.random() < 0.35:
            political = PoliticalStatus.LEAGUE_MEMBER
        elif age >= 18 and rng.random() < (0.12 if age >= 60 else 0.07):
            political = PoliticalStatus.PARTY_MEMBER
        elif age >= 25 and rng.random() < 0.004:
            political = PoliticalStatus.DEMOCRATIC_PARTY
        else:
            political = PoliticalStatus.MASSES
        return {
            "id_number": self.gen.id_number(rng, county, birth, m.sex, self.partition),
            "phone": phone,
            "ethnicity": _weighted(rng, ETHNIC_MIX),
            "residence_type": residence_type,
            "hukou_address": hukou,
            "hukou_region_code": hukou_code,
            "work_unit": work_unit,
            "occupation": occupation,
            "education": education,
            "marital_status": (m.marital or MaritalStatus.SINGLE) if age >= 16 else "",
            "political_status": political,
        }

    def foreigner_data(self, birth: dt.date) -> dict[str, Any]:
        """A foreign student or teacher with a passport: birth date and sex given, not derived."""
        rng = self.rng
        name, nationality, sex = rng.choice(FOREIGNERS)
        return {
            "name": name,
            "id_type": IdType.PASSPORT,
            "id_number": f"{nationality[0]}{rng.randrange(10**8):08d}",
            "birth_date": birth,
            "sex": sex,
            "nationality": nationality,
            "residence_type": ResidenceType.FOREIGN,
            "phone": mobile(rng),
            "occupation": rng.choice(("留学生", "外籍教师")),
            "work_unit": rng.choice(("湖南大学", "中南大学", "湖南师范大学")),
        }

    # --- departures in the past, tags ---

    def departures(self) -> None:
        """Some grown children moved out of the area and some grandparents died before the load:
        their records stay with the community, their home and membership ended."""
        rng, today = self.rng, self.gen.today
        for r in self.residents:
            if r.tenant or r.relation_to_head == RelationToHead.HEAD:
                continue
            if r.relation_to_head == RelationToHead.CHILD and 18 <= r.age <= 35 and rng.random() < 0.025:
                r.departed = PersonStatus.MOVED_OUT
                self.moved_out += 1
            elif (
                r.relation_to_head in (RelationToHead.PARENT, RelationToHead.PARENT_IN_LAW)
                and r.age >= 75
                and rng.random() < 0.04
            ):
                r.departed = PersonStatus.DECEASED
                self.died += 1
            else:
                continue
            day = max(r.home.start, today - dt.timedelta(days=rng.randrange(20, 700)))
            r.person.status, r.person.status_date, r.person.house = r.departed, day, None
            r.home.end = day

    def tag(self, r: _Resident, code: str, *, source: str = "", **extra: Any) -> None:
        rng = self.rng
        start = max(r.home.start, self.gen.today - dt.timedelta(days=rng.randrange(10, 2000)))
        verifier = self.gen.verifiers.get(self.community.code)
        self.tags.append(
            _Tag(
                r.person,
                self.gen.categories[code],
                source or _weighted(rng, TAG_SOURCES),
                start,
                verified_by=verifier if verifier is not None and rng.random() < 0.7 else None,
                **extra,
            )
        )

    def assign_tags(self) -> None:
        """Care tags at rates close to Hunan's statistics; the age groups (60+, 80+) come from the
        birth date and need no tag. A few restricted and secret tags."""
        rng = self.rng
        department = TagSource.DEPARTMENT
        # Dibao is granted to households: this share of them, rounded at random.
        share = len(self.households) * (0.02 if self.village else 0.012)
        chosen = rng.sample(self.households, min(len(self.households), int(share + rng.random())))
        low_income = {id(h) for h in chosen}
        for r in self.residents:
            if r.departed:
                continue
            age, sex, chance = r.age, r.person.sex, rng.random
            if r.family == "elderly_alone" and age >= 60:
                self.tag(r, "living_alone")
                if chance() < (0.12 if self.village else 0.03):
                    self.tag(r, "extreme_poverty", source=department)
            if r.family == "elderly_couple" and age >= 60:
                self.tag(r, "empty_nest")
            if age >= 60 and chance() < (0.12 if age >= 80 else 0.03):
                self.tag(r, "disabled_elderly")
            if chance() < (0.012 if age < 18 else 0.02 if age < 60 else 0.05):
                kind = rng.choice(DISABILITY_TYPES)
                self.tag(r, "disabled", source=department, subtype=kind, grade=str(rng.randint(1, 4)))
            if (
                r.family == "skipped_generation"
                and r.relation_to_head == RelationToHead.GRANDCHILD
                and age < 16
            ):
                self.tag(r, "left_behind_child")
            if age < 18 and chance() < 0.003:
                self.tag(r, "child_in_difficulty", source=department)
            if r.household is not None and id(r.household) in low_income:
                self.tag(r, "low_income", source=department)
            if sex == Sex.MALE and age >= 35 and chance() < 0.05:
                self.tag(r, "veteran", source=department)
            if 25 <= age <= 55 and not r.person.work_unit and chance() < 0.1:
                self.tag(r, "unemployed", source=TagSource.APPLICATION)
            if sex == Sex.FEMALE and 22 <= age <= 38 and chance() < 0.025:
                self.tag(r, "pregnant", valid_to=self.gen.today + dt.timedelta(days=rng.randrange(30, 300)))
            # Restricted special groups and the secret one: rare.
            if 18 <= age <= 60 and chance() < 0.0004:
                self.tag(r, "community_correction", source=department)
            if 25 <= age <= 70 and chance() < (0.001 if sex == Sex.MALE else 0.0002):
                self.tag(r, "released_prisoner", source=department)
            if 20 <= age <= 55 and chance() < 0.0004:
                self.tag(r, "drug_user", source=department)
            if 14 <= age <= 25 and chance() < 0.0015:
                self.tag(r, "key_youth")
            if age >= 18 and chance() < 0.0015:
                self.tag(r, "severe_mental_disorder", source=department)

    # --- writing ---

    def write(self) -> RegistrySummary:
        gen, rng, timings = self.gen, self.rng, self.gen.timings
        # Landlords: owners of let and vacant flats who live in another house of the community.
        owners = [
            r
            for r in self.residents
            if not r.tenant
            and not r.departed
            and r.age >= 30
            and r.relation_to_head in (RelationToHead.HEAD, RelationToHead.SPOUSE)
        ]
        for house in self.let_houses if owners else ():
            owner = rng.choice(owners)
            since = gen.today - dt.timedelta(days=rng.randrange(200, 5000))
            self.homes.append(_Home(owner.person, house, ResidenceRelation.OWNER, since, lives_here=False))
        people = [r.person for r in self.residents]
        bulk_insert(Building, self.buildings, timings=timings)
        bulk_insert(Unit, self.units, timings=timings)
        bulk_insert(House, self.houses, timings=timings)
        bulk_insert(Person, people, timings=timings)
        insert_rows(
            Residence,
            [
                {
                    "person_id": h.person.pk,
                    "house_id": h.house.pk,
                    "relation": h.relation,
                    "lives_here": h.lives_here,
                    "start_date": h.start,
                    "end_date": h.end,
                    "region_code": h.house.region_code,
                }
                for h in self.homes
            ],
            timings=timings,
        )
        households = [h for h in self.households if h.head is not None]
        keys = insert_rows(
            Household,
            [
                {
                    "number": h.number,
                    "kind": HouseholdKind.FAMILY,
                    "head_id": h.head.pk,  # type: ignore[union-attr]
                    "house_id": h.house.pk,
                    "region_id": h.house.region_id,
                    "region_code": h.house.region_code,
                    "start_date": h.start,
                }
                for h in households
            ],
            timings=timings,
        )
        for household, key in zip(households, keys, strict=True):
            household.pk = key
        insert_rows(
            HouseholdMember,
            [
                {
                    "household_id": h.pk,
                    "person_id": person.pk,
                    "relation_to_head": relation,
                    "start_date": home.start,
                    "end_date": home.end,
                }
                for h in households
                for person, relation, home in h.members
            ],
            timings=timings,
        )
        insert_rows(
            PersonTag,
            [
                {
                    "person_id": t.person.pk,
                    "category_id": t.category.pk,
                    "region_code": t.person.region_code,
                    "source": t.source,
                    "subtype": t.subtype,
                    "grade": t.grade,
                    "valid_from": t.valid_from,
                    "valid_to": t.valid_to,
                    "verified_by_id": t.verified_by.pk if t.verified_by else None,
                    "verified_at": gen.now if t.verified_by else None,
                }
                for t in self.tags
            ],
            timings=timings,
        )
        bulk_insert(Organization, self.organizations, timings=timings)
        bulk_insert(KeyPlace, self.key_places, timings=timings)
        entries = self.timeline(households)
        insert_rows(TimelineEntry, entries, timings=timings)
        summary = RegistrySummary(
            communities=1,
            roads=len(self.roads),
            buildings=len(self.buildings),
            houses=len(self.houses),
            people=len(people),
            households=len(households),
            organizations=len(self.organizations),
            key_places=len(self.key_places),
            tags=len(self.tags),
            restricted_tags=sum(1 for t in self.tags if t.category.is_restricted),
            timeline_entries=len(entries),
            moved_out=self.moved_out,
            deceased=self.died,
        )
        # One audit entry for the whole community: a bulk load by the operator (module docstring).
        audit.record(
            "registry.demo_load",
            region_code=self.community.code,
            object_type="region",
            object_id=self.community.code,
            detail={
                f.name: getattr(summary, f.name)
                for f in fields(summary)
                if f.name not in ("seconds", "timings")
            },
        )
        return summary

    def timeline(self, households: Iterable[_Household]) -> list[dict[str, Any]]:
        """First entries of each person, household and tag, with the parameters the services use."""
        entries: list[dict[str, Any]] = []
        for r in self.residents:
            person = r.person
            base = {"object_type": "person", "object_id": person.pk, "region_code": person.region_code}
            home = r.home
            entries.append(
                base
                | {
                    "action": "person.register",
                    "params": {"address": home.house.address, "date": str(home.start)},
                }
            )
            if r.departed == PersonStatus.MOVED_OUT:
                destination = self.rng.choice(DESTINATIONS)
                entries.append(
                    base
                    | {
                        "action": "person.move_out",
                        "params": {"destination": destination, "date": str(home.end)},
                    }
                )
            elif r.departed == PersonStatus.DECEASED:
                entries.append(base | {"action": "person.death", "params": {"date": str(home.end)}})
        for h in households:
            entries.append(
                {
                    "object_type": "household",
                    "object_id": h.pk,
                    "region_code": h.house.region_code,
                    "action": "household.create",
                    "params": {"kind": HouseholdKind.FAMILY},
                }
            )
        for t in self.tags:
            entries.append(
                {
                    "object_type": "person",
                    "object_id": t.person.pk,
                    "region_code": t.person.region_code,
                    "action": "tag.add",
                    "tag_category_id": t.category.pk,
                    "params": {"source": t.source, "valid_from": str(t.valid_from)},
                }
            )
        return entries
