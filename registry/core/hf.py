"""Hugging Face ``config.json`` to a registry document, exact to the parameter for each supported model_type.

Absent (or null) keys mean what that model_type's transformers configuration class makes of them;
the model's dimensions must be given. A key that changes the architecture in a way this module
does not count is an error naming it, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

from registry.core import catalogue
from registry.core.counts import BIGINT_MAX
from registry.core.issues import Code, Issue
from registry.core.validation import HF_ID_RE, _json_type, _show, hf_id_issue, model_id_for

# A Hub repo id (ORG/NAME): validation's rule, the one documents obey; the registry's model_id is it with '/' as '_'.
HUB_ID_RE = HF_ID_RE
# Decoder layers a config.json may declare: per-layer rules are expanded layer by layer.
MAX_LAYERS = 100_000
# Keys whose null means something of its own (not "the default").
_NULL_MEANS_NONE = frozenset({"q_lora_rank", "sliding_window", "n_inner", "num_key_value_heads", "head_dim"})


@dataclass(frozen=True)
class Dims:
    """The dimensions every decoder has, read (and checked) before its layer types are built."""

    hidden_size: int
    num_layers: int
    num_heads: int
    vocab_size: int
    context: int | None


@dataclass(frozen=True)
class Arch:
    """What one model_type builds: key names, the configuration class's defaults, and its modules.

    A family whose decoder the flags below cannot describe gives ``layers``: a function of the reader and
    the dimensions returning its decoder's layer types (attention, mixers, MLPs, norms, extra embeddings);
    the token embedding, position embeddings and the output head are added after them as for every type.
    ``text_model`` makes the type a multimodal wrapper: its ``text_config`` is imported as that model_type
    (the other towers are not counted, and the notes say so).
    """

    keys: Mapping[str, str] = field(default_factory=dict)  # our name -> the config's key (when it differs)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    # Keys transformers also accepts for a key (its attribute_map): the config's key -> its aliases.
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # The configuration class defaults num_key_value_heads to some default model's number (not to
    # num_attention_heads): an absent value would be a guess, so it is required.
    kv_heads_required: bool = False
    # Whether the model reads a head_dim key (GPT-2 ignores one: hidden_size // heads).
    reads_head_dim: bool = True
    layers: Callable[[_Reader, Dims], list[dict[str, Any]] | None] | None = None
    notes: Callable[[_Reader], list[str]] | None = None
    # The key giving how many multi-token-prediction modules the checkpoint holds (DeepSeek-V3's
    # num_nextn_predict_layers): each is written as layer types with mtp true (see mtp_layer_types).
    mtp_key: str | None = None
    text_model: str | None = None
    # Text model_types the wrapper's configuration class reads as another (Kimi-K2.5: kimi_k2 is deepseek_v3).
    text_model_types: Mapping[str, str] = field(default_factory=dict)
    # Whether num_attention_heads is a dimension of every config (false: a mixer-only or hybrid family whose
    # layers builder reads it where attention layers exist; Dims.num_heads is then 0).
    requires_heads: bool = True
    # A wrapper whose published text_config leaves dimensions to the text configuration class (Gemma-3's
    # omits vocab_size): those keys and the class's values, taken when absent, with a note naming them.
    text_defaults: Mapping[str, Any] = field(default_factory=dict)
    head_dim_default: int | None = None  # None: hidden_size // num_attention_heads
    qkv_bias: Callable[[Mapping[str, Any]], bool] = lambda c: False
    output_bias: Callable[[Mapping[str, Any]], bool] = lambda c: False
    mlp_bias: Callable[[Mapping[str, Any]], bool] = lambda c: False
    head_bias: str | None = None  # the config key whose flag puts a bias on lm_head (phimoe's lm_head_bias)
    gated_mlp: bool = True
    norms_per_layer: int = 2
    norm_bias: bool = False
    norm_weights: bool = True
    qk_norm: str = "none"
    moe: str | None = None  # mixtral, qwen_moe, deepseek
    mla: bool = False
    position_embeddings: bool = False
    sliding: str = "none"  # none, all, qwen, qwen2_moe, gemma2
    # Keys that change the architecture beyond what is counted here: the value they must have.
    fixed: Mapping[str, Any] = field(default_factory=dict)


def _key(c: Mapping[str, Any], name: str) -> bool:
    return bool(c.get(name))


class Renames(TypedDict):
    """Keyword arguments of Arch (typed, so that ``Arch(**renamed(...))`` is checked)."""

    keys: Mapping[str, str]
    aliases: Mapping[str, tuple[str, ...]]


def renamed(**names: str) -> Renames:
    """Arch's keys and aliases for a configuration class's attribute_map, as ``our_name="config_key"``: the value is
    read under the config's key, and a config.json may give it under our name instead."""
    return {"keys": names, "aliases": {key: (ours,) for ours, key in names.items()}}


