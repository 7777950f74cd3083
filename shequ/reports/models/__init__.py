"""Reports tables, one module per area: report templates, instances and snapshots (统一报表), and
generated ledgers (台账)."""

from shequ.reports.models.ledgers import *  # noqa: F403
from shequ.reports.models.reports import *  # noqa: F403
