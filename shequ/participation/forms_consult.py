"""Forms of the consultation pages: they parse input; the services decide (their errors land on
the fields they name, ``core.forms.apply_service_errors``)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.forms import DateInput, PhotosInput, PlatformForm
from shequ.core.permissions import Viewer
from shequ.core.sealed_files import FILE_MAX_BYTES
from shequ.participation import selectors_consult as selectors
from shequ.participation.models import ReportReason, Stage
from shequ.participation.services.consultations import files as topic_files

TEXTAREA = {"rows": 4}
MEETING_ACCEPT = "image/jpeg,image/png,image/webp,application/pdf"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class FilesField(forms.FileField):
    """Several files in one input; the services check type, size and pixels."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        items = data if isinstance(data, list | tuple) else [data]
        files = [super(FilesField, self).clean(d, initial) for d in items if d]
        if len(files) > topic_files.MAX_FILES:
            raise forms.ValidationError(_("At most %(n)d files at once.") % {"n": topic_files.MAX_FILES})
        return files


def _text(
    label: Any, max_length: int, *, required: bool = True, rows: int = 0, help_text: Any = ""
) -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": rows}) if rows else forms.TextInput()
    return forms.CharField(
        label=label, max_length=max_length, required=required, widget=widget, help_text=help_text
    )


