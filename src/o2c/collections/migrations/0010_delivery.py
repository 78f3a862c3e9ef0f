import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("collections", "0009_escalation"),
        ("customers", "0003_mandate"),
        ("ledger", "0013_allowance_account"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="dunningnotice",
            name="message_id",
            field=models.CharField(blank=True, db_default="", max_length=250),
        ),
        migrations.AlterField(
            model_name="dunningnotice",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("sent", "Sent"),
                    ("failed", "Failed"),
                    ("bounced", "Bounced"),
                ],
                default="pending",
                max_length=10,
            ),
        ),
        migrations.AddIndex(
            model_name="dunningnotice",
            index=models.Index(
                condition=models.Q(("message_id", ""), _negated=True),
                fields=["message_id"],
                name="dunning_notice_message_idx",
            ),
        ),
        migrations.CreateModel(
            name="DeliveryProblem",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("address", models.CharField(help_text="lowercase", max_length=254)),
                (
                    "action",
                    models.CharField(help_text="the DSN's Action: failed, delayed, ...", max_length=20),
                ),
                ("status_code", models.CharField(help_text="the DSN's Status, e.g. 5.1.1", max_length=20)),
                ("diagnostic", models.CharField(blank=True, max_length=500)),
                ("is_permanent", models.BooleanField()),
                ("bounced_at", models.DateTimeField(help_text="the DSN's Arrival-Date, else its Date")),
                ("created_at", models.DateTimeField()),
                ("cleared_at", models.DateTimeField(blank=True, null=True)),
                ("clear_reason", models.CharField(blank=True, max_length=500)),
                (
                    "cleared_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="customers.customer"
                    ),
                ),
                (
                    "entity",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.legalentity",
                    ),
                ),
                (
                    "notice",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="collections.dunningnotice",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        condition=models.Q(("cleared_at__isnull", True), ("is_permanent", True)),
                        fields=["customer", "address"],
                        name="undeliverable_address_idx",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("notice", "address", "status_code"), name="one_delivery_problem_per_status"
                    )
                ],
            },
        ),
    ]
