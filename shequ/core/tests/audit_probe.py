"""Makes a ``shequ worker`` subprocess's audit sealer hang in the middle of a batch, for the
kill test in test_audit_checkpoints.py (loaded with ``--import shequ.core.tests.audit_probe``).

With SHEQU_AUDIT_PROBE_SIGNAL set, the sealer's second UPDATE of a batch (bulk_update writes 1,000
rows per statement) touches that file and hangs inside the open transaction: some rows of the batch
are already updated, none committed — the worst moment to be killed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from django.db.models import QuerySet

from shequ.core.models import AuditEntry

SIGNAL_FILE = os.environ.get("SHEQU_AUDIT_PROBE_SIGNAL", "")

if SIGNAL_FILE:
    _update = QuerySet.update
    _calls = [0]

    def _hanging_update(self: QuerySet[Any], **kwargs: Any) -> int:
        done = _update(self, **kwargs)
        if self.model is AuditEntry and "seq" in kwargs:
            _calls[0] += 1
            if _calls[0] == 2:
                Path(SIGNAL_FILE).touch()
                time.sleep(120)
        return done

    QuerySet.update = _hanging_update  # type: ignore[method-assign]
