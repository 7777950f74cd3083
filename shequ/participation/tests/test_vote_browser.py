"""The vote pages in a real browser on a 390×844 phone (zh-CN): a resident's phone encrypts her
ballot with ballot.js, the box accepts it and she finds its tracker on the public page; voting again
replaces it; too many choices are refused before anything is sent. Trustees make their key share
on the phone (kept there and in a backup file) and give their share of the count from the same
phone, or from another one with the backup file. Every page: one h1, no horizontal scrolling, no
serious axe-core violation (the resident's pages also in elderly mode); full-page screenshots in
/tmp/vote-shots/ (SHEQU_VOTE_SHOTS to move them)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext

from shequ.browser import PHONE, axe_violations, toggle_elderly
from shequ.core import accounts
from shequ.core.models import Role, User
from shequ.participation.crypto.elgamal import Ciphertext
from shequ.participation.crypto.trustees import KeyShare, count_shares, make_key_share
from shequ.participation.models import Objection, Trustee, Vote, VoteStatus
from shequ.participation.services import votes as svc
from shequ.participation.services.votes.counting import close_entry
from shequ.participation.tests.fixtures_votes import Votes, cutoff
from shequ.participation.tests.test_vote_pages import voter_account  # noqa: F401 (fixture)
from shequ.registry.tests.conftest import COMMUNITY_A

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("SHEQU_VOTE_SHOTS", "/tmp/vote-shots"))
HEX64 = re.compile(r"^[0-9a-f]{64}$")
CRYPTO_TIMEOUT = 30000  # BigInt arithmetic on a slow CI runner


def zh(msgid: str) -> str:
    """The text the zh-Hans page shows for ``msgid`` (the msgid itself until it is translated)."""
    with translation.override("zh-hans"):
        return gettext(msgid)


@contextmanager
def phone(browser: Any, live_server: Any, user: User | None = None) -> Iterator[Any]:
    """A fresh phone (own cookies and localStorage), signed in as ``user`` when given."""
    context = browser.new_context(
        viewport=PHONE, locale="zh-CN", base_url=live_server.url, accept_downloads=True
    )
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        if user is not None:
            sign_in(page, live_server, user)
        yield page
    finally:
        context.close()


def sign_in(page: Any, live_server: Any, user: User) -> None:
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    page.context.clear_cookies()
    page.context.add_cookies([{"name": name, "value": client.cookies[name].value, "url": live_server.url}])


def check(page: Any, name: str) -> None:
    """One h1, nothing wider than the phone, a full-page screenshot, no serious axe violation."""
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    SHOTS.mkdir(parents=True, exist_ok=True)
    # The tab bar is fixed to the viewport: let it follow the page so it hides nothing in the shot
    # (through the CSSOM: the page's CSP refuses an injected style sheet).
    tabbar = "(p) => document.querySelectorAll('.tabbar').forEach((e) => { e.style.position = p; })"
    page.evaluate(tabbar, "static")
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.evaluate(tabbar, "")
    assert axe_violations(page) == [], name


def elderly(page: Any, on: bool) -> None:
    """Switch the account's elderly mode (it is kept on the account, so switch it back after)."""
    toggle_elderly(page)
    assert page.locator("html.elderly").count() == (1 if on else 0)


def check_elderly(page: Any, name: str) -> None:
    elderly(page, True)
    big = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('main')).fontSize)")
    assert big > 16, name
    check(page, f"{name}-elderly")
    elderly(page, False)


def cast_in_page(page: Any, value: int) -> str:
    page.check(f"form[data-ballot] input[name=choice][value='{value}']")
    page.click("form[data-ballot] button[type=submit]")
    page.locator("[data-receipt]").wait_for(state="visible", timeout=CRYPTO_TIMEOUT)
    assert page.locator("[data-tracker] span").count() == 16  # shown in groups of four
    return page.inner_text("[data-tracker]").strip()  # with no spaces: it copies whole


