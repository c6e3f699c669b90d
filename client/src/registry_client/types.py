"""The registry's JSON shapes as TypedDicts, one per OpenAPI component (tests/test_client_types.py keeps them equal)."""

from typing import Any, NotRequired, TypedDict

# "class" is a Python keyword: the layer shapes are written in the functional syntax.


class Issue(TypedDict):
    """One problem: ``loc`` is a path in the body (``layer_types[0].specs.num_kv_heads``), ``query.<name>``,
    ``header.<name>`` or ``$``; ``code`` is stable; ``msg`` says what was expected."""

    loc: str
    code: str
    msg: str


class ErrorBody(TypedDict):
    """Every error response's body."""

    errors: list[Issue]


LayerType = TypedDict("LayerType", {"name": str, "class": str, "count": int, "specs": dict[str, Any]})
"""One layer type of a config; ``specs`` follow its class (``GET /layer-classes/{class}``)."""


class _ConfigHead(TypedDict):
    """The values a config document and a list item of it both begin with."""

    model_id: str
    hf_model_id: str
    name: str
    hidden_size: int
    num_layers: int
    vocab_size: int
    max_position_embeddings: NotRequired[int]
    total_params: int
    total_params_formatted: str
    active_params: NotRequired[int]
    active_params_formatted: NotRequired[str]


class ModelConfig(_ConfigHead):
    """A config document, exactly as ``GET /models/{model_id}`` returns it (``ConfigDocument``)."""

    mtp_params: NotRequired[int]
    layer_types: list[LayerType]
    published_total_params: NotRequired[int]
    published_total_params_source: NotRequired[str]
    validated: bool
    validation_notes: str


class ConfigSummary(_ConfigHead):
    """An item of ``GET /models/`` (without ``expand=layer_types``)."""

    published_total_params: NotRequired[int | None]
    published_total_params_source: NotRequired[str]
    validated: bool
    validation_notes: str
    url: str
    updated: str


class ConfigPage(TypedDict):
    count: int
    next: str | None
    previous: str | None
    results: list[ConfigSummary | ModelConfig]


LayerShare = TypedDict(
    "LayerShare",
    {
        "name": str,
        "class": str,
        "count": int,
        "parameter_count": int,
        "subtotal": int,
        "share": float,
        "formula": str,
        "active_parameter_count": NotRequired[int],
        "active_subtotal": NotRequired[int],
    },
)


class ParameterBreakdown(TypedDict):
    """``GET /models/{model_id}/parameters``: where a config's parameters are."""

    model_id: str
    total_params: int
    total_params_formatted: str
    active_params: NotRequired[int]
    active_params_formatted: NotRequired[str]
    mtp_params: NotRequired[int]
    layer_types: list[LayerShare]


class PlanDeployment(TypedDict):
    mode: str
    dtype: str
    kv_dtype: str
    context: int | None
    batch: int
    tp: int
    pp: int
    ep: int
    cp: int
    dp: int
    zero: int
    devices: int
    device_memory: int | None
    utilization: float
    device: str | None
    engine: str
    gpu_memory_utilization: float
    block_size: int
    max_num_batched_tokens: int
    max_num_seqs: int
    max_model_len: int | None
    kv_cache_memory: int | None
    enforce_eager: bool
    mem_fraction_static: float
    page_size: int
    free_gpu_memory_fraction: float
    tokens_per_block: int
    profile_activation_bytes: int | None
    reserved_bytes: int | None
    recompute: str
    sequence_parallel: bool
    micro_batch: int
    interleave: int
    isl: int | None
    osl: int | None
    concurrency: int
    price_per_hour: float | None


class PlanDevice(TypedDict):
    stage: int
    parameters: int
    weight_bytes: int
    kv_cache_bytes: int | None
    training_state_bytes: NotRequired[int]
    total_bytes: int


class PlanFit(TypedDict):
    device_memory: int
    usable_bytes: int
    fits: bool
    headroom_bytes: int
    max_context: int | None


class PlanFlops(TypedDict):
    forward: int | None
    forward_without_attention: int
    training: int | None


class PlanKVCache(TypedDict):
    bytes_per_token: int
    bytes_per_token_beyond_windows: int
    bytes_per_token_per_device: int
    bytes_per_device: int | None
    state_bytes_per_sequence: int
    state_bytes_per_sequence_per_device: int


class PlanBudget(TypedDict):
    """A serving engine's memory budget (``engine=vllm`` and the like)."""

    engine: str
    version: str
    device_memory: int
    fraction: float
    engine_memory_bytes: int
    weight_bytes: int
    activation_peak_bytes: int
    activation_peak_estimated: bool
    non_torch_bytes: int
    cuda_graph_bytes: int
    reserved_estimated: bool
    kv_cache_bytes: int
    free_bytes: int
    will_start: bool
    reason: str | None
    kv_cache_groups: int
    block_size: int
    num_blocks: int
    kv_cache_tokens: int
    max_concurrency: float | None
    max_concurrency_tokens: int
    max_total_num_tokens: NotRequired[int]


