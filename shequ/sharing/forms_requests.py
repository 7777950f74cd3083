"""Forms of data requests: the department's request (in two steps: the resource, then its terms)
and a decider's decision."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from shequ.core.components import DataResource, Sensitivity, SharingType
from shequ.core.forms import PlatformForm
from shequ.core.models import Region, RegionLevel, User
from shequ.core.permissions import Viewer, codes_q, scopes_for
from shequ.sharing.permissions import SharePerm as P
from shequ.sharing.services.access import GRANT_MAX_DAYS

FILTER_PREFIX = "filter_"
SENSITIVITY_WORDS = {
    Sensitivity.PUBLIC: _("public"),
    Sensitivity.INTERNAL: _("internal"),
    Sensitivity.PERSONAL: _("personal"),
    Sensitivity.SENSITIVE: _("sensitive"),
}


class ResourceChoiceForm(PlatformForm):
    resource = forms.ChoiceField(label=_("Resource"))

    def __init__(self, *args: Any, resources: dict[str, DataResource], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["resource"]
        field.choices = [("", "—")] + [
            (key, str(res.title)) for key, res in resources.items() if res.sharing != SharingType.NONE
        ]


class RegionChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name}（{obj.code}）"


class ClientChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name or obj.username}（{obj.username}）"


def region_queryset(viewer: Viewer, perm: str) -> Any:
    return Region.objects.filter(
        codes_q(scopes_for(viewer, perm), "code"), level__in=(RegionLevel.STREET, RegionLevel.COMMUNITY)
    ).order_by("code")


class DataRequestForm(PlatformForm):
    resource = forms.CharField(widget=forms.HiddenInput)
    field_keys = forms.MultipleChoiceField(label=_("Fields"), widget=forms.CheckboxSelectMultiple)
    unmasked = forms.MultipleChoiceField(
        label=_("Shown in clear"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Personal fields are masked unless you need them in clear; say why in the purpose."),
    )
    regions = RegionChoice(
        label=_("Regions"), queryset=Region.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    purpose = forms.CharField(
        label=_("Purpose of use"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the data is for, e.g. checking residents' addresses for household visits."),
    )
    legal_basis = forms.CharField(
        label=_("Legal basis"),
        max_length=300,
        help_text=_("The law, regulation or document that allows it, with its number."),
    )
    duration_days = forms.IntegerField(
        label=_("For how many days"), min_value=1, max_value=GRANT_MAX_DAYS, initial=90
    )
    client = ClientChoice(
        label=_("Account that reads the data"),
        queryset=User.objects.none(),
        help_text=_("The department account whose system will read the data with its API token."),
    )

    def __init__(
        self,
        *args: Any,
        viewer: Viewer,
        resource: DataResource,
        accounts: list[User],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.data_resource = resource
        choices: Any = self.fields["field_keys"]
        choices.choices = [
            (f.key, f"{f.title}（{SENSITIVITY_WORDS.get(f.sensitivity, f.sensitivity)}）")
            for f in resource.fields
        ]
        personal = [
            f for f in resource.fields if f.sensitivity in (Sensitivity.PERSONAL, Sensitivity.SENSITIVE)
        ]
        unmasked: Any = self.fields["unmasked"]
        unmasked.choices = [(f.key, str(f.title)) for f in personal]
        if not personal:
            del self.fields["unmasked"]
        regions: Any = self.fields["regions"]
        regions.queryset = region_queryset(viewer, P.REQUEST)
        client: Any = self.fields["client"]
        client.queryset = User.objects.filter(pk__in=[u.pk for u in accounts]).order_by("username")
        for dim in resource.dimensions:
            self.fields[FILTER_PREFIX + dim.key] = forms.ChoiceField(
                label=_("Only rows with %(label)s") % {"label": dim.label},
                required=False,
                choices=[("", _("all"))] + [(str(v), str(label)) for v, label in dim.values()],
            )

    def filters(self) -> dict[str, str]:
        data = self.cleaned_data
        return {
            name[len(FILTER_PREFIX) :]: value
            for name, value in data.items()
            if name.startswith(FILTER_PREFIX) and value
        }


class DecideForm(PlatformForm):
    step = forms.ChoiceField(label=_("Decide as"), widget=forms.RadioSelect)
    decision = forms.ChoiceField(
        label=_("Decision"),
        widget=forms.RadioSelect,
        choices=[("approve", _("Approve")), ("refuse", _("Refuse"))],
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when you refuse; the department reads it."),
    )

    def __init__(self, *args: Any, steps: list[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        step: Any = self.fields["step"]
        step.choices = steps
        if len(steps) == 1:
            step.widget = forms.HiddenInput()
            step.initial = steps[0][0]
