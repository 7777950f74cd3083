"""Forms of the warning pages: they parse input; ``services.warnings`` checks it and decides.

The draft form's required fields use the services' own messages, so a person sees the same words
whether the form or the service found the gap."""

from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.forms import PlatformForm
from shequ.emergency.models import Level, WarningType
from shequ.emergency.services.warnings import TEXT_MAX

# Level I (red) is the highest (Emergency Response Law); the Roman numeral follows the colour.
LEVEL_NUMERALS = {Level.RED: "Ⅰ", Level.ORANGE: "Ⅱ", Level.YELLOW: "Ⅲ", Level.BLUE: "Ⅳ"}
POLYGON_MAX_CHARS = 200_000


class WarningFilterForm(PlatformForm):
    CURRENT = ""
    STATES = (
        (CURRENT, _("Drafts and in force")),
        ("issued", _("In force")),
        ("draft", _("Drafts")),
        ("lifted", _("Lifted")),
        ("discarded", _("Discarded")),
    )
    status = forms.ChoiceField(label=_("Show"), choices=STATES, required=False)


class WarningDraftForm(PlatformForm):
    kind = forms.ChoiceField(
        label=_("Type"),
        choices=[("", "—"), *WarningType.choices],
        error_messages={"required": _("Choose the type of warning.")},
    )
    level = forms.TypedChoiceField(
        label=pgettext_lazy("warning", "Level"),
        choices=[(v, label) for v, label in reversed(Level.choices)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a level: blue, yellow, orange or red.")},
    )
    title = forms.CharField(
        label=pgettext_lazy("warning", "Title"),
        max_length=100,
        error_messages={"required": _("Give the warning a title.")},
        help_text=_("Short, like an SMS subject: what is coming and the one thing to do."),
    )
    text = forms.CharField(
        label=_("What people should do"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": _("Say what people should do.")},
        help_text=_(
            "Sent by SMS and shown on the public page. Plain words: what is coming, what to do, where to go."
        ),
    )
    area_codes = forms.MultipleChoiceField(
        label=_("Area: the regions it covers"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose the regions the warning covers.")},
    )
    area_polygon = forms.CharField(
        label=_("Zone drawn on the map (optional, GeoJSON)"),
        required=False,
        max_length=POLYGON_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off"}),
        help_text=_(
            "Only people living inside the zone (and in the regions chosen) are told. Draw it on the "
            "map, or paste a GeoJSON Polygon with [longitude, latitude] positions."
        ),
    )
    is_drill = forms.BooleanField(
        label=_("This is a drill (marked [Drill] everywhere)"),
        required=False,
    )

    def __init__(self, *args: Any, areas: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.MultipleChoiceField, self.fields["area_codes"]).choices = areas

    def clean_area_polygon(self) -> dict[str, Any] | None:
        raw = (self.cleaned_data.get("area_polygon") or "").strip()
        if not raw:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            raise forms.ValidationError(
                _("The zone is not valid GeoJSON: draw it again on the map or clear the box.")
            ) from None
        # A Feature (as drawing tools give) stands for its geometry.
        if isinstance(value, dict) and value.get("type") == "Feature":
            value = value.get("geometry")
        if not isinstance(value, dict) or value.get("type") != "Polygon":
            raise forms.ValidationError(_("The zone must be one polygon (GeoJSON type Polygon)."))
        return value


class WarningUpdateForm(PlatformForm):
    level = forms.TypedChoiceField(
        label=pgettext_lazy("warning", "Level"),
        choices=[(v, label) for v, label in reversed(Level.choices)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a level: blue, yellow, orange or red.")},
    )
    title = forms.CharField(
        label=pgettext_lazy("warning", "Title"),
        max_length=100,
        error_messages={"required": _("Give the warning a title.")},
    )
    text = forms.CharField(
        label=_("What people should do"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": _("Say what people should do.")},
    )
    note = forms.CharField(
        label=_("Note for the timeline (optional)"),
        max_length=200,
        required=False,
        help_text=_("Why it changed, for the timeline. Not sent to residents."),
    )


class WarningLiftForm(PlatformForm):
    reason = forms.CharField(
        label=_("Why it is lifted"),
        max_length=200,
        error_messages={"required": _("Say why the warning is lifted.")},
        help_text=_("Sent to everyone the warning reached, with the notice that it is lifted."),
    )
