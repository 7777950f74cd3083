"""Verifying the audit log (``shequ audit verify``) and inclusion proofs (``shequ audit prove``).

``verify()`` recomputes the chain and checks it against every signed checkpoint, the witnessed ones
first, so that a changed, deleted, cut-off or rewritten-and-recomputed log is found and named; see
``core/audit.py`` for how entries are recorded, sealed and checkpointed. Callers use
``audit.verify()`` and ``audit.inclusion_proof()``, which ``audit`` re-exports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from shequ.core import merkle
from shequ.core.audit import (
    GENESIS,
    Checkpoint,
    RestoreRecord,
    _canonical_time,
    _hashes_between,
    _sealed_head,
    _sign,
    chain_hash,
    key_id,
    signature_ok,
    unsealed_count,
    witness_path,
)
from shequ.core.models import AuditCheckpoint, AuditEntry

# --- verification -----------------------------------------------------------------------------


@dataclass
class VerifyResult:
    checked: int
    problems: list[str]
    head_seq: int = 0
    head_hash: str = GENESIS
    unsealed: int = 0
    checkpoints: int = 0
    witnessed_seq: int = 0
    notes: list[str] = field(default_factory=list)
    restores: int = 0  # restore records in the witness that set the chain back
    witness_ahead: int = 0  # verifying a copy: witnessed entries written after the copy was taken

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Claim:
    """What one checkpoint (in the database or on a witness line) says the chain looked like."""

    checkpoint: Checkpoint
    source: str
    restore: bool = False  # a restore record: it names the head only, and the database holds no row of it


def _witness_claims(
    problems: list[str], notes: list[str], copy_taken_at: datetime | None
) -> tuple[list[_Claim], int]:
    """The witness file's signed claims in order. A restore record supersedes the claims before it
    that lie beyond the restored head. For a copy taken at ``copy_taken_at``, reading stops at the
    first restore after it: later lines belong to a history the copy is not part of."""
    path = witness_path()
    if not path.exists():
        return [], 0
    claims: list[_Claim] = []
    restores = 0
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"witness file {path} line {number}"
        try:
            body = json.loads(line)
            restore = RestoreRecord.from_json(body) if body.get("type") == "restore" else None
            cp = Checkpoint.from_json(line) if restore is None else None
        except (ValueError, KeyError, TypeError, AttributeError):
            problems.append(f"{where}: not a checkpoint (the file was edited)")
            continue
        if cp is not None:
            _keep_if_signed(cp, where, claims, problems)
            continue
        assert restore is not None
        if restore.key_id != key_id():
            problems.append(
                f"{where}: restore record signed with key {restore.key_id}, which is not configured"
            )
            continue
        if not signature_ok(restore):
            problems.append(f"{where}: the restore record's signature does not match (edited or forged)")
            continue
        if copy_taken_at is not None and restore.at_datetime > copy_taken_at:
            notes.append(
                f"{where}: a restore after this copy was taken; later witness lines are not about it"
            )
            break
        restores += 1
        dropped = [c.checkpoint.seq for c in claims if c.checkpoint.seq > restore.seq]
        claims = [c for c in claims if c.checkpoint.seq <= restore.seq]
        superseded = (
            f"{len(dropped)} earlier witnessed checkpoint(s) up to entry {max(dropped)} superseded by"
            " the restore, not tampering"
            if dropped
            else "no witnessed checkpoint lay beyond it"
        )
        notes.append(
            f"{where}: restored from a backup (sha256 {restore.backup[:16]}…) at {restore.at}Z to entry"
            f" {restore.seq}; {superseded}"
        )
        if restore.seq > 0:
            head = Checkpoint(restore.seq, restore.head_hash, "", restore.at, "")
            claims.append(_Claim(head, f"the restore record on {where}", restore=True))
    return claims, restores


def _keep_if_signed(cp: Checkpoint, where: str, claims: list[_Claim], problems: list[str]) -> None:
    if cp.key_id != key_id():
        problems.append(f"{where}: signed with key {cp.key_id}, which is not configured; cannot be checked")
    elif not signature_ok(cp):
        problems.append(f"{where}: the signature does not match (the checkpoint was edited or forged)")
    else:
        claims.append(_Claim(cp, where))


def _database_claims(problems: list[str]) -> list[_Claim]:
    claims: list[_Claim] = []
    for row in AuditCheckpoint.objects.order_by("seq"):
        _keep_if_signed(Checkpoint.of(row), f"checkpoint {row.seq} in the database", claims, problems)
    return claims


def verify(
    batch: int = 5000, anchor: tuple[int, str] | None = None, *, copy_taken_at: datetime | None = None
) -> VerifyResult:
    """Walk the sealed chain in order and check it against every checkpoint.

    Found and named: a changed row (its hash), deleted rows (a gap), a rewritten row (the next
    entry's link), deleted newest rows (a checkpoint or ``anchor`` beyond the chain's end), a chain
    rewritten with every later hash recomputed (a checkpoint's head hash or Merkle root differs),
    an edited checkpoint or witness line (its signature), a deleted checkpoint (witnessed, missing
    from the database). ``anchor`` = (seq, hash) kept by hand from ``head()``, as before checkpoints.
    Witnessed checkpoints beyond the head of a signed restore record are superseded, not missing.

    ``copy_taken_at``: the database is a backup copy taken then (``shequ backup verify``). The
    witness has gone on since, so its checkpoints beyond the copy's chain are counted
    (``witness_ahead``) instead of reported as a truncation.
    """
    problems: list[str] = []
    notes: list[str] = []
    witnessed, restores = _witness_claims(problems, notes, copy_taken_at)
    stored = _database_claims(problems)
    if stored and not witnessed and not witness_path().exists():
        message = (
            f"no witness file at {witness_path()} although the database holds {len(stored)} checkpoints:"
            " the witness was removed, or SHEQU_AUDIT_WITNESS_DIR points elsewhere"
        )
        (notes if copy_taken_at else problems).append(message)
    claims: dict[int, list[_Claim]] = {}
    for claim in witnessed + stored:
        claims.setdefault(claim.checkpoint.seq, []).append(claim)
    if anchor is not None and anchor[0] > 0:
        at = _canonical_time(timezone.now())
        claims.setdefault(anchor[0], []).append(
            _Claim(Checkpoint(anchor[0], anchor[1], "", at, ""), "the anchor kept outside the database")
        )

    prev_hash = GENESIS
    expected_seq = 1
    checked = 0
    last_seq = 0
    frontier: merkle.Frontier = []
    while True:
        rows = list(AuditEntry.objects.filter(seq__isnull=False, seq__gt=last_seq).order_by("seq")[:batch])
        if not rows:
            break
        for entry in rows:
            assert entry.seq is not None and entry.hash is not None
            if entry.seq != expected_seq:
                problems.append(f"entries {expected_seq}..{entry.seq - 1} are missing (deleted)")
            if entry.prev_hash != prev_hash:
                problems.append(f"entry {entry.seq}: previous hash does not match the chain")
            if chain_hash(entry.prev_hash or "", entry) != entry.hash:
                problems.append(f"entry {entry.seq}: content was changed after it was written")
            frontier = merkle.extend(frontier, [bytes.fromhex(entry.hash)])
            for claim in claims.get(entry.seq, []):
                cp = claim.checkpoint
                if entry.hash != cp.head_hash:
                    problems.append(
                        f"entry {entry.seq}: differs from {claim.source}: the chain up to it was rewritten"
                        " (its hashes recomputed)"
                    )
                elif cp.root and merkle.root(frontier).hex() != cp.root:
                    problems.append(
                        f"entries 1..{entry.seq}: the Merkle root differs from {claim.source}:"
                        " entries before it were rewritten"
                    )
            prev_hash = entry.hash
            expected_seq = entry.seq + 1
            last_seq = entry.seq
            checked += 1
    if copy_taken_at is None:  # a copy may predate checkpoints of the entries it holds
        stored_seqs = {c.checkpoint.seq for c in stored}
        for claim in witnessed:
            if not claim.restore and claim.checkpoint.seq not in stored_seqs:
                seq = claim.checkpoint.seq
                problems.append(f"{claim.source}: checkpoint {seq} is missing from the database (deleted)")
    ahead = [c for c in witnessed if c.checkpoint.seq > last_seq] if copy_taken_at else []
    for seq in sorted(s for s in claims if s > last_seq):
        for claim in claims[seq]:
            if any(claim is c for c in ahead):
                continue
            what = claim.source if not claim.checkpoint.key_id else f"checkpoint {seq} ({claim.source})"
            problems.append(
                f"the chain ends at entry {last_seq} but {what} covers {seq}:"
                " the newest entries were deleted (truncation)"
            )
    result = VerifyResult(
        checked=checked,
        problems=problems,
        head_seq=last_seq,
        head_hash=prev_hash,
        unsealed=unsealed_count(),
        checkpoints=len(stored),
        witnessed_seq=max((c.checkpoint.seq for c in witnessed), default=0),
        notes=notes,
        restores=restores,
        witness_ahead=max((c.checkpoint.seq for c in ahead), default=last_seq) - last_seq,
    )
    if result.witness_ahead:
        result.notes.append(
            f"the witness holds {result.witness_ahead} entries beyond this copy (up to entry"
            f" {result.witnessed_seq}), written after it was taken: newer, not an error"
        )
    if result.unsealed:
        oldest = (
            AuditEntry.objects.filter(seq__isnull=True).order_by("id").values_list("at", flat=True).first()
        )
        result.notes.append(f"{result.unsealed} entries are not sealed yet (the oldest written {oldest})")
    if not witnessed:
        result.notes.append("no witnessed checkpoint yet: deleting the newest entries could not be seen")
    return result


def reinstate_witnessed_checkpoints(copy_taken_at: datetime) -> list[int]:
    """After a restore, before its restore record: put back the one witnessed checkpoint the copy
    missed only because it was taken between a seal and that seal's checkpoint (the sealer commits
    the two apart). Without it the restored log would read as a deleted checkpoint.

    Only the checkpoint at the copy's sealed head is put back, and only when it was signed after
    the copy was taken, with the configured key, over the restored chain's head hash and Merkle
    root (the backup's time is taken before its snapshot starts; the sealer's and the backup's
    clocks are the same machine's or NTP's). Any other checkpoint missing from a copy (its newest
    rows deleted, one in the middle) stays missing: that copy was changed, and ``audit verify``
    must say so. Returns the sequence numbers put back (none or one)."""
    claims, _restores = _witness_claims([], [], None)
    head_seq, _head = _sealed_head()
    newest = AuditCheckpoint.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    found = [
        c.checkpoint
        for c in claims
        if not c.restore
        and c.checkpoint.seq == head_seq > newest
        and c.checkpoint.at_datetime > copy_taken_at  # signed after the copy began
    ]
    if not found:
        return []
    cp = found[-1]
    frontier: merkle.Frontier = []
    after = 0
    if newest:
        row = AuditCheckpoint.objects.get(seq=newest)
        frontier, after = merkle.frontier_from_json(row.frontier), newest
    frontier = merkle.extend(frontier, _hashes_between(after, cp.seq))
    entry_hash = AuditEntry.objects.filter(seq=cp.seq).values_list("hash", flat=True).first()
    if entry_hash != cp.head_hash or merkle.root(frontier).hex() != cp.root or _sign(cp) != cp.signature:
        return []  # not this chain's: audit verify names it
    AuditCheckpoint.objects.create(
        seq=cp.seq,
        head_hash=cp.head_hash,
        root=cp.root,
        at=cp.at_datetime,
        key_id=cp.key_id,
        signature=cp.signature,
        frontier=merkle.frontier_to_json(frontier),
    )
    return [cp.seq]


# --- inclusion proofs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    entry_hash: str
    checkpoint: Checkpoint
    path: list[str]

    def verify(self) -> bool:
        return merkle.verify_inclusion(
            bytes.fromhex(self.entry_hash),
            self.seq - 1,
            self.checkpoint.seq,
            [bytes.fromhex(h) for h in self.path],
            bytes.fromhex(self.checkpoint.root),
        )


def inclusion_proof(seq: int, checkpoint_seq: int | None = None) -> InclusionProof:
    """Show that entry ``seq`` is in a checkpoint (the newest covering it unless one is named):
    the entry's hash and log2(n) sibling hashes rebuild the checkpoint's signed root."""
    rows = AuditCheckpoint.objects.filter(seq__gte=seq)
    row = rows.filter(seq=checkpoint_seq).first() if checkpoint_seq else rows.order_by("-seq").first()
    if row is None:
        raise LookupError(f"no checkpoint covers entry {seq} yet")
    entry_hash = AuditEntry.objects.filter(seq=seq).values_list("hash", flat=True).first()
    if entry_hash is None:
        raise LookupError(f"entry {seq} is not in the sealed chain")
    leaves = [merkle.leaf_hash(h) for h in _hashes_between(0, row.seq)]
    path = merkle.inclusion_path(seq - 1, leaves)
    return InclusionProof(seq, entry_hash, Checkpoint.of(row), [h.hex() for h in path])
