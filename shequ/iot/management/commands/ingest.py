"""``shequ ingest``: take device messages from the MQTT broker into the database (see ``iot.mqtt``).
Run it several times (on one or many machines) with different ``--client-id``: the shared
subscription splits the messages between them."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Ingest IoT device messages from MQTT (shared subscription, QoS 1, acknowledged after commit)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("SHEQU_MQTT_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("SHEQU_MQTT_PORT", "1883")))
        parser.add_argument(
            "--client-id",
            default=os.environ.get("SHEQU_MQTT_CLIENT_ID", f"shequ-ingest-{socket.gethostname()}"),
            help="stable per ingester: a restarted ingester resumes its session under it",
        )
        parser.add_argument("--group", default="shequ", help="the shared-subscription group")
        parser.add_argument(
            "--topic",
            action="append",
            dest="topics",
            help="a topic filter to take (repeatable; default shequ/#)",
        )
        parser.add_argument(
            "--session-expiry",
            type=int,
            default=3600,
            help="seconds the broker keeps this ingester's messages while it is away",
        )
        parser.add_argument("--report-every", type=float, default=10.0, help="seconds between progress lines")
        parser.add_argument("--username", default=os.environ.get("SHEQU_MQTT_USERNAME") or None)
        parser.add_argument("--batch", type=int, default=2000, help="messages per database transaction")
        parser.add_argument("--linger", type=float, default=0.05, help="seconds a partial batch waits")

    def handle(self, *args: Any, **opts: Any) -> None:
        from shequ.core import keys
        from shequ.iot.mqtt import SUBSCRIPTION, Ingester, Settings

        try:
            keys.start_up_check()  # access records are indexed with the index key
        except keys.KeyCheckError as exc:
            raise CommandError(f"Shequ refuses to start: {exc}") from None
        if not logging.getLogger().handlers:
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        settings = Settings(
            host=opts["host"],
            port=opts["port"],
            client_id=opts["client_id"],
            group=opts["group"],
            topics=tuple(opts["topics"] or (SUBSCRIPTION,)),
            session_expiry=opts["session_expiry"],
            report_every=opts["report_every"],
            username=opts["username"],
            password=os.environ.get("SHEQU_MQTT_PASSWORD") or None,
            batch=opts["batch"],
            linger=opts["linger"],
        )

        async def main() -> None:
            stopping = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stopping.set)
            self.stdout.write(f"ingest started ({settings.client_id} on {settings.host}:{settings.port})")
            self.stdout.flush()
            totals = await Ingester(settings).run(stopping)
            self.stdout.write(
                f"ingest stopped: received {totals.received}, stored {totals.stored}, "
                f"duplicates {totals.duplicates}, dead letters {totals.dead}"
            )

        asyncio.run(main())
