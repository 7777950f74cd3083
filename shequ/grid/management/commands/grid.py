"""``shequ grid <subcommand>``: the grid app's admin commands.

- ``retrain``: retrain the request classifier on the shipped corpus's train split plus every
  ticket whose category staff confirmed or corrected, print the held-out accuracy on the corpus's
  test split, and save the model for the web and worker processes (they load it within a minute,
  no restart: ``grid.modelfile.RECHECK_SECONDS``); then the life-safety detector's model, with
  cleared false alarms as ordinary texts and confirmed alarms as life-safety ones.
- ``import-hotline FILE --as USER``: check a 12345 hotline export as USER (their import regions
  apply) and print every problem by row and column; with ``--commit`` import the valid rows.
- ``rollup --rebuild``: recompute the statistics rollup from the tickets (after bulk loads that
  bypass the services); ``rollup --check``: compare it with a recompute and print every
  difference (exit status 1 when there is one).

Add a subcommand with a subparser in ``add_arguments`` and a ``_<name>`` method (dashes become
underscores).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Grid admin commands: retrain the request classifier, import 12345 hotline files, "
        "rebuild or check the statistics rollup."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", metavar="subcommand")
        sub.required = True
        retrain = sub.add_parser(
            "retrain", help="Retrain the request classifier on the corpus and staff-confirmed tickets."
        )
        retrain.add_argument(
            "--dry-run", action="store_true", help="Train and measure, but do not save the model."
        )
        hotline = sub.add_parser(
            "import-hotline", help="Check a 12345 hotline export and, with --commit, import its valid rows."
        )
        hotline.add_argument("file", help="The .xlsx, .xls or .csv file the hotline centre exported.")
        hotline.add_argument(
            "--as", dest="username", required=True, help="The importing account (its import regions apply)."
        )
        hotline.add_argument(
            "--commit", action="store_true", help="Import the valid rows, all in one transaction."
        )

        rollup = sub.add_parser(
            "rollup", help="Rebuild the statistics rollup from the tickets, or check it against them."
        )
        what = rollup.add_mutually_exclusive_group(required=True)
        what.add_argument("--rebuild", action="store_true", help="Recompute every row from the tickets.")
        what.add_argument(
            "--check", action="store_true", help="Compare the rows with a recompute; exit 1 on a difference."
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        name = str(opts["subcommand"]).replace("-", "_")
        action = getattr(self, f"_{name}", None)
        if action is None:
            raise CommandError(f"unknown subcommand {opts['subcommand']!r}")
        action(**opts)

    def _retrain(self, *, dry_run: bool = False, **_opts: Any) -> None:
        from shequ.core import audit
        from shequ.grid import classifier

        started = time.perf_counter()
        result = classifier.retrain(save=not dry_run)
        model = result.model
        # Retraining reads the texts of tickets staff confirmed (residents' words): on the record.
        audit.record(
            "grid.retrain",
            actor_name="shequ grid retrain",
            object_type="grid.classifier",
            detail={
                "tickets": result.ticket_samples,
                "corpus": result.corpus_samples,
                "top1": round(result.held_out.top1, 4),
                "top3": round(result.held_out.top3, 4),
                "saved": result.path is not None,
            },
        )
        self.stdout.write(
            f"samples: {model.samples} ({result.corpus_samples} corpus train texts, "
            f"{result.ticket_samples} staff-confirmed tickets), {len(model.classes)} categories"
        )
        self.stdout.write(
            f"held-out corpus test split ({result.held_out.samples} texts): "
            f"top-1 {result.held_out.top1:.1%}, top-3 {result.held_out.top3:.1%}"
        )
        self.stdout.write(
            f"trained in {model.train_seconds:.1f} s ({time.perf_counter() - started:.1f} s in all)"
        )
        if result.path is None:
            self.stdout.write("dry run: model not saved")
        else:
            self.stdout.write(f"saved {result.path} (corpus version {model.version})")
        # The life-safety detector's model learns from what staff decided about earlier alarms.
        from shequ.grid import lifesafety

        safety = lifesafety.retrain(save=not dry_run)
        audit.record(
            "grid.retrain_lifesafety",
            actor_name="shequ grid retrain",
            object_type="grid.lifesafety",
            detail={
                "tickets": safety.ticket_samples,
                "base": safety.base_samples,
                "saved": safety.path is not None,
            },
        )
        self.stdout.write(
            f"life-safety detector: {safety.model.samples} texts ({safety.base_samples} shipped, "
            f"{safety.ticket_samples} from staff decisions on earlier alarms), trained in "
            f"{safety.model.train_seconds:.1f} s" + ("" if safety.path is None else f", saved {safety.path}")
        )

    def _import_hotline(self, *, file: str, username: str, commit: bool = False, **_opts: Any) -> None:
        from pathlib import Path

        from django.core.exceptions import PermissionDenied

        from shequ.core.models import User
        from shequ.grid import hotline

        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active account {username!r}")
        try:
            content = Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from exc
        name = Path(file).name
        try:
            plan = hotline.check(content=content, filename=name, actor=user)
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        report = plan.report
        for p in report.problems:
            where = f"row {p.row} {p.column_letter} {p.column}".strip() if p.row else "file"
            self.stdout.write(f"{where}: {p.reason} [{p.code}]")
        self.stdout.write(
            f"{report.data_rows} rows, {report.valid_count} valid, {len(report.error_rows)} with problems"
        )
        if not commit:
            self.stdout.write("dry run: nothing imported (add --commit to import the valid rows)")
            return
        result = hotline.commit(
            content=content, filename=name, actor=user, expect=(report.valid_count, report.valid_digest)
        )
        if result.status != "committed":
            raise CommandError(result.message)
        self.stdout.write(f"imported {len(result.tickets)} tickets")

    def _rollup(self, *, rebuild: bool = False, check: bool = False, **_opts: Any) -> None:
        from shequ.grid import stats_rollup

        started = time.perf_counter()
        if rebuild:
            tickets, pushes = stats_rollup.rebuild()
            self.stdout.write(
                f"rollup rebuilt: {tickets} ticket rows, {pushes} department rows "
                f"in {time.perf_counter() - started:.1f} s"
            )
            return
        differences = stats_rollup.check()
        for difference in differences[:50]:
            self.stdout.write(str(difference))
        if differences:
            raise CommandError(f"rollup differs from the tickets in {len(differences)} rows")
        self.stdout.write(f"rollup matches the tickets (checked in {time.perf_counter() - started:.1f} s)")
