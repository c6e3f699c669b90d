"""Plan a deployment of one config: memory per device, KV cache, FLOPs, and the fit on a device."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from registry import selectors
from registry.core.counts import format_params
from registry.core.planning import DEVICES, DTYPE_BITS, PARAMETERS, Plan, parse_deployment, plan_config
from registry.management.base import RegistryCommand


def _gb(value: int | None) -> str:
    return "-" if value is None else f"{value / 1e9:,.2f} GB"


def _max_context(tokens: int | None) -> str:
    return "unbounded (sliding windows everywhere)" if tokens is None else f"{tokens:,} tokens"


class Command(RegistryCommand):
    help = "Plan a deployment of a config: weights and KV cache per device, FLOPs per token, fit on a device."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model_id")
        parser.add_argument("--mode", choices=["inference", "training"], help="Default inference.")
        parser.add_argument("--dtype", choices=list(DTYPE_BITS), help="Weight dtype (default bf16).")
        parser.add_argument("--kv-dtype", choices=list(DTYPE_BITS), help="KV-cache dtype (default bf16).")
        parser.add_argument("--context", help="Tokens per sequence (default the config's context length).")
        parser.add_argument("--batch", help="Sequences at once (default 1).")
        for degree, what in (("tp", "tensor"), ("pp", "pipeline"), ("ep", "expert"), ("cp", "context")):
            parser.add_argument(f"--{degree}", help=f"{what.capitalize()}-parallel degree (default 1).")
        parser.add_argument("--dp", help="Data-parallel degree (training; default 1).")
        parser.add_argument("--zero", help="ZeRO stage 0-3 (training; default 0).")
        parser.add_argument(
            "--device-memory", help=f"Memory of one device: bytes, 80GB, 80GiB, or one of {', '.join(DEVICES)}."
        )
        parser.add_argument("--utilization", help="Usable fraction of device memory (default 0.9).")
        parser.add_argument("--json", action="store_true", help="Print the API's JSON body instead of a table.")

    def handle(self, *args: Any, **options: Any) -> None:
        deployment, issues = parse_deployment({name: options.get(name) for name in PARAMETERS})
        if issues:
            raise CommandError("\n".join(f"--{i.loc.replace('_', '-')}: {i.msg} [{i.code}]" for i in issues))
        assert deployment is not None
        config = selectors.config_with_layers(model_id=options["model_id"])
        if config is None:
            raise CommandError(f"No config with model_id {options['model_id']!r}.")
        plan = plan_config(config.to_document(), deployment)
        if not plan.ok:
            raise CommandError("\n".join(f"--{i.loc}: {i.msg} [{i.code}]" for i in plan.errors))
        if options["json"]:
            self.stdout.write(json.dumps(plan.as_dict(), indent=2))
            return
        self._table(plan)

    def _table(self, plan: Plan) -> None:
        f, d = plan.as_dict(), plan.deployment
        device = f["device"]
        context = f["deployment"]["context"] or "-"
        self.stdout.write(
            f"{plan.model_id}: {d.mode.value}, {d.dtype} weights, {d.kv_dtype} KV cache, context {context}, "
            f"batch {d.batch}, tp {d.tp} pp {d.pp} ep {d.ep} cp {d.cp}"
            + (f" dp {d.dp} zero {d.zero}" if d.mode.value == "training" else "")
            + f" ({d.devices} devices)"
        )
        self.stdout.write(
            f"parameters {f['total_params']:,} ({format_params(f['total_params'])}), active per token "
            f"{f['active_params']:,}; weights {_gb(f['weight_bytes'])}"
        )
        header = (
            f"{'layer type':<22} {'class':<30} {'on device':>9} {'parameters':>16} {'bytes':>16}  {'cache':<24}  split"
        )
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for row in f["layer_types"]:
            self.stdout.write(
                f"{row['name']:<22} {row['class']:<30} {row['count_on_device']:>9} {row['parameters']:>16,} "
                f"{row['weight_bytes']:>16,}  {row['cache_rule']:<24}  {row['split']}"
            )
        kv = f["kv_cache"]
        self.stdout.write(
            f"heaviest device (stage {device['stage']}): {device['parameters']:,} parameters, weights "
            f"{_gb(device['weight_bytes'])}, KV cache {_gb(device['kv_cache_bytes'])}"
            + (f", training states {_gb(device['training_state_bytes'])}" if "training_state_bytes" in device else "")
            + f", total {_gb(device['total_bytes'])}"
        )
        self.stdout.write(
            f"KV cache per token: {kv['bytes_per_token']:,} bytes (model), {kv['bytes_per_token_per_device']:,} "
            "bytes (device)"
            + (
                f"; state per sequence: {kv['state_bytes_per_sequence']:,} bytes (model), "
                f"{kv['state_bytes_per_sequence_per_device']:,} bytes (device)"
                if kv["state_bytes_per_sequence"]
                else ""
            )
        )
        flops = f["flops_per_token"]
        forward = "-" if flops["forward"] is None else f"{flops['forward']:,}"
        self.stdout.write(
            f"FLOPs per token: forward {forward} ({flops['forward_without_attention']:,} without attention)"
        )
        fit = f.get("fit")
        if fit is not None:
            verdict = self.style.SUCCESS("fits") if fit["fits"] else self.style.ERROR("does not fit")
            self.stdout.write(
                f"on {_gb(fit['device_memory'])} × {d.utilization}: {verdict}, headroom {_gb(fit['headroom_bytes'])}"
                + (f", max context {_max_context(fit['max_context'])}" if d.mode.value == "inference" else "")
            )
        for note in f["notes"]:
            self.stdout.write(self.style.WARNING(f"note: {note}"))
