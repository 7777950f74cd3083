"""The ``shequ`` command: Django's management commands plus ``demo``, ``serve`` and ``worker``."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["shequ", *sys.argv[1:]])


if __name__ == "__main__":
    main()
