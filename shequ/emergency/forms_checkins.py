"""The daily check-in's form: what to ask, whom (a kind of people in a region of the officer's
scope), from which day to which, at what time."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from shequ.core.forms import PlatformForm, RegionPickerField
from shequ.core.permissions import Viewer
from shequ.emergency.models import TargetKind
from shequ.emergency.permissions import EmergencyPerm as P

# The targets a check-in takes from this form: everyone of a kind in one region.
TARGET_CHOICES = [
    (TargetKind.RESIDENTS.value, TargetKind.RESIDENTS.label),
    (TargetKind.STAFF.value, TargetKind.STAFF.label),
    (TargetKind.PARTY.value, TargetKind.PARTY.label),
    (TargetKind.VOLUNTEERS.value, TargetKind.VOLUNTEERS.label),
]


class CampaignForm(PlatformForm):
    title = forms.CharField(
        label=_("Title of the check-in"),
        max_length=60,
        help_text=_("Shown first in the SMS, e.g. 每日健康打卡."),
    )
    question = forms.CharField(
        label=_("Question"),
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("People answer 1 (all well) or 2 (something wrong), on the page or by SMS."),
    )
    kind = forms.ChoiceField(label=_("Kind of people"), choices=TARGET_CHOICES, initial=TargetKind.RESIDENTS)
    region = RegionPickerField(label=_("Area"), help_text=_("A grid, community or street of your area."))
    starts_on = forms.DateField(
        label=_("First day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    ends_on = forms.DateField(
        label=_("Last day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    send_at = forms.TimeField(
        label=_("Sent each day at"),
        initial="08:00",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    is_drill = forms.BooleanField(
        label=_("This is a drill"), required=False, help_text=_("Marked as a drill in every message.")
    )

    def __init__(self, *args: Any, viewer: Viewer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        region = self.fields["region"]
        assert isinstance(region, RegionPickerField)
        region.limit_to(viewer, P.MOBILIZE)

    def targets(self) -> list[dict[str, str]]:
        return [{"kind": self.cleaned_data["kind"], "region": self.cleaned_data["region"].code}]


class StopForm(PlatformForm):
    confirm = forms.BooleanField(label=_("Yes, send no more rounds"))
