"""What the registry's commands share: a database outage reported as one paragraph, not a traceback."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from registry import health


class RegistryCommand(BaseCommand):
    """A command whose database errors become one CommandError (exit status 1; the traceback with --traceback)."""

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute(*args, **options)
        except health.DATABASE_ERRORS as exc:
            raise CommandError(health.outage_message(exc, options.get("database") or "default")) from exc

    @staticmethod
    def require_stored(wanted: Iterable[str], found: Iterable[str]) -> None:
        """Fail, naming them, when model_ids the command was given are not stored; nothing is done then."""
        unknown = sorted(set(wanted) - set(found))
        if unknown:
            raise CommandError(f"No config with model_id: {', '.join(unknown)}")
