"""Signed webhooks: the one way the platform POSTs to a department's system (IoT department feeds,
sharing subscriptions).

A request carries ``X-Shequ-Timestamp`` (Unix seconds), ``X-Shequ-Signature`` = ``sha256=`` and
the HMAC-SHA256, under the shared secret, of ``<timestamp>.<body>``, and ``X-Shequ-Delivery`` (an
id the receiver deduplicates on). The receiver recomputes the signature and refuses old timestamps
(a replayed request keeps its old timestamp, which the signature binds).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SIGNATURE_HEADER = "X-Shequ-Signature"
TIMESTAMP_HEADER = "X-Shequ-Timestamp"
DELIVERY_HEADER = "X-Shequ-Delivery"
POST_TIMEOUT_SECONDS = 10.0


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over ``<timestamp>.<body>``, as ``sha256=<hex>``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, timestamp: str, body: bytes, delivery: str) -> dict[str, str]:
    """The headers of a signed JSON POST."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        DELIVERY_HEADER: delivery,
    }


def check_url(url: str, *, field: str = "url") -> str:
    """HTTPS, or HTTP to this machine (a development or test receiver); nothing else."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    loopback = host == "localhost"
    with contextlib.suppress(ValueError):  # a name, not an address
        loopback = loopback or ipaddress.ip_address(host).is_loopback
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and loopback:
        return url
    raise ValidationError({field: _("The webhook address must start with https://.")})


def http_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST and answer the status code (a 4xx/5xx is an answer, not an exception; a network
    failure raises)."""
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (check_url: https or loopback)
    try:
        with urllib.request.urlopen(req, timeout=POST_TIMEOUT_SECONDS) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