# What the notes say of a sigmoid router's bias (DeepSeek-V3 and the families routing like it).
ROUTER_BIAS_NOTE = "The router's e_score_correction_bias is a buffer, not a parameter."


def _deepseek_notes(r: _Reader) -> list[str]:
    mtp = r.config.get("num_nextn_predict_layers")
    if not mtp:
        return []
    return [
        f"The {mtp} multi-token-prediction module(s) (num_nextn_predict_layers) are the layer types with mtp true: "
        "counted in mtp_params, not in total_params, as transformers does not build them.",
        ROUTER_BIAS_NOTE,
    ]


_LLAMA_DEFAULTS = {"max_position_embeddings": 2048, "tie_word_embeddings": False}
# What the Qwen2 and Qwen3 configuration classes (dense and MoE) default alike.
_QWEN_DEFAULTS = {
    "max_position_embeddings": 32768,
    "tie_word_embeddings": False,
    "use_sliding_window": False,
    "sliding_window": 4096,
}
ARCHITECTURES: dict[str, Arch] = {
    "llama": Arch(
        defaults={**_LLAMA_DEFAULTS, "attention_bias": False, "mlp_bias": False},
        qkv_bias=lambda c: _key(c, "attention_bias"),
        output_bias=lambda c: _key(c, "attention_bias"),
        mlp_bias=lambda c: _key(c, "mlp_bias"),
    ),
    "mistral": Arch(
        defaults={"max_position_embeddings": 131072, "tie_word_embeddings": False, "sliding_window": 4096},
        kv_heads_required=True,
        sliding="all",
    ),
    "mixtral": Arch(
        **renamed(num_experts="num_local_experts"),
        kv_heads_required=True,
        defaults={"max_position_embeddings": 131072, "tie_word_embeddings": False, "sliding_window": None},
        moe="mixtral",
        sliding="all",
    ),
    "qwen2": Arch(
        kv_heads_required=True,
        defaults={**_QWEN_DEFAULTS, "max_window_layers": 28},
        qkv_bias=lambda c: True,
        sliding="qwen",
    ),
    "qwen2_moe": Arch(
        kv_heads_required=True,
        defaults={
            **_QWEN_DEFAULTS,
            "max_window_layers": 28,
            "qkv_bias": True,
            "decoder_sparse_step": 1,
            "mlp_only_layers": [],
        },
        qkv_bias=lambda c: _key(c, "qkv_bias"),
        moe="qwen_moe",
        sliding="qwen2_moe",
    ),
    "qwen3": Arch(
        kv_heads_required=True,
        defaults={**_QWEN_DEFAULTS, "attention_bias": False, "max_window_layers": 28},
        head_dim_default=128,
        qkv_bias=lambda c: _key(c, "attention_bias"),
        output_bias=lambda c: _key(c, "attention_bias"),
        qk_norm="per_head",
        sliding="qwen",
    ),
    "qwen3_moe": Arch(
        kv_heads_required=True,
        aliases={"num_experts": ("num_local_experts",)},
        defaults={**_QWEN_DEFAULTS, "attention_bias": False, "decoder_sparse_step": 1, "mlp_only_layers": []},
        qkv_bias=lambda c: _key(c, "attention_bias"),
        output_bias=lambda c: _key(c, "attention_bias"),
        qk_norm="per_head",
        moe="qwen_moe",
        sliding="all_if_enabled",
    ),
    "gemma": Arch(
        kv_heads_required=True,
        defaults={"max_position_embeddings": 8192, "tie_word_embeddings": True, "attention_bias": False},
        head_dim_default=256,
        qkv_bias=lambda c: _key(c, "attention_bias"),
        output_bias=lambda c: _key(c, "attention_bias"),
    ),
    "gemma2": Arch(
        kv_heads_required=True,
        defaults={
            "max_position_embeddings": 8192,
            "tie_word_embeddings": True,
            "attention_bias": False,
            "sliding_window": 4096,
        },
        head_dim_default=256,
        qkv_bias=lambda c: _key(c, "attention_bias"),
        output_bias=lambda c: _key(c, "attention_bias"),
        norms_per_layer=4,
        sliding="gemma2",
    ),
    "phi3": Arch(
        defaults={"max_position_embeddings": 4096, "tie_word_embeddings": False, "sliding_window": None},
        sliding="all",
    ),
    "gpt2": Arch(
        **renamed(
            hidden_size="n_embd",
            num_hidden_layers="n_layer",
            num_attention_heads="n_head",
            max_position_embeddings="n_positions",
        ),
        reads_head_dim=False,
        defaults={"n_positions": 1024, "tie_word_embeddings": True, "n_inner": None, "add_cross_attention": False},
        qkv_bias=lambda c: True,
        output_bias=lambda c: True,
        mlp_bias=lambda c: True,
        gated_mlp=False,
        norm_bias=True,
        position_embeddings=True,
        fixed={"add_cross_attention": False},
    ),
    "olmo": Arch(
        defaults={**_LLAMA_DEFAULTS, "attention_bias": False},
        qkv_bias=lambda c: _key(c, "attention_bias"),
        output_bias=lambda c: _key(c, "attention_bias"),
        norm_weights=False,
    ),
    "olmo2": Arch(
        defaults={**_LLAMA_DEFAULTS, "attention_bias": False},
        qkv_bias=lambda c: _key(c, "attention_bias"),
        output_bias=lambda c: _key(c, "attention_bias"),
        qk_norm="across_heads",
    ),
    "deepseek_v3": Arch(
        keys={"num_experts": "n_routed_experts"},
        aliases={"n_routed_experts": ("num_local_experts",)},
        defaults={
            "max_position_embeddings": 4096,
            "tie_word_embeddings": False,
            "attention_bias": False,
            "first_k_dense_replace": 3,
            "n_shared_experts": 1,
            "moe_layer_freq": 1,
        },
        moe="deepseek",
        mla=True,
        fixed={"moe_layer_freq": 1},
        notes=_deepseek_notes,
        mtp_key="num_nextn_predict_layers",
    ),
}
# A model_type transformers does not know whose ``architectures`` names a class it has: imported as the
# model_type of that class (Kimi-K2's kimi_k2 is DeepseekV3ForCausalLM).
ARCHITECTURE_CLASSES: dict[str, str] = {}


