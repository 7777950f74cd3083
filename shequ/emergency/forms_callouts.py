"""Forms of the call-out pages: the new call-out (targets from the officer's own regions), the
answer a person gives from their link, and the answer staff record for someone reached by phone.

The forms check shape and presence; the services decide scope, counts and whom the targets reach.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.forms import PlatformForm, RegionPickerField
from shequ.core.models import Region, RegionLevel
from shequ.core.permissions import Viewer, codes_q, scopes_for
from shequ.emergency.models import Answer, Response, TargetKind, Warning
from shequ.emergency.permissions import EmergencyPerm as P
from shequ.emergency.services.mobilization import MINUTES_MAX, RESENDS_MAX

BODY_MAX = 400
CHOICES_MAX = 200  # grids, communities or buildings offered as boxes to tick
REGION_KINDS = (TargetKind.STAFF, TargetKind.PARTY, TargetKind.VOLUNTEERS)


def region_choices(viewer: Viewer) -> list[tuple[str, str]]:
    """Communities and grids the officer may call out, each with its community's name for grids."""
    regions = list(
        Region.objects.filter(codes_q(scopes_for(viewer, P.MOBILIZE), "code"))
        .filter(level__in=[RegionLevel.COMMUNITY, RegionLevel.GRID])
        .select_related("parent")
        .order_by("code")[:CHOICES_MAX]
    )
    out = []
    for r in regions:
        if r.level == RegionLevel.GRID and r.parent is not None:
            out.append((r.code, f"{r.parent.name} › {r.name}"))
        else:
            out.append((r.code, r.name))
    return out


def building_choices(viewer: Viewer) -> list[tuple[str, str]]:
    """Buildings of the officer's regions (the registry's list, limited to where they mobilize)."""
    from shequ.registry import selectors as registry_selectors

    buildings = registry_selectors.building_list(viewer=viewer).filter(
        codes_q(scopes_for(viewer, P.MOBILIZE))
    )[:CHOICES_MAX]
    return [(str(b.pk), b.address or str(b)) for b in buildings]


