"""Demo votes for 岳麓街道, all made through the vote services as the staff's, voters' and trustees'
clicks would (ballots encrypted by the Python twin of ballot.js, on a few processes):

* 枇杷塘社区's residents' committee election, decided: the roll computed from the registry, the list
  published, seven candidates for five seats (差额), three trustees (worker_a 王丽, grid_a 刘建国,
  volunteer 何芳; their key shares made here and given for the count), a little over half of the
  voters voting, the result announced with the board and its verifier's check. Its seats left
  empty, if any, wait for the by-election the community head may call.
* An open decision vote there (electric-bike charging shed), the platform holding the key: a
  hundred residents have voted; the demo resident (``resident``) is on the roll and has not.
* An open owners' vote on using the repair fund in the estate of grid 001 (Art. 278: owners and
  floor area), about half of the owners having voted.
* 泽盛社区's election, being prepared: the list published and open to objections, candidates
  nominated, trustees named (head_b 李娜 among them) who have not made their key shares yet.

Idempotent: a street with votes already is left alone.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from shequ.core import accounts
from shequ.core.models import Region, Role, User
from shequ.participation.crypto import ballots
from shequ.participation.crypto.elgamal import Ciphertext
from shequ.participation.crypto.group import element
from shequ.participation.crypto.trustees import KeyShare, count_shares, make_key_share
from shequ.participation.crypto.verifier import verify
from shequ.participation.models import Vote
from shequ.participation.selectors_votes import board_export
from shequ.participation.services import votes as svc
from shequ.participation.services.votes.counting import close_entry
from shequ.registry.demo.accounts import link_demo_resident
from shequ.registry.electorates import building_ids_of

STREET = "430104002"
COMMUNITY_A = "430104002001"  # 枇杷塘社区
COMMUNITY_B = "430104002003"  # 泽盛社区
GRID_A = COMMUNITY_A + "001"
TURNOUT = 0.56
POLL_BALLOTS = 100
CANDIDATES = 7
SEATS = 5


@dataclass
class VoteSummary:
    skipped: bool = False
    votes: int = 0
    ballots: int = 0
    election: str = ""
    electorate: int = 0
    elected: list[str] = field(default_factory=list)
    verified: bool = False
    resident: str = ""
    seconds: float = 0.0

    def line(self) -> str:
        if self.skipped:
            return "participation votes: the demo street has its votes already; left alone"
        return (
            f"participation votes: {self.votes} votes, {self.ballots} encrypted ballots cast; "
            f"{self.election}: {self.electorate} voters, elected {', '.join(self.elected) or 'nobody'}, "
            f"board verified {'yes' if self.verified else 'NO'}; in {self.seconds:.1f} s"
        )

    def login_note(self) -> str:
        if self.skipped:
            return ""
        return (
            f"# 投票选举: resident ({self.resident}) can vote in 枇杷塘's open decision vote (我的投票); "
            "worker_a, grid_a and volunteer were the trustees of its decided election; head_b is a trustee "
            "of 泽盛's election being prepared: key share on the phone (我的投票 → 我的密钥保管任务)."
        )


def _encrypt(args: tuple[int, str, str, list[int], int]) -> dict[str, Any]:
    key, manifest_hash, credential, selections, max_choices = args
    return ballots.encrypt_ballot(
        key=key,
        manifest_hash=manifest_hash,
        credential=credential,
        selections=selections,
        max_choices=max_choices,
    )


def _cast_many(vote: Vote, lines: list[Any], picks: list[list[int]]) -> int:
    """Voters' phones encrypt (a process pool), then the box takes each ballot as the page would."""
    vote.refresh_from_db()
    key = element(vote.public_key)
    work = [
        (key, vote.manifest_hash, svc.credential_for(vote, v), p, vote.max_choices)
        for v, p in zip(lines, picks, strict=True)
    ]
    workers = min(4, os.cpu_count() or 1)
    if workers > 1 and len(work) > 20:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            prepared = list(pool.map(_encrypt, work, chunksize=25))
    else:
        prepared = [_encrypt(w) for w in work]
    for voter, ballot in zip(lines, prepared, strict=True):
        svc.ballot_cast(voter=voter, ballot=ballot)
    return len(prepared)


def _user(username: str) -> User | None:
    return User.objects.filter(username=username, is_active=True).first()