def register_arch(model_type: str, arch: Arch, *, classes: tuple[str, ...] = ()) -> Arch:
    """Add a model_type (and the transformers classes that build it) to the importer."""
    if model_type in ARCHITECTURES:
        raise ValueError(f"model_type {model_type!r} is already registered")
    ARCHITECTURES[model_type] = arch
    for name in classes:
        ARCHITECTURE_CLASSES[name] = model_type
    return arch


class _Reader:
    """Reads a config.json's values with the model_type's defaults, collecting every problem."""

    def __init__(self, config: Mapping[str, Any], model_type: str, arch: Arch) -> None:
        self.config, self.model_type, self.arch = config, model_type, arch
        self.errors: list[Issue] = []
        self.notes: list[str] = []

    def name(self, ours: str) -> str:
        return self.arch.keys.get(ours, ours)

    def raw(self, key: str) -> tuple[bool, Any]:
        """Whether ``key`` (or an alias of it) is given, and its value."""
        names = [k for k in (key, *self.arch.aliases.get(key, ())) if k in self.config]
        if not names:
            return False, None
        values = {k: self.config[k] for k in names}
        if len(names) > 1 and any(v != values[names[0]] for v in values.values()):
            shown = " and ".join(f"{k}={_show(v)}" for k, v in values.items())
            issue = Issue(
                f"config.{key}",
                Code.CONTRADICTION,
                f"{shown} name the same value for {self.model_type} and disagree; give one of them",
            )
            if issue not in self.errors:
                self.errors.append(issue)
        return True, values[names[0]]

    def error(self, key: str, code: str, msg: str) -> None:
        """Record a problem at ``config.<key>``; the first one said about a key is enough."""
        loc = f"config.{key}"
        if all(issue.loc != loc for issue in self.errors):
            self.errors.append(Issue(loc, code, msg))

    def dimension(self, ours: str, *, minimum: int = 1, maximum: int = BIGINT_MAX) -> int | None:
        """A required dimension (at most ``maximum``): absent or null is an error, never a default model's value."""
        key = self.name(ours)
        given, value = self.raw(key)
        if not given or value is None:
            self.error(
                key,
                Code.MISSING_DIMENSION,
                f"{key!r} is required: it is a dimension of the model, and a {self.model_type} config.json "
                "without it cannot be counted",
            )
            return None
        return self._positive(key, value, minimum=minimum, maximum=maximum)

    def value(self, ours: str) -> Any:
        """An optional value: absent or null takes the configuration class's default."""
        key = self.name(ours)
        given, value = self.raw(key)
        if not given or (value is None and key not in _NULL_MEANS_NONE):
            return self.arch.defaults.get(key)
        return value

    def integer(self, ours: str, *, default: int | None = None, minimum: int = 1) -> int | None:
        key = self.name(ours)
        value = self.value(ours)
        if value is None:
            return default
        return self._positive(key, value, minimum=minimum)

    def flag(self, ours: str) -> bool:
        key = self.name(ours)
        value = self.value(ours)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.error(key, Code.INVALID_VALUE, f"expected true or false, got {_json_type(value)} ({_show(value)})")
            return False
        return value

    def _positive(self, key: str, value: Any, *, minimum: int = 1, maximum: int = BIGINT_MAX) -> int | None:
        if type(value) is not int or value < minimum:
            wanted = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
            self.error(key, Code.INVALID_VALUE, f"expected {wanted}, got {_json_type(value)} ({_show(value)})")
            return None
        if value > maximum:
            self.error(key, Code.TOO_LARGE, f"expected at most {maximum}, got {value}")
            return None
        return value


