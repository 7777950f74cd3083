"""Sharing tables, one module per area: department grants and the access log, data requests
(供需对接), event subscriptions (webhooks), residents' requests under PIPL."""

from shequ.sharing.models.access import *  # noqa: F403
from shequ.sharing.models.requests import *  # noqa: F403
from shequ.sharing.models.rights import *  # noqa: F403
from shequ.sharing.models.subscriptions import *  # noqa: F403
