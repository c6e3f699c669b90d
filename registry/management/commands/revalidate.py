"""Validate stored configs under the current rules and stamp those accepted, their ETags unchanged."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from registry.management.base import RegistryCommand
from registry.services import revalidate


class Command(RegistryCommand):
    help = (
        "After an upgrade whose rules changed: validate every stored config (or the MODEL_IDs given) under the "
        "current rules and record that they pass. No document, digest or revision changes; configs the rules "
        "refuse are listed with their errors and left as they are (exit status 1)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model_ids", nargs="*", metavar="MODEL_ID")
        parser.add_argument("--dry-run", action="store_true", help="Report without recording anything.")

    def handle(self, *args: Any, **options: Any) -> None:
        ids = self.stored_ids(options["model_ids"])
        accepted, refused = revalidate(config_ids=ids, dry_run=options["dry_run"])
        for recheck in refused:
            for issue in recheck.errors:
                self.stdout.write(f"{recheck.model_id}: {issue.loc}: {issue.msg} [{issue.code}]")
        verb = "would pass" if options["dry_run"] else "pass"
        summary = f"{accepted} config(s) {verb} the current rules, {len(refused)} refused."
        if refused:
            raise CommandError(summary + " Fix the refused ones (recomputecounts for stale counts) and run it again.")
        self.stdout.write(self.style.SUCCESS(summary))
