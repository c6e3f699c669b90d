"""Write stored configs as <model_id>.json files in the format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from registry import conf, selectors
from registry.core import dumps
from registry.management.base import RegistryCommand


class Command(RegistryCommand):
    help = "Write configs (all, or the MODEL_IDs given) as <model_id>.json files in the format."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model_ids", nargs="*", metavar="MODEL_ID")
        parser.add_argument("--output", "-o", type=Path, default=None, help="Folder to write to (default: fixtures/).")

    def handle(self, *args: Any, **options: Any) -> None:
        output: Path = options["output"] or conf.fixtures_dir()
        if output.exists() and not output.is_dir():
            raise CommandError(f"--output {output} is not a folder")
        configs = selectors.with_layers().order_by("model_id")
        wanted = options["model_ids"]
        if wanted:
            configs = configs.filter(model_id__in=wanted)
            self.require_stored(wanted, (c.model_id for c in configs))
        output.mkdir(parents=True, exist_ok=True)
        written = 0
        for config in configs:
            path = output / f"{config.model_id}.json"
            path.write_text(dumps(config.to_document()), encoding="utf-8")
            written += 1
            if options["verbosity"] >= 2:
                self.stdout.write(str(path))
        self.stdout.write(self.style.SUCCESS(f"Wrote {written} config file(s) to {output}"))
