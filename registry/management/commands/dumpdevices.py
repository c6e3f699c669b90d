"""Write the stored device catalogue as its fixture file, in the file's order and canonical form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from registry import conf
from registry.core import dumps
from registry.management.base import RegistryCommand
from registry.models import Device
from registry.services.devices import device_file, document_of


class Command(RegistryCommand):
    help = "Write the device catalogue (every stored device) as one JSON file: loadconfigs reads it back unchanged."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output", "-o", type=Path, default=None, help="File to write (default: fixtures/devices/devices.json)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        output: Path = options["output"] or device_file(conf.fixtures_dir())
        if output.is_dir():
            raise CommandError(f"--output {output} is a folder; name the file")
        devices = [document_of(d) for d in Device.objects.order_by("position", "name")]
        if not devices:
            raise CommandError("No device is stored: nothing was written (loadconfigs loads the catalogue).")
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(dumps({"devices": devices}), encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"Wrote {len(devices)} device(s) to {output}"))
