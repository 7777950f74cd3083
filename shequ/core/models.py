"""Core tables: regions, departments, accounts and memberships, audit log, outbox, messages."""

from __future__ import annotations

import hashlib
import uuid
from typing import ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequ.core.fields import BlindIndexField, EncryptedModel, EncryptedTextField


class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County")
    STREET = "street", _("Street/township")
    COMMUNITY = "community", _("Community/village")
    GRID = "grid", _("Grid")


# Significant digits of the statistical division code at each level; grids add 3 digits.
LEVEL_CODE_LENGTH: dict[str, int] = {
    RegionLevel.PROVINCE: 2,
    RegionLevel.CITY: 4,
    RegionLevel.COUNTY: 6,
    RegionLevel.STREET: 9,
    RegionLevel.COMMUNITY: 12,
    RegionLevel.GRID: 15,
}
LEVEL_BY_LENGTH = {length: level for level, length in LEVEL_CODE_LENGTH.items()}
LEVEL_ORDER = list(LEVEL_CODE_LENGTH)


def common_region_code(codes: list[str]) -> str:
    """The smallest region holding all ``codes`` ("" when none does, or for no codes): the scope
    key of a row about several regions (an audit batch, a warning's area, a call-out)."""
    for length in sorted(LEVEL_BY_LENGTH, reverse=True):
        prefixes = {code[:length] for code in codes if len(code) >= length}
        if len(prefixes) == 1 and all(len(code) >= length for code in codes):
            return prefixes.pop()
    return ""