@dataclass
class Conversion:
    """The document built from a config.json, or the problems that stopped it."""

    document: dict[str, Any] | None
    errors: list[Issue]


def convert(config: Any, hf_model_id: str) -> Conversion:
    """The registry document of a Hugging Face ``config.json`` (parsed) for the repo ``hf_model_id``."""
    if not isinstance(config, dict):
        return Conversion(
            None, [Issue("config", Code.NOT_AN_OBJECT, f"expected a JSON object, got {_json_type(config)}")]
        )
    errors: list[Issue] = []
    if (issue := hf_id_issue("hf_model_id", hf_model_id)) is not None:
        errors.append(issue)
    config, model_type, notes = _text_model(config)
    if not isinstance(model_type, str) or model_type not in ARCHITECTURES:
        given = "no model_type" if model_type is None else f"model_type {_show(model_type)}"
        errors.append(
            Issue(
                "config.model_type",
                Code.UNSUPPORTED_MODEL_TYPE,
                f"{given} is not supported; supported: {', '.join(_supported())}",
            )
        )
        return Conversion(None, errors)
    reader = _Reader(config, model_type, ARCHITECTURES[model_type])
    reader.notes = notes
    document = _build(reader, hf_model_id if not errors else "invalid/id")
    errors.extend(reader.errors)
    return Conversion(None if errors else document, errors)


def _text_model(config: dict[str, Any]) -> tuple[dict[str, Any], Any, list[str]]:
    """The config to import, its model_type and what the notes say of the choice.

    A model_type transformers does not know is read as the one its ``architectures`` class builds; a
    multimodal wrapper is read as its ``text_config``.
    """
    notes: list[str] = []
    model_type = config.get("model_type")
    if isinstance(model_type, str) and model_type not in ARCHITECTURES:
        names = config.get("architectures")
        listed = names if isinstance(names, list) else []
        known = [n for n in listed if isinstance(n, str) and n in ARCHITECTURE_CLASSES]
        if known:
            notes.append(
                f"model_type {model_type} is not one transformers knows; imported as {ARCHITECTURE_CLASSES[known[0]]}, "
                f"the model_type of its architectures class {known[0]}."
            )
            model_type = ARCHITECTURE_CLASSES[known[0]]
    arch = ARCHITECTURES.get(model_type) if isinstance(model_type, str) else None
    if arch is not None and arch.text_model is not None:
        text = config.get("text_config")
        if isinstance(text, dict):
            wrapper = model_type
            model_type = text.get("model_type", arch.text_model)
            if model_type in arch.text_model_types:
                read_as = arch.text_model_types[model_type]
                notes.append(f"{wrapper} reads its text_config's model_type {model_type} as {read_as}.")
                model_type = read_as
            # What the wrapper says of the whole model (a tied head) holds for its text model unless it says otherwise.
            config = {k: v for k, v in config.items() if k in _WRAPPER_KEYS} | text
            absent = {k: v for k, v in arch.text_defaults.items() if k not in text}
            if absent:
                config |= absent
                shown = ", ".join(f"{k} {_show(v)}" for k, v in absent.items())
                notes.append(
                    f"The text_config omits {shown}: the text configuration class's values, as {wrapper} uses."
                )
            if model_type in ARCHITECTURES and ARCHITECTURES[model_type].text_model is None:
                notes.append(
                    f"The text model ({model_type}) of a {wrapper} repo: its vision (or audio) tower and the "
                    "projector are not counted."
                )
    return config, model_type, notes


