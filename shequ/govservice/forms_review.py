"""Forms of the 好差评 pages: the rectification list's filter, the unit's feedback, the supervisor's
review, the statistics' filters and the public page's area. They parse; the services decide."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from shequ.core.forms import DateInput, PlatformForm
from shequ.govservice import stats
from shequ.govservice.models import RectStatus

CODE = re.compile(r"^\d{2}(\d{2}(\d{2}(\d{3}(\d{3}(\d{3})?)?)?)?)?$")


class RectificationFilterForm(PlatformForm):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *RectStatus.choices]
    )


class FeedbackForm(PlatformForm):
    """The answerable unit: what it found, what it put right, what the applicant is told."""

    finding = forms.CharField(
        label=_("What was found"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What happened, checked with the staff and the records."),
    )
    measures = forms.CharField(
        label=_("What was put right"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    feedback = forms.CharField(
        label=_("Feedback to the applicant"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The applicant reads this: no names of staff, no personal data."),
    )


ACCEPT, SEND_BACK = "accept", "send_back"


class ReviewForm(PlatformForm):
    """The level above: close the rectification, or send it back with what is still wrong."""

    decision = forms.ChoiceField(
        label=_("Review"),
        choices=[
            (ACCEPT, _("Accept: the rectification is done")),
            (SEND_BACK, _("Send back: more work is needed (5 more working days)")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Review note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when sending it back: say what is still wrong."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == SEND_BACK and not (data.get("note") or "").strip():
            self.add_error("note", _("Say what is still wrong."))
        return data


class StatsForm(PlatformForm):
    """The area (the viewer's regions and those below) and the period."""

    region = forms.ChoiceField(label=_("Area"), required=False)
    period = forms.ChoiceField(
        label=_("Period"),
        required=False,
        choices=[
            (stats.MONTH, _("This month")),
            (stats.LAST_30, _("Last 30 days")),
            (stats.YEAR, _("This year")),
            (stats.CUSTOM, _("Dates below")),
        ],
    )
    start = forms.DateField(label=_("From"), required=False, widget=DateInput())
    end = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def __init__(self, data: Any, *, regions: list[tuple[str, str]], default_region: str) -> None:
        super().__init__(data)
        field = self.fields["region"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = regions
        field.initial = default_region
        self.default_region = default_region
        self.fields["period"].initial = stats.MONTH

    def clean_region(self) -> str:
        return str(self.cleaned_data.get("region") or "") or self.default_region

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("period") or stats.MONTH
        start, end = data.get("start"), data.get("end")
        if "start" in self.errors or "end" in self.errors:
            return data
        if kind == stats.CUSTOM:
            if start is None or end is None:
                self.add_error("start" if start is None else "end", _("Give both dates of the period."))
                return data
            if end < start:
                self.add_error("end", _("The end of the period comes before its start."))
                return data
            if (end - start).days + 1 > stats.MAX_PERIOD_DAYS:
                self.add_error(
                    "end", _("Choose a period of at most %(n)d days.") % {"n": stats.MAX_PERIOD_DAYS}
                )
                return data
        data["period"] = kind
        data["period_obj"] = stats.period_of(kind, start=start, end=end)
        return data

    def params(self) -> dict[str, str]:
        data = self.cleaned_data
        period: stats.Period = data["period_obj"]
        out = {"region": data["region"], "period": data["period"]}
        if data["period"] == stats.CUSTOM:
            out.update(start=period.start.isoformat(), end=period.end.isoformat())
        return out


class PublicAreaForm(PlatformForm):
    region = forms.CharField(required=False, max_length=15)

    def clean_region(self) -> str:
        code = (self.cleaned_data.get("region") or "").strip()
        if code and not CODE.match(code):
            raise ValidationError(_("There is no region with this code."))
        return code
