"""The registry ledgers' own filter fields (the reports app's ledger page builds the region and
date fields and adds these): ages, sex, kind and grade of disability, special group, organization
type and status, kind of key place and risk level."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shequ.core.permissions import Viewer
from shequ.registry.ledgers._common import (
    AGE_MAX,
    AGE_MIN,
    CATEGORY,
    DISABILITY_GRADE,
    DISABILITY_GRADES,
    DISABILITY_TYPE,
    DISABILITY_TYPES,
    ORG_STATUS,
    ORG_TYPE,
    PLACE_KIND,
    RISK_LEVEL,
    SEX,
    special_categories,
)
from shequ.registry.models import KeyPlaceKind, OrganizationStatus, OrganizationType, RiskLevel, Sex

ANY = ("", gettext_lazy("Any"))


def fields_for(names: tuple[str, ...]) -> Callable[[Viewer], dict[str, forms.Field]]:
    """The form fields of the filters ``names`` a registry ledger accepts."""
    wanted = set(names)

    def build(viewer: Viewer) -> dict[str, forms.Field]:
        fields: dict[str, forms.Field] = {}
        if AGE_MIN in wanted:
            fields[AGE_MIN] = forms.IntegerField(
                label=_("Age from"), required=False, min_value=0, max_value=150
            )
            fields[AGE_MAX] = forms.IntegerField(
                label=_("Age to"), required=False, min_value=0, max_value=150
            )
        if SEX in wanted:
            fields[SEX] = forms.ChoiceField(label=_("Sex"), required=False, choices=[ANY, *Sex.choices])
        if DISABILITY_TYPE in wanted:
            fields[DISABILITY_TYPE] = forms.ChoiceField(
                label=_("Kind of disability"),
                required=False,
                choices=[ANY, *((code, label) for code, (label, _zh) in DISABILITY_TYPES.items())],
            )
        if DISABILITY_GRADE in wanted:
            fields[DISABILITY_GRADE] = forms.ChoiceField(
                label=_("Disability grade"),
                required=False,
                choices=[ANY, *((g, _("Grade %(n)s") % {"n": g}) for g in DISABILITY_GRADES)],
            )
        if CATEGORY in wanted:
            fields[CATEGORY] = forms.ChoiceField(
                label=_("Group"),
                required=False,
                choices=[ANY, *((c.code, c.label) for c in special_categories(viewer))],
            )
        if ORG_TYPE in wanted:
            fields[ORG_TYPE] = forms.ChoiceField(
                label=_("Type"), required=False, choices=[ANY, *OrganizationType.choices]
            )
        if ORG_STATUS in wanted:
            fields[ORG_STATUS] = forms.ChoiceField(
                label=_("Status"),
                required=False,
                choices=[("", _("Operating or suspended")), ("all", _("All")), *OrganizationStatus.choices],
            )
        if PLACE_KIND in wanted:
            fields[PLACE_KIND] = forms.ChoiceField(
                label=_("Kind"), required=False, choices=[ANY, *KeyPlaceKind.choices]
            )
        if RISK_LEVEL in wanted:
            fields[RISK_LEVEL] = forms.ChoiceField(
                label=_("Risk level"), required=False, choices=[ANY, *RiskLevel.choices]
            )
        return fields

    return build


def check_ages(values: Mapping[str, Any]) -> dict[str, str]:
    low, high = values.get(AGE_MIN), values.get(AGE_MAX)
    if low is not None and high is not None and low > high:
        return {AGE_MAX: _("The upper age is below the lower age.")}
    return {}
