# The device catalogue (issue 19): devices, their names and aliases, their history.

import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0008_filter_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Device",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "name",
                    models.CharField(
                        help_text="The device's name, e.g. H100-SXM; its aliases also find it.", max_length=64
                    ),
                ),
                (
                    "position",
                    models.PositiveIntegerField(editable=False, help_text="Order in the fixture file, from 0."),
                ),
                ("vendor", models.CharField(editable=False, max_length=1000)),
                (
                    "memory_bytes",
                    models.PositiveBigIntegerField(editable=False, help_text="Device memory, bytes (derived)."),
                ),
                (
                    "price_per_hour",
                    models.FloatField(editable=False, help_text="US dollars per device-hour (derived)."),
                ),
                (
                    "document",
                    models.JSONField(editable=False, help_text="The device document, as parse_device validates it."),
                ),
                (
                    "digest",
                    models.CharField(
                        editable=False, help_text="SHA-256 of the device's document: its ETag.", max_length=64
                    ),
                ),
                ("created", models.DateTimeField(auto_now_add=True)),
                ("updated", models.DateTimeField(auto_now=True)),
            ],
            options={
                "ordering": ["position", "name"],
                "constraints": [
                    models.UniqueConstraint(fields=("name",), name="device_name_unique"),
                    models.CheckConstraint(condition=models.Q(("memory_bytes__gt", 0)), name="device_memory_positive"),
                    models.CheckConstraint(
                        condition=models.Q(("price_per_hour__gte", 0)), name="device_price_not_negative"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="DeviceName",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=64)),
                ("alias", models.BooleanField(default=False)),
                (
                    "device",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="names", to="registry.device"
                    ),
                ),
            ],
            options={
                "ordering": ["device", "alias", "id"],
                "constraints": [
                    models.UniqueConstraint(
                        django.db.models.functions.text.Lower("key"), name="devicename_key_unique_ci"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="DeviceRevision",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=64)),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("created", "Created"),
                            ("updated", "Updated"),
                            ("deleted", "Deleted"),
                            ("restored", "Restored"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "source",
                    models.CharField(
                        choices=[("api", "Api"), ("admin", "Admin"), ("loadconfigs", "Loadconfigs")], max_length=32
                    ),
                ),
                ("before", models.JSONField(blank=True, null=True)),
                ("after", models.JSONField(blank=True, null=True)),
                ("created", models.DateTimeField(auto_now_add=True)),
                (
                    "device",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="revisions",
                        to="registry.device",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "ordering": ["-created", "-id"],
                "get_latest_by": "created",
                "indexes": [models.Index(fields=["name", "-created", "-id"], name="device_revision_history")],
            },
        ),
    ]
