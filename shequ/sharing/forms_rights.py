"""Forms of the residents' rights pages: they parse input; the services check and decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from shequ.core.forms import PlatformForm
from shequ.sharing.models import DeletionGround, RightsKind, RightsStatus
from shequ.sharing.services import rights as services

PROOF_ACCEPT = "image/jpeg,image/png,image/webp,application/pdf"


def _area(rows: int = 4) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class CopyForm(PlatformForm):
    detail = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=services.DETAIL_MAX,
        widget=_area(3),
        help_text=_("For example, what you need the copy for. You do not have to say."),
    )


class CorrectionForm(PlatformForm):
    item = forms.ChoiceField(label=_("Which item is wrong"))
    value = forms.CharField(
        label=_("The right value"),
        required=False,
        max_length=services.VALUE_MAX,
        help_text=_("Write it as it is on your ID card or household register."),
    )
    detail = forms.CharField(
        label=_("Details"),
        required=False,
        max_length=services.DETAIL_MAX,
        widget=_area(),
        help_text=_("Needed when you chose “something else”: say what is wrong and what is right."),
    )
    proof = forms.FileField(
        label=_("Proof (optional)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": PROOF_ACCEPT}),
        help_text=_("A photo or PDF of a document that shows the right value, at most 8 MB."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        item = self.fields["item"]
        assert isinstance(item, forms.ChoiceField)
        item.choices = [("", _("Choose…")), *services.item_choices()]


class DeletionForm(PlatformForm):
    detail = forms.CharField(
        label=_("What to delete and why"),
        max_length=services.DETAIL_MAX,
        widget=_area(),
        help_text=_("For example: the phone number of my former employer, which I no longer want kept."),
    )


RESIDENT_FORMS: dict[str, type[PlatformForm]] = {
    RightsKind.COPY: CopyForm,
    RightsKind.CORRECTION: CorrectionForm,
    RightsKind.DELETION: DeletionForm,
}


class QueueFilterForm(PlatformForm):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *RightsStatus.choices]
    )
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All")), *RightsKind.choices])


class CorrectForm(PlatformForm):
    value = forms.CharField(
        label=_("Value to write into the record"),
        required=False,
        max_length=services.VALUE_MAX,
        help_text=_("Leave empty to use the value the resident gave."),
    )
    reason = forms.CharField(
        label=_("Note to the resident"),
        max_length=services.ANSWER_MAX,
        widget=_area(3),
        help_text=_("For example, which document you checked the value against."),
    )


class DoneForm(PlatformForm):
    answer = forms.CharField(
        label=_("What was done"),
        max_length=services.ANSWER_MAX,
        widget=_area(),
        help_text=_("Say exactly what was deleted or changed, and where."),
    )


class RefuseForm(PlatformForm):
    ground = forms.ChoiceField(
        label=_("Legal ground for keeping the data"),
        required=False,
        choices=[("", _("Choose…")), *DeletionGround.choices],
    )
    reason = forms.CharField(
        label=_("Reason given to the resident"),
        max_length=services.ANSWER_MAX,
        widget=_area(),
    )

    def __init__(self, *args: Any, kind: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if kind != RightsKind.DELETION:
            del self.fields["ground"]
        else:
            self.fields["ground"].required = True