# Wrapper keys a text_config inherits when it does not give them itself.
_WRAPPER_KEYS = frozenset({"tie_word_embeddings", "quantization_config", "architectures"})


def _build(r: _Reader, hf_model_id: str) -> dict[str, Any] | None:
    arch = r.arch
    for key, expected in arch.fixed.items():
        value = r.value(key)
        if value != expected:
            r.error(
                key,
                Code.UNSUPPORTED_KEY,
                f"{key}={_show(value)} changes the architecture in a way the importer does not count "
                f"(supported: {_show(expected)}); write this config by hand",
            )
    h = r.dimension("hidden_size")
    layers = r.dimension("num_hidden_layers", maximum=MAX_LAYERS)
    heads = r.dimension("num_attention_heads") if arch.requires_heads else 0
    vocab = r.dimension("vocab_size")
    context = r.integer("max_position_embeddings")
    if h is None or layers is None or heads is None or vocab is None:
        return None

    dims = Dims(h, layers, heads, vocab, context)
    layer_types = (arch.layers or _decoder)(r, dims)
    if layer_types is None or r.errors:
        return None
    layer_types.append(
        {"name": "embedding", "class": "EmbeddingLayer", "count": 1, "specs": {"vocab_size": vocab, "hidden_size": h}}
    )
    if arch.position_embeddings:
        if context is None:
            r.error(r.name("max_position_embeddings"), Code.MISSING_DIMENSION, "expected the number of positions")
            return None
        layer_types.append(
            {
                "name": "position_embedding",
                "class": "PositionEmbeddingLayer",
                "count": 1,
                "specs": {"max_position_embeddings": context, "hidden_size": h},
            }
        )
    tied = r.flag("tie_word_embeddings")
    head: dict[str, Any] = {"vocab_size": vocab, "hidden_size": h, "tie_word_embeddings": tied}
    if arch.head_bias is not None and r.flag(arch.head_bias):
        head["lm_head_bias"] = True
    layer_types.append({"name": "lm_head", "class": "OutputHeadLayer", "count": 1, "specs": head})
    if arch.mtp_key is not None:
        layer_types += mtp_layer_types(r, layer_types, r.integer(arch.mtp_key, minimum=0) or 0)
    if r.errors:
        return None
    org_name = hf_model_id.split("/", 1)
    document: dict[str, Any] = {
        "model_id": model_id_for(hf_model_id),
        "hf_model_id": hf_model_id,
        "name": org_name[-1],
        "hidden_size": h,
        "num_layers": layers,
        "vocab_size": vocab,
    }
    if context is not None:
        document["max_position_embeddings"] = context
    document["layer_types"] = layer_types
    document["validated"] = False
    document["validation_notes"] = _notes(r)
    return document


def _decoder(r: _Reader, dims: Dims) -> list[dict[str, Any]]:
    """Attention, MLP and norms of a decoder the Arch's flags describe."""
    arch, h, layers = r.arch, dims.hidden_size, dims.num_layers
    windows = _sliding_windows(r, layers)
    moe_layers = _moe_layers(r, layers) if arch.moe else [False] * layers
    layer_types: list[dict[str, Any]] = []
    layer_types += _attention(r, h, dims.num_heads, layers, windows)
    layer_types += _feedforward(r, h, moe_layers)
    layer_types.append(norm_layer(r, arch.norms_per_layer * layers + 1, h))
    return layer_types


MTP_KEYS = ("num_nextn_predict_layers", "num_mtp_layers", "mtp_num_hidden_layers")


def mtp_note(r: _Reader, *keys: str) -> list[str]:
    """What the notes say of the checkpoint's multi-token-prediction layers (not built by transformers, so not
    counted), when the config declares some under one of ``keys`` (default: the usual names)."""
    for key in keys or MTP_KEYS:
        value = r.config.get(key)
        if value is True:
            return [f"The multi-token-prediction modules ({key}) are not counted: transformers does not build them."]
        if type(value) is int and value > 0:
            return [
                f"The {value} multi-token-prediction layer(s) ({key}) are not counted: transformers does not "
                "build them."
            ]
    return []


