"""``shequ demo``: migrate, load Hunan's regions, generate the demo street, print logins, serve."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shequ.demo.generator import generate


class Command(BaseCommand):
    help = "Set up the demo database and run the platform with demo data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", type=int, default=1, help="scale factor for generated volumes")
        parser.add_argument(
            "--no-serve", action="store_true", help="prepare the data, do not start the server"
        )
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, **opts: Any) -> None:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        from shequ.core import keys

        try:  # never generate data under keys that do not open what is already there
            keys.check_keys()
        except keys.KeyCheckError as exc:
            raise CommandError(f"Shequ refuses to start: {exc}") from None
        result = generate(size=opts["size"])
        lines = [
            f"{a.username:<10} {a.password:<16} {a.display_name} · {a.role} · {a.region_code}"
            for a in result.accounts
        ]
        if result.govservice is not None and result.govservice.login_note():
            lines.append(result.govservice.login_note())
        if result.participation is not None:
            lines.extend(result.participation.login_notes())
        if result.sharing is not None and result.sharing.clients:
            lines.extend(result.sharing.login_notes())
        logins = settings.VAR_DIR / "demo-logins.txt"
        logins.write_text("\n".join(lines) + "\n")
        logins.chmod(0o600)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready in {time.perf_counter() - started:.1f} s: {result.grids} grids, "
                f"{result.shapes} boundaries, "
                f"{result.departments} departments, {len(result.accounts)} accounts (saved in {logins})."
            )
        )
        if result.registry is not None:
            self.stdout.write(result.registry.line())
        if result.tickets is not None:
            self.stdout.write(result.tickets.line())
        if result.duty is not None:
            self.stdout.write(result.duty.line())
        if result.iot is not None:
            self.stdout.write(result.iot.line())
        if result.emergency is not None:
            self.stdout.write(result.emergency.line())
        if result.govservice is not None:
            self.stdout.write(result.govservice.line())
        if result.participation is not None:
            for line in result.participation.lines():
                self.stdout.write(line)
        if result.reports is not None:
            self.stdout.write(result.reports.line())
        if result.sharing is not None:
            for line in result.sharing.lines():
                self.stdout.write(line)
        # The generator's audit entries are chained and signed now, so the auditor's first look
        # (and `shequ audit verify`) finds a sealed log with a witnessed checkpoint.
        from shequ.core import audit

        sealed = audit.seal_all()
        checkpoint = audit.checkpoint(force=True)
        if checkpoint is not None:
            self.stdout.write(
                f"audit: {sealed} entries sealed, checkpoint {checkpoint.seq} signed and witnessed"
            )
        # Train (or load) the request classifier now, so the first resident who types a problem
        # gets category suggestions at once rather than after the training.
        from shequ.grid import classifier

        model_started = time.perf_counter()
        model = classifier.get_model()
        took = time.perf_counter() - model_started
        self.stdout.write(f"grid: request classifier ready ({model.samples} texts, {took:.1f} s)")
        self.stdout.write("Demo logins (user  password  name · role · region):")
        for line in lines:
            self.stdout.write("  " + line)
        self.stdout.write(
            "Admins and staff wider than one community (street, county, city, province, police, the\n"
            "three admins) sign in with a second factor: `.venv/bin/shequ demo_totp <user>` prints the code."
        )
        if not opts["no_serve"]:
            call_command("serve", port=opts["port"], with_worker=True)
