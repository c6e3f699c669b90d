"""Plan a deployment of one config (memory per device, KV cache, FLOPs, the fit on a device and, with isl and osl,
the estimated speed and cost), or of every row of a CSV file (``--sweep``)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import CommandError, CommandParser

from registry import selectors
from registry.core import serving
from registry.core.counts import format_params
from registry.core.devices import DeviceSpec
from registry.core.files import read_file_bytes
from registry.core.issues import Code, Issue
from registry.core.plan_outputs import PlanPerformance
from registry.core.plan_parameters import BY_NAME, PARAMETERS, TABLE
from registry.core.planning import Plan, parse_deployment
from registry.management.base import RegistryCommand, add_parameter_options, parameter_errors

# The sweep file's columns, as the issue names them; any other deployment parameter is a column too.
SWEEP_COLUMNS = ("model_id", "device", "dtype", "kv_dtype", "tp", "pp", "ep", "isl", "osl", "concurrency", "engine")
SWEEP_ALLOWED = ("model_id", *PARAMETERS)


def _gb(value: int | None) -> str:
    """Bytes in GiB (2**30: devices' memory is counted so), with the unit said."""
    return "-" if value is None else f"{value / 2**30:,.2f} GiB"


def _line(name: str, value: int, note: str = "") -> str:
    return f"  {name:<34} {value:>20,} B  {_gb(value):>14}" + (f"  {note}" if note else "")


def _max_context(tokens: int | None) -> str:
    return "unbounded (sliding windows everywhere)" if tokens is None else f"{tokens:,} tokens"


class Command(RegistryCommand):
    help = (
        "Plan a deployment of a config: weights and KV cache per device, FLOPs per token, fit on a device and, "
        "with --isl and --osl, the estimated TTFT, TPOT, throughput and cost. --sweep FILE.csv plans every row."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model_id", nargs="?", help="The config to plan (not with --sweep).")
        parser.add_argument(
            "--sweep",
            type=Path,
            help="A CSV file, one deployment per row (columns " + ", ".join(SWEEP_COLUMNS) + ", or any other "
            "deployment parameter; blank means the default): one JSON object per row, the API's plan, or the "
            "row's errors ({row, model_id, errors}), in the file's order.",
        )
        parser.add_argument("--output", type=Path, help="With --sweep: write the JSON lines to this file.")
        add_parameter_options(parser, TABLE)  # --mode, --dtype, --kv-dtype, ..., --device-memory, --utilization
        parser.add_argument("--json", action="store_true", help="Print the API's JSON body instead of a table.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["sweep"] is not None:
            self._sweep(options)
            return
        if options["output"] is not None:
            raise CommandError("--output goes with --sweep")
        if options["model_id"] is None:
            raise CommandError("Give a MODEL_ID, or --sweep FILE.csv")
        devices = selectors.device_catalogue()
        deployment, issues = parse_deployment({name: options.get(name) for name in PARAMETERS}, devices)
        if issues:
            raise parameter_errors(issues, BY_NAME)
        assert deployment is not None
        config = selectors.config_with_layers(model_id=options["model_id"])
        if config is None:
            raise CommandError(f"No config with model_id {options['model_id']!r}.")
        device = devices.get(deployment.device) if deployment.device else None
        plan = serving.plan_config(config.to_document(), deployment, device)
        if not plan.ok:
            raise parameter_errors(plan.errors, BY_NAME)
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
        if out.training is not None:
            t = out.training
            self.stdout.write(
                f"heaviest device (stage {device.stage}): {device.parameters:,} parameters "
                f"(weights {_gb(device.weight_bytes)} in {d.dtype}, inside the training states)"
            )
            self.stdout.write(
                f"training: recompute {t.recompute}, sequence parallel {'on' if t.sequence_parallel else 'off'}, "
                f"micro-batch {t.micro_batch}, interleave {t.interleave}, {t.micro_batches_in_flight} "
                "micro-batch(es) in flight"
            )
            self.stdout.write(_line("ZeRO states (K = 12)", t.state_bytes))
            approximate = "(approximate mixers)" if t.activations_approximate else ""
            self.stdout.write(_line("activations: decoder layers", t.activation_bytes, approximate))
            self.stdout.write(_line("activations: embedding", t.embedding_activation_bytes))
            self.stdout.write(_line("activations: output layer and loss", t.output_activation_bytes))
            self.stdout.write(_line("reserved", t.reserved_bytes))
            self.stdout.write(_line("total", t.total_bytes))
            if t.max_micro_batch is not None:
                self.stdout.write(f"  largest micro-batch that fits: {t.max_micro_batch:,}")
        else:
            self.stdout.write(
                f"heaviest device (stage {device.stage}): {device.parameters:,} parameters, weights "
                f"{_gb(device.weight_bytes)}, KV cache {_gb(device.kv_cache_bytes)}, total {_gb(device.total_bytes)}"
            )
        self.stdout.write(
            ("inference would cache, " if out.training is not None else "")
            + f"KV cache per token: {kv.bytes_per_token:,} bytes (model), {kv.bytes_per_token_per_device:,} "
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
        if out.budget is not None:
            self._budget(out.budget)
        if out.performance is not None:
            self._performance(out.performance, d.concurrency)
        if fit is not None:
            verdict = self.style.SUCCESS("fits") if fit.fits else self.style.ERROR("does not fit")
            self.stdout.write(
                f"on {_gb(fit.device_memory)} × {d.utilization}: {verdict}, headroom {_gb(fit.headroom_bytes)}"
                + (
                    f", max context {_max_context(fit.max_context)}"
                    if d.mode.value == "inference" and out.budget is None
                    else ""
                )
            )
        for note in plan.notes:
            self.stdout.write(self.style.WARNING(f"note: {note}"))

    def _performance(self, p: PlanPerformance, concurrency: int) -> None:
        """The estimate: latencies, throughput and cost (estimates, said so)."""
        self.stdout.write(
            f"performance on {p.device} × {p.replica_devices} at concurrency {concurrency} (estimate, "
            f"{p.efficiency} efficiencies):"
        )
        self.stdout.write(f"  TTFT {p.ttft_ms:,.1f} ms   TPOT {p.tpot_ms:,.2f} ms (excludes the first token)")
        self.stdout.write(f"  request latency {p.request_latency_ms:,.0f} ms   decode step {p.decode_step_ms:,.2f} ms")
        self.stdout.write(
            f"  output {p.output_tokens_per_second:,.0f} tokens/s ({p.output_tokens_per_second_per_device:,.0f} per "
            f"device)   input {p.input_tokens_per_second:,.0f} tokens/s"
        )
        self.stdout.write(
            f"  cost at ${p.price_per_hour:,.2f} per device-hour: ${p.cost_per_million_output_tokens:,.4f} per "
            f"million output tokens, ${p.cost_per_million_input_tokens:,.4f} per million input tokens"
        )

    def _sweep(self, options: dict[str, Any]) -> None:
        """One JSON object per row of the file, in order; a bad row is its own object, the others go on."""
        given = [p.option for p in TABLE if options.get(p.name) is not None]
        if options["model_id"] is not None or given or options["json"]:
            extra = ", ".join(["MODEL_ID"] * (options["model_id"] is not None) + given + ["--json"] * options["json"])
            raise CommandError(f"--sweep reads every deployment from its file: drop {extra}")
        rows = _read_sweep(options["sweep"])
        documents = selectors.documents_of({str(row["model_id"]) for _, row in rows if row.get("model_id")})
        devices = selectors.device_catalogue()
        output: Path | None = options["output"]
        target: TextIO | _Writer = output.open("w", encoding="utf-8") if output is not None else _Writer(self.stdout)
        failed = 0
        try:
            for number, row in rows:
                result = sweep_row(number, row, documents, devices)
                failed += "row" in result
                target.write(json.dumps(result, ensure_ascii=False) + "\n")
        finally:
            if output is not None:
                target.close()
        if output is not None and options["verbosity"] > 0:
            self.stderr.write(f"Wrote {len(rows)} object(s) to {output} ({failed} row(s) with errors)")

    def _budget(self, b: Any) -> None:
        """The engine's budget, line by line in its order, and its KV-cache layout."""
        estimate = "(estimate; profile_activation_bytes= replaces it)"
        reserve = "(estimate; reserved_bytes= replaces it)"
        self.stdout.write(f"{b.engine} budget ({b.version}):")
        self.stdout.write(_line("device memory", b.device_memory))
        self.stdout.write(_line(f"the engine's share (× {b.fraction})", b.engine_memory_bytes))
        self.stdout.write(_line("− weights", b.weight_bytes))
        self.stdout.write(
            _line("− activation peak", b.activation_peak_bytes, estimate if b.activation_peak_estimated else "")
        )
        self.stdout.write(
            _line("− non-PyTorch (NCCL, workspaces)", b.non_torch_bytes, reserve if b.reserved_estimated else "")
        )
        self.stdout.write(_line("− CUDA graphs", b.cuda_graph_bytes, reserve if b.reserved_estimated else ""))
        self.stdout.write(_line("= KV cache", b.kv_cache_bytes))
        self.stdout.write(_line("free (left unused)", b.free_bytes))
        concurrency = "-" if b.max_concurrency is None else f"{b.max_concurrency:,.2f}x"
        self.stdout.write(
            f"  KV cache: {b.kv_cache_groups} group(s), block {b.block_size:,} tokens, {b.num_blocks:,} blocks; "
            f"KV cache size {b.kv_cache_tokens:,} tokens; maximum concurrency for {b.max_concurrency_tokens:,} "
            f"tokens per request: {concurrency}"
        )
        if b.will_start:
            self.stdout.write(self.style.SUCCESS("  will start"))
        else:
            self.stdout.write(self.style.ERROR(f"  will not start: {b.reason}"))


class _Writer(io.TextIOBase):
    """The command's stdout as a text file (``write`` only)."""

    def __init__(self, out: Any) -> None:
        self.out = out

    def write(self, text: str) -> int:
        self.out.write(text, ending="")
        return len(text)


def _read_sweep(path: Path) -> list[tuple[int, dict[str | None, Any]]]:
    """The file's rows as (line number, {column: text or None for blank}); a file the command cannot read, or
    whose header names an unknown column, is one CommandError."""
    raw, issue = read_file_bytes(path)
    if issue is not None or raw is None:
        raise CommandError(f"{path}: {issue.msg if issue else 'unreadable'}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or ()]
    unknown = [name for name in header if name not in SWEEP_ALLOWED]
    if "model_id" not in header or unknown:
        what = f"unknown column(s) {', '.join(map(repr, unknown))}" if unknown else "no model_id column"
        raise CommandError(f"{path}: {what}; columns are {', '.join(SWEEP_COLUMNS)} (or any deployment parameter)")
    reader.fieldnames = header
    rows = []
    try:
        for row in reader:
            cells = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in row.items()}
            rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise CommandError(f"{path}, line {reader.line_num}: {exc}") from exc
    return rows


def sweep_row(
    number: int,
    row: Mapping[str | None, Any],
    documents: Mapping[str, dict[str, Any]],
    devices: Mapping[str, DeviceSpec],
) -> dict[str, Any]:
    """A row's plan as the API writes it, or ``{row, model_id, errors}`` (locs: the columns)."""
    model_id = row.get("model_id")

    def failed(issues: list[Issue]) -> dict[str, Any]:
        return {"row": number, "model_id": model_id, "errors": [i.as_dict() for i in issues]}

    if None in row:  # DictReader's key for the cells past the header
        return failed([Issue("row", Code.TOO_MANY, f"{len(row[None])} cell(s) more than the header's columns")])
    deployment, issues = parse_deployment({k: v for k, v in row.items() if k is not None and k != "model_id"}, devices)
    if model_id is None:
        issues.insert(0, Issue("model_id", Code.REQUIRED, "expected a config's model_id"))
    elif model_id not in documents:
        issues.insert(0, Issue("model_id", Code.NOT_FOUND, f"no config with model_id {model_id!r}"))
    if issues or deployment is None:
        return failed(issues)
    device = devices.get(deployment.device) if deployment.device else None
    plan = serving.plan_config(documents[str(model_id)], deployment, device)
    if not plan.ok:
        return failed(plan.errors)
    return plan.as_dict()