def mtp_layer_types(r: _Reader, layer_types: list[dict[str, Any]], modules: int) -> list[dict[str, Any]]:
    """``modules`` multi-token-prediction modules as the checkpoint stores them (DeepSeek-V3, GLM-4.5): each a
    decoder layer like the model's last (its attention and feed-forward layer types, two norms), the glue
    (``MultiTokenPredictionLayer``: enorm, hnorm, eh_proj, the shared head's norm), and its own copies of the
    token embedding and the (untied) head. All with mtp true: mtp_params, outside total_params."""
    if not modules:
        return []
    last: dict[str, dict[str, Any]] = {}
    for layer_type in layer_types:
        layer_class = catalogue.get(layer_type["class"])
        if layer_class is not None and layer_class.per_decoder_layer:
            last[layer_class.kind] = layer_type  # the later of a kind is the model's last layer's (MoE after dense)
    embedding = next(lt for lt in layer_types if lt["class"] == "EmbeddingLayer")
    h = embedding["specs"]["hidden_size"]

    def mtp(name: str, class_name: str, count: int, specs: dict[str, Any]) -> dict[str, Any]:
        specs = {k: v for k, v in specs.items() if k not in ("layer_idx", "tie_word_embeddings")}
        return {"name": name, "class": class_name, "count": count, "specs": {"mtp": True, **specs}}

    out = [mtp(f"mtp_{lt['name']}", lt["class"], modules, lt["specs"]) for lt in last.values()]
    norm = norm_layer(r, 2 * modules, h)
    out.append(mtp("mtp_norm", "NormLayer", norm["count"], norm["specs"]))
    out.append(mtp("mtp_projection", "MultiTokenPredictionLayer", modules, {"hidden_size": h}))
    out.append(mtp("mtp_embedding", "EmbeddingLayer", modules, embedding["specs"]))
    out.append(mtp("mtp_head", "OutputHeadLayer", modules, embedding["specs"]))
    return out


def norm_layer(r: _Reader, count: int, width: int, *, name: str = "norm") -> dict[str, Any]:
    """``count`` norms of the Arch's kind (bias, weights) over ``width``."""
    specs: dict[str, Any] = {"hidden_size": width, "has_bias": r.arch.norm_bias}
    if not r.arch.norm_weights:
        specs["elementwise_affine"] = False
    return {"name": name, "class": "NormLayer", "count": count, "specs": specs}


def _head_dim(r: _Reader, h: int, heads: int) -> int | None:
    given, value = r.raw("head_dim") if r.arch.reads_head_dim else (False, None)
    if given and value is not None:
        return r._positive("head_dim", value)
    if r.arch.head_dim_default is not None and not (given and value is None):
        return r.arch.head_dim_default
    if h % heads:
        r.error(
            r.name("num_attention_heads"),
            Code.CONTRADICTION,
            f"expected a divisor of the hidden size ({h}) when head_dim is not given, got {heads}",
        )
        return None
    return h // heads


def _attention(r: _Reader, h: int, heads: int, layers: int, windows: list[int | None]) -> list[dict[str, Any]]:
    arch = r.arch
    if arch.mla:
        given, q_rank = r.raw("q_lora_rank")
        if not given:
            r.error(
                "q_lora_rank",
                Code.MISSING_DIMENSION,
                "'q_lora_rank' is required: it is a dimension of the model (null when queries are not compressed)",
            )
        specs: dict[str, Any] = {"layer_idx": 0, "hidden_size": h, "num_heads": heads, **latent_specs(r, q_rank)}
        return [{"name": "attention", "class": "MultiHeadLatentAttentionLayer", "count": layers, "specs": specs}]
    d = _head_dim(r, h, heads)
    given, kv = r.raw("num_key_value_heads")
    if arch.position_embeddings:  # gpt2: multi-head attention, no key for kv heads
        kv_heads: int | None = heads
    elif given:
        kv_heads = heads if kv is None else r._positive("num_key_value_heads", kv)
    elif arch.kv_heads_required:
        kv_heads = r.dimension("num_key_value_heads")
    else:  # the configuration class makes an absent value num_attention_heads
        kv_heads = heads
    if d is None or kv_heads is None:
        return []
    if heads % kv_heads:
        r.error(
            "num_key_value_heads",
            Code.CONTRADICTION,
            f"expected a divisor of num_attention_heads ({heads}), got {kv_heads}",
        )
        return []
    specs = {"layer_idx": 0, "hidden_size": h, "num_heads": heads}
    class_name = "AttentionLayer"
    if kv_heads != heads:
        class_name = "GroupedQueryAttentionLayer"
        specs["num_kv_heads"] = kv_heads
    specs["head_dim"] = d
    if arch.qkv_bias(_effective(r, ("attention_bias", "qkv_bias"))):
        specs["qkv_bias"] = True
    if arch.output_bias(_effective(r, ("attention_bias",))):
        specs["output_bias"] = True
    if arch.qk_norm != "none":
        specs["qk_norm"] = arch.qk_norm
    groups: dict[int | None, list[int]] = {}
    for i, window in enumerate(windows):
        groups.setdefault(window, []).append(i)
    out = []
    for window, indices in groups.items():
        name = "attention" if len(groups) == 1 else ("attention_sliding" if window else "attention_full")
        group_specs = {**specs, "layer_idx": indices[0]}
        if window:
            group_specs = _insert_after(group_specs, "head_dim", "sliding_window", window)
        out.append({"name": name, "class": class_name, "count": len(indices), "specs": group_specs})
    return out


