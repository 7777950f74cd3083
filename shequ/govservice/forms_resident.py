"""Forms of the resident pages: the online form of an item (its fields come from the catalog), the
rating (好差评), withdrawing, and public tracking. They parse input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from shequ.core.forms import DateInput, PlatformForm
from shequ.govservice.models import ServiceItem, Stars
from shequ.govservice.services.evaluations import BAD_REASONS, GOOD_REASONS

# What an uploaded material may be (the service checks the content: an image or a PDF).
MATERIAL_ACCEPT = "image/jpeg,image/png,image/webp,application/pdf"
ANSWER_PREFIX = "answer_"
FILES_PREFIX = "files_"


def _answer_field(spec: dict[str, Any]) -> forms.Field:
    label = str(spec.get("label_zh") or spec.get("label") or spec["name"])
    required = bool(spec.get("required", True))
    kind = spec.get("kind", "text")
    if kind == "textarea":
        return forms.CharField(
            label=label, required=required, max_length=500, widget=forms.Textarea(attrs={"rows": 3})
        )
    if kind == "number":
        return forms.IntegerField(label=label, required=required, min_value=1, max_value=1000)
    if kind == "date":
        return forms.DateField(label=label, required=required, widget=DateInput())
    if kind == "choice":
        choices = [("", "—"), *((str(c), str(c)) for c in spec.get("choices") or [])]
        return forms.ChoiceField(label=label, required=required, choices=choices)
    return forms.CharField(label=label, required=required, max_length=500)


class ApplyForm(PlatformForm):
    """The item's online form (``answer_<name>`` fields); the uploads are read by ``uploads``."""

    def __init__(self, *args: Any, item: ServiceItem, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.item = item
        for spec in item.form:
            self.fields[f"{ANSWER_PREFIX}{spec['name']}"] = _answer_field(spec)

    def answers(self) -> dict[str, str]:
        """The answers as the service reads them (text, ISO dates)."""
        out: dict[str, str] = {}
        for name, value in self.cleaned_data.items():
            if value is None:
                continue
            out[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return out


def uploads(request: HttpRequest, codes: list[str]) -> dict[str, list[UploadedFile]]:
    """The files sent for each material (``files_<code>``, several per material)."""
    out: dict[str, list[UploadedFile]] = {}
    for code in codes:
        files = [f for f in request.FILES.getlist(f"{FILES_PREFIX}{code}") if f]
        if files:
            out[code] = files
    return out


def reason_choices() -> list[tuple[str, Any]]:
    return [(k, v) for k, v in {**GOOD_REASONS, **BAD_REASONS}.items()]


class RateForm(PlatformForm):
    stars = forms.TypedChoiceField(
        label=_("How satisfied are you?"),
        choices=Stars.choices,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose 1 to 5 stars.")},
    )
    reasons = forms.MultipleChoiceField(
        label=_("Why"), required=False, choices=reason_choices, widget=forms.CheckboxSelectMultiple
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


class WithdrawForm(PlatformForm):
    reason = forms.CharField(
        label=_("Why you withdraw (optional)"), required=False, max_length=500, widget=forms.TextInput
    )


class TrackForm(PlatformForm):
    number = forms.CharField(
        label=_("Application number"),
        max_length=30,
        help_text=_("On your receipt or in the SMS, e.g. GS20261206000042."),
    )
    phone = forms.CharField(
        label=_("The applicant's mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "tel"}),
    )
