"""The scope matrix of the vote pages: persona × route → status, for every vote route.

Community A runs an open poll (the ``resident`` persona is on its roll), a draft poll, and an
election whose voter list is published for objections, with a trustee. Sibling-region personas
(community B's head and resident, the other street's ``outsider``), another trustee, a grid worker
(reads, does not run) and the anonymous public are asked for every page: out-of-scope objects are
404 (their existence is not confirmed), pages the role does not allow are the audited 403, the
public pages answer without a sign-in but not for a draft. A refused request writes nothing."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shequ.core.models import AuditEntry, AuditResult, User
from shequ.participation.models import (
    BoardEntry,
    CastBallot,
    Objection,
    Option,
    Proxy,
    Trustee,
    Vote,
    Voter,
)
from shequ.participation.selectors_votes import resident_person
from shequ.participation.services import votes as svc
from shequ.participation.tests.fixtures_votes import Votes
from shequ.participation.tests.test_vote_pages import COVERED
from shequ.participation.tests.test_vote_pages import sibling_resident as sibling_resident
from shequ.participation.tests.test_vote_pages import voter_account as voter_account
from shequ.registry.tests.conftest import COMMUNITY_A

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Scene:
    poll: Vote  # open, the resident on its roll
    draft: Vote  # a poll being prepared
    election: Vote  # draft, voter list published, objections open
    trustee: Trustee  # trustees[0]'s role in the election
    line: Voter  # a line of the election's list (not the resident's)


@pytest.fixture
def scene(votes: Votes, voter_account: User, sibling_resident: User) -> Scene:
    poll = svc.vote_open(actor=votes["head_a"], vote=votes.poll(title="开放中的表决"))
    draft = votes.poll(title="筹备中的表决")
    election = votes.upcoming_election("筹备中的选举")
    svc.roll_publish(actor=votes["head_a"], vote=election)
    trustee = svc.trustee_add(actor=votes["head_a"], vote=election, user=votes.trustees[0])
    line = election.voters.get(person=votes.adults[0])
    return Scene(poll=poll, draft=draft, election=election, trustee=trustee, line=line)


# route → (method, target, body): the target names the scene's object the URL points at.
Probe = tuple[str, str, str]
PROBES: dict[str, list[Probe]] = {
    "participation:votes": [("GET", "", "")],
    "participation:vote_new": [("GET", "", ""), ("POST", "", "new")],
    "participation:vote": [("GET", "poll", ""), ("POST", "draft", "option_add")],
    "participation:vote_roll": [("GET", "election", ""), ("POST", "election", "voter_remove")],
    "participation:my_votes": [("GET", "", "")],
    "participation:ballot": [("GET", "poll", ""), ("GET", "draft", ""), ("POST", "poll", "ballot")],
    "participation:objection": [("GET", "election", ""), ("POST", "election", "objection")],
    "participation:trustee_home": [("GET", "", "")],
    "participation:trustee_key": [("GET", "trustee", ""), ("POST", "trustee", "key")],
    "participation:trustee_count": [("GET", "trustee", ""), ("POST", "trustee", "shares")],
    "participation:public_vote": [("GET", "poll", ""), ("GET", "draft", "")],
    "participation:public_board": [("GET", "poll", ""), ("GET", "draft", "")],
    "participation:public_board_json": [("GET", "poll", ""), ("GET", "draft", "")],
    "participation:public_roll": [("GET", "election", ""), ("GET", "draft", ""), ("GET", "poll", "")],
    "participation:public_votes": [("GET", "community", "")],
}

STAFF = ("votes", "vote_new", "vote", "vote_roll")
PUBLIC_OK = {
    ("public_vote", "poll"),
    ("public_board", "poll"),
    ("public_board_json", "poll"),
    ("public_roll", "election"),
    ("public_votes", "community"),
}


def _key(route: str, method: str, target: str) -> str:
    return f"{method} {route.removeprefix('participation:')} {target}".strip()


def _public(expected: dict[str, int]) -> dict[str, int]:
    """The public pages: open votes and published lists for everyone, never a draft."""
    for route, probes in PROBES.items():
        name = route.removeprefix("participation:")
        if name.startswith("public_"):
            for method, target, _body in probes:
                expected[_key(route, method, target)] = 200 if (name, target) in PUBLIC_OK else 404
    return expected


def _resident_pages(ballot: int, objection: int, trustee: int) -> dict[str, int]:
    return {
        "GET my_votes": 200,
        "GET trustee_home": 200,
        "GET ballot poll": ballot,
        "GET ballot draft": 404,
        "POST ballot poll": 400 if ballot == 200 else ballot,  # a broken ballot: refused
        "GET objection election": objection,
        "POST objection election": 400 if objection == 200 else objection,  # no reason: refused
        "GET trustee_key trustee": trustee,
        "POST trustee_key trustee": 400 if trustee == 200 else trustee,  # no key: refused
        "GET trustee_count trustee": trustee,
        "POST trustee_count trustee": 400 if trustee == 200 else trustee,  # no shares: refused
    }


def _staff(status: int, *, new_post: int = 400, vote_post: int | None = None) -> dict[str, int]:
    return {
        "GET votes": 200 if status == 404 else status,  # the list: their own region's votes only
        "GET vote_new": 200 if status == 404 else status,
        "POST vote_new": new_post if status == 404 else status,
        "GET vote poll": status,
        "POST vote draft": vote_post or status,
        "GET vote_roll election": status,
        "POST vote_roll election": vote_post or status,
    }


SIGN_IN = 302
MATRIX: dict[str, dict[str, int]] = {
    # The public: the public pages; every other page asks to sign in.
    "anonymous": _public(
        {**_staff(SIGN_IN), **{k: SIGN_IN for k in _resident_pages(SIGN_IN, SIGN_IN, SIGN_IN)}}
    ),
    # Community A's resident, on the poll's roll: their pages; staff pages are the audited 403;
    # someone else's trustee role is 404.
    "resident": _public({**_staff(403), **_resident_pages(ballot=200, objection=200, trustee=404)}),
    # Community B's resident: nothing of A but the public pages.
    "resident_b": _public({**_staff(403), **_resident_pages(ballot=404, objection=404, trustee=404)}),
    # Community B's head and the other street's head: A's votes are 404 on every staff route; they
    # may open the new-vote page, but community A is not theirs to choose (400, nothing written).
    "head_b": _public({**_staff(404), **_resident_pages(ballot=404, objection=404, trustee=404)}),
    "outsider": _public({**_staff(404), **_resident_pages(ballot=404, objection=404, trustee=404)}),
    # Another trustee of community A: someone else's trustee role is 404.
    "trustee1": _public({**_staff(403), **_resident_pages(ballot=404, objection=200, trustee=404)}),
    # The trustee themselves: their key and count pages.
    "trustee0": _public({**_staff(403), **_resident_pages(ballot=404, objection=200, trustee=200)}),
    # The auditor reads every vote page but runs nothing (the service's audited 403).
    "auditor": _public(
        {
            **_staff(200, vote_post=403),
            "GET vote_new": 403,
            "POST vote_new": 403,
            **_resident_pages(ballot=404, objection=404, trustee=404),
        }
    ),
    # A grid worker of A: the community's votes are above their grid (404); they run none (403).
    "grid_a": _public(
        {
            **_staff(404),
            "GET vote_new": 403,
            "POST vote_new": 403,
            **_resident_pages(ballot=404, objection=404, trustee=404),
        }
    ),
    # Community A's head: every staff page and step.
    "head_a": _public(
        {
            **_staff(200, vote_post=302),
            "POST vote_new": 302,
            **_resident_pages(ballot=404, objection=404, trustee=404),
        }
    ),
}


def _user(votes: Votes, persona: str, resident: User, resident_b: User) -> User | None:
    return {
        "anonymous": None,
        "resident": resident,
        "resident_b": resident_b,
        "trustee0": votes.trustees[0],
        "trustee1": votes.trustees[1],
    }.get(persona, votes[persona] if persona in votes.world.users else None)


def _url(route: str, target: str, scene: Scene) -> str:
    if not target:
        return reverse(route)
    if target == "community":
        return reverse(route, args=[COMMUNITY_A])
    if target == "trustee":
        return reverse(route, args=[scene.trustee.pk])
    vote: Vote = getattr(scene, target)
    return reverse(
        route, args=[vote.pk if route in ("participation:vote", "participation:vote_roll") else vote.uid]
    )


def _body(kind: str, scene: Scene) -> tuple[Any, str | None]:
    """A POST's body and content type (None: a form)."""
    now = timezone.localtime()
    forms: dict[str, dict[str, Any]] = {
        "new": {
            "kind": "poll",
            "region": COMMUNITY_A,
            "title": "越权新建的表决",
            "matter": "ordinary",
            "quorum": "none",
            "max_choices": "1",
            "cutoff_date": now.date().isoformat(),
            "opens_at": (now + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "closes_at": (now + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
            "residence_rule": "community",
        },
        "option_add": {"action": "option_add", "label": "越权选项"},
        "voter_remove": {"action": "voter_remove", "voter": scene.line.pk, "reason": "越权删除"},
        "objection": {"kind": "not_eligible", "line": scene.line.pk, "reason": ""},
    }
    if kind in forms:
        return forms[kind], None
    json_bodies: dict[str, Any] = {
        "ballot": {"voter": 0, "ballot": {}},
        "key": {"public_key": "", "proof": {}},
        "shares": {"shares": [], "shares_area": []},
    }
    return json.dumps(json_bodies[kind]), "application/json"


def _rows() -> tuple[int, ...]:
    return (
        Vote.objects.count(),
        Option.objects.count(),
        Voter.objects.filter(removed_at__isnull=True).count(),
        Objection.objects.count(),
        Trustee.objects.filter(keyed_at__isnull=False).count(),
        CastBallot.objects.count(),
        BoardEntry.objects.count(),
        Proxy.objects.count(),
    )


def test_the_matrix_names_every_vote_route() -> None:
    assert set(PROBES) == COVERED  # test_vote_pages checks COVERED against the URLconf
    for persona, expected in MATRIX.items():
        probed = {_key(r, m, t) for r, probes in PROBES.items() for m, t, _b in probes}
        assert set(expected) == probed, persona


@pytest.mark.parametrize("persona", list(MATRIX))
def test_vote_scope_matrix(
    votes: Votes, scene: Scene, voter_account: User, sibling_resident: User, persona: str
) -> None:
    user = _user(votes, persona, voter_account, sibling_resident)
    c = Client()
    if user is not None:
        c.force_login(user)
    got: dict[str, int] = {}
    titles = [scene.poll.title, scene.draft.title, scene.election.title]
    for route, probes in PROBES.items():
        for method, target, body in probes:
            key = _key(route, method, target)
            url = _url(route, target, scene)
            before, denied = _rows(), AuditEntry.objects.filter(result=AuditResult.DENIED).count()
            if method == "GET":
                response = c.get(url)
            else:
                data, content_type = _body(body, scene)
                response = c.post(url, data, content_type=content_type) if content_type else c.post(url, data)
            got[key] = response.status_code
            if response.status_code >= 400 or user is None:  # refused, or sent to sign in
                assert _rows() == before, f"{persona}: {key} was refused but wrote something"
            if response.status_code == 403:
                after = AuditEntry.objects.filter(result=AuditResult.DENIED).count()
                assert after == denied + 1, f"{persona}: {key} refused without an audit entry"
            if persona in ("resident_b", "head_b", "outsider") and response.status_code == 200:
                content = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
                page = content.decode()
                leaked = [t for t in titles if t in page]
                # The public pages show community A's open votes to everyone; nothing else may leak.
                if not route.removeprefix("participation:").startswith("public_"):
                    assert not leaked, f"{persona}: {key} shows {leaked}"
    assert got == MATRIX[persona]


def test_a_ballot_for_someone_elses_line_is_refused_and_nothing_is_stored(
    votes: Votes, scene: Scene, voter_account: User
) -> None:
    """The resident sends a well-formed ballot made with another voter's credential, naming that
    voter's line: the box refuses it (the line is not one the resident may vote for)."""
    vote = scene.poll
    other = votes.voter(vote, votes.adults[0])
    ballot = votes.ballot(vote, other, [1, 0, 0])  # a valid ballot for the other line
    c = Client()
    c.force_login(voter_account)
    url = reverse("participation:ballot", args=[vote.uid])
    before = _rows()
    response = c.post(url, json.dumps({"voter": other.pk, "ballot": ballot}), content_type="application/json")
    assert response.status_code == 400 and response.json()["ok"] is False
    assert _rows() == before
    other.refresh_from_db()
    assert not other.voted
    # The resident's own line with the other's ballot: its credential is not theirs.
    mine = vote.voters.get(person=resident_person(voter_account))
    response = c.post(url, json.dumps({"voter": mine.pk, "ballot": ballot}), content_type="application/json")
    assert response.status_code == 400 and _rows() == before