def test_a_resident_casts_encrypted_ballots_on_her_phone(
    browser: Any,
    live_server: Any,
    votes: Votes,
    voter_account: User,  # noqa: F811 (fixture)
) -> None:
    head = votes["head_a"]
    poll = svc.vote_open(actor=head, vote=votes.poll())
    election = svc.vote_open(actor=head, vote=votes.election(seats=2, candidates=3))
    with phone(browser, live_server, voter_account) as page:
        page.goto("/participation/my/votes/")
        main = page.inner_text("main")
        assert poll.title in main and election.title in main
        check(page, "mine")
        check_elderly(page, "mine")

        page.click(f"a[href='/participation/my/votes/{poll.uid}/']")
        page.wait_for_url(f"**/participation/my/votes/{poll.uid}/")
        assert page.locator("input[type=radio][name=choice]").count() == 3
        check(page, "ballot")
        first = cast_in_page(page, 0)
        assert HEX64.match(first), first
        ballot = poll.ballots.get()
        assert ballot.tracker == first and ballot.current
        check(page, "ballot-cast")

        # The receipt's link opens the public page with the tracker looked up.
        page.click("[data-board]")
        page.wait_for_url(f"**/participation/public/votes/{poll.uid}/?tracker={first}")
        status = page.inner_text("main [role=status] p.ok")
        assert zh("It is the ballot that counts.") in status
        assert page.input_value("#id_tracker") == first
        check(page, "public-open-tracker")

        # Voting again replaces the first ballot; the first tracker says so.
        page.goto(f"/participation/my/votes/{poll.uid}/")
        second = cast_in_page(page, 1)
        assert HEX64.match(second) and second != first
        assert poll.ballots.count() == 2 and poll.ballots.get(current=True).tracker == second
        page.goto(f"/participation/public/votes/{poll.uid}/?tracker={first}")
        assert zh("A later ballot of yours replaced it.") in page.inner_text("main [role=status] p.ok")

        # Three candidates ticked where two seats are elected: refused on the phone, nothing sent.
        page.goto(f"/participation/my/votes/{election.uid}/")
        assert page.locator("input[type=checkbox][name=choice]").count() == 3
        posts: list[str] = []
        page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
        for value in range(3):
            page.check(f"input[name=choice][value='{value}']")
        page.click("form[data-ballot] button[type=submit]")
        error = page.locator("form[data-ballot] [data-error]")
        error.wait_for(state="visible")
        assert "2" in error.inner_text()
        page.wait_for_timeout(300)
        assert posts == [] and not election.ballots.exists()
        check(page, "ballot-too-many")
        check_elderly(page, "ballot")


def _election_with_trustees(votes: Votes, extra: User) -> Vote:
    """A draft election, candidates fixed, four trustees named, none keyed yet."""
    now = timezone.now()
    vote = svc.vote_create(
        actor=votes["head_a"],
        region=votes.reg.region(COMMUNITY_A),
        kind="election",
        title="第十二届居民委员会选举",
        cutoff_date=cutoff(),
        opens_at=now - dt.timedelta(minutes=1),
        closes_at=now + dt.timedelta(hours=1),
        election_day=now.date(),
        seats=2,
    )
    svc.roll_compute(actor=votes["head_a"], vote=vote)
    for person in votes.adults[:3]:
        svc.option_add(actor=votes["head_a"], vote=vote, person_id=person.pk, nominated_by="居民代表联名")
    svc.candidates_finalize(actor=votes["head_a"], vote=vote)
    for user in [*votes.trustees, extra]:
        svc.trustee_add(actor=votes["head_a"], vote=vote, user=user)
    return vote


def _python_share(vote: Vote, trustee: Trustee, share: KeyShare) -> None:
    """The fixtures' ``decrypt`` for one trustee."""
    close = close_entry(vote)
    svc.trustee_decrypt_submit(
        actor=trustee.user,
        trustee=trustee,
        shares=count_shares(
            share.secret,
            vote.manifest_hash,
            trustee.position,
            [Ciphertext.from_json(t) for t in close["totals"]],
        ),
        shares_area=count_shares(
            share.secret,
            vote.manifest_hash,
            trustee.position,
            [Ciphertext.from_json(t) for t in close["totals_area"]],
            "shares_area",
        ),
    )


