"""Import config files: validate every file first, then write all of them in one transaction, or nothing."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction
from tqdm import tqdm

from registry import conf
from registry.bulk import gc_paused
from registry.core.files import config_paths, read_config_file
from registry.management.base import RegistryCommand
from registry.services import ImportItem, ImportReport, Status, import_configs
from registry.services.devices import device_file, import_devices_with

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
        parser.add_argument(
            "--devices",
            type=Path,
            default=None,
            help="The device catalogue to load with the configs, in the same transaction (default: "
            "fixtures/devices/devices.json when no paths are given; none otherwise). --prune applies to it too.",
        )

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
            transaction.atomic(),
        ):
            items = []
            max_bytes = conf.max_file_bytes()
            for path in files:
                data, error = read_config_file(path, max_bytes)
                items.append(ImportItem(source=str(path), data=data, filename=path.name, read_error=error))
            report = import_configs(
                items=items,
                recompute=options["recompute"],
                dry_run=options["dry_run"],
                prune=options["prune"],
                progress=bar,
            )
            devices = import_devices_with(
                report, self._devices(options), dry_run=options["dry_run"], prune=options["prune"]
            )
        self._report(report, options, devices)

    @staticmethod
    def _devices(options: dict[str, Any]) -> Path | None:
        """The device catalogue to load: --devices, else the fixtures folder's when no paths are given."""
        if options["devices"] is not None:
            if not options["devices"].is_file():
                raise CommandError(f"No such file: {options['devices']}")
            return Path(options["devices"])
        default = device_file(conf.fixtures_dir())
        return default if not options["paths"] and default.is_file() else None

    def _report(self, report: ImportReport, options: dict[str, Any], devices: ImportReport | None = None) -> None:
        verbosity = options["verbosity"]
        for entry in [*report.sources, *(devices.sources if devices else [])]:
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
        for model_id in [*report.pruned, *(devices.pruned if devices else [])]:
            if verbosity >= 1:
                self.stdout.write(f"{'would prune' if options['dry_run'] else 'pruned'}: {model_id}")
        summary = report.summary()
        if not report.ok or (devices and not devices.ok):
            summary += f"; devices: {devices.summary()}" if devices else ""
            failed = report.count(Status.FAILED) + (devices.count(Status.FAILED) if devices else 0)
            total = len(report.sources) + (len(devices.sources) if devices else 0)
            raise CommandError(f"{summary}. {NOTHING_WRITTEN.format(failed=failed, total=total)}")
        if options["dry_run"]:
            summary += f". {DRY_RUN}"
        self.stdout.write(self.style.SUCCESS(summary))
        if devices is not None:  # after the configs' line, which scripts read first
            self.stdout.write(self.style.SUCCESS(f"devices: {devices.summary()}"))
