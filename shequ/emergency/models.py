"""Emergency warnings, call-outs (一键动员) with their roll-calls, daily check-ins and who helps whom
to leave (一对一包保).

A call-out's messages are the messaging service's (topic ``emergency.mobilization``, ``topic_ref``
the call-out's id); ``Recipient`` keeps what the roll-call needs per person (grid, answer, re-sends,
escalation) so that counting 100,000 answers per grid is one indexed GROUP BY.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.fields import EncryptedModel, EncryptedTextField
from shequ.core.models import Region

CODE_LENGTH = 15


class WarningType(models.TextChoices):
    RAINSTORM = "rainstorm", _("Rainstorm and flood")
    GEOLOGICAL = "geological", _("Geological hazard")
    TYPHOON = "typhoon", _("Typhoon")
    FIRE = "fire", _("Fire")
    GAS = "gas", _("Gas leak")
    HEAT = "heat", _("Extreme heat")
    COLD = "cold", _("Extreme cold and ice")
    EPIDEMIC = "epidemic", _("Epidemic")
    SECURITY = "security", _("Public security incident")


class Level(models.IntegerChoices):
    BLUE = 1, _("Blue")
    YELLOW = 2, _("Yellow")
    ORANGE = 3, _("Orange")
    RED = 4, _("Red")


LEVEL_COLORS = {Level.BLUE: "blue", Level.YELLOW: "yellow", Level.ORANGE: "orange", Level.RED: "red"}


class WarningSource(models.TextChoices):
    MANUAL = "manual", _("Entered by staff")
    IOT = "iot", _("IoT rule")
    RISK_MODEL = "risk_model", _("Risk model")


class WarningStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("In force")
    LIFTED = "lifted", _("Lifted")
    DISCARDED = "discarded", _("Discarded")


class Warning(models.Model):
    """A warning for an area: regions (``area_codes``) and optionally a polygon drawn on the map.
    ``region`` is the smallest region holding the whole area, the scope key of the warning."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    kind = models.CharField(_("type"), max_length=12, choices=WarningType.choices)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    title = models.CharField(_("title"), max_length=100)
    text = models.TextField(_("what to do"), max_length=2000)
    area_codes = models.JSONField(default=list)  # region codes, all under region_code
    # GeoJSON Polygon geometry drawn on the map (optional), within the regions above.
    area_polygon = models.JSONField(null=True, blank=True)
    source = models.CharField(max_length=12, choices=WarningSource.choices, default=WarningSource.MANUAL)
    source_ref = models.CharField(max_length=64, blank=True)  # e.g. "iot.alert:12", "risk:4301…"
    reasons = models.JSONField(default=list)  # the risk model's reasons, as shown when proposed
    status = models.CharField(max_length=10, choices=WarningStatus.choices, default=WarningStatus.DRAFT)
    is_drill = models.BooleanField(_("drill"), default=False)
    revision = models.PositiveSmallIntegerField(default=0)  # 1 when issued, +1 per update
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    issued_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lift_reason = models.CharField(max_length=200, blank=True)
    recipients = models.PositiveIntegerField(default=0)  # people the last publication reached

    class Meta:
        ordering: ClassVar = ["-updated_at", "-pk"]
        indexes: ClassVar = [models.Index(fields=["status", "region_code"], name="emergency_warning_status")]
        constraints: ClassVar = [
            # A risk proposal or an IoT alert makes at most one live draft/warning per source.
            models.UniqueConstraint(
                fields=["source_ref"],
                condition=~Q(source_ref="") & Q(status__in=["draft", "issued"]),
                name="emergency_one_live_warning_per_source",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def in_force(self) -> bool:
        return self.status == WarningStatus.ISSUED

    @property
    def color(self) -> str:
        return LEVEL_COLORS.get(Level(self.level), "blue")


class WarningStep(models.TextChoices):
    PROPOSED = "proposed", _("Proposed by the risk model")
    RAISED = "raised", _("Raised from an IoT alert")
    DRAFTED = "drafted", _("Drafted")
    ISSUED = "issued", _("Issued")
    UPDATED = "updated", _("Updated")
    LIFTED = "lifted", _("Lifted")
    DISCARDED = "discarded", _("Discarded")


class WarningEntry(models.Model):
    """One step of a warning's life, with what changed (the public page shows the issued ones)."""

    warning = models.ForeignKey(Warning, on_delete=models.CASCADE, related_name="entries")
    at = models.DateTimeField(default=timezone.now)
    step = models.CharField(max_length=10, choices=WarningStep.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    level = models.PositiveSmallIntegerField(choices=Level.choices)
    note = models.CharField(max_length=500, blank=True)
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        ordering: ClassVar = ["at", "pk"]


class Response(models.TextChoices):
    ACK = "ack", _("Acknowledge receipt")
    STATUS = "status", _("Report status: safe / need help / where")
    CHECKIN = "checkin", _("Daily check-in form")


class MobilizationKind(models.TextChoices):
    CALL_OUT = "call_out", _("Call-out")
    CHECKIN = "checkin", _("Daily check-in")


class MobilizationStatus(models.TextChoices):
    # Context: the bare words are other apps' (进入, 已注销).
    OPEN = "open", pgettext_lazy("call-out", "Open")
    CLOSED = "closed", pgettext_lazy("call-out", "Closed")


class Mobilization(models.Model):
    """One call-out (or one day's check-in round) to the people its ``targets`` named."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    kind = models.CharField(
        max_length=10, choices=MobilizationKind.choices, default=MobilizationKind.CALL_OUT
    )
    warning = models.ForeignKey(
        Warning, null=True, blank=True, on_delete=models.PROTECT, related_name="mobilizations"
    )
    campaign = models.ForeignKey(
        "CheckInCampaign", null=True, blank=True, on_delete=models.PROTECT, related_name="rounds"
    )
    round_date = models.DateField(null=True, blank=True)  # a check-in's day
    title = models.CharField(_("title"), max_length=60)
    body = models.TextField(_("message"), max_length=400)
    response = models.CharField(max_length=8, choices=Response.choices, default=Response.ACK)
    targets = models.JSONField(default=list)  # what the officer chose, as cleaned (services.targets)
    channels = models.JSONField(default=list)
    is_drill = models.BooleanField(_("drill"), default=False)
    status = models.CharField(
        max_length=8, choices=MobilizationStatus.choices, default=MobilizationStatus.OPEN
    )
    resend_after_minutes = models.PositiveSmallIntegerField(default=10)
    resends = models.PositiveSmallIntegerField(default=1)  # automatic re-sends before escalation
    escalate_after_minutes = models.PositiveSmallIntegerField(default=20)
    total = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering: ClassVar = ["-created_at", "-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["campaign", "round_date"],
                condition=Q(campaign__isnull=False),
                name="emergency_one_round_a_day",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == MobilizationStatus.OPEN


class Answer(models.TextChoices):
    PENDING = "pending", _("Not answered")
    ACK = "ack", _("Received")
    SAFE = "safe", _("Safe")
    HELP = "help", _("Needs help")
    NORMAL = "normal", _("All well")  # check-in
    ABNORMAL = "abnormal", _("Something wrong")  # check-in


ANSWERED = frozenset({Answer.ACK, Answer.SAFE, Answer.HELP, Answer.NORMAL, Answer.ABNORMAL})


class Via(models.TextChoices):
    PAGE = "page", _("Phone page")
    SMS = "sms", _("SMS reply")
    INBOX = "inbox", _("In-app")
    STAFF = "staff", _("Recorded by staff")


class TargetKind(models.TextChoices):
    STAFF = "staff", _("All staff")
    PARTY = "party", _("Party members")
    VOLUNTEERS = "volunteers", _("Volunteers")
    RESIDENTS = "residents", _("Residents")
    BUILDINGS = "buildings", _("Residents of buildings")
    ASSISTANCE = "assistance", _("Evacuation-assistance list")


class Recipient(models.Model):
    """A person called out: an account (``user``) or a registry person reached by SMS (``person_id``).
    ``region_code`` is their grid (or the lowest region known), for counts per grid."""

    mobilization = models.ForeignKey(Mobilization, on_delete=models.CASCADE, related_name="recipients")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    person_id = models.PositiveBigIntegerField(null=True, blank=True)  # registry person (no FK: another app)
    name = models.CharField(max_length=50)
    place = models.CharField(max_length=100, blank=True)  # house or unit, as staff know it
    region_code = models.CharField(max_length=CODE_LENGTH)
    phone_index = models.CharField(max_length=64, blank=True, db_index=True)
    target = models.CharField(max_length=12, choices=TargetKind.choices)
    answer = models.CharField(max_length=8, choices=Answer.choices, default=Answer.PENDING)
    answered_at = models.DateTimeField(null=True, blank=True)
    via = models.CharField(max_length=6, choices=Via.choices, blank=True)
    location = models.CharField(max_length=200, blank=True)
    note = models.CharField(max_length=200, blank=True)
    form = models.JSONField(default=dict, blank=True)  # a check-in's answers
    sends = models.PositiveSmallIntegerField(default=1)
    last_sent_at = models.DateTimeField(default=timezone.now)
    escalated_at = models.DateTimeField(null=True, blank=True)
    ticket_ref = models.CharField(max_length=32, blank=True)  # the grid ticket a help answer became

    class Meta:
        ordering: ClassVar = ["region_code", "name", "pk"]
        indexes: ClassVar = [
            models.Index(fields=["mobilization", "region_code", "answer"], name="emergency_rollcall"),
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["mobilization", "user"], condition=Q(user__isnull=False), name="emergency_user_once"
            ),
            models.UniqueConstraint(
                fields=["mobilization", "person_id"],
                condition=Q(person_id__isnull=False),
                name="emergency_person_once",
            ),
        ]

    @property
    def answered(self) -> bool:
        return self.answer != Answer.PENDING


class MobilizationStep(models.TextChoices):
    SENT = "sent", pgettext_lazy("call-out", "Sent")
    RESENT = "resent", _("Sent again to those who had not answered")
    ESCALATED = "escalated", _("Passed to grid workers")
    HELP = "help", _("Help asked for")
    CLOSED = "closed", pgettext_lazy("call-out", "Closed")


class MobilizationEntry(models.Model):
    """The call-out's timeline (the closing report's), besides each person's own answer time."""

    mobilization = models.ForeignKey(Mobilization, on_delete=models.CASCADE, related_name="entries")
    at = models.DateTimeField(default=timezone.now)
    step = models.CharField(max_length=10, choices=MobilizationStep.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    count = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering: ClassVar = ["at", "pk"]


class CheckInCampaign(models.Model):
    """Daily status check-ins for an area (epidemic mode): one round a day while it runs."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    title = models.CharField(_("title"), max_length=60)
    question = models.CharField(_("question"), max_length=200)
    targets = models.JSONField(default=list)
    starts_on = models.DateField()
    ends_on = models.DateField()
    send_at = models.TimeField(default="08:00")  # local time of each day's round
    is_drill = models.BooleanField(_("drill"), default=False)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["-starts_on", "-pk"]


class HelperRelation(models.TextChoices):
    GRID_WORKER = "grid_worker", _("Grid worker")
    VOLUNTEER = "volunteer", _("Volunteer")
    PARTY_MEMBER = "party_member", _("Party member")
    FAMILY = "family", _("Family")
    NEIGHBOUR = "neighbour", _("Neighbour")


class AssistanceLink(EncryptedModel):
    """一对一包保: who helps a vulnerable person leave when a warning is issued. The helper is an
    account (a grid worker, a volunteer) or a named person with a number (family, a neighbour)."""

    person_id = models.PositiveBigIntegerField(db_index=True)  # registry person
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)  # the person's, for scope
    relation = models.CharField(_("relation"), max_length=12, choices=HelperRelation.choices)
    helper_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    helper_name = models.CharField(_("helper's name"), max_length=50, blank=True)
    helper_phone = EncryptedTextField(_("helper's mobile number"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["region_code", "person_id", "pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(helper_user__isnull=False) | ~Q(helper_name=""), name="emergency_helper_named"
            )
        ]

    @property
    def helper_label(self) -> str:
        if self.helper_user_id is not None and self.helper_user is not None:
            return self.helper_user.name
        return self.helper_name
