"""``shequ audit``: the audit log's chain, checkpoints and proofs (docs/security.md).

- ``verify``: seal what is committed, recompute the chain and check it against every signed
  checkpoint (the witness file's first); names each problem and exits non-zero.
- ``checkpoint``: print the newest signed checkpoint (``--new`` signs one now), for a printout or
  a ticket kept outside the platform.
- ``seal``: chain the committed entries now (the worker does it every second).
- ``prove SEQ``: an inclusion proof that entry SEQ is in the newest checkpoint.
- ``head``: the newest entry as ``<seq>:<hash>``; ``verify --anchor <seq>:<hash>`` checks it.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shequ.core import audit

_ANCHOR = re.compile(r"^(\d+):([0-9a-f]{64})$")


class Command(BaseCommand):
    help = "Verify the audit log against its signed checkpoints, print a checkpoint, seal, or prove an entry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify", "head", "seal", "checkpoint", "prove"])
        parser.add_argument("seq", nargs="?", type=int, help="prove: the entry's sequence number")
        parser.add_argument(
            "--anchor", default="", help="verify: <seq>:<hash> printed earlier by 'audit head'"
        )
        parser.add_argument("--new", action="store_true", help="checkpoint: sign a new one if the log grew")

    def handle(self, *args: Any, **opts: Any) -> None:
        action = opts["action"]
        if action == "head":
            seq, digest = audit.head()
            self.stdout.write(f"{seq}:{digest}")
        elif action == "seal":
            self.stdout.write(f"sealed {audit.seal_all()} entries; head {':'.join(map(str, audit.head()))}")
        elif action == "checkpoint":
            self._checkpoint(new=opts["new"])
        elif action == "prove":
            self._prove(opts["seq"])
        else:
            self._verify(opts["anchor"])

    def _checkpoint(self, *, new: bool) -> None:
        if new:
            audit.seal_all()
            try:
                audit.checkpoint(force=True)
            except audit.CheckpointRefused as exc:
                raise CommandError(f"no checkpoint signed: {exc}") from exc
        newest = audit.newest_checkpoint()
        if newest is None:
            raise CommandError(
                "no checkpoint yet: the worker signs one once entries are sealed (or use --new)"
            )
        if not audit.signature_ok(newest):
            raise CommandError(f"the newest checkpoint ({newest.seq}) does not carry a valid signature")
        self.stdout.write(newest.text())

    def _prove(self, seq: int | None) -> None:
        if not seq or seq < 1:
            raise CommandError("prove needs the entry's sequence number, e.g. 'shequ audit prove 42'")
        try:
            proof = audit.inclusion_proof(seq)
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        if not proof.verify():
            raise CommandError(f"entry {seq} does not verify against checkpoint {proof.checkpoint.seq}")
        self.stdout.write(f"entry {seq} hash {proof.entry_hash}")
        self.stdout.write(
            f"is leaf {seq - 1} of the {proof.checkpoint.seq} entries under root {proof.checkpoint.root}"
        )
        for number, sibling in enumerate(proof.path, start=1):
            self.stdout.write(f"path {number} {sibling}")
        self.stdout.write("inclusion proof verified")

    def _verify(self, raw_anchor: str) -> None:
        anchor = None
        if raw_anchor:
            match = _ANCHOR.match(raw_anchor.strip().lower())
            if not match:
                raise CommandError("--anchor must look like <seq>:<64 hex characters>")
            anchor = (int(match.group(1)), match.group(2))
        audit.seal_all()
        result = audit.verify(anchor=anchor)
        for note in result.notes:
            self.stdout.write(note)
        for problem in result.problems:
            self.stderr.write(problem)
        if not result.ok:
            raise CommandError(
                f"audit chain broken: {len(result.problems)} problem(s) in {result.checked} entries"
            )
        self.stdout.write(
            f"audit chain intact: {result.checked} entries, head {result.head_seq}:{result.head_hash};"
            f" {result.checkpoints} checkpoints, the newest witnessed covers {result.witnessed_seq}"
        )
