"""Base data (一标三实): standard addresses, actual houses, actual population, actual units.

Every region-owned row carries ``region`` (its lowest region: a grid, or a community without
grids) and ``region_code`` (the indexed copy that scopes are matched against by prefix). Rows are
written only through ``services``; read them through ``selectors``.

Sizing: a county holds about a million people. The person table keeps only the indexes that
searches and scopes use; on PostgreSQL each ``db_index`` CharField also gets a
``varchar_pattern_ops`` index, so prefix searches (``LIKE 'zeng%'``) use an index under any
collation.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.fields import BlindIndexField, EncryptedModel, EncryptedTextField
from shequ.core.models import Region
from shequ.core.personal import mask_id_number, mask_phone

CODE_LENGTH = 15


class RegionOwned(models.Model):
    """``region`` is the lowest region the row belongs to; ``region_code`` is its scope key."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    region_code = models.CharField(_("region code"), max_length=CODE_LENGTH, db_index=True)

    class Meta:
        abstract = True


class Stamped(models.Model):
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        abstract = True


# --- Standard addresses and houses (标准地址, 实有房屋) -----------------------------------------


class Road(RegionOwned, Stamped):
    """A road, street or lane (街路巷); it belongs to a community or a street."""

    name = models.CharField(_("name"), max_length=60)

    class Meta:
        verbose_name = _("road")
        verbose_name_plural = _("roads")
        ordering: ClassVar = ["region_code", "name"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["region", "name"], name="registry_road_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class BuildingType(models.TextChoices):
    RESIDENTIAL = "residential", _("Residential")
    COMMERCIAL = "commercial", _("Commercial")
    OFFICE = "office", _("Office")
    MIXED = "mixed", _("Mixed residential and commercial")
    PUBLIC = "public", _("Public building")
    RURAL_SELF_BUILT = "rural_self_built", _("Rural self-built house")


class Building(RegionOwned, Stamped):
    """A building (楼栋) at a door number (门牌号) of a road; ``region`` is its grid."""

    road = models.ForeignKey(
        Road,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="buildings",
        verbose_name=_("road"),
    )
    door_number = models.CharField(_("door number"), max_length=20, blank=True)
    estate = models.CharField(_("estate"), max_length=60, blank=True)  # 小区
    number = models.CharField(_("building number"), max_length=20, blank=True)
    name = models.CharField(_("building name"), max_length=60, blank=True)
    type = models.CharField(
        _("type"), max_length=20, choices=BuildingType.choices, default=BuildingType.RESIDENTIAL
    )
    floors = models.PositiveSmallIntegerField(_("floors above ground"), null=True, blank=True)
    basement_floors = models.PositiveSmallIntegerField(_("floors below ground"), default=0)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    address = models.CharField(_("standard address"), max_length=255, blank=True, db_index=True)

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        ordering: ClassVar = ["region_code", "address"]

    def __str__(self) -> str:
        return self.address or self.name or self.number


class Unit(Stamped):
    """A stairway unit (单元) of a building."""

    building = models.ForeignKey(
        Building, on_delete=models.PROTECT, related_name="units", verbose_name=_("building")
    )
    number = models.CharField(_("unit number"), max_length=20)
    region_code = models.CharField(_("region code"), max_length=CODE_LENGTH, db_index=True)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering: ClassVar = ["building_id", "number"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["building", "number"], name="registry_unit_unique_number"),
        ]

    def __str__(self) -> str:
        return self.number


class HouseUse(models.TextChoices):
    OWNER_OCCUPIED = "owner_occupied", _("Owner-occupied")
    RENTED = "rented", _("Rented")
    VACANT = "vacant", _("Vacant")
    BUSINESS = "business", _("Business")


class PropertyType(models.TextChoices):
    COMMODITY = "commodity", _("Commodity housing")
    PUBLIC_RENTAL = "public_rental", _("Public rental housing")
    AFFORDABLE = "affordable", _("Affordable housing")
    SELF_BUILT = "self_built", _("Self-built housing")
    COLLECTIVE = "collective", _("Collective-owned housing")
    OTHER = "other", _("Other")


