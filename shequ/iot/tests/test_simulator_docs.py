"""docs/iot.md says what the platform does: its payload examples pass the schemas, its tables name
every dead-letter reason and kind, ``shequ iot schemas`` prints the schemas, and the Mosquitto ACL it
gives lets a device write its own topics only (against a Mosquitto of the test's own)."""

from __future__ import annotations

import asyncio
import getpass
import json
import re
import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from shequ.iot import payloads
from shequ.iot.models import DeviceKind
from shequ.iot.payloads import Reason

DOC = Path(__file__).resolve().parents[3] / "docs" / "iot.md"
EXAMPLE = re.compile(r"\*\*`(\w+)/(\w+)`\*\*\n```json\n(.*?)\n```", re.S)


def test_every_example_passes_its_schema() -> None:
    text = DOC.read_text()
    examples = EXAMPLE.findall(text)
    assert len(examples) >= 14
    kinds = set()
    for kind, channel, body in examples:
        parsed = payloads.parse(kind, channel, body.encode())
        assert parsed.id and parsed.ts.tzinfo is not None
        kinds.add(kind)
    assert kinds == set(DeviceKind.values)


def test_tables_name_every_reason_and_kind() -> None:
    text = DOC.read_text()
    reasons = {v for k, v in vars(Reason).items() if k.isupper()}
    for reason in reasons:
        assert f"| `{reason}` |" in text, reason
    for kind in DeviceKind.values:
        assert f"`{kind}`" in text, kind
    for key in payloads.FORBIDDEN_KEYS:
        assert f"`{key}`" in text, key


def test_schemas_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("iot", "schemas", kind="door", channel="event")
    door = json.loads(capsys.readouterr().out)
    assert list(door) == ["door/event"] and door["door/event"]["additionalProperties"] is False
    out = tmp_path / "schemas.json"
    call_command("iot", "schemas", output=str(out))
    assert json.loads(out.read_text()) == payloads.schema_documents()
    with pytest.raises(CommandError, match="sends nothing"):
        call_command("iot", "schemas", kind="sos", channel="telemetry")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(not shutil.which("mosquitto", path="/usr/sbin:/usr/bin"), reason="no mosquitto")
def test_the_documented_acl_confines_a_device_to_its_own_topics(tmp_path: Path) -> None:
    acl = re.search(r"# /etc/mosquitto/acl\n(.*?)```", DOC.read_text(), re.S)
    assert acl is not None
    (tmp_path / "acl").write_text(acl.group(1))
    passwd = tmp_path / "passwd"
    passwd.touch(mode=0o600)
    tool = shutil.which("mosquitto_passwd", path="/usr/bin:/usr/sbin")
    if tool is None:
        pytest.skip("no mosquitto_passwd")
    for user in ("ingest", "ppt-smoke-01"):
        subprocess.run([tool, "-b", str(passwd), user, f"pw-{user}"], check=True, capture_output=True)
    port = _free_port()
    (tmp_path / "mosquitto.conf").write_text(
        # As whoever runs the tests (started as root, Mosquitto would switch to its own user).
        f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {passwd}\nacl_file {tmp_path / 'acl'}\npersistence false\n"
    )
    broker = subprocess.Popen(
        [
            shutil.which("mosquitto", path="/usr/sbin:/usr/bin") or "mosquitto",
            "-c",
            str(tmp_path / "mosquitto.conf"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        # In a thread of its own: a browser test before may have left an event loop in this one.
        with ThreadPoolExecutor(1) as pool:
            received = pool.submit(lambda: asyncio.run(_exchange(port))).result(timeout=30)
    finally:
        broker.terminate()
        broker.wait(timeout=5)
    assert received == ["shequ/430104002001001/smoke/ppt-smoke-01/event"]


async def _exchange(port: int) -> list[str]:
    from gmqtt import Client
    from gmqtt.mqtt.constants import MQTTv311

    received: list[str] = []
    reader = Client("acl-ingest")
    reader.set_auth_credentials("ingest", "pw-ingest")

    def on_message(client: object, topic: str, payload: bytes, qos: int, properties: object) -> int:
        received.append(topic)
        return 0

    reader.on_message = on_message
    await reader.connect("127.0.0.1", port, version=MQTTv311)
    reader.subscribe("shequ/#", qos=1)
    device = Client("acl-device")
    device.set_auth_credentials("ppt-smoke-01", "pw-ppt-smoke-01")
    await device.connect("127.0.0.1", port, version=MQTTv311)
    await asyncio.sleep(0.3)
    for code in ("ppt-smoke-01", "ppt-smoke-02"):  # its own topic, then another device's
        device.publish(f"shequ/430104002001001/smoke/{code}/event", b"{}", qos=1)
    await asyncio.sleep(1.0)
    await device.disconnect()
    await reader.disconnect()
    return received
