"""``shequ rotate_keys``: re-encrypt every encrypted field under the current key.

Run it after adding a new key to ``SHEQU_FIELD_KEYS`` and pointing ``SHEQU_FIELD_KEY_CURRENT`` at
it; once it reports nothing left to rotate, the old key can be removed. Safe to interrupt and to
run again (rows already under the current key are skipped), and safe while the site runs: each row
is updated only if its ciphertext is still the one that was read. ``--reindex`` also recomputes
the blind indexes, after ``SHEQU_INDEX_KEY`` has changed.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction

from shequ.core import crypto, keys
from shequ.core.fields import Sealed, aad, blind_index_fields, encrypted_fields


class Command(BaseCommand):
    help = "Re-encrypt personal data under the current field key (and optionally rebuild blind indexes)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--dry-run", action="store_true", help="count what would change, change nothing")
        parser.add_argument("--reindex", action="store_true", help="also recompute blind indexes")

    def handle(self, *args: Any, **opts: Any) -> None:
        batch = opts["batch_size"]
        if batch < 1:
            raise CommandError("--batch-size must be at least 1")
        current = crypto.current_key_id()
        try:  # also records the canary of a new current key (keys.py)
            crypto.encrypt("", "probe", key_id=current)
        except crypto.CryptoError as exc:
            raise CommandError(f"the current key {current!r} is not usable: {exc}") from exc
        # A missing or wrong key: count what it affects, change nothing. --reindex moves the index
        # key on, so the index canary is not held against it.
        report = keys.inspect_keys(index=not opts["reindex"])
        dry_run = opts["dry_run"] or not report.ok
        unreadable: Counter[tuple[str, str]] = Counter()
        total = 0
        with keys.reindexing() if opts["reindex"] else contextlib.nullcontext():
            for model in apps.get_models():
                for field in encrypted_fields(model):
                    counts = self.rotate(
                        model, field.name, field.attname, current, batch, dry_run, opts["reindex"], unreadable
                    )
                    total += counts["rotated"]
                    if report.ok:
                        self.stdout.write(
                            f"{model._meta.label}.{field.name}: {counts['rotated']} rotated, "
                            f"{counts['current']} already under {current}, {counts['reindexed']} reindexed, "
                            f"{counts['raced']} changed meanwhile"
                        )
        lost = [
            f"{n} value(s) in {where} are encrypted with field key {key_id}, which "
            + ("is not configured" if key_id not in settings.FIELD_KEYS else "does not open them")
            for (where, key_id), n in sorted(unreadable.items())
        ]
        if not report.ok:
            raise CommandError("nothing was rotated:\n" + "\n".join(report.problems + lost))
        if lost:
            raise CommandError(
                f"rotated {total} value(s) to key {current}, but these were left as they are:\n"
                + "\n".join(lost)
            )
        if opts["reindex"] and not opts["dry_run"]:
            keys.record_index_canary()  # the indexes are now built with this index key
        verb = "would rotate" if opts["dry_run"] else "rotated"
        self.stdout.write(f"{verb} {total} value(s) to key {current}")

    def rotate(
        self,
        model: type[models.Model],
        name: str,
        attname: str,
        current: str,
        batch: int,
        dry_run: bool,
        reindex: bool,
        unreadable: Counter[tuple[str, str]],
    ) -> dict[str, int]:
        counts = {"rotated": 0, "current": 0, "reindexed": 0, "raced": 0}
        indexes = [f for f in blind_index_fields(model) if f.source == name] if reindex else []
        manager = model._base_manager
        last_pk: Any = None
        while True:
            qs = manager.exclude(**{attname: ""}).order_by("pk")
            if last_pk is not None:
                qs = qs.filter(pk__gt=last_pk)
            rows = list(qs.values_list("pk", "uid", attname, *[f.attname for f in indexes])[:batch])
            if not rows:
                return counts
            last_pk = rows[-1][0]
            with transaction.atomic():
                for pk, uid, sealed, *old_indexes in rows:
                    changes: dict[str, Any] = {}
                    stale_key = crypto.key_id_of(sealed) != current
                    if stale_key or indexes:
                        try:
                            plain = crypto.decrypt(sealed, aad(model, name, uid))
                        except crypto.CryptoError:
                            unreadable[(f"{model._meta.label}.{name}", crypto.key_id_of(sealed))] += 1
                            continue
                        if stale_key:
                            changes[attname] = Sealed(
                                crypto.encrypt(plain, aad(model, name, uid), key_id=current)
                            )
                        for index, old in zip(indexes, old_indexes, strict=True):
                            new = crypto.blind_index(plain, index.purpose)
                            if new != old:
                                changes[index.attname] = new
                    if not stale_key:
                        counts["current"] += 1
                    if not changes:
                        continue
                    # Only if nobody changed the row since we read it (a save() re-encrypts anyway).
                    updated = 1 if dry_run else manager.filter(pk=pk, **{attname: sealed}).update(**changes)
                    if not updated:
                        counts["raced"] += 1
                        continue
                    counts["rotated"] += int(stale_key)
                    counts["reindexed"] += int(any(i.attname in changes for i in indexes))
