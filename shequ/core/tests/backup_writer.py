"""A writer for the backup-under-load test, run as a subprocess on the test database:

    python -m shequ.core.tests.backup_writer NAME STOPFILE

creates accounts until STOPFILE exists. Each account is one transaction holding two rows that belong
together: the user (its phone SM4-encrypted, bound to the row) and its ``user.create`` audit entry.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")
    import django

    django.setup()
    from shequ.core import accounts

    name, stop = sys.argv[1], Path(sys.argv[2])
    digit = str(sum(map(ord, name)) % 10)
    number = 0
    while not stop.exists():
        accounts.user_create(
            actor=None,
            username=f"{name}-{number}",
            display_name=name,
            password=None,
            phone=f"13{digit}{number:08d}",
        )
        number += 1


if __name__ == "__main__":
    main()
