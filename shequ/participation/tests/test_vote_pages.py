"""The vote pages through the browser's requests: staff set a vote up and run it, residents vote
(the ballot is made here by the Python twin of ballot.js) and object, trustees give their key
shares, and the public sees results, the board and published voter lists. A sibling community's
staff and residents see none of another's non-public pages; bad input changes nothing."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shequ.core import accounts
from shequ.core.models import Role, User
from shequ.participation.crypto.ballots import encrypt_ballot
from shequ.participation.crypto.group import element
from shequ.participation.crypto.trustees import make_key_share
from shequ.participation.crypto.verifier import verify
from shequ.participation.models import Objection, Trustee, Vote, VoteStatus
from shequ.participation.selectors_votes import board_export
from shequ.participation.services import votes as svc
from shequ.participation.tests.fixtures_votes import Votes, register
from shequ.registry.tests.conftest import COMMUNITY_A, COMMUNITY_B, GRID_C

pytestmark = pytest.mark.django_db

COVERED = {
    "participation:votes",
    "participation:vote_new",
    "participation:vote",
    "participation:vote_roll",
    "participation:my_votes",
    "participation:ballot",
    "participation:objection",
    "participation:trustee_home",
    "participation:trustee_key",
    "participation:trustee_count",
    "participation:public_vote",
    "participation:public_board",
    "participation:public_board_json",
    "participation:public_roll",
    "participation:public_votes",
}


def client(user: User | None = None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


@pytest.fixture
def voter_account(votes: Votes) -> User:
    """The ``resident`` persona, linked to a registry person of community A by its mobile number."""
    user = votes["resident"]
    register(
        votes.reg,
        "郑十",
        votes.reg.houses["a"][0],
        birth="19850505",
        since=dt.date(2020, 1, 1),
        phone=user.phone,
    )
    return user


@pytest.fixture
def sibling_resident(votes: Votes) -> User:
    """A resident of community B, on its registry."""
    user = accounts.user_create(
        actor=None,
        username="res_b",
        display_name="res_b",
        password="x-res-b-password-1",
        phone="13922223333",
        email="b@example.test",
    )
    accounts.membership_grant(actor=None, user=user, role=Role.RESIDENT, region=votes.reg.region(GRID_C))
    register(
        votes.reg,
        "冯十一",
        votes.reg.houses["c"][1],
        birth="19750101",
        since=dt.date(2020, 1, 1),
        phone=user.phone,
    )
    return user


def test_staff_create_a_vote_and_bad_input_changes_nothing(votes: Votes) -> None:
    c = client(votes["head_a"])
    url = reverse("participation:vote_new")
    assert c.get(url).status_code == 200
    now = timezone.localtime()
    form = {
        "kind": "poll",
        "region": COMMUNITY_A,
        "title": "小区停车收费调整",
        "matter": "ordinary",
        "quorum": "half",
        "max_choices": "1",
        "cutoff_date": now.date().isoformat(),
        "opens_at": (now + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": now.strftime("%Y-%m-%dT%H:%M"),  # before opening: refused
        "residence_rule": "community",
    }
    response = c.post(url, form)
    assert response.status_code == 400
    assert "投票截止时间须晚于开始时间" in response.content.decode()
    assert not Vote.objects.exists()
    form["closes_at"] = (now + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    response = c.post(url, form)
    vote = Vote.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "participation:vote", args=[vote.pk]
    )
    detail = reverse("participation:vote", args=[vote.pk])
    assert c.post(detail, {"action": "option_add", "label": "同意"}).status_code == 302
    assert c.post(detail, {"action": "option_add", "label": ""}).status_code == 400
    assert c.post(detail, {"action": "roll_compute"}).status_code == 302
    assert vote.voters.count() == 5
    assert c.post(detail, {"action": "nonsense"}).status_code == 400
    # Community A's region picker refuses community B.
    form["region"] = COMMUNITY_B
    assert c.post(url, form).status_code == 400
    assert Vote.objects.count() == 1


def test_sibling_staff_and_residents_see_nothing_of_another_community(
    votes: Votes, sibling_resident: User
) -> None:
    vote = votes.poll()
    for name in ("vote", "vote_roll"):
        url = reverse(f"participation:{name}", args=[vote.pk])
        assert client(votes["head_a"]).get(url).status_code == 200
        assert client(votes["head_b"]).get(url).status_code == 404
        assert client(votes["outsider"]).get(url).status_code in (403, 404)
        assert client(votes["resident"]).get(url).status_code == 403
        assert client().get(url).status_code == 302  # to the sign-in page
    assert (
        client(votes["head_b"])
        .post(reverse("participation:vote", args=[vote.pk]), {"action": "open"})
        .status_code
        == 404
    )
    svc.vote_open(actor=votes["head_a"], vote=vote)
    # Community B's resident is on no roll of A: no ballot page, nothing listed.
    assert client(sibling_resident).get(reverse("participation:ballot", args=[vote.uid])).status_code == 404
    listed = client(sibling_resident).get(reverse("participation:my_votes")).content.decode()
    assert vote.title not in listed
    assert vote.title not in client(votes["head_b"]).get(reverse("participation:votes")).content.decode()
    assert vote.title in client(votes["street"]).get(reverse("participation:votes")).content.decode()


def test_a_resident_votes_with_an_encrypted_ballot_and_finds_the_tracker(
    votes: Votes, voter_account: User
) -> None:
    vote = votes.poll()
    svc.vote_open(actor=votes["head_a"], vote=vote)
    c = client(voter_account)
    mine = c.get(reverse("participation:my_votes")).content.decode()
    assert vote.title in mine
    url = reverse("participation:ballot", args=[vote.uid])
    page = c.get(url)
    assert page.status_code == 200
    data = next(json.loads(v) for k, v in _scripts(page.content.decode()).items() if k.startswith("ballot-"))
    ballot = encrypt_ballot(
        key=element(data["key"]),
        manifest_hash=data["manifestHash"],
        credential=data["credential"],
        selections=[1, 0, 0],
        max_choices=data["maxChoices"],
    )
    for body in ("{not json", "[" * 200_000, "1" * 5000):  # broken, too deep, too long a number
        bad = c.post(url, data=body, content_type="application/json")
        assert bad.status_code == 400 and bad.json()["ok"] is False
    wrong = c.post(
        url,
        data=json.dumps({"voter": data["voter"] + 999, "ballot": ballot}),
        content_type="application/json",
    )
    assert wrong.status_code == 400
    answer = c.post(
        url, data=json.dumps({"voter": data["voter"], "ballot": ballot}), content_type="application/json"
    )
    assert answer.status_code == 200, answer.content
    tracker = answer.json()["tracker"]
    public = client().get(reverse("participation:public_vote", args=[vote.uid]), {"tracker": tracker})
    assert public.status_code == 200 and "0" in public.content.decode()
    missing = client().get(reverse("participation:public_vote", args=[vote.uid]), {"tracker": "ab" * 32})
    assert "不在公告板上" in missing.content.decode() or "not on the board" in missing.content.decode()
    assert (
        client().get(reverse("participation:public_vote", args=[vote.uid]), {"tracker": "xyz"}).status_code
        == 400
    )


def test_public_pages_need_no_sign_in_and_hide_drafts(votes: Votes) -> None:
    vote = votes.poll()
    anonymous = client()
    assert anonymous.get(reverse("participation:public_vote", args=[vote.uid])).status_code == 404  # a draft
    assert anonymous.get(reverse("participation:public_vote", args=["not-a-uuid"])).status_code == 404
    svc.vote_open(actor=votes["head_a"], vote=vote)
    votes.cast(vote, votes.adults[0], [1, 0, 0])
    votes.close(vote)
    for name in ("public_vote", "public_board"):
        assert anonymous.get(reverse(f"participation:{name}", args=[vote.uid])).status_code == 200
    board = anonymous.get(reverse("participation:public_board_json", args=[vote.uid]))
    assert board.status_code == 200
    streamed = json.loads(b"".join(board.streaming_content))  # type: ignore[attr-defined]
    assert streamed == board_export(vote)  # the stream is the export, byte for byte in meaning
    report = verify(streamed)
    assert report.ok and report.counts == [1, 0, 0]
    listing = anonymous.get(reverse("participation:public_votes", args=[COMMUNITY_A]))
    assert vote.title in listing.content.decode()
    assert anonymous.get(reverse("participation:public_votes", args=["999999"])).status_code == 404


def test_an_election_roll_is_published_and_a_resident_objects(votes: Votes, voter_account: User) -> None:
    vote = votes.upcoming_election()
    public = reverse("participation:public_roll", args=[vote.uid])
    assert client().get(public).status_code == 404  # not published yet
    svc.roll_publish(actor=votes["head_a"], vote=vote)
    page = client().get(public).content.decode()
    assert "张*" in page and "张三" not in page  # masked names only
    c = client(voter_account)
    assert vote.title in c.get(reverse("participation:my_votes")).content.decode()
    url = reverse("participation:objection", args=[vote.uid])
    assert c.post(url, {"kind": "not_eligible", "line": "", "reason": "不住本社区"}).status_code == 400
    assert not Objection.objects.exists()
    line = vote.voters.filter(person=votes.adults[0]).get()
    assert c.post(url, {"kind": "not_eligible", "line": str(line.pk), "reason": "已搬走"}).status_code == 302
    objection = Objection.objects.get()
    # The committee decides it on the roll page.
    roll = reverse("participation:vote_roll", args=[vote.pk])
    staff = client(votes["head_a"])
    page = staff.get(roll).content.decode()
    assert "已搬走" in page and "前处理" in page  # three days to decide it
    Objection.objects.filter(pk=objection.pk).update(filed_at=timezone.now() - dt.timedelta(days=4))
    assert "已逾期" in staff.get(roll).content.decode()
    prefix = f"o{objection.pk}"
    answer = staff.post(
        roll,
        {
            "action": "decide",
            "objection": objection.pk,
            f"{prefix}-objection": objection.pk,
            f"{prefix}-upheld": "yes",
            f"{prefix}-answer": "经核实已迁出",
        },
    )
    assert answer.status_code == 302
    line.refresh_from_db()
    assert line.removed_at is not None
    assert client(votes["head_b"]).get(roll).status_code == 404


def test_a_trustee_registers_a_key_share_on_the_key_page(votes: Votes) -> None:
    vote = svc.vote_create(
        actor=votes["head_a"],
        region=votes.reg.region(COMMUNITY_A),
        kind="election",
        title="换届选举",
        cutoff_date=timezone.localdate(),
        opens_at=timezone.now() + dt.timedelta(days=21),
        closes_at=timezone.now() + dt.timedelta(days=21, hours=8),
        election_day=(timezone.now() + dt.timedelta(days=21)).date(),
        seats=1,
    )
    trustee = svc.trustee_add(actor=votes["head_a"], vote=vote, user=votes.trustees[0])
    url = reverse("participation:trustee_key", args=[trustee.pk])
    assert client(votes.trustees[1]).get(url).status_code == 404
    c = client(votes.trustees[0])
    assert "trustee-data" in c.get(url).content.decode()
    share = make_key_share(str(vote.uid), trustee.position)
    forged = make_key_share(str(vote.uid), trustee.position + 1)  # a proof for another position
    refused = c.post(
        url,
        data=json.dumps({"public_key": forged.public_hex, "proof": forged.proof}),
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert Trustee.objects.get(pk=trustee.pk).keyed_at is None
    ok = c.post(
        url,
        data=json.dumps({"public_key": share.public_hex, "proof": share.proof}),
        content_type="application/json",
    )
    assert ok.status_code == 200 and ok.json()["ok"]
    assert Trustee.objects.get(pk=trustee.pk).public_key == share.public_hex
    assert vote.title in c.get(reverse("participation:trustee_home")).content.decode()


def test_trustees_count_on_the_count_page(votes: Votes) -> None:
    vote = svc.vote_open(actor=votes["head_a"], vote=votes.election(seats=1, candidates=2))
    votes.cast(vote, votes.adults[0], [1, 0])
    votes.cast(vote, votes.adults[1], [1, 0])
    votes.cast(vote, votes.adults[2], [0, 1])
    vote = votes.close(vote)
    from shequ.participation.crypto.elgamal import Ciphertext
    from shequ.participation.crypto.trustees import count_shares
    from shequ.participation.services.votes.counting import close_entry

    close = close_entry(vote)
    for trustee in vote.trustees.order_by("position"):
        url = reverse("participation:trustee_count", args=[trustee.pk])
        c = client(trustee.user)
        assert c.get(url).status_code == 200
        secret = votes.shares[trustee.position].secret
        body = {
            "shares": count_shares(
                secret,
                vote.manifest_hash,
                trustee.position,
                [Ciphertext.from_json(t) for t in close["totals"]],
            ),
            "shares_area": [],
        }
        assert c.post(url, data=json.dumps(body), content_type="application/json").status_code == 200
    vote.refresh_from_db()
    assert vote.status == VoteStatus.DECIDED and vote.result["counts"] == [2, 1]
    page = client().get(reverse("participation:public_vote", args=[vote.uid])).content.decode()
    assert "当选" in page or "elected" in page


def _scripts(html: str) -> dict[str, str]:
    import re

    return dict(re.findall(r'<script id="([^"]+)" type="application/json">(.*?)</script>', html, re.S))


def test_every_vote_route_is_covered() -> None:
    from django.urls import URLPattern, URLResolver, get_resolver

    from shequ.participation import urls_votes

    names = {
        f"participation:{p.name}" for p in urls_votes.urlpatterns if isinstance(p, URLPattern) and p.name
    }
    assert names == COVERED
    assert any(
        isinstance(p, URLResolver) and p.namespace == "participation" for p in get_resolver().url_patterns
    )


def test_my_votes_reads_a_fixed_number_of_queries(votes: Votes, voter_account: User) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = client(voter_account)
    url = reverse("participation:my_votes")
    svc.vote_open(actor=votes["head_a"], vote=votes.poll(title="第一项"))
    c.get(url)
    with CaptureQueriesContext(connection) as one:
        assert c.get(url).status_code == 200
    for title in ("第二项", "第三项", "第四项"):
        svc.vote_open(actor=votes["head_a"], vote=votes.poll(title=title))
    with CaptureQueriesContext(connection) as four:
        page = c.get(url)
    assert all(t in page.content.decode() for t in ("第一项", "第四项"))
    assert len(four.captured_queries) == len(one.captured_queries)
