from django.test import Client

from shequ.conftest import PASSWORD, World
from shequ.core import accounts
from shequ.core.models import Role, User


def test_home_requires_login(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_login_and_home_shows_region(client: Client, world: World) -> None:
    response = client.post("/login/", {"username": "head_a", "password": PASSWORD})
    assert response.status_code == 302
    page = client.get("/")
    assert "枇杷塘社区" in page.content.decode()


def volunteer(world: World) -> User:
    user = accounts.user_create(actor=None, username="volunteer", display_name="何芳", password=PASSWORD)
    accounts.membership_grant(
        actor=None, user=user, role=Role.VOLUNTEER, region=world.regions["430104002001"]
    )
    return user


def test_the_volunteer_home_says_what_the_role_is_for_and_what_is_coming(world: World) -> None:
    client = Client()
    client.force_login(volunteer(world))
    page = client.get("/").content.decode()
    assert 'aria-labelledby="volunteer-heading"' in page
    assert "社区志愿服务" in page and "即将推出" in page  # translated, not the English msgid
    client.force_login(world["head_a"])
    assert "volunteer-heading" not in client.get("/").content.decode()
