"""Plan a deployment of one config: memory per device, KV cache, FLOPs, and the fit on a device."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from registry import selectors
from registry.core.counts import format_params
from registry.core.plan_parameters import BY_NAME, PARAMETERS, TABLE
from registry.core.planning import Plan, parse_deployment, plan_config
from registry.management.base import RegistryCommand


def _gb(value: int | None) -> str:
    return "-" if value is None else f"{value / 1e9:,.2f} GB"


def _max_context(tokens: int | None) -> str:
    return "unbounded (sliding windows everywhere)" if tokens is None else f"{tokens:,} tokens"


def _option(loc: str) -> str:
    """The option an issue's loc names (``kv_dtype``: ``--kv-dtype``)."""
    return BY_NAME[loc].option if loc in BY_NAME else f"--{loc}"


class Command(RegistryCommand):
    help = "Plan a deployment of a config: weights and KV cache per device, FLOPs per token, fit on a device."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model_id")
        for parameter in TABLE:  # --mode, --dtype, --kv-dtype, --context, ..., --device-memory, --utilization
            parser.add_argument(
                parameter.option,
                dest=parameter.name,
                help=parameter.help_text,
                choices=list(parameter.choices) if parameter.choices else None,  # None: argparse's default
            )
        parser.add_argument("--json", action="store_true", help="Print the API's JSON body instead of a table.")

    def handle(self, *args: Any, **options: Any) -> None:
        deployment, issues = parse_deployment({name: options.get(name) for name in PARAMETERS})
        if issues:
            raise CommandError("\n".join(f"{_option(i.loc)}: {i.msg} [{i.code}]" for i in issues))
        assert deployment is not None
        config = selectors.config_with_layers(model_id=options["model_id"])
        if config is None:
            raise CommandError(f"No config with model_id {options['model_id']!r}.")
        plan = plan_config(config.to_document(), deployment)
        if not plan.ok:
            raise CommandError("\n".join(f"{_option(i.loc)}: {i.msg} [{i.code}]" for i in plan.errors))
        if options["json"]:
            self.stdout.write(json.dumps(plan.as_dict(), indent=2))
            return
        self._table(plan)

    def _table(self, plan: Plan) -> None:
        out, d = plan.outputs, plan.deployment
        assert out is not None
        device, kv, flops, fit = out.device, out.kv_cache, out.flops_per_token, out.fit
        context = plan.context or "-"
        self.stdout.write(
            f"{plan.model_id}: {d.mode.value}, {d.dtype} weights, {d.kv_dtype} KV cache, context {context}, "
            f"batch {d.batch}, tp {d.tp} pp {d.pp} ep {d.ep} cp {d.cp}"
            + (f" dp {d.dp} zero {d.zero}" if d.mode.value == "training" else "")
            + f" ({d.devices} devices)"
        )
        self.stdout.write(
            f"parameters {out.total_params:,} ({format_params(out.total_params)}), active per token "
            f"{out.active_params:,}; weights {_gb(out.weight_bytes)}"
        )
        header = (
            f"{'layer type':<22} {'class':<30} {'on device':>9} {'parameters':>16} {'bytes':>16}  {'cache':<24}  split"
        )
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for row in plan.layers:
            self.stdout.write(
                f"{row.name:<22} {row.class_name:<30} {row.count_on_device:>9} {row.parameters:>16,} "
                f"{row.weight_bytes:>16,}  {row.cache_rule:<24}  {row.split}"
            )
        states = device.training_state_bytes
        self.stdout.write(
            f"heaviest device (stage {device.stage}): {device.parameters:,} parameters, weights "
            f"{_gb(device.weight_bytes)}, KV cache {_gb(device.kv_cache_bytes)}"
            + (f", training states {_gb(states)}" if states is not None else "")
            + f", total {_gb(device.total_bytes)}"
        )
        self.stdout.write(
            f"KV cache per token: {kv.bytes_per_token:,} bytes (model), {kv.bytes_per_token_per_device:,} "
            "bytes (device)"
            + (
                f"; state per sequence: {kv.state_bytes_per_sequence:,} bytes (model), "
                f"{kv.state_bytes_per_sequence_per_device:,} bytes (device)"
                if kv.state_bytes_per_sequence
                else ""
            )
        )
        forward = "-" if flops.forward is None else f"{flops.forward:,}"
        self.stdout.write(f"FLOPs per token: forward {forward} ({flops.forward_without_attention:,} without attention)")
        if fit is not None:
            verdict = self.style.SUCCESS("fits") if fit.fits else self.style.ERROR("does not fit")
            self.stdout.write(
                f"on {_gb(fit.device_memory)} × {d.utilization}: {verdict}, headroom {_gb(fit.headroom_bytes)}"
                + (f", max context {_max_context(fit.max_context)}" if d.mode.value == "inference" else "")
            )
        for note in plan.notes:
            self.stdout.write(self.style.WARNING(f"note: {note}"))
