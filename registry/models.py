"""Stored configs, their layer types, and the history of every change."""

from collections.abc import Mapping
from typing import ClassVar

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Lower

from registry.core.document import ConfigDoc, LayerTypeDoc, order_specs
from registry.core.issues import Issue
from registry.core.keys import AUTHORED_VALUE_KEYS, CONFIG_VALUE_KEYS
from registry.core.validation import (
    MAX_FORMATTED_LENGTH,
    MAX_ID_LENGTH,
    MAX_LAYER_NAME_LENGTH,
    MAX_NAME_LENGTH,
    MAX_NOTES_LENGTH,
    MAX_SOURCE_LENGTH,
    MODEL_ID_PATTERN,
    validate_layer_type,
    validate_own_values,
)

# A layer type's document keys and the model fields that hold them ("class" is a Python keyword; the specs
# are the specs JSON field). A config's keys are its fields' names.
LAYER_FIELD_OF_KEY = {"name": "name", "class": "class_name", "count": "count"}


def raise_issues(issues: list[Issue], fields: Mapping[str, str] | None = None) -> None:
    """Raise the core's issues as one Django ValidationError, each at the field its path starts with."""
    if not issues:
        return
    errors: dict[str, list[ValidationError]] = {}
    for issue in issues:
        head = issue.loc.split(".", 1)[0].split("[", 1)[0]
        field = fields.get(head, head) if fields else head
        message = issue.msg if issue.loc == head else f"{issue.loc}: {issue.msg}"
        errors.setdefault(field if field != "$" else NON_FIELD_ERRORS, []).append(
            ValidationError(message, code=issue.code)
        )
    raise ValidationError(errors)


