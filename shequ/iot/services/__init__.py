"""Every write of the IoT app: ``<entity>_<verb>(*, actor, ...)``. ``actor=None`` is the platform
itself (the ingester, the periodic rules, the demo)."""

from shequ.iot.services.access import (
    credential_register,
    credential_revoke,
    pass_check,
    pass_houses,
    visitor_pass_create,
    visitor_pass_revoke,
)
from shequ.iot.services.alerts import (
    alert_acknowledge,
    alert_clear,
    alert_clear_recovered,
    alert_link_ticket,
    alert_request_ticket,
    raise_hits,
)
from shequ.iot.services.devices import (
    device_register,
    device_retire,
    device_token_reset,
    rule_create,
    rule_set_enabled,
)
from shequ.iot.services.feeds import feed_authorize, feed_pull, feed_revoke

__all__ = [
    "alert_acknowledge",
    "alert_clear",
    "alert_clear_recovered",
    "alert_link_ticket",
    "alert_request_ticket",
    "credential_register",
    "credential_revoke",
    "device_register",
    "device_retire",
    "device_token_reset",
    "feed_authorize",
    "feed_pull",
    "feed_revoke",
    "pass_check",
    "pass_houses",
    "raise_hits",
    "rule_create",
    "rule_set_enabled",
    "visitor_pass_create",
    "visitor_pass_revoke",
]
