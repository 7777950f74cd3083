"""Who may vote for whom, beyond one's own line: the developer's line of an owners' vote cast by
the representative the staff recorded (one owner's voice with all the unsold area), and objections
to a published voter list that name another person from the community's registry."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import translation

from shequ.core import accounts
from shequ.core.models import AuditEntry, AuditResult, User
from shequ.participation.crypto.ballots import encrypt_ballot
from shequ.participation.crypto.group import element
from shequ.participation.crypto.verifier import verify
from shequ.participation.models import Objection, ObjectionKind, Proxy, Vote, Voter
from shequ.participation.selectors_votes import board_export
from shequ.participation.services import votes as svc
from shequ.participation.tests.fixtures_votes import Votes
from shequ.participation.tests.test_vote_pages import _scripts
from shequ.participation.tests.test_vote_pages import sibling_resident as sibling_resident
from shequ.participation.tests.test_vote_pages import voter_account as voter_account
from shequ.registry import services as registry
from shequ.registry.models import House, Residence
from shequ.registry.tests.conftest import COMMUNITY_A

pytestmark = pytest.mark.django_db


def client(user: User | None = None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


# --- The developer's line ---------------------------------------------------------------------------


def owners_vote(votes: Votes) -> Vote:
    """Five owners (60, 80, 100, 120, 140 m²) and one unsold house of 100 m²: six voices, 600 m²."""
    reg = votes.reg
    since = dt.date(2020, 1, 1)
    houses = [*reg.houses["a"], *reg.houses["b"][:2]]
    areas = [Decimal("60"), Decimal("80"), Decimal("100"), Decimal("120"), Decimal("140")]
    for person, house, area in zip(votes.adults[:5], houses, areas, strict=True):
        House.objects.filter(pk=house.pk).update(area=area)
        if person.house_id != house.pk:
            registry.residence_add(actor=None, person=person, house=house, relation="owner", since=since)
        else:
            Residence.objects.filter(person=person, house=house).update(relation="owner")
    House.objects.filter(pk=reg.houses["b"][2].pk).update(area=Decimal("100"))  # unsold
    return votes.poll(kind="owners", options=("同意", "不同意"), title="续聘物业服务企业", matter="ordinary")


@pytest.fixture
def representative(votes: Votes) -> User:
    """The developer's employee: an account with no home in the registry."""
    return accounts.user_create(
        actor=None,
        username="dev_rep",
        display_name="开发商代表",
        password="x-dev-rep-password-1",
        phone="13955556666",
        email="rep@example.test",
    )


