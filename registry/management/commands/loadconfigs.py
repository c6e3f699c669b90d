"""Import config files: validate every file first, then write all of them in one transaction, or nothing."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from tqdm import tqdm

from registry import conf
from registry.bulk import gc_paused
from registry.core.files import config_paths, read_config_file
from registry.management.base import RegistryCommand
from registry.services import ImportItem, ImportReport, Status, import_configs

NOTHING_WRITTEN = "Nothing was written: {failed} of {total} files failed."
DRY_RUN = "Dry run: nothing was written."
PROGRESS_THRESHOLD = 200


class Command(RegistryCommand):
    # Like loaddata, a data command: the system checks add start-up time and guard nothing here.
    requires_system_checks: list[str] = []
    help = (
        "Validate config JSON files (default: fixtures/) and write them all in one transaction, "
        "or nothing if any file fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="*", type=Path, help="Files or folders of *.json (default: fixtures/).")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report without writing.")
        parser.add_argument(
            "--recompute", action="store_true", help="Replace stale derived values instead of failing on them."
        )
        parser.add_argument(
            "--prune", action="store_true", help="Delete stored configs whose file is not among the inputs."
        )
        parser.add_argument("--no-progress", action="store_true", help="Never show a progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        paths: list[Path] = options["paths"] or [conf.fixtures_dir()]
        missing = [p for p in paths if not p.exists()]
        if missing:
            raise CommandError(f"No such file or folder: {', '.join(str(p) for p in missing)}")
        files = config_paths(paths)
        if options["prune"] and not files:
            raise CommandError(
                f"No *.json files under {', '.join(str(p) for p in paths)}: --prune would delete every stored "
                "config. Nothing was done."
            )
        show_bar = (
            not options["no_progress"]
            and len(files) >= PROGRESS_THRESHOLD
            and options["verbosity"] >= 1
            and sys.stderr.isatty()
        )
        with (
            gc_paused(),
            tqdm(total=len(files), unit="file", disable=not show_bar, file=sys.stderr, leave=False) as bar,
        ):
            items = []
            for path in files:
                data, error = read_config_file(path)
                items.append(ImportItem(source=str(path), data=data, filename=path.name, read_error=error))
            report = import_configs(
                items=items,
                recompute=options["recompute"],
                dry_run=options["dry_run"],
                prune=options["prune"],
                progress=bar,
            )
        self._report(report, options)

    def _report(self, report: ImportReport, options: dict[str, Any]) -> None:
        verbosity = options["verbosity"]
        for entry in report.sources:
            if entry.errors:
                self.stderr.write(self.style.ERROR(f"{entry.source}: {len(entry.errors)} error(s)"))
                for issue in entry.errors:
                    self.stderr.write(f"  {issue}")
                continue
            if verbosity >= 2 or (verbosity >= 1 and entry.status in {Status.CREATED, Status.UPDATED}):
                self.stdout.write(f"{entry.status}: {entry.model_id} ({entry.source})")
            for issue in entry.recomputed:
                if verbosity >= 1:
                    self.stdout.write(self.style.WARNING(f"  recomputed {issue}"))
            for issue in entry.warnings:
                if verbosity >= 2:
                    self.stdout.write(self.style.WARNING(f"  warning {issue}"))
        for model_id in report.pruned:
            if verbosity >= 1:
                self.stdout.write(f"{'would prune' if options['dry_run'] else 'pruned'}: {model_id}")
        summary = report.summary()
        if not report.ok:
            failed = report.count(Status.FAILED)
            raise CommandError(f"{summary}. {NOTHING_WRITTEN.format(failed=failed, total=len(report.sources))}")
        if options["dry_run"]:
            summary += f". {DRY_RUN}"
        self.stdout.write(self.style.SUCCESS(summary))
