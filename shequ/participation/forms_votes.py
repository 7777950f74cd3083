"""Forms of the vote pages (staff): a new vote, ballot options and candidates, trustees, roll
corrections, proxies, objections and their decisions, voting times. They parse; the services decide."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.forms import DateInput, PlatformForm, RegionPickerField
from shequ.core.permissions import Viewer
from shequ.participation.models import Electorate, Matter, ObjectionKind, Quorum, ResidenceRule, VoteKind
from shequ.participation.permissions import PartPerm

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
KINDS = [(k, label) for k, label in VoteKind.choices if k != VoteKind.BY_ELECTION]


class VoteForm(PlatformForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=KINDS)
    region = RegionPickerField(label=_("Community or grid"))
    title = forms.CharField(label=pgettext_lazy("vote", "Title"), max_length=120)
    description = forms.CharField(
        label=_("What is decided"), max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    electorate = forms.ChoiceField(
        label=_("Who votes"),
        choices=[("", _("As the kind requires")), *Electorate.choices],
        required=False,
        help_text=_("Elections: registered voters; owners' votes: owners with their floor area."),
    )
    matter = forms.ChoiceField(label=_("Majority needed"), choices=Matter.choices, initial=Matter.ORDINARY)
    quorum = forms.ChoiceField(
        label=_("Quorum (decision votes)"), choices=Quorum.choices, initial=Quorum.NONE
    )
    max_choices = forms.IntegerField(
        label=_("Choices allowed per ballot"),
        min_value=1,
        max_value=50,
        initial=1,
        help_text=_("Elections: as many as there are seats."),
    )
    seats = forms.IntegerField(
        label=_("Seats (elections)"), min_value=0, max_value=30, initial=0, required=False
    )
    cutoff_date = forms.DateField(
        label=_("Electorate cut-off date"),
        widget=DateInput(),
        help_text=_("Who lived (or owned) here on this day makes up the electorate."),
    )
    opens_at = forms.DateTimeField(label=_("Voting opens"), widget=DATETIME)
    closes_at = forms.DateTimeField(label=_("Voting closes"), widget=DATETIME)
    election_day = forms.DateField(
        label=_("Election day"),
        widget=DateInput(),
        required=False,
        help_text=_("Its year names the term: one person is on one community's list per year."),
    )
    residence_rule = forms.ChoiceField(label=_("Residence rule (elections)"), choices=ResidenceRule.choices)
    allow_proxy = forms.BooleanField(label=_("Written proxies allowed (elections)"), required=False)

    def __init__(self, *args: Any, viewer: Viewer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        region = self.fields["region"]
        assert isinstance(region, RegionPickerField)
        region.limit_to(viewer, PartPerm.RUN_VOTES)
        if not self.is_bound:
            today = timezone.localdate()
            self.initial.setdefault("cutoff_date", today)
            start = timezone.localtime().replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
            self.initial.setdefault("opens_at", start)
            self.initial.setdefault("closes_at", start + dt.timedelta(days=7))


class OptionForm(PlatformForm):
    label = forms.CharField(label=_("Option"), max_length=100)


class CandidateForm(PlatformForm):
    person = forms.TypedChoiceField(label=_("Candidate"), coerce=int, choices=())
    nominated_by = forms.CharField(
        label=_("Nominated by"),
        max_length=100,
        required=False,
        help_text=_("For example: ten voters jointly, the residents' representatives' meeting."),
    )

    def __init__(self, *args: Any, voters: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["person"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", ""), *((str(pk), label) for pk, label in voters)]


class TrusteeForm(PlatformForm):
    username = forms.CharField(
        label=_("Account of the trustee"),
        max_length=150,
        help_text=_("A member of the election committee; they make their key share on their own phone."),
    )


class ScheduleForm(PlatformForm):
    opens_at = forms.DateTimeField(label=_("Voting opens"), widget=DATETIME)
    closes_at = forms.DateTimeField(label=_("Voting closes"), widget=DATETIME)
    election_day = forms.DateField(label=_("Election day"), widget=DateInput(), required=False)


class VoterAddForm(PlatformForm):
    person_id = forms.IntegerField(label=_("Registry number of the person"), min_value=1)
    note = forms.CharField(
        label=_("Why"),
        max_length=200,
        help_text=_(
            "For example: registered elsewhere, living here since 2024, accepted by the meeting of 3 May."
        ),
    )


class VoterRemoveForm(PlatformForm):
    voter = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), max_length=200)


class ProxyForm(PlatformForm):
    voter = forms.TypedChoiceField(label=_("Voter who is away"), coerce=int, choices=())
    holder = forms.TypedChoiceField(label=_("Entrusted voter"), coerce=int, choices=())
    relation = forms.CharField(label=_("Relation"), max_length=30, help_text=_("A close relative."))
    document = forms.CharField(
        label=_("Written entrustment"), max_length=100, help_text=_("Its number or a note.")
    )

    def __init__(self, *args: Any, lines: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("voter", "holder"):
            field = self.fields[name]
            assert isinstance(field, forms.TypedChoiceField)
            field.choices = [("", ""), *((str(pk), label) for pk, label in lines)]


class RepresentativeForm(PlatformForm):
    """Who casts the developer's line of an owners' vote: its representative's account."""

    username = forms.CharField(
        label=_("Account of the developer's representative"),
        max_length=150,
        help_text=_("They vote for all the unsold houses as one owner, on their own phone."),
    )
    document = forms.CharField(
        label=_("Written authorization"),
        max_length=100,
        help_text=_("Its number or a note: the developer's letter naming the representative."),
    )