def test_the_developers_line_is_cast_by_its_representative_and_counts_as_one_owner(
    votes: Votes, representative: User
) -> None:
    vote = owners_vote(votes)
    developer = vote.voters.get(person__isnull=True)
    assert developer.area == Decimal("100") and vote.voters.count() == 6  # one voice for all unsold houses
    roll = reverse("participation:vote_roll", args=[vote.pk])
    staff = client(votes["head_a"])
    assert "开发商" in staff.get(roll).content.decode() or "developer" in staff.get(roll).content.decode()
    # Bad input: an unknown account, no authorization: nothing is recorded.
    bad = staff.post(roll, {"action": "representative", "username": "nobody-here", "document": "授权书1号"})
    assert bad.status_code == 400 and not Proxy.objects.exists()
    assert (
        staff.post(roll, {"action": "representative", "username": "dev_rep", "document": ""}).status_code
        == 400
    )
    # An auditor reads the roll but may not record it (the service's audited refusal).
    denied = client(votes["auditor"]).post(
        roll, {"action": "representative", "username": "dev_rep", "document": "授权书1号"}
    )
    assert denied.status_code == 403 and not Proxy.objects.exists()
    assert AuditEntry.objects.filter(
        action="participation.representative_record", result=AuditResult.DENIED
    ).exists()
    ok = staff.post(roll, {"action": "representative", "username": "dev_rep", "document": "授权书1号"})
    assert ok.status_code == 302
    proxy = Proxy.objects.get()
    assert proxy.voter_id == developer.pk and proxy.holder is None and proxy.holder_account == representative
    assert AuditEntry.objects.filter(
        action="participation.representative_record", object_id=str(proxy.pk), result=AuditResult.SUCCESS
    ).exists()
    assert "开发商代表" in staff.get(roll).content.decode()
    with pytest.raises(svc.VoteError):  # once per line
        svc.representative_record(
            actor=votes["head_a"], voter=developer, account=votes["head_a"], document="x"
        )
    # The ordinary written proxy cannot take the developer's line.
    owner_line = vote.voters.filter(person__isnull=False).first()
    assert owner_line is not None
    Vote.objects.filter(pk=vote.pk).update(allow_proxy=True)
    with translation.override("en"), pytest.raises(svc.VoteError, match="representative"):
        svc.proxy_record(
            actor=votes["head_a"], voter=developer, holder=owner_line, relation="亲属", document="x"
        )

    vote = svc.vote_open(actor=votes["head_a"], vote=vote)
    rep = client(representative)
    assert vote.title in rep.get(reverse("participation:my_votes")).content.decode()
    url = reverse("participation:ballot", args=[vote.uid])
    page = rep.get(url)
    assert page.status_code == 200
    data = next(json.loads(v) for k, v in _scripts(page.content.decode()).items() if k.startswith("ballot-"))
    assert data["voter"] == developer.pk
    ballot = encrypt_ballot(
        key=element(data["key"]),
        manifest_hash=data["manifestHash"],
        credential=data["credential"],
        selections=[1, 0],
        max_choices=data["maxChoices"],
    )
    answer = rep.post(
        url, json.dumps({"voter": developer.pk, "ballot": ballot}), content_type="application/json"
    )
    assert answer.status_code == 200, answer.content
    assert svc.voted_lines(vote, [developer]) == {developer.pk}  # the roll is marked at closing
    # Three owners vote (80, 100, 120 m²): with the developer, 4 of 6 voices and 400 of 600 m²,
    # two thirds of both; without it the vote could not decide (3 of 6).
    for person, yes in zip(votes.adults[1:4], (1, 0, 1), strict=True):
        votes.cast(vote, person, [yes, 1 - yes])
    vote = votes.close(vote)
    developer.refresh_from_db()
    assert developer.voted and developer.by_proxy
    assert vote.result["cast"] == 4
    assert vote.result["counts"] == [3, 1] and vote.result["counts_area"] == [30000, 10000]
    assert vote.result["cast_area"] == 40000 and vote.result["electorate_area"] == 60000
    assert vote.result["outcome"] == {"valid": True, "passed": [0], "reasons": []}
    report = verify(board_export(vote))
    assert report.ok and report.counts_area == [30000, 10000]


def test_the_representative_reaches_only_the_developers_line(votes: Votes, representative: User) -> None:
    vote = owners_vote(votes)
    other = votes.poll(title="另一项表决")
    svc.vote_open(actor=votes["head_a"], vote=other)
    poll_line = other.voters.first()
    assert poll_line is not None
    with translation.override("en"), pytest.raises(svc.VoteError, match="owners"):  # a poll: none
        svc.representative_record(
            actor=votes["head_a"], voter=poll_line, account=representative, document="x"
        )
    owner_line = vote.voters.filter(person__isnull=False).first()
    assert owner_line is not None
    with translation.override("en"), pytest.raises(svc.VoteError, match="developer"):  # an owner's
        svc.representative_record(
            actor=votes["head_a"], voter=owner_line, account=representative, document="x"
        )
    with pytest.raises(PermissionDenied):
        svc.representative_record(
            actor=votes["head_b"],
            voter=vote.voters.get(person__isnull=True),
            account=representative,
            document="x",
        )
    assert not Proxy.objects.exists()
    rep = client(representative)
    assert rep.get(reverse("participation:ballot", args=[other.uid])).status_code == 404
    assert other.title not in rep.get(reverse("participation:my_votes")).content.decode()


# --- Objections naming another person ------------------------------------------------------------


@pytest.fixture
def published(votes: Votes) -> Vote:
    """An election of community A whose list leaves adults[4] off (removed before publication)."""
    vote = votes.upcoming_election()
    svc.voter_remove(actor=votes["head_a"], voter=votes.voter(vote, votes.adults[4]), reason="录入有误")
    svc.roll_publish(actor=votes["head_a"], vote=vote)
    return vote


