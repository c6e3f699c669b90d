"""The cheapest deployment of configs: every device × tp × pp × ep that fits, estimated; the cheapest meeting the
limits and the Pareto front of cost against TPOT (``GET /models/{id}/recommend``'s answer)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from registry import selectors
from registry.core.recommend_parameters import BY_NAME, TABLE, chosen, parse_search, recommendations
from registry.management.base import RegistryCommand, add_parameter_options, parameter_errors
from registry.models import ModelConfig


class Command(RegistryCommand):
    help = (
        "The cheapest deployment of each MODEL_ID on the catalogue's devices, per million output tokens, that fits "
        "and meets --ttft-ms and --tpot-ms, and the Pareto front of cost against TPOT (estimates)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model_ids", nargs="+", metavar="MODEL_ID")
        add_parameter_options(parser, TABLE)
        parser.add_argument("--json", action="store_true", help="Print the API's JSON body (a list) instead.")

    def handle(self, *args: Any, **options: Any) -> None:
        catalogue = selectors.device_catalogue()
        search, issues = parse_search({p.name: options.get(p.name) for p in TABLE}, catalogue)
        if issues:
            raise parameter_errors(issues, BY_NAME)
        assert search is not None
        pks = self.stored_ids(options["model_ids"])
        configs, rows = selectors.planning_stacks(ModelConfig.objects.filter(pk__in=pks).order_by("model_id"))
        devices = list(chosen(search, catalogue))
        results = recommendations(configs, rows, search, devices)
        if options["json"]:
            self.stdout.write(json.dumps(results, indent=2))
            return
        self.stdout.write(
            f"isl {search.isl}, osl {search.osl}, concurrency {search.concurrency}, {search.dtype} weights, "
            f"{len(devices)} device(s), at most {search.max_devices} per replica"
            + (f", TTFT ≤ {search.ttft_ms:g} ms" if search.ttft_ms is not None else "")
            + (f", TPOT ≤ {search.tpot_ms:g} ms" if search.tpot_ms is not None else "")
            + " (estimates)"
        )
        for result in results:
            self.stdout.write(self.style.MIGRATE_HEADING(f"{result['model_id']} ({result['evaluated']} evaluated)"))
            best = result["best"]
            if best is None:
                self.stdout.write(self.style.ERROR("  nothing fits and meets the limits"))
                continue
            self.stdout.write("  cheapest: " + _candidate(best))
            self.stdout.write("  Pareto front (cost against TPOT):")
            for candidate in result["pareto"]:
                self.stdout.write("    " + _candidate(candidate))


def _candidate(c: dict[str, Any]) -> str:
    replicas = f" × {c['replicas']} replicas" if c["replicas"] > 1 else ""
    return (
        f"{c['device']} tp {c['tp']} pp {c['pp']} ep {c['ep']} ({c['devices']} devices{replicas}): "
        f"${c['cost_per_million_output_tokens']:,.4f} per million output tokens, TTFT {c['ttft_ms']:,.1f} ms, "
        f"TPOT {c['tpot_ms']:,.2f} ms, {c['output_tokens_per_second']:,.0f} tokens/s"
    )
