"""``shequ simulate-devices``: live traffic of the demo street's devices (see ``iot.simulator``).

shequ simulate-devices                      # MQTT when a broker answers, else straight in
shequ simulate-devices --via http --url http://127.0.0.1:8000
shequ simulate-devices --via direct --speed 120 --duration 600 --scenario welfare,smoke
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from shequ.iot import simulator as sim

DEMO_STREET = "430104002"


class Command(BaseCommand):
    help = "Publish realistic device traffic for the demo street (direct, HTTP or MQTT)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--via",
            choices=["auto", "direct", "http", "mqtt"],
            default="auto",
            help="auto: mqtt when a broker answers at SHEQU_MQTT_HOST:PORT, else direct",
        )
        parser.add_argument("--region", default=DEMO_STREET, help="the devices under this region code")
        parser.add_argument(
            "--rate", type=float, default=1.0, help="background traffic × this (1 = a real community's)"
        )
        parser.add_argument(
            "--duration", type=float, default=None, help="seconds of real time (default: until stopped)"
        )
        parser.add_argument(
            "--speed", type=float, default=1.0, help="simulated seconds per real second (needs --duration)"
        )
        parser.add_argument(
            "--scenario", default="all", help=f"all, none or some of {','.join(sim.SCENARIOS)}"
        )
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the server (--via http)")
        parser.add_argument("--host", default=os.environ.get("SHEQU_MQTT_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("SHEQU_MQTT_PORT", "1883")))
        parser.add_argument(
            "--exit-with-parent",
            action="store_true",
            help="end when the process that started it ends (`shequ serve --with-devices`)",
        )
        parser.add_argument(
            "--work",
            action="store_true",
            help="--via direct: also run the outbox (tickets, notices) as `shequ worker` would",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        from shequ.core import keys

        try:
            keys.start_up_check()  # cards are indexed with the index key
        except keys.KeyCheckError as exc:
            raise CommandError(f"Shequ refuses to start: {exc}") from None
        if not logging.getLogger().handlers:
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        try:
            scenarios = sim.parse_scenarios(opts["scenario"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        speed, duration, rate = opts["speed"], opts["duration"], opts["rate"]
        if speed <= 0 or rate < 0 or (duration is not None and duration <= 0):
            raise CommandError("--speed and --duration must be positive, --rate not negative.")
        if speed > 1 and duration is None:
            raise CommandError("--speed above 1 needs --duration: the simulated clock must end at now.")
        fleet = sim.Fleet.load(opts["region"])
        if not fleet.devices:
            raise CommandError(f"No active devices under {opts['region']}: run `shequ demo` first.")
        via = opts["via"]
        if via == "auto":
            via = "mqtt" if sim.broker_answers(opts["host"], opts["port"]) else "direct"
        transport = self._transport(via, fleet, opts)
        start = sim.live_start(speed=speed, duration=duration)
        simulator = sim.Simulator(fleet, transport, start, seed=opts["seed"], rate=rate, scenarios=scenarios)
        self.stdout.write(
            f"simulating {len(fleet.devices)} devices under {opts['region']} via {via} "
            f"(rate {rate:g}, speed {speed:g}, from {timezone.localtime(start):%m-%d %H:%M})"
        )
        for incident in simulator.plan.incidents:
            self.stdout.write("  " + incident.line())
        self.stdout.flush()
        stopping = threading.Event()
        # Our handlers while we run, the previous ones afterwards: a process that calls the command
        # (a test) must not keep a SIGTERM handler that its forked children would inherit.
        previous: dict[signal.Signals, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, lambda *_: stopping.set())
        parent = os.getppid()

        def stop() -> bool:
            return stopping.is_set() or (opts["exit_with_parent"] and os.getppid() != parent)

        try:
            simulator.run_live(
                duration=duration, speed=speed, stop=stop, report=lambda line: self.stdout.write(line)
            )
        finally:
            transport.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write(f"simulation ended: {transport.stats.line()}")

    def _transport(self, via: str, fleet: sim.Fleet, opts: dict[str, Any]) -> sim.Transport:
        if via == "direct":
            return sim.DirectTransport(work=opts["work"])
        if via == "http":
            tokens = sim.device_tokens(fleet)
            self.stdout.write(f"device tokens: {sim.tokens_path()}")
            transport = sim.HttpTransport(opts["url"], tokens)
            if not transport.wait_ready():
                raise CommandError(f"No server answers at {opts['url']}.")
            return transport
        if not sim.broker_answers(opts["host"], opts["port"]):
            raise CommandError(f"No MQTT broker answers at {opts['host']}:{opts['port']}.")
        return sim.MqttTransport(
            opts["host"],
            opts["port"],
            username=os.environ.get("SHEQU_MQTT_USERNAME") or None,
            password=os.environ.get("SHEQU_MQTT_PASSWORD") or None,
        )
