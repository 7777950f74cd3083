"""Vote fixtures: ``votes`` — community A (grids A and B of the registry's ``reg``) with five adult
residents, a 17-year-old and an outsider of community B; helpers to open a poll or an election
with three trustees and to cast ballots as the Python twin of the browser would."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils import timezone, translation

from shequ.conftest import World
from shequ.core import accounts
from shequ.core.models import Role, User
from shequ.participation.crypto.ballots import encrypt_ballot
from shequ.participation.crypto.elgamal import Ciphertext
from shequ.participation.crypto.group import element
from shequ.participation.crypto.trustees import KeyShare, count_shares, make_key_share
from shequ.participation.models import Vote, Voter
from shequ.participation.services import votes as svc
from shequ.registry import services as registry
from shequ.registry.models import House, Person
from shequ.registry.tests.conftest import COMMUNITY_A, Registry


def cutoff() -> dt.date:
    """Today: the fixture's people moved in today or earlier."""
    return timezone.localdate()


def register(reg: Registry, name: str, house: House, *, birth: str, since: dt.date, **data: Any) -> Person:
    payload = {
        "name": name,
        "id_number": reg.next_id(birth),
        "birth_date": dt.datetime.strptime(birth, "%Y%m%d").date(),
        **data,
    }
    return registry.person_register(actor=None, data=payload, house=house, since=since)


@dataclass
class Votes:
    reg: Registry
    adults: list[Person]
    minor: Person
    trustees: list[User] = field(default_factory=list)
    shares: dict[int, KeyShare] = field(default_factory=dict)

    @property
    def world(self) -> World:
        return self.reg.world

    def __getitem__(self, persona: str) -> User:
        return self.reg.world[persona]

    def poll(self, *, options: tuple[str, ...] = ("同意", "反对", "弃权"), **extra: Any) -> Vote:
        now = timezone.now()
        vote = svc.vote_create(
            actor=self["head_a"],
            region=self.reg.region(COMMUNITY_A),
            kind=extra.pop("kind", "poll"),
            title=extra.pop("title", "加装电梯"),
            cutoff_date=cutoff(),
            opens_at=now - dt.timedelta(minutes=1),
            closes_at=now + dt.timedelta(hours=1),
            **extra,
        )
        for label in options:
            svc.option_add(actor=self["head_a"], vote=vote, label=label)
        svc.roll_compute(actor=self["head_a"], vote=vote)
        return vote

    def upcoming_election(self, title: str = "第十二届居民委员会选举") -> Vote:
        """An election of community A in 25 days, its voter list computed (not yet published)."""
        now = timezone.now()
        vote = svc.vote_create(
            actor=self["head_a"],
            region=self.reg.region(COMMUNITY_A),
            kind="election",
            title=title,
            cutoff_date=now.date(),
            opens_at=now + dt.timedelta(days=25),
            closes_at=now + dt.timedelta(days=25, hours=10),
            election_day=(now + dt.timedelta(days=25)).date(),
            seats=2,
        )
        svc.roll_compute(actor=self["head_a"], vote=vote)
        return vote

    def election(self, *, seats: int = 2, candidates: int = 3, **extra: Any) -> Vote:
        now = timezone.now()
        vote = svc.vote_create(
            actor=self["head_a"],
            region=self.reg.region(COMMUNITY_A),
            kind="election",
            title="第十二届居民委员会选举",
            cutoff_date=cutoff(),
            opens_at=now - dt.timedelta(minutes=1),
            closes_at=now + dt.timedelta(hours=1),
            election_day=now.date(),
            seats=seats,
            **extra,
        )
        svc.roll_compute(actor=self["head_a"], vote=vote)
        for person in self.adults[:candidates]:
            svc.option_add(actor=self["head_a"], vote=vote, person_id=person.pk, nominated_by="居民代表联名")
        svc.candidates_finalize(actor=self["head_a"], vote=vote)
        self.key_ceremony(vote)
        # The list was published at least 20 days before election day.
        Vote.objects.filter(pk=vote.pk).update(
            roll_published_at=now - dt.timedelta(days=25), objection_deadline=now - dt.timedelta(days=20)
        )
        vote.refresh_from_db()
        return vote

    def key_ceremony(self, vote: Vote) -> None:
        for user in self.trustees:
            trustee = svc.trustee_add(actor=self["head_a"], vote=vote, user=user)
            share = make_key_share(str(vote.uid), trustee.position)
            self.shares[trustee.position] = share
            svc.trustee_key_submit(
                actor=user, trustee=trustee, public_key=share.public_hex, proof=share.proof
            )

    def voter(self, vote: Vote, person: Person) -> Voter:
        return vote.voters.get(person=person, removed_at__isnull=True)

    def ballot(self, vote: Vote, voter: Voter, selections: list[int]) -> dict[str, Any]:
        vote.refresh_from_db()
        return encrypt_ballot(
            key=element(vote.public_key),
            manifest_hash=vote.manifest_hash,
            credential=svc.credential_for(vote, voter),
            selections=selections,
            max_choices=vote.max_choices,
        )

    def cast(self, vote: Vote, person: Person, selections: list[int]) -> svc.Receipt:
        voter = self.voter(vote, person)
        return svc.ballot_cast(voter=voter, ballot=self.ballot(vote, voter, selections))

    def close(self, vote: Vote) -> Vote:
        Vote.objects.filter(pk=vote.pk).update(closes_at=timezone.now() - dt.timedelta(seconds=1))
        vote.refresh_from_db()
        return svc.vote_close(actor=self["head_a"], vote=vote)

    def decrypt(self, vote: Vote) -> Vote:
        """Each trustee's phone: decrypt the totals on the board."""
        from shequ.participation.services.votes.counting import close_entry

        close = close_entry(vote)
        totals = [Ciphertext.from_json(t) for t in close["totals"]]
        areas = [Ciphertext.from_json(t) for t in close["totals_area"]]
        for trustee in vote.trustees.order_by("position"):
            share = self.shares[trustee.position]
            svc.trustee_decrypt_submit(
                actor=trustee.user,
                trustee=trustee,
                shares=count_shares(share.secret, vote.manifest_hash, trustee.position, totals),
                shares_area=count_shares(
                    share.secret, vote.manifest_hash, trustee.position, areas, "shares_area"
                ),
            )
        vote.refresh_from_db()
        return vote


@pytest.fixture
def votes(reg: Registry) -> Votes:
    adults = [reg.people["a"], reg.people["b"]]
    names = ("赵六", "孙七", "周八")
    for i, name in enumerate(names):
        house = reg.houses["a"][1 + i % 2]
        adults.append(register(reg, name, house, birth=f"19{60 + i}0315", since=dt.date(2020, 1, 1)))
    minor = register(reg, "吴小九", reg.houses["a"][2], birth="20100101", since=dt.date(2020, 1, 1))
    trustees = []
    for i in range(3):
        user = accounts.user_create(
            actor=None,
            username=f"trustee{i}",
            display_name=f"选举委员{i}",
            password="x-trustee-password-1",
            phone=f"1390000{i:04d}",
            email=f"t{i}@example.test",
        )
        accounts.membership_grant(actor=None, user=user, role=Role.RESIDENT, region=reg.region(COMMUNITY_A))
        trustees.append(user)
    return Votes(reg=reg, adults=adults, minor=minor, trustees=trustees)


@pytest.fixture
def english() -> Iterator[None]:
    """The services' messages in English, for tests that match them."""
    with translation.override("en"):
        yield
