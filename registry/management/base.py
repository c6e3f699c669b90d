"""What the registry's commands share: a database outage reported as one paragraph, not a traceback."""

from __future__ import annotations

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