def _trustees(vote: Vote, head: User, names: list[str], *, keyed: bool) -> dict[int, KeyShare]:
    shares: dict[int, KeyShare] = {}
    for name in names:
        user = _user(name)
        if user is None:
            user = accounts.user_create(actor=None, username=name, display_name=name, password=None, phone="")
            accounts.membership_grant(actor=None, user=user, role=Role.RESIDENT, region=vote.region)
        trustee = svc.trustee_add(actor=head, vote=vote, user=user)
        if keyed:
            share = make_key_share(str(vote.uid), trustee.position)
            svc.trustee_key_submit(
                actor=user, trustee=trustee, public_key=share.public_hex, proof=share.proof
            )
            shares[trustee.position] = share
    return shares


def _decided_election(rng: random.Random, head: User, summary: VoteSummary) -> None:
    now = timezone.now()
    vote = svc.vote_create(
        actor=head,
        region=Region.objects.get(code=COMMUNITY_A),
        kind="election",
        title="枇杷塘社区第十二届居民委员会换届选举",
        description="选举居民委员会主任、副主任和委员共五名。候选人由居民小组提名，经选举委员会确定，差额选举。",
        cutoff_date=now.date(),
        opens_at=now - dt.timedelta(minutes=5),
        closes_at=now + dt.timedelta(hours=8),
        election_day=now.date(),
        seats=SEATS,
        allow_proxy=True,
    )
    svc.roll_compute(actor=head, vote=vote)
    lines = list(vote.voters.filter(removed_at__isnull=True).order_by("pk"))
    for voter in rng.sample(lines, CANDIDATES):
        svc.option_add(
            actor=head,
            vote=vote,
            person_id=voter.person_id,
            nominated_by=rng.choice(["居民小组提名", "十名以上选民联名", "居民代表会议提名"]),
        )
    svc.candidates_finalize(actor=head, vote=vote)
    shares = _trustees(vote, head, ["worker_a", "grid_a", "volunteer"], keyed=True)
    # Published 25 days ago, objections closed: the law's 20 days before election day.
    Vote.objects.filter(pk=vote.pk).update(
        roll_published_at=now - dt.timedelta(days=25), objection_deadline=now - dt.timedelta(days=20)
    )
    vote = svc.vote_open(actor=head, vote=vote)
    favourites = rng.sample(range(CANDIDATES), SEATS)
    voting = rng.sample(lines, int(len(lines) * TURNOUT) + 1)
    picks = []
    for _voter in voting:
        chosen = {i for i in favourites if rng.random() < 0.8} | {
            i for i in range(CANDIDATES) if rng.random() < 0.1
        }
        chosen = set(sorted(chosen)[:SEATS])
        picks.append([int(i in chosen) for i in range(CANDIDATES)])
    summary.ballots += _cast_many(vote, voting, picks)
    Vote.objects.filter(pk=vote.pk).update(closes_at=timezone.now())
    vote.refresh_from_db()
    vote = svc.vote_close(actor=head, vote=vote)
    totals = [Ciphertext.from_json(t) for t in close_entry(vote)["totals"]]
    for trustee in vote.trustees.select_related("user").order_by("position"):
        partial = count_shares(shares[trustee.position].secret, vote.manifest_hash, trustee.position, totals)
        svc.trustee_decrypt_submit(actor=trustee.user, trustee=trustee, shares=partial, shares_area=[])
    vote.refresh_from_db()
    summary.election = vote.title
    summary.electorate = len(lines)
    labels = vote.manifest["options"]
    summary.elected = [labels[i] for i in vote.result.get("outcome", {}).get("elected", [])]
    summary.verified = verify(board_export(vote)).ok
    summary.votes += 1


