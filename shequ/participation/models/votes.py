"""Polls, owners' votes and committee elections, one table for all three (``Vote.kind``): the same
ballot box, board and tally serve them, and only the electorate and the validity rules differ.

Who voted and what was voted are kept apart by construction: ``Voter`` (the roll) says whether a
person voted and on which day, never which ballot; ``CastBallot`` and ``BoardEntry`` hold encrypted
ballots under a credential (a keyed pseudonym whose key is erased when the vote closes) and no
person. No table has both a person and a choice; a test reads the schema to keep it so.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.fields import EncryptedModel, EncryptedTextField
from shequ.core.models import Region

CODE_LENGTH = 15

__all__ = [
    "BoardEntry",
    "CastBallot",
    "Electorate",
    "KeyMode",
    "Matter",
    "Objection",
    "ObjectionKind",
    "Option",
    "OptionStatus",
    "Proxy",
    "Quorum",
    "ResidenceRule",
    "Trustee",
    "Vote",
    "VoteKind",
    "VoteStatus",
    "Voter",
    "VoterSource",
]


class VoteKind(models.TextChoices):
    POLL = "poll", pgettext_lazy("vote kind", "Decision vote")
    OWNERS = "owners", pgettext_lazy("vote kind", "Owners' vote")
    ELECTION = "election", pgettext_lazy("vote kind", "Committee election")
    BY_ELECTION = "by_election", pgettext_lazy("vote kind", "By-election")


class VoteStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("vote status", "Being prepared")
    OPEN = "open", pgettext_lazy("vote status", "Voting")
    CLOSED = "closed", pgettext_lazy("vote status", "Closed, counting")
    DECIDED = "decided", pgettext_lazy("vote status", "Result announced")
    CANCELLED = "cancelled", pgettext_lazy("vote status", "Cancelled")


class Electorate(models.TextChoices):
    ADULTS = "adults", _("Adult residents of the scope")
    HOUSEHOLDS = "households", _("Household representatives (heads)")
    OWNERS = "owners", _("Owners of houses in the scope")
    VOTERS = "voters", _("Registered voters (election)")


class Matter(models.TextChoices):
    """The majority a decision needs (owners' votes: Civil Code Art. 278; polls: the meeting's
    rules)."""

    ORDINARY = "ordinary", _("Ordinary matter: more than half of those voting")
    SPECIAL = "special", _("Special matter (Art. 278 items 6–8): three quarters or more of those voting")
    REGISTERED = "registered", _("More than half of the whole electorate")


class Quorum(models.TextChoices):
    NONE = "none", _("No quorum")
    HALF = "half", _("More than half of the electorate takes part")
    TWO_THIRDS = "two_thirds", _("Two thirds or more of the electorate take part")


class ResidenceRule(models.TextChoices):
    COMMUNITY = "community", _("Residents' committee: adults living in the community")
    VILLAGE = "village", _("Villagers' committee: registered and living in the village")


class KeyMode(models.TextChoices):
    TRUSTEES = "trustees", _("Trustees hold the key (needed for elections)")
    PLATFORM = "platform", _("The platform holds the key until the vote closes")


class Vote(EncryptedModel):
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    region_code = models.CharField(_("region code"), max_length=CODE_LENGTH, db_index=True)
    kind = models.CharField(_("kind"), max_length=12, choices=VoteKind.choices)
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=VoteStatus.choices, default=VoteStatus.DRAFT
    )
    electorate = models.CharField(_("electorate"), max_length=12, choices=Electorate.choices)
    building_ids = models.JSONField(_("buildings (empty: the whole region)"), default=list, blank=True)
    cutoff_date = models.DateField(_("electorate cut-off date"))
    matter = models.CharField(_("majority"), max_length=12, choices=Matter.choices, default=Matter.ORDINARY)
    quorum = models.CharField(_("quorum"), max_length=10, choices=Quorum.choices, default=Quorum.NONE)
    max_choices = models.PositiveSmallIntegerField(_("choices allowed per ballot"), default=1)
    seats = models.PositiveSmallIntegerField(_("seats"), default=0)
    opens_at = models.DateTimeField(_("voting opens"), null=True, blank=True)
    closes_at = models.DateTimeField(_("voting closes"), null=True, blank=True)
    # Elections: the roll, objections, candidates and the by-election path.
    election_day = models.DateField(_("election day"), null=True, blank=True)
    residence_rule = models.CharField(
        _("residence rule"), max_length=10, choices=ResidenceRule.choices, default=ResidenceRule.COMMUNITY
    )
    # Elections: the election day's year (services.votes.setup.term_of); one roll line per person and term.
    term = models.CharField(_("term"), max_length=20, blank=True)
    roll_published_at = models.DateTimeField(_("voter list published"), null=True, blank=True)
    objection_deadline = models.DateTimeField(_("objections until"), null=True, blank=True)
    candidates_final_at = models.DateTimeField(_("candidate list final"), null=True, blank=True)
    allow_proxy = models.BooleanField(_("written proxies allowed"), default=False)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="by_elections",
        verbose_name=_("by-election of"),
    )
    # The ballot box: keys, the manifest everyone hashes, the pseudonym key (erased at closing).
    key_mode = models.CharField(_("who holds the key"), max_length=10, choices=KeyMode.choices)
    public_key = models.TextField(_("joint public key"), blank=True)
    platform_secret = EncryptedTextField(_("platform key share"))
    credential_key = EncryptedTextField(_("credential key"))
    manifest = models.JSONField(_("manifest"), default=dict, blank=True)
    manifest_hash = models.CharField(_("manifest hash"), max_length=64, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    announced_at = models.DateTimeField(_("result announced"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("vote")
        verbose_name_plural = _("votes")
        ordering: ClassVar = ["-created_at", "-pk"]
        indexes: ClassVar = [models.Index(fields=["status", "closes_at"], name="participation_vote_due_idx")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_election(self) -> bool:
        return self.kind in (VoteKind.ELECTION, VoteKind.BY_ELECTION)


class OptionStatus(models.TextChoices):
    NOMINATED = "nominated", pgettext_lazy("candidate status", "Nominated")
    FINAL = "final", pgettext_lazy("candidate status", "On the ballot")
    WITHDRAWN = "withdrawn", pgettext_lazy("candidate status", "Withdrawn")


class Option(models.Model):
    """A choice on the ballot: an answer of a poll or a candidate of an election."""

    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="options", verbose_name=_("vote"))
    position = models.PositiveSmallIntegerField(_("position"))
    label = models.CharField(_("label"), max_length=100)
    person = models.ForeignKey(
        "registry.Person",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("candidate"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=OptionStatus.choices, default=OptionStatus.FINAL
    )
    nominated_by = models.CharField(_("nominated by"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("option")
        verbose_name_plural = _("options")
        ordering: ClassVar = ["vote_id", "position"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["vote", "position"], name="participation_option_position"),
        ]

    def __str__(self) -> str:
        return self.label


class VoterSource(models.TextChoices):
    REGISTRY = "registry", _("From the registry")
    ADDED = "added", _("Added on request")
    OBJECTION = "objection", _("Added after an objection")


class Voter(models.Model):
    """One line of the roll: a person (or, for owners' votes, an owner standing for one or more
    houses; ``person`` is empty for the developer's unsold houses) and whether they voted."""

    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="voters", verbose_name=_("vote"))
    person = models.ForeignKey(
        "registry.Person",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("person"),
    )
    label = models.CharField(_("shown as"), max_length=60)  # masked name, as the public roll shows it
    house_ids = models.JSONField(_("houses"), default=list, blank=True)
    # Owners' votes: every owner of the line's houses may cast its ballot (the last one counts).
    co_owner_ids = models.JSONField(_("owners who may vote for this line"), default=list, blank=True)
    area = models.DecimalField(_("floor area (m²)"), max_digits=12, decimal_places=2, default=0)
    source = models.CharField(
        _("source"), max_length=10, choices=VoterSource.choices, default=VoterSource.REGISTRY
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    term = models.CharField(_("term"), max_length=20, blank=True)
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True)
    removed_reason = models.CharField(_("reason for removal"), max_length=200, blank=True)
    voted = models.BooleanField(_("voted"), default=False)
    voted_on = models.DateField(_("voted on"), null=True, blank=True)  # a day, not a time
    by_proxy = models.BooleanField(_("voted by proxy"), default=False)

    class Meta:
        verbose_name = _("voter")
        verbose_name_plural = _("voters")
        ordering: ClassVar = ["vote_id", "pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["vote", "person"], condition=Q(person__isnull=False), name="participation_voter_once"
            ),
            # No double registration across communities: one roll line per person and term.
            models.UniqueConstraint(
                fields=["term", "person"],
                condition=~Q(term="") & Q(removed_at__isnull=True),
                name="participation_voter_one_term",
            ),
        ]

    def __str__(self) -> str:
        return self.label


