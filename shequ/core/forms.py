"""Forms of the administration pages, and the base of every form in the platform (``PlatformForm``):
they parse and check input; the services decide."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.forms import BoundField
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from shequ.core.models import LEVEL_CODE_LENGTH, AuditResult, Department, Region, Role
from shequ.core.permissions import Perm, Viewer, codes_q, scopes_for

# What an empty select box says instead of Django's "---------" (or a bare dash on a required box).
CHOOSE = _("Choose…")
_DJANGO_DASHES = "---------"
_DASH = "—"


def choose_label(field: forms.Field) -> None:
    """Give a select box's empty option the words 请选择: Django's dashes always, and a bare dash
    when an answer is required (on an optional filter the dash stays: it means "any")."""
    if isinstance(field, forms.ModelChoiceField):
        if field.empty_label == _DJANGO_DASHES or (field.required and field.empty_label == _DASH):
            field.empty_label = CHOOSE
    elif isinstance(field, forms.ChoiceField):
        prompts = {_DJANGO_DASHES, _DASH} if field.required else {_DJANGO_DASHES}
        choices: list[tuple[Any, Any]] = list(cast(Iterable[tuple[Any, Any]], field.choices))
        if any(value == "" and label in prompts for value, label in choices):
            field.choices = [
                (value, CHOOSE if value == "" and label in prompts else label) for value, label in choices
            ]


class PlatformForm(forms.Form):
    """The base of every form in the platform (a test holds every form to it). Its select boxes
    start with 请选择 (``choose_label``), also for choices a form sets in its own ``__init__``:
    the label is set when a field is first bound for rendering."""

    def __getitem__(self, name: str) -> BoundField:
        if name in self.fields:
            choose_label(self.fields[name])
        return super().__getitem__(name)


def apply_service_errors(
    form: forms.Form, exc: ValidationError, aliases: dict[str, str] | None = None
) -> None:
    """Put a service's ValidationError on the form fields it names (``aliases``: service field →
    form field), others on the form itself."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for name, errors in exc.message_dict.items():
        name = (aliases or {}).get(name, name)
        form.add_error(name if name in form.fields else None, errors)


def significant_code(code: str) -> str:
    """``430104000000`` → ``430104``: a full 12-digit statistical code without its trailing zero
    groups (only whole level groups are dropped, so community ``…010`` stays intact)."""
    if len(code) != 12:
        return code
    for n in sorted(length for length in LEVEL_CODE_LENGTH.values() if length < 12):
        if set(code[n:]) == {"0"}:
            return code[:n]
    return code


