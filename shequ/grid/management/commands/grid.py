"""``shequ grid <subcommand>``: the grid app's admin commands.

- ``retrain``: retrain the request classifier on the shipped corpus's train split plus every
  ticket whose category staff confirmed or corrected, print the held-out accuracy on the corpus's
  test split, and save the model for the web and worker processes (they load it on next start).

Add a subcommand with a subparser in ``add_arguments`` and a ``_<name>`` method (dashes become
underscores).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Grid admin commands: retrain the request classifier."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", metavar="subcommand")
        sub.required = True
        retrain = sub.add_parser(
            "retrain", help="Retrain the request classifier on the corpus and staff-confirmed tickets."
        )
        retrain.add_argument(
            "--dry-run", action="store_true", help="Train and measure, but do not save the model."
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        name = str(opts["subcommand"]).replace("-", "_")
        action = getattr(self, f"_{name}", None)
        if action is None:
            raise CommandError(f"unknown subcommand {opts['subcommand']!r}")
        action(**opts)

    def _retrain(self, *, dry_run: bool = False, **_opts: Any) -> None:
        from shequ.grid import classifier

        started = time.perf_counter()
        result = classifier.retrain(save=not dry_run)
        model = result.model
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
