"""The audit log: record what a person did, and show that nobody changed or removed the record.

Designed after transparency logs (Certificate Transparency RFC 6962/9162, Trillian's sequencer):

- ``record()`` inserts an *unsealed* entry in the caller's transaction, so it commits or rolls back
  with the change it describes, and takes no lock that any other writer needs.
- ``seal()`` (the worker's sealer thread, every ``AUDIT_SEAL_SECONDS``) gives committed entries their
  place in the chain: ``seq`` and ``hash`` = SM3(previous hash, canonical content). One sealer at a
  time (a lock only sealers take); a sealer killed mid-batch leaves its batch unsealed for the next.
- ``checkpoint()`` signs the chain's state (seq, head hash, Merkle root, time) with HMAC-SM3 under
  ``AUDIT_CHECKPOINT_KEY``, a key the database does not hold, and appends it to the witness file
  outside the database; the auditors get the newest one in their inbox every day.
- ``verify()`` recomputes the chain and checks it against every checkpoint, the witnessed ones
  first: a changed, deleted, cut-off or rewritten-and-recomputed log is found and named.
- ``record_restore()`` (``shequ restore``) appends a signed restore record to the witness: the
  chain was set back to entry N from a backup, so earlier witnessed checkpoints beyond N describe
  entries the restore removed. ``verify()`` names them as superseded; without such a record a
  chain that ends before a witnessed checkpoint is still a truncation.

Why HMAC-SM3 and not Ed25519: the house's crypto is 国密 (GB/T 39786) and ``cryptography`` has no
SM2 signatures; the key is kept like the field keys. The cost is that whoever verifies a checkpoint's
signature needs the key: auditors verify on the platform (``shequ audit verify``), and a printed
checkpoint is compared by its head hash. See docs/security.md.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections, connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

from shequ.core import merkle, outage
from shequ.core.models import AuditCheckpoint, AuditEntry, AuditResult, common_region_code

log = logging.getLogger(__name__)

GENESIS = "0" * 64
_SEALER_LOCK_KEY = 7_345_002  # pg advisory lock id: one sealer at a time (writers never take it)
SEAL_BATCH = 5000
WITNESS_FILE = "checkpoints.jsonl"
REFUSAL_REMINDER_SECONDS = 600  # a refused checkpoint is logged again this often while it lasts


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
    """Insert one entry, unsealed. Call it inside the transaction of the change it describes, so
    that the entry and the change commit or roll back together; the sealer chains it after commit.
    It takes no lock: concurrent writers in any region never wait for each other here."""
    if result not in AuditResult.values:
        raise ValueError(f"unknown audit result {result!r}")
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    if actor is not None and not role:
        from shequ.core.permissions import primary_role

        role = primary_role(actor) or ""
    current = _batch.get()
    if current is not None and result == AuditResult.SUCCESS:
        current.add(action, object_id, region_code)
        return AuditEntry(action=action, object_type=object_type, object_id=_text(object_id))  # not saved
    entry = _entry(
        action,
        actor=actor,
        request=request,
        role=role,
        region_code=region_code,
        object_type=object_type,
        object_id=object_id,
        fields=fields,
        reason=reason,
        result=result,
        detail=detail,
        actor_name=actor_name,
    )
    entry.save(force_insert=True)
    return entry


def _entry(
    action: str,
    *,
    actor: Any,
    request: HttpRequest | None,
    role: str,
    region_code: str,
    object_type: str,
    object_id: str | int | None,
    fields: list[str] | None,
    reason: str,
    result: str,
    detail: dict[str, Any] | None,
    actor_name: str,
    at: datetime | None = None,
) -> AuditEntry:
    meta = AuditEntry._meta
    return AuditEntry(
        # Microseconds are kept by both databases; the value is aware and in UTC.
        at=at or timezone.now(),
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
    )


@dataclass(frozen=True)
class Act:
    """One person's own act in a bulk write (``record_many``): e.g. a resident's answer to a call-out."""

    actor: Any = None  # an account, or None for a person without one (then ``actor_name`` says who)
    actor_name: str = ""
    region_code: str = ""
    object_id: str | int | None = ""
    at: datetime | None = None
    ip: str | None = None
    detail: dict[str, Any] | None = None


def record_many(action: str, acts: Iterable[Act], *, object_type: str = "", batch_size: int = 1000) -> int:
    """One entry per act, each in its person's name, written with one INSERT per ``batch_size``:
    100,000 residents answering a call-out are 100,000 entries, not 100,000 round trips. Call it
    inside the transaction of the change, like ``record``; the sealer chains the entries after commit."""
    rows = []
    for act in acts:
        entry = _entry(
            action,
            actor=act.actor,
            request=None,
            role="",
            region_code=act.region_code,
            object_type=object_type,
            object_id=act.object_id,
            fields=None,
            reason="",
            result=AuditResult.SUCCESS,
            detail=act.detail,
            actor_name=act.actor_name,
            at=act.at,
        )
        entry.ip = normalize_ip(act.ip) if act.ip else None
        rows.append(entry)
    AuditEntry.objects.bulk_create(rows, batch_size=batch_size)
    return len(rows)


# --- bulk writes: one entry per batch -----------------------------------------------------------


@dataclass
class _Batch:
    action: str
    actor: Any
    request: HttpRequest | None
    region_code: str
    object_type: str
    detail: dict[str, Any]
    size: int
    counts: dict[str, int] = field(default_factory=dict)
    object_ids: list[str] = field(default_factory=list)
    regions: set[str] = field(default_factory=set)
    written: int = 0

    def add(self, action: str, object_id: Any, region_code: str) -> None:
        self.counts[action] = self.counts.get(action, 0) + 1
        if object_id not in ("", None) and str(object_id) not in self.object_ids[-1:]:
            self.object_ids.append(str(object_id))
        if region_code:
            self.regions.add(region_code)
        if sum(self.counts.values()) >= self.size:
            self.flush()

    def flush(self) -> None:
        if not self.counts:
            return
        self.written += 1
        counts, ids, regions = self.counts, self.object_ids, sorted(self.regions)
        self.counts, self.object_ids, self.regions = {}, [], set()
        token = _batch.set(None)
        try:
            record(
                self.action,
                actor=self.actor,
                request=self.request,
                region_code=self.region_code or common_region_code(regions),
                object_type=self.object_type,
                object_id=ids[0] if ids else "",
                detail={
                    **self.detail,
                    "part": self.written,
                    "actions": counts,
                    "objects": ids,
                    "regions": regions,
                },
            )
        finally:
            _batch.reset(token)


_batch: ContextVar[_Batch | None] = ContextVar("audit_batch", default=None)


@contextmanager
def batch(
    action: str,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
    region_code: str = "",
    object_type: str = "",
    detail: dict[str, Any] | None = None,
    size: int = 1000,
) -> Iterator[_Batch]:
    """Audit a bulk write (an import of thousands of rows) once per ``size`` entries instead of once
    per row: inside the block, successful ``record()`` calls of the services it runs are counted into
    one ``action`` entry per batch, which lists the objects, the actions and the regions. Refusals
    and failures are still written one by one. Use it inside the bulk write's transaction; on an
    exception nothing more is written (and the transaction rolls back what was)."""
    current = _Batch(action, actor, request, region_code, object_type, dict(detail or {}), size)
    token = _batch.set(current)
    try:
        yield current
        current.flush()
    finally:
        _batch.reset(token)


# --- sealing ----------------------------------------------------------------------------------


def _sealer_lock() -> None:
    """Serialize sealers (several workers may run one each). SQLite's write lock already does."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SEALER_LOCK_KEY])


