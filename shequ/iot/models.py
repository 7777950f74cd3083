"""IoT tables: devices, their events (partitioned by month on PostgreSQL), dead letters, rules,
alerts, access credentials, visitor passes and department feeds.

Device events are machine data: they are not audited one by one. An event that names a resident
(an access record: a card or a plate mapped to a person) is personal data: it carries the person's
id, never the raw card number or a face image, and reading it is a permission and audited.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequ.core.models import Region

CODE_LENGTH = 15


class DeviceKind(models.TextChoices):
    DOOR = "door", _("Door access controller")
    GATE = "gate", _("Barrier gate")
    CAMERA = "camera", _("Camera event analytics")
    SMOKE = "smoke", _("Smoke detector")
    GAS = "gas", _("Gas detector")
    WATER_LEAK = "water_leak", _("Water-leak sensor")
    ENVIRONMENT = "environment", _("Environment monitor")
    METER = "meter", _("Water or electricity meter")
    SOS = "sos", _("SOS button")
    PEOPLE_COUNTER = "people_counter", _("People counter")


class Channel(models.TextChoices):
    EVENT = "event", _("Event")
    TELEMETRY = "telemetry", _("Telemetry")
    HEARTBEAT = "heartbeat", _("Heartbeat")


class Device(models.Model):
    """A registered device. ``code`` is its name in MQTT topics and HTTP payloads."""

    code = models.CharField(_("device code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=DeviceKind.choices)
    vendor = models.CharField(_("vendor"), max_length=50)
    model = models.CharField(_("model"), max_length=50, blank=True)
    serial = models.CharField(_("serial number"), max_length=64)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    region_code = models.CharField(_("region code"), max_length=CODE_LENGTH, db_index=True)
    # Where it is: a registry place and/or a point.
    building = models.ForeignKey(
        "registry.Building", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    house = models.ForeignKey(
        "registry.House", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    key_place = models.ForeignKey(
        "registry.KeyPlace", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    location_note = models.CharField(_("location"), max_length=100, blank=True)
    # Who runs it, e.g. the property company (物业).
    organization = models.ForeignKey(
        "registry.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Credentials: the HMAC of the per-device token (shown once) and the MQTT user name.
    token_hash = models.CharField(max_length=64, blank=True)
    mqtt_username = models.CharField(_("MQTT user"), max_length=64, blank=True)
    # A no-parking zone (fire lane) watched by a camera or a gate: dwell rules apply.
    no_parking = models.BooleanField(_("no-parking zone"), default=False)
    active = models.BooleanField(_("active"), default=True)
    online = models.BooleanField(_("online"), default=False)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    last_values = models.JSONField(_("last values"), default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["vendor", "serial"], name="iot_device_vendor_serial"),
        ]
        indexes: ClassVar = [models.Index(fields=["region_code", "kind"], name="iot_device_region_kind")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class DeviceEvent(models.Model):
    """One message of a device. On PostgreSQL the table is partitioned by month of ``occurred_at``
    (see migration 0002) and its key is ``(id, occurred_at)``; a redelivery of the same message
    (same device, message id and time) is stored once."""

    id = models.BigAutoField(primary_key=True)
    device = models.ForeignKey(Device, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    region_code = models.CharField(max_length=CODE_LENGTH)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    type = models.CharField(max_length=32)
    msg_id = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    value = models.FloatField(null=True, blank=True)
    house_id = models.BigIntegerField(null=True, blank=True)
    # Access records: the resident the credential belongs to (personal data) and the credential's
    # blind index (unknown plates can be followed without storing the plate in clear).
    person_id = models.BigIntegerField(null=True, blank=True)
    subject_ref = models.CharField(max_length=64, blank=True)
    subject_masked = models.CharField(max_length=32, blank=True)
    data = models.JSONField(default=dict)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["device", "msg_id", "occurred_at"], name="iot_event_once"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["device", "occurred_at"], name="iot_event_device_time"),
            models.Index(fields=["region_code", "occurred_at"], name="iot_event_region_time"),
            models.Index(fields=["house_id", "occurred_at"], name="iot_event_house_time"),
        ]


class DeadLetter(models.Model):
    """A message the ingester could not store, with why; it never stops the ingester."""

    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    transport = models.CharField(max_length=10)  # mqtt / http
    topic = models.CharField(max_length=200, blank=True)
    device_code = models.CharField(max_length=64, blank=True, db_index=True)
    region_code = models.CharField(max_length=CODE_LENGTH, blank=True, db_index=True)
    reason = models.CharField(max_length=32, db_index=True)
    detail = models.CharField(max_length=500, blank=True)
    payload = models.TextField(blank=True)  # the first 2 kB, for the operator


class DeadLetterCount(models.Model):
    """Counters by reason (the dead-letter table is trimmed; the counters are not)."""

    reason = models.CharField(max_length=32, primary_key=True)
    count = models.BigIntegerField(default=0)
    last_at = models.DateTimeField(null=True, blank=True)


class HouseActivity(models.Model):
    """The last door activity seen at a house (its own door sensor or a resident's card): what the
    absence rule reads, kept current by the ingester instead of scanning events."""

    house_id = models.BigIntegerField(primary_key=True)
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    last_at = models.DateTimeField()
    device_id = models.BigIntegerField(null=True, blank=True)


class RuleKind(models.TextChoices):
    THRESHOLD = "threshold", _("Value over or under a threshold")
    EVENT = "event", _("Event match")
    ABSENCE = "absence", _("No door activity (welfare check)")
    COUNT = "count", _("Count in a window (gathering)")
    DWELL = "dwell", _("Dwell in a no-parking zone")
    OFFLINE = "offline", _("Device offline")


class Severity(models.IntegerChoices):
    INFO = 1, _("Information")
    WARNING = 2, _("Warning")
    MAJOR = 3, _("Major")
    CRITICAL = 4, _("Critical")


class Rule(models.Model):
    """A rule of a region: applies to the devices (or houses) under ``region_code``.

    ``params`` by kind (checked by ``rules.clean_params``):
    threshold ``{"field", "op": "gt"|"lt", "value"}``; event ``{"types": [...]}``;
    absence ``{"hours", "tag"}``; count ``{"over", "minutes"}``; dwell ``{"minutes"}``;
    offline ``{"minutes"}``.
    """

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=RuleKind.choices)
    device_kind = models.CharField(_("device kind"), max_length=20, choices=DeviceKind.choices, blank=True)
    severity = models.IntegerField(_("severity"), choices=Severity.choices, default=Severity.WARNING)
    params = models.JSONField(_("parameters"), default=dict)
    # What the grid makes of an alert: a ticket of this category for the responsible grid worker.
    ticket_category = models.CharField(_("ticket category"), max_length=40, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return self.name


class AlertState(models.TextChoices):
    ACTIVE = "active", _("Active")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    CLEARED = "cleared", _("Cleared")


class Alert(models.Model):
    """At most one open (active or acknowledged) alert per rule and origin (a device or a house):
    repeats update it (``count``, ``last_at``, ``value``)."""

    rule = models.ForeignKey(Rule, on_delete=models.PROTECT, related_name="alerts")
    origin = models.CharField(max_length=40)  # "device:<id>" or "house:<id>"
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts")
    house = models.ForeignKey(
        "registry.House", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    building = models.ForeignKey(
        "registry.Building", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    key_place = models.ForeignKey(
        "registry.KeyPlace", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    severity = models.IntegerField(choices=Severity.choices)
    title = models.CharField(max_length=100)
    detail = models.CharField(max_length=500, blank=True)
    value = models.FloatField(null=True, blank=True)
    count = models.IntegerField(default=1)
    state = models.CharField(max_length=12, choices=AlertState.choices, default=AlertState.ACTIVE)
    open = models.BooleanField(default=True)  # active or acknowledged: the uniqueness key
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    raised_at = models.DateTimeField(default=timezone.now)  # when the platform saw it (latency)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    clear_reason = models.CharField(max_length=200, blank=True)
    # The grid ticket made from it (set by the grid's handler through ``services.alert_link_ticket``).
    ticket_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["rule", "origin"], condition=models.Q(open=True), name="iot_one_open_alert"
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["region_code", "open", "-last_at"], name="iot_alert_console")
        ]


class CredentialKind(models.TextChoices):
    CARD = "card", _("Access card")
    PLATE = "plate", _("Vehicle plate")


class AccessCredential(models.Model):
    """A resident's card or plate, registered so door and gate events name the resident. Only the
    blind index and a masked form are kept (never a face image)."""

    kind = models.CharField(_("kind"), max_length=5, choices=CredentialKind.choices)
    value_index = models.CharField(max_length=64)
    masked = models.CharField(_("credential"), max_length=32)
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    house = models.ForeignKey(
        "registry.House", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["kind", "value_index"],
                condition=models.Q(active=True),
                name="iot_one_active_credential",
            ),
        ]


class VisitorPass(models.Model):
    """A time-limited pass a resident gives a visitor; the gate or the guard checks its code."""

    code = models.CharField(_("pass code"), max_length=12, unique=True)
    house = models.ForeignKey("registry.House", on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    visitor_name = models.CharField(_("visitor"), max_length=50)
    plate_masked = models.CharField(_("plate"), max_length=32, blank=True)
    plate_index = models.CharField(max_length=64, blank=True)
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    max_uses = models.IntegerField(_("entries allowed"), default=1)
    uses = models.IntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)


class PassCheck(models.Model):
    """Every check of a pass code at a gate or by a guard, allowed or not (why not)."""

    visitor_pass = models.ForeignKey(
        VisitorPass, null=True, blank=True, on_delete=models.PROTECT, related_name="checks"
    )
    code = models.CharField(max_length=12)
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    allowed = models.BooleanField()
    reason = models.CharField(max_length=32, blank=True)


class FeedMode(models.TextChoices):
    WEBHOOK = "webhook", _("Signed webhook")
    PULL = "pull", _("Pull API")


class FeedSubscription(models.Model):
    """A department client's authorized feed of access events of chosen regions (e.g. public
    security). Deliveries go from ``cursor`` (the last event id delivered) on, and each batch is
    audited."""

    name = models.CharField(_("name"), max_length=100)
    department = models.ForeignKey("core.Department", on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    region_codes = models.JSONField(_("regions"), default=list)
    kinds = models.JSONField(_("device kinds"), default=list)
    mode = models.CharField(_("delivery"), max_length=8, choices=FeedMode.choices)
    url = models.URLField(_("webhook address"), blank=True)
    secret = models.CharField(max_length=200, blank=True)  # encrypted (core.crypto); signs webhooks
    cursor = models.BigIntegerField(default=0)
    authorized_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    authorization = models.CharField(_("authorization"), max_length=200)  # the document / legal basis
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)


class FeedDelivery(models.Model):
    subscription = models.ForeignKey(FeedSubscription, on_delete=models.PROTECT, related_name="deliveries")
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    count = models.IntegerField()
    at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10)  # delivered / failed / pulled
    attempts = models.IntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