def _open_poll(rng: random.Random, head: User, summary: VoteSummary) -> None:
    now = timezone.now()
    vote = svc.vote_create(
        actor=head,
        region=Region.objects.get(code=COMMUNITY_A),
        kind="poll",
        title="是否同意在小区东门增设电动自行车集中充电棚",
        description="为减少楼道充电的火灾隐患，拟在东门停车场划出约60平方米建设集中充电棚，费用由街道安全专项资金承担。",
        cutoff_date=(now - dt.timedelta(days=3)).date(),
        opens_at=now - dt.timedelta(days=1),
        closes_at=now + dt.timedelta(days=6),
        quorum="half",
    )
    for label in ("同意", "不同意", "弃权"):
        svc.option_add(actor=head, vote=vote, label=label)
    svc.roll_compute(actor=head, vote=vote)
    resident = _user("resident")
    person = link_demo_resident(resident) if resident is not None else None
    if person is not None:
        summary.resident = person.name
    lines = [
        v
        for v in vote.voters.filter(removed_at__isnull=True).order_by("pk")
        if person is None or v.person_id != person.pk
    ]
    vote = svc.vote_open(actor=head, vote=vote)
    voting = rng.sample(lines, min(POLL_BALLOTS, len(lines)))
    picks = [
        [1, 0, 0] if r < 0.7 else [0, 1, 0] if r < 0.9 else [0, 0, 1] for r in (rng.random() for _ in voting)
    ]
    summary.ballots += _cast_many(vote, voting, picks)
    summary.votes += 1


def _open_owners_vote(rng: random.Random, head: User, summary: VoteSummary) -> None:
    now = timezone.now()
    buildings = building_ids_of(GRID_A, limit=6)
    vote = svc.vote_create(
        actor=head,
        region=Region.objects.get(code=COMMUNITY_A),
        kind="owners",
        title="使用专项维修资金更换1—6栋电梯",
        description="1—6栋电梯已运行十八年，维保单位建议更换。预算约186万元，从专项维修资金列支。按《民法典》第二百七十八条，经参与表决专有部分面积过半数且参与表决人数过半数的业主同意。",
        cutoff_date=(now - dt.timedelta(days=3)).date(),
        opens_at=now - dt.timedelta(days=2),
        closes_at=now + dt.timedelta(days=12),
        building_ids=buildings,
        matter="ordinary",
    )
    for label in ("同意", "不同意", "弃权"):
        svc.option_add(actor=head, vote=vote, label=label)
    svc.roll_compute(actor=head, vote=vote)
    lines = [v for v in vote.voters.filter(removed_at__isnull=True, person__isnull=False).order_by("pk")]
    vote = svc.vote_open(actor=head, vote=vote)
    voting = rng.sample(lines, len(lines) // 2)
    picks = [
        [1, 0, 0] if r < 0.8 else [0, 1, 0] if r < 0.93 else [0, 0, 1] for r in (rng.random() for _ in voting)
    ]
    summary.ballots += _cast_many(vote, voting, picks)
    summary.votes += 1


def _election_being_prepared(rng: random.Random, summary: VoteSummary) -> None:
    head = _user("head_b")
    if head is None:
        return
    now = timezone.now()
    vote = svc.vote_create(
        actor=head,
        region=Region.objects.get(code=COMMUNITY_B),
        kind="election",
        title="泽盛社区第十二届居民委员会换届选举",
        description="选举居民委员会成员五名，差额选举。选民名单已公布，对名单有异议的，请于公布之日起五日内提出。",
        cutoff_date=now.date(),
        opens_at=now + dt.timedelta(days=22),
        closes_at=now + dt.timedelta(days=22, hours=9),
        election_day=(now + dt.timedelta(days=22)).date(),
        seats=SEATS,
    )
    svc.roll_compute(actor=head, vote=vote)
    svc.roll_publish(actor=head, vote=vote)
    lines = list(vote.voters.filter(removed_at__isnull=True).order_by("pk"))
    for voter in rng.sample(lines, min(CANDIDATES - 1, len(lines))):
        svc.option_add(actor=head, vote=vote, person_id=voter.person_id, nominated_by="居民小组提名")
    _trustees(vote, head, ["head_b", "zesheng_trustee_1", "zesheng_trustee_2"], keyed=False)
    summary.votes += 1


def generate_votes(*, seed: int = 2026) -> VoteSummary:
    summary = VoteSummary()
    started = time.perf_counter()
    if Vote.objects.filter(region_code__startswith=STREET).exists():
        summary.skipped = True
        return summary
    head = _user("head_a")
    if head is None or not Region.objects.filter(code=COMMUNITY_A).exists():
        summary.skipped = True
        return summary
    rng = random.Random(seed)
    _decided_election(rng, head, summary)
    _open_poll(rng, head, summary)
    _open_owners_vote(rng, head, summary)
    _election_being_prepared(rng, summary)
    summary.seconds = time.perf_counter() - started
    return summary