class CalloutForm(PlatformForm):
    title = forms.CharField(label=pgettext_lazy("call-out", "Title"), max_length=60)
    body = forms.CharField(
        label=_("Message"),
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": BODY_MAX}),
        help_text=_("It goes by SMS: at most 400 characters. The answer keywords and a link are added."),
    )
    response = forms.ChoiceField(
        label=_("Answer asked for"),
        choices=[(Response.ACK, _("Acknowledge receipt")), (Response.STATUS, _("Safe / need help / where"))],
        initial=Response.STATUS,
        widget=forms.RadioSelect,
    )
    warning = forms.TypedChoiceField(
        label=pgettext_lazy("call-out", "Warning"), required=False, coerce=int, empty_value=None
    )
    staff = forms.BooleanField(label=_("All staff of a region"), required=False)
    staff_region = RegionPickerField(label=_("Staff of"), required=False)
    party = forms.BooleanField(label=_("Party members"), required=False)
    party_region = RegionPickerField(label=_("Party members of"), required=False)
    volunteers = forms.BooleanField(label=_("Volunteers"), required=False)
    volunteers_region = RegionPickerField(label=_("Volunteers of"), required=False)
    residents = forms.MultipleChoiceField(
        label=_("Residents of these communities or grids"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    buildings = forms.MultipleChoiceField(
        label=_("Residents of these buildings"), required=False, widget=forms.CheckboxSelectMultiple
    )
    assistance = forms.BooleanField(
        label=_("The warning's evacuation-assistance list"),
        required=False,
        help_text=_("Vulnerable people of the warning's area who need help to leave, by SMS."),
    )
    is_drill = forms.BooleanField(
        label=_("This is a drill"),
        required=False,
        help_text=_("Every message and page then says 【演练】."),
    )
    resend_after_minutes = forms.IntegerField(
        label=_("Send again after (minutes)"), min_value=1, max_value=MINUTES_MAX, initial=10
    )
    resends = forms.IntegerField(
        label=_("Times to send again"), min_value=0, max_value=RESENDS_MAX, initial=1
    )
    escalate_after_minutes = forms.IntegerField(
        label=_("Pass the silent to their grid worker after (minutes)"),
        min_value=1,
        max_value=MINUTES_MAX,
        initial=20,
    )

    def __init__(self, *args: Any, viewer: Viewer, warnings: list[Warning], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.warnings = {w.pk: w for w in warnings}
        choices: list[tuple[Any, Any]] = [("", _("None"))]
        for w in warnings:
            drill = "【演练】" if w.is_drill else ""
            choices.append((w.pk, f"{drill}{w.title}（{w.get_level_display()}）"))
        self.fields["warning"].choices = choices  # type: ignore[attr-defined]
        for kind in REGION_KINDS:
            field = self.fields[f"{kind}_region"]
            assert isinstance(field, RegionPickerField)
            field.limit_to(viewer, P.MOBILIZE)
        self.fields["residents"].choices = region_choices(viewer)  # type: ignore[attr-defined]
        self.fields["buildings"].choices = building_choices(viewer)  # type: ignore[attr-defined]
        self.fields["body"].widget.attrs["data-count"] = str(BODY_MAX)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for kind in REGION_KINDS:
            if data.get(kind) and not data.get(f"{kind}_region") and f"{kind}_region" not in self.errors:
                self.add_error(f"{kind}_region", _("Choose the region whose people you call out."))
        warning = self.warnings.get(data.get("warning") or 0)
        if data.get("assistance") and warning is None:
            self.add_error("warning", _("The evacuation-assistance list belongs to a warning: choose one."))
        if warning is not None and bool(data.get("is_drill")) != warning.is_drill:
            self.add_error(
                "is_drill",
                _("A call-out for a drill warning is a drill, and only then."),
            )
        data["warning_obj"] = warning
        if not self.errors and not self.targets():
            raise forms.ValidationError(_("Choose whom to call out: tick at least one group."))
        return data

    def targets(self) -> list[dict[str, Any]]:
        """The targets in the shape ``services.mobilization.clean_targets`` takes."""
        data = self.cleaned_data
        out: list[dict[str, Any]] = []
        for kind in REGION_KINDS:
            region = data.get(f"{kind}_region")
            if data.get(kind) and region is not None:
                out.append({"kind": kind, "region": region.code})
        out += [{"kind": TargetKind.RESIDENTS, "region": code} for code in data.get("residents") or []]
        if data.get("buildings"):
            out.append({"kind": TargetKind.BUILDINGS, "ids": [int(i) for i in data["buildings"]]})
        warning = data.get("warning_obj")
        if data.get("assistance") and warning is not None:
            out.append({"kind": TargetKind.ASSISTANCE, "warning": warning.pk})
        return out


class AnswerForm(PlatformForm):
    """The person's own answer, from the page their link opened."""

    answer = forms.ChoiceField(label=_("Your answer"))
    location = forms.CharField(
        label=_("Where are you? (optional)"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text=_("E.g. at home, at a relative's, building 5's roof."),
    )

    def __init__(self, *args: Any, allowed: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["answer"].choices = [(a, Answer(a).label) for a in allowed]  # type: ignore[attr-defined]


class StaffAnswerForm(PlatformForm):
    """An answer staff got by phone or at the door, for one person of the roll-call."""

    recipient = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    answer = forms.ChoiceField(label=_("Their answer"))
    note = forms.CharField(
        label=_("How you reached them"),
        max_length=200,
        help_text=_("E.g. by phone at 21:40, at the door."),
    )

    def __init__(self, *args: Any, allowed: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["answer"].choices = [(a, Answer(a).label) for a in allowed]  # type: ignore[attr-defined]