class DateInput(forms.DateInput):
    """A browser date picker. Its value must be ISO (yyyy-mm-dd) whatever the page's language:
    the zh-Hans date format (2026/11/01) would leave the picker empty, and an edit form posted
    back unchanged would lose the date."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


# The longest edge a phone shrinks a photo to before sending it (core/photos.js): enough to read a
# house number or a crack at full screen, and a 12-megapixel photo goes from ~4 MB to ~0.4 MB.
PHOTO_EDGE = 1600
PHOTO_QUALITY = 0.85
PHOTO_TYPES = "image/jpeg,image/png,image/webp"


class PhotosInput(forms.FileInput):
    """The one photo input of the platform: a plain ``<input type=file multiple>`` that
    core/photos.js turns into thumbnails with remove buttons, a count, the camera on phones and
    photos shrunk on the phone before the form is posted. The server still checks everything."""

    allow_multiple_selected = True
    template_name = "core/widgets/photos.html"

    def __init__(self, *, max_count: int, max_bytes: int, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"accept": PHOTO_TYPES, **(attrs or {})})
        self.max_count, self.max_bytes = max_count, max_bytes

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"].update(
            max_count=self.max_count,
            max_bytes=self.max_bytes,
            max_mb=self.max_bytes >> 20,
            edge=PHOTO_EDGE,
            quality=PHOTO_QUALITY,
        )
        return context


# --- The region picker ---------------------------------------------------------------------------

REGION_OPTIONS_MAX = 300  # regions offered to browsers without JavaScript (a datalist); more: type
REGION_PICKER_HELP = _("Type part of a name or a statistical code, then choose from the list.")


class RegionPickerWidget(forms.TextInput):
    """A text box for a region: a code or a name. ``core/regionpicker.js`` turns it into a
    search-as-you-type list (combobox) fed by ``core:region_lookup`` and shows the chosen
    region's path; without JavaScript the browser offers the regions in scope from a datalist."""

    template_name = "core/widgets/region_picker.html"

    class Media:
        js = ("core/regionpicker.js",)

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        base = {"autocomplete": "off", "spellcheck": "false", "data-region-picker": ""}
        super().__init__(attrs={**base, **(attrs or {})})
        self.perm = ""
        self.options: list[tuple[str, str]] = []

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        from shequ.core.selectors import region_paths  # selectors import this module

        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        query = f"?perm={self.perm}" if self.perm else ""
        widget["attrs"]["data-lookup"] = reverse("core:region_lookup") + query
        if self.options:
            widget["attrs"]["list"] = f"{widget['attrs'].get('id', name)}_regions"
        widget["attrs"].update(
            {
                "data-msg-count": gettext("%s regions found; use the arrow keys to choose."),
                "data-msg-none": gettext("No region in your area matches."),
                "data-msg-children": gettext("%s chosen; you may go on and choose a region below it."),
                "data-msg-chosen": gettext("Chosen: %s"),
            }
        )
        widget["options"] = self.options
        code = str(widget.get("value") or "")
        path = region_paths([code]).get(code, []) if code.isdigit() else []
        widget["crumb"] = " › ".join(path)
        return context

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, Region):
            return value.code
        return super().format_value(value)


class RegionPickerField(forms.CharField):
    """A region chosen with the picker (a ``Region`` after cleaning). Call ``limit_to(viewer,
    perm)`` in the form's ``__init__``: regions outside the viewer's scopes for ``perm`` are
    refused with a specific error, and only those are offered."""

    widget = RegionPickerWidget

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 100)
        kwargs.setdefault("help_text", REGION_PICKER_HELP)
        super().__init__(**kwargs)
        self.scopes: list[str] | None = None

    def limit_to(self, viewer: Viewer, perm: str) -> None:
        self.scopes = scopes_for(viewer, perm)
        widget = self.widget
        assert isinstance(widget, RegionPickerWidget)
        widget.perm = perm
        in_scope = Region.objects.filter(codes_q(self.scopes, "code")).order_by("code")
        found = list(in_scope.values_list("code", flat=True)[:REGION_OPTIONS_MAX])
        from shequ.core.selectors import region_paths  # selectors import this module

        paths = region_paths(found)
        widget.options = [(code, " › ".join(paths.get(code, []))) for code in found]

    def clean(self, value: Any) -> Region | None:
        text = " ".join(str(super().clean(value) or "").split())
        if not text:
            return None
        region = self._find(text)
        if self.scopes is not None and not any(region.code.startswith(c) for c in self.scopes):
            raise forms.ValidationError(
                _("%(name)s (%(code)s) is not within your area."),
                params={"name": region.name, "code": region.code},
                code="region_scope",
            )
        return region

    def _find(self, text: str) -> Region:
        digits = "".join(text.split())
        if digits.isdigit():
            if len(digits) > 15:
                raise forms.ValidationError(
                    _("A region code has only digits (at most 15), e.g. 430104."), code="invalid_region_code"
                )
            region = (
                Region.objects.filter(code__in=[digits, significant_code(digits)]).order_by("-code").first()
            )
            if region is None:
                raise forms.ValidationError(
                    _("No region found with the code %(code)s."),
                    params={"code": digits},
                    code="unknown_region",
                )
            return region
        # A name typed without choosing from the list: accepted when exactly one region in scope has it.
        named = Region.objects.filter(name=text)
        if self.scopes is not None:
            named = named.filter(codes_q(self.scopes, "code"))
        found = list(named.order_by("code")[:2])
        if not found:
            raise forms.ValidationError(
                _("No region in your area is called %(name)s: type part of it and choose from the list."),
                params={"name": text},
                code="unknown_region",
            )
        if len(found) > 1:
            raise forms.ValidationError(
                _("Several regions are called %(name)s: choose one from the list or type its code."),
                params={"name": text},
                code="ambiguous_region",
            )
        return found[0]


