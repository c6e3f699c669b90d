"""Import Hugging Face config.json files as registry configs: all of them, or nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from registry.hf_sources import SourceError, read_source, resolve
from registry.management.commands.loadconfigs import Command as LoadConfigsCommand
from registry.services import import_hf


class Command(LoadConfigsCommand):
    help = (
        "Convert Hugging Face config.json files (a file with --hf-id, a folder of Hub downloads, or a Hub id "
        "from your Hugging Face cache) into registry configs, validated and written in one transaction."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "sources",
            nargs="+",
            metavar="SOURCE",
            help="A config.json (with --hf-id), a folder (Hub cache layout or ORG/NAME/config.json), or ORG/NAME.",
        )
        parser.add_argument("--hf-id", metavar="ORG/NAME", help="The Hub repo a single config.json comes from.")
        parser.add_argument("--dry-run", action="store_true", help="Convert, validate and report without writing.")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Replace stored configs the import changes (their curated name, validated and notes too).",
        )
        parser.add_argument(
            "--download",
            action="store_true",
            help="Fetch a Hub id's config.json from the Hub when it is not in the cache (uses HF_TOKEN if set).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            found = resolve(options["sources"], hf_id=options["hf_id"], download=options["download"])
        except SourceError as exc:
            raise CommandError(f"{exc}\nNothing was written.") from exc
        report = import_hf(
            sources=[read_source(f) for f in found], dry_run=options["dry_run"], replace=options["replace"]
        )
        self._report(report, {**options, "prune": False})