class House(RegionOwned, Stamped):
    """A house or flat (户室): the place people live in and organizations work from."""

    building = models.ForeignKey(
        Building, on_delete=models.PROTECT, related_name="houses", verbose_name=_("building")
    )
    unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="houses", verbose_name=_("unit")
    )
    floor = models.SmallIntegerField(_("floor"), null=True, blank=True)  # negative below ground
    number = models.CharField(_("house number"), max_length=20)
    area = models.DecimalField(_("floor area (m²)"), max_digits=8, decimal_places=2, null=True, blank=True)
    use = models.CharField(_("use"), max_length=20, choices=HouseUse.choices, default=HouseUse.OWNER_OCCUPIED)
    property_type = models.CharField(
        _("property right"), max_length=20, choices=PropertyType.choices, default=PropertyType.COMMODITY
    )
    address = models.CharField(_("standard address"), max_length=255, blank=True, db_index=True)

    class Meta:
        verbose_name = _("house")
        verbose_name_plural = _("houses")
        ordering: ClassVar = ["region_code", "address"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["building", "unit", "number"],
                condition=Q(unit__isnull=False),
                name="registry_house_unique_in_unit",
            ),
            models.UniqueConstraint(
                fields=["building", "number"],
                condition=Q(unit__isnull=True),
                name="registry_house_unique_in_building",
            ),
        ]

    def __str__(self) -> str:
        return self.address or self.number


# --- People (实有人口) --------------------------------------------------------------------------


class IdType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("Resident ID card")
    PASSPORT = "passport", _("Passport")
    HK_MACAO = "hk_macao", _("Hong Kong/Macao permit")
    TAIWAN = "taiwan", _("Taiwan permit")
    FOREIGN_PERMANENT = "foreign_permanent", _("Foreigner's permanent residence card")
    OTHER = "other", _("Other document")


