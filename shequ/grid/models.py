"""Grid events and resident requests (网格事件 / 诉求 / 工单): one ``Ticket`` model with a source.

The loop the policy puts at the centre — community input, online push, department response — is a
ticket's life: submitted → accepted by the community (or closed on the spot) → dispatched to a
department → accepted there → responded / in progress → resolved → verified → closed. Every step
is a ``TicketAction`` row; nothing about a ticket changes without one.

A ticket runs one clock at a time (``clock_started_at``/``warn_at``/``due_at``): the community's
or the department's response deadline, then the resolution deadline. Colour states and the
reminder and escalation jobs read those three columns, so they are indexed and cheap at a million
tickets. The response and resolution deadlines and when they were met are kept as well, for the
on-time rates of the statistics.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.fields import BlindIndexField, EncryptedModel, EncryptedTextField
from shequ.core.models import Department, DepartmentKind, Region
from shequ.core.personal import mask_phone

CODE_LENGTH = 15


class Category(models.Model):
    """A node of the editable category tree. Tickets carry leaf categories; a main type (a root)
    holds the defaults its children inherit where they leave a value empty."""

    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent"),
    )
    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("English name"), max_length=80)
    name_zh = models.CharField(_("Chinese name"), max_length=40)
    # The kind of department that usually handles it; routing rules pick the department.
    department_kind = models.CharField(
        _("default department kind"), max_length=10, choices=DepartmentKind.choices, blank=True
    )
    response_hours = models.PositiveIntegerField(_("response deadline (hours)"), default=24)
    resolution_days = models.PositiveIntegerField(_("resolution deadline (working days)"), default=10)
    # Urgent tickets run on hours around the clock: an emergency does not wait for Monday.
    urgent_response_hours = models.PositiveIntegerField(_("urgent response deadline (hours)"), default=1)
    urgent_resolution_hours = models.PositiveIntegerField(_("urgent resolution deadline (hours)"), default=4)
    keywords = models.CharField(_("keywords"), max_length=300, blank=True)
    sort_order = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("ticket category")
        verbose_name_plural = _("ticket categories")
        ordering: ClassVar = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name_zh


class Holiday(models.Model):
    """A day of the official calendar that differs from the week's rule: a public holiday on a
    weekday (``is_workday=False``) or a weekend day worked in exchange (调休, ``is_workday=True``)."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=40)
    is_workday = models.BooleanField(_("working day"), default=False)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering: ClassVar = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class RoutingRule(models.Model):
    """Category × region → department. The rule of the region nearest the ticket wins."""

    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="rules", verbose_name=_("category")
    )
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    region_code = models.CharField(_("region code"), max_length=CODE_LENGTH, db_index=True)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="+", verbose_name=_("department")
    )
    # Push staff-entered tickets of this category straight to the department (no community step):
    # gas leaks, crime clues, sensor alarms.
    auto_dispatch = models.BooleanField(_("dispatch at once"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering: ClassVar = ["category__sort_order", "region_code"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["category", "region"], name="grid_rule_unique_category_region")
        ]

    def __str__(self) -> str:
        return f"{self.category} @ {self.region_code} → {self.department}"


class Source(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    PATROL = "patrol", _("Grid patrol")
    STAFF = "staff", _("Staff entry")
    HOTLINE = "hotline", _("12345 hotline")
    SENSOR = "sensor", _("Sensor alert")
    OPEN311 = "open311", _("Open311")
    EMERGENCY = "emergency", _("Emergency call-out")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("Normal")
    URGENT = "urgent", _("Urgent")


class Status(models.TextChoices):
    """The one label of each state, for residents and staff alike (my reports, the ticket page,
    the queues): plain words in their own msgctxt, apart from the statistics' column headings."""

    SUBMITTED = "submitted", pgettext_lazy("ticket status", "Submitted")
    ACCEPTED = "accepted", pgettext_lazy("ticket status", "Accepted by the community")
    DISPATCHED = "dispatched", pgettext_lazy("ticket status", "Dispatched")
    DEPT_ACCEPTED = "dept_accepted", pgettext_lazy("ticket status", "Accepted by the department")
    IN_PROGRESS = "in_progress", pgettext_lazy("ticket status", "In progress")
    RESOLVED = "resolved", pgettext_lazy("ticket status", "Resolved")
    VERIFIED = "verified", pgettext_lazy("ticket status", "Verified")
    REOPENED = "reopened", pgettext_lazy("ticket status", "Reopened for supervision")
    CLOSED = "closed", pgettext_lazy("ticket status", "Closed")
    MERGED = "merged", pgettext_lazy("ticket status", "Merged")


# Statuses in which someone still owes work on the ticket.
OPEN_STATUSES = frozenset(
    {
        Status.SUBMITTED,
        Status.ACCEPTED,
        Status.DISPATCHED,
        Status.DEPT_ACCEPTED,
        Status.IN_PROGRESS,
        Status.RESOLVED,
        Status.VERIFIED,
        Status.REOPENED,
    }
)
# Statuses no step leaves: a ticket's figures in these are fixed (the statistics rollup holds them).
FINAL_STATUSES = (Status.CLOSED, Status.MERGED)
# A department may ask for, and be given, more time while it works on the ticket.
EXTENSION_STATUSES = frozenset({Status.DEPT_ACCEPTED, Status.IN_PROGRESS})
# Statuses whose work lies with a department.
DEPARTMENT_STATUSES = frozenset({Status.DISPATCHED, Status.DEPT_ACCEPTED, Status.IN_PROGRESS})


class Clock(models.TextChoices):
    """Which deadline the ticket's clock is running for."""

    NONE = "", _("No deadline running")
    RESPONSE = "response", _("Response")
    RESOLUTION = "resolution", _("Resolution")


class Ticket(EncryptedModel):
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    # Reporter: a registered person (resident page, staff entry for a walk-in), an account
    # (the resident's login), or anonymous with an optional contact.
    reporter_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("reporter account"),
    )
    reporter_person = models.ForeignKey(
        "registry.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("reporter"),
    )
    anonymous = models.BooleanField(_("anonymous"), default=False)
    contact_name = models.CharField(_("contact name"), max_length=50, blank=True)
    contact_phone = EncryptedTextField(_("contact phone"))
    contact_phone_index = BlindIndexField(source="contact_phone", purpose="phone")
    title = models.CharField(_("title"), max_length=100)
    description = models.TextField(_("description"))
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("category"),
        db_index=False,  # grid_ticket_category_src_idx leads with it
    )
    # What the classifier proposed at intake, kept to measure it and to retrain it.
    suggested_category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("suggested category"),
    )
    suggestion_confidence = models.FloatField(_("suggestion confidence"), null=True, blank=True)
    category_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    urgency = models.CharField(_("urgency"), max_length=6, choices=Urgency.choices, default=Urgency.NORMAL)
    # Where: the grid (or community) it belongs to, and a point and/or a registry place.
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    region_code = models.CharField(_("region code"), max_length=CODE_LENGTH, db_index=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    house = models.ForeignKey(
        "registry.House",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("house"),
    )
    building = models.ForeignKey(
        "registry.Building",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("building"),
    )
    key_place = models.ForeignKey(
        "registry.KeyPlace",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("key place"),
    )
    status = models.CharField(_("status"), max_length=14, choices=Status.choices, default=Status.SUBMITTED)
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("department"),
    )
    # The supervising level: the community at first, one level up with each escalation (督办).
    supervision_code = models.CharField(_("supervising region"), max_length=CODE_LENGTH, db_index=True)
    escalations = models.PositiveSmallIntegerField(_("escalations"), default=0)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged",
        verbose_name=_("merged into"),
    )
    # The running clock.
    clock = models.CharField(_("clock"), max_length=10, choices=Clock.choices, blank=True, default="")
    clock_started_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    # Deadlines and when they were met, for the statistics.
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    response_due_at = models.DateTimeField(_("response due"), null=True, blank=True)
    responded_at = models.DateTimeField(_("responded"), null=True, blank=True)
    resolve_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    result = models.TextField(_("result"), blank=True)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    rating_comment = models.CharField(_("rating comment"), max_length=500, blank=True)
    rated_at = models.DateTimeField(_("rated"), null=True, blank=True)
    # The 12345 hotline's own number, or a sensor alert's id: the same report imported twice is refused.
    external_ref = models.CharField(_("external reference"), max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering: ClassVar = ["-submitted_at", "-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["source", "external_ref"],
                condition=~Q(external_ref=""),
                name="grid_ticket_unique_external_ref",
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="grid_ticket_rating_1_5",
            ),
        ]
        indexes: ClassVar = [
            # Queues and supervision pages: open tickets of a scope by deadline.
            models.Index(fields=["region_code", "status", "due_at"], name="grid_ticket_scope_idx"),
            models.Index(fields=["department", "status", "due_at"], name="grid_ticket_dept_idx"),
            models.Index(fields=["supervision_code", "status"], name="grid_ticket_supervision_idx"),
            models.Index(fields=["status", "due_at"], name="grid_ticket_due_idx"),
            models.Index(fields=["status", "warn_at"], name="grid_ticket_warn_idx"),
            models.Index(fields=["reporter_user", "submitted_at"], name="grid_ticket_reporter_idx"),
            models.Index(fields=["submitted_at"], name="grid_ticket_submitted_idx"),
            # Statistics: the rollup recomputes one grid's day; the report reads the unfinished
            # tickets of a period live (a few percent of them).
            models.Index(fields=["region_code", "submitted_at"], name="grid_ticket_region_day_idx"),
            # It carries what the figures read, so the live part is an index-only scan (PostgreSQL).
            models.Index(
                fields=["submitted_at", "region_code"],
                include=[
                    "id",
                    "status",
                    "category",
                    "due_at",
                    "response_due_at",
                    "responded_at",
                    "resolve_due_at",
                    "resolved_at",
                    "rating",
                ],
                condition=~Q(status__in=FINAL_STATUSES),
                name="grid_ticket_unfinished_idx",
            ),
            # Lists of an area's open tickets: its count (a prefix range, and the overdue ones by
            # deadline) and the supervision list in its order, among unfinished tickets only.
            models.Index(
                fields=["region_code", "due_at"],
                opclasses=["varchar_pattern_ops", "timestamptz_ops"],
                condition=~Q(status__in=FINAL_STATUSES),
                name="grid_ticket_open_region_idx",
            ),
            models.Index(
                fields=["-escalations", "due_at", "id"],
                condition=~Q(status__in=FINAL_STATUSES),
                name="grid_ticket_open_escalated_idx",
            ),
            # The list's category (and source) filter: an area's tickets of a few leaves.
            models.Index(fields=["category", "source"], name="grid_ticket_category_src_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def number(self) -> str:
        """The ticket number people quote: submission date and id (no column; see ``parse_number``)."""
        day = timezone.localtime(self.submitted_at).strftime("%Y%m%d")
        return f"{day}{self.pk:06d}"

    @property
    def masked_contact_phone(self) -> str:
        return mask_phone(self.contact_phone)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def parse_number(number: str) -> int | None:
    """The primary key in a ticket number, or None when it cannot be one."""
    number = number.strip()
    if len(number) < 14 or not number.isdigit():
        return None
    return int(number[8:])


# Who reads what is written at each step (docs/architecture.md, "Who reads a note"): the reporter
# reads the reply and the result meant for them, their own words, and the note that comes with
# photos they also see. Everything else staff write — instructions to a department, reasons
# between staff (return, more time, the check on site, supervision) and internal notes — stays
# with staff: not on the reporter's page, not in the API for them, not in Open311.
REPORTER_NOTE_ACTIONS = frozenset(
    {"submit", "respond", "handle", "resolve", "close_on_spot", "rate", "add_photos"}
)
# Notes among staff: the reporter does not even see that these steps exist.
INTERNAL_ACTIONS = frozenset({"comment"})


class TicketAction(models.Model):
    """One step of a ticket's life: who, when, what, from and to which status, a comment."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="actions")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    # Shown instead of the person's name on the resident's and public pages.
    actor_role = models.CharField(max_length=20, blank=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=30)
    from_status = models.CharField(max_length=14, blank=True)
    to_status = models.CharField(max_length=14, blank=True)
    comment = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering: ClassVar = ["at", "pk"]
        indexes: ClassVar = [models.Index(fields=["ticket", "at"], name="grid_action_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.action}"

    @property
    def reporter_reads_comment(self) -> bool:
        return self.action in REPORTER_NOTE_ACTIONS


def _photo_path(instance: Attachment, filename: str) -> str:
    # The stored name never carries the uploader's file name (it may hold personal data).
    return f"grid/{instance.ticket_id}/{instance.sha256[:32]}{instance.extension}"


class Attachment(models.Model):
    """A photo of the problem or of the result; served only through the ticket's scope check."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    action = models.ForeignKey(
        TicketAction, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments"
    )
    file = models.FileField(upload_to=_photo_path, max_length=200)
    content_type = models.CharField(max_length=40)
    extension = models.CharField(max_length=6)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["uploaded_at", "pk"]


class Dispatch(models.Model):
    """One push of a ticket to a department and what the department did with it: the basis of a
    department's scope ("only what was dispatched to them") and of its on-time rates."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="dispatches")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    dispatched_at = models.DateTimeField(default=timezone.now)
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    response_due_at = models.DateTimeField()
    resolve_due_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    return_reason = models.TextField(blank=True)
    is_current = models.BooleanField(default=True)

    class Meta:
        ordering: ClassVar = ["dispatched_at", "pk"]
        indexes: ClassVar = [
            models.Index(fields=["department", "dispatched_at"], name="grid_dispatch_dept_idx")
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(is_current=True), name="grid_dispatch_one_current"
            )
        ]


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Extension(models.Model):
    """A department's request for more time; the supervising level approves or rejects it."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="extensions")
    dispatch = models.ForeignKey(Dispatch, on_delete=models.CASCADE, related_name="extensions")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    days = models.PositiveSmallIntegerField(_("working days"))
    reason = models.TextField(_("reason"))
    status = models.CharField(max_length=8, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar = ["-requested_at", "-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(status="pending"), name="grid_extension_one_pending"
            )
        ]


class Follower(models.Model):
    """Someone who hears of a ticket's progress: its reporter, and the reporters of tickets merged
    into it (they follow the parent)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    via = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["ticket", "user"], name="grid_follower_unique")
        ]


class _DayRollup(models.Model):
    """The key and the counters both statistics rollups share (``stats_rollup``)."""

    day = models.DateField()
    region_code = models.CharField(max_length=CODE_LENGTH)
    # A category id, 0 for tickets without one, -1 for all (a NULL would not be a unique key).
    category_key = models.IntegerField()
    resolved = models.PositiveIntegerField(default=0)
    response_due = models.PositiveIntegerField(default=0)
    response_on_time = models.PositiveIntegerField(default=0)
    resolve_due = models.PositiveIntegerField(default=0)
    resolve_on_time = models.PositiveIntegerField(default=0)
    # Sums of the times to the answer and to the resolution, over those answered and resolved
    # (from the submission for tickets, from the push for departments).
    response_time = models.DurationField(default=timedelta)
    resolve_time = models.DurationField(default=timedelta)
    rated = models.PositiveIntegerField(default=0)
    good = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class TicketDay(_DayRollup):
    """Statistics rollup: the figures of the finished tickets (``FINAL_STATUSES``, every deadline
    decided: see ``stats_rollup``) submitted on one local day under one region — a county, street,
    community or grid, each ticket counted at every level — of one category or of all. Their
    figures no longer change with time, so a report adds a few of these rows up and counts only the
    unfinished tickets live. Kept by ``stats_rollup.refresh`` in the transaction of every step into
    or out of a final status; ``shequ grid rollup --rebuild`` after bulk loads."""

    submitted = models.PositiveIntegerField(default=0)
    closed = models.PositiveIntegerField(default=0)
    merged = models.PositiveIntegerField(default=0)
    responded = models.PositiveIntegerField(default=0)
    # Final tickets with a deadline never met nor missed yet (only bulk-loaded data has them):
    # not in the sums above; while any exist in a period, the report counts them live.
    pending = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            # Region first: a report reads a few regions' rows over a range of days.
            models.UniqueConstraint(
                fields=["region_code", "day", "category_key"], name="grid_ticketday_unique_key"
            )
        ]


class DispatchDay(_DayRollup):
    """Statistics rollup of departments: the ``Dispatch`` rows of the tickets a ``TicketDay`` row
    holds, per department."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    dispatched = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    returned = models.PositiveIntegerField(default=0)
    answered = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["region_code", "day", "category_key", "department"],
                name="grid_dispatchday_unique_key",
            )
        ]


