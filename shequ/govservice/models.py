"""Government services handled in the community (S1) and home care (S4).

- ``ServiceItem``: the service item catalog (事项库): what the community does for each item
  (consultation, 委托受理, 授权办理, 帮办代办), the materials and which the registry fills, the
  legal and promised time limits in working days, the fee, whether it closes on receipt (即收即办),
  the online form.
- ``Application``: one resident's application, its channel (online, counter, at home, kiosk), who
  applied for whom (帮办代办, with the consent), its status and deadline (the grid's deadline engine:
  working days with the holiday calendar), and ``ApplicationStep`` its timeline.
- ``Evaluation`` (好差评) and ``Rectification``: a rating below 3 opens a rectification for the
  responsible unit: verified and put right, fed back to the applicant, reviewed by the level above.
- ``CarePlan`` and ``CareRecord``: home-care services (meals, visits …) for elderly and disabled
  residents, with a record per meal delivered or visit made.
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
from shequ.core.models import Department, Region
from shequ.core.personal import mask_phone

CODE_LENGTH = 15


# --- The catalog (事项库) ----------------------------------------------------------------------


class Domain(models.TextChoices):
    """The policy's high-frequency areas (education, employment, social insurance, health, elderly
    care, social services, household registration) and the community's own certificates."""

    ELDERLY = "elderly", pgettext_lazy("service domain", "Elderly care")
    DISABILITY = "disability", pgettext_lazy("service domain", "Disability")
    ASSISTANCE = "assistance", pgettext_lazy("service domain", "Social assistance")
    EMPLOYMENT = "employment", pgettext_lazy("service domain", "Employment")
    INSURANCE = "insurance", pgettext_lazy("service domain", "Social insurance")
    HEALTH = "health", pgettext_lazy("service domain", "Health and family")
    EDUCATION = "education", pgettext_lazy("service domain", "Education")
    HUKOU = "hukou", pgettext_lazy("service domain", "Household registration")
    CIVIL = "civil", pgettext_lazy("service domain", "Civil affairs")
    VETERANS = "veterans", pgettext_lazy("service domain", "Veterans")
    CERTIFICATES = "certificates", pgettext_lazy("service domain", "Community certificates")


class Mode(models.TextChoices):
    """What the community does with the item."""

    CONSULT = "consult", _("Consultation only")
    ENTRUSTED = "entrusted", _("Entrusted acceptance (委托受理)")
    AUTHORIZED = "authorized", _("Authorized handling (授权办理)")
    ASSISTED = "assisted", _("Assisted handling (帮办代办)")