class RegionKind(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County/district")
    STREET = "street", _("Street")
    TOWN = "town", _("Town")
    TOWNSHIP = "township", _("Township")
    ZONE = "zone", _("Development zone")
    COMMUNITY = "community", _("Community")
    VILLAGE = "village", _("Village")
    GRID = "grid", _("Grid")


class Region(models.Model):
    """A node of the division tree. ``code`` keeps only the significant digits (43, 4301, 430102,
    430102001, 430102001001, 430102001001001) so that a subtree is a prefix match."""

    code = models.CharField(max_length=15, unique=True)
    name = models.CharField(max_length=100)
    level = models.CharField(max_length=10, choices=RegionLevel.choices, db_index=True)
    kind = models.CharField(max_length=10, choices=RegionKind.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        ordering: ClassVar = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def region_code(self) -> str:
        return self.code

    @property
    def statistical_code(self) -> str:
        """The official 12-digit code (grids keep their 15 digits)."""
        return self.code.ljust(12, "0")

    def ancestor_codes(self) -> list[str]:
        return [self.code[:n] for n in LEVEL_CODE_LENGTH.values() if n < len(self.code)]


class RegionShape(models.Model):
    """A region's boundary: a GeoJSON Polygon or MultiPolygon in WGS84 (lon, lat), with its bounding
    box as columns so that "which shapes are near this point" is an index range, not a JSON scan.
    Kept apart from ``Region``, which every list joins: a county's boundary can weigh 100 kB."""

    region = models.OneToOneField(Region, on_delete=models.CASCADE, related_name="shape")
    region_code = models.CharField(max_length=15, unique=True)
    geometry = models.JSONField()
    min_lon = models.FloatField()
    min_lat = models.FloatField()
    max_lon = models.FloatField()
    max_lat = models.FloatField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["region_code"]

    def __str__(self) -> str:
        return f"shape of {self.region_code}"


class DepartmentKind(models.TextChoices):
    POLICE = "police", _("Police station")
    URBAN = "urban", _("Urban management")
    HOUSING = "housing", _("Housing and construction")
    CIVIL = "civil", _("Civil affairs")
    WATER = "water", _("Water supply")
    POWER = "power", _("Power supply")
    PROPERTY = "property", _("Property company")
    HEALTH = "health", _("Health")
    EDUCATION = "education", _("Education")
    HRSS = "hrss", _("Human resources and social security")
    FIRE = "fire", _("Fire and rescue")
    GAS = "gas", _("Gas supply")
    MARKET = "market", _("Market regulation")
    ENVIRONMENT = "environ", _("Ecology and environment")
    EMERGENCY = "emergency", _("Emergency management")
    JUSTICE = "justice", _("Justice office")
    TRANSPORT = "transport", _("Transport")
    LAND = "land", _("Natural resources")
    OTHER = "other", _("Other")


class Department(models.Model):
    """A department or company that receives pushed work; it serves the subtree of ``region``."""

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=DepartmentKind.choices)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="departments")
    region_code = models.CharField(max_length=15, db_index=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering: ClassVar = ["region_code", "name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    GRID_WORKER = "grid_worker", _("Grid worker")
    COMMUNITY_WORKER = "community_worker", _("Community worker")
    COMMUNITY_HEAD = "community_head", _("Community head")
    STREET_OFFICER = "street_officer", _("Street officer")
    COUNTY_OFFICER = "county_officer", _("County officer")
    CITY_OFFICER = "city_officer", _("City officer")
    PROVINCE_OFFICER = "province_officer", _("Province officer")
    DEPARTMENT_STAFF = "department_staff", _("Department staff")
    RESIDENT = "resident", _("Resident")
    PROPERTY_MANAGER = "property_manager", _("Property manager")
    VOLUNTEER = "volunteer", _("Volunteer")
    SYSTEM_ADMIN = "system_admin", _("System administrator")
    SECURITY_ADMIN = "security_admin", _("Security administrator")
    AUDITOR = "auditor", _("Auditor")


class ShequUserManager(UserManager["User"]):
    pass


class User(EncryptedModel, AbstractUser):
    """An account. Staff and residents alike; what they may do comes from their memberships."""

    display_name = models.CharField(_("name"), max_length=50, blank=True)
    phone = EncryptedTextField(_("mobile number"))
    phone_index = BlindIndexField(source="phone", purpose="phone")
    # The account's home region: administrators of this subtree manage it, even before it has a role.
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(max_length=15, blank=True, db_index=True)
    password_changed_at = models.DateTimeField(null=True, blank=True)
    failed_login_count = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    totp_secret = EncryptedTextField(secret=True)  # a credential: never revealed
    totp_confirmed_at = models.DateTimeField(null=True, blank=True)
    totp_last_step = models.BigIntegerField(default=0)  # refuses replay of a used code
    elderly_mode = models.BooleanField(default=False)
    oidc_subject = models.CharField(max_length=255, blank=True, db_index=True)

    objects: ClassVar[ShequUserManager] = ShequUserManager()

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def name(self) -> str:
        return self.display_name or self.username


class Membership(models.Model):
    """Binds a user and a role to a region (or a department, which brings its region)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="memberships")
    region_code = models.CharField(max_length=15, db_index=True)
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.PROTECT)
    granted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["user", "role", "region"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_active_membership_per_role_region",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} {self.region_code}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PasswordHistory(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=256)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["-created_at"]


class LoginThrottle(models.Model):
    """Failed logins per client address in a fixed window (security requirement 3)."""

    ip = models.GenericIPAddressField(unique=True)
    window_start = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)


class UserSession(models.Model):
    """Which sessions belong to whom, so that disabling an account ends all of them."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)


class ApiToken(models.Model):
    """A hashed bearer token for a system (department integration); only its hash is stored."""

    name = models.CharField(max_length=100)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    prefix = models.CharField(max_length=12, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()


class AuditResult(models.TextChoices):
    SUCCESS = "success", _("Success")
    DENIED = "denied", _("Denied")
    FAILURE = "failure", _("Failure")


class AuditEntry(models.Model):
    """Append-only, hash-chained record of what people did (security requirement 12).

    A request inserts its entry unsealed (``seq``/``prev_hash``/``hash`` empty) in its own
    transaction, taking no lock that other writers need; the sealer (``core.audit.seal``, run by the
    worker) then gives committed entries their place in the chain: ``seq`` and ``hash`` = SM3 over
    the previous hash and this row's canonical content. Database triggers refuse DELETE and every
    UPDATE except sealing an unsealed row without changing its content; ``shequ audit verify``
    recomputes the chain and checks it against the signed, witnessed checkpoints.
    """

    id = models.BigAutoField(primary_key=True)  # insertion order; gaps are normal (rollbacks)
    seq = models.BigIntegerField(null=True, blank=True, unique=True)  # place in the chain, from 1
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)  # no FK: rows outlive users
    actor_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, blank=True)
    region_code = models.CharField(max_length=15, blank=True, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    fields = models.JSONField(default=list, blank=True)
    reason = models.TextField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    result = models.CharField(max_length=10, choices=AuditResult.choices, default=AuditResult.SUCCESS)
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, null=True, blank=True)
    hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    sealed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-id"]
        verbose_name_plural = "audit entries"
        indexes: ClassVar = [
            # The sealer's work list: the few unsealed rows, in insertion order.
            models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="core_audit_unsealed"),
        ]

    @property
    def sealed(self) -> bool:
        return self.seq is not None


