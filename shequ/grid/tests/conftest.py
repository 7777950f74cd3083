"""Grid fixtures: the world of shequ/conftest.py plus a second department and routing rules."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from shequ.conftest import World
from shequ.core.models import Department, DepartmentKind
from shequ.grid import services
from shequ.grid.models import Category, Source, Ticket

GRID_A = "430104002001001"
GRID_B = "430104002001002"
COMMUNITY_A = "430104002001"
COMMUNITY_B = "430104002003"


def png(colour: str = "red", size: tuple[int, int] = (40, 30)) -> bytes:
    """A small real PNG photo."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def jpeg_with_gps(colour: str = "green", size: tuple[int, int] = (32, 32)) -> bytes:
    """A JPEG photo whose EXIF holds a camera make and a GPS position, as phones write them."""
    image = Image.new("RGB", size, colour)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {2: (28.0, 10.0, 0.0)}  # GPS latitude
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Photos go to a folder of the test's own (not var/media), so a test can see what was written."""
    root = tmp_path_factory.mktemp("media")
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture
def urban(world: World) -> Department:
    """A second department (city management), serving the whole county."""
    return Department.objects.create(
        code="urban",
        name="城管中队",
        kind=DepartmentKind.URBAN,
        region=world.regions["430104"],
        region_code="430104",
    )


def category(code: str) -> Category:
    return Category.objects.get(code=code)


def new_ticket(
    world: World, *, grid: str = GRID_A, actor: Any = None, code: str = "security.public_order", **extra: Any
) -> Ticket:
    data: dict[str, Any] = {
        "source": Source.STAFF if actor is not None else Source.HOTLINE,
        "region": world.regions[grid],
        "title": "小区门口有人聚集打架",
        "description": "晚上十点多，3栋门口有几个人喝醉了吵架，差点打起来。",
        "category": code,
    }
    data.update(extra)
    return services.ticket_submit(actor=actor, **data)


@pytest.fixture
def now() -> dt.datetime:
    from django.utils import timezone

    return timezone.now()


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Suggestions from the categories' keywords only (whatever classifier is installed), with a
    fresh suggestion rate limit."""
    from django.core.cache import cache

    from shequ.grid import views_resident

    monkeypatch.setattr(views_resident, "_model_suggestions", lambda text, k: [])
    cache.clear()
    yield
    cache.clear()
