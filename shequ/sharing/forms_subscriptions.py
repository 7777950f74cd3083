"""Forms of webhook subscriptions (the security administrator's: on a grant in force, then its
events, regions and address)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from shequ.core.forms import PlatformForm
from shequ.core.models import Region, RegionLevel
from shequ.sharing.forms_requests import RegionChoice
from shequ.sharing.models import Grant
from shequ.sharing.services.subscriptions import subscribable_events


class GrantChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"#{obj.pk} {obj.department.name} · {obj.resource} · {obj.client.username}"


class GrantChoiceForm(PlatformForm):
    grant = GrantChoice(label=_("Grant"), queryset=Grant.objects.none())

    def __init__(self, *args: Any, grants: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["grant"]
        field.queryset = grants


class SubscriptionForm(PlatformForm):
    grant = forms.IntegerField(widget=forms.HiddenInput)
    events = forms.MultipleChoiceField(label=_("Events"), widget=forms.CheckboxSelectMultiple)
    regions = RegionChoice(
        label=_("Regions"), queryset=Region.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    url = forms.CharField(
        label=_("Webhook address"),
        max_length=300,
        help_text=_("An https:// address of the department's system."),
    )

    def __init__(self, *args: Any, grant: Grant, event_labels: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        events: Any = self.fields["events"]
        events.choices = [(e, event_labels.get(e, e)) for e in subscribable_events(grant.resource)]
        area = Region.objects.none()
        for code in grant.region_codes:
            area |= Region.objects.filter(code__startswith=code)
        regions: Any = self.fields["regions"]
        regions.queryset = area.filter(level__in=(RegionLevel.STREET, RegionLevel.COMMUNITY)).order_by("code")