class AlertState(models.TextChoices):
    OPEN = "open", _("Waiting for acknowledgement")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    CLEARED = "cleared", _("Cleared as a false alarm")


class AlertLevel(models.IntegerChoices):
    """Who has been reached, in the order an unacknowledged alert climbs."""

    ON_DUTY = 0, _("The community's on-duty person")
    COMMUNITY_HEAD = 1, _("The community head")
    STREET = 2, _("The street")


class UrgentAlert(models.Model):
    """An urgent ticket at intake, and what it means in minutes: the community's on-duty person is
    told at once (SMS and in-app, with an acknowledgement button); unacknowledged after
    ``SHEQU_URGENT_ACK_MINUTES`` the alert climbs to the community head, then to the street.

    Raised for every ticket that comes in urgent: because the life-safety detector read a present
    danger in its text (``life_safety``, with the reasons), or because the reporter, a sensor or
    staff said it was. Staff can clear a false alarm with a reason; cleared and confirmed alarms feed
    the detector's next training."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="alert")
    # The community whose roster answers (a grid's ticket is its community's).
    community_code = models.CharField(_("community"), max_length=CODE_LENGTH, db_index=True)
    life_safety = models.BooleanField(_("life-safety"), default=False)
    kind = models.CharField(_("kind of danger"), max_length=20, blank=True)
    # What fired (and what was set aside as negated or past), from ``lifesafety.Triage.reasons``.
    reasons = models.JSONField(default=list, blank=True)
    probability = models.FloatField(null=True, blank=True)
    detector_version = models.CharField(max_length=32, blank=True)
    raised_at = models.DateTimeField(_("raised"), default=timezone.now)
    state = models.CharField(max_length=12, choices=AlertState.choices, default=AlertState.OPEN)
    level = models.PositiveSmallIntegerField(choices=AlertLevel.choices, default=AlertLevel.ON_DUTY)
    # When the alert climbs if nobody has acknowledged it; None once acknowledged, cleared or at the top.
    ack_due_at = models.DateTimeField(null=True, blank=True)
    # Whom each level reached: [{"level": 0, "at": iso, "users": [ids], "why": "shift"|…}].
    reached = models.JSONField(default=list, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cleared_at = models.DateTimeField(_("cleared"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    clear_reason = models.TextField(_("reason for clearing"), blank=True)

    class Meta:
        verbose_name = _("urgent alert")
        verbose_name_plural = _("urgent alerts")
        ordering: ClassVar = ["-raised_at", "-pk"]
        indexes: ClassVar = [
            # The escalation sweep: open alerts whose acknowledgement time has passed.
            models.Index(
                fields=["ack_due_at"], condition=Q(ack_due_at__isnull=False), name="grid_alert_ack_due_idx"
            ),
            models.Index(fields=["community_code", "raised_at"], name="grid_alert_scope_idx"),
        ]

    def __str__(self) -> str:
        return f"alert {self.pk} ticket {self.ticket_id} {self.state}"

    @property
    def kind_label(self) -> str:
        from shequ.grid.lifesafety import KINDS

        found = KINDS.get(self.kind)
        return str(found.label) if found else ""