def _sealed_head() -> tuple[int, str]:
    last = AuditEntry.objects.filter(seq__isnull=False).order_by("-seq").only("seq", "hash").first()
    return (last.seq, last.hash) if last and last.seq and last.hash else (0, GENESIS)


def seal(*, limit: int = SEAL_BATCH) -> int:
    """Chain up to ``limit`` committed, unsealed entries in insertion order; returns how many.

    One transaction: a sealer that dies mid-batch seals nothing of it, and the next one seals the
    same entries. The database refuses to seal an entry twice or to change its content (triggers).
    """
    with transaction.atomic():
        _sealer_lock()
        seq, prev = _sealed_head()
        rows = list(AuditEntry.objects.filter(seq__isnull=True).order_by("id")[:limit])
        if not rows:
            return 0
        now = timezone.now()
        for entry in rows:
            seq += 1
            entry.seq, entry.prev_hash, entry.sealed_at = seq, prev, now
            entry.hash = prev = chain_hash(prev, entry)
        AuditEntry.objects.bulk_update(rows, ["seq", "prev_hash", "hash", "sealed_at"], batch_size=1000)
    return len(rows)


def seal_all() -> int:
    """Seal until nothing committed is left unsealed (commands, tests, the demo)."""
    total = 0
    while done := seal():
        total += done
    return total


