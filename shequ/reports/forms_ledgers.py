"""The ledger pages' forms: a ledger's filters (the common region and dates, then the ledger's own
fields from its declaration), the export choice, the index's region, and a schedule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shequ.core.components import LEDGER_AS_OF, LEDGER_END, LEDGER_REGION, LEDGER_START, Ledger
from shequ.core.forms import DateInput, PlatformForm
from shequ.core.permissions import Viewer
from shequ.core.personal import REASON_MAX_LENGTH
from shequ.reports import selectors_ledgers as S
from shequ.reports.models import Frequency

EARLIEST = date(1900, 1, 1)


def _date_field(label: Any, help_text: Any = "") -> forms.DateField:
    return forms.DateField(
        label=label, required=False, help_text=help_text, widget=DateInput(), input_formats=["%Y-%m-%d"]
    )


def _region_field(viewer: Viewer, perms: Sequence[str]) -> forms.CharField:
    return forms.CharField(
        label=_("Region"), required=False, widget=forms.Select(choices=S.region_options(viewer, perms))
    )


class LedgerFilterForm(PlatformForm):
    """The filters a ledger accepts; fields are built from its declaration."""

    def __init__(self, data: Any, *, ledger: Ledger, viewer: Viewer) -> None:
        super().__init__(data)
        self.ledger = ledger
        self.viewer = viewer
        self.perms = S.view_perms(ledger)
        names = set(ledger.filters)
        if LEDGER_REGION in names:
            self.fields[LEDGER_REGION] = _region_field(viewer, self.perms)
        if LEDGER_AS_OF in names:
            self.fields[LEDGER_AS_OF] = _date_field(_("As of"), _("Ages and tags are counted on this day."))
        if LEDGER_START in names:
            self.fields[LEDGER_START] = _date_field(_("From"), _("The first day of the period."))
            self.fields[LEDGER_END] = _date_field(_("To"), _("The last day of the period."))
        if ledger.filter_fields is not None:
            self.fields.update(ledger.filter_fields(viewer))

    def clean_region(self) -> str:
        return S.clean_region_code(self.viewer, self.perms, self.cleaned_data.get(LEDGER_REGION) or "")

    def _day(self, name: str) -> date | None:
        day: date | None = self.cleaned_data.get(name)
        if day is None:
            return None
        if day < EARLIEST or day > timezone.localdate() + timedelta(days=366):
            raise ValidationError(_("Choose a date between 1900 and one year from today."), code="date_range")
        return day

    def clean_as_of(self) -> date | None:
        return self._day(LEDGER_AS_OF)

    def clean_start(self) -> date | None:
        return self._day(LEDGER_START)

    def clean_end(self) -> date | None:
        return self._day(LEDGER_END)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get(LEDGER_START), data.get(LEDGER_END)
        if start and end and start > end:
            self.add_error(LEDGER_END, _("The period ends before it starts."))
        if self.ledger.check_filters is not None:
            for name, message in self.ledger.check_filters(data).items():
                self.add_error(name if name in self.fields else None, message)
        return data

    def filters(self) -> dict[str, Any]:
        """The validated filters, with the defaults filled in: today, or this month so far."""
        data = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        today = timezone.localdate()
        data.setdefault(LEDGER_REGION, "")
        if LEDGER_START in self.ledger.filters:
            data.setdefault(LEDGER_END, today)
            data.setdefault(LEDGER_START, min(today.replace(day=1), data[LEDGER_END]))
        else:
            data.setdefault(LEDGER_AS_OF, today)
        return data

    def params(self) -> list[tuple[str, str]]:
        """The submitted filter values, to carry into the export form (the region even when empty:
        "all of my area" must not fall back to the region the user is working in)."""
        return [
            (name, str(self.data.get(name) or ""))
            for name in self.fields
            if name == LEDGER_REGION or self.data.get(name) not in (None, "")
        ]


class ExportForm(PlatformForm):
    full = forms.BooleanField(label=gettext_lazy("Full ID and phone numbers"), required=False)
    reason = forms.CharField(
        label=gettext_lazy("Why you need the full numbers"),
        help_text=gettext_lazy(
            "Written to the audit log with your name, e.g. checking the old-age allowance list."
        ),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.TextInput(),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["reason"] = (data.get("reason") or "").strip()
        if data.get("full") and not data["reason"]:
            self.add_error("reason", _("Say why you need the full ID and phone numbers."))
        return data


class RegionForm(PlatformForm):
    def __init__(self, data: Any, *, viewer: Viewer, perms: Sequence[str]) -> None:
        super().__init__(data)
        self.viewer = viewer
        self.perms = perms
        self.fields[LEDGER_REGION] = _region_field(viewer, perms)

    def clean_region(self) -> str:
        return S.clean_region_code(self.viewer, self.perms, self.cleaned_data.get(LEDGER_REGION) or "")


class ScheduleForm(RegionForm):
    frequency = forms.ChoiceField(label=gettext_lazy("How often"), choices=Frequency.choices)
    day = forms.IntegerField(
        label=gettext_lazy("On day of the month"),
        min_value=1,
        max_value=28,
        initial=3,
        help_text=gettext_lazy("Generated on this day for the month (or quarter) before."),
    )

    def __init__(self, data: Any, *, viewer: Viewer, perms: Sequence[str]) -> None:
        super().__init__(data, viewer=viewer, perms=perms)
        self.order_fields([LEDGER_REGION, "frequency", "day"])