class Sex(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class ResidenceType(models.TextChoices):
    REGISTERED = "registered", _("Registered resident")  # 户籍人口
    RESIDENT = "resident", _("Resident, registered elsewhere")  # 常住人口 (人户分离)
    FLOATING = "floating", _("Floating population")  # 流动人口
    FOREIGN = "foreign", _("Foreign national")  # 境外人员


class PersonStatus(models.TextChoices):
    ACTIVE = "active", _("Living here")
    MOVED_OUT = "moved_out", _("Moved out")
    DECEASED = "deceased", _("Deceased")


class Ethnicity(models.TextChoices):
    """The 56 ethnic groups with their GB/T 3304 codes."""

    HAN = "01", _("Han")
    MONGOL = "02", _("Mongol")
    HUI = "03", _("Hui")
    TIBETAN = "04", _("Tibetan")
    UYGHUR = "05", _("Uyghur")
    MIAO = "06", _("Miao")
    YI = "07", _("Yi")
    ZHUANG = "08", _("Zhuang")
    BOUYEI = "09", _("Bouyei")
    KOREAN = "10", _("Korean")
    MANCHU = "11", _("Manchu")
    DONG = "12", _("Dong")
    YAO = "13", _("Yao")
    BAI = "14", _("Bai")
    TUJIA = "15", _("Tujia")
    HANI = "16", _("Hani")
    KAZAKH = "17", _("Kazakh")
    DAI = "18", _("Dai")
    LI = "19", _("Li")
    LISU = "20", _("Lisu")
    VA = "21", _("Va")
    SHE = "22", _("She")
    GAOSHAN = "23", _("Gaoshan")
    LAHU = "24", _("Lahu")
    SUI = "25", _("Sui")
    DONGXIANG = "26", _("Dongxiang")
    NAXI = "27", _("Naxi")
    JINGPO = "28", _("Jingpo")
    KYRGYZ = "29", _("Kyrgyz")
    TU = "30", _("Tu")
    DAUR = "31", _("Daur")
    MULAO = "32", _("Mulao")
    QIANG = "33", _("Qiang")
    BLANG = "34", _("Blang")
    SALAR = "35", _("Salar")
    MAONAN = "36", _("Maonan")
    GELAO = "37", _("Gelao")
    XIBE = "38", _("Xibe")
    ACHANG = "39", _("Achang")
    PUMI = "40", _("Pumi")
    TAJIK = "41", _("Tajik")
    NU = "42", _("Nu")
    UZBEK = "43", _("Uzbek")
    RUSSIAN = "44", _("Russian")
    EVENK = "45", _("Evenk")
    DEANG = "46", _("De'ang")
    BONAN = "47", _("Bonan")
    YUGUR = "48", _("Yugur")
    GIN = "49", _("Gin")
    TATAR = "50", _("Tatar")
    DERUNG = "51", _("Derung")
    OROQEN = "52", _("Oroqen")
    HEZHEN = "53", _("Hezhen")
    MONBA = "54", _("Monba")
    LHOBA = "55", _("Lhoba")
    JINO = "56", _("Jino")
    OTHER = "97", _("Other (not identified)")
    NATURALIZED = "98", _("Naturalized citizen of foreign origin")


# Chinese names of the groups as written in ledgers (汉族 / 汉), for imports.
_ETHNICITY_ZH_NAMES = (  # noqa: SIM905 - a list literal would be one very long line
    "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 "
    "哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 景颇 柯尔克孜 土 "
    "达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 "
    "俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 "
    "基诺 其他 外国血统"
).split()
ETHNICITY_ZH: dict[str, str] = dict(zip(Ethnicity.values, _ETHNICITY_ZH_NAMES, strict=True))


class Education(models.TextChoices):
    NONE = "none", _("No schooling")
    PRIMARY = "primary", _("Primary school")
    JUNIOR = "junior", _("Junior secondary")
    SENIOR = "senior", _("Senior secondary or vocational")
    COLLEGE = "college", _("Junior college")
    BACHELOR = "bachelor", _("Bachelor's degree")
    POSTGRADUATE = "postgraduate", _("Postgraduate")


class MaritalStatus(models.TextChoices):
    SINGLE = "single", _("Never married")
    MARRIED = "married", _("Married")
    DIVORCED = "divorced", _("Divorced")
    WIDOWED = "widowed", _("Widowed")


class PoliticalStatus(models.TextChoices):
    PARTY_MEMBER = "party_member", _("Communist Party member")
    PROBATIONARY = "probationary", _("Probationary Party member")
    LEAGUE_MEMBER = "league_member", _("Communist Youth League member")
    DEMOCRATIC_PARTY = "democratic_party", _("Member of a democratic party")
    MASSES = "masses", _("Ordinary citizen")


class Person(EncryptedModel, RegionOwned, Stamped):
    """A person in the actual population. ``region`` is where they live now (or lived last, for
    people who moved out of the platform's area or died); ``house`` is their current home."""

    # No index of its own: scopes filter on region_code (one index less on a million rows).
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", db_index=False, verbose_name=_("region")
    )
    # Names are found by prefix in byte order (registry.search), so they are indexed with pattern ops
    # only (Meta.indexes): a collation-ordered twin served no query and slowed every bulk import.
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    name_pinyin = models.CharField(_("name in pinyin"), max_length=200, editable=False)
    name_initials = models.CharField(_("pinyin initials"), max_length=50, editable=False)
    id_type = models.CharField(
        _("ID type"), max_length=20, choices=IdType.choices, default=IdType.RESIDENT_ID
    )
    id_number = EncryptedTextField(_("ID number"))
    # No separate index: the unique constraint below starts with this column.
    id_number_index = BlindIndexField(source="id_number", purpose="id_number", db_index=False)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True, db_index=True)
    sex = models.CharField(_("sex"), max_length=6, choices=Sex.choices, blank=True)
    phone = EncryptedTextField(_("mobile number"))
    # Exact lookups only: a plain index (Meta.indexes), without the pattern-ops twin PostgreSQL gets
    # for a db_index on a varchar (nobody prefix-searches an HMAC).
    phone_index = BlindIndexField(source="phone", purpose="phone", db_index=False)
    ethnicity = models.CharField(_("ethnic group"), max_length=2, choices=Ethnicity.choices, blank=True)
    nationality = models.CharField(
        _("nationality"), max_length=3, blank=True
    )  # ISO 3166 alpha-3 for foreigners
    residence_type = models.CharField(
        _("residence type"), max_length=12, choices=ResidenceType.choices, default=ResidenceType.REGISTERED
    )
    hukou_address = models.CharField(_("household registration place"), max_length=200, blank=True)
    hukou_region_code = models.CharField(_("household registration region code"), max_length=12, blank=True)
    work_unit = models.CharField(_("work unit"), max_length=100, blank=True)
    occupation = models.CharField(_("occupation"), max_length=50, blank=True)
    education = models.CharField(_("education"), max_length=15, choices=Education.choices, blank=True)
    marital_status = models.CharField(
        _("marital status"), max_length=10, choices=MaritalStatus.choices, blank=True
    )
    political_status = models.CharField(
        _("political status"), max_length=20, choices=PoliticalStatus.choices, blank=True
    )
    status = models.CharField(
        _("status"), max_length=10, choices=PersonStatus.choices, default=PersonStatus.ACTIVE
    )
    status_date = models.DateField(_("status since"), null=True, blank=True)
    house = models.ForeignKey(
        House,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="people",
        verbose_name=_("current home"),
    )

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering: ClassVar = ["region_code", "name_pinyin", "pk"]
        constraints: ClassVar = [
            # Exactly one person per identity document in the whole platform.
            models.UniqueConstraint(
                fields=["id_number_index", "id_type"],
                condition=~Q(id_number_index=""),
                name="registry_person_unique_id_number",
            ),
        ]
        indexes: ClassVar = [
            # A search by initials lists its matches by initials, then pinyin (registry.search):
            # this index yields them in that order, so a page needs no sort of every match. It
            # also serves every other lookup on the initials.
            models.Index(
                fields=["name_initials", "name_pinyin"],
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops"],
                name="registry_person_initials_idx",
            ),
            models.Index(fields=["name"], opclasses=["varchar_pattern_ops"], name="registry_person_name_idx"),
            models.Index(
                fields=["name_pinyin"], opclasses=["varchar_pattern_ops"], name="registry_person_pinyin_idx"
            ),
            models.Index(fields=["phone_index"], name="registry_person_phone_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    def age(self, on: date | None = None) -> int | None:
        if self.birth_date is None:
            return None
        on = on or timezone.localdate()
        born = self.birth_date
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class ResidenceRelation(models.TextChoices):
    OWNER = "owner", _("Owner")
    FAMILY = "family", _("Family member")
    TENANT = "tenant", _("Tenant")
    LODGER = "lodger", _("Lodger")


class Residence(Stamped):
    """A person's link to a house over a period. ``lives_here`` is False for an owner who lets
    the house and lives elsewhere."""

    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="residences", verbose_name=_("person")
    )
    house = models.ForeignKey(
        House, on_delete=models.PROTECT, related_name="residences", verbose_name=_("house")
    )
    relation = models.CharField(_("relation"), max_length=10, choices=ResidenceRelation.choices)
    lives_here = models.BooleanField(_("lives here"), default=True)
    start_date = models.DateField(_("from"), default=timezone.localdate)
    end_date = models.DateField(_("until"), null=True, blank=True)
    region_code = models.CharField(_("region code"), max_length=CODE_LENGTH, db_index=True)

    class Meta:
        verbose_name = _("residence")
        verbose_name_plural = _("residences")
        ordering: ClassVar = ["-start_date", "pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["person", "house"],
                condition=Q(end_date__isnull=True),
                name="registry_residence_one_open_link",
            ),
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(end_date__isnull=True, lives_here=True),
                name="registry_residence_one_home",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} @ {self.house_id} ({self.relation})"

    @property
    def is_current(self) -> bool:
        return self.end_date is None


