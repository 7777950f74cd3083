"""The audit log: record what a person did, and verify that nobody changed the record."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from shequ.core.models import AuditEntry, AuditResult

GENESIS = "0" * 64
_AUDIT_LOCK_KEY = 7_345_001  # pg advisory lock id serializing appends to the chain


def _canonical(entry: AuditEntry) -> bytes:
    at = entry.at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    body = [
        entry.seq,
        at,
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
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    action: str,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
    role: str = "",
    region_code: str = "",
    object_type: str = "",
    object_id: str | int = "",
    fields: list[str] | None = None,
    reason: str = "",
    result: str = AuditResult.SUCCESS,
    detail: dict[str, Any] | None = None,
    actor_name: str = "",
) -> AuditEntry:
    """Append one entry. Call it inside the transaction of the change it describes."""
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    if actor is not None and not role:
        from shequ.core.permissions import primary_role

        role = primary_role(actor) or ""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_AUDIT_LOCK_KEY])
        last = AuditEntry.objects.order_by("-seq").only("seq", "hash").first()
        entry = AuditEntry(
            seq=(last.seq + 1) if last else 1,
            at=timezone.now(),
            actor_id=getattr(actor, "pk", None),
            actor_name=actor_name or (getattr(actor, "username", "") if actor is not None else ""),
            role=role,
            region_code=region_code,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            fields=fields or [],
            reason=reason,
            ip=client_ip(request),
            result=result,
            detail=detail or {},
            prev_hash=last.hash if last else GENESIS,
        )
        entry.hash = chain_hash(entry.prev_hash, entry)
        entry.save(force_insert=True)
    return entry


@dataclass
class VerifyResult:
    checked: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(batch: int = 5000) -> VerifyResult:
    """Walk the chain in order; report changed rows (hash mismatch) and deleted rows (gaps)."""
    problems: list[str] = []
    prev_hash = GENESIS
    expected_seq = 1
    checked = 0
    last_seq = 0
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
            prev_hash = entry.hash
            expected_seq = entry.seq + 1
            last_seq = entry.seq
            checked += 1
    return VerifyResult(checked=checked, problems=problems)
