"""Forms of the staff pages: the application list's filters, each step on the application page, and
the counter (窗口) and home visits (上门, 帮办代办). They parse input; the services decide."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from shequ.core.forms import PlatformForm
from shequ.core.models import Department
from shequ.govservice import materials as material_kinds
from shequ.govservice.models import Channel, Consent, Delivery, Mode, Outcome, ServiceItem, Status

NOTE_MAX = 2000


def _note(label: Any = None, *, required: bool = False, help_text: Any = "") -> forms.CharField:
    return forms.CharField(
        label=label or _("Note"),
        required=required,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=help_text,
    )


# --- The list ------------------------------------------------------------------------------------


class ApplicationFilterForm(PlatformForm):
    status = forms.ChoiceField(label=_("Status"), required=False)
    item = forms.ChoiceField(label=_("Service"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=[("", "—"), *Channel.choices])
    number = forms.CharField(label=_("Application number"), required=False, max_length=20)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)

    def __init__(self, *args: Any, items: Sequence[ServiceItem], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        status = self.fields["status"]
        assert isinstance(status, forms.ChoiceField)
        status.choices = [
            ("", "—"),
            ("open", _("Open (not yet closed)")),
            ("final", _("Finished")),
            *Status.choices,
        ]
        item = self.fields["item"]
        assert isinstance(item, forms.ChoiceField)
        item.choices = [("", "—"), *((i.code, i.label) for i in items)]


# --- Steps on the application page ----------------------------------------------------------------


def material_choices(rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    return [(str(r["code"]), material_kinds.label(dict(r))) for r in rows]


class StepForm(PlatformForm):
    """A step's form (prefixed with the step's key); the posted ``action`` names the step, as one
    route takes them all."""


class AcceptForm(StepForm):
    pass


class ReturnForm(StepForm):
    missing = forms.MultipleChoiceField(
        label=_("Missing or to be redone"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Tick every material the applicant must bring or send again: they get the whole list at once."
        ),
    )
    note = _note(_("Note to the applicant"), help_text=_("The applicant reads this."))

    def __init__(self, *args: Any, rows: Sequence[Mapping[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        missing = self.fields["missing"]
        assert isinstance(missing, forms.MultipleChoiceField)
        missing.choices = material_choices(rows)


class ResubmitForm(StepForm):
    paper = forms.MultipleChoiceField(
        label=_("Received on paper"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Tick what the applicant brought; scan or photograph it below if you can."),
    )

    def __init__(self, *args: Any, rows: Sequence[Mapping[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        paper = self.fields["paper"]
        assert isinstance(paper, forms.MultipleChoiceField)
        paper.choices = material_choices(rows)
        self.codes = [str(r["code"]) for r in rows]
        for code, name in paper.choices:
            self.fields[f"file_{code}"] = MultipleFileField(
                label=_("%(name)s: scans or photos") % {"name": name}, required=False
            )

    def uploads(self) -> dict[str, list[Any]]:
        return {
            code: list(self.cleaned_data.get(f"file_{code}") or [])
            for code in self.codes
            if self.cleaned_data.get(f"file_{code}")
        }


class RejectForm(StepForm):
    reason = _note(_("Reason"), required=True, help_text=_("The applicant reads this."))


class ForwardForm(StepForm):
    department = forms.ChoiceField(label=_("Department"))
    note = _note(help_text=_("The applicant reads this."))

    def __init__(self, *args: Any, departments: Sequence[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.departments = {str(d.pk): d for d in departments}
        field = self.fields["department"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "—"), *((str(d.pk), d.name) for d in departments)]

    def chosen(self) -> Department | None:
        return self.departments.get(str(self.cleaned_data.get("department") or ""))


class DecideForm(StepForm):
    outcome = forms.ChoiceField(label=_("Decision"), widget=forms.RadioSelect)
    note = _note(
        _("Reason or answer"),
        help_text=_("Required when denied or for an answer; the applicant reads this."),
    )

    def __init__(self, *args: Any, mode: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        outcome = self.fields["outcome"]
        assert isinstance(outcome, forms.ChoiceField)
        if mode == Mode.CONSULT:
            outcome.choices = [(Outcome.ANSWERED.value, Outcome.ANSWERED.label)]
        else:
            outcome.choices = [
                (Outcome.APPROVED.value, Outcome.APPROVED.label),
                (Outcome.DENIED.value, Outcome.DENIED.label),
            ]


class DeliverForm(StepForm):
    delivery = forms.ChoiceField(label=_("How the result reached the applicant"), widget=forms.RadioSelect)
    note = _note()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        delivery = self.fields["delivery"]
        assert isinstance(delivery, forms.ChoiceField)
        delivery.choices = Delivery.choices


class CloseForm(StepForm):
    note = _note()


# --- The counter ----------------------------------------------------------------------------------


class BlankInput(forms.TextInput):
    """A text box that never writes back what was typed (a full ID number stays off the page)."""

    def format_value(self, value: Any) -> str | None:
        return None


class PersonSearchForm(PlatformForm):
    """Posted, not a query string: an ID number must not land in addresses and server logs."""

    q = forms.CharField(
        label=_("ID number, name or mobile number"),
        max_length=40,
        widget=BlankInput(attrs={"autocomplete": "off"}),
        help_text=_(
            "An ID number or mobile number finds the person exactly; a name lists those of your area."
        ),
    )


class ItemSearchForm(PlatformForm):
    item_q = forms.CharField(label=_("Find a service"), required=False, max_length=40)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (scans of a material's pages); cleans to a list."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,application/pdf"})
        )
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class TakeForm(PlatformForm):
    """Taking one application at the counter or at home: the applicant (a walk-in's name and
    mobile), the materials not filled from the registry (brought on paper, scanned), the item's
    form, the channel and, on a resident's behalf (帮办代办), the consent."""

    applicant_name = forms.CharField(label=_("Name"), max_length=50)
    applicant_phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        help_text=_("The applicant follows the application with its number and this mobile number."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    region = forms.ChoiceField(label=_("Community"))
    channel = forms.ChoiceField(label=_("Where the application is taken"), widget=forms.RadioSelect)
    on_behalf = forms.BooleanField(
        label=_("Applying on the resident's behalf (帮办代办)"),
        required=False,
        help_text=_("You fill in and sign for a resident who cannot come or apply alone."),
    )
    consent = forms.ChoiceField(
        label=_("How the resident agreed"), required=False, widget=forms.RadioSelect, choices=Consent.choices
    )
    consent_note = forms.CharField(
        label=_("Consent note"),
        required=False,
        max_length=200,
        help_text=_("E.g. who was present when the resident agreed."),
    )

    def __init__(
        self,
        *args: Any,
        item: ServiceItem,
        uploadable: Sequence[Mapping[str, Any]],
        walkin: bool,
        channels: Sequence[str],
        regions: Sequence[tuple[str, str]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.item = item
        self.uploadable = [str(r["code"]) for r in uploadable]
        if not walkin:
            for name in ("applicant_name", "applicant_phone", "region"):
                del self.fields[name]
        else:
            region = self.fields["region"]
            assert isinstance(region, forms.ChoiceField)
            region.choices = list(regions)
            if len(regions) == 1:
                region.initial = regions[0][0]
                region.widget = forms.HiddenInput()
            # A walk-in is not in the registry: nobody to apply for on their behalf.
            for name in ("on_behalf", "consent", "consent_note"):
                del self.fields[name]
        channel = self.fields["channel"]
        assert isinstance(channel, forms.ChoiceField)
        channel.choices = [(c, label) for c, label in Channel.choices if c in channels]
        channel.initial = channels[0] if channels else None
        for row in uploadable:
            code, name = str(row["code"]), material_kinds.label(dict(row))
            self.fields[f"paper_{code}"] = forms.BooleanField(
                label=_("%(name)s: received on paper") % {"name": name}, required=False
            )
            self.fields[f"file_{code}"] = MultipleFileField(
                label=_("%(name)s: scans or photos") % {"name": name}, required=False
            )
        for f in item.form:
            self.fields[f"answer_{f['name']}"] = _answer_field(f)

    def answer_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("answer_")]

    def material_fields(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"paper_{code}"], self[f"file_{code}"]) for code in self.uploadable]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("on_behalf") and not data.get("consent"):
            self.add_error("consent", _("Record how the resident agreed that you apply for them."))
        return data

    def answers(self) -> dict[str, str]:
        return {
            name: str(value or "") for name, value in self.cleaned_data.items() if name.startswith("answer_")
        }

    def uploads(self) -> dict[str, list[Any]]:
        return {
            code: list(self.cleaned_data.get(f"file_{code}") or [])
            for code in self.uploadable
            if self.cleaned_data.get(f"file_{code}")
        }

    def paper(self) -> list[str]:
        return [code for code in self.uploadable if self.cleaned_data.get(f"paper_{code}")]


def _answer_field(f: Mapping[str, Any]) -> forms.Field:
    from django.utils.translation import get_language

    zh = (get_language() or "").startswith("zh")
    label = str((f.get("label_zh") if zh else f.get("label")) or f.get("label_zh") or f["name"])
    required = bool(f.get("required", True))
    kind = f.get("kind", "text")
    if kind == "choice":
        return forms.ChoiceField(
            label=label,
            required=required,
            choices=[("", "—"), *((c, c) for c in f.get("choices") or [])],
        )
    widget: forms.Widget
    if kind == "textarea":
        widget = forms.Textarea(attrs={"rows": 3})
    elif kind == "number":
        widget = forms.NumberInput(attrs={"min": 1, "max": 1000})
    elif kind == "date":
        widget = forms.DateInput(attrs={"type": "date"})
    else:
        widget = forms.TextInput()
    return forms.CharField(label=label, required=required, max_length=500, widget=widget)
