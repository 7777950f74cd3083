"""IoT ingestion (issue 11): sustained events/s from Mosquitto into PostgreSQL with the rules
running, QoS 1, zero loss, beside a bare MQTT subscriber over the same messages, and the latency
from publish to alert.

Method (repeatable, and fair to both sides):

1. A private Mosquitto on a free port (``bench/iot_mosquitto.conf`` plus ``listener``): no
   persistence and no ``max_queued_messages`` limit, so a whole backlog can wait in an offline
   session (the system broker's default of 1000 would drop it).
2. Persistent sessions (MQTT 5, session expiry 1 h) are made for the ingester(s) (``$share/shequ/
   shequ/#``) and for each bare subscriber (a group of its own, so each gets every message), then
   left offline.
3. ``--messages`` device messages (a realistic mix over ``--devices`` devices: environment,
   meters, gas telemetry, smoke heartbeats, door events with card numbers, people counters) are
   published with QoS 1 by a raw-socket publisher and acknowledged by the broker: they wait in the
   sessions.
4. Each subscriber in turn (nothing else running) connects and drains its backlog; the time is
   from its connection to the last message: for the bare subscribers when the count is reached,
   for ``shequ ingest`` when the last batch is committed (its progress lines). CPU seconds of the
   subscriber, the broker and PostgreSQL's backends are read from ``/proc``.
5. Zero loss: the events table holds exactly ``--messages`` rows, no dead letters.
   CPU µs per message per component are printed too, and the ratio by CPU per event (bare
   subscriber and broker against ingesters, broker and PostgreSQL): unlike the rates, they hardly
   move with what else the shared machine runs.
6. Latency: with the ingester connected and idle, a publisher sends ``--live-rate`` messages/s for
   ``--live-seconds``, with a smoke alarm every 0.2 s on a fresh detector; per alarm,
   ``Alert.raised_at`` (the ingester's batch time) and the moment a poller sees the alert committed,
   minus the alarm's publish time (``ts`` in the payload, the same machine's clock).

    SHEQU_DATABASE_URL=postgres://postgres@127.0.0.1:5432/shequ_bench_iot \\
        .venv/bin/python bench/bench_iot_ingest.py [--messages 200000] [--ingesters 1] [--paho]

``--paho`` also drains with paho-mqtt (install it in the venv first: it is not a dependency).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")
os.environ.setdefault("SHEQU_DEBUG", "0")

HOST = "127.0.0.1"
GRID = "430104002001001"
COMMUNITY = "430104002001"
INGEST_GROUP = "shequ"
CLK = os.sysconf("SC_CLK_TCK")


# --- MQTT 3.1.1 by hand: the fastest publisher we can have in Python -----------------------------


def _length(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _connect_packet(client_id: str) -> bytes:
    cid = client_id.encode()
    body = b"\x00\x04MQTT\x04\x02\x00\x3c" + struct.pack("!H", len(cid)) + cid
    return b"\x10" + _length(len(body)) + body


def _publish_packet(topic: bytes, payload: bytes, mid: int) -> bytes:
    body = struct.pack("!H", len(topic)) + topic + struct.pack("!H", mid) + payload
    return b"\x32" + _length(len(body)) + body


class RawPublisher:
    """QoS 1 publishes pipelined over one socket; ``send`` returns when the broker has
    acknowledged every message (PUBACKs are counted, 4 bytes each)."""

    WINDOW = 20000

    def __init__(self, port: int, client_id: str) -> None:
        self.sock = socket.create_connection((HOST, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(_connect_packet(client_id))
        if self.sock.recv(4) != b"\x20\x02\x00\x00":
            raise RuntimeError("the broker refused the publisher")
        self.mid = 0
        self.pending = b""

    def _acks(self, block: bool) -> int:
        self.sock.setblocking(block)
        try:
            data = self.sock.recv(1 << 20)
        except BlockingIOError:
            return 0
        finally:
            self.sock.setblocking(True)
        if not data:
            raise RuntimeError("the broker closed the publisher's connection")
        data = self.pending + data
        whole = len(data) // 4 * 4
        self.pending = data[whole:]
        return whole // 4

    def send(self, messages: list[tuple[bytes, bytes]], *, rate: float = 0.0) -> float:
        """Publish; answers the seconds until the last PUBACK. ``rate`` > 0 paces the sending."""
        started = time.perf_counter()
        outstanding = 0
        chunk = 500 if not rate else max(1, int(rate / 100))
        for at in range(0, len(messages), chunk):
            packets = []
            for topic, payload in messages[at : at + chunk]:
                self.mid = self.mid % 65535 + 1
                packets.append(_publish_packet(topic, payload, self.mid))
            self.sock.sendall(b"".join(packets))
            outstanding += len(packets)
            outstanding -= self._acks(False)
            while outstanding > self.WINDOW:
                outstanding -= self._acks(True)
            if rate:
                due = started + (at + chunk) / rate
                if due > time.perf_counter():
                    time.sleep(due - time.perf_counter())
        while outstanding > 0:
            outstanding -= self._acks(True)
        return time.perf_counter() - started

    def close(self) -> None:
        self.sock.sendall(b"\xe0\x00")
        self.sock.close()


# --- processes and CPU ---------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK
    except (OSError, ValueError, IndexError):
        return 0.0


def machine_cpu() -> float:
    """CPU seconds the machine has been busy, less this script's own (its polling): what the
    subscriber, the broker, PostgreSQL and everyone else on the machine took."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    me = os.times()
    return (sum(fields[:8]) - idle) / CLK - me.user - me.system


def postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process on the machine (the server's own and the backends)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    total += cpu_seconds(int(entry.name))
            except OSError:
                continue
    return total


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Drain:
    name: str
    messages: int
    seconds: float
    cpu: float
    broker_cpu: float
    pg_cpu: float
    rss: float = 0.0
    machine: float = 0.0  # the machine's busy CPU seconds during the drain, everyone's

    @property
    def others(self) -> float:
        """CPU seconds other processes on the machine took meanwhile (it is shared)."""
        return max(0.0, self.machine - self.cpu - self.broker_cpu - self.pg_cpu)

    def per_event(self, seconds: float) -> float:
        """CPU µs per message: unlike the rates, it hardly moves with the machine's load."""
        return seconds * 1e6 / self.messages

    @property
    def total_us(self) -> float:
        return self.per_event(self.cpu + self.broker_cpu + self.pg_cpu)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


def start_broker(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port = int(sock.getsockname()[1])
    conf = workdir / "mosquitto.conf"
    conf.write_text((ROOT / "bench" / "iot_mosquitto.conf").read_text() + f"\nlistener {port} {HOST}\n")
    broker = subprocess.Popen(
        ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(100):
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return broker, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the bench's mosquitto did not start")


# --- subscribers (run as child processes of this script: --role) ---------------------------------


async def _session(port: int, client_id: str, topic: str) -> None:
    """Make a persistent session with a subscription and leave it offline."""
    from gmqtt import Client
    from gmqtt.mqtt.constants import MQTTv50

    client = Client(client_id, clean_session=True, session_expiry_interval=3600)
    subscribed = asyncio.Event()
    client.on_subscribe = lambda *a: subscribed.set()
    await client.connect(HOST, port, version=MQTTv50)
    client.subscribe(topic, qos=1)
    await asyncio.wait_for(subscribed.wait(), 10)
    await client.disconnect()


def role_gmqtt(port: int, client_id: str, topic: str, expect: int) -> None:
    """A bare QoS 1 subscriber that only counts (PUBACK on receipt); prints seconds and count."""
    from gmqtt import Client
    from gmqtt.mqtt.constants import MQTTv50

    async def main() -> None:
        done = asyncio.Event()
        count = 0

        def on_message(client: Any, topic: str, payload: bytes, qos: int, properties: Any) -> int:
            nonlocal count
            count += 1
            if count >= expect:
                done.set()
            return 0

        client = Client(client_id, clean_session=False, session_expiry_interval=3600, receive_maximum=20000)
        client.on_message = on_message
        started = time.perf_counter()
        await client.connect(HOST, port, version=MQTTv50)
        await done.wait()
        seconds = time.perf_counter() - started
        await asyncio.sleep(0.2)  # the last PUBACKs
        await client.disconnect()
        print(json.dumps({"seconds": seconds, "count": count}), flush=True)

    asyncio.run(main())


def role_paho(port: int, client_id: str, topic: str, expect: int) -> None:
    import paho.mqtt.client as paho  # type: ignore[import-not-found,unused-ignore]
    from paho.mqtt.packettypes import PacketTypes  # type: ignore[import-not-found,unused-ignore]
    from paho.mqtt.properties import Properties  # type: ignore[import-not-found,unused-ignore]

    count = 0
    done = threading.Event()

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        nonlocal count
        count += 1
        if count >= expect:
            done.set()

    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    client.max_inflight_messages_set(20000)
    client.on_message = on_message
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = 20000
    started = time.perf_counter()
    client.connect(HOST, port, clean_start=False, properties=props)
    client.loop_start()
    done.wait()
    seconds = time.perf_counter() - started
    time.sleep(0.2)
    client.disconnect()
    client.loop_stop()
    print(json.dumps({"seconds": seconds, "count": count}), flush=True)


def drain_bare(role: str, port: int, client_id: str, topic: str, expect: int, broker: int) -> Drain:
    b0, p0, m0 = cpu_seconds(broker), postgres_cpu(), machine_cpu()
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--role",
            role,
            "--port",
            str(port),
            "--client-id",
            client_id,
            "--topic",
            topic,
            "--expect",
            str(expect),
        ],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _pid, _status, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["count"] == expect, result
    return Drain(
        f"bare {role}",
        expect,
        result["seconds"],
        usage.ru_utime + usage.ru_stime,
        cpu_seconds(broker) - b0,
        postgres_cpu() - p0,
        usage.ru_maxrss / 1024,
        machine_cpu() - m0,
    )


# --- the benchmark -------------------------------------------------------------------------------

KINDS = [
    # kind, channel, share of the traffic
    ("environment", "telemetry", 30),
    ("meter", "telemetry", 15),
    ("gas", "telemetry", 15),
    ("smoke", "heartbeat", 10),
    ("door", "event", 15),
    ("people_counter", "telemetry", 15),
]


def setup(devices: int, fresh: bool) -> dict[str, list[str]]:
    import django

    django.setup()
    import bench_registry_generate as common
    from django.core.management import call_command
    from django.db import connection

    from shequ.core.models import Region
    from shequ.demo import generator
    from shequ.iot import services
    from shequ.iot.models import Device, Rule, RuleKind, Severity

    if connection.vendor != "postgresql":
        sys.exit(
            "run it on PostgreSQL: SHEQU_DATABASE_URL=postgres://postgres@127.0.0.1:5432/shequ_bench_iot"
        )
    if fresh:
        common.recreate_database()
    call_command("migrate", verbosity=0)
    if not Region.objects.filter(code=GRID).exists():
        # The regions and accounts only: the other apps' demos need the registry's residents.
        for part in (
            "registry",
            "tickets",
            "iot",
            "emergency",
            "govservice",
            "participation",
            "reports",
            "sharing",
        ):
            setattr(generator, f"generate_{part}", lambda **kw: None)
        generator.generate(size=1)
    grid = Region.objects.get(code=GRID)
    per_kind = {kind: max(1, devices * share // 100) for kind, _c, share in KINDS}
    per_kind["smoke"] += 600  # fresh detectors for the latency alarms
    codes: dict[str, list[str]] = {}
    existing = set(Device.objects.values_list("code", flat=True))
    new = []
    for kind, count in per_kind.items():
        codes[kind] = [f"b-{kind}-{n}" for n in range(count)]
        new += [
            Device(
                code=code,
                name=code,
                kind=kind,
                vendor="海康威视",
                serial=f"SN-{code}",
                region=grid,
                region_code=grid.code,
                mqtt_username=code,
            )
            for code in codes[kind]
            if code not in existing
        ]
    Device.objects.bulk_create(new, batch_size=2000)
    community = Region.objects.get(code=COMMUNITY)
    if not Rule.objects.exists():
        services.rule_create(
            actor=None,
            region=community,
            name="烟感报警",
            kind=RuleKind.EVENT,
            device_kind="smoke",
            params={"types": ["alarm"]},
            severity=Severity.CRITICAL,
            ticket_category="safety.fire",
        )
        services.rule_create(
            actor=None,
            region=community,
            name="燃气浓度超标",
            kind=RuleKind.THRESHOLD,
            device_kind="gas",
            params={"field": "level", "op": "gt", "value": 20},
            severity=Severity.MAJOR,
            ticket_category="safety.gas",
        )
        services.rule_create(
            actor=None,
            region=community,
            name="人员异常聚集",
            kind=RuleKind.COUNT,
            device_kind="people_counter",
            params={"over": 50, "minutes": 10},
            severity=Severity.WARNING,
        )
        services.rule_create(
            actor=None,
            region=community,
            name="温度过高",
            kind=RuleKind.THRESHOLD,
            device_kind="environment",
            params={"field": "temperature", "op": "gt", "value": 60},
            severity=Severity.WARNING,
        )
    return codes


def clear_events() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE iot_deviceevent, iot_deadletter, iot_deadlettercount, iot_alert CASCADE")
        cursor.execute("DELETE FROM core_outboxtask WHERE event_type = 'iot.alert_raised'")
        cursor.execute("UPDATE iot_device SET online = false, last_seen_at = NULL, last_values = '{}'")


def traffic(
    codes: dict[str, list[str]], count: int, prefix: str, seed: int = 11
) -> list[tuple[bytes, bytes]]:
    rng = random.Random(seed)
    weights = [share for _k, _c, share in KINDS]
    now_ms = int(time.time() * 1000)
    out = []
    for n in range(count):
        kind, channel, _share = rng.choices(KINDS, weights)[0]
        code = rng.choice(codes[kind][:-600] if kind == "smoke" else codes[kind])
        body: dict[str, Any] = {"v": 1, "id": f"{prefix}{n}", "ts": now_ms + n // 100}
        if kind == "environment":
            body |= {
                "temperature": round(rng.uniform(5, 35), 1),
                "humidity": rng.randint(30, 90),
                "pm25": rng.randint(5, 150),
            }
        elif kind == "meter":
            body |= {"reading": round(rng.uniform(100, 9000), 2), "unit": "kWh"}
        elif kind == "gas":
            body |= {"level": round(rng.uniform(0, 12), 2), "battery": rng.randint(20, 100)}
        elif kind == "smoke":
            body |= {"battery": rng.randint(20, 100), "rssi": -rng.randint(40, 100)}
        elif kind == "door":
            body |= {
                "type": rng.choice(["open", "closed", "denied"]),
                "direction": "in",
                "credential": {"kind": "card", "value": f"{rng.randint(10**9, 10**10 - 1)}"},
            }
        else:
            body |= {"count": rng.randint(0, 40), "entered": rng.randint(0, 10), "left": rng.randint(0, 10)}
        topic = f"shequ/{GRID}/{kind}/{code}/{channel}".encode()
        out.append((topic, json.dumps(body, separators=(",", ":")).encode()))
    return out


def ingest_command(port: int, client_id: str, batch: int, linger: float) -> list[str]:
    return [
        sys.executable,
        "-m",
        "shequ.cli",
        "ingest",
        "--port",
        str(port),
        "--client-id",
        client_id,
        "--group",
        INGEST_GROUP,
        "--batch",
        str(batch),
        "--linger",
        str(linger),
        "--report-every",
        "0.25",
    ]


STORED = re.compile(r"stored (\d+), duplicates (\d+), dead letters (\d+)")


def stored_in(log: Path) -> tuple[int, int, int]:
    found = STORED.findall(log.read_text())
    return tuple(map(int, found[-1])) if found else (0, 0, 0)  # type: ignore[return-value]


def drain_ingesters(
    port: int, n: int, expect: int, broker: int, workdir: Path, args: argparse.Namespace
) -> Drain:
    logs = [workdir / f"ingest-{i}.log" for i in range(n)]
    procs = []
    for i, log in enumerate(logs):
        with log.open("wb") as out:
            procs.append(
                subprocess.Popen(
                    ingest_command(port, f"bench-ingest-{i}", args.batch, args.linger),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    # Django's start-up is not part of the drain: the clock starts when the first one subscribes.
    while not all("ingester connected" in log.read_text() for log in logs):
        if any(p.poll() is not None for p in procs):
            sys.exit("an ingester died:\n" + "\n".join(log.read_text() for log in logs))
        time.sleep(0.01)
    started = time.perf_counter()
    c0 = [cpu_seconds(p.pid) for p in procs]
    b0, p0, m0 = cpu_seconds(broker), postgres_cpu(), machine_cpu()
    while sum(stored_in(log)[0] for log in logs) < expect:
        if any(p.poll() is not None for p in procs):
            sys.exit("an ingester died:\n" + "\n".join(log.read_text() for log in logs))
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    drain = Drain(
        f"shequ ingest ×{n}",
        expect,
        seconds,
        sum(cpu_seconds(p.pid) - c for p, c in zip(procs, c0, strict=True)),
        cpu_seconds(broker) - b0,
        postgres_cpu() - p0,
        sum(rss_mb(p.pid) for p in procs),
        machine_cpu() - m0,
    )
    drain.procs = procs  # type: ignore[attr-defined]
    drain.logs = logs  # type: ignore[attr-defined]
    return drain


def table_bytes() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.relname = 'iot_deviceevent'"
        )
        return int(cursor.fetchone()[0])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def latency(port: int, codes: dict[str, list[str]], args: argparse.Namespace) -> dict[str, float]:
    """Live traffic at ``--live-rate`` with an alarm every 0.2 s on a fresh smoke detector."""
    from shequ.iot.models import Alert

    alarms = codes["smoke"][-600:]
    total = int(args.live_rate * args.live_seconds)
    background = traffic(codes, total, "live", seed=29)
    every = max(1, int(args.live_rate * 0.2))
    published: dict[str, float] = {}
    seen: dict[str, float] = {}
    stop = threading.Event()

    def poll() -> None:
        from django.db import connection

        while not stop.is_set():
            for code in (
                Alert.objects.filter(device__code__in=alarms)
                .exclude(device__code__in=list(seen))
                .values_list("device__code", flat=True)
            ):
                seen[code] = time.time()
            time.sleep(0.005)
        connection.close()

    poller = threading.Thread(target=poll)
    poller.start()
    publisher = RawPublisher(port, "bench-live")
    started = time.perf_counter()
    chunk = every
    for i, at in enumerate(range(0, total, chunk)):
        code = alarms[i % len(alarms)]
        now = time.time()
        body = json.dumps({"v": 1, "id": f"alarm{i}", "ts": int(now * 1000), "type": "alarm", "level": 3.0})
        published[code] = int(now * 1000) / 1000
        publisher.send(
            [(f"shequ/{GRID}/smoke/{code}/event".encode(), body.encode()), *background[at : at + chunk]]
        )
        due = started + (at + chunk) / args.live_rate
        if due > time.perf_counter():
            time.sleep(due - time.perf_counter())
    publisher.close()
    deadline = time.time() + 30
    while len(seen) < len(published) and time.time() < deadline:
        time.sleep(0.05)
    stop.set()
    poller.join()
    raised = dict(
        Alert.objects.filter(device__code__in=list(published)).values_list("device__code", "raised_at")
    )
    to_raised = [(raised[c].timestamp() - t) * 1000 for c, t in published.items() if c in raised]
    to_seen = [(seen[c] - t) * 1000 for c, t in published.items() if c in seen]
    return {
        "alarms": len(published),
        "alerts": len(to_raised),
        "raised_p50": percentile(to_raised, 50),
        "raised_p95": percentile(to_raised, 95),
        "seen_p50": percentile(to_seen, 50),
        "seen_p95": percentile(to_seen, 95),
        "live_seconds": time.perf_counter() - started,
        "live_total": total + len(published),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--ingesters", type=int, default=1)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--linger", type=float, default=0.05)
    parser.add_argument(
        "--paho", action="store_true", help="also drain with paho-mqtt (installed in the venv)"
    )
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the bench database first")
    parser.add_argument("--live-rate", type=float, default=2000.0)
    parser.add_argument("--live-seconds", type=float, default=10.0)
    # Child roles.
    parser.add_argument("--role", choices=["gmqtt", "paho"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--client-id")
    parser.add_argument("--topic")
    parser.add_argument("--expect", type=int)
    args = parser.parse_args()
    if args.role:
        (role_gmqtt if args.role == "gmqtt" else role_paho)(
            args.port, args.client_id, args.topic, args.expect
        )
        return
    if shutil.which("mosquitto") is None:
        sys.exit("mosquitto is not installed (apt-get install mosquitto)")

    codes = setup(args.devices, args.fresh)
    clear_events()
    from shequ.iot.models import DeadLetter, DeviceEvent

    workdir = Path(tempfile.mkdtemp(prefix="bench-iot-"))
    broker, port = start_broker(workdir)
    try:
        bare = [("gmqtt", "bench-bare-gmqtt")] + ([("paho", "bench-bare-paho")] if args.paho else [])
        for _role, cid in bare:
            asyncio.run(_session(port, cid, f"$share/{cid}/shequ/#"))
        for i in range(args.ingesters):
            asyncio.run(_session(port, f"bench-ingest-{i}", f"$share/{INGEST_GROUP}/shequ/#"))
        messages = traffic(codes, args.messages, "m")
        publisher = RawPublisher(port, "bench-publisher")
        seconds = publisher.send(messages)
        publisher.close()
        size = sum(len(p) for _t, p in messages) / len(messages)
        print(
            f"preloaded {len(messages):,} messages (QoS 1, all acknowledged) in {seconds:.1f} s: "
            f"{len(messages) / seconds:,.0f}/s; average payload {size:.0f} bytes"
        )

        drains = []
        for role, cid in bare:
            drains.append(drain_bare(role, port, cid, "", len(messages), broker.pid))
            print(f"bare {role}: {drains[-1].rate:,.0f} messages/s", flush=True)
        ingest = drain_ingesters(port, args.ingesters, len(messages), broker.pid, workdir, args)
        drains.append(ingest)
        print(f"shequ ingest ×{args.ingesters}: {ingest.rate:,.0f} events/s", flush=True)
        events = DeviceEvent.objects.count()
        dead = DeadLetter.objects.count()
        print(f"zero loss: {events:,} events stored for {len(messages):,} published, {dead} dead letters")
        print(f"on disk: {table_bytes() / events:.0f} bytes per event (table, TOAST and indexes)")
        assert events == len(messages) and dead == 0

        lat = latency(port, codes, args)
        for proc in ingest.procs:  # type: ignore[attr-defined]
            proc.send_signal(signal.SIGTERM)
        for proc in ingest.procs:  # type: ignore[attr-defined]
            proc.wait(timeout=120)
        totals = [stored_in(log) for log in ingest.logs]  # type: ignore[attr-defined]
        final = DeviceEvent.objects.count()
        print(
            f"after the live phase: {final:,} events for {len(messages) + lat['live_total']:,} published; "
            f"per ingester (stored, duplicates, dead): {totals}"
        )
    finally:
        broker.send_signal(signal.SIGTERM)
        broker.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)

    bare_g = drains[0]
    print()
    print(
        "| subscriber | events/s | drain s | subscriber CPU s | mosquitto CPU s | PostgreSQL CPU s "
        "| other processes' CPU s |"
    )
    print("|---|---|---|---|---|---|---|")
    for d in drains:
        print(
            f"| {d.name} | {d.rate:,.0f} | {d.seconds:.1f} | {d.cpu:.1f} | {d.broker_cpu:.1f} "
            f"| {d.pg_cpu:.1f} | {d.others:.1f} |"
        )
    print()
    print("| subscriber | its µs/event | mosquitto µs/event | PostgreSQL µs/event | together µs/event |")
    print("|---|---|---|---|---|")
    for d in drains:
        print(
            f"| {d.name} | {d.per_event(d.cpu):.1f} | {d.per_event(d.broker_cpu):.1f} "
            f"| {d.per_event(d.pg_cpu):.1f} | {d.total_us:.1f} |"
        )
    print()
    ratio = ingest.rate / bare_g.rate
    print(
        f"ratio shequ ingest / bare gmqtt: {ratio:.2f} by rate, {bare_g.total_us / ingest.total_us:.2f} "
        f"by CPU per event (load-independent); ingester peak RSS {ingest.rss:.0f} MB"
    )
    print(
        f"publish → alert at {args.live_rate:,.0f} msg/s live "
        f"({lat['alarms']} alarms, {lat['alerts']} alerts): "
        f"raised_at p50 {lat['raised_p50']:.0f} ms, p95 {lat['raised_p95']:.0f} ms; "
        f"committed and seen p50 {lat['seen_p50']:.0f} ms, p95 {lat['seen_p95']:.0f} ms"
    )


if __name__ == "__main__":
    main()
