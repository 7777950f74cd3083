"""Forms of the grid pages. They parse what a browser sends; the services validate and decide
(transitions, lengths, photos, departments), and their errors are put back on these fields. Field
names follow the services' argument and error names so that errors land where they belong."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms
from django.db.models import Q
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from shequ.core.forms import DateInput, PhotosInput, PlatformForm, RegionPickerField
from shequ.core.models import Department, DepartmentKind, Region, RegionLevel
from shequ.core.permissions import Viewer, scope_q
from shequ.grid import selectors
from shequ.grid.models import AlertState, Category, Source, Ticket, Urgency
from shequ.grid.permissions import GridPerm as P
from shequ.grid.selectors import TicketFilters
from shequ.grid.services import (
    COMMENT_MAX,
    EXTENSION_MAX_DAYS,
    MAX_PHOTOS,
    PHOTO_MAX_BYTES,
    TEXT_MAX,
    TITLE_MAX,
)

OFF = {"autocomplete": "off"}
TEL = forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"})
NUMERIC = forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})


def choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    return field


def model_field(form: forms.Form, name: str) -> forms.ModelChoiceField[Any]:
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)
    return field


def _photos_help_text() -> str:
    return gettext("Up to %(n)d JPEG, PNG or WebP photos, %(mb)d MB each.") % {
        "n": MAX_PHOTOS,
        "mb": PHOTO_MAX_BYTES >> 20,
    }


_photos_help = lazy(_photos_help_text, str)


def photos_input() -> PhotosInput:
    """The photo input with the services' limits (no ``capture`` on the plain input: it would
    open only the camera on Android, never the gallery; core/photos.js offers both)."""
    return PhotosInput(max_count=MAX_PHOTOS, max_bytes=PHOTO_MAX_BYTES)


class PhotosField(forms.FileField):
    """Up to nine photos in one input; the services check type, size and pixels."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Photos"))
        # Lazily: a lazy string formatted here would be frozen in the language active at import.
        kwargs.setdefault("help_text", _photos_help())
        kwargs.setdefault("widget", photos_input())
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if isinstance(data, list | tuple):
            files = [super(PhotosField, self).clean(d, initial) for d in data if d]
        else:
            files = [super().clean(data, initial)] if data else []
        if len(files) > MAX_PHOTOS:
            raise forms.ValidationError(_("At most %(n)d photos.") % {"n": MAX_PHOTOS})
        return files


def text_area(
    label: Any, max_length: int, *, required: bool = True, rows: int = 3, help_text: Any = ""
) -> Any:
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


def category_choices(*, blank: Any = "—", include_inactive: bool = False) -> list[tuple[Any, Any]]:
    """Leaf categories grouped under their main types (an <optgroup> per main type)."""
    cats = Category.objects.select_related("parent").order_by("sort_order", "code")
    if not include_inactive:
        cats = cats.filter(is_active=True)
    roots = [c for c in cats if c.parent_id is None]
    leaves = [c for c in cats if c.parent_id is not None]
    groups: list[tuple[Any, Any]] = [("", blank)] if blank is not None else []
    for root in roots:
        options = [(c.code, c.name_zh) for c in leaves if c.parent_id == root.pk]
        if options:
            groups.append((root.name_zh, options))
    return groups


