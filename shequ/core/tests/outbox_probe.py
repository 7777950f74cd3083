"""Events and handlers for the outbox tests (the periodic job is in ``outbox_probe_periodic``).

Worker subprocesses load it with ``shequ worker --import shequ.core.tests.outbox_probe``. Each
handled ``ProbeEvent`` leaves one ``Message`` (subject ``probe <n>``) as its visible effect, so a
test can count how often every event was applied.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import ClassVar

from shequ.core.models import Message
from shequ.core.outbox import DomainEvent, handles, register_event

# A worker started with SHEQU_PROBE_HANG_AT=<n> writes its effect for event n, touches the file
# SHEQU_PROBE_SIGNAL and then hangs inside the task's transaction, waiting to be killed.
HANG_AT = os.environ.get("SHEQU_PROBE_HANG_AT", "")
SIGNAL_FILE = os.environ.get("SHEQU_PROBE_SIGNAL", "")


@register_event
class ProbeEvent(DomainEvent):
    name: ClassVar[str] = "test.probe"
    n: int
    recipient_id: int
    sleep_ms: int = 0


@handles(ProbeEvent)
def write_effect(event: ProbeEvent) -> None:
    Message.objects.create(recipient_id=event.recipient_id, subject=f"probe {event.n}", topic="test.probe")
    if HANG_AT and event.n == int(HANG_AT):
        Path(SIGNAL_FILE).touch()
        time.sleep(120)
    if event.sleep_ms:
        time.sleep(event.sleep_ms / 1000)
