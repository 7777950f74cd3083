from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _private_sqlite_files(sender: Any, connection: Any, **kwargs: Any) -> None:
    """SQLite database files (the test databases too, which Django creates anew) are 0600: they
    hold live session keys. New -wal/-shm files then take the database file's mode."""
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict["NAME"])
    if name.startswith((":memory:", "file:")):
        return
    for path in (Path(name), Path(name + "-wal"), Path(name + "-shm")):
        try:
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)
        except FileNotFoundError:
            continue


class CoreConfig(AppConfig):
    name = "shequ.core"
    label = "core"
    verbose_name = "Shequ core"

    def ready(self) -> None:
        from shequ.core import crypto, handlers  # noqa: F401 - registers the core event handlers

        connection_created.connect(_private_sqlite_files, dispatch_uid="shequ.core.private_sqlite_files")
        crypto.self_test()
