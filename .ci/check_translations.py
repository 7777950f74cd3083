"""Fail when a user-facing string lacks a zh-Hans translation or the compiled .mo is stale.

Runs `makemessages` (which rewrites the .po with every msgid in the code and templates), then
checks that each entry is translated and not fuzzy, and that the committed .mo says the same.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "shequ/locale/zh_Hans/LC_MESSAGES/django.po"
MO = PO.with_suffix(".mo")
SHEQU = str(ROOT / ".venv/bin/shequ")


def main() -> int:
    before = PO.read_text(encoding="utf-8")
    subprocess.run(
        [
            SHEQU,
            "makemessages",
            "-l",
            "zh_Hans",
            "--no-obsolete",
            "--no-location",
            "--ignore=.venv",
            "--ignore=node_modules",
            "--ignore=var",
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    po = polib.pofile(str(PO))
    PO.write_text(before, encoding="utf-8")  # leave the tree as it was
    problems = [f"untranslated: {e.msgid!r}" for e in po.untranslated_entries()]
    problems += [f"fuzzy: {e.msgid!r}" for e in po.fuzzy_entries()]
    mo = {
        (e.msgctxt, e.msgid): (e.msgstr, tuple(sorted(e.msgstr_plural.items())))
        for e in polib.mofile(str(MO))
    }
    for e in po.translated_entries():
        if mo.get((e.msgctxt, e.msgid)) != (e.msgstr, tuple(sorted(e.msgstr_plural.items()))):
            problems.append(f"not compiled into django.mo: {e.msgid!r}")
    for p in problems:
        print(p)
    print(f"{len(po)} messages, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
