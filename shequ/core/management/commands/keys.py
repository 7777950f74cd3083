"""``shequ keys``: key escrow and fingerprints (shequ/core/escrow.py).

* ``shequ keys export --shares 5 --threshold 3 --out DIR``: one share file per custodian (0600);
  any 3 give the keys back, 2 reveal nothing.
* ``shequ keys import SHARE_FILE...``: restore the keys into the development key folder
  (``SHEQU_KEY_DIR``, default var/keys/), or print the ``SHEQU_*`` settings (``--print-env``).
* ``shequ keys fingerprint``: each key's short fingerprint, never the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shequ.core import escrow, keys


class Command(BaseCommand):
    help = "Export the platform's keys as custodians' shares, import them back, or print fingerprints."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        export = actions.add_parser("export", help="split the keys among custodians (Shamir k-of-n)")
        export.add_argument("--shares", type=int, required=True, help="number of custodians (N)")
        export.add_argument("--threshold", type=int, required=True, help="shares needed to restore (K)")
        export.add_argument("--out", type=Path, required=True, help="folder for the share files")
        restore = actions.add_parser("import", help="restore the keys from K share files")
        restore.add_argument("share_files", nargs="+", type=Path, metavar="SHARE_FILE")
        restore.add_argument(
            "--print-env", action="store_true", help="print the SHEQU_* settings instead of writing files"
        )
        restore.add_argument("--key-dir", type=Path, help="write here instead of SHEQU_KEY_DIR")
        actions.add_parser("fingerprint", help="print each key's fingerprint (never the key)")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            getattr(self, "_" + opts["action"])(opts)
        except (escrow.EscrowError, keys.KeyCheckError) as exc:
            raise CommandError(str(exc)) from None

    def _fingerprint(self, opts: dict[str, Any]) -> None:
        current = str(settings.FIELD_KEY_CURRENT)
        for name, fp in escrow.bundle_fingerprints(escrow.current_bundle()).items():
            mark = "  (current)" if name == f"field key {current}" else ""
            self.stdout.write(f"{name:<16} {fp}{mark}")

    def _export(self, opts: dict[str, Any]) -> None:
        # Export only keys proven to open the stored data (and written, if new dev keys).
        keys.check_keys()
        bundle = escrow.current_bundle()
        paths = escrow.export(bundle, shares=opts["shares"], threshold=opts["threshold"], out=opts["out"])
        first = escrow.read_share(paths[0]).body
        self.stdout.write(
            f"wrote {len(paths)} shares of set {first['set']} (any {opts['threshold']} restore the keys; "
            f"bundle fingerprint {first['bundle_fingerprint']}):"
        )
        for path in paths:
            self.stdout.write(f"  {path}")
        self.stdout.write("Give one file to each custodian and delete the folder; keys in the bundle:")
        for name, fp in first["key_fingerprints"].items():
            self.stdout.write(f"  {name:<16} {fp}")

    def _import(self, opts: dict[str, Any]) -> None:
        bundle = escrow.recover(opts["share_files"])
        if opts["print_env"]:
            for line in escrow.env_lines(bundle):
                self.stdout.write(line)
            return
        key_dir = opts["key_dir"] or Path(settings.KEY_DIR)
        # Any shequ command made a new secret key after the loss: the restored one replaces it (it
        # seals no stored data; sessions signed since then end).
        written = escrow.write_key_dir(bundle, key_dir, replaceable=frozenset({"secret_key"}))
        self.stdout.write(f"restored {len(written)} key file(s) into {key_dir}:")
        for name, fp in escrow.bundle_fingerprints(bundle).items():
            self.stdout.write(f"  {name:<16} {fp}")
        self.stdout.write("Run `shequ check-keys` to prove they open the stored data.")
