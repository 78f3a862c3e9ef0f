# Late-payment interest and recovery fees: reference rates, the policy per entity and currency, and the
# late charges (debit memos) issued with what they charged per item.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("collections", "0007_activities"),
        ("customers", "0003_mandate"),
        ("ledger", "0013_allowance_account"),
        ("receivables", "0006_document_last_allocation_date"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="LateCharge",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("as_of", models.DateField()),
                ("currency", models.CharField(max_length=3)),
                ("interest_minor", models.BigIntegerField()),
                ("fee_minor", models.BigIntegerField()),
                ("created_at", models.DateTimeField()),
                (
                    "created_by",
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
                    "document",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="receivables.document",
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
            ],
        ),
        migrations.CreateModel(
            name="LateChargeItem",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("interest_from", models.DateField(blank=True, null=True)),
                ("interest_through", models.DateField(blank=True, null=True)),
                ("interest_minor", models.BigIntegerField(default=0)),
                ("fee_minor", models.BigIntegerField(default=0)),
                (
                    "charge",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="items",
                        to="collections.latecharge",
                    ),
                ),
                (
                    "document",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="receivables.document",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="LatePaymentPolicy",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("currency", models.CharField(max_length=3)),
                (
                    "reference_rate",
                    models.CharField(blank=True, help_text="empty: a fixed rate", max_length=30),
                ),
                (
                    "annual_percent",
                    models.DecimalField(
                        decimal_places=4,
                        help_text="the fixed rate, or the margin over the reference rate",
                        max_digits=7,
                    ),
                ),
                (
                    "day_count",
                    models.CharField(
                        choices=[("act_365", "Actual/365"), ("act_360", "Actual/360")],
                        default="act_365",
                        max_length=10,
                    ),
                ),
                ("grace_days", models.PositiveSmallIntegerField(default=0)),
                ("fee_minor", models.BigIntegerField(default=0, help_text="per overdue invoice, once")),
                ("minimum_minor", models.BigIntegerField(default=0)),
                ("charge_interest", models.BooleanField(default=False)),
                ("charge_fee", models.BooleanField(default=False)),
                ("updated_at", models.DateTimeField()),
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
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="ReferenceRate",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=30)),
                ("valid_from", models.DateField()),
                ("annual_percent", models.DecimalField(decimal_places=4, max_digits=7)),
                ("source", models.CharField(blank=True, help_text="where it is published", max_length=200)),
                ("created_at", models.DateTimeField()),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="latecharge",
            index=models.Index(fields=["entity", "as_of"], name="late_charge_as_of_idx"),
        ),
        migrations.AddConstraint(
            model_name="latecharge",
            constraint=models.UniqueConstraint(
                fields=("customer", "currency", "as_of"), name="one_late_charge_a_day"
            ),
        ),
        migrations.AddConstraint(
            model_name="latecharge",
            constraint=models.CheckConstraint(
                condition=models.Q(("fee_minor__gte", 0), ("interest_minor__gte", 0)),
                name="late_charge_not_negative",
            ),
        ),
        migrations.AddConstraint(
            model_name="latechargeitem",
            constraint=models.UniqueConstraint(fields=("charge", "document"), name="one_late_charge_item"),
        ),
        migrations.AddConstraint(
            model_name="latechargeitem",
            constraint=models.UniqueConstraint(
                condition=models.Q(("fee_minor__gt", 0)),
                fields=("document",),
                name="late_fee_once_per_document",
            ),
        ),
        migrations.AddConstraint(
            model_name="latechargeitem",
            constraint=models.UniqueConstraint(
                condition=models.Q(("interest_through__isnull", False)),
                fields=("document", "interest_through"),
                name="late_interest_once_per_day",
            ),
        ),
        migrations.AddConstraint(
            model_name="latechargeitem",
            constraint=models.CheckConstraint(
                condition=models.Q(("fee_minor__gte", 0), ("interest_minor__gte", 0)),
                name="late_charge_item_not_negative",
            ),
        ),
        migrations.AddConstraint(
            model_name="latechargeitem",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("interest_from__isnull", True), ("interest_through__isnull", True)),
                    ("interest_through__gte", models.F("interest_from")),
                    _connector="OR",
                ),
                name="late_charge_item_period",
            ),
        ),
        migrations.AddConstraint(
            model_name="latepaymentpolicy",
            constraint=models.UniqueConstraint(fields=("entity", "currency"), name="one_late_payment_policy"),
        ),
        migrations.AddConstraint(
            model_name="latepaymentpolicy",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("annual_percent__gte", 0), ("fee_minor__gte", 0), ("minimum_minor__gte", 0)
                ),
                name="late_payment_policy_not_negative",
            ),
        ),
        migrations.AddConstraint(
            model_name="latepaymentpolicy",
            constraint=models.CheckConstraint(
                condition=models.Q(("day_count__in", ["act_365", "act_360"])),
                name="late_payment_day_count_known",
            ),
        ),
        migrations.AddConstraint(
            model_name="referencerate",
            constraint=models.UniqueConstraint(
                fields=("name", "valid_from"), name="one_reference_rate_a_day"
            ),
        ),
        migrations.AddConstraint(
            model_name="referencerate",
            constraint=models.CheckConstraint(
                condition=models.Q(("name__regex", "^[a-z][a-z0-9_]*$")), name="reference_rate_name"
            ),
        ),
    ]
