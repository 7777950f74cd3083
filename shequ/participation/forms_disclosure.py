"""Forms of the disclosure pages: they parse and check input; the services decide."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.forms import SPREADSHEET_ACCEPT, DateInput, PlatformForm, clean_spreadsheet
from shequ.core.models import Region
from shequ.participation.models import DisclosureKind, DisclosureListRow, QuestionKind, QuestionStatus
from shequ.participation.services.disclosure import rules

FILE_ACCEPT = "image/jpeg,image/png,image/webp,application/pdf"
PERIOD_MONTHS = 13
PERIOD_QUARTERS = 5


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern)."""

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


def period_choices(today: dt.date | None = None) -> list[tuple[Any, Any]]:
    """The recent months and quarters, newest first, grouped."""
    today = today or timezone.localdate()
    first = today.replace(day=1)
    months = rules.periods_between(DisclosureKind.FINANCE, first.replace(year=first.year - 2), today)
    quarters = rules.periods_between(DisclosureKind.AFFAIRS, first.replace(year=first.year - 2), today)
    return [
        ("", _("Choose…")),
        (_("Months (finances)"), [(p.key, p.label) for p in reversed(months[-PERIOD_MONTHS:])]),
        (_("Quarters (ordinary affairs)"), [(p.key, p.label) for p in reversed(quarters[-PERIOD_QUARTERS:])]),
    ]


class ItemForm(PlatformForm):
    region = forms.ChoiceField(label=_("Community"))
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("Choose…")), *DisclosureKind.choices])
    period = forms.ChoiceField(
        label=_("Period covered"),
        required=False,
        help_text=_("For finances (a month) and ordinary affairs (a quarter)."),
    )
    decided_on = forms.DateField(
        label=_("Decision date"),
        required=False,
        widget=DateInput(),
        help_text=_("For major matters, subsidies and policies: published within a few working days of it."),
    )
    title = forms.CharField(label=_("Title of the item"), max_length=120)
    body = forms.CharField(label=_("Content"), max_length=20000, widget=forms.Textarea(attrs={"rows": 8}))
    attachments = MultipleFileField(
        label=_("Attachments (photos or PDF)"),
        required=False,
        widget=MultipleFileInput(attrs={"accept": FILE_ACCEPT}),
        help_text=_("The ledger, the meeting record, the decision: up to 10 files of 8 MB each."),
    )

    def __init__(self, *args: Any, communities: Sequence[Region], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        region = self.fields["region"]
        assert isinstance(region, forms.ChoiceField)
        region.choices = [(r.code, r.name) for r in communities]
        if len(communities) == 1:
            region.initial = communities[0].code
        period = self.fields["period"]
        assert isinstance(period, forms.ChoiceField)
        period.choices = period_choices()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind", "")
        if kind in rules.PERIODIC and not data.get("period"):
            self.add_error("period", _("Choose the month or quarter this covers."))
        if kind in rules.DECIDED and not data.get("decided_on"):
            self.add_error("decided_on", _("Give the date the matter was decided."))
        return data


class WithdrawForm(PlatformForm):
    reason = forms.CharField(
        label=_("Why is it withdrawn?"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to staff and kept in the audit log, e.g. a wrong amount to be corrected."),
    )


class ListPasteForm(PlatformForm):
    rows = forms.CharField(
        label=_("The list, one person a line"),
        required=False,
        max_length=300000,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text=_(
            "Name, ID number, amount (yuan), reason — separated by tabs (pasted from Excel) or commas. "
            "Only masked names and ID numbers are kept; do not enter phone numbers."
        ),
    )


class ListImportForm(PlatformForm):
    file = forms.FileField(
        label=_("Excel or CSV file"),
        widget=forms.ClearableFileInput(attrs={"accept": SPREADSHEET_ACCEPT}),
        help_text=_("Columns 姓名, 身份证号码, 金额 and optionally 原因; a phone column is ignored."),
    )

    def clean_file(self) -> Any:
        return clean_spreadsheet(self.cleaned_data["file"])


class AnswerForm(PlatformForm):
    answer = forms.CharField(label=_("Answer"), max_length=3000, widget=forms.Textarea(attrs={"rows": 5}))


class AskForm(PlatformForm):
    kind = forms.ChoiceField(
        label=_("What do you want to do?"),
        choices=QuestionKind.choices,
        widget=forms.RadioSelect,
        initial=QuestionKind.QUESTION,
    )
    row = forms.TypedChoiceField(
        label=_("About one row of the list (optional)"), required=False, coerce=int, empty_value=None
    )
    body = forms.CharField(
        label=_("Your question"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("The community answers within %(n)d working days. Your name is shown masked (张*明).")
        % {"n": rules.DEFAULT_ANSWER_WORKING_DAYS},
    )

    def __init__(self, *args: Any, rows: Sequence[DisclosureListRow] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["row"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", _("The item as a whole"))] + [
            (r.pk, f"{r.number}. {r.name_masked} {r.amount}") for r in rows
        ]
        if not rows:
            field.widget = forms.HiddenInput()


class ItemFilterForm(PlatformForm):
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", "—"), *DisclosureKind.choices])
    status = forms.ChoiceField(
        label=pgettext_lazy("filter", "Status"),
        required=False,
        choices=[
            ("", "—"),
            ("draft", pgettext_lazy("disclosure status", "Draft")),
            ("published", pgettext_lazy("disclosure status", "Published")),
            ("withdrawn", pgettext_lazy("disclosure status", "Withdrawn")),
        ],
    )


class QuestionFilterForm(PlatformForm):
    status = forms.ChoiceField(
        label=pgettext_lazy("filter", "Status"), required=False, choices=[("", "—"), *QuestionStatus.choices]
    )
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", "—"), *QuestionKind.choices])
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)


class RegionForm(PlatformForm):
    region = forms.CharField(required=False, max_length=15)


def posted_files(request: HttpRequest, name: str = "files") -> list[UploadedFile]:
    return [f for f in request.FILES.getlist(name) if f]
