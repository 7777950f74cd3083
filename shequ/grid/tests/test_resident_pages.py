"""The resident pages: reporting a problem (with and without a category, photos, anonymous, from
the registered home), the category suggestions, my reports, the rating and the public list."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from shequ.conftest import World
from shequ.core import accounts
from shequ.core.models import Role
from shequ.grid import services, views_resident
from shequ.grid.models import Attachment, Status, Ticket, TicketAction, Urgency
from shequ.grid.tests.conftest import GRID_A, GRID_B, new_ticket, png

pytestmark = pytest.mark.django_db

NAME = "欧阳娜娜"
PHONE = "13975312468"
ID_NUMBER = "43010419850312002X"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """The public list and the suggestion throttle are cached; no test sees another's."""
    cache.clear()
    yield
    cache.clear()


def client_for(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world[persona])
    return client


def png_upload(colour: str = "red") -> SimpleUploadedFile:
    return SimpleUploadedFile("门口.png", png(colour), content_type="image/png")


def text(response: Any) -> str:
    return response.content.decode()


def counts() -> tuple[int, int, int]:
    return Ticket.objects.count(), TicketAction.objects.count(), Attachment.objects.count()


REPORT = reverse("grid:report")


# --- Reporting ----------------------------------------------------------------------------------


def test_report_page_on_a_phone_works_without_a_map(world: World) -> None:
    page = text(client_for(world, "resident").get(REPORT))
    assert 'name="description"' in page and 'hx-post="/grid/report/suggest/"' in page
    assert 'accept="image/*" capture="environment"' in page and "multiple" in page
    assert 'name="latitude"' in page and 'name="longitude"' in page  # hidden, filled by the map
    assert 'id="report-map"' not in page  # no tile server configured: no map, the form still works
    assert 'name="category"' in page and "security.public_order" in page


def test_map_pin_only_with_a_tile_server(world: World, settings: Any) -> None:
    settings.GRID_MAP_TILES = "https://tiles.example.cn/{z}/{x}/{y}.png"
    response = client_for(world, "resident").get(REPORT)
    assert 'id="report-map"' in text(response) and "leaflet.js" in text(response)
    assert "https://tiles.example.cn" in response["Content-Security-Policy"]


def test_report_without_category(world: World, no_model: None) -> None:
    client = client_for(world, "resident")
    response = client.post(
        REPORT, {"description": "小区门口的垃圾桶满了三天，没人清运，味道很大。", "region": GRID_A}
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "grid:report_done", args=[ticket.pk]
    )
    assert ticket.source == "resident" and ticket.reporter_user == world["resident"]
    assert ticket.region_code == GRID_A and ticket.category is None and ticket.status == Status.SUBMITTED
    assert ticket.title == "小区门口的垃圾桶满了三天，没人清运，味道很大。"
    assert ticket.urgency == Urgency.NORMAL and not ticket.anonymous
    # The account's own contact, for the community's call back.
    assert ticket.contact_name == "resident" and ticket.contact_phone == world["resident"].phone
    # The keyword suggestion is kept (no model confidence).
    assert ticket.suggested_category is not None and ticket.suggested_category.code == "environment.garbage"
    assert ticket.suggestion_confidence is None
    done = text(client.get(response["Location"]))
    assert ticket.number in done and "/grid/mine/" in done


