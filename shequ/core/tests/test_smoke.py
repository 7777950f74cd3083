from django.test import Client

from shequ.conftest import PASSWORD, World


def test_home_requires_login(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_login_and_home_shows_region(client: Client, world: World) -> None:
    response = client.post("/login/", {"username": "head_a", "password": PASSWORD})
    assert response.status_code == 302
    page = client.get("/")
    assert "枇杷塘社区" in page.content.decode()
