"""What the registry's commands share: a database outage reported as one paragraph, not a traceback."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry import health, selectors
from registry.core.issues import Issue
from registry.core.plan_parameters import Parameter


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


def add_parameter_options(parser: CommandParser, table: Iterable[Parameter]) -> None:
    """An option per parameter of ``table`` (``plan``'s and ``recommend``'s): ``--kv-dtype``, a flag for a
    true/false choice (``--enforce-eager``)."""
    for parameter in table:
        if parameter.choices == ("false", "true"):
            parser.add_argument(
                parameter.option, dest=parameter.name, action="store_const", const="true", help=parameter.help_text
            )
            continue
        parser.add_argument(
            parameter.option,
            dest=parameter.name,
            help=parameter.help_text,
            choices=list(parameter.choices) if parameter.choices else None,  # None: argparse's default
        )


def _option(loc: str, by_name: Mapping[str, Parameter]) -> str:
    """The option an issue's loc names (``kv_dtype``: ``--kv-dtype``)."""
    return by_name[loc].option if loc in by_name else f"--{loc}"


def parameter_errors(issues: Iterable[Issue], by_name: Mapping[str, Parameter]) -> CommandError:
    """One error listing every issue at the option it names, ``by_name`` the parameters by name."""
    return CommandError("\n".join(f"{_option(i.loc, by_name)}: {i.msg} [{i.code}]" for i in issues))
