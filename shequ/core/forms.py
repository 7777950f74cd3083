"""Forms of the administration pages, and the base of every form in the platform (``PlatformForm``):
they parse and check input; the services decide."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.forms import BoundField
from django.utils.translation import gettext_lazy as _

from shequ.core.models import LEVEL_CODE_LENGTH, AuditResult, Department, Region, Role

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


REGION_CODE_HELP = _(
    "Digits of the statistical code, e.g. 430104 for a county or 430104002001 for a community."
)


def significant_code(code: str) -> str:
    """``430104000000`` → ``430104``: a full 12-digit statistical code without its trailing zero
    groups (only whole level groups are dropped, so community ``…010`` stays intact)."""
    if len(code) != 12:
        return code
    for n in sorted(length for length in LEVEL_CODE_LENGTH.values() if length < 12):
        if set(code[n:]) == {"0"}:
            return code[:n]
    return code


def region_by_code(raw: str) -> Region:
    """A region from a code as people type it: significant digits (430104) or the full 12-digit
    statistical code (430104000000). Raises ValidationError with a specific message."""
    code = "".join(raw.split())
    if not code:
        raise forms.ValidationError(_("Enter a region code."), code="required")
    if not code.isdigit() or len(code) > 15:
        raise forms.ValidationError(
            _("A region code has only digits (at most 15), e.g. 430104."), code="invalid_region_code"
        )
    candidates = [code, significant_code(code)]
    region = Region.objects.filter(code__in=candidates).order_by("-code").first()
    if region is None:
        raise forms.ValidationError(
            _("No region has the code %(code)s. Check the digits, or browse the regions to find it."),
            params={"code": code},
            code="unknown_region",
        )
    return region


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


class RegionCodeField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("help_text", REGION_CODE_HELP)
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "numeric", "autocomplete": "off"})

    def clean(self, value: Any) -> Region | None:
        text = super().clean(value)
        if not text:
            return None
        return region_by_code(text)


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
    region = RegionCodeField(label=_("Home region"))
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
    region = RegionCodeField(label=_("Region code"))
    department = forms.CharField(
        label=_("Department code"),
        max_length=64,
        required=False,
        help_text=_("Only for department staff, e.g. the police station's code."),
    )

    def clean_department(self) -> Department | None:
        code = (self.cleaned_data.get("department") or "").strip()
        if not code:
            return None
        department = Department.objects.filter(code=code, is_active=True).first()
        if department is None:
            raise forms.ValidationError(
                _("No active department has the code %(code)s."), params={"code": code}
            )
        return department


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
    region = forms.RegexField(
        label=_("Region code"),
        regex=r"^\d{1,15}$",
        max_length=15,
        required=False,
        error_messages={"invalid": _("A region code has only digits, e.g. 430104.")},
    )
    since = forms.DateField(label=_("From"), required=False, widget=DateInput())
    until = forms.DateField(label=_("To"), required=False, widget=DateInput())

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
            out["region"] = significant_code(data["region"])
        if data.get("since"):
            out["since"] = _day_start(data["since"])
        if data.get("until"):
            out["until"] = _day_start(data["until"] + timedelta(days=1))
        return out


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))
