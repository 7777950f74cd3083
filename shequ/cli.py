"""The ``shequ`` command: Django's management commands plus ``demo``, ``serve``, ``worker``,
``check-keys``, ``keys``, ``simulate-devices`` and ``verify-board``."""

from __future__ import annotations

import os
import sys

# Commands spelled with a hyphen, as operators type them (Django's names are module names).
ALIASES = {"check-keys": "check_keys", "simulate-devices": "simulate_devices", "verify-board": "verify_board"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")
    from django.core.management import execute_from_command_line

    args = sys.argv[1:]
    if args and args[0] in ALIASES:
        args[0] = ALIASES[args[0]]
    execute_from_command_line(["shequ", *args])


if __name__ == "__main__":
    main()
