"""What the registry's commands share: a database outage reported as one paragraph, not a traceback."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from registry import health, selectors


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

    def stored_ids(self, model_ids: list[str]) -> list[int] | None:
        """The pks of the MODEL_IDs a command was given (all configs: None); fails naming those not stored."""
        if not model_ids:
            return None
        found = selectors.config_pks(model_ids)
        self.require_stored(model_ids, found)
        return list(found.values())