def make_share_in_page(page: Any, trustee: Trustee) -> dict[str, Any]:
    page.goto(f"/participation/trustee/{trustee.pk}/key/")
    page.click("[data-make]")
    page.locator("[data-trustee-key] [data-done]").wait_for(state="visible", timeout=CRYPTO_TIMEOUT)
    assert page.locator("[data-make]").is_hidden()  # a second press would make another secret
    trustee.refresh_from_db()
    assert trustee.keyed_at is not None and len(trustee.public_key) == 512
    with page.expect_download() as download:
        page.click("[data-backup]")
    record: dict[str, Any] = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert record["public"] == trustee.public_key and record["position"] == trustee.position
    return record


def test_trustees_make_key_shares_and_count_on_their_phones(
    browser: Any, live_server: Any, votes: Votes, tmp_path: Path
) -> None:
    lost = accounts.user_create(
        actor=None,
        username="trustee3",
        display_name="选举委员3",
        password="x-trustee-password-1",
        phone="13900000003",
        email="t3@example.test",
    )
    accounts.membership_grant(actor=None, user=lost, role=Role.RESIDENT, region=votes.reg.region(COMMUNITY_A))
    vote = _election_with_trustees(votes, lost)
    trustees = list(vote.trustees.order_by("position"))
    shares: dict[int, KeyShare] = {}
    for trustee in trustees[1:3]:  # two trustees make theirs in Python
        share = make_key_share(str(vote.uid), trustee.position)
        shares[trustee.pk] = share
        svc.trustee_key_submit(
            actor=trustee.user, trustee=trustee, public_key=share.public_hex, proof=share.proof
        )

    with (
        phone(browser, live_server, trustees[0].user) as page,
        phone(browser, live_server, votes["head_a"]) as staff,
    ):
        page.goto("/participation/trustee/")
        check(page, "trustee-home")
        page.click(f"a[href='/participation/trustee/{trustees[0].pk}/key/']")
        page.wait_for_url(f"**/participation/trustee/{trustees[0].pk}/key/")
        check(page, "trustee-key")
        make_share_in_page(page, trustees[0])
        check(page, "trustee-key-done")

        # The fourth trustee keys on a phone that will be lost; only the backup file remains.
        with phone(browser, live_server, lost) as gone:
            backup = make_share_in_page(gone, trustees[3])
        backup_file = tmp_path / "trustee-backup.json"
        backup_file.write_text(json.dumps(backup), encoding="utf-8")

        staff.goto(f"/participation/votes/{vote.pk}/")
        check(staff, "detail-draft-election")

        # The list was published 25 days ago; the vote opens, three residents vote, it closes.
        now = timezone.now()
        Vote.objects.filter(pk=vote.pk).update(
            roll_published_at=now - dt.timedelta(days=25), objection_deadline=now - dt.timedelta(days=20)
        )
        vote.refresh_from_db()
        vote = svc.vote_open(actor=votes["head_a"], vote=vote)
        receipt = votes.cast(vote, votes.adults[0], [1, 1, 0])
        votes.cast(vote, votes.adults[1], [1, 0, 1])
        votes.cast(vote, votes.adults[2], [1, 1, 0])
        vote = votes.close(vote)

        page.goto("/participation/trustee/")
        page.click(f"a[href='/participation/trustee/{trustees[0].pk}/count/']")
        page.wait_for_url(f"**/participation/trustee/{trustees[0].pk}/count/")
        check(page, "trustee-count")
        page.click("[data-count]")  # the secret comes from this phone's localStorage
        page.locator("[data-trustee-count] [data-done]").wait_for(state="visible", timeout=CRYPTO_TIMEOUT)
        assert page.locator("[data-count]").is_hidden()
        assert Trustee.objects.get(pk=trustees[0].pk).decrypted_at is not None
        check(page, "trustee-count-done")
        for trustee in trustees[1:3]:
            _python_share(vote, trustee, shares[trustee.pk])

        with phone(browser, live_server, lost) as replacement:
            replacement.goto(f"/participation/trustee/{trustees[3].pk}/count/")
            replacement.click("[data-count]")  # nothing on this phone: asks for the backup file
            error = replacement.locator("[data-trustee-count] [data-error]")
            error.wait_for(state="visible")
            nokey = zh("This phone does not hold your key share. Choose your backup file.")
            assert error.inner_text() == nokey
            check(replacement, "trustee-count-nokey")
            replacement.set_input_files("#backup", str(backup_file))
            replacement.click("[data-count]")
            replacement.locator("[data-trustee-count] [data-done]").wait_for(
                state="visible", timeout=CRYPTO_TIMEOUT
            )
            assert error.is_hidden()

        vote.refresh_from_db()
        assert vote.status == VoteStatus.DECIDED and vote.result["counts"] == [3, 2, 1]
        page.click("[data-result]")
        page.wait_for_url(f"**/participation/public/votes/{vote.uid}/")
        cells = page.locator("table.pv-result tbody tr td:first-of-type").all_inner_texts()
        assert cells == ["3", "2", "1"]
        check(page, "public-decided")
        page.fill("#id_tracker", receipt.tracker)
        page.click("section[aria-labelledby=tracker-heading] button[type=submit]")
        page.wait_for_url("**?tracker=*")
        assert zh("It is the ballot that counts.") in page.inner_text("#tracker-heading ~ [role=status]")
        check(page, "public-decided-tracker")
        page.click(f"a[href='/participation/public/votes/{vote.uid}/board/']")
        page.wait_for_url("**/board/")
        assert receipt.tracker in page.inner_text("main")
        check(page, "board")

        staff.goto(f"/participation/votes/{vote.pk}/")
        assert staff.locator("table.pv-result").count() == 1
        check(staff, "detail-decided")