class HouseholdKind(models.TextChoices):
    FAMILY = "family", _("Family household")
    COLLECTIVE = "collective", _("Collective household")


class Household(RegionOwned, Stamped):
    """A household (户): the people registered together, with a head."""

    number = models.CharField(_("household number"), max_length=30, blank=True, db_index=True)
    kind = models.CharField(
        _("kind"), max_length=10, choices=HouseholdKind.choices, default=HouseholdKind.FAMILY
    )
    head = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("head")
    )
    house = models.ForeignKey(
        House,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="households",
        verbose_name=_("house"),
    )
    start_date = models.DateField(_("from"), default=timezone.localdate)
    end_date = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering: ClassVar = ["region_code", "number", "pk"]

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"


class RelationToHead(models.TextChoices):
    HEAD = "head", _("Head of household")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    CHILD_IN_LAW = "child_in_law", _("Son- or daughter-in-law")
    GRANDCHILD = "grandchild", _("Grandchild")
    PARENT = "parent", _("Parent")
    PARENT_IN_LAW = "parent_in_law", _("Parent-in-law")
    GRANDPARENT = "grandparent", _("Grandparent")
    SIBLING = "sibling", _("Brother or sister")
    OTHER_RELATIVE = "other_relative", _("Other relative")
    NON_RELATIVE = "non_relative", _("Not related")