class ServiceItem(models.Model):
    """An item of the catalog. ``materials`` is a list of ``{"code", "name", "required", "source"}``
    (``source``: the registry fact that fills it, ``materials.FACTS``; empty: the applicant uploads
    or brings it); ``form`` a list of ``{"name", "label", "kind", "required", "choices"}``;
    ``eligibility`` optional rules checked against the registry (``{"min_age": 80}``,
    ``{"tags_any": ["disabled"]}``). ``version`` grows with each edit; an application keeps the
    materials and form of the version it was made under."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("English name"), max_length=100)
    name_zh = models.CharField(_("Chinese name"), max_length=60)
    domain = models.CharField(_("domain"), max_length=14, choices=Domain.choices)
    department_kind = models.CharField(_("owning department"), max_length=10)  # core DepartmentKind
    department_name = models.CharField(_("owning department (name)"), max_length=60)
    mode = models.CharField(_("handling in the community"), max_length=10, choices=Mode.choices)
    summary = models.CharField(_("who may apply and what for"), max_length=300)
    materials = models.JSONField(_("materials"), default=list)
    form = models.JSONField(_("online form"), default=list)
    eligibility = models.JSONField(_("eligibility"), default=dict, blank=True)
    legal_days = models.PositiveSmallIntegerField(_("legal time limit (working days)"))
    promised_days = models.PositiveSmallIntegerField(_("promised time limit (working days)"))
    fee = models.DecimalField(_("fee (yuan)"), max_digits=8, decimal_places=2, default=0)
    instant = models.BooleanField(_("closed on receipt (即收即办)"), default=False)
    online = models.BooleanField(_("can be applied for online"), default=True)
    care_plan = models.BooleanField(_("approval starts a home-care plan"), default=False)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=100)
    is_active = models.BooleanField(_("in use"), default=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("service item")
        verbose_name_plural = _("service items")
        ordering: ClassVar = ["domain", "sort_order", "code"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(promised_days__gte=1), name="govservice_item_promised_days"),
            models.CheckConstraint(
                condition=Q(promised_days__lte=models.F("legal_days")), name="govservice_item_promise_in_law"
            ),
            models.CheckConstraint(condition=Q(fee__gte=0), name="govservice_item_fee"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        from django.utils.translation import get_language

        return self.name_zh if (get_language() or "").startswith("zh") else self.name


# --- Applications --------------------------------------------------------------------------------


class Channel(models.TextChoices):
    ONLINE = "online", _("Online")
    COUNTER = "counter", _("At the counter")
    HOME = "home", _("At home (上门)")
    KIOSK = "kiosk", _("Self-service terminal")


class Status(models.TextChoices):
    SUBMITTED = "submitted", pgettext_lazy("application status", "Submitted")
    RETURNED = "returned", pgettext_lazy("application status", "Returned for missing materials")
    ACCEPTED = "accepted", pgettext_lazy("application status", "Accepted")
    FORWARDED = "forwarded", pgettext_lazy("application status", "Forwarded to the department")
    DECIDED = "decided", pgettext_lazy("application status", "Decided")
    CLOSED = "closed", pgettext_lazy("application status", "Delivered and closed")
    REJECTED = "rejected", pgettext_lazy("application status", "Not accepted")
    WITHDRAWN = "withdrawn", pgettext_lazy("application status", "Withdrawn")


OPEN_STATUSES = frozenset(
    {Status.SUBMITTED, Status.RETURNED, Status.ACCEPTED, Status.FORWARDED, Status.DECIDED}
)
FINAL_STATUSES = frozenset({Status.CLOSED, Status.REJECTED, Status.WITHDRAWN})


class Outcome(models.TextChoices):
    APPROVED = "approved", pgettext_lazy("application outcome", "Approved")
    DENIED = "denied", pgettext_lazy("application outcome", "Denied")
    ANSWERED = "answered", pgettext_lazy("application outcome", "Answered (consultation)")


class Consent(models.TextChoices):
    """How a resident agreed that someone applies for them (帮办代办)."""

    SIGNED = "signed", _("Signed the consent form")
    SPOKEN = "spoken", _("Agreed in person, with a witness")
    GUARDIAN = "guardian", _("Guardian or family member agreed")


class Delivery(models.TextChoices):
    PICKUP = "pickup", _("Collected at the community")
    HOME = "home", _("Delivered to the home")
    POST = "post", _("By post")
    ELECTRONIC = "electronic", _("Electronic certificate")


class Application(EncryptedModel):
    """One application. ``region`` is the applicant's community (or grid), the counter that takes
    it. ``materials`` is the list of the item version's materials with how each was provided
    (``registry``, ``upload``, ``paper`` or ``missing``) and, for registry ones, the masked value
    shown when it was filled; ``answers`` the online form's answers."""

    item = models.ForeignKey(ServiceItem, on_delete=models.PROTECT, related_name="applications")
    item_version = models.PositiveIntegerField()
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    # The applicant: the registry person (when known) and the account that follows it online.
    # registry person (no FK: another app)
    person_id = models.PositiveBigIntegerField(_("registry person"), null=True, blank=True, db_index=True)
    applicant_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    applicant_name = models.CharField(_("applicant"), max_length=50)
    applicant_phone = EncryptedTextField(_("applicant's mobile number"))
    # 帮办代办: the staff member or volunteer who applied on the resident's behalf, and the consent.
    helper = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    on_behalf = models.BooleanField(_("applied on the resident's behalf"), default=False)
    consent = models.CharField(_("consent"), max_length=10, choices=Consent.choices, blank=True)
    consent_note = models.CharField(_("consent note"), max_length=200, blank=True)
    materials = models.JSONField(default=list)
    answers = models.JSONField(default=dict)
    missing = models.JSONField(default=list)  # the exact materials asked for when returned
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SUBMITTED)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, blank=True)
    outcome_note = models.TextField(_("decision"), blank=True)
    delivery = models.CharField(_("delivery"), max_length=10, choices=Delivery.choices, blank=True)
    fee = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    # The running clock (the grid's deadline engine): acceptance for a submission, handling after it.
    warn_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True)  # when the overdue notice went out
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    forwarded_at = models.DateTimeField(_("forwarded"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering: ClassVar = ["-submitted_at", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="govservice_application_rating_1_5",
            ),
            # 帮办代办 names its helper and the consent.
            models.CheckConstraint(
                condition=Q(on_behalf=False) | (Q(helper__isnull=False) & ~Q(consent="")),
                name="govservice_application_on_behalf_consent",
            ),
        ]
        indexes: ClassVar = [
            # The counter's list: an area's applications, newest first, by status.
            models.Index(
                fields=["region_code", "-submitted_at"],
                name="govservice_app_region_idx",
                opclasses=["varchar_pattern_ops", "timestamptz_ops"],
            ),
            models.Index(fields=["region_code", "status", "due_at"], name="govservice_app_status_idx"),
            models.Index(fields=["department", "status", "due_at"], name="govservice_app_dept_idx"),
            models.Index(fields=["applicant_user", "-submitted_at"], name="govservice_app_user_idx"),
            models.Index(fields=["status", "warn_at"], name="govservice_app_warn_idx"),
            # The deadline job's "overdue and not yet told": a few open rows among a million.
            models.Index(
                fields=["due_at"],
                condition=Q(overdue_at__isnull=True, due_at__isnull=False),
                name="govservice_app_overdue_idx",
            ),
            models.Index(fields=["item", "submitted_at"], name="govservice_app_item_idx"),
            # Newest first across an area (a street's, a department's list: walked backwards until a
            # page is full) and the statistics' period scan, index-only (bench_govservice.py).
            models.Index(
                fields=["submitted_at", "id"],
                include=[
                    "region_code",
                    "item",
                    "department",
                    "status",
                    "channel",
                    "on_behalf",
                    "due_at",
                    "overdue_at",
                ],
                name="govservice_app_submitted_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        """The number people quote (收件编号): GS, the submission date and the id."""
        day = timezone.localtime(self.submitted_at).strftime("%Y%m%d")
        return f"GS{day}{self.pk:06d}"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.applicant_phone)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def parse_number(number: str) -> int | None:
    """The primary key in an application number (``GS20261206000042``), or None."""
    number = number.strip().upper()
    if number.startswith("GS"):
        number = number[2:]
    if len(number) < 14 or not number.isdigit():
        return None
    return int(number[8:])


class ApplicationStep(models.Model):
    """One step of an application's life: who, when, what, the status before and after, a note.
    ``public`` steps (and their notes) are the ones the applicant reads on their page."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="steps")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=20)
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10, blank=True)
    note = models.TextField(blank=True)
    public = models.BooleanField(default=True)
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering: ClassVar = ["at", "pk"]
        indexes: ClassVar = [models.Index(fields=["application", "at"], name="govservice_step_app_idx")]


def _material_path(instance: MaterialFile, filename: str) -> str:
    return f"govservice/{instance.application_id}/{instance.token}.bin"


class MaterialFile(models.Model):
    """An uploaded material (a photo or PDF of a document). The content is sealed with SM4-GCM
    under a per-row associated data: ID cards and diagnoses must not lie in the media folder in
    clear."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="files")
    material = models.CharField(max_length=40)  # the material's code in the item
    token = models.CharField(max_length=32, unique=True)
    file = models.FileField(upload_to=_material_path, max_length=200)
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


# --- 好差评: evaluations and rectifications ------------------------------------------------------


class Stars(models.IntegerChoices):
    VERY_UNSATISFIED = 1, _("Very unsatisfied")
    UNSATISFIED = 2, _("Unsatisfied")
    BASICALLY = 3, _("Basically satisfied")
    SATISFIED = 4, _("Satisfied")
    VERY_SATISFIED = 5, _("Very satisfied")


class Evaluation(models.Model):
    """The applicant's rating of one handled application (one per application). ``unit_*`` is who
    is answerable: the department that decided it, else the community that handled it."""

    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="evaluation")
    item = models.ForeignKey(ServiceItem, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    stars = models.PositiveSmallIntegerField(_("rating"), choices=Stars.choices)
    reasons = models.JSONField(default=list)  # reason codes (evaluations.REASONS)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(stars__gte=1, stars__lte=5), name="govservice_eval_stars_1_5")
        ]
        indexes: ClassVar = [
            models.Index(fields=["region_code", "at"], name="govservice_eval_region_idx"),
            models.Index(fields=["item", "at"], name="govservice_eval_item_idx"),
            models.Index(fields=["department", "at"], name="govservice_eval_dept_idx"),
            # The statistics' and the public page's period scan, index-only.
            models.Index(
                fields=["at"],
                include=["region_code", "item", "department", "stars"],
                name="govservice_eval_at_idx",
            ),
        ]


class RectStatus(models.TextChoices):
    OPEN = "open", _("To rectify")
    FED_BACK = "fed_back", pgettext_lazy("rectification", "Fed back, awaiting review")
    DONE = "done", pgettext_lazy("rectification", "Reviewed and closed")


class Rectification(models.Model):
    """整改: a bad rating put right by the answerable unit, fed back to the applicant, reviewed by
    the level above. Its own object rather than a grid ticket: it is about how a service was
    handled, answerable by a unit (not routed by a category and a place), and its steps are fixed
    by the 好差评 rules; it shares the grid's deadline engine and the messaging service."""

    evaluation = models.OneToOneField(Evaluation, on_delete=models.CASCADE, related_name="rectification")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The region whose supervisors review it: the level above the unit.
    supervisor_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    status = models.CharField(max_length=10, choices=RectStatus.choices, default=RectStatus.OPEN)
    finding = models.TextField(_("what was found"), blank=True)
    measures = models.TextField(_("what was put right"), blank=True)
    feedback = models.TextField(_("feedback to the applicant"), blank=True)
    review_note = models.TextField(_("review"), blank=True)
    rounds = models.PositiveSmallIntegerField(default=1)  # +1 each time the review sends it back
    opened_at = models.DateTimeField(default=timezone.now)
    warn_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(_("due"))
    warned_at = models.DateTimeField(null=True, blank=True)
    fed_back_at = models.DateTimeField(null=True, blank=True)
    fed_back_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering: ClassVar = ["due_at", "pk"]
        indexes: ClassVar = [
            models.Index(fields=["status", "due_at"], name="govservice_rect_due_idx"),
            models.Index(fields=["department", "status"], name="govservice_rect_dept_idx"),
        ]


# --- Home care (S4) ----------------------------------------------------------------------------


class CareService(models.TextChoices):
    MEALS = "meals", _("Meal delivery")
    VISIT = "visit", _("Home visit")
    CLEANING = "cleaning", _("Cleaning")
    BATHING = "bathing", _("Help with bathing")
    ESCORT = "escort", _("Escort to the doctor")
    DAYCARE = "daycare", _("Day care")


class CarePlan(models.Model):
    """Home-care services agreed for one elderly or disabled resident (``person_id`` in the
    registry), usually from an approved 居家养老服务申请."""

    person_id = models.PositiveBigIntegerField(db_index=True)
    person_name = models.CharField(max_length=50)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    application = models.OneToOneField(
        Application, null=True, blank=True, on_delete=models.PROTECT, related_name="care_plan"
    )
    services = models.JSONField(default=list)  # CareService values
    visits_per_week = models.PositiveSmallIntegerField(_("visits a week"), default=1)
    provider = models.CharField(_("provider"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    starts_on = models.DateField(_("from"), default=timezone.localdate)
    ends_on = models.DateField(_("until"), null=True, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["region_code", "person_name", "pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["person_id"], condition=Q(active=True), name="govservice_one_active_care_plan"
            )
        ]


class CareOutcome(models.TextChoices):
    DONE = "done", _("Done, all well")
    ABSENT = "absent", _("Nobody answered")
    CONCERN = "concern", _("Done, but something is wrong")


class CareRecord(models.Model):
    """One meal delivered or visit made under a plan; ``concern`` notifies the grid worker."""

    plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="records")
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    service = models.CharField(_("service"), max_length=10, choices=CareService.choices)
    outcome = models.CharField(_("how it went"), max_length=8, choices=CareOutcome.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering: ClassVar = ["-at", "-pk"]
        indexes: ClassVar = [models.Index(fields=["plan", "at"], name="govservice_care_rec_idx")]
