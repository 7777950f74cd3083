"""The simulator's view of the devices: the fleet of a region, the demo residents' cards and
plates (derived from the person, never stored in clear), and the messages it sends."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import zoneinfo
from dataclasses import dataclass
from typing import Any

from shequ.core import crypto
from shequ.iot import rules
from shequ.iot.ingest import Message
from shequ.iot.models import AccessCredential, Device, DeviceKind
from shequ.iot.payloads import topic_for

BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I and O on Chinese plates
HUNAN_CITIES = "AAAAAAAABCDEFHKLMN"  # 湘A (Changsha) most often


# --- Demo credentials ---------------------------------------------------------------------------
# The demo's residents' card numbers and plates are derived from the person's id, so the demo
# stores only their blind index and masked form (as a real registration does) and the simulator
# can still present the same card at the door.


def digest(*parts: object) -> bytes:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()


def card_number(person_id: int) -> str:
    """A 10-digit card number (the decimal UID printed on Mifare cards)."""
    return str(3_000_000_000 + int.from_bytes(digest("card", person_id)[:8]) % 999_999_999)


def plate_number(person_id: int) -> str:
    """A Hunan plate, e.g. 湘A5K2Q7 (new-energy plates have six characters after the letter)."""
    d = digest("plate", person_id)
    city = HUNAN_CITIES[d[0] % len(HUNAN_CITIES)]
    chars = PLATE_LETTERS + "0123456789" * 3
    length = 6 if d[1] % 5 == 0 else 5
    return "湘" + city + "".join(chars[b % len(chars)] for b in d[2 : 2 + length])


def credential_value(kind: str, person_id: int) -> str:
    return card_number(person_id) if kind == "card" else plate_number(person_id)


def visitor_plate(rng: random.Random) -> str:
    province = rng.choice("湘湘湘湘湘湘粤鄂赣贵")
    return (
        province
        + rng.choice(PLATE_LETTERS[:12])
        + "".join(rng.choice("0123456789ABCDEFGHJK") for _ in range(5))
    )


# --- The fleet ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimDevice:
    id: int
    code: str
    name: str
    kind: str
    region_code: str
    house_id: int | None
    building_id: int | None
    no_parking: bool
    online: bool = True

    @property
    def role(self) -> str:
        """What its traffic looks like: a building entrance, a home's door, an estate gate …"""
        if self.kind == DeviceKind.DOOR:
            return "home" if self.house_id else "entrance"
        if self.kind == DeviceKind.GATE:
            return "gate"
        if self.kind == DeviceKind.CAMERA and self.no_parking:
            return "fire_lane"
        return self.kind

    def topic(self, channel: str) -> str:
        return topic_for(self.region_code, self.kind, self.code, channel)


@dataclass(frozen=True)
class Holder:
    """A registered resident's card or plate whose value the simulator can present."""

    kind: str
    value: str
    house_id: int | None
    building_id: int | None
    community: str


@dataclass
class Fleet:
    devices: list[SimDevice]
    cards: dict[int, list[Holder]]  # building id → its residents' cards
    plates: dict[str, list[Holder]]  # community code → its residents' plates
    rules: list[rules.RuleSpec]

    @classmethod
    def load(cls, region_code: str) -> Fleet:
        devices = [
            SimDevice(
                d.pk, d.code, d.name, d.kind, d.region_code, d.house_id, d.building_id, d.no_parking, d.online
            )
            for d in Device.objects.filter(region_code__startswith=region_code, active=True).order_by("code")
        ]
        cards: dict[int, list[Holder]] = {}
        plates: dict[str, list[Holder]] = {}
        rows = (
            AccessCredential.objects.filter(region_code__startswith=region_code, active=True)
            .order_by("pk")
            .values_list("kind", "value_index", "person_id", "house_id", "house__building_id", "region_code")
        )
        for kind, index, person_id, house_id, building_id, code in rows:
            value = credential_value(kind, person_id)
            if crypto.blind_index(value, f"iot_{kind}") != index:
                continue  # registered by hand: its value is not derivable here
            holder = Holder(kind, value, house_id, building_id, code[:12])
            if kind == "card" and building_id is not None:
                cards.setdefault(building_id, []).append(holder)
            elif kind == "plate":
                plates.setdefault(code[:12], []).append(holder)
        covering = [r for r in rules.load() if r.region_code.startswith(region_code[:9])]
        return cls(devices, cards, plates, covering)

    def by_role(self, role: str) -> list[SimDevice]:
        return [d for d in self.devices if d.role == role]

    def rule_param(self, kind: str, device: SimDevice | None, key: str, default: float) -> float:
        """A parameter of the first enabled rule of ``kind`` that covers ``device``."""
        for rule in self.rules:
            if rule.kind != kind:
                continue
            if device is not None and not (
                device.region_code.startswith(rule.region_code)
                and (not rule.device_kind or rule.device_kind == device.kind)
            ):
                continue
            return float(rule.params.get(key, default))
        return default


# --- Messages -----------------------------------------------------------------------------------


@dataclass
class Outgoing:
    at: dt.datetime
    device: SimDevice
    channel: str
    body: dict[str, Any]
    msg_id: str = ""
    holder: Holder | None = None  # the resident whose card or plate it shows (to silence a house)

    def payload(self) -> bytes:
        ms = int(self.at.timestamp() * 1000)
        msg_id = self.msg_id or f"{ms:x}-{_short(self.channel, self.body)}"
        return json.dumps(
            {"v": 1, "id": msg_id, "ts": ms, **self.body}, ensure_ascii=False, separators=(",", ":")
        ).encode()

    def message(self, transport: str = "mqtt", token: str | None = None) -> Message:
        return Message(self.device.topic(self.channel), self.payload(), transport=transport, token=token)


def _short(channel: str, body: dict[str, Any]) -> str:
    return hashlib.blake2s(f"{channel}{sorted(body.items())}".encode(), digest_size=4).hexdigest()


@dataclass(frozen=True)
class Silence:
    """A device (or a house's residents' cards) sending nothing in [start, end), or only nothing on
    one channel (a door that stays shut still sends its heartbeats)."""

    start: dt.datetime
    end: dt.datetime
    device_id: int | None = None
    house_id: int | None = None
    channel: str = ""

    def covers(self, message: Outgoing) -> bool:
        return self.start <= message.at < self.end and (not self.channel or self.channel == message.channel)