class HouseholdMember(models.Model):
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="members", verbose_name=_("household")
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("person")
    )
    relation_to_head = models.CharField(
        _("relation to the head"), max_length=20, choices=RelationToHead.choices
    )
    start_date = models.DateField(_("from"), default=timezone.localdate)
    end_date = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("household member")
        verbose_name_plural = _("household members")
        ordering: ClassVar = ["household_id", "start_date", "pk"]
        constraints: ClassVar = [
            # A person belongs to one household at a time.
            models.UniqueConstraint(
                fields=["person"], condition=Q(end_date__isnull=True), name="registry_member_one_household"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} in {self.household_id} ({self.relation_to_head})"


# --- Organizations and key places (实有单位, 重点场所) --------------------------------------------


class OrganizationType(models.TextChoices):
    ENTERPRISE = "enterprise", _("Enterprise")
    INDIVIDUAL_BUSINESS = "individual_business", _("Individual business")
    GOVERNMENT = "government", _("Government agency")
    PUBLIC_INSTITUTION = "public_institution", _("Public institution")
    SOCIAL_ORGANIZATION = "social_organization", _("Social organization")
    OTHER = "other", _("Other")


class OrganizationStatus(models.TextChoices):
    OPERATING = "operating", _("Operating")
    SUSPENDED = "suspended", _("Suspended")
    MOVED_OUT = "moved_out", _("Moved out")
    CLOSED = "closed", _("Closed")


class Organization(EncryptedModel, RegionOwned, Stamped):
    """An actual unit (实有单位): a company, shop, agency or association at an address."""

    name = models.CharField(_("name"), max_length=100, db_index=True)
    uscc = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    type = models.CharField(
        _("type"), max_length=20, choices=OrganizationType.choices, default=OrganizationType.ENTERPRISE
    )
    building = models.ForeignKey(
        Building,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="organizations",
        verbose_name=_("building"),
    )
    house = models.ForeignKey(
        House,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="organizations",
        verbose_name=_("house"),
    )
    address = models.CharField(_("address"), max_length=255, blank=True)
    legal_representative = models.CharField(_("legal representative"), max_length=50, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True)
    contact_phone = EncryptedTextField(_("contact phone"))
    contact_phone_index = BlindIndexField(source="contact_phone", purpose="phone")
    staff_count = models.PositiveIntegerField(_("staff"), null=True, blank=True)
    industry = models.CharField(_("industry"), max_length=60, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=OrganizationStatus.choices, default=OrganizationStatus.OPERATING
    )

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering: ClassVar = ["region_code", "name", "pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["uscc"], condition=~Q(uscc=""), name="registry_org_unique_uscc"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_contact_phone(self) -> str:
        return mask_phone(self.contact_phone)


class KeyPlaceKind(models.TextChoices):
    SCHOOL = "school", _("School")
    KINDERGARTEN = "kindergarten", _("Kindergarten")
    HOSPITAL = "hospital", _("Hospital or clinic")
    MARKET = "market", _("Market")
    HAZARDOUS_GOODS = "hazardous_goods", _("Hazardous goods site")
    RENTAL_CLUSTER = "rental_cluster", _("Rental housing cluster")
    ELDERLY_HOME = "elderly_home", _("Elderly home")
    INTERNET_CAFE = "internet_cafe", _("Internet cafe")
    CONSTRUCTION_SITE = "construction_site", _("Construction site")
    RELIGIOUS_SITE = "religious_site", _("Religious site")
    OTHER = "other", _("Other")


class RiskLevel(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class KeyPlace(RegionOwned, Stamped):
    """A key place (重点场所) that grid workers inspect: a school, a market, a rental cluster …"""

    name = models.CharField(_("name"), max_length=100, db_index=True)
    kind = models.CharField(_("kind"), max_length=20, choices=KeyPlaceKind.choices)
    building = models.ForeignKey(
        Building,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="key_places",
        verbose_name=_("building"),
    )
    house = models.ForeignKey(
        House,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="key_places",
        verbose_name=_("house"),
    )
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="key_places",
        verbose_name=_("organization"),
    )
    address = models.CharField(_("address"), max_length=255, blank=True)
    risk_level = models.CharField(
        _("risk level"), max_length=10, choices=RiskLevel.choices, default=RiskLevel.LOW
    )
    risk_notes = models.TextField(_("risk notes"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("key place")
        verbose_name_plural = _("key places")
        ordering: ClassVar = ["region_code", "name", "pk"]

    def __str__(self) -> str:
        return self.name


# --- Key populations (重点人群) -----------------------------------------------------------------


class TagGroup(models.TextChoices):
    CARE = "care", _("Care")  # 关怀对象
    SPECIAL = "special", _("Special group")  # 特殊人群


class Sensitivity(models.TextChoices):
    NORMAL = "normal", _("Normal")
    RESTRICTED = "restricted", _("Restricted")
    SECRET = "secret", _("Secret")


# A grant of a sensitivity level covers that level and the levels below it.
SENSITIVITY_RANK = {Sensitivity.NORMAL: 0, Sensitivity.RESTRICTED: 1, Sensitivity.SECRET: 2}


class TagCategory(models.Model):
    """A population tag of the catalog (seeded from DOMAIN.md; editable)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60)
    name_zh = models.CharField(_("Chinese name"), max_length=30)
    group = models.CharField(_("group"), max_length=10, choices=TagGroup.choices)
    sensitivity = models.CharField(
        _("sensitivity"), max_length=10, choices=Sensitivity.choices, default=Sensitivity.NORMAL
    )
    description = models.TextField(_("description"), blank=True)
    # People of this age or older belong to the group by their birth date (60+, 80+).
    min_age = models.PositiveSmallIntegerField(_("from age"), null=True, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=100)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("population tag")
        verbose_name_plural = _("population tags")
        ordering: ClassVar = ["group", "sort_order", "code"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        from django.utils.translation import get_language

        return self.name_zh if (get_language() or "").startswith("zh") and self.name_zh else self.name

    @property
    def is_restricted(self) -> bool:
        return self.sensitivity != Sensitivity.NORMAL


class TagSource(models.TextChoices):
    SURVEY = "survey", _("Door-to-door survey")
    APPLICATION = "application", _("Resident's application")
    DEPARTMENT = "department", _("Department data")
    IMPORT = "import", _("Ledger import")
    OTHER = "other", _("Other")


class PersonTag(EncryptedModel, Stamped):
    """A person's membership of a key population over a period, and who verified it.
    ``region_code`` follows the person (so counts and grants scope by where they live now)."""

    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="tags", verbose_name=_("person")
    )
    category = models.ForeignKey(
        TagCategory, on_delete=models.PROTECT, related_name="+", verbose_name=_("tag")
    )
    region_code = models.CharField(_("region code"), max_length=CODE_LENGTH, db_index=True)
    source = models.CharField(_("source"), max_length=12, choices=TagSource.choices, default=TagSource.SURVEY)
    subtype = models.CharField(_("subtype"), max_length=30, blank=True)  # e.g. the kind of disability
    grade = models.CharField(_("grade"), max_length=10, blank=True)  # e.g. disability grade 1–4
    valid_from = models.DateField(_("valid from"), default=timezone.localdate)
    valid_to = models.DateField(_("valid until"), null=True, blank=True)
    note = EncryptedTextField(_("note"))  # may describe health or legal circumstances
    active = models.BooleanField(_("active"), default=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("verified by"),
    )
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    end_reason = models.CharField(_("reason for ending"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("person tag")
        verbose_name_plural = _("person tags")
        ordering: ClassVar = ["category__sort_order", "-valid_from", "pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["person", "category"],
                condition=Q(active=True),
                name="registry_tag_one_active_per_category",
            ),
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["category", "region_code"], condition=Q(active=True), name="registry_tag_active_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.category_id}"


class TagGrant(models.Model):
    """Lets one account see restricted tags — of one category, or of a whole sensitivity level
    (and the levels below it) — in a region subtree, until it expires or is revoked."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="tag_grants",
        verbose_name=_("account"),
    )
    category = models.ForeignKey(
        TagCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("tag")
    )
    sensitivity = models.CharField(
        _("sensitivity level"), max_length=10, choices=Sensitivity.choices, blank=True
    )
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    region_code = models.CharField(_("region code"), max_length=CODE_LENGTH, db_index=True)
    reason = models.TextField(_("reason"))
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField(_("granted"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("tag visibility grant")
        verbose_name_plural = _("tag visibility grants")
        ordering: ClassVar = ["-granted_at"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=(Q(category__isnull=False) & Q(sensitivity=""))
                | (
                    Q(category__isnull=True) & Q(sensitivity__in=[Sensitivity.RESTRICTED, Sensitivity.SECRET])
                ),
                name="registry_grant_category_or_level",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.category_id or self.sensitivity} in {self.region_code}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


# --- Dynamic management: the timeline -----------------------------------------------------------


class TimelineEntry(models.Model):
    """One change to a person, house, household, organization or place; nothing is overwritten
    without one. ``region_code`` is where the object was at the time, so a community keeps
    seeing its own part of a history after the person moved away. ``changes`` holds old → new
    values with ID and phone numbers masked."""

    object_type = models.CharField(max_length=20)
    object_id = models.BigIntegerField()
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40)
    params = models.JSONField(default=dict, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    # Set for entries about a population tag: they are shown only to those who may see the tag.
    tag_category = models.ForeignKey(
        TagCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering: ClassVar = ["-at", "-pk"]
        indexes: ClassVar = [
            models.Index(fields=["object_type", "object_id", "at"], name="registry_timeline_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.object_id}: {self.action}"

    @property
    def summary(self) -> str:
        """One line in the reader's language (see ``timeline.describe``)."""
        from shequ.registry.timeline import describe

        return describe(self)

    @property
    def change_rows(self) -> list[dict[str, Any]]:
        """Old → new under the fields' labels (see ``timeline.change_rows``)."""
        from shequ.registry.timeline import change_rows

        return change_rows(self)

    @property
    def who(self) -> str:
        """The person's name as tickets show it (``selectors.timeline_for`` reads it with the
        entry); the name kept at the time (older entries: the user name) once the account is gone."""
        return str(getattr(self, "actor_display", "") or self.actor_name)


# --- Visits (走访) ------------------------------------------------------------------------------


class VisitPurpose(models.TextChoices):
    ROUTINE = "routine", _("Routine visit")
    CARE = "care", _("Care visit")
    VERIFICATION = "verification", _("Checking registry data")
    DISPUTE = "dispute", _("Dispute or conflict")
    SAFETY = "safety", _("Safety inspection")
    FOLLOW_UP = "follow_up", _("Follow-up")
    OTHER = "other", _("Other")


class Visit(RegionOwned, Stamped):
    """A grid worker's recorded visit to a household, a person or a house."""

    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("visitor")
    )
    household = models.ForeignKey(
        Household,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
        verbose_name=_("household"),
    )
    person = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
        verbose_name=_("person"),
    )
    house = models.ForeignKey(
        House, null=True, blank=True, on_delete=models.PROTECT, related_name="visits", verbose_name=_("house")
    )
    visited_at = models.DateTimeField(_("visited"), default=timezone.now, db_index=True)
    purpose = models.CharField(
        _("purpose"), max_length=15, choices=VisitPurpose.choices, default=VisitPurpose.ROUTINE
    )
    notes = models.TextField(_("notes"), blank=True)
    findings = models.TextField(_("findings"), blank=True)
    follow_up_date = models.DateField(_("follow up by"), null=True, blank=True)
    follow_up_done_at = models.DateTimeField(_("followed up"), null=True, blank=True)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering: ClassVar = ["-visited_at", "-pk"]
        indexes: ClassVar = [
            models.Index(
                fields=["follow_up_date"],
                condition=Q(follow_up_date__isnull=False, follow_up_done_at__isnull=True),
                name="registry_visit_open_follow_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.visited_at:%Y-%m-%d} {self.purpose}"


# --- Imports (an uploaded ledger between its dry run and its commit) ------------------------------


class ImportKind(models.TextChoices):
    PEOPLE = "people", _("People")
    HOUSES = "houses", _("Houses")
    ORGANIZATIONS = "organizations", _("Organizations")


class ImportStatus(models.TextChoices):
    CHECKED = "checked", _("Checked, not imported yet")
    COMMITTED = "committed", _("Imported")
    EXPIRED = "expired", _("Expired")


class ImportBatch(EncryptedModel):
    """A file uploaded for import: the dry-run report, and the file itself until it is imported or
    expires. The file holds ID and phone numbers, so it is kept encrypted (``content``: base64 of
    the file, never revealable) and dropped after the commit. Only its uploader opens a batch."""

    kind = models.CharField(_("kind"), max_length=15, choices=ImportKind.choices)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    region_code = models.CharField(_("region code"), max_length=CODE_LENGTH, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    filename = models.CharField(_("file name"), max_length=200)
    content = EncryptedTextField(_("file"), secret=True)
    options = models.JSONField(default=dict, blank=True)
    report = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.CHECKED
    )
    committed_at = models.DateTimeField(_("imported"), null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering: ClassVar = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.filename}"