class PlanTraining(TypedDict):
    """Training memory (``mode=training``): activations, states, reserve."""

    recompute: str
    sequence_parallel: bool
    micro_batch: int
    interleave: int
    micro_batches_in_flight: int
    activation_bytes: int
    embedding_activation_bytes: int
    output_activation_bytes: int
    activations_approximate: bool
    state_bytes: int
    reserved_bytes: int
    total_bytes: int
    max_micro_batch: NotRequired[int]


PlanLayer = TypedDict(
    "PlanLayer",
    {
        "name": str,
        "class": str,
        "count": int,
        "count_on_device": int,
        "parameters_per_layer": int,
        "parameters": int,
        "weight_bytes": int,
        "split": str,
        "cache_rule": str,
        "kv_cache_bytes_per_token": int,
        "state_bytes_per_sequence": int,
    },
)


class PlanPerformance(TypedDict):
    """With isl, osl and a device: estimated speed and cost (TPOT excludes the first token)."""

    device: str
    efficiency: str
    replica_devices: int
    ttft_ms: float
    tpot_ms: float
    request_latency_ms: float
    decode_step_ms: float
    output_tokens_per_second: float
    output_tokens_per_second_per_device: float
    input_tokens_per_second: float
    price_per_hour: float
    cost_per_million_output_tokens: float
    cost_per_million_input_tokens: float
    fits: bool


class Plan(TypedDict):
    """``GET /models/{model_id}/plan``: memory per device, KV cache, FLOPs and fit of one deployment."""

    model_id: str
    deployment: PlanDeployment
    errors: list[Issue]
    notes: list[str]
    total_params: NotRequired[int]
    active_params: NotRequired[int]
    weight_bytes: NotRequired[int]
    device: NotRequired[PlanDevice]
    kv_cache: NotRequired[PlanKVCache]
    flops_per_token: NotRequired[PlanFlops]
    fit: NotRequired[PlanFit]
    budget: NotRequired[PlanBudget]
    training: NotRequired[PlanTraining]
    performance: NotRequired[PlanPerformance]
    layer_types: NotRequired[list[PlanLayer]]


class PlanPage(TypedDict):
    count: int
    next: str | None
    previous: str | None
    results: list[Plan]


class Candidate(TypedDict):
    """One deployment that fits and meets the limits (estimates; TPOT excludes the first token)."""

    model_id: str
    device: str
    tp: int
    pp: int
    ep: int
    devices: int
    replicas: int
    ttft_ms: float
    tpot_ms: float
    output_tokens_per_second: float
    cost_per_million_output_tokens: float
    cost_per_million_input_tokens: float


class Search(TypedDict):
    """The search as the server read it: the workload, the limits and the devices considered."""

    isl: int
    osl: int
    concurrency: int
    dtype: str
    kv_dtype: str
    engine: str
    ttft_ms: float | None
    tpot_ms: float | None
    devices: list[str]
    max_devices: int
    max_pp: int
    target_tps: float | None


class Recommendation(TypedDict):
    """``GET /models/{model_id}/recommend``: the cheapest deployment (``best``; null: none) and the Pareto front
    of cost against TPOT."""

    model_id: str
    search: Search
    evaluated: int
    best: Candidate | None
    pareto: list[Candidate]


class ValidationReport(TypedDict):
    """``POST /models/validate``: the verdict on a document, nothing written."""

    valid: bool
    errors: list[Issue]
    warnings: list[Issue]
    recomputed: list[Issue]
    counts: ParameterBreakdown | None
    document: ModelConfig | None


class Spec(TypedDict):
    name: str
    type: str
    description: str
    choices: list[str]
    default: Any


class LayerClass(TypedDict):
    """An entry of the catalogue (``GET /layer-classes/{name}``)."""

    name: str
    description: str
    required: list[Spec]
    optional: list[Spec]
    metadata: list[Spec]
    parallelism: list[str]
    kind: str
    per_decoder_layer: bool
    formula_text: str
    active_formula_text: str
    cache: str
    url: str


# The OpenAPI component each TypedDict stands for (tests compare them key by key).
COMPONENTS: dict[str, Any] = {
    "Issue": Issue,
    "Error": ErrorBody,
    "LayerType": LayerType,
    "ConfigDocument": ModelConfig,
    "ConfigSummary": ConfigSummary,
    "ConfigPage": ConfigPage,
    "LayerShare": LayerShare,
    "ParameterBreakdown": ParameterBreakdown,
    "PlanDeployment": PlanDeployment,
    "PlanDevice": PlanDevice,
    "PlanFit": PlanFit,
    "PlanFlops": PlanFlops,
    "PlanKVCache": PlanKVCache,
    "PlanLayer": PlanLayer,
    "PlanBudget": PlanBudget,
    "PlanTraining": PlanTraining,
    "PlanPerformance": PlanPerformance,
    "Plan": Plan,
    "PlanPage": PlanPage,
    "Candidate": Candidate,
    "Search": Search,
    "Recommendation": Recommendation,
    "ValidationReport": ValidationReport,
    "Spec": Spec,
    "LayerClass": LayerClass,
}
