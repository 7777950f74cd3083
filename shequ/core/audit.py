"""The audit log: record what a person did, and verify that nobody changed the record.

Each row's ``hash`` is SM3 over the previous row's hash and this row's canonical content, so
changing or deleting a row breaks the chain; the database refuses UPDATE and DELETE by trigger
(migration 0002). Deleting the newest rows cannot be seen from the chain alone: keep the head
(``shequ audit head``) somewhere else and pass it to ``shequ audit verify --anchor``.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

from shequ.core.models import AuditEntry, AuditResult

GENESIS = "0" * 64
_AUDIT_LOCK_KEY = 7_345_001  # pg advisory lock id serializing appends to the chain


def _canonical_time(at: datetime) -> str:
    """UTC, microseconds, no offset: the same text for a value before and after a database
    round trip (both SQLite and PostgreSQL keep microseconds; PostgreSQL returns UTC)."""
    if timezone.is_naive(at):
        raise ValueError("audit timestamps must be timezone-aware")
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def _canonical(entry: AuditEntry) -> bytes:
    body = [
        entry.seq,
        _canonical_time(entry.at),
        entry.actor_id,
        entry.actor_name,
        entry.role,
        entry.region_code,
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.fields,
        entry.reason,
        entry.ip,
        entry.result,
        entry.detail,
    ]
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def chain_hash(prev_hash: str, entry: AuditEntry) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(prev_hash.encode() + b"\n" + _canonical(entry))
    return digest.finalize().hex()


def client_ip(request: HttpRequest | None) -> str | None:
    """The client address in the form the database returns it (PostgreSQL ``inet`` normalizes
    IPv6), so the hash computed now matches the row read back later; junk becomes None."""
    if request is None:
        return None
    return normalize_ip(request.META.get("REMOTE_ADDR"))


def normalize_ip(raw: Any) -> str | None:
    if not raw:
        return None
    try:
        ip = ipaddress.ip_address(str(raw).strip())
    except ValueError:
        return None
    # Django's own IPv6 form (what GenericIPAddressField stores, e.g. ::ffff:192.0.2.1).
    return clean_ipv6_address(str(ip)) if ip.version == 6 else str(ip)


def _json_safe(value: Any) -> Any:
    """What a JSONField gives back after a round trip (dates and UUIDs become strings)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))


def _text(value: Any, max_length: int | None = None) -> str:
    """PostgreSQL refuses NUL characters and over-long values; SQLite would keep them. Trim here so
    both databases store, and hash, the same text."""
    text = str(value if value is not None else "").replace("\x00", "")
    return text[:max_length] if max_length else text


def record(
    action: str,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
    role: str = "",
    region_code: str = "",
    object_type: str = "",
    object_id: str | int | None = "",
    fields: list[str] | None = None,
    reason: str = "",
    result: str = AuditResult.SUCCESS,
    detail: dict[str, Any] | None = None,
    actor_name: str = "",
) -> AuditEntry:
    """Append one entry. Call it inside the transaction of the change it describes, so that the
    entry and the change commit or roll back together.

    Concurrency: on PostgreSQL a transaction-level advisory lock serializes appenders until the
    surrounding transaction commits (a second writer then reads the first one's row as the chain
    head); SQLite takes the database write lock at BEGIN (``transaction_mode=IMMEDIATE``).
    """
    if result not in AuditResult.values:
        raise ValueError(f"unknown audit result {result!r}")
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    if actor is not None and not role:
        from shequ.core.permissions import primary_role

        role = primary_role(actor) or ""
    meta = AuditEntry._meta
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_AUDIT_LOCK_KEY])
        last = AuditEntry.objects.order_by("-seq").only("seq", "hash").first()
        entry = AuditEntry(
            seq=(last.seq + 1) if last else 1,
            # Microseconds are kept by both databases; the value is aware and in UTC.
            at=timezone.now(),
            actor_id=getattr(actor, "pk", None),
            actor_name=_text(
                actor_name or (getattr(actor, "username", "") if actor is not None else ""),
                meta.get_field("actor_name").max_length,
            ),
            role=_text(role, meta.get_field("role").max_length),
            region_code=_text(region_code, meta.get_field("region_code").max_length),
            action=_text(action, meta.get_field("action").max_length),
            object_type=_text(object_type, meta.get_field("object_type").max_length),
            object_id=_text(object_id, meta.get_field("object_id").max_length),
            fields=_json_safe([_text(f) for f in fields or []]),
            reason=_text(reason),
            ip=client_ip(request),
            result=result,
            detail=_json_safe(detail or {}),
            prev_hash=last.hash if last else GENESIS,
        )
        entry.hash = chain_hash(entry.prev_hash, entry)
        entry.save(force_insert=True)
    return entry


@dataclass
class VerifyResult:
    checked: int
    problems: list[str]
    head_seq: int = 0
    head_hash: str = GENESIS

    @property
    def ok(self) -> bool:
        return not self.problems


def head() -> tuple[int, str]:
    """The newest entry's sequence number and hash, to keep outside the database as an anchor."""
    last = AuditEntry.objects.order_by("-seq").only("seq", "hash").first()
    return (last.seq, last.hash) if last else (0, GENESIS)


def verify(batch: int = 5000, anchor: tuple[int, str] | None = None) -> VerifyResult:
    """Walk the chain in order; report changed rows (hash mismatch) and deleted rows (gaps).

    ``anchor`` = (seq, hash) kept from an earlier ``head()``: that entry must still exist with that
    hash, which also reveals deletion of the newest rows.
    """
    problems: list[str] = []
    prev_hash = GENESIS
    expected_seq = 1
    checked = 0
    last_seq = 0
    anchor_seen = False
    while True:
        rows = list(AuditEntry.objects.filter(seq__gt=last_seq).order_by("seq")[:batch])
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected_seq:
                problems.append(f"entries {expected_seq}..{entry.seq - 1} are missing (deleted)")
            if entry.prev_hash != prev_hash:
                problems.append(f"entry {entry.seq}: previous hash does not match the chain")
            if chain_hash(entry.prev_hash, entry) != entry.hash:
                problems.append(f"entry {entry.seq}: content was changed after it was written")
            if anchor is not None and entry.seq == anchor[0]:
                anchor_seen = True
                if entry.hash != anchor[1]:
                    problems.append(
                        f"entry {entry.seq}: hash differs from the anchor kept outside the database"
                    )
            prev_hash = entry.hash
            expected_seq = entry.seq + 1
            last_seq = entry.seq
            checked += 1
    if anchor is not None and anchor[0] > 0 and not anchor_seen:
        problems.append(f"entry {anchor[0]} (the anchor) is missing: newest entries were deleted")
    return VerifyResult(checked=checked, problems=problems, head_seq=last_seq, head_hash=prev_hash)