class Proxy(models.Model):
    """A written entrustment (委托投票): ``voter`` is away and ``holder`` votes for them. The
    developer's line of an owners' vote (``voter.person`` empty) has no person to vote: the staff
    record the account of the developer's authorized representative (``holder_account``) instead,
    who casts that line's one ballot."""

    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="proxies", verbose_name=_("vote"))
    voter = models.OneToOneField(
        Voter, on_delete=models.CASCADE, related_name="proxy", verbose_name=_("voter")
    )
    holder = models.ForeignKey(
        Voter,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="entrusted",
        verbose_name=_("proxy holder"),
    )
    holder_account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("representative's account"),
    )
    relation = models.CharField(_("relation"), max_length=30)
    document = models.CharField(_("written entrustment (number or note)"), max_length=100)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("proxy")
        verbose_name_plural = _("proxies")
        constraints: ClassVar = [
            # A roll line holds it, or (the developer's line only) an account: exactly one of them.
            models.CheckConstraint(
                condition=Q(holder__isnull=False, holder_account__isnull=True)
                | Q(holder__isnull=True, holder_account__isnull=False),
                name="participation_proxy_one_holder",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.holder_id} for {self.voter_id}"


class ObjectionKind(models.TextChoices):
    LEFT_OUT = "left_out", _("Should be on the list")
    NOT_ELIGIBLE = "not_eligible", _("Should not be on the list")


class Objection(models.Model):
    vote = models.ForeignKey(
        Vote, on_delete=models.CASCADE, related_name="objections", verbose_name=_("vote")
    )
    kind = models.CharField(_("kind"), max_length=14, choices=ObjectionKind.choices)
    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, related_name="+", verbose_name=_("about")
    )
    reason = models.TextField(_("reason"))
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("filed by")
    )
    filed_at = models.DateTimeField(_("filed"), auto_now_add=True)
    upheld = models.BooleanField(_("upheld"), null=True, blank=True)
    answer = models.TextField(_("decision"), blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        verbose_name = _("objection")
        verbose_name_plural = _("objections")
        ordering: ClassVar = ["vote_id", "filed_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.person_id}"


class Trustee(models.Model):
    """A member of the election committee holding one share of the key: its public part and proof
    here, the secret only on the trustee's own phone."""

    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="trustees", verbose_name=_("vote"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("trustee")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    public_key = models.TextField(_("public key share"), blank=True)
    key_proof = models.JSONField(_("proof of the key"), default=dict, blank=True)
    keyed_at = models.DateTimeField(_("key made"), null=True, blank=True)
    partial = models.JSONField(_("partial decryption"), default=list, blank=True)
    decrypted_at = models.DateTimeField(_("share of the count given"), null=True, blank=True)

    class Meta:
        verbose_name = _("trustee")
        verbose_name_plural = _("trustees")
        ordering: ClassVar = ["vote_id", "position"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["vote", "user"], name="participation_trustee_once"),
            models.UniqueConstraint(fields=["vote", "position"], name="participation_trustee_position"),
        ]

    def __str__(self) -> str:
        return f"{self.vote_id}/{self.position}"


class BoardEntry(models.Model):
    """The public bulletin board: append-only, each entry's hash covers the previous one."""

    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="board", verbose_name=_("vote"))
    seq = models.PositiveIntegerField(_("sequence"))
    kind = models.CharField(_("kind"), max_length=10)  # manifest, ballot, close, tally
    payload = models.TextField(_("payload (canonical JSON)"))
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)
    created_at = models.DateTimeField(_("appended"), auto_now_add=True)

    class Meta:
        verbose_name = _("board entry")
        verbose_name_plural = _("board entries")
        ordering: ClassVar = ["vote_id", "seq"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["vote", "seq"], name="participation_board_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.vote_id}#{self.seq}"


class CastBallot(models.Model):
    """The box's index of the board's ballots: the last one under each credential counts."""

    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="ballots", verbose_name=_("vote"))
    credential = models.CharField(_("credential"), max_length=64)
    tracker = models.CharField(_("tracker"), max_length=64, db_index=True)
    entry = models.OneToOneField(
        BoardEntry, on_delete=models.PROTECT, related_name="+", verbose_name=_("entry")
    )
    weight = models.DecimalField(_("weight (m²)"), max_digits=12, decimal_places=2, default=0)
    current = models.BooleanField(_("counts"), default=True)

    class Meta:
        verbose_name = _("cast ballot")
        verbose_name_plural = _("cast ballots")
        constraints: ClassVar = [
            # Two ballots arriving at once under one credential: one counts.
            models.UniqueConstraint(
                fields=["vote", "credential"], condition=Q(current=True), name="participation_ballot_current"
            ),
        ]

    def __str__(self) -> str:
        return self.tracker
