"""Every write of the IoT app: ``<entity>_<verb>(*, actor, ...)``. ``actor=None`` is the platform
itself (the ingester, the periodic rules, the demo)."""

from shequ.iot.services.alerts import (
    alert_acknowledge,
    alert_clear,
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

__all__ = [
    "alert_acknowledge",
    "alert_clear",
    "alert_link_ticket",
    "alert_request_ticket",
    "device_register",
    "device_retire",
    "device_token_reset",
    "raise_hits",
    "rule_create",
    "rule_set_enabled",
]
