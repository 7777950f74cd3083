"""``shequ check-keys``: prove that the configured keys open the stored data (shequ/core/keys.py).

Prints each key with its fingerprint, its canaries and the stored values it opened, then OK or the
problem; exits 0 when every key is right, 1 otherwise. ``serve``, ``worker`` and the WSGI entry run
the same check and refuse to start on a problem.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from shequ.core import keys


class Command(BaseCommand):
    help = "Check that the configured field, index and audit keys open the stored data."

    def handle(self, *args: Any, **opts: Any) -> None:
        report = keys.inspect_keys()
        for status in report.keys:
            self.stdout.write(status.line())
        if not report.ok:
            raise CommandError("\n".join(report.problems))
        done = keys.check_keys()  # writes new dev keys and records missing canaries
        for path in done.written:
            self.stdout.write(f"wrote new key {path} (the database holds no data that needs another)")
        for name in done.recorded:
            self.stdout.write(f"recorded the canary of the {name}")
        self.stdout.write(self.style.SUCCESS("keys OK: the configured keys open the stored data"))
