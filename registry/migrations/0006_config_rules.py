"""The rules a config was validated under get a column of their own, and digests become the hash of the document.

Before, a digest was salted with the rules' version and the catalogue, so every release with a new rule changed
every ETag. This migration stores each config's digest as the plain hash of its document, once; from then on a
release changes a config's ETag only when it changes its document. ``rules`` starts empty (unknown): loadconfigs
validates those configs again, and ``manage.py revalidate`` re-checks and stamps them all.
"""

import dataclasses

from django.db import migrations, models

from registry.core.document import ConfigDoc, LayerTypeDoc, digest, order_specs

# The config's own columns as of this migration: ConfigDoc's fields but its layer types (mtp_params is derived from
# them) and the fields later migrations add (0007: the published total, absent from documents until set).
_LATER_FIELDS = ("layer_types", "published_total_params", "published_total_params_source")
_VALUE_FIELDS = tuple(f.name for f in dataclasses.fields(ConfigDoc) if f.name not in _LATER_FIELDS)


def plain_digests(apps, schema_editor):
    config_model = apps.get_model("registry", "ModelConfig")
    layer_model = apps.get_model("registry", "LayerType")
    layers: dict[int, list] = {}
    for layer in layer_model.objects.order_by("config_id", "position"):
        layers.setdefault(layer.config_id, []).append(
            LayerTypeDoc(
                name=layer.name,
                class_name=layer.class_name,
                count=layer.count,
                specs=order_specs(layer.class_name, layer.specs),
                parameter_count=layer.parameter_count,
            )
        )
    changed = []
    for config in config_model.objects.all():
        doc = ConfigDoc(
            **{name: getattr(config, name) for name in _VALUE_FIELDS}, layer_types=tuple(layers.get(config.pk, ()))
        )
        config.digest = digest(doc.to_document())
        changed.append(config)
    config_model.objects.bulk_update(changed, ["digest"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0005_revision_source_choices"),
    ]

    operations = [
        migrations.AddField(
            model_name="modelconfig",
            name="rules",
            field=models.CharField(
                default="",
                editable=False,
                help_text="The rules (RULES_VERSION and the catalogue) the config was last validated under; empty: "
                "unknown.",
                max_length=64,
            ),
        ),
        migrations.RunPython(plain_digests, migrations.RunPython.noop),
    ]
