"""Forms of the IoT console pages. They parse what a browser sends; the services check and decide
(codes, duplicates, places, rule parameters), and their errors are put back on these fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from shequ.core.forms import PlatformForm, RegionPickerField
from shequ.core.models import Region
from shequ.core.permissions import Viewer, codes_q, scopes_for
from shequ.iot import labels, rules
from shequ.iot.models import DeviceKind, RuleKind, Severity
from shequ.iot.permissions import IotPerm as P
from shequ.iot.services.alerts import CLEAR_REASON_MIN
from shequ.registry import selectors as registry_selectors

OFF = {"autocomplete": "off"}
CLOSED = "closed"  # the registry's status of an organization that no longer exists
DECIMAL = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
NUMERIC = forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})
STATUS_CHOICES = [
    ("", _("Active devices")),
    ("online", _("Online")),
    ("offline", _("Offline")),
    ("retired", _("Retired")),
]


class DeviceFilterForm(PlatformForm):
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=STATUS_CHOICES)
    region = RegionPickerField(label=_("Area"), required=False, help_text="")

    def __init__(self, *args: Any, viewer: Viewer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("All kinds")), *DeviceKind.choices]  # type: ignore[attr-defined]
        region = self.fields["region"]
        assert isinstance(region, RegionPickerField)
        region.limit_to(viewer, P.VIEW)


class AlertFilterForm(PlatformForm):
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[
            ("", _("Open (active or acknowledged)")),
            *labels.ALERT_STATE_LABELS.items(),
            ("all", _("All")),
        ],
    )


class DeviceForm(PlatformForm):
    """Field names follow ``services.device_register`` so its errors land on them."""

    region = RegionPickerField(label=_("Area"), help_text=_("The grid or community the device serves."))
    kind = forms.ChoiceField(label=_("Kind"), choices=DeviceKind.choices)
    name = forms.CharField(
        label=pgettext_lazy("device or rule", "Name"), max_length=100, help_text=_("e.g. 3栋1单元门禁")
    )
    code = forms.CharField(
        label=_("Device code"),
        max_length=64,
        widget=forms.TextInput(attrs=OFF),
        help_text=_("Letters, digits, dot, dash and underscore; part of the device's MQTT topic."),
    )
    vendor = forms.CharField(label=_("Vendor"), max_length=50)
    model = forms.CharField(label=_("Model"), max_length=50, required=False)
    serial = forms.CharField(label=_("Serial number"), max_length=64, widget=forms.TextInput(attrs=OFF))
    location_note = forms.CharField(label=_("Where it is"), max_length=100, required=False)
    house = forms.IntegerField(
        label=_("House number in the registry"),
        required=False,
        min_value=1,
        widget=NUMERIC,
        help_text=_("For a door sensor of one home (welfare checks); leave empty otherwise."),
    )
    key_place = forms.TypedChoiceField(
        label=_("Key place"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_("A key place of the registry in the device's community, e.g. the market."),
    )
    organization = forms.TypedChoiceField(
        label=_("Owning organization"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_("Who runs the device, e.g. the property company (the registry's organizations)."),
    )
    latitude = forms.CharField(label=_("Latitude"), required=False, max_length=20, widget=DECIMAL)
    longitude = forms.CharField(label=_("Longitude"), required=False, max_length=20, widget=DECIMAL)
    no_parking = forms.BooleanField(label=_("Watches a no-parking zone (fire lane)"), required=False)

    def __init__(self, *args: Any, viewer: Viewer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        region = self.fields["region"]
        assert isinstance(region, RegionPickerField)
        region.limit_to(viewer, P.MANAGE)
        scopes = scopes_for(viewer, P.MANAGE)
        organizations = registry_selectors.organization_list(viewer=viewer).filter(codes_q(scopes))
        places = registry_selectors.key_place_list(viewer=viewer).filter(codes_q(scopes))
        self.fields["organization"].choices = by_community(  # type: ignore[attr-defined]
            organizations.exclude(status=CLOSED).values_list("pk", "name", "region_code")
        )
        self.fields["key_place"].choices = by_community(  # type: ignore[attr-defined]
            places.values_list("pk", "name", "region_code")
        )


def by_community(rows: Any) -> list[Any]:
    """Registry rows (pk, name, region code) as select options grouped by community, so that the
    same name in two communities reads apart (the service refuses one outside the device's)."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for pk, name, code in rows:
        groups.setdefault(code[:12], []).append((pk, name))
    names = dict(Region.objects.filter(code__in=list(groups)).values_list("code", "name"))
    return [("", "—"), *[(names.get(code, code), options) for code, options in sorted(groups.items())]]


class ConfirmForm(PlatformForm):
    confirm = forms.BooleanField(
        label=_("I understand: the device's messages are refused from now on."),
        error_messages={"required": _("Tick the box to confirm.")},
    )


class TokenConfirmForm(PlatformForm):
    confirm = forms.BooleanField(
        label=_("I understand: the old token stops working at once."),
        error_messages={"required": _("Tick the box to confirm.")},
    )


class ClearForm(PlatformForm):
    reason = forms.CharField(
        label=_("Why it is cleared"),
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("e.g. 已到现场处置 / 误报：厨房油烟"),
        error_messages={"required": _("Say in a few words why the alert is cleared.")},
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if len(reason) < CLEAR_REASON_MIN:
            raise forms.ValidationError(
                gettext("Say in a few words why the alert is cleared (at least %(n)d characters).")
                % {"n": CLEAR_REASON_MIN}
            )
        return str(reason)


def _field_choices() -> list[tuple[str, str]]:
    out = []
    for key in labels.THRESHOLD_FIELDS:
        label, unit = labels.value_label(key)
        if key == "level":
            label = gettext("Detector level (gas %LEL, smoke %/m, water mm)")
        out.append((key, f"{label} ({unit})" if unit else label))
    return out


# Parameter bounds, as rules.clean_params checks them (here so the error lands on the field).
RANGES: dict[str, tuple[float, float]] = {
    "hours": (1, rules.MAX_HOURS),
    "over": (1, 1e6),
    "minutes": (1, rules.MAX_MINUTES),
}


class RuleForm(PlatformForm):
    """A rule's common fields and, by kind, its parameters (only those of the chosen kind count)."""

    region = RegionPickerField(label=_("Area"), help_text=_("The rule covers the devices of this area."))
    name = forms.CharField(
        label=pgettext_lazy("device or rule", "Name"), max_length=100, help_text=_("e.g. 燃气浓度超标")
    )
    kind = forms.ChoiceField(label=_("Kind of rule"), choices=RuleKind.choices)
    device_kind = forms.ChoiceField(label=_("Device kind"), required=False)
    severity = forms.TypedChoiceField(
        label=_("Severity"), choices=Severity.choices, coerce=int, initial=Severity.WARNING
    )
    ticket_category = forms.CharField(
        label=_("Ticket category"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs=OFF),
        help_text=_("Code of the grid category an alert becomes a ticket of, e.g. safety.fire; empty: none."),
    )
    # threshold
    field = forms.ChoiceField(label=_("Value watched"), required=False)
    op = forms.ChoiceField(
        label=_("When it is"), required=False, choices=[("gt", _("over")), ("lt", _("under"))]
    )
    value = forms.FloatField(label=_("Threshold"), required=False, widget=DECIMAL)
    # event
    types = forms.MultipleChoiceField(
        label=_("Events"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(k, v) for k, v in labels.EVENT_LABELS.items() if k not in ("heartbeat", "reading")],
    )
    # absence
    hours = forms.FloatField(label=_("Hours without door activity"), required=False, widget=DECIMAL)
    tag = forms.CharField(
        label=_("Population tag watched"), required=False, initial="living_alone", max_length=40
    )
    # count
    over = forms.FloatField(label=_("More people than"), required=False, widget=NUMERIC)
    # count, dwell, offline
    minutes = forms.FloatField(label=_("Minutes"), required=False, widget=NUMERIC)

    PARAMS: dict[str, tuple[str, ...]] = {
        RuleKind.THRESHOLD: ("field", "op", "value"),
        RuleKind.EVENT: ("types",),
        RuleKind.ABSENCE: ("hours", "tag"),
        RuleKind.COUNT: ("over", "minutes"),
        RuleKind.DWELL: ("minutes",),
        RuleKind.OFFLINE: ("minutes",),
    }

    def __init__(self, *args: Any, viewer: Viewer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        region = self.fields["region"]
        assert isinstance(region, RegionPickerField)
        region.limit_to(viewer, P.RULES)
        self.fields["device_kind"].choices = [("", _("Any kind")), *DeviceKind.choices]  # type: ignore[attr-defined]
        self.fields["field"].choices = [("", "—"), *_field_choices()]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        wanted = self.PARAMS.get(str(kind), ())
        for name in {n for fields in self.PARAMS.values() for n in fields} - set(wanted):
            # Another kind's parameters: ignored, so their errors are not this form's.
            self.errors.pop(name, None)
            data.pop(name, None)
        for name in self.PARAMS.get(str(kind), ()):
            if data.get(name) in (None, "", []) and name not in self.errors:
                self.add_error(name, gettext("Needed for this kind of rule."))
        for name, (low, high) in RANGES.items():
            value = data.get(name)
            if name in self.PARAMS.get(str(kind), ()) and value is not None and not low <= value <= high:
                bounds = {"low": f"{low:g}", "high": f"{high:g}"}
                self.add_error(name, gettext("Give a number from %(low)s to %(high)s.") % bounds)
        return data

    def params(self) -> dict[str, Any]:
        """The chosen kind's parameters, as ``rules.clean_params`` takes them."""
        data = self.cleaned_data
        out: dict[str, Any] = {}
        for name in self.PARAMS.get(str(data.get("kind")), ()):
            value = data.get(name)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            out[name] = value
        return out

    def params_error_field(self) -> str:
        """Where a service error about the parameters belongs: the kind's first parameter."""
        fields = self.PARAMS.get(str(self.cleaned_data.get("kind")), ())
        return fields[0] if fields else "kind"