def head() -> tuple[int, str]:
    """The newest sealed entry's sequence number and hash."""
    return _sealed_head()


def unsealed_count() -> int:
    return AuditEntry.objects.filter(seq__isnull=True).count()


# --- checkpoints and the witness ----------------------------------------------------------------


class CheckpointRefused(Exception):
    """The chain no longer extends the newest checkpoint: it was rewritten. Nothing is signed."""


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint as signed and witnessed (the same text in the database, the file and the inbox)."""

    seq: int
    head_hash: str
    root: str
    at: str  # UTC, as _canonical_time prints it
    key_id: str
    signature: str = ""

    def message(self) -> bytes:
        return f"shequ-audit-checkpoint/v1\n{self.seq}\n{self.head_hash}\n{self.root}\n{self.at}\n".encode()

    def to_json(self) -> str:
        body = {"v": 1, "seq": self.seq, "head": self.head_hash, "root": self.root, "at": self.at}
        body |= {"key": self.key_id, "sig": self.signature}
        return json.dumps(body, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> Checkpoint:
        body = json.loads(line)
        if not isinstance(body, dict) or body.get("v") != 1:
            raise ValueError("not a version 1 checkpoint")
        return cls(
            seq=int(body["seq"]),
            head_hash=str(body["head"]),
            root=str(body["root"]),
            at=str(body["at"]),
            key_id=str(body["key"]),
            signature=str(body["sig"]),
        )

    @classmethod
    def of(cls, row: AuditCheckpoint) -> Checkpoint:
        return cls(row.seq, row.head_hash, row.root, _canonical_time(row.at), row.key_id, row.signature)

    @property
    def at_datetime(self) -> datetime:
        return datetime.fromisoformat(self.at).replace(tzinfo=UTC)

    def text(self) -> str:
        """For a printout, a ticket or an auditor's message."""
        return (
            f"shequ audit checkpoint v1\nentries {self.seq}\nhead {self.head_hash}\nroot {self.root}\n"
            f"at {self.at}Z\nkey {self.key_id}\nsignature {self.signature}"
        )