class DepartmentChoiceField(forms.ModelChoiceField):
    """A department chosen from those serving the viewer's area (by code, so a posted code works)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", Department.objects.none())
        kwargs.setdefault("to_field_name", "code")
        kwargs.setdefault(
            "error_messages",
            {"invalid_choice": _("No active department in your area has the code %(value)s.")},
        )
        super().__init__(**kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name}（{obj.region.name}）"

    def limit_to(self, viewer: Viewer, perm: str) -> None:
        """Active departments in the viewer's scopes, and those above them that serve them."""
        q = Q(pk__in=[])
        for code in scopes_for(viewer, perm):
            q |= Q(region_code__startswith=code) | Q(region_code__in=[code[:n] for n in range(2, len(code))])
        self.queryset = (
            Department.objects.filter(q, is_active=True)
            .select_related("region")
            .order_by("region_code", "name")
        )


class UserCreateForm(PlatformForm):
    username = forms.CharField(
        label=_("User name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )
    display_name = forms.CharField(label=_("Name"), max_length=50)
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    )
    email = forms.EmailField(label=_("Email"), required=False)
    region = RegionPickerField(label=_("Home region"))
    password = forms.CharField(
        label=_("Initial password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("The user must change it at first sign-in. At least 8 characters of three kinds."),
    )
    password_again = forms.CharField(
        label=_("Initial password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def limit_to(self, viewer: Viewer) -> None:
        cast(RegionPickerField, self.fields["region"]).limit_to(viewer, Perm.MANAGE_USERS)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password_again") and data["password"] != data["password_again"]:
            self.add_error("password_again", _("The two passwords differ."))
        return data


class UserStatusForm(PlatformForm):
    user = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    active = forms.TypedChoiceField(
        widget=forms.HiddenInput, choices=[("0", "0"), ("1", "1")], coerce=lambda v: v == "1"
    )
    reason = forms.CharField(label=_("Reason"), max_length=500)


class MembershipGrantForm(PlatformForm):
    username = forms.CharField(
        label=_("User name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )
    role = forms.ChoiceField(label=_("Role"), choices=[("", "—"), *Role.choices])
    region = RegionPickerField(label=_("Region"))
    department = DepartmentChoiceField(
        label=_("Department"),
        required=False,
        help_text=_("Only for department staff: the police station, office or company they work for."),
    )

    def limit_to(self, viewer: Viewer) -> None:
        cast(RegionPickerField, self.fields["region"]).limit_to(viewer, Perm.MANAGE_MEMBERSHIPS)
        cast(DepartmentChoiceField, self.fields["department"]).limit_to(viewer, Perm.MANAGE_MEMBERSHIPS)


class MembershipRevokeForm(PlatformForm):
    membership = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(label=_("Reason"), max_length=500)


class AuditFilterForm(PlatformForm):
    action = forms.CharField(
        label=_("Action"),
        max_length=64,
        required=False,
        help_text=_("Start of the action, e.g. membership or personal.reveal."),
    )
    actor = forms.CharField(label=_("User name"), max_length=150, required=False)
    result = forms.ChoiceField(
        label=_("Result"), required=False, choices=[("", _("Any")), *AuditResult.choices]
    )
    region = RegionPickerField(label=_("Region"), required=False)
    since = forms.DateField(label=_("From"), required=False, widget=DateInput())
    until = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def limit_to(self, viewer: Viewer) -> None:
        cast(RegionPickerField, self.fields["region"]).limit_to(viewer, Perm.VIEW_AUDIT)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return data

    def filters(self) -> dict[str, Any]:
        """Selector filters; dates are whole days in the platform's time zone (the end day included)."""
        data = self.cleaned_data
        out: dict[str, Any] = {k: data[k].strip() for k in ("action", "actor") if data.get(k, "").strip()}
        if data.get("result"):
            out["result"] = data["result"]
        if data.get("region"):
            out["region"] = data["region"].code
        if data.get("since"):
            out["since"] = _day_start(data["since"])
        if data.get("until"):
            out["until"] = _day_start(data["until"] + timedelta(days=1))
        return out


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


# --- The on-duty roster (core/duty.py) -----------------------------------------------------------


class TimeInput(forms.TimeInput):
    """A browser time picker (24-hour HH:MM whatever the language)."""

    input_type = "time"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%H:%M")


class StaffChoiceField(forms.TypedChoiceField):
    """A person chosen by name from the staff who may be on duty in the region (never a phone)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("coerce", int)
        kwargs.setdefault(
            "error_messages",
            {"invalid_choice": _("Choose a person of this community or street from the list.")},
        )
        super().__init__(**kwargs)

    def limit_to(self, staff: Iterable[Any]) -> None:
        self.choices = [("", CHOOSE), *((str(u.pk), u.name) for u in staff)]


class DutyShiftForm(PlatformForm):
    user = StaffChoiceField(label=_("Person on duty"))
    day = forms.DateField(label=_("Date"), widget=DateInput())
    start = forms.TimeField(label=_("Starts at"), widget=TimeInput())
    end = forms.TimeField(
        label=_("Ends at"),
        widget=TimeInput(),
        help_text=_("An end at or before the start is the next morning (a night shift)."),
    )
    note = forms.CharField(
        label=_("Note"), max_length=40, required=False, help_text=_("For example: day shift, night shift.")
    )

    def limit_to(self, staff: Iterable[Any]) -> None:
        cast(StaffChoiceField, self.fields["user"]).limit_to(staff)

    def times(self) -> tuple[datetime, datetime]:
        """Start and end as aware datetimes in the platform's time zone; an end not after the
        start falls on the next day."""
        data = self.cleaned_data
        zone = ZoneInfo(settings.TIME_ZONE)
        starts_at = datetime.combine(data["day"], data["start"], tzinfo=zone)
        end_day = data["day"] + timedelta(days=1) if data["end"] <= data["start"] else data["day"]
        return starts_at, datetime.combine(end_day, data["end"], tzinfo=zone)


class DutyFallbackForm(PlatformForm):
    user = StaffChoiceField(
        label=_("Fallback person"),
        help_text=_("Answers whenever no shift covers the time, e.g. the community secretary."),
    )

    def limit_to(self, staff: Iterable[Any]) -> None:
        cast(StaffChoiceField, self.fields["user"]).limit_to(staff)


class DutyShiftRemoveForm(PlatformForm):
    shift = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".txt")
SPREADSHEET_ACCEPT = ".xlsx,.xls,.ods,.csv"


def clean_spreadsheet(upload: Any) -> Any:
    """An uploaded spreadsheet's size and kind, checked before anything reads it (the imports'
    upload forms call it from ``clean_file``)."""
    from shequ.core.spreadsheets import MAX_FILE_BYTES

    if upload.size > MAX_FILE_BYTES:
        raise forms.ValidationError(
            gettext("The file is larger than %(n)d MB: split it into several files.")
            % {"n": MAX_FILE_BYTES >> 20}
        )
    if not (upload.name or "").lower().endswith(SPREADSHEET_SUFFIXES):
        raise forms.ValidationError(gettext("Upload an Excel (.xlsx, .xls) or CSV file."))
    return upload
