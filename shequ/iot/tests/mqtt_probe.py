"""``python -m shequ.iot.tests.mqtt_probe ARGS``: ``shequ ingest ARGS`` that dies the worst way.

Its first batch that stores something commits, then the database thread writes the number stored
to the file named by ``SHEQU_PROBE_SIGNAL`` and hangs before the PUBACKs go out: the test kills
the process there, so the broker still holds those messages as unacknowledged and sends them again
to the restarted ingester (the test checks they are stored once)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from shequ.iot.ingest import Pipeline, Prepared, Result

    original = Pipeline.commit

    def commit(self: Pipeline, prepared: Prepared) -> Result:
        result = original(self, prepared)
        if result.stored:
            Path(os.environ["SHEQU_PROBE_SIGNAL"]).write_text(str(result.stored))
            time.sleep(3600)  # committed, never acknowledged: the test kills us here
        return result

    Pipeline.commit = commit  # type: ignore[method-assign]
    call_command("ingest", *sys.argv[1:])


if __name__ == "__main__":
    main()
