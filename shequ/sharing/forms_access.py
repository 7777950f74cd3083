"""Forms of the access pages: department clients, tokens, grants, revocations, the access log's
filters. They parse input; the services (``services.access``, ``services.clients``) decide."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequ.core.components import DataResource, Sensitivity, SharingType
from shequ.core.forms import DateInput, DepartmentChoiceField, PlatformForm, RegionPickerField
from shequ.core.models import Region, User
from shequ.core.permissions import Viewer
from shequ.sharing.permissions import SharePerm as P

SENSITIVITY_WORDS = {
    Sensitivity.PUBLIC: _("public"),
    Sensitivity.INTERNAL: _("internal"),
    Sensitivity.PERSONAL: _("personal"),
    Sensitivity.SENSITIVE: _("sensitive personal"),
}
SHARING_WORDS = {
    SharingType.UNCONDITIONAL: _("Shared unconditionally"),
    SharingType.CONDITIONAL: _("Shared on conditions (by grant)"),
    SharingType.NONE: _("Not shared"),
}
DEFAULT_GRANT_DAYS = 180
DEFAULT_TOKEN_DAYS = 365
REGION_FIELDS = ("region_1", "region_2", "region_3")


def start_of(day: date) -> datetime:
    """The start of ``day`` in the platform's time zone (a grant or token ends as the day begins)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _days_ahead(days: int) -> date:
    return timezone.localdate() + timedelta(days=days)


class EndsOnField(forms.DateField):
    widget = DateInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Ends on"))
        kwargs.setdefault("help_text", _("Access ends at 00:00 of this day."))
        super().__init__(**kwargs)


class ClientCreateForm(PlatformForm):
    department = DepartmentChoiceField(label=_("Department"))
    username = forms.CharField(
        label=_("Account name"),
        max_length=150,
        help_text=_("Letters, digits and @.+-_ only, e.g. police-yuelu-system."),
    )
    display_name = forms.CharField(label=_("System name"), max_length=150)
    token_name = forms.CharField(label=_("Token name"), max_length=100, help_text=_("What the token is for."))
    ends_on = EndsOnField()

    def __init__(self, *args: Any, viewer: Viewer, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"ends_on": _days_ahead(DEFAULT_TOKEN_DAYS)})
        super().__init__(*args, **kwargs)
        department = self.fields["department"]
        assert isinstance(department, DepartmentChoiceField)
        department.limit_to(viewer, P.GRANT)


class TokenIssueForm(PlatformForm):
    token_name = forms.CharField(label=_("Token name"), max_length=100)
    ends_on = EndsOnField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"ends_on": _days_ahead(DEFAULT_TOKEN_DAYS)})
        super().__init__(*args, **kwargs)


class RevokeForm(PlatformForm):
    reason = forms.CharField(
        label=_("Reason"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}), strip=True
    )


class ResourceChoiceForm(PlatformForm):
    resource = forms.ChoiceField(label=_("Resource"))

    def __init__(self, *args: Any, resources: list[DataResource], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["resource"].choices = [("", "")] + [(r.key, str(r.title)) for r in resources]  # type: ignore[attr-defined]


def field_label(field: Any) -> str:
    return f"{field.title}（{SENSITIVITY_WORDS.get(field.sensitivity, field.sensitivity)}）"


class GrantForm(PlatformForm):
    """A grant on one resource: the client account (its department follows), fields, fields in
    clear, up to three regions, a value per row filter, purpose, legal basis, end and rate."""

    client = forms.TypedChoiceField(label=_("Client account"), coerce=int)
    fields_ = forms.MultipleChoiceField(label=_("Fields"), widget=forms.CheckboxSelectMultiple)
    unmasked = forms.MultipleChoiceField(
        label=_("Personal fields shown in clear"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Others are masked (张*丰, 138****5678) or left out. Name only what the purpose needs."),
    )
    region_1 = RegionPickerField(label=_("Region"))
    region_2 = RegionPickerField(label=_("Another region"), required=False)
    region_3 = RegionPickerField(label=_("Another region"), required=False)
    purpose = forms.CharField(label=_("Purpose"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))
    legal_basis = forms.CharField(
        label=_("Legal basis"),
        max_length=300,
        required=False,
        help_text=_("The law or regulation that allows it; required for sensitive fields."),
    )
    ends_on = EndsOnField()
    rate_per_minute = forms.IntegerField(label=_("Calls per minute"), min_value=1, initial=60)

    def __init__(
        self,
        *args: Any,
        viewer: Viewer,
        resource: DataResource,
        clients: list[tuple[User, str]],
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("initial", {"ends_on": _days_ahead(DEFAULT_GRANT_DAYS), "rate_per_minute": 60})
        super().__init__(*args, **kwargs)
        self.resource = resource
        self.fields["client"].choices = [("", "")] + [  # type: ignore[attr-defined]
            (user.pk, f"{department}：{user.display_name or user.username}") for user, department in clients
        ]
        self.fields["fields_"].choices = [(f.key, field_label(f)) for f in resource.fields]  # type: ignore[attr-defined]
        self.fields["unmasked"].choices = [  # type: ignore[attr-defined]
            (f.key, field_label(f))
            for f in resource.fields
            if f.sensitivity in (Sensitivity.PERSONAL, Sensitivity.SENSITIVE)
        ]
        for name in REGION_FIELDS:
            region = self.fields[name]
            assert isinstance(region, RegionPickerField)
            region.limit_to(viewer, P.GRANT)
        for dim in resource.dimensions:
            self.fields[f"filter_{dim.key}"] = forms.ChoiceField(
                label=_("Only rows with %(label)s") % {"label": dim.label},
                required=False,
                choices=[("", _("Any"))] + [(str(v), str(label)) for v, label in dim.values()],
            )
        # Keep the form's reading order: the filters after the regions.
        order = ["client", "fields_", "unmasked", *REGION_FIELDS]
        order += [f"filter_{d.key}" for d in resource.dimensions]
        order += ["purpose", "legal_basis", "ends_on", "rate_per_minute"]
        self.order_fields(order)

    def terms(self) -> dict[str, Any]:
        data = self.cleaned_data
        regions: list[Region] = [data[name] for name in REGION_FIELDS if data.get(name)]
        return {
            "fields": list(data["fields_"]),
            "unmasked": list(data.get("unmasked") or []),
            "region_codes": [r.code for r in regions],
            "row_filters": {
                d.key: data[f"filter_{d.key}"]
                for d in self.resource.dimensions
                if data.get(f"filter_{d.key}")
            },
            "purpose": data["purpose"],
            "legal_basis": data.get("legal_basis") or "",
            "expires_at": start_of(data["ends_on"]),
            "rate_per_minute": data["rate_per_minute"],
        }


# The service's argument → the form's field, for errors.
GRANT_ERROR_FIELDS = {
    "fields": "fields_",
    "region_codes": "region_1",
    "expires_at": "ends_on",
}


class LogFilterForm(PlatformForm):
    department = forms.TypedChoiceField(label=_("Department"), required=False, coerce=int, empty_value=None)
    resource = forms.ChoiceField(label=_("Resource"), required=False)
    start = forms.DateField(label=_("From"), required=False, widget=DateInput)
    end = forms.DateField(label=_("To"), required=False, widget=DateInput)

    def __init__(
        self, *args: Any, departments: list[tuple[int, str]], resources: list[DataResource], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = [("", _("All")), *departments]  # type: ignore[attr-defined]
        self.fields["resource"].choices = [("", _("All"))] + [(r.key, str(r.title)) for r in resources]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end date is before the start date."))
        return data