class ModelConfig(models.Model):
    """One model's architecture config; derived counts are written by the services, never by hand."""

    model_id = models.CharField(
        max_length=MAX_ID_LENGTH, help_text="hf_model_id with '/' replaced by '_'; also the file name without .json."
    )
    hf_model_id = models.CharField("Hugging Face model id", max_length=MAX_ID_LENGTH)
    name = models.CharField(max_length=MAX_NAME_LENGTH)
    hidden_size = models.PositiveBigIntegerField()
    num_layers = models.PositiveBigIntegerField()
    vocab_size = models.PositiveBigIntegerField()
    max_position_embeddings = models.PositiveBigIntegerField(
        "context length", null=True, blank=True, help_text="Tokens of context the model was built for (optional)."
    )
    total_params = models.PositiveBigIntegerField(
        editable=False, help_text="Σ count × parameter_count over the layer types (derived)."
    )
    total_params_formatted = models.CharField(max_length=MAX_FORMATTED_LENGTH, editable=False)
    active_params = models.PositiveBigIntegerField(
        null=True,
        editable=False,
        help_text="Parameters one token uses: routed experts count k of E (derived; only configs with experts).",
    )
    # Null, not "", when absent: a CHECK ties it to active_params, and documents leave both out.
    active_params_formatted = models.CharField(max_length=MAX_FORMATTED_LENGTH, null=True, editable=False)  # noqa: DJ001
    validated = models.BooleanField(default=False, help_text="Checked against the published model card.")
    validation_notes = models.TextField(blank=True, max_length=MAX_NOTES_LENGTH)
    published_total_params = models.PositiveBigIntegerField(
        "published total parameters",
        null=True,
        blank=True,
        help_text="The total parameter count the model's publisher gives (optional); a warning when the derived "
        "total disagrees.",
    )
    published_total_params_source = models.CharField(
        "source of the published total",
        max_length=MAX_SOURCE_LENGTH,
        blank=True,
        help_text="Where the published total comes from: a URL (the model card) or a short citation.",
    )
    digest = models.CharField(max_length=64, editable=False, help_text="SHA-256 of the config's document: its ETag.")
    # Not part of the ETag: a release with new rules re-checks a config (loadconfigs, revalidate) without
    # changing its digest unless its document changes.
    rules = models.CharField(
        max_length=64,
        default="",
        editable=False,
        help_text="The rules (RULES_VERSION and the catalogue) the config was last validated under; empty: unknown.",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model_id"]
        verbose_name = "model config"
        constraints = [
            models.UniqueConstraint(fields=["model_id"], name="modelconfig_model_id_unique"),
            models.UniqueConstraint(fields=["hf_model_id"], name="modelconfig_hf_model_id_unique"),
            models.CheckConstraint(condition=Q(model_id__regex=MODEL_ID_PATTERN), name="modelconfig_model_id_chars"),
            models.CheckConstraint(condition=Q(hidden_size__gt=0), name="modelconfig_hidden_size_positive"),
            models.CheckConstraint(condition=Q(num_layers__gt=0), name="modelconfig_num_layers_positive"),
            models.CheckConstraint(condition=Q(vocab_size__gt=0), name="modelconfig_vocab_size_positive"),
            models.CheckConstraint(condition=Q(total_params__gt=0), name="modelconfig_total_params_positive"),
            models.CheckConstraint(
                condition=Q(published_total_params__isnull=True) | Q(published_total_params__gt=0),
                name="modelconfig_published_total_params_positive",
            ),
            models.CheckConstraint(
                condition=Q(active_params__isnull=True) | Q(active_params__lte=F("total_params")),
                name="modelconfig_active_params_at_most_total",
            ),
            models.CheckConstraint(
                condition=Q(active_params__isnull=True, active_params_formatted__isnull=True)
                | Q(active_params__isnull=False, active_params_formatted__isnull=False),
                name="modelconfig_active_params_formatted_with_active_params",
            ),
        ]
        indexes = [
            models.Index(fields=["total_params"]),
            models.Index(fields=["updated"]),
            # The list's filters (registry/api/filters.py): equality and ranges on these, and on active
            # parameters as the list reads them (a dense config's are its total).
            models.Index(fields=["hidden_size"], name="modelconfig_hidden_size"),
            models.Index(fields=["num_layers"], name="modelconfig_num_layers"),
            models.Index(fields=["vocab_size"], name="modelconfig_vocab_size"),
            models.Index(fields=["max_position_embeddings"], name="modelconfig_context"),
            models.Index(Coalesce("active_params", "total_params"), name="modelconfig_active_or_total"),
        ]

    def __str__(self) -> str:
        return self.model_id

    def clean(self) -> None:
        """The core's rules on the config's own values (naming, sizes, flags), with its codes and paths."""
        own = {key: getattr(self, key) for key in AUTHORED_VALUE_KEYS}
        raise_issues(validate_own_values({k: v for k, v in own.items() if v is not None}))

    def to_doc(self) -> ConfigDoc:
        """The config as the core's normalized value; uses ``layer_types`` (prefetch them for lists)."""
        return ConfigDoc(
            **{key: getattr(self, key) for key in CONFIG_VALUE_KEYS},
            layer_types=tuple(layer.to_doc() for layer in self.layer_types.all()),
        )

    def to_document(self) -> dict:
        """The config as the format's JSON document."""
        return self.to_doc().to_document()


class LayerType(models.Model):
    """One entry of a config's ``layer_types``, kept in file order by ``position``."""

    # No index of its own: the unique (config, name) and (config, position) indexes lead with it.
    config = models.ForeignKey(ModelConfig, on_delete=models.CASCADE, related_name="layer_types", db_index=False)
    position = models.PositiveIntegerField(help_text="Order within the config's layer_types, from 0.")
    name = models.CharField(max_length=MAX_LAYER_NAME_LENGTH)
    class_name = models.CharField(
        "class", max_length=MAX_LAYER_NAME_LENGTH, help_text="A class of the layer-class catalogue."
    )
    count = models.PositiveBigIntegerField()
    specs = models.JSONField(default=dict, help_text="The class's specs, without parameter_count.")
    # 0 is a real count: a tied output head, a norm without weights.
    parameter_count = models.PositiveBigIntegerField(editable=False, help_text="Parameters of one layer (derived).")

    class Meta:
        ordering = ["config", "position"]
        constraints = [
            models.UniqueConstraint(fields=["config", "name"], name="layertype_config_name_unique"),
            models.UniqueConstraint(fields=["config", "position"], name="layertype_config_position_unique"),
            models.CheckConstraint(condition=Q(count__gt=0), name="layertype_count_positive"),
            models.CheckConstraint(condition=~Q(name=""), name="layertype_name_not_empty"),
        ]
        # The list's spec filters (selectors.with_spec): @> for equality, ? (has the key) for ranges.
        indexes = [GinIndex(fields=["specs"], name="layertype_specs_gin")]

    def __str__(self) -> str:
        return f"{self.name} ({self.class_name} × {self.count})"

    def clean(self) -> None:
        """The core's rules on one layer type (its class resolves, required and typed specs, and against the
        config's sizes), with the core's codes; a spec's path (specs.num_kv_heads) leads its message."""
        config = self.config if self.config_id else None
        sizes = {"hidden_size": config.hidden_size, "vocab_size": config.vocab_size} if config else None
        item = {"name": self.name, "class": self.class_name, "count": self.count, "specs": self.specs}
        raise_issues(validate_layer_type(item, sizes=sizes), LAYER_FIELD_OF_KEY)

    def to_doc(self) -> LayerTypeDoc:
        return LayerTypeDoc(
            name=self.name,
            class_name=self.class_name,
            count=self.count,
            specs=order_specs(self.class_name, self.specs),
            parameter_count=self.parameter_count,
        )

    @property
    def subtotal(self) -> int:
        return self.count * self.parameter_count


class Revision(models.Model):
    """A kept version of an object: who changed it, when, how, and the document before and after."""

    class Action(models.TextChoices):
        CREATED = "created"
        UPDATED = "updated"
        DELETED = "deleted"
        RESTORED = "restored"

    action = models.CharField(max_length=16, choices=Action.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    subject_field: ClassVar[str]  # the field naming what the revision is of

    class Meta:
        abstract = True
        ordering = ["-created", "-id"]
        get_latest_by = "created"

    def __str__(self) -> str:
        return f"{self.subject} {self.action} at {self.created:%Y-%m-%d %H:%M:%S}"

    @property
    def subject(self) -> str:
        """What the revision is of: the model_id or the device name."""
        return str(getattr(self, self.subject_field))


class ConfigRevision(Revision):
    """A kept version of a config: who changed it, when, how, and the document before and after."""

    class Source(models.TextChoices):
        """Where a write came from."""

        API = "api"
        ADMIN = "admin"
        LOADCONFIGS = "loadconfigs"
        IMPORTHF = "importhf"
        RECOMPUTECOUNTS = "recomputecounts"

    model_id = models.CharField(max_length=MAX_ID_LENGTH)
    config = models.ForeignKey(ModelConfig, null=True, blank=True, on_delete=models.SET_NULL, related_name="revisions")
    source = models.CharField(max_length=32, choices=Source.choices)

    subject_field = "model_id"

    class Meta(Revision.Meta):
        # A config's history, newest first: the one way revisions are read.
        indexes = [models.Index(fields=["model_id", "-created", "-id"], name="revision_history")]


class Device(models.Model):
    """One accelerator of the device catalogue: its validated document (every figure with its source and date) and
    the columns lists filter and sort on, derived from it by the services (``registry/services/devices.py``)."""

    name = models.CharField(max_length=64, help_text="The device's name, e.g. H100-SXM; its aliases also find it.")
    position = models.PositiveIntegerField(editable=False, help_text="Order in the fixture file, from 0.")
    vendor = models.CharField(max_length=1000, editable=False)
    memory_bytes = models.PositiveBigIntegerField(editable=False, help_text="Device memory, bytes (derived).")
    price_per_hour = models.FloatField(editable=False, help_text="US dollars per device-hour (derived).")
    document = models.JSONField(editable=False, help_text="The device document, as parse_device validates it.")
    digest = models.CharField(max_length=64, editable=False, help_text="SHA-256 of the device's document: its ETag.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["name"], name="device_name_unique"),
            models.CheckConstraint(condition=Q(memory_bytes__gt=0), name="device_memory_positive"),
            models.CheckConstraint(condition=Q(price_per_hour__gte=0), name="device_price_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class DeviceName(models.Model):
    """Every name and alias of every device, unique across the catalogue whatever the case."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="names")
    key = models.CharField(max_length=64)
    alias = models.BooleanField(default=False)

    class Meta:
        ordering = ["device", "alias", "id"]
        constraints = [models.UniqueConstraint(Lower("key"), name="devicename_key_unique_ci")]

    def __str__(self) -> str:
        return self.key


class DeviceRevision(Revision):
    """A kept version of a device: who changed it, when, how, and the document before and after."""

    class Source(models.TextChoices):
        """Where a write came from."""

        API = "api"
        ADMIN = "admin"
        LOADCONFIGS = "loadconfigs"

    name = models.CharField(max_length=64)
    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="revisions")
    source = models.CharField(max_length=32, choices=Source.choices)

    subject_field = "name"

    class Meta(Revision.Meta):
        indexes = [models.Index(fields=["name", "-created", "-id"], name="device_revision_history")]