class AuditCheckpoint(models.Model):
    """A signed statement of the chain's state: its first ``seq`` entries end in ``head_hash`` and
    have the Merkle root ``root`` (RFC 6962 tree over the entries' hashes, for inclusion proofs).

    The signature is HMAC-SM3 with ``settings.AUDIT_CHECKPOINT_KEY``, which the database does not
    hold; each checkpoint is also written to the witness file outside the database. Append-only by
    trigger like the entries. ``frontier`` holds the roots of the perfect subtrees that make up the
    tree, so the next checkpoint extends the root without reading old entries.
    """

    seq = models.BigIntegerField(unique=True)
    head_hash = models.CharField(max_length=64)
    root = models.CharField(max_length=64)
    at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=64)
    frontier = models.JSONField(default=list)

    class Meta:
        ordering: ClassVar = ["-seq"]


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class OutboxTask(models.Model):
    """One handler's delivery of one domain event, written in the transaction that caused it."""

    event_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    event_type = models.CharField(max_length=100)
    handler = models.CharField(max_length=200)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    available_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(
                fields=["available_at"], name="outbox_pending_idx", condition=models.Q(status="pending")
            ),
            # /metrics counts failed tasks per handler on every scrape: only the few failed rows.
            models.Index(fields=["handler"], name="outbox_failed_idx", condition=models.Q(status="failed")),
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["event_id", "handler"], name="one_task_per_event_handler")
        ]


class ScheduledJob(models.Model):
    """Next run of a periodic job; claimed with a conditional UPDATE so one worker runs it."""

    name = models.CharField(max_length=100, primary_key=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)


class WorkerHeartbeat(models.Model):
    """A running worker's sign of life, written every ``WORKER_HEARTBEAT_SECONDS`` by its loop, so
    that /readyz and /metrics can tell whether some worker is taking tasks. A worker that stops
    cleanly removes its row; rows of workers gone for a day are removed by the next one to start."""

    name = models.CharField(max_length=200, unique=True)  # host:pid:thread
    host = models.CharField(max_length=100)
    pid = models.PositiveIntegerField()
    version = models.CharField(max_length=50, blank=True)
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)


class Message(models.Model):
    """A notice to one person. To an account it always lands in the in-app inbox and may go out by
    email or SMS; to a contact without an account (a resident known to the registry, the sender of
    an SMS) it goes by SMS only, the number looked up when it is sent (``messaging.register_contacts``)."""

    recipient = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    # "<kind>:<id>" of a contact without an account (e.g. "registry.person:42"); empty for accounts.
    contact_ref = models.CharField(max_length=64, blank=True)
    contact_name = models.CharField(max_length=50, blank=True)
    sender = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    region_code = models.CharField(max_length=15, blank=True, db_index=True)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    topic = models.CharField(max_length=64, blank=True)  # e.g. "grid.dispatched", for roll-calls
    topic_ref = models.CharField(max_length=64, blank=True)
    requires_ack = models.BooleanField(default=False)
    # One message per (recipient, dedupe_key): a retried or second handler of the same event sends
    # nothing twice. Empty for messages that need no such guard (staff notices).
    dedupe_key = models.CharField(max_length=100, blank=True)
    # Messages about one object (e.g. "grid.ticket:42") form one thread in the inbox.
    thread_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"],
                condition=~models.Q(dedupe_key=""),
                name="one_message_per_event_and_recipient",
            ),
            models.CheckConstraint(
                condition=models.Q(recipient__isnull=False, contact_ref="")
                | models.Q(recipient__isnull=True) & ~models.Q(contact_ref=""),
                name="message_to_an_account_or_a_contact",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["recipient", "thread_key"], name="message_thread"),
            # A roll-call's messages, and a call-out's messages to one contact (answers acknowledge them).
            models.Index(fields=["topic_ref", "topic"], name="message_topic"),
            models.Index(fields=["contact_ref"], condition=~models.Q(contact_ref=""), name="message_contact"),
        ]


