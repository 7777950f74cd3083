"""Tables of the consultations area (议事协商, see models/__init__.py).

- ``Topic`` (议题): what is discussed, who proposed it (a resident through their registry person, or
  a staff account), its scope (a grid or community, optionally some of its buildings) and its
  stage: proposed → collecting opinions (征集意见) → meeting (协商会议) → decision (协商结果) →
  implementation (落实) → feedback (反馈评价) → closed; or declined from proposed. The meeting and
  the decision live on the topic (one of each per topic); ``TopicStep`` is its timeline.
- ``Proposal`` (方案) and ``Support``: one support per registry person per proposal (a unique
  constraint, so two taps at once still make one).
- ``Comment`` with ``CommentReport`` (one per reporter), ``CommentAppeal`` (one per comment) and
  ``ModerationStep`` (who hid or restored it, why).
- ``ProgressUpdate`` (落实进展), ``TopicFile`` (meeting attachments and progress photos, sealed
  like government-service materials) and ``Feedback`` (one per person per topic).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.models import Region

__all__ = [
    "AppealOutcome",
    "Comment",
    "CommentAppeal",
    "CommentReport",
    "CommentStatus",
    "Feedback",
    "FileKind",
    "ModerationStep",
    "ProgressUpdate",
    "Proposal",
    "ReportReason",
    "Stage",
    "Support",
    "Topic",
    "TopicFile",
    "TopicStep",
]

CODE_LENGTH = 15


class Stage(models.TextChoices):
    PROPOSED = "proposed", pgettext_lazy("consultation stage", "Proposed, awaiting acceptance")
    DECLINED = "declined", pgettext_lazy("consultation stage", "Declined")
    COLLECTING = "collecting", pgettext_lazy("consultation stage", "Collecting opinions")
    MEETING = "meeting", pgettext_lazy("consultation stage", "Consultation meeting")
    DECIDED = "decided", pgettext_lazy("consultation stage", "Decided")
    IMPLEMENTING = "implementing", pgettext_lazy("consultation stage", "Being implemented")
    FEEDBACK = "feedback", pgettext_lazy("consultation stage", "Feedback")
    CLOSED = "closed", pgettext_lazy("consultation stage", "Closed")


class Topic(models.Model):
    """One consultation topic (议题). ``region`` is a grid or a community; ``buildings`` (of that
    region) narrow the scope further. Residents whose registry home lies in the scope take part."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    buildings = models.ManyToManyField("registry.Building", blank=True, related_name="+")
    title = models.CharField(_("title"), max_length=100)
    description = models.TextField(_("description"))
    # The proposer: a resident (registry person and their account) or a staff account.
    proposer_person = models.ForeignKey(
        "registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposer_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposer_name = models.CharField(max_length=50)
    proposed_by_resident = models.BooleanField(default=False)
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices)
    stage_at = models.DateTimeField(default=timezone.now)  # when the present stage began
    decline_reason = models.TextField(_("reason for declining"), blank=True)
    # 协商会议
    meeting_at = models.DateTimeField(_("meeting time"), null=True, blank=True)
    meeting_place = models.CharField(_("place"), max_length=200, blank=True)
    meeting_link = models.URLField(_("online meeting link"), max_length=300, blank=True)
    participants = models.TextField(_("participants"), blank=True)
    participant_count = models.PositiveIntegerField(_("number of participants"), null=True, blank=True)
    minutes = models.TextField(_("minutes"), blank=True)
    # 协商结果
    decision = models.TextField(_("decision"), blank=True)
    votes_for = models.PositiveIntegerField(_("for"), null=True, blank=True)
    votes_against = models.PositiveIntegerField(_("against"), null=True, blank=True)
    votes_abstain = models.PositiveIntegerField(_("abstained"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("consultation topic")
        verbose_name_plural = _("consultation topics")
        ordering: ClassVar = ["-created_at", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(proposer_person__isnull=False) | Q(proposer_user__isnull=False),
                name="participation_topic_has_proposer",
            ),
            models.CheckConstraint(condition=Q(stage__in=Stage.values), name="participation_topic_stage"),
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["region_code", "-created_at"],
                name="part_topic_region_idx",
                opclasses=["varchar_pattern_ops", "timestamptz_ops"],
            ),
            models.Index(fields=["stage", "region_code"], name="part_topic_stage_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def vote_total(self) -> int:
        return sum(v or 0 for v in (self.votes_for, self.votes_against, self.votes_abstain))

    @property
    def has_votes(self) -> bool:
        return any(v is not None for v in (self.votes_for, self.votes_against, self.votes_abstain))


class TopicStep(models.Model):
    """One step of a topic's life: who, when, what, the stage before and after, a note."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="steps")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=20)
    from_stage = models.CharField(max_length=12, blank=True)
    to_stage = models.CharField(max_length=12, blank=True)
    note = models.TextField(blank=True)
    public = models.BooleanField(default=True)

    class Meta:
        ordering: ClassVar = ["at", "pk"]
        indexes: ClassVar = [models.Index(fields=["topic", "at"], name="part_step_topic_idx")]


class ProgressUpdate(models.Model):
    """落实进展: what was done on a day to carry out the decision."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="progress")
    on = models.DateField(_("date"))
    text = models.TextField(_("what was done"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["on", "pk"]


class FileKind(models.TextChoices):
    MEETING = "meeting", _("Meeting attachment")
    PROGRESS = "progress", _("Progress photo")


def _file_path(instance: TopicFile, filename: str) -> str:
    return f"participation/consult/{instance.topic_id}/{instance.token}.bin"


class TopicFile(models.Model):
    """A meeting attachment (a photo or PDF: the sign-in sheet, the minutes as signed) or a progress
    photo, sealed with SM4-GCM bound to the topic and a random token. ``public``: shown on the
    public page (a sign-in sheet with signatures stays with the staff)."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="files")
    progress = models.ForeignKey(
        ProgressUpdate, null=True, blank=True, on_delete=models.CASCADE, related_name="photos"
    )
    kind = models.CharField(max_length=10, choices=FileKind.choices)
    public = models.BooleanField(default=False)
    token = models.CharField(max_length=32, unique=True)
    file = models.FileField(upload_to=_file_path, max_length=200)
    filename = models.CharField(max_length=120)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    key_id = models.CharField(max_length=40)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["pk"]


class Proposal(models.Model):
    """方案: a way to settle the topic, put forward by a resident in scope or by staff."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="proposals")
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("what it proposes"))
    author_person = models.ForeignKey(
        "registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    author_name = models.CharField(max_length=50)
    by_staff = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["created_at", "pk"]


class Support(models.Model):
    """One registry person's support of a proposal; withdrawing deletes it (audited)."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="supports")
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["proposal", "person"], name="participation_one_support_per_person"
            )
        ]


class CommentStatus(models.TextChoices):
    VISIBLE = "visible", pgettext_lazy("comment status", "Visible")
    HIDDEN_PENDING = "pending", pgettext_lazy("comment status", "Hidden after reports, awaiting review")
    HIDDEN = "hidden", pgettext_lazy("comment status", "Hidden by a moderator")


class Comment(models.Model):
    """A resident's comment on a topic. Hidden comments keep their text for the moderators and the
    author; the public reads only that a comment was hidden."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="comments")
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    author_name = models.CharField(max_length=50)
    body = models.TextField(_("comment"))
    status = models.CharField(max_length=8, choices=CommentStatus.choices, default=CommentStatus.VISIBLE)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.TextField(blank=True)
    # Reports before this moment were looked at by a moderator: only later ones count again.
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["created_at", "pk"]
        indexes: ClassVar = [
            models.Index(fields=["topic", "created_at"], name="part_comment_topic_idx"),
            models.Index(fields=["status", "region_code"], name="part_comment_status_idx"),
        ]

    @property
    def is_hidden(self) -> bool:
        return self.status != CommentStatus.VISIBLE


class ReportReason(models.TextChoices):
    ABUSE = "abuse", _("Abuse or insults")
    PERSONAL = "personal", _("Reveals someone's personal data")
    ADVERTISING = "advertising", _("Advertising")
    OFF_TOPIC = "off_topic", _("Off topic")
    OTHER = "other", _("Other")


class CommentReport(models.Model):
    """One resident's report of a comment (one per reporter: the count is of distinct people)."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=12, choices=ReportReason.choices)
    text = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["at", "pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["comment", "reporter"], name="participation_one_report_per_reporter"
            ),
            models.CheckConstraint(
                condition=~Q(reason="other") | ~Q(text=""), name="participation_report_other_has_text"
            ),
        ]


class AppealOutcome(models.TextChoices):
    RESTORED = "restored", pgettext_lazy("appeal outcome", "Comment restored")
    KEPT = "kept", pgettext_lazy("appeal outcome", "Kept hidden")


class CommentAppeal(models.Model):
    """The author's one appeal against a hidden comment, and the moderator's decision."""

    comment = models.OneToOneField(Comment, on_delete=models.CASCADE, related_name="appeal")
    text = models.TextField(_("why it should be shown"))
    at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=8, choices=AppealOutcome.choices, blank=True)
    reason = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )


class ModerationStep(models.Model):
    """What happened to a comment: auto-hidden, hidden, restored, appealed, appeal decided."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="moderation")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=16)
    reason = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar = ["at", "pk"]


class Feedback(models.Model):
    """反馈评价: a resident in scope says whether they are satisfied with how it was carried out."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="feedback")
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    author_name = models.CharField(max_length=50)
    satisfied = models.BooleanField(_("satisfied"))
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["at", "pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["topic", "person"], name="participation_one_feedback_per_person")
        ]
