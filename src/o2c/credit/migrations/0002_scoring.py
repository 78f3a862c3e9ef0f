"""Credit scoring: scorecard versions (the default one seeded here, scorecard.DEFAULT_DEFINITION), credit
applications with trade references, financial statements and bureau reports, the scores with their
factors, periodic reviews, and credit raise requests with their evidence (docs/credit-scoring.md)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.utils import timezone


def seed_default_scorecard(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    from o2c.credit import scorecard

    ScorecardVersion = apps.get_model("credit", "ScorecardVersion")
    if not ScorecardVersion.objects.exists():
        ScorecardVersion.objects.create(
            version=1,
            definition=scorecard.DEFAULT_DEFINITION,
            note="the default scorecard",
            created_at=timezone.now(),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("credit", "0001_initial"),
        ("customers", "0004_risk_class"),
        ("ledger", "0013_allowance_account"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CreditApplication",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("company_name", models.CharField(max_length=200)),
                ("country", models.CharField(max_length=2)),
                ("vat_id", models.CharField(blank=True, max_length=30)),
                ("registration_number", models.CharField(blank=True, max_length=40)),
                ("address", models.TextField(blank=True)),
                ("requested_limit_minor", models.BigIntegerField()),
                ("currency", models.CharField(max_length=3)),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("submitted", "Submitted"),
                            ("scored", "Scored"),
                            ("approved", "Approved"),
                            ("declined", "Declined"),
                        ],
                        default="submitted",
                        max_length=10,
                    ),
                ),
                ("decided_limit_minor", models.BigIntegerField(blank=True, null=True)),
                ("decision_note", models.TextField(blank=True)),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                (
                    "limit_request_id",
                    models.BigIntegerField(blank=True, help_text="the limit it asked for", null=True),
                ),
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
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="customers.customer",
                    ),
                ),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "entity",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="ledger.legalentity"
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="BureauReport",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("bureau", models.CharField(max_length=40)),
                ("registration_number", models.CharField(blank=True, max_length=40)),
                ("vat_id", models.CharField(blank=True, max_length=30)),
                ("as_of", models.DateField()),
                ("score", models.PositiveSmallIntegerField()),
                ("failure_class", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("payment_index", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("imported_at", models.DateTimeField()),
                (
                    "customer",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="customers.customer",
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
                    "application",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="bureau_reports",
                        to="credit.creditapplication",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="CreditScore",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("as_of", models.DateField()),
                ("total", models.DecimalField(blank=True, decimal_places=2, max_digits=6, null=True)),
                ("risk_class", models.CharField(blank=True, max_length=1)),
                ("recommended_limit_minor", models.BigIntegerField(blank=True, null=True)),
                ("currency", models.CharField(blank=True, max_length=3)),
                ("limit_basis", models.CharField(blank=True, max_length=20)),
                ("factors", models.JSONField(default=list)),
                ("created_at", models.DateTimeField()),
                (
                    "application",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="scores",
                        to="credit.creditapplication",
                    ),
                ),
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
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="credit_scores",
                        to="customers.customer",
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
            name="CreditReview",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("risk_class", models.CharField(help_text="the class that set the due date", max_length=1)),
                ("due_date", models.DateField()),
                (
                    "state",
                    models.CharField(
                        choices=[("open", "Open"), ("completed", "Completed")], default="open", max_length=10
                    ),
                ),
                (
                    "decision",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("keep", "Keep the limit"),
                            ("raise", "Raise the limit"),
                            ("lower", "Lower the limit"),
                            ("block", "Block the customer"),
                        ],
                        max_length=10,
                    ),
                ),
                ("note", models.TextField(blank=True)),
                ("completed_on", models.DateField(blank=True, null=True)),
                ("completed_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField()),
                (
                    "completed_by",
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
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="credit_reviews",
                        to="customers.customer",
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
                    "score",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="credit.creditscore",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="FinancialStatement",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("statement_date", models.DateField()),
                ("currency", models.CharField(max_length=3)),
                ("current_assets_minor", models.BigIntegerField()),
                ("current_liabilities_minor", models.BigIntegerField()),
                ("total_assets_minor", models.BigIntegerField()),
                ("total_liabilities_minor", models.BigIntegerField()),
                ("retained_earnings_minor", models.BigIntegerField()),
                ("ebit_minor", models.BigIntegerField()),
                ("sales_minor", models.BigIntegerField()),
                ("equity_minor", models.BigIntegerField()),
                ("created_at", models.DateTimeField()),
                (
                    "application",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="financial_statements",
                        to="credit.creditapplication",
                    ),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="customers.customer",
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
            name="RaiseRequest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("current_limit_minor", models.BigIntegerField(blank=True, null=True)),
                ("requested_limit_minor", models.BigIntegerField()),
                ("currency", models.CharField(max_length=3)),
                ("reason", models.TextField()),
                (
                    "state",
                    models.CharField(
                        choices=[("open", "Open"), ("approved", "Approved"), ("declined", "Declined")],
                        default="open",
                        max_length=10,
                    ),
                ),
                ("checklist", models.JSONField(default=dict)),
                ("decided_limit_minor", models.BigIntegerField(blank=True, null=True)),
                ("decision_note", models.TextField(blank=True)),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                (
                    "limit_request_id",
                    models.BigIntegerField(blank=True, help_text="the limit it asked for", null=True),
                ),
                ("requested_at", models.DateTimeField()),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="raise_requests",
                        to="customers.customer",
                    ),
                ),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
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
                    "requested_by",
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
            name="RaiseEvidence",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("checklist_item", models.CharField(blank=True, max_length=40)),
                ("file_name", models.CharField(max_length=200)),
                ("description", models.CharField(blank=True, default="", max_length=300)),
                ("content_type", models.CharField(max_length=100)),
                ("size", models.PositiveIntegerField()),
                ("sha256", models.CharField(max_length=64)),
                ("content", models.BinaryField()),
                ("uploaded_at", models.DateTimeField()),
                (
                    "uploaded_by",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "raise_request",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="evidence",
                        to="credit.raiserequest",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="ScorecardVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("version", models.PositiveIntegerField(unique=True)),
                ("definition", models.JSONField()),
                ("note", models.CharField(blank=True, max_length=300)),
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
        migrations.AddField(
            model_name="creditscore",
            name="scorecard",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="credit.scorecardversion"
            ),
        ),
        migrations.CreateModel(
            name="TradeReference",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=200)),
                ("contact", models.CharField(blank=True, max_length=200)),
                ("years_known", models.PositiveSmallIntegerField(default=0)),
                ("highest_credit_minor", models.BigIntegerField(default=0)),
                ("currency", models.CharField(max_length=3)),
                (
                    "payment_experience",
                    models.CharField(
                        choices=[
                            ("prompt", "Pays promptly"),
                            ("slow", "Pays slowly"),
                            ("poor", "Pays poorly"),
                        ],
                        max_length=10,
                    ),
                ),
                (
                    "application",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="trade_references",
                        to="credit.creditapplication",
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="creditapplication",
            index=models.Index(
                fields=["entity", "registration_number"], name="credit_cred_entity__439d0d_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="creditapplication",
            index=models.Index(fields=["vat_id"], name="credit_cred_vat_id_58e4e7_idx"),
        ),
        migrations.AddConstraint(
            model_name="creditapplication",
            constraint=models.CheckConstraint(
                condition=models.Q(("requested_limit_minor__gte", 0)),
                name="application_requested_not_negative",
            ),
        ),
        migrations.AddIndex(
            model_name="bureaureport",
            index=models.Index(fields=["customer", "as_of"], name="credit_bure_custome_b09d1d_idx"),
        ),
        migrations.AddConstraint(
            model_name="bureaureport",
            constraint=models.UniqueConstraint(
                fields=("entity", "bureau", "registration_number", "vat_id", "as_of"),
                name="unique_bureau_report",
            ),
        ),
        migrations.AddConstraint(
            model_name="bureaureport",
            constraint=models.CheckConstraint(
                condition=models.Q(("score__lte", 100)), name="bureau_score_range"
            ),
        ),
        migrations.AddIndex(
            model_name="creditreview",
            index=models.Index(fields=["entity", "state", "due_date"], name="credit_cred_entity__731d0c_idx"),
        ),
        migrations.AddConstraint(
            model_name="creditreview",
            constraint=models.UniqueConstraint(
                condition=models.Q(("state", "open")),
                fields=("customer",),
                name="one_open_review_per_customer",
            ),
        ),
        migrations.AddIndex(
            model_name="financialstatement",
            index=models.Index(fields=["customer", "statement_date"], name="credit_fina_custome_ae88b3_idx"),
        ),
        migrations.AddConstraint(
            model_name="financialstatement",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("application__isnull", False), ("customer__isnull", False), _connector="OR"
                ),
                name="statement_has_owner",
            ),
        ),
        migrations.AddConstraint(
            model_name="raiserequest",
            constraint=models.CheckConstraint(
                condition=models.Q(("requested_limit_minor__gt", 0)), name="raise_requested_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="creditscore",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("application__isnull", False), ("customer__isnull", False), _connector="OR"
                ),
                name="score_has_subject",
            ),
        ),
        migrations.RunPython(seed_default_scorecard, migrations.RunPython.noop),
    ]