class Channel(models.TextChoices):
    INBOX = "inbox", _("In-app")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class Delivery(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    provider_ref = models.CharField(max_length=100, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["message", "channel"], name="one_delivery_per_channel")
        ]


class InboundOutcome(models.TextChoices):
    ANSWERED = "answered", _("Answered")
    MALFORMED = "malformed", _("Not understood")
    UNKNOWN_NUMBER = "unknown", _("Unknown number")
    NOTHING_OPEN = "nothing_open", _("Nothing to answer")


class InboundSms(EncryptedModel):
    """An SMS a person sent to the platform's number, as the gateway's callback delivered it. The
    number is kept sealed (the answer goes back to it); ``phone_index`` finds whose it is."""

    provider_id = models.CharField(max_length=100, unique=True)  # the gateway's id: a redelivery is one SMS
    phone = EncryptedTextField()
    phone_index = BlindIndexField(source="phone", purpose="phone")
    text = models.CharField(max_length=500)
    received_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    outcome = models.CharField(max_length=12, choices=InboundOutcome.choices)
    handled_by = models.CharField(max_length=64, blank=True)  # the reply router that took it
    reply = models.CharField(max_length=500, blank=True)  # what the person was answered

    class Meta:
        ordering: ClassVar = ["-created_at"]


class KeyKind(models.TextChoices):
    FIELD = "field", "field"
    INDEX = "index", "index"


class KeyCanary(models.Model):
    """Proof of which key wrote the stored data (``shequ/core/keys.py``): a fixed text sealed under a
    field key id when that id first encrypts, and the blind index of a fixed value under the index
    key. The start-up check opens them with the configured keys, so a missing, wrong or reused key
    stops the platform instead of turning every person read into an error. Append-only: a changed
    index key (after ``rotate_keys --reindex``) adds a newer row; the newest row of a kind and id
    counts. ``fingerprint`` names the key without revealing it."""

    kind = models.CharField(max_length=8, choices=KeyKind.choices)
    key_id = models.CharField(max_length=32)
    canary = models.TextField()
    fingerprint = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["kind", "key_id"])]

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError("key canaries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("key canaries are append-only")


class DutyShift(models.Model):
    """One person on duty for a region (a community or a street) from ``starts_at`` to ``ends_at``:
    whom an urgent matter reaches at once, at any hour (``shequ.core.duty``)."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="duty_shifts")
    region_code = models.CharField(max_length=15)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="duty_shifts")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=40, blank=True)  # 白班, 夜班 …
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["region_code", "starts_at", "pk"]
        verbose_name = _("duty shift")
        indexes: ClassVar = [
            # Who is on duty at t in region X: region_code = X and starts_at in (t - 7 days, t]
            # (a shift lasts at most 7 days), then ends_at > t on those few rows.
            models.Index(fields=["region_code", "starts_at"], name="duty_shift_region_start"),
            # A person's shifts near a time (overlap checks).
            models.Index(fields=["user", "starts_at"], name="duty_shift_user_start"),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="duty_shift_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.region_code} {self.starts_at:%Y-%m-%d %H:%M}"


class DutyFallback(models.Model):
    """Who answers for a region when no shift covers the time (e.g. the community secretary)."""

    region = models.OneToOneField(Region, on_delete=models.PROTECT, related_name="duty_fallback")
    region_code = models.CharField(max_length=15, unique=True)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    updated_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("duty fallback")

    def __str__(self) -> str:
        return f"{self.user} {self.region_code}"