class TopicForm(PlatformForm):
    """Staff open a topic: where (a grid or community of theirs, optionally some buildings)."""

    region = forms.ChoiceField(label=_("Grid or community"))
    title = _text(pgettext_lazy("consultation", "Title"), 100)
    description = _text(
        _("Description"), 5000, rows=6, help_text=_("What is to be decided and why; shown to the public.")
    )
    buildings = forms.MultipleChoiceField(
        label=_("Only these buildings (optional)"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("Leave empty for everyone living in the grid or community."),
    )

    def __init__(self, *args: Any, viewer: Viewer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.regions = {r.code: r for r in selectors.consult_regions(viewer=viewer)}
        cast(forms.ChoiceField, self.fields["region"]).choices = [
            ("", "—"),
            *((code, f"{r.name} ({code})") for code, r in self.regions.items()),
        ]
        self.building_rows = {str(b.pk): b for b in selectors.buildings_for(viewer=viewer)[:500]}
        cast(forms.ChoiceField, self.fields["buildings"]).choices = [
            (pk, str(b)) for pk, b in self.building_rows.items()
        ]

    def chosen_region(self) -> Any:
        return self.regions[self.cleaned_data["region"]]

    def chosen_buildings(self) -> list[Any]:
        return [self.building_rows[pk] for pk in self.cleaned_data.get("buildings") or []]


class ProposeForm(PlatformForm):
    title = _text(
        pgettext_lazy("consultation", "Title"),
        100,
        help_text=_("In a few words: what should the community discuss?"),
    )
    description = _text(
        _("Description"), 5000, rows=6, help_text=_("What the problem is, where, and whom it concerns.")
    )


class NoteForm(PlatformForm):
    note = _text(_("Note (optional)"), 500, required=False, rows=2)


class DeclineForm(PlatformForm):
    reason = _text(_("Reason"), 500, rows=3, help_text=_("The proposer reads this."))


class MeetingForm(PlatformForm):
    meeting_at = forms.DateTimeField(
        label=_("Date and time"),
        input_formats=["%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    meeting_place = _text(_("Place"), 200, required=False)
    meeting_link = _text(_("Online link"), 300, required=False, help_text=_("Give a place, a link, or both."))


class MinutesForm(PlatformForm):
    participants = _text(
        _("Participants"),
        2000,
        rows=3,
        help_text=_(
            "Who took part: names or representatives (居民代表, 物业, 业委会…). Shown to the public."
        ),
    )
    participant_count = forms.IntegerField(
        label=_("Number of participants"), min_value=1, max_value=1_000_000
    )
    minutes = _text(pgettext_lazy("meeting", "Minutes"), 20000, rows=8, help_text=_("Shown to the public."))
    attachments = FilesField(
        label=_("Attachments (photos or PDF)"), widget=MultipleFileInput(attrs={"accept": MEETING_ACCEPT})
    )
    files_public = forms.BooleanField(
        label=_("Show these attachments on the public page"),
        required=False,
        help_text=_("Leave unticked for a sign-in sheet with signatures or phone numbers."),
    )


class DecideForm(PlatformForm):
    decision = _text(pgettext_lazy("consultation", "Decision"), 5000, rows=5)
    votes_for = forms.IntegerField(label=_("For"), required=False, min_value=0)
    votes_against = forms.IntegerField(label=_("Against"), required=False, min_value=0)
    votes_abstain = forms.IntegerField(label=_("Abstained"), required=False, min_value=0)


class ProgressForm(PlatformForm):
    on = forms.DateField(label=_("Date"), widget=DateInput())
    text = _text(_("What was done"), 5000, rows=4)
    photos = FilesField(
        label=_("Photos (optional)"),
        widget=PhotosInput(max_count=topic_files.MAX_FILES, max_bytes=FILE_MAX_BYTES),
    )


class EmptyForm(PlatformForm):
    pass


class ProposalForm(PlatformForm):
    title = _text(_("Proposal title"), 100)
    body = _text(_("What you propose"), 5000, rows=4)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "proposal_%s")  # several forms on one page: distinct ids
        super().__init__(*args, **kwargs)


# The staff's steps at each stage: (action key, form class).
STEP_FORMS: dict[str, list[tuple[str, type[PlatformForm]]]] = {
    Stage.PROPOSED: [("accept", NoteForm), ("decline", DeclineForm)],
    Stage.COLLECTING: [("proposal", ProposalForm), ("meeting", MeetingForm)],
    Stage.MEETING: [("minutes", MinutesForm), ("decide", DecideForm)],
    Stage.DECIDED: [("implement", NoteForm)],
    Stage.IMPLEMENTING: [("progress", ProgressForm), ("feedback_open", EmptyForm)],
    Stage.FEEDBACK: [("close", NoteForm)],
}


# --- Residents --------------------------------------------------------------------------------


class CommentForm(PlatformForm):
    body = _text(_("Your comment"), 1000, rows=3, help_text=_("Your name is shown masked (张*)."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "comment_%s")  # several forms on one page: distinct ids
        super().__init__(*args, **kwargs)


YES, NO = "yes", "no"


class FeedbackForm(PlatformForm):
    satisfied = forms.ChoiceField(
        label=_("Are you satisfied with how it was carried out?"),
        choices=[(YES, _("Satisfied")), (NO, _("Not satisfied"))],
        widget=forms.RadioSelect,
    )
    comment = _text(_("Comment (optional)"), 500, required=False, rows=3)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "feedback_%s")  # several forms on one page: distinct ids
        super().__init__(*args, **kwargs)


class ReportForm(PlatformForm):
    reason = forms.ChoiceField(
        label=_("What is wrong with it?"), choices=ReportReason.choices, widget=forms.RadioSelect
    )
    text = _text(
        _("Tell us more"), 300, required=False, rows=2, help_text=_("Needed when you choose “Other”.")
    )


class AppealForm(PlatformForm):
    text = _text(
        _("Why should your comment be shown?"), 500, rows=3, help_text=_("You can appeal only once.")
    )


class ModerateForm(PlatformForm):
    reason = _text(_("Reason"), 500, rows=2, help_text=_("The author reads this."))


class AppealDecisionForm(PlatformForm):
    decision = forms.ChoiceField(
        label=pgettext_lazy("appeal", "Decision"),
        choices=[("restore", _("Restore the comment")), ("keep", _("Keep it hidden"))],
        widget=forms.RadioSelect,
    )
    reason = _text(
        _("Reason"),
        500,
        required=False,
        rows=2,
        help_text=_("Required to keep it hidden; the author reads it."),
    )


class TopicFilterForm(PlatformForm):
    stage = forms.ChoiceField(
        label=_("Stage"),
        required=False,
        choices=[("", _("All")), ("open", pgettext_lazy("consultation filter", "Open")), *Stage.choices],
    )
    q = forms.CharField(label=_("Search"), required=False, max_length=30)