class ObjectionForm(PlatformForm):
    kind = forms.ChoiceField(label=_("Objection"), choices=ObjectionKind.choices)
    person_id = forms.IntegerField(label=_("Registry number of the person"), min_value=1)
    reason = forms.CharField(label=_("Reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))


class DecideForm(PlatformForm):
    objection = forms.IntegerField(widget=forms.HiddenInput)
    upheld = forms.TypedChoiceField(
        label=_("Decision"),
        coerce=lambda v: v == "yes",
        choices=[("yes", _("Upheld: correct the list")), ("no", _("Not upheld"))],
        widget=forms.RadioSelect,
    )
    answer = forms.CharField(label=_("Reasons"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))


class TrackerForm(PlatformForm):
    tracker = forms.RegexField(
        label=_("Ballot tracker"),
        regex=r"^\s*[0-9a-fA-F]{64}\s*$",
        error_messages={"invalid": _("A tracker has 64 characters 0–9 and a–f, as your receipt shows.")},
    )


class ResidentObjectionForm(PlatformForm):
    """A resident's objection to a published voter list: they are left out, someone else is left
    out (named by name and ID number, found in the community's registry), or a line should go."""

    kind = forms.ChoiceField(
        label=_("Objection"),
        choices=[
            ("left_out", _("I am not on the list but should be")),
            ("left_out_other", _("Someone else is not on the list but should be")),
            ("not_eligible", _("A person on the list should not be")),
        ],
        widget=forms.RadioSelect,
    )
    line = forms.TypedChoiceField(
        label=_("Line of the list"),
        coerce=int,
        choices=(),
        required=False,
        empty_value=None,
        help_text=_("Only when a person on the list should not be on it."),
    )
    name = forms.CharField(
        label=_("Name of the person left off"),
        max_length=50,
        required=False,
        help_text=_("Only when someone else should be on the list."),
    )
    id_number = forms.CharField(
        label=_("Their ID number"),
        max_length=30,
        required=False,
        help_text=_("As on their ID card: the committee finds them in the community's registry."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, lines: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["line"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [
            ("", ""),
            *((str(pk), f"{n}. {label}") for n, (pk, label) in enumerate(lines, start=1)),
        ]
        self.fields["id_number"].widget.attrs["autocomplete"] = "off"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == "left_out_other":
            for name in ("name", "id_number"):
                if not (data.get(name) or "").strip():
                    self.add_error(name, _("Name the person who should be on the list."))
        return data