class CategoryChoiceField(forms.ChoiceField):
    """A leaf category by code; the service checks it is active and a leaf."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Category"))
        super().__init__(choices=category_choices, **kwargs)


def departments_for(ticket: Ticket) -> list[Department]:
    """Active departments whose area covers the ticket (nearest first)."""
    found = [
        d for d in Department.objects.filter(is_active=True) if ticket.region_code.startswith(d.region_code)
    ]
    found.sort(key=lambda d: (-len(d.region_code), d.name))
    return found


# The classifier's probabilities in words a worker reads at a glance (grid/classifier.py): the
# share is shown only when the model is quite sure; below that a number like 22 % reads as noise.
LIKELY, POSSIBLE = 0.6, 0.3


def suggestion_words(name: str, confidence: float | None) -> str:
    """The suggestion in words: 系统建议：很可能是“消防隐患”（把握 85%）, …可能是…, or an unsure guess."""
    if confidence is None:  # a keyword match (no model): no measure of how sure
        return _("Suggested: %(name)s") % {"name": name}
    if confidence >= LIKELY:
        return _("Suggested: very likely %(name)s (%(percent)d %% sure)") % {
            "name": name,
            "percent": round(confidence * 100),
        }
    if confidence >= POSSIBLE:
        return _("Suggested: possibly %(name)s") % {"name": name}
    return _("A guess: %(name)s (not sure; check it against the description)") % {"name": name}


class TicketForm(PlatformForm):
    """An action form about one ticket; knows the ticket for its choices."""

    def __init__(self, *args: Any, ticket: Ticket, **kwargs: Any) -> None:
        self.ticket = ticket
        super().__init__(*args, **kwargs)


class AcceptForm(TicketForm):
    category = CategoryChoiceField(required=True)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices)
    comment = text_area(_("Note"), COMMENT_MAX, required=False, rows=2)

    # Shown only while the ticket's urgent alarm is live: accepting it as normal clears that alarm,
    # which (like "Clear a false alarm") needs the reason.
    clear_reason = text_area(
        _("Why it is not urgent"),
        COMMENT_MAX,
        required=False,
        rows=2,
        help_text=_(
            "Only if you accept it as normal: this clears its urgent alarm as a false alarm, with this "
            "reason (the same as “Clear a false alarm”)."
        ),
    )

    def __init__(self, *args: Any, ticket: Ticket, **kwargs: Any) -> None:
        super().__init__(*args, ticket=ticket, **kwargs)
        suggested = ticket.suggested_category
        current = ticket.category or suggested
        self.initial.setdefault("category", current.code if current else "")
        self.initial.setdefault("urgency", ticket.urgency)
        alert = selectors.urgent_alert(ticket)
        if alert is None or alert.state == AlertState.CLEARED:
            del self.fields["clear_reason"]
        if suggested is not None:
            self.fields["category"].help_text = suggestion_words(
                suggested.name_zh, ticket.suggestion_confidence
            )


class PhotosForm(TicketForm):
    """More photos for an open ticket, with an optional word about them."""

    photos = PhotosField(required=True)
    comment = text_area(_("About the photos"), COMMENT_MAX, required=False, rows=2)


class RecategorizeForm(TicketForm):
    category = CategoryChoiceField(required=True)

    def __init__(self, *args: Any, ticket: Ticket, **kwargs: Any) -> None:
        super().__init__(*args, ticket=ticket, **kwargs)
        self.initial.setdefault("category", ticket.category.code if ticket.category else "")


class ResultForm(TicketForm):
    """Close on the spot, handle in the community, resolve in the department."""

    result = text_area(_("What was done"), TEXT_MAX, rows=4)
    photos = PhotosField()


class DepartmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class DispatchForm(TicketForm):
    department = DepartmentChoiceField(label=_("Department"), queryset=Department.objects.none())
    comment = text_area(_("Note for the department"), COMMENT_MAX, required=False, rows=2)

    def __init__(self, *args: Any, ticket: Ticket, default: Department | None = None, **kwargs: Any) -> None:
        super().__init__(*args, ticket=ticket, **kwargs)
        options = departments_for(ticket)
        field = model_field(self, "department")
        field.queryset = Department.objects.filter(pk__in=[d.pk for d in options]).order_by("name")
        if default is not None:
            self.initial.setdefault("department", default.pk)
            field.help_text = _("Routing suggests: %(name)s") % {"name": default.name}


class MergeForm(TicketForm):
    into = forms.CharField(
        label=_("Number of the ticket to merge into"),
        max_length=20,
        widget=NUMERIC,
        help_text=_("The 14-digit ticket number, e.g. 20260315000123."),
    )


class ConfirmForm(TicketForm):
    """A step without required input (the department accepting): the hidden confirmation keeps a
    bare POST from taking it."""

    confirm = forms.BooleanField(widget=forms.HiddenInput, initial=True)
    comment = text_area(_("Note"), COMMENT_MAX, required=False, rows=2)


class RequiredCommentForm(TicketForm):
    comment = text_area(_("Reply"), COMMENT_MAX, rows=3)


class ReasonForm(TicketForm):
    reason = text_area(_("Reason"), COMMENT_MAX, rows=2)


class ExtensionRequestForm(TicketForm):
    days = forms.IntegerField(
        label=_("More working days"), min_value=1, max_value=EXTENSION_MAX_DAYS, widget=NUMERIC
    )
    reason = text_area(_("Reason"), COMMENT_MAX, rows=2)


class DecisionForm(TicketForm):
    """Two buttons: yes or no (extension decisions, verification); a comment needed for no."""

    YES, NO = "yes", "no"
    decision = forms.ChoiceField(choices=[(YES, YES), (NO, NO)], widget=forms.HiddenInput)
    comment = text_area(
        _("Reason or note"), COMMENT_MAX, required=False, rows=2, help_text=_("Needed when you say no.")
    )

    @property
    def yes(self) -> bool:
        return self.cleaned_data.get("decision") == self.YES


class SuperviseForm(TicketForm):
    decision = forms.ChoiceField(
        label=_("Decision"),
        widget=forms.RadioSelect,
        choices=[
            ("redispatch", _("Dispatch again")),
            ("return", _("Back to the community")),
            ("close", _("Close with an explanation")),
        ],
    )
    department = DepartmentChoiceField(
        label=_("Department (when dispatching again)"), queryset=Department.objects.none(), required=False
    )
    comment = text_area(_("Explanation"), COMMENT_MAX, rows=3)

    def __init__(self, *args: Any, ticket: Ticket, **kwargs: Any) -> None:
        super().__init__(*args, ticket=ticket, **kwargs)
        options = departments_for(ticket)
        field = model_field(self, "department")
        field.queryset = Department.objects.filter(pk__in=[d.pk for d in options]).order_by("name")
        if ticket.department_id:
            self.initial.setdefault("department", ticket.department_id)


# --- Lists and staff entry ---------------------------------------------------------------------


class FilterForm(PlatformForm):
    """The filters of the queues and the list (GET); unknown values are ignored, not errors."""

    q = forms.CharField(label=_("Title or number"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("Status"), required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)
    source = forms.ChoiceField(label=_("Source"), required=False, choices=[("", "—"), *Source.choices])
    colour = forms.ChoiceField(
        label=_("Deadline"),
        required=False,
        choices=[
            ("", "—"),
            ("green", _("On time")),
            ("yellow", _("Due soon")),
            ("red", _("Overdue")),
        ],
    )
    region = forms.ChoiceField(label=_("Area"), required=False)

    def __init__(
        self, *args: Any, statuses: list[tuple[str, Any]], regions: list[tuple[str, str]], **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        choice_field(self, "status").choices = [("", "—"), *statuses]
        main = [
            (c.code, c.name_zh)
            for c in Category.objects.filter(parent__isnull=True, is_active=True).order_by("sort_order")
        ]
        choice_field(self, "category").choices = [
            ("", "—"),
            (_("Main types"), main),
            *category_choices(blank=None),
        ]
        choice_field(self, "region").choices = [("", "—"), *regions]
        if len(regions) < 2:
            del self.fields["region"]

    def filters(self, *, open_only: bool = False) -> TicketFilters:
        """The valid filters (an unknown value is dropped, not an error: these are links)."""
        self.is_valid()

        def get(name: str) -> str:
            return str(self.cleaned_data.get(name) or "").strip()

        return TicketFilters(
            status=get("status"),
            category=get("category"),
            source=get("source"),
            colour=get("colour"),
            region=get("region"),
            q=get("q"),
            open_only=open_only,
        )


def report_regions(viewer: Viewer) -> list[Region]:
    """Grids and communities where the viewer may enter a ticket (staff entry or patrol)."""
    q = scope_q(viewer, P.REPORT, "code") | scope_q(viewer, P.PATROL, "code")
    return list(
        Region.objects.filter(q, level__in=[RegionLevel.GRID, RegionLevel.COMMUNITY]).order_by("code")[:500]
    )


class ClientKeyField(forms.UUIDField):
    """A fresh key each time a ticket form is drawn (``selectors.sent_from_form``): the same form
    posted twice — a double tap, or the app sending a form it kept offline after a first sending
    that did reach us — makes one ticket."""

    def __init__(self) -> None:
        super().__init__(required=False, widget=forms.HiddenInput, initial=uuid.uuid4)


class NewTicketForm(PlatformForm):
    """A ticket entered by staff: someone walked in or phoned, or a grid worker's patrol."""

    source = forms.ChoiceField(
        label=_("How it reached us"),
        widget=forms.RadioSelect,
        choices=[(Source.STAFF, _("Walk-in or phone call")), (Source.PATROL, _("Found on patrol"))],
        initial=Source.STAFF,
    )
    region = forms.ChoiceField(label=_("Grid or community"))
    client_key = ClientKeyField()
    category = CategoryChoiceField(required=False, help_text=_("Leave empty to decide when accepting."))
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, initial=Urgency.NORMAL)
    title = forms.CharField(label=_("Ticket title"), max_length=TITLE_MAX, widget=forms.TextInput(attrs=OFF))
    description = text_area(_("What is the problem?"), TEXT_MAX, rows=4)
    address = forms.CharField(label=_("Address or place"), max_length=200, required=False)
    house = forms.IntegerField(
        label=_("House number in the base data (optional)"),
        required=False,
        min_value=1,
        widget=NUMERIC,
        help_text=_("The number shown on the house page of the base data."),
    )
    contact_name = forms.CharField(
        label=_("Contact name"), max_length=50, required=False, widget=forms.TextInput(attrs=OFF)
    )
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=20, required=False, widget=TEL)
    photos = PhotosField()

    def __init__(self, *args: Any, regions: list[Region], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.regions = {r.code: r for r in regions}
        choice_field(self, "region").choices = [(r.code, f"{r.name} {r.code}") for r in regions]
        if len(regions) == 1:
            self.initial.setdefault("region", regions[0].code)

    def clean_region(self) -> Region:
        return self.regions[self.cleaned_data["region"]]


# --- Catalog and routing -----------------------------------------------------------------------


class CategoryNewForm(PlatformForm):
    parent = forms.ChoiceField(label=_("Main type"), required=False)
    code = forms.CharField(
        label=_("Code"),
        max_length=31,
        help_text=_("Lower-case letters, digits or _; it cannot be changed later (e.g. lift)."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        roots = Category.objects.filter(parent__isnull=True).order_by("sort_order")
        parent = self.fields["parent"]
        assert isinstance(parent, forms.ChoiceField)
        parent.choices = [("", _("— a new main type —")), *((str(c.pk), c.name_zh) for c in roots)]


class CategoryEditForm(PlatformForm):
    name_zh = forms.CharField(label=_("Chinese name"), max_length=40)
    name = forms.CharField(label=_("English name"), max_length=80)
    department_kind = forms.ChoiceField(
        label=_("Usual department kind"), required=False, choices=[("", "—"), *DepartmentKind.choices]
    )
    response_hours = forms.IntegerField(label=_("Response deadline (hours)"), min_value=1, widget=NUMERIC)
    resolution_days = forms.IntegerField(
        label=_("Resolution deadline (working days)"), min_value=1, widget=NUMERIC
    )
    urgent_response_hours = forms.IntegerField(
        label=_("Urgent: response deadline (hours)"), min_value=1, widget=NUMERIC
    )
    urgent_resolution_hours = forms.IntegerField(
        label=_("Urgent: resolution deadline (hours)"), min_value=1, widget=NUMERIC
    )
    keywords = forms.CharField(
        label=_("Keywords"),
        max_length=300,
        required=False,
        help_text=_("Words that point to this category, separated by spaces."),
    )
    is_active = forms.BooleanField(label=_("Active (offered on new tickets)"), required=False)

    FIELDS = (
        "name_zh",
        "name",
        "department_kind",
        "response_hours",
        "resolution_days",
        "urgent_response_hours",
        "urgent_resolution_hours",
        "keywords",
        "is_active",
    )


class RoutingRuleForm(PlatformForm):
    category = forms.ChoiceField(label=_("Category or main type"))
    region = RegionPickerField(
        label=_("Area"),
        help_text=_("Your area or any region below it: type a name and choose from the list."),
    )
    department = DepartmentChoiceField(label=_("Department"), queryset=Department.objects.none())
    auto_dispatch = forms.BooleanField(
        label=_("Dispatch staff-entered tickets at once"),
        required=False,
        help_text=_("For emergencies such as gas leaks: no community step."),
    )

    def __init__(self, *args: Any, viewer: Viewer, scopes: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(RegionPickerField, self.fields["region"]).limit_to(viewer, P.ROUTING)
        cats = Category.objects.filter(is_active=True).select_related("parent").order_by("sort_order", "code")
        choice_field(self, "category").choices = [
            ("", "—"),
            *[(c.code, f"{c.parent.name_zh} › {c.name_zh}" if c.parent else c.name_zh) for c in cats],
        ]
        q = Q(pk__in=[])
        for code in scopes:
            # Departments inside the area, or serving it from above.
            q |= Q(region_code__startswith=code) | Q(region_code__in=[code[:n] for n in range(2, len(code))])
        model_field(self, "department").queryset = Department.objects.filter(q, is_active=True).order_by(
            "region_code", "name"
        )

    def clean_category(self) -> Category:
        return Category.objects.get(code=self.cleaned_data["category"])


class RoutingDeleteForm(PlatformForm):
    rule = forms.IntegerField(widget=forms.HiddenInput)


class HolidayForm(PlatformForm):
    date = forms.DateField(label=_("Date"), widget=DateInput())
    name = forms.CharField(label=_("Name"), max_length=40, help_text=_("For example 国庆节 or 国庆调休."))
    is_workday = forms.BooleanField(
        label=_("A weekend day worked in exchange (调休)"),
        required=False,
        help_text=_("Leave unticked for a day off."),
    )


class HolidayDeleteForm(PlatformForm):
    date = forms.DateField(widget=forms.HiddenInput)
