"""Home-care forms: finding the person, the plan, a meal or visit record (made on a phone at the
door, so big radio buttons), ending a plan. The services check everything again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from shequ.core.forms import PlatformForm
from shequ.govservice.models import CareOutcome, CarePlan, CareService


class FindPersonForm(PlatformForm):
    """Who the plan is for: an ID number read from the card, or a name among the elderly and
    disabled people of the viewer's area."""

    id_number = forms.CharField(
        label=_("ID number"),
        max_length=18,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
        help_text=_("The 18 characters on the resident's ID card."),
    )
    q = forms.CharField(
        label=_("Or a name"),
        max_length=20,
        required=False,
        help_text=_("The first characters of the name; only elderly and disabled residents are listed."),
    )


class CarePlanForm(PlatformForm):
    person = forms.IntegerField(widget=forms.HiddenInput)
    services = forms.MultipleChoiceField(
        label=_("Care services"),
        choices=CareService.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    visits_per_week = forms.IntegerField(
        label=_("Visits a week"),
        min_value=1,
        max_value=21,
        initial=2,
        help_text=_("Meals and visits together; the list shows when a week falls behind."),
    )
    provider = forms.CharField(
        label=_("Provider"),
        max_length=100,
        required=False,
        help_text=_("E.g. 社区长者食堂, a volunteer team or a home-care company."),
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CareRecordForm(PlatformForm):
    service = forms.ChoiceField(label=_("Service given"), widget=forms.RadioSelect)
    outcome = forms.ChoiceField(label=_("How it went"), choices=CareOutcome.choices, widget=forms.RadioSelect)
    note = forms.CharField(
        label=_("Note"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when something is wrong: say what, the grid worker goes to see."),
    )

    def __init__(self, *args: Any, plan: CarePlan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(CareService.choices)
        choices = [(s, labels.get(s, s)) for s in plan.services]
        service = self.fields["service"]
        assert isinstance(service, forms.ChoiceField)
        service.choices = choices
        if len(choices) == 1:
            self.initial.setdefault("service", choices[0][0])


class EndPlanForm(PlatformForm):
    reason = forms.CharField(
        label=_("Why the plan ends"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("E.g. moved to a care home, family now cares, passed away."),
    )