@dataclass(frozen=True)
class RestoreRecord:
    """A witness line written by ``shequ restore``: the database now holds the chain up to ``seq``
    (ending in ``head_hash``) from the backup whose SHA-256 is ``backup``. Signed like a checkpoint
    but with its own message, so that neither can pass for the other."""

    seq: int
    head_hash: str
    at: str  # UTC, as _canonical_time prints it
    backup: str
    key_id: str
    signature: str = ""

    def message(self) -> bytes:
        return f"shequ-audit-restore/v1\n{self.seq}\n{self.head_hash}\n{self.at}\n{self.backup}\n".encode()

    def to_json(self) -> str:
        body = {"v": 1, "type": "restore", "seq": self.seq, "head": self.head_hash, "at": self.at}
        body |= {"backup": self.backup, "key": self.key_id, "sig": self.signature}
        return json.dumps(body, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> RestoreRecord:
        if body.get("v") != 1 or body.get("type") != "restore":
            raise ValueError("not a version 1 restore record")
        return cls(
            seq=int(body["seq"]),
            head_hash=str(body["head"]),
            at=str(body["at"]),
            backup=str(body["backup"]),
            key_id=str(body["key"]),
            signature=str(body["sig"]),
        )

    @property
    def at_datetime(self) -> datetime:
        return datetime.fromisoformat(self.at).replace(tzinfo=UTC)


def _key() -> bytes:
    raw = settings.AUDIT_CHECKPOINT_KEY.strip()
    try:
        key = bytes.fromhex(raw)
    except ValueError:
        key = raw.encode()
    if len(key) < 16:
        raise ValueError("the audit checkpoint key (SHEQU_AUDIT_KEY) must have at least 16 bytes")
    return key


def key_id() -> str:
    """Names the key without revealing it, so a checkpoint says which key signed it."""
    return key_id_of(_key())


def key_id_of(key: bytes) -> str:
    return merkle.sm3(b"shequ-audit-key-id\n" + key).hex()[:16]


def _sign(signed: Checkpoint | RestoreRecord) -> str:
    mac = crypto_hmac.HMAC(_key(), hashes.SM3())
    mac.update(signed.message())
    return mac.finalize().hex()


def signature_ok(signed: Checkpoint | RestoreRecord) -> bool:
    return signed.key_id == key_id() and hmac.compare_digest(_sign(signed), signed.signature)


def witness_path() -> Path:
    return Path(settings.AUDIT_WITNESS_DIR) / WITNESS_FILE


def _witness_append(signed: Checkpoint | RestoreRecord) -> None:
    """One line per checkpoint, appended and synced; the folder and file are private (0700/0600)."""
    path = witness_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (signed.to_json() + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _hashes_between(after: int, upto: int) -> Iterator[bytes]:
    """The sealed entries' hashes with ``after < seq <= upto``, in order, a batch at a time."""
    last = after
    while last < upto:
        batch = list(
            AuditEntry.objects.filter(seq__gt=last, seq__lte=upto)
            .order_by("seq")
            .values_list("seq", "hash")[:SEAL_BATCH]
        )
        if not batch:
            return
        for seq, digest in batch:
            yield bytes.fromhex(digest or "")
            last = seq or last


def checkpoint(*, force: bool = False) -> AuditCheckpoint | None:
    """Sign the chain's state if it grew and the last checkpoint is older than
    ``AUDIT_CHECKPOINT_SECONDS`` (or ``force``), then hand it to the witness.

    Like a CT log's consistency check, the new checkpoint must extend the previous one: if the entry
    it ended at no longer has its hash, the chain was rewritten and nothing is signed.
    """
    from shequ.core import keys

    keys.prove_audit_key()  # a key that did not sign the last checkpoint (or a lost dev key) signs nothing
    with transaction.atomic():
        _sealer_lock()
        newest = AuditCheckpoint.objects.order_by("-seq").first()
        seq, head_hash = _sealed_head()
        if seq == 0 or (newest and newest.seq >= seq):
            return None
        now = timezone.now()
        interval = timedelta(seconds=settings.AUDIT_CHECKPOINT_SECONDS)
        if newest and not force and now - newest.at < interval:
            return None
        frontier: merkle.Frontier = []
        after = 0
        if newest:
            still = AuditEntry.objects.filter(seq=newest.seq).values_list("hash", flat=True).first()
            if still != newest.head_hash or not signature_ok(Checkpoint.of(newest)):
                raise CheckpointRefused(
                    f"entry {newest.seq} no longer matches checkpoint {newest.seq}: the chain was rewritten"
                )
            frontier, after = merkle.frontier_from_json(newest.frontier), newest.seq
        frontier = merkle.extend(frontier, _hashes_between(after, seq))
        if merkle.size(frontier) != seq:
            raise CheckpointRefused(f"entries up to {seq} are not all there: the chain has gaps")
        signed = Checkpoint(seq, head_hash, merkle.root(frontier).hex(), _canonical_time(now), key_id())
        signed = replace(signed, signature=_sign(signed))
        row = AuditCheckpoint.objects.create(
            seq=signed.seq,
            head_hash=signed.head_hash,
            root=signed.root,
            at=now,
            key_id=signed.key_id,
            signature=signed.signature,
            frontier=merkle.frontier_to_json(frontier),
        )
    # After commit: a witnessed checkpoint always exists in the database too.
    _witness_append(signed)
    return row


def newest_checkpoint() -> Checkpoint | None:
    row = AuditCheckpoint.objects.order_by("-seq").first()
    return Checkpoint.of(row) if row else None


def record_restore(*, backup_sha256: str) -> RestoreRecord:
    """After ``shequ restore``: witness that the chain now ends at the restored head, so that the
    witnessed checkpoints beyond it read as superseded by this restore, not as a truncation."""
    seq, head_hash = _sealed_head()
    record = RestoreRecord(seq, head_hash, _canonical_time(timezone.now()), backup_sha256, key_id())
    record = replace(record, signature=_sign(record))
    _witness_append(record)
    return record


def send_checkpoint_to_auditors() -> int:
    """The daily witness in the auditors' inbox (and their email): the newest checkpoint's text."""
    from django.utils.translation import gettext as _

    from shequ.core import messaging
    from shequ.core.models import Channel, Role, User

    cp = newest_checkpoint()
    if cp is None:
        return 0
    auditors = User.objects.filter(
        is_active=True, memberships__role=Role.AUDITOR, memberships__revoked_at__isnull=True
    ).distinct()
    body = _(
        "The audit log's newest signed checkpoint is below. Keep this message: 'shequ audit verify' "
        "checks the log against the checkpoints, and a log whose entry %(seq)s no longer ends in this "
        "head hash was changed.\n\n%(text)s"
    ) % {"seq": cp.seq, "text": cp.text()}
    with transaction.atomic():
        sent = messaging.notify(
            sender=None,
            recipients=auditors,
            subject=_("Audit log checkpoint: %(seq)s entries") % {"seq": cp.seq},
            body=body,
            channels=(Channel.INBOX, Channel.EMAIL),
            topic="audit.checkpoint",
            topic_ref=str(cp.seq),
        )
    return len(sent)


def sealer_loop(stop: Callable[[], bool], *, interval: float | None = None) -> None:
    """The worker's sealer thread: seal, checkpoint when due, sleep; wait out database outages
    (one log line when the database goes away, one when it is back). Any other error ends the loop:
    :func:`start_sealer` logs it and starts the loop again."""
    wait = settings.AUDIT_SEAL_SECONDS if interval is None else interval
    watch = outage.OutageWatch("audit sealer")
    refused: tuple[str, float] = ("", 0.0)  # the last refusal logged, and when
    try:
        while not stop():
            delay = wait
            try:
                close_old_connections()
                while seal() == SEAL_BATCH and not stop():
                    pass
                checkpoint()
                watch.ok()
            except CheckpointRefused as exc:
                # Critical, but once per cause and then as a reminder: not every second.
                now = time.monotonic()
                if str(exc) != refused[0] or now - refused[1] >= REFUSAL_REMINDER_SECONDS:
                    log.critical("audit checkpoint refused: %s", exc)
                    refused = (str(exc), now)
            except outage.DATABASE_ERRORS as exc:
                delay = watch.failed(exc)
            outage.sleep(delay, stop)
    finally:
        connection.close()


_sealer: threading.Thread | None = None
_sealer_guard = threading.Lock()


def start_sealer(stop: Callable[[], bool]) -> threading.Thread:
    """Start the supervised sealer thread, unless this process already runs one (a restarted
    in-process worker must not start a second)."""
    global _sealer
    with _sealer_guard:
        if _sealer is None or not _sealer.is_alive():
            _sealer = outage.supervise("audit sealer", lambda: sealer_loop(stop), stop)
        return _sealer


# Verification and inclusion proofs are in audit_verify.py (this module's size); callers keep using
# audit.verify() and audit.inclusion_proof().
from shequ.core.audit_verify import (  # noqa: E402 - after the names audit_verify imports from here
    InclusionProof,
    VerifyResult,
    inclusion_proof,
    reinstate_witnessed_checkpoints,
    verify,
)

__all__ = ["InclusionProof", "VerifyResult", "inclusion_proof", "reinstate_witnessed_checkpoints", "verify"]