def test_a_resident_objects_that_someone_else_is_left_off_and_staff_decide(
    votes: Votes, published: Vote, voter_account: User, sibling_resident: User
) -> None:
    left_off = votes.adults[4]
    url = reverse("participation:objection", args=[published.uid])
    c = client(voter_account)
    assert "身份证" in c.get(url).content.decode()
    form = {
        "kind": "left_out_other",
        "name": left_off.name,
        "id_number": left_off.id_number,
        "reason": "他一直住在本社区",
    }
    # Bad input: no name, a wrong ID number, someone of community B, someone already on the list.
    assert c.post(url, {**form, "name": ""}).status_code == 400
    wrong = c.post(url, {**form, "id_number": "430104199001011234"})
    assert wrong.status_code == 400 and "登记" in wrong.content.decode()
    from shequ.participation.selectors_votes import resident_person

    other_community = resident_person(sibling_resident)
    assert other_community is not None
    assert (
        c.post(
            url, {**form, "name": other_community.name, "id_number": other_community.id_number}
        ).status_code
        == 400
    )
    on_list = votes.adults[0]
    assert c.post(url, {**form, "name": on_list.name, "id_number": on_list.id_number}).status_code == 400
    assert not Objection.objects.exists()
    assert c.post(url, form).status_code == 302
    objection = Objection.objects.get()
    assert objection.person_id == left_off.pk and objection.kind == ObjectionKind.LEFT_OUT
    assert objection.filed_by == voter_account
    assert AuditEntry.objects.filter(
        action="participation.objection_file", object_id=str(objection.pk)
    ).exists()
    assert c.post(url, form).status_code == 400  # the same objection is already waiting
    # Each lookup confirms or denies that someone lives here: audited, found or not, and limited.
    lookups = AuditEntry.objects.filter(action="participation.objection_lookup", actor_id=voter_account.pk)
    assert [e.detail["found"] for e in lookups.order_by("id")] == [False, False, True, True, True]
    assert all(left_off.id_number not in str(e.detail) for e in lookups)
    sixth = c.post(url, {**form, "name": votes.adults[2].name, "id_number": votes.adults[2].id_number})
    assert sixth.status_code == 400 and "工作人员" in sixth.content.decode() and lookups.count() == 5
    # The committee decides it as any other: upheld, the person is back on the list.
    svc.objection_decide(actor=votes["head_a"], objection=objection, upheld=True, answer="经核实常住本社区")
    assert Voter.objects.filter(vote=published, person=left_off, removed_at__isnull=True).exists()


def test_a_resident_objects_that_a_line_should_go_and_one_not_in_the_registry_is_told_so(
    votes: Votes, published: Vote, voter_account: User, representative: User
) -> None:
    url = reverse("participation:objection", args=[published.uid])
    line = votes.voter(published, votes.adults[1])
    c = client(voter_account)
    assert c.post(url, {"kind": "not_eligible", "line": str(line.pk), "reason": "已迁出"}).status_code == 302
    assert Objection.objects.get().person_id == votes.adults[1].pk
    # A resident account of community A with no registry person cannot say "I am left off".
    accounts.membership_grant(
        actor=None, user=representative, role="resident", region=votes.reg.region(COMMUNITY_A)
    )
    unknown = client(representative).post(url, {"kind": "left_out", "reason": "我住这里"})
    assert unknown.status_code == 400 and "登记" in unknown.content.decode()
    assert Objection.objects.count() == 1


# --- No invalid ballots online -------------------------------------------------------------------


def test_the_result_page_says_an_over_filled_ballot_cannot_be_cast(votes: Votes) -> None:
    vote = svc.vote_open(actor=votes["head_a"], vote=votes.election(seats=2, candidates=3))
    page = client().get(reverse("participation:public_vote", args=[vote.uid])).content.decode()
    assert "每张选票最多选 2 项" in page and "网上没有无效票" in page
    # … and the box does refuse one: three crosses for two seats, with a proof for at most three.
    voter = votes.voter(vote, votes.adults[0])
    vote.refresh_from_db()
    over = encrypt_ballot(
        key=element(vote.public_key),
        manifest_hash=vote.manifest_hash,
        credential=svc.credential_for(vote, voter),
        selections=[1, 1, 1],
        max_choices=3,
    )
    with pytest.raises(svc.VoteError):
        svc.ballot_cast(voter=voter, ballot=over)
    assert not vote.ballots.exists()
