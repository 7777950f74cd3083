"""Fixtures of the data-request and webhook tests: people in two sibling communities, a county
officer who owns the data (``sharing.own``), a sibling county's owner, a department staff of
another department, and a local HTTP receiver that checks the signature."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from shequ.conftest import World
from shequ.core import accounts
from shequ.core.models import (
    Department,
    OutboxStatus,
    OutboxTask,
    Region,
    RegionKind,
    RegionLevel,
    Role,
    User,
)
from shequ.core.outbox import run_pending
from shequ.core.validators import id_check_char
from shequ.registry import services as registry
from shequ.registry.models import Person
from shequ.sharing.models import Grant
from shequ.sharing.services.access import grant_create

COMMUNITY_A = "430104002001"
COMMUNITY_B = "430104002003"
GRID_A = "430104002001001"
GRID_B = "430104002003001"
PASSWORD = "Tq7!correct-Horse"


def resident_id(seq: int, birth: str = "19800101") -> str:
    first17 = f"430104{birth}{seq:03d}"
    return first17 + id_check_char(first17)


@dataclass
class Sharing:
    world: World
    owner: User  # county officer of 岳麓区: sharing.own over both communities
    owner_b: User  # county officer of a sibling county: owns nothing here
    secadmin_b: User  # security administrator of the sibling county
    other_dept: User  # staff of another department (urban management, sibling street)
    people: dict[str, Person] = field(default_factory=dict)

    def __getitem__(self, key: str) -> User:
        return self.world[key]

    def grant(self, fields: Sequence[str], **extra: Any) -> Grant:
        terms: dict[str, Any] = {
            "actor": self.world["secadmin"],
            "department": self.world.department,
            "client": self.world["dept"],
            "resource": "people",
            "fields": list(fields),
            "unmasked": [],
            "region_codes": [COMMUNITY_A],
            "row_filters": {},
            "purpose": "核查辖区人口变动",
            "legal_basis": "《中华人民共和国个人信息保护法》第十三条",
            "expires_at": timezone.now() + dt.timedelta(days=30),
        }
        terms.update(extra)
        return grant_create(**terms)


def _user(world: World, name: str, role: str, region: Region, department: Department | None = None) -> User:
    user = accounts.user_create(actor=None, username=name, display_name=name, password=PASSWORD)
    accounts.membership_grant(actor=None, user=user, role=role, region=region, department=department)
    world.users[name] = user
    return user


def _house(world: World, grid: str, n: int) -> Any:
    region = world.regions[grid]
    road = registry.road_create(actor=None, region=world.regions[grid[:12]], name=f"路{n}")
    building = registry.building_create(
        actor=None, region=region, data={"road": road, "door_number": str(n), "number": "1", "floors": 6}
    )
    unit = registry.unit_create(actor=None, building=building, number="1")
    return registry.house_create(
        actor=None, building=building, data={"unit": unit, "number": "301", "floor": 3, "area": "89.5"}
    )


@pytest.fixture(name="sharing")
def sharing_fixture(world: World, settings: Any) -> Sharing:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    county_b = Region.objects.create(
        code="430105",
        name="开福区",
        level=RegionLevel.COUNTY,
        kind=RegionKind.COUNTY,
        parent=world.regions["4301"],
    )
    urban = Department.objects.create(
        code="urban-jzz",
        name="桔子洲城管中队",
        kind="urban",
        region=world.regions["430104003"],
        region_code="430104003",
    )
    found = Sharing(
        world=world,
        owner=_user(world, "owner", Role.COUNTY_OFFICER, world.regions["430104"]),
        owner_b=_user(world, "owner_b", Role.COUNTY_OFFICER, county_b),
        secadmin_b=_user(world, "secadmin_b", Role.SECURITY_ADMIN, county_b),
        other_dept=_user(world, "dept_b", Role.DEPARTMENT_STAFF, world.regions["430104003"], urban),
    )
    for n, (key, grid) in enumerate((("a", GRID_A), ("b", GRID_B)), start=1):
        found.people[key] = registry.person_register(
            actor=None,
            data={
                "name": "张三丰" if key == "a" else "李四光",
                "id_number": resident_id(10 + n),
                "phone": f"1381234{n:04d}",
            },
            house=_house(world, grid, n),
        )
    return found


def run_due(rounds: int = 20) -> None:
    """Run the outbox until nothing is left, retries included (their backoff skipped)."""
    for _ in range(rounds):
        OutboxTask.objects.filter(status=OutboxStatus.PENDING).update(
            available_at=timezone.now() - timedelta(seconds=1)
        )
        if not run_pending():
            return


class Receiver:
    """A department's webhook endpoint: checks the signature, answers the queued statuses (then
    ``default``), keeps what it accepted with its headers."""

    def __init__(self) -> None:
        self.secret = ""
        self.statuses: list[int] = []
        self.default = 200
        self.accepted: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.calls = 0
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls += 1
                stamp = self.headers["X-Shequ-Timestamp"]
                mac = hmac.new(receiver.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
                if not hmac.compare_digest(self.headers["X-Shequ-Signature"], "sha256=" + mac.hexdigest()):
                    receiver.bad_signatures += 1
                    status = 401
                else:
                    status = receiver.statuses.pop(0) if receiver.statuses else receiver.default
                    if status == 200:
                        receiver.accepted.append((dict(self.headers), json.loads(body)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def bodies(self) -> list[dict[str, Any]]:
        return [body for _headers, body in self.accepted]


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[Receiver]:
    found = Receiver()
    found.thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()