def latent_specs(r: _Reader, q_rank: Any) -> dict[str, Any]:
    """Multi-head latent attention's specs after its heads: q_lora_rank (``q_rank``; None: queries projected
    directly), the latent and head widths, and attention_bias."""
    specs: dict[str, Any] = {}
    if q_rank is not None:
        specs["q_lora_rank"] = r._positive("q_lora_rank", q_rank)
    for key in ("kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"):
        specs[key] = r.dimension(key)
    if r.flag("attention_bias"):
        specs["attention_bias"] = True
    return specs


def _insert_after(specs: dict[str, Any], after: str, key: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in specs.items():
        out[k] = v
        if k == after:
            out[key] = value
    return out


def _effective(r: _Reader, keys: tuple[str, ...]) -> dict[str, bool]:
    return {k: r.flag(k) for k in keys}


def _feedforward(r: _Reader, h: int, moe_layers: list[bool]) -> list[dict[str, Any]]:
    arch = r.arch
    out = []
    dense = [i for i, moe in enumerate(moe_layers) if not moe]
    sparse = [i for i, moe in enumerate(moe_layers) if moe]
    mixed = bool(dense and sparse)
    if dense:
        # gpt2: n_inner null means 4 · n_embd
        inner = r.integer("n_inner", default=4 * h) if arch.position_embeddings else r.dimension("intermediate_size")
        specs: dict[str, Any] = {"layer_idx": dense[0], "hidden_size": h, "intermediate_size": inner}
        if arch.mlp_bias(_effective(r, ("mlp_bias",))):
            specs["mlp_bias"] = True
        out.append(
            {
                "name": "feedforward_dense" if mixed else "feedforward",
                "class": "GatedMLPLayer" if arch.gated_mlp else "MLPLayer",
                "count": len(dense),
                "specs": specs,
            }
        )
    if sparse:
        out.append(
            {
                "name": "feedforward_moe" if mixed else "feedforward",
                "class": "MoELayer",
                "count": len(sparse),
                "specs": {"layer_idx": sparse[0], **_moe_specs(r, h)},
            }
        )
    return out


def _moe_specs(r: _Reader, h: int) -> dict[str, Any]:
    kind = r.arch.moe
    inner_key = "intermediate_size" if kind == "mixtral" else "moe_intermediate_size"
    specs = expert_specs(r, h, inner_key)
    inner = specs["moe_intermediate_size"]
    if r.model_type == "qwen2_moe":
        # 0 builds a shared expert of no width (its gate stays): transformers accepts it, and so does the format.
        specs["shared_expert_intermediate_size"] = r.dimension("shared_expert_intermediate_size", minimum=0)
        specs["shared_expert_gate"] = True
    elif kind == "deepseek":
        shared = r.integer("n_shared_experts", minimum=0)
        if shared and inner:
            specs["shared_expert_intermediate_size"] = shared * inner
    return specs


def at_most_experts(
    r: _Reader, experts: int | None, per_token: int | None, key: str = "num_experts_per_tok", *, of: str = "num_experts"
) -> None:
    """An error at ``key`` when a token is routed to more experts than the ``experts`` (under ``of``) there are."""
    if experts is not None and per_token is not None and per_token > experts:
        r.error(
            key, Code.CONTRADICTION, f"expected at most {r.name(of)} ({experts}) experts per token, got {per_token}"
        )


def expert_specs(
    r: _Reader,
    h: int,
    inner_key: str,
    *,
    experts_key: str = "num_experts",
    per_token_key: str = "num_experts_per_tok",
) -> dict[str, Any]:
    """MoELayer's routed experts: how many (``num_experts``: its config.json name by Arch.keys), how many a token
    is routed to, and their width (``inner_key``)."""
    experts, per_token = r.dimension(experts_key), r.dimension(per_token_key)
    inner = r.dimension(inner_key)
    at_most_experts(r, experts, per_token, per_token_key, of=experts_key)
    return {"hidden_size": h, "num_experts": experts, "num_experts_per_tok": per_token, "moe_intermediate_size": inner}


def _moe_layers(r: _Reader, layers: int) -> list[bool]:
    """Which decoder layers hold experts, by the model_type's own rule in transformers."""
    kind = r.arch.moe
    if kind == "mixtral":
        return [True] * layers
    if kind == "deepseek":
        first_dense = r.integer("first_k_dense_replace", minimum=0) or 0
        return [i >= first_dense for i in range(layers)]
    step = r.integer("decoder_sparse_step") or 1
    only_mlp = r.value("mlp_only_layers") or []
    if not isinstance(only_mlp, list) or not all(type(i) is int for i in only_mlp):
        r.error("mlp_only_layers", Code.INVALID_VALUE, f"expected a list of layer indices, got {_show(only_mlp)}")
        only_mlp = []
    given, experts = r.raw("num_experts")
    has_experts = not (given and experts == 0)
    return [i not in only_mlp and has_experts and (i + 1) % step == 0 for i in range(layers)]


def _sliding_windows(r: _Reader, layers: int) -> list[int | None]:
    """The sliding window of each decoder layer (None: full attention), as transformers configures it."""
    rule = r.arch.sliding
    if rule == "none":
        return [None] * layers
    if rule == "all":
        return [r.integer("sliding_window")] * layers
    enabled = r.flag("use_sliding_window")
    if not enabled and rule != "gemma2":
        # The switch is off: the window key is not read (transformers writes sliding_window 0 or null then).
        return [None] * layers
    window = r.integer("sliding_window")
    if rule == "all_if_enabled":
        return [window] * layers
    explicit = r.value("layer_types")
    if explicit is not None and rule in ("qwen", "gemma2"):
        if not isinstance(explicit, list) or len(explicit) != layers:
            r.error("layer_types", Code.INVALID_VALUE, f"expected a list of {layers} layer types")
            return [None] * layers
        out: list[int | None] = []
        for i, kind in enumerate(explicit):
            if kind not in ("sliding_attention", "full_attention"):
                r.error(
                    f"layer_types[{i}]",
                    Code.INVALID_VALUE,
                    f"expected 'sliding_attention' or 'full_attention', got {_show(kind)}",
                )
            out.append(window if kind == "sliding_attention" and (enabled or rule == "gemma2") else None)
        return out
    if rule == "gemma2":
        return [window if (i + 1) % 2 else None for i in range(layers)]
    max_window = r.integer("max_window_layers", minimum=0) or 0
    if rule == "qwen":
        return [window if enabled and i >= max_window else None for i in range(layers)]
    return [window if enabled and (i + 1) % 2 and i < max_window else None for i in range(layers)]  # qwen2_moe


def _notes(r: _Reader) -> str:
    notes = [
        f"Imported by importhf from a Hugging Face config.json (model_type {r.model_type}); absent keys take "
        "the transformers configuration class's defaults."
    ]
    quantization = r.config.get("quantization_config")
    if quantization is not None:
        method = quantization.get("quant_method") if isinstance(quantization, dict) else None
        notes.append(
            f"quantization_config{f' ({method})' if method else ''} does not change the parameter counts: "
            "they count parameters, whatever the bytes that store them."
        )
    notes += r.notes
    if r.arch.notes is not None:
        notes += r.arch.notes(r)
    return " ".join(notes)


def _supported() -> tuple[str, ...]:
    return tuple(sorted(ARCHITECTURES))


def __getattr__(name: str) -> Any:
    # Families register as hf_families loads: the list is read when asked for, never stale.
    if name == "SUPPORTED_MODEL_TYPES":
        return _supported()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _load_families() -> None:
    from registry.core import hf_families

    hf_families.load()


_load_families()