def test_staff_pages_and_an_objection_to_the_published_list(
    browser: Any,
    live_server: Any,
    votes: Votes,
    voter_account: User,  # noqa: F811 (fixture)
) -> None:
    head = votes["head_a"]
    now = timezone.now()
    vote = svc.vote_create(
        actor=head,
        region=votes.reg.region(COMMUNITY_A),
        kind="election",
        title="第十二届居民委员会选举",
        cutoff_date=now.date(),
        opens_at=now + dt.timedelta(days=25),
        closes_at=now + dt.timedelta(days=25, hours=10),
        election_day=(now + dt.timedelta(days=25)).date(),
        seats=2,
    )
    svc.roll_compute(actor=head, vote=vote)
    svc.roll_publish(actor=head, vote=vote)
    poll = svc.vote_open(actor=head, vote=votes.poll())
    with phone(browser, live_server, voter_account) as page:
        page.goto("/participation/my/votes/")
        page.click(f"a[href='/participation/my/votes/{vote.uid}/objection/']")
        page.wait_for_url(f"**/participation/my/votes/{vote.uid}/objection/")
        check(page, "objection")
        page.check("input[name=kind][value=not_eligible]")
        page.fill("#id_reason", "已搬走")
        page.click("main form button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("main .errorlist").count() >= 1 and not Objection.objects.exists()
        check(page, "objection-error")
        line = vote.voters.get(person=votes.adults[0])
        page.select_option("#id_line", str(line.pk))
        page.click("main form button[type=submit]")
        page.wait_for_url("**/participation/my/votes/")
        assert Objection.objects.get().reason == "已搬走"

        # The public pages, signed out.
        page.context.clear_cookies()
        page.goto(f"/participation/public/{COMMUNITY_A}/votes/")
        assert poll.title in page.inner_text("main")
        check(page, "public-votes")
        page.click(f"a[href='/participation/public/votes/{vote.uid}/roll/']")
        page.wait_for_url("**/roll/")
        assert "张*" in page.inner_text("main") and "张三" not in page.content()
        check(page, "public-roll")

        sign_in(page, live_server, head)
        page.goto("/participation/votes/")
        assert vote.title in page.inner_text("main")
        check(page, "staff-list")
        page.click("a[href='/participation/votes/new/']")
        page.wait_for_url("**/votes/new/")
        check(page, "staff-new")
        page.goto(f"/participation/votes/{vote.pk}/roll/")
        assert "已搬走" in page.inner_text("section[aria-labelledby=objections]")
        check(page, "roll-objections")
