"""Recompute every derived parameter count from the catalogue in one vectorized pass."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from registry.core import CountError
from registry.management.base import RegistryCommand
from registry.services import Source, recompute_counts


class Command(RegistryCommand):
    help = "Recompute parameter_count of every layer type and the totals of every config (or the MODEL_IDs given)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model_ids", nargs="*", metavar="MODEL_ID")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change without writing.")

    def handle(self, *args: Any, **options: Any) -> None:
        ids = self.stored_ids(options["model_ids"])
        try:
            recounts = recompute_counts(config_ids=ids, dry_run=options["dry_run"], source=Source.RECOMPUTECOUNTS)
        except CountError as exc:
            raise CommandError(f"Nothing was written: {exc}") from exc
        for r in recounts:
            self.stdout.write(f"{r.model_id}: {r.old_total} -> {r.new_total}")
        verb = "would change" if options["dry_run"] else "changed"
        self.stdout.write(self.style.SUCCESS(f"{len(recounts)} config(s) {verb}."))
