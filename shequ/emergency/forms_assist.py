"""Forms of the risk and assistance pages: drafting a warning from an assessment, naming a helper."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from shequ.core.forms import PlatformForm
from shequ.core.models import User
from shequ.emergency.models import HelperRelation, WarningType
from shequ.emergency.risk import MODEL_TYPES


class DraftForm(PlatformForm):
    region = forms.RegexField(regex=r"^\d{6,15}$", max_length=15)
    kind = forms.ChoiceField(choices=[(k, WarningType(k).label) for k in MODEL_TYPES])


class HelperForm(PlatformForm):
    """An account of the community (grid worker, volunteer, party member) or a named family member
    or neighbour with a mobile number; the service checks the rest (which account, the number)."""

    relation = forms.ChoiceField(label=_("Who helps"), choices=HelperRelation.choices)
    helper_user = forms.TypedChoiceField(
        label=_("Staff member or volunteer"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_("For a grid worker, volunteer or party member with an account."),
    )
    helper_name = forms.CharField(
        label=_("Name"), required=False, max_length=50, help_text=_("For a family member or neighbour.")
    )
    helper_phone = forms.CharField(
        label=_("Mobile number"),
        required=False,
        max_length=20,
        help_text=_("For a family member or neighbour: they get the SMS when a warning is issued."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args: Any, accounts: list[tuple[User, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["helper_user"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", _("— none —"))] + [(u.pk, u.name) for u, _code in accounts]
