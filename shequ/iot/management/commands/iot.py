"""``shequ iot <subcommand>``: IoT tools for operators and integrators.

shequ iot schemas                         # every payload's JSON schema, by "<kind>/<channel>"
shequ iot schemas --kind door --channel event
shequ iot schemas --output var/iot-schemas.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shequ.iot import payloads
from shequ.iot.models import Channel, DeviceKind


class Command(BaseCommand):
    help = "IoT tools: `schemas` prints the JSON schemas of the device payloads (docs/iot.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        schemas = sub.add_parser(
            "schemas", help="the JSON schemas of the device payloads, per kind and channel"
        )
        schemas.add_argument("--kind", choices=DeviceKind.values, help="only this device kind")
        schemas.add_argument("--channel", choices=Channel.values, help="only this channel")
        schemas.add_argument("--output", help="write to this file instead of printing")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["subcommand"] == "schemas":
            self.schemas(kind=opts.get("kind"), channel=opts.get("channel"), output=opts.get("output"))

    def schemas(self, *, kind: str | None, channel: str | None, output: str | None) -> None:
        documents = {
            key: schema
            for key, schema in payloads.schema_documents().items()
            if (kind is None or key.split("/")[0] == kind)
            and (channel is None or key.split("/")[1] == channel)
        }
        if not documents:
            raise CommandError(f"A {kind} device sends nothing on the {channel} channel.")
        text = json.dumps(documents, ensure_ascii=False, indent=2) + "\n"
        if output:
            Path(output).write_text(text)
            self.stdout.write(f"{len(documents)} schemas written to {output}")
        else:
            self.stdout.write(text, ending="")