def test_report_with_category_urgency_and_photos(world: World, no_model: None) -> None:
    long_text = "3栋楼道里有很浓的煤气味，" * 5
    response = client_for(world, "resident").post(
        REPORT,
        {
            "description": long_text,
            "region": GRID_A,
            "category": "safety.gas",
            "urgent": "on",
            "address": "3栋2单元",
            "latitude": "28.1800",
            "longitude": "112.9400",
            "photos": [png_upload("red"), png_upload("blue")],
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.category is not None and ticket.category.code == "safety.gas"
    assert ticket.urgency == Urgency.URGENT and ticket.address == "3栋2单元"
    assert str(ticket.latitude) == "28.180000" and str(ticket.longitude) == "112.940000"
    assert len(ticket.title) == views_resident.TITLE_FROM_TEXT and ticket.title.endswith("…")
    photos = list(ticket.attachments.all())
    assert len(photos) == 2 and {p.content_type for p in photos} == {"image/png"}
    assert all("门口" not in str(p.file.name) for p in photos)  # the uploader's file name is not kept


def test_anonymous_report_keeps_only_the_contact_given(world: World, no_model: None) -> None:
    client = client_for(world, "resident")
    client.post(REPORT, {"description": "晚上广场舞音乐太吵了", "region": GRID_A, "anonymous": "on"})
    silent = Ticket.objects.get()
    assert silent.anonymous and silent.contact_name == "" and silent.contact_phone == ""
    assert silent.reporter_user == world["resident"]  # still theirs to follow and rate
    client.post(
        REPORT,
        {
            "description": "晚上广场舞音乐太吵了",
            "region": GRID_A,
            "anonymous": "on",
            "contact_name": "王先生",
            "contact_phone": "139 1234 5678",
        },
    )
    called = Ticket.objects.exclude(pk=silent.pk).get()
    assert called.anonymous and called.contact_phone == "13912345678"


@pytest.mark.parametrize(
    ("data", "field_text"),
    [
        ({"description": ""}, "This field is required"),
        ({"description": "路灯坏了", "contact_phone": "12345"}, "11-digit mobile number"),
        ({"description": "路灯坏了", "category": "safety"}, "Select a valid choice"),  # a main type
        ({"description": "路灯坏了", "category": "no.such"}, "Select a valid choice"),
        ({"description": "路灯坏了", "region": GRID_B}, "Select a valid choice"),  # not the resident's grid
        ({"description": "路灯坏了", "latitude": "51.5", "longitude": "-0.12"}, "outside China"),
        ({"description": "x" * 4001}, "at most 4000 characters"),
    ],
)
def test_bad_input_gives_the_form_again_and_saves_nothing(
    world: World, no_model: None, data: dict[str, str], field_text: str
) -> None:
    client = client_for(world, "resident")
    client.cookies["django_language"] = "en"
    response = client.post(REPORT, {"region": GRID_A, **data}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert field_text in text(response)
    assert counts() == (0, 0, 0)


def test_bad_photos_save_nothing(world: World, no_model: None) -> None:
    client = client_for(world, "resident")
    not_an_image = SimpleUploadedFile("a.png", b"not a picture", content_type="image/png")
    response = client.post(
        REPORT,
        {"description": "路灯坏了", "region": GRID_A, "photos": [png_upload(), not_an_image]},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400 and "not a readable image" in text(response)
    too_many = [png_upload() for _ in range(services.MAX_PHOTOS + 1)]
    response = client.post(
        REPORT, {"description": "路灯坏了", "region": GRID_A, "photos": too_many}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400 and "At most 9 photos" in text(response)
    assert counts() == (0, 0, 0)


def _register_resident_at_home(world: World) -> Any:
    """The resident's registry entry: a house in grid A, the account's mobile number."""
    from shequ.registry import services as registry
    from shequ.registry.tests.conftest import resident_id

    road = registry.road_create(actor=None, region=world.regions["430104002001"], name="麓山南路")
    building = registry.building_create(
        actor=None, region=world.regions[GRID_A], data={"road": road, "door_number": "12", "number": "3"}
    )
    house = registry.house_create(actor=None, building=building, data={"number": "301", "floor": 3})
    data = {"name": "曾小红", "id_number": resident_id(), "phone": world["resident"].phone}
    person = registry.person_register(actor=None, data=data, house=house)
    return person


def test_report_from_the_registered_home(world: World, no_model: None) -> None:
    person = _register_resident_at_home(world)
    client = client_for(world, "resident")
    page = text(client.get(REPORT))
    assert 'value="home"' in page and "301" in page
    response = client.post(REPORT, {"description": "家里楼上漏水", "region": GRID_A, "place": "home"})
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.house == person.house and ticket.reporter_person == person
    assert ticket.building == person.house.building and ticket.region_code == GRID_A and ticket.address == ""
    # An anonymous report does not name the person, even from home.
    client.post(REPORT, {"description": "楼道堆放杂物", "region": GRID_A, "place": "home", "anonymous": "on"})
    assert Ticket.objects.exclude(pk=ticket.pk).get().reporter_person is None


def test_a_shared_number_links_no_home(world: World, no_model: None) -> None:
    from shequ.registry import services as registry
    from shequ.registry.tests.conftest import resident_id

    person = _register_resident_at_home(world)
    data = {"name": "曾大红", "id_number": resident_id(seq=125), "phone": world["resident"].phone}
    assert person.house is not None
    registry.person_register(actor=None, data=data, house=person.house)
    assert 'value="home"' not in text(client_for(world, "resident").get(REPORT))


@pytest.mark.parametrize("persona", ["dept", "nobody", "auditor", "street"])
def test_who_may_not_report(world: World, persona: str) -> None:
    client = client_for(world, persona)
    assert client.get(REPORT).status_code == 403
    assert client.post(REPORT, {"description": "路灯坏了"}).status_code == 403
    assert client.post(reverse("grid:suggest"), {"description": "路灯坏了"}).status_code == 403
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize("persona", ["grid_a", "worker_a", "head_a"])
def test_staff_are_sent_to_the_staff_entry(world: World, persona: str) -> None:
    # A ticket staff enter must say so (patrol or staff entry), not pass as a resident's report.
    client = client_for(world, persona)
    response = client.post(REPORT, {"description": "路灯坏了"})
    assert response.status_code == 302 and response["Location"] == reverse("grid:new")
    assert counts() == (0, 0, 0)


def test_anonymous_visitor_is_sent_to_login(world: World) -> None:
    for url in (REPORT, reverse("grid:my_tickets")):
        response = Client().get(url)
        assert response.status_code == 302 and "/login" in response["Location"]


# --- Suggestions --------------------------------------------------------------------------------


def test_keyword_suggestions_as_chips(world: World, no_model: None) -> None:
    client = client_for(world, "resident")
    response = client.post(reverse("grid:suggest"), {"description": "楼下垃圾桶满了没人清运"})
    assert response.status_code == 200 and 'data-category="environment.garbage"' in text(response)
    empty = client.post(reverse("grid:suggest"), {"description": " "})  # the box emptied: clear the chips
    assert empty.status_code == 200 and "chip" not in text(empty)
    assert client.get(reverse("grid:suggest")).status_code == 405


def _fake_classifier(monkeypatch: pytest.MonkeyPatch, suggest: Any) -> None:
    module = types.ModuleType("shequ.grid.classifier")
    module.suggest = suggest  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "shequ.grid.classifier", module)


def test_model_suggestions_are_recorded_with_their_confidence(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Suggestion(types.SimpleNamespace):
        pass

    _fake_classifier(
        monkeypatch,
        lambda text, k=3: [
            Suggestion(category_code="environment.noise", confidence=0.81),
            Suggestion(category_code="gone.category", confidence=0.1),  # unknown codes are dropped
            Suggestion(category_code="dispute.neighbour", confidence=0.02),  # too unlikely to offer
        ][:k],
    )
    client = client_for(world, "resident")
    chips = text(client.post(reverse("grid:suggest"), {"description": "楼下装修太吵"}))
    assert 'data-category="environment.noise"' in chips and "gone.category" not in chips
    assert "dispute.neighbour" not in chips
    client.post(REPORT, {"description": "楼下装修太吵", "region": GRID_A})
    ticket = Ticket.objects.get()
    assert ticket.suggested_category is not None and ticket.suggested_category.code == "environment.noise"
    assert ticket.suggestion_confidence == pytest.approx(0.81)
    assert ticket.category is None  # a suggestion is not a choice: the community confirms


def test_a_broken_model_falls_back_to_keywords(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(text: str, k: int = 3) -> list[Any]:
        raise RuntimeError("model file missing")

    _fake_classifier(monkeypatch, broken)
    client = client_for(world, "resident")
    response = client.post(reverse("grid:suggest"), {"description": "垃圾没人清运"})
    assert response.status_code == 200 and "environment.garbage" in text(response)
    assert client.post(REPORT, {"description": "垃圾没人清运", "region": GRID_A}).status_code == 302


def test_suggestions_are_throttled(world: World, no_model: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views_resident, "SUGGEST_PER_MINUTE", 3)
    client = client_for(world, "resident")
    codes = [
        client.post(reverse("grid:suggest"), {"description": "垃圾没人清运"}).status_code for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]


# --- My reports and the rating ------------------------------------------------------------------


def resolved_ticket(world: World, *, actor: Any = None, title: str = "楼道灯坏了") -> Ticket:
    t = services.ticket_submit(
        actor=actor or world["resident"],
        source="resident",
        region=world.regions[GRID_A],
        title=title,
        description="5栋2单元楼道的灯坏了好几天。",
    )
    t = services.ticket_accept(actor=world["worker_a"], ticket=t, category="security.public_order")
    t = services.ticket_dispatch(actor=world["worker_a"], ticket=t, department=world.department)
    t = services.ticket_department_accept(actor=world["dept"], ticket=t)
    return services.ticket_resolve(actor=world["dept"], ticket=t, result="已更换灯泡。")


def test_my_tickets_shows_only_my_own_and_followed(world: World) -> None:
    other = accounts.user_create(
        actor=None, username="neighbour", display_name="邻居", password="Tq7!correct-Horse"
    )
    accounts.membership_grant(actor=None, user=other, role=Role.RESIDENT, region=world.regions[GRID_A])
    mine = services.ticket_submit(
        actor=world["resident"],
        source="resident",
        region=world.regions[GRID_A],
        title="我的路灯",
        description="灯坏了",
    )
    theirs = services.ticket_submit(
        actor=other, source="resident", region=world.regions[GRID_A], title="邻居的噪音", description="太吵"
    )
    staff = new_ticket(world, title="网格员巡查发现的问题")
    page = text(client_for(world, "resident").get(reverse("grid:my_tickets")))
    assert "我的路灯" in page and mine.number in page
    assert "邻居的噪音" not in page and "网格员巡查发现的问题" not in page
    # A duplicate merged into the neighbour's: the resident now follows it.
    services.ticket_accept(actor=world["worker_a"], ticket=theirs, category="environment.noise")
    services.ticket_merge(actor=world["worker_a"], ticket=mine, into=theirs)
    page = text(client_for(world, "resident").get(reverse("grid:my_tickets")))
    assert "邻居的噪音" in page and staff.title not in page


def test_my_reports_put_the_newest_first_and_ratings_after_the_list(world: World) -> None:
    done = [resolved_ticket(world, title=f"已办完的事{i}") for i in range(2)]
    newest = services.ticket_submit(
        actor=world["resident"],
        source="resident",
        region=world.regions[GRID_A],
        title="刚报的事",
        description="刚刚",
    )
    client = client_for(world, "resident")
    page = text(client.get(reverse("grid:my_tickets")))
    # The newest report is the first item of the list, and the list comes before any rating form.
    assert page.index("刚报的事") < page.index("已办完的事1") < page.index("已办完的事0")
    assert page.index("刚报的事") < page.index('name="rating"')
    assert page.index("</ul>") < page.index('id="to-rate-heading"')
    assert "2 件报事已办结，等您评价" in page and 'href="#to-rate-heading"' in page
    assert f'href="#rate-title-{done[0].pk}"' in page
    # One word per state: the list says what the ticket page says (已收到, not 已提交 there).
    for ticket, word in ((newest, "已收到"), (done[0], "已办结")):
        assert f'<span class="tag ">{word}</span>' in page or f'<span class="tag warn">{word}</span>' in page
        detail = text(client.get(reverse("grid:ticket", args=[ticket.pk])))
        assert f"<dd>{word}</dd>" in detail
    assert "已提交" not in page + text(client.get(reverse("grid:ticket", args=[newest.pk])))


def test_rate_five_closes(world: World) -> None:
    ticket = resolved_ticket(world)
    client = client_for(world, "resident")
    page = text(client.get(reverse("grid:my_tickets")))
    assert reverse("grid:ticket_rate", args=[ticket.pk]) in page and 'name="rating"' in page
    response = client.post(
        reverse("grid:ticket_rate", args=[ticket.pk]), {"rating": "5", "next": reverse("grid:my_tickets")}
    )
    assert response.status_code == 302 and response["Location"] == reverse("grid:my_tickets")
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED and ticket.rating == 5
    assert reverse("grid:ticket_rate", args=[ticket.pk]) not in text(client.get(reverse("grid:my_tickets")))


def test_low_rating_needs_a_comment_and_reopens(world: World) -> None:
    ticket = resolved_ticket(world)
    client = client_for(world, "resident")
    url = reverse("grid:ticket_rate", args=[ticket.pk])
    before = TicketAction.objects.count()
    response = client.post(url, {"rating": "2"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "is required" in text(response)
    assert 'aria-invalid="true"' in text(response)
    ticket.refresh_from_db()
    assert (
        ticket.status == Status.RESOLVED and ticket.rating is None and TicketAction.objects.count() == before
    )
    response = client.post(url, {"rating": "2", "comment": "灯还是不亮"})
    assert response.status_code == 302 and response["Location"] == reverse("grid:ticket", args=[ticket.pk])
    ticket.refresh_from_db()
    assert ticket.status == Status.REOPENED and ticket.rating_comment == "灯还是不亮"


@pytest.mark.parametrize("rating", ["", "0", "6", "five"])
def test_rating_out_of_range(world: World, rating: str) -> None:
    ticket = resolved_ticket(world)
    response = client_for(world, "resident").post(
        reverse("grid:ticket_rate", args=[ticket.pk]), {"rating": rating}
    )
    assert response.status_code == 400
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED


def test_rating_refusals(world: World) -> None:
    ticket = resolved_ticket(world)
    url = reverse("grid:ticket_rate", args=[ticket.pk])
    # Staff who see the ticket may not rate it; others do not see it at all.
    assert client_for(world, "worker_a").post(url, {"rating": "5"}).status_code == 403
    assert client_for(world, "head_b").post(url, {"rating": "5"}).status_code == 404
    assert client_for(world, "resident").get(url).status_code == 405
    # Not resolved yet: a clear refusal.
    open_one = services.ticket_submit(
        actor=world["resident"],
        source="resident",
        region=world.regions[GRID_A],
        title="路灯",
        description="坏了",
    )
    response = client_for(world, "resident").post(
        reverse("grid:ticket_rate", args=[open_one.pk]), {"rating": "5"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400 and "cannot be rated now" in text(response)
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED


def test_next_must_stay_on_this_site(world: World) -> None:
    ticket = resolved_ticket(world)
    response = client_for(world, "resident").post(
        reverse("grid:ticket_rate", args=[ticket.pk]), {"rating": "4", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("grid:ticket", args=[ticket.pk])


# --- The public list ----------------------------------------------------------------------------


def test_public_list_shows_no_personal_data(world: World) -> None:
    t = services.ticket_submit(
        actor=world["resident"],
        source="resident",
        region=world.regions[GRID_A],
        title=f"{NAME}家门口路灯坏了",
        description=f"我是{NAME}，电话{PHONE}，身份证{ID_NUMBER}，住3栋301。",
        contact_name=NAME,
        contact_phone=PHONE,
        address="麓山南路12号3栋301",
        photos=[png()],
    )
    t = services.ticket_accept(actor=world["worker_a"], ticket=t, category="security.public_order")
    t = services.ticket_dispatch(actor=world["worker_a"], ticket=t, department=world.department)
    t = services.ticket_department_accept(actor=world["dept"], ticket=t)
    services.ticket_resolve(actor=world["dept"], ticket=t, result=f"已修好路灯，回访电话{PHONE}。")
    t.refresh_from_db()
    services.ticket_rate(actor=world["resident"], ticket=t, rating=5, comment=f"{NAME}很满意")

    for client in (Client(), client_for(world, "resident")):
        response = client.get(reverse("grid:public"), {"region": "430104002"})
        page = text(response)
        assert response.status_code == 200
        for secret in (NAME, PHONE, ID_NUMBER, "3栋301", "麓山南路12号", "路灯坏了", t.number, "/photos/"):
            assert secret not in page, secret
        assert "治安防控" in page and "岳麓派出所" in page and "枇杷塘社区" in page
        assert "已修好路灯" in page and "139****2468" in page  # the result, its number masked
    community = text(Client().get(reverse("grid:public"), {"region": "430104002001"}))
    assert "已修好路灯" in community
    other = text(Client().get(reverse("grid:public"), {"region": "430104002003"}))
    assert "已修好路灯" not in other


def test_public_chooser_and_bad_regions(world: World) -> None:
    resolved_ticket(world)
    page = text(Client().get(reverse("grid:public")))
    assert "?region=430104002" in page and "?region=430104002001" in page and "岳麓街道" in page
    for bad in ("99", "abc", GRID_A, "43"):  # unknown, not a code, a grid, a province
        response = Client().get(reverse("grid:public"), {"region": bad}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400 and "There is no street or community" in text(response), bad


def test_open_tickets_are_not_public(world: World) -> None:
    new_ticket(world, title="开着的", actor=world["worker_a"])
    services.ticket_submit(
        actor=world["resident"],
        source="resident",
        region=world.regions[GRID_A],
        title="路灯",
        description="坏了",
    )
    page = text(Client().get(reverse("grid:public"), {"region": "430104002"}))
    assert "治安防控" not in page


def test_scrub_masks_numbers_in_free_text() -> None:
    assert views_resident.scrub(f"电话{PHONE}，证件{ID_NUMBER}") == "电话139****2468，证件430104********002X"
    assert views_resident.scrub("门牌12345678901234号") == "门牌12345678901234号"  # not a mobile number


TWICE = "5栋楼道的灯坏了一个星期，晚上很黑"


def test_the_same_form_sent_twice_makes_one_ticket(world: World) -> None:
    """The client key: a double tap, or the app resending a report whose first sending did arrive."""
    client = Client()
    client.force_login(world["resident"])
    form = client.get("/grid/report/").content.decode()
    key = form.split('name="client_key" value="')[1].split('"')[0]
    data = {"description": TWICE, "region": GRID_A, "address": "5栋", "client_key": key}
    first = client.post("/grid/report/", data)
    second = client.post("/grid/report/", data)
    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"]
    assert Ticket.objects.filter(description=TWICE).count() == 1
    # Another form (another key) is another report; and another resident cannot reach this one.
    other = client.get("/grid/report/").content.decode().split('name="client_key" value="')[1].split('"')[0]
    assert other != key
    client.post("/grid/report/", {**data, "client_key": other})
    assert Ticket.objects.filter(description=TWICE).count() == 2
