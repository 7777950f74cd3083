"""Forms of the registry pages. They parse what a browser sends; the services validate and decide
(ID checksums, duplicates, dates, statuses), and their errors are put back on these fields.
Field names follow the services' argument and error names so that errors land where they belong."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.forms import DateInput, PlatformForm
from shequ.core.models import Region
from shequ.registry.models import (
    BuildingType,
    Education,
    Ethnicity,
    HouseholdKind,
    HouseUse,
    IdType,
    KeyPlaceKind,
    MaritalStatus,
    OrganizationType,
    PersonStatus,
    PoliticalStatus,
    PropertyType,
    RelationToHead,
    ResidenceRelation,
    ResidenceType,
    RiskLevel,
    Road,
    Sex,
    TagCategory,
    TagSource,
    Unit,
    VisitPurpose,
)

REASON_MAX = 500
DATE = DateInput()
TEL = forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"})
NUMERIC = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
CODE = forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"})


def choices(kind: type[TextChoices], blank: Any = "—") -> list[tuple[str, Any]]:
    options: list[tuple[str, Any]] = list(kind.choices)
    return [("", blank), *options] if blank is not None else options


def text(label: Any, max_length: int, *, required: bool = False, **kwargs: Any) -> forms.CharField:
    return forms.CharField(label=label, max_length=max_length, required=required, **kwargs)


def date_field(label: Any, *, required: bool = False, help_text: Any = "") -> forms.CharField:
    # Parsed by the services, which give the specific error (future dates, too far back …).
    return forms.CharField(label=label, required=required, max_length=20, widget=DATE, help_text=help_text)


def reason_field(*, required: bool = True, help_text: Any = "") -> forms.CharField:
    return forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX,
        required=required,
        help_text=help_text,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


# --- People -------------------------------------------------------------------------------------


class PersonFieldsForm(PlatformForm):
    """The fields of a person as ``services.clean_person_data`` takes them."""

    name = text(_("Name"), 50, required=True, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    id_type = forms.ChoiceField(label=_("ID type"), choices=choices(IdType, None), initial=IdType.RESIDENT_ID)
    id_number = text(_("ID number"), 40, widget=CODE)
    birth_date = date_field(_("Date of birth"), help_text=_("Taken from a resident ID number."))
    sex = forms.ChoiceField(label=_("Sex"), choices=choices(Sex), required=False)
    phone = text(_("Mobile number"), 20, widget=TEL)
    ethnicity = forms.ChoiceField(label=_("Ethnic group"), choices=choices(Ethnicity), required=False)
    residence_type = forms.ChoiceField(
        label=_("Residence type"), choices=choices(ResidenceType, None), initial=ResidenceType.REGISTERED
    )
    hukou_address = text(_("Household registration place"), 200)
    work_unit = text(_("Work unit"), 100)
    occupation = text(_("Occupation"), 50)
    education = forms.ChoiceField(label=_("Education"), choices=choices(Education), required=False)
    marital_status = forms.ChoiceField(
        label=_("Marital status"), choices=choices(MaritalStatus), required=False
    )
    political_status = forms.ChoiceField(
        label=_("Political status"), choices=choices(PoliticalStatus), required=False
    )
    nationality = text(
        _("Nationality"), 3, widget=CODE, help_text=_("Three-letter country code for foreigners, e.g. USA.")
    )

    PERSON_FIELDS = (
        "name",
        "id_type",
        "id_number",
        "birth_date",
        "sex",
        "phone",
        "ethnicity",
        "residence_type",
        "hukou_address",
        "work_unit",
        "occupation",
        "education",
        "marital_status",
        "political_status",
        "nationality",
    )

    def person_data(self) -> dict[str, Any]:
        return {f: self.cleaned_data.get(f, "") for f in self.PERSON_FIELDS if f in self.fields}


class PersonRegisterForm(PersonFieldsForm):
    relation = forms.ChoiceField(
        label=_("Relation to the house"), choices=choices(ResidenceRelation, None), initial="family"
    )
    since = date_field(_("Living here since"), help_text=_("Leave empty for today."))
    household = forms.TypedChoiceField(
        label=_("Household"), required=False, coerce=int, empty_value=None, choices=[]
    )
    relation_to_head = forms.ChoiceField(
        label=_("Relation to the head of the household"), choices=choices(RelationToHead), required=False
    )

    def __init__(self, *args: Any, households: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        field = self.fields["household"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("None (not in a household here)"))] + [
            (h.pk, _("Household of %(head)s") % {"head": h.head.name if h.head else h.number or h.pk})
            for h in households
        ]


class PersonCorrectForm(PersonFieldsForm):
    """Every field optional: only what differs from the current value is sent. The ID and phone
    numbers start empty (they are never put into a page in full): empty keeps the current value."""

    reason = reason_field(help_text=_("For example: checked against the ID card on a visit."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = field is self.fields["reason"]
        self.fields["id_number"].help_text = _("Leave empty to keep the current number.")
        self.fields["phone"].help_text = _("Leave empty to keep the current number.")


QUICK_REASONS = [
    ("visit", _("Checked on a visit")),
    ("resident", _("Told by the resident")),
    ("document", _("Checked against a document")),
]


class QuickReasonForm(PlatformForm):
    """A reason in one tap (a grid worker on the stairs), or typed."""

    quick_reason = forms.ChoiceField(label=_("Pick a reason"), choices=QUICK_REASONS, initial="visit")
    reason_text = text(_("Or another reason"), REASON_MAX)

    def reason(self) -> str:
        typed = self.cleaned_data.get("reason_text") or ""
        if typed.strip():
            return typed
        return str(dict(QUICK_REASONS).get(self.cleaned_data.get("quick_reason", ""), ""))


class PersonQuickForm(QuickReasonForm):
    phone = text(
        _("New mobile number"), 20, widget=TEL, help_text=_("Leave empty to keep the current number.")
    )
    residence_type = forms.ChoiceField(label=_("Residence type"), choices=choices(ResidenceType, None))


class HouseUseForm(QuickReasonForm):
    use = forms.ChoiceField(label=_("Use of the house"), choices=choices(HouseUse, None))


class MoveInForm(PlatformForm):
    """Someone who moved out of the area earlier comes back: found by their document number."""

    id_type = forms.ChoiceField(label=_("ID type"), choices=choices(IdType, None), initial=IdType.RESIDENT_ID)
    id_number = text(_("ID number"), 40, required=True, widget=CODE)
    relation = forms.ChoiceField(
        label=_("Relation to the house"), choices=choices(ResidenceRelation, None), initial="family"
    )
    on = date_field(_("Moved in on"), help_text=_("Leave empty for today."))
    reason = reason_field(required=False)


class MoveForm(PlatformForm):
    house = forms.IntegerField(label=_("New home"), min_value=1, widget=forms.RadioSelect)
    relation = forms.ChoiceField(
        label=_("Relation to the new house"),
        choices=[("", _("As before")), *list(ResidenceRelation.choices)],
        required=False,
    )
    on = date_field(_("Moved on"), help_text=_("Leave empty for today."))
    reason = reason_field(required=False)


class HouseSearchForm(PlatformForm):
    q = text(
        _("Find the new home by address"),
        100,
        required=True,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
        help_text=_("Part of the address, e.g. the road and building: 麓山南路12号 3栋."),
    )


class MoveOutForm(PlatformForm):
    on = date_field(_("Moved out on"), help_text=_("Leave empty for today."))
    destination = text(_("Moved to"), 200, help_text=_("Where the person went, if known."))
    reason = reason_field(required=False)


class DeathForm(PlatformForm):
    on = date_field(_("Date of death"), required=True)
    reason = reason_field(required=False, help_text=_("For example: death certificate number."))


class RevealForm(PlatformForm):
    field = forms.ChoiceField(choices=[("id_number", "id_number"), ("phone", "phone"), ("contact_phone", "")])
    reason = reason_field(help_text=_("Your reason is written to the audit log."))


# --- Tags ---------------------------------------------------------------------------------------


class TagAddForm(PlatformForm):
    category = forms.ChoiceField(label=_("Population tag"), choices=[])
    source = forms.ChoiceField(label=_("Source"), choices=choices(TagSource, None), initial=TagSource.SURVEY)
    valid_from = date_field(_("Valid from"), help_text=_("Leave empty for today."))
    valid_to = date_field(_("Valid until"), help_text=_("Leave empty when open-ended."))
    subtype = text(_("Subtype"), 30, help_text=_("For example the kind of disability."))
    grade = text(_("Grade"), 10, help_text=_("For example the disability grade."))
    note = forms.CharField(
        label=_("Note"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, categories: list[TagCategory] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        field = self.fields["category"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "—")] + [(c.code, c.label) for c in categories]


class TagEndForm(PlatformForm):
    on = date_field(_("Ended on"), help_text=_("Leave empty for today."))
    reason = reason_field()


# --- Places -------------------------------------------------------------------------------------


class BuildingForm(PlatformForm):
    road = forms.ModelChoiceField(label=_("Road"), queryset=Road.objects.none(), required=False)
    door_number = text(_("Door number"), 20, help_text=_("For example 12 (of 12号)."))
    estate = text(_("Estate"), 60)
    number = text(_("Building number"), 20, help_text=_("For example 3 (of 3栋)."))
    name = text(_("Building name"), 60)
    type = forms.ChoiceField(
        label=_("Type"), choices=choices(BuildingType, None), initial=BuildingType.RESIDENTIAL
    )
    floors = text(_("Floors above ground"), 5, widget=NUMERIC)
    basement_floors = text(_("Floors below ground"), 5, widget=NUMERIC)
    latitude = text(_("Latitude"), 20, widget=NUMERIC)
    longitude = text(_("Longitude"), 20, widget=NUMERIC)

    def __init__(self, *args: Any, roads: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["road"]
        assert isinstance(field, forms.ModelChoiceField)
        if roads is not None:
            field.queryset = roads

    def building_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if not data.get("basement_floors"):
            data["basement_floors"] = 0
        return data


class UnitForm(PlatformForm):
    number = text(_("Unit number"), 20, required=True, help_text=_("For example 2 (of 2单元)."))


class HouseForm(PlatformForm):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.none(), required=False)
    floor = text(_("Floor"), 5, widget=NUMERIC, help_text=_("Negative below ground."))
    number = text(_("House number"), 20, required=True, help_text=_("For example 301."))
    area = text(_("Floor area (m²)"), 12, widget=NUMERIC)
    use = forms.ChoiceField(label=_("Use"), choices=choices(HouseUse, None), initial=HouseUse.OWNER_OCCUPIED)
    property_type = forms.ChoiceField(
        label=_("Property right"), choices=choices(PropertyType, None), initial=PropertyType.COMMODITY
    )

    def __init__(self, *args: Any, units: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["unit"]
        assert isinstance(field, forms.ModelChoiceField)
        if units is not None:
            field.queryset = units


class HouseEditForm(HouseForm):
    """Only the fields that differ from the current values are sent."""

    reason = reason_field(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["unit"]
        self.fields["number"].required = False


class RegionField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.code})"


class RegionChoiceForm(PlatformForm):
    region = RegionField(label=_("Grid or community"), queryset=Region.objects.none(), required=False)

    def __init__(self, *args: Any, regions: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["region"]
        assert isinstance(field, forms.ModelChoiceField)
        if regions is not None:
            field.queryset = regions


# "Name" alone is a person's name (姓名); an organization or a place has a 名称.
PLACE_NAME = pgettext_lazy("organization or place", "Name")


class OrganizationForm(RegionChoiceForm):
    name = text(PLACE_NAME, 100, required=True)
    uscc = text(_("Unified social credit code"), 18, widget=CODE)
    type = forms.ChoiceField(
        label=_("Type"), choices=choices(OrganizationType, None), initial=OrganizationType.ENTERPRISE
    )
    legal_representative = text(_("Legal representative"), 50)
    contact_name = text(_("Contact person"), 50)
    contact_phone = text(_("Contact phone"), 20, widget=TEL)
    staff_count = text(_("Staff"), 9, widget=NUMERIC)
    industry = text(_("Industry"), 60)
    address = text(_("Address"), 255, help_text=_("Only when the organization is not at a registered house."))

    FIELDS = (
        "name",
        "uscc",
        "type",
        "legal_representative",
        "contact_name",
        "contact_phone",
        "staff_count",
        "industry",
        "address",
    )


class KeyPlaceForm(RegionChoiceForm):
    name = text(PLACE_NAME, 100, required=True)
    kind = forms.ChoiceField(label=_("Kind"), choices=choices(KeyPlaceKind))
    risk_level = forms.ChoiceField(
        label=_("Risk level"), choices=choices(RiskLevel, None), initial=RiskLevel.LOW
    )
    risk_notes = forms.CharField(
        label=_("Risk notes"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    address = text(_("Address"), 255, help_text=_("Only when the place is not at a registered house."))

    FIELDS = ("name", "kind", "risk_level", "risk_notes", "address")


# --- Visits and search --------------------------------------------------------------------------


class VisitForm(PlatformForm):
    purpose = forms.ChoiceField(
        label=_("Purpose"), choices=choices(VisitPurpose, None), initial=VisitPurpose.ROUTINE
    )
    visited_at = forms.DateTimeField(
        label=_("Visited at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Leave empty for now."),
    )
    notes = forms.CharField(
        label=_("Notes"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    findings = forms.CharField(
        label=_("Findings"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Problems found, needs, risks."),
    )
    follow_up_date = date_field(_("Follow up by"), help_text=_("Set a date to be reminded of another visit."))


class SearchForm(PlatformForm):
    q = text(
        _("Name, pinyin, ID number, phone or address"),
        100,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    # Chinese text in the box is a name; part of an address (road, estate) goes here.
    address = text(_("Address"), 100)
    tag = forms.ChoiceField(label=_("Population tag"), choices=[], required=False)
    age_min = forms.IntegerField(label=_("Age from"), min_value=0, max_value=150, required=False)
    age_max = forms.IntegerField(label=_("Age to"), min_value=0, max_value=150, required=False)
    residence_type = forms.ChoiceField(
        label=_("Residence type"), choices=choices(ResidenceType, _("Any")), required=False
    )
    sex = forms.ChoiceField(label=_("Sex"), choices=choices(Sex, _("Any")), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[*PersonStatus.choices, ("all", _("Any"))],
        required=False,
        initial=PersonStatus.ACTIVE,
    )

    def __init__(self, *args: Any, categories: list[TagCategory] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        field = self.fields["tag"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("Any"))] + [(c.code, c.label) for c in categories]
        for name in ("age_min", "age_max"):
            self.fields[name].widget.attrs["inputmode"] = "numeric"


class HouseholdCreateForm(PlatformForm):
    number = text(_("Household number"), 30, widget=CODE)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=choices(HouseholdKind, None), initial=HouseholdKind.FAMILY
    )


# --- Editing a household ------------------------------------------------------------------------

# The head is chosen with the head form; every other member has one of these relations.
MEMBER_RELATIONS: list[tuple[str, Any]] = [
    (c, label) for c, label in RelationToHead.choices if c != RelationToHead.HEAD
]


class HouseholdMemberSearchForm(PlatformForm):
    q = text(
        _("Find the person to add"),
        50,
        required=True,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
        help_text=_("Name, pinyin initials, ID number or phone of someone registered in your area."),
    )


class HouseholdMemberAddForm(PlatformForm):
    relation_to_head = forms.ChoiceField(
        label=_("Relation to the head"), choices=[("", "—"), *MEMBER_RELATIONS]
    )
    since = date_field(_("Member since"), help_text=_("Leave empty for today."))


class HouseholdRelationForm(PlatformForm):
    relation_to_head = forms.ChoiceField(label=_("Relation to the head"), choices=MEMBER_RELATIONS)


class HouseholdMemberRemoveForm(PlatformForm):
    reason = reason_field(help_text=_("E.g. moved to a child's household, married out."))


class HouseholdHeadForm(PlatformForm):
    person = forms.TypedChoiceField(label=_("New head"), coerce=int, choices=[])
    former_head_relation = forms.ChoiceField(
        label=_("The former head's relation to the new head"),
        choices=MEMBER_RELATIONS,
        initial=RelationToHead.PARENT,
    )
    reason = reason_field(help_text=_("E.g. the former head died or handed over."))

    def __init__(self, *args: Any, members: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["person"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "—"), *members]
