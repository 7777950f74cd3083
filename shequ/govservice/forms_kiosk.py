"""Forms of the self-service terminal (自助终端): opening kiosk mode for a community, signing in
with the ID number, the one-time code sent by SMS. The item's form is the resident one."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from shequ.core.forms import PlatformForm
from shequ.core.models import Region
from shequ.core.validators import clean_resident_id

CODE_LENGTH = 6


class KioskOpenForm(PlatformForm):
    community = forms.ChoiceField(label=_("Community of this terminal"))

    def __init__(self, *args: Any, communities: list[Region], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(r.code, r.name) for r in communities]
        cast(forms.ChoiceField, self.fields["community"]).choices = (
            [("", "—"), *choices] if len(choices) > 1 else choices
        )


class KioskSigninForm(PlatformForm):
    id_number = forms.CharField(
        label=_("ID card number"),
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text", "spellcheck": "false"}),
        help_text=_("18 characters, the last may be X."),
    )

    def clean_id_number(self) -> str:
        return clean_resident_id(self.cleaned_data["id_number"])


class KioskCodeForm(PlatformForm):
    code = forms.CharField(
        label=_("The 6-digit code from the SMS"),
        max_length=CODE_LENGTH,
        min_length=CODE_LENGTH,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )

    def clean_code(self) -> str:
        code = str(self.cleaned_data["code"]).strip()
        if not code.isdigit():
            raise ValidationError(_("The code has 6 digits."))
        return code
