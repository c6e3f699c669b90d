# Indexes for the list's filters (issue 17): a GIN index on LayerType.specs for the spec filters (@> and ?),
# B-trees on the top-level integers the list filters on, and on active parameters as the list reads them.
# Written by hand. 0009_devices, written against 0007 before this one existed, follows it, so that the app
# keeps a single leaf migration.

import django.contrib.postgres.indexes
import django.db.models.functions.comparison
from django.db import migrations, models

# The B-trees on the top-level integers the list filters on: (field, index name).
FILTERED_INTEGERS = [
    ("hidden_size", "modelconfig_hidden_size"),
    ("num_layers", "modelconfig_num_layers"),
    ("vocab_size", "modelconfig_vocab_size"),
    ("max_position_embeddings", "modelconfig_context"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0007_published_total_params"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="layertype",
            index=django.contrib.postgres.indexes.GinIndex(fields=["specs"], name="layertype_specs_gin"),
        ),
        *(
            migrations.AddIndex(model_name="modelconfig", index=models.Index(fields=[field], name=name))
            for field, name in FILTERED_INTEGERS
        ),
        migrations.AddIndex(
            model_name="modelconfig",
            index=models.Index(
                django.db.models.functions.comparison.Coalesce("active_params", "total_params"),
                name="modelconfig_active_or_total",
            ),
        ),
    ]
