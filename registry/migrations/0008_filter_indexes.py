# Indexes for the list's filters (issue 17): a GIN index on LayerType.specs for the spec filters (@> and ?),
# B-trees on the top-level integers the list filters on, and on active parameters as the list reads them.
# Written by hand. It follows 0009_devices as well as 0007 so that the app keeps a single leaf migration
# (0009_devices was written against 0007 before this one existed).

import django.contrib.postgres.indexes
import django.db.models.functions.comparison
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0007_published_total_params"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="layertype",
            index=django.contrib.postgres.indexes.GinIndex(fields=["specs"], name="layertype_specs_gin"),
        ),
        migrations.AddIndex(
            model_name="modelconfig",
            index=models.Index(fields=["hidden_size"], name="modelconfig_hidden_size"),
        ),
        migrations.AddIndex(
            model_name="modelconfig",
            index=models.Index(fields=["num_layers"], name="modelconfig_num_layers"),
        ),
        migrations.AddIndex(
            model_name="modelconfig",
            index=models.Index(fields=["vocab_size"], name="modelconfig_vocab_size"),
        ),
        migrations.AddIndex(
            model_name="modelconfig",
            index=models.Index(fields=["max_position_embeddings"], name="modelconfig_context"),
        ),
        migrations.AddIndex(
            model_name="modelconfig",
            index=models.Index(
                django.db.models.functions.comparison.Coalesce("active_params", "total_params"),
                name="modelconfig_active_or_total",
            ),
        ),
    ]
