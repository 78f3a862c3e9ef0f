"""The escalation matrix and collection agencies (docs/escalation.md): the rules per legal entity, each
customer's current level and its history, agencies, placements and their items. Every legal entity gets
the standard matrix (`o2c.collections.escalation.STANDARD_MATRIX`); one created later gets it at its
first look at the proposals."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.utils import timezone


def create_standard_matrices(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    from o2c.collections.escalation import standard_rule_values

    LegalEntity = apps.get_model("ledger", "LegalEntity")
    EscalationRule = apps.get_model("collections", "EscalationRule")
    now = timezone.now()
    for entity in LegalEntity.objects.exclude(pk__in=EscalationRule.objects.values("entity_id")).order_by(
        "pk"
    ):
        EscalationRule.objects.bulk_create(
            EscalationRule(entity=entity, updated_at=now, **values)
            for values in standard_rule_values(currency=entity.currency)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("collections", "0008_late_payment"),
        ("customers", "0003_mandate"),
        ("ledger", "0013_allowance_account"),
        ("receivables", "0006_document_last_allocation_date"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CollectionAgency",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("code", models.CharField(max_length=30)),
                ("name", models.CharField(max_length=200)),
                ("email", models.EmailField(blank=True, max_length=254)),
                ("is_active", models.BooleanField(default=True)),
                ("created_at", models.DateTimeField()),
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
            name="AgencyPlacement",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[("placed", "Placed"), ("recalled", "Recalled")],
                        default="placed",
                        max_length=10,
                    ),
                ),
                ("placed_on", models.DateField()),
                (
                    "reason_code",
                    models.CharField(
                        choices=[
                            ("no_response", "No response"),
                            ("broken_promises", "Broken promises"),
                            ("dispute_without_grounds", "Dispute without grounds"),
                            ("insolvency", "Insolvency"),
                            ("refuses_to_pay", "Refuses to pay"),
                            ("other", "Other"),
                        ],
                        max_length=30,
                    ),
                ),
                ("reason_text", models.TextField()),
                ("placed_at", models.DateTimeField()),
                ("recalled_on", models.DateField(blank=True, null=True)),
                ("recall_reason", models.TextField(blank=True)),
                ("recalled_at", models.DateTimeField(blank=True, null=True)),
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
                    "placed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "recalled_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "agency",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="placements",
                        to="collections.collectionagency",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="CustomerEscalation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "level",
                    models.CharField(
                        choices=[
                            ("collector", "Collector"),
                            ("team_lead", "Team lead"),
                            ("ar_manager", "AR manager"),
                            ("legal", "Legal"),
                            ("agency", "Collection agency"),
                        ],
                        max_length=12,
                    ),
                ),
                ("since", models.DateField()),
                ("updated_at", models.DateTimeField()),
                (
                    "customer",
                    models.OneToOneField(
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
            ],
        ),
        migrations.CreateModel(
            name="EscalationChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "from_level",
                    models.CharField(
                        choices=[
                            ("collector", "Collector"),
                            ("team_lead", "Team lead"),
                            ("ar_manager", "AR manager"),
                            ("legal", "Legal"),
                            ("agency", "Collection agency"),
                        ],
                        max_length=12,
                    ),
                ),
                (
                    "to_level",
                    models.CharField(
                        choices=[
                            ("collector", "Collector"),
                            ("team_lead", "Team lead"),
                            ("ar_manager", "AR manager"),
                            ("legal", "Legal"),
                            ("agency", "Collection agency"),
                        ],
                        max_length=12,
                    ),
                ),
                (
                    "reason_code",
                    models.CharField(
                        choices=[
                            ("no_response", "No response"),
                            ("broken_promises", "Broken promises"),
                            ("dispute_without_grounds", "Dispute without grounds"),
                            ("insolvency", "Insolvency"),
                            ("refuses_to_pay", "Refuses to pay"),
                            ("other", "Other"),
                        ],
                        max_length=30,
                    ),
                ),
                ("reason_text", models.TextField()),
                ("changed_on", models.DateField(help_text="the entity's date")),
                ("changed_at", models.DateTimeField()),
                (
                    "changed_by",
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
            ],
        ),
        migrations.CreateModel(
            name="EscalationRule",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "level",
                    models.CharField(
                        choices=[
                            ("collector", "Collector"),
                            ("team_lead", "Team lead"),
                            ("ar_manager", "AR manager"),
                            ("legal", "Legal"),
                            ("agency", "Collection agency"),
                        ],
                        max_length=12,
                    ),
                ),
                ("name", models.CharField(max_length=100)),
                ("min_days_overdue", models.PositiveIntegerField(blank=True, null=True)),
                ("min_overdue_minor", models.BigIntegerField(blank=True, null=True)),
                ("currency", models.CharField(blank=True, help_text="of min_overdue_minor", max_length=3)),
                ("min_broken_promises", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("min_dunning_level", models.PositiveSmallIntegerField(blank=True, null=True)),
                (
                    "min_dunning_days",
                    models.PositiveIntegerField(default=0, help_text="days since min_dunning_level"),
                ),
                ("is_active", models.BooleanField(default=True)),
                ("updated_at", models.DateTimeField()),
                (
                    "entity",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="ledger.legalentity"
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
            name="PlacedItem",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("currency", models.CharField(max_length=3)),
                ("open_minor", models.BigIntegerField(help_text="at placement")),
                ("is_placed", models.BooleanField(default=True)),
                (
                    "document",
                    models.ForeignKey(
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
                (
                    "placement",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="items",
                        to="collections.agencyplacement",
                    ),
                ),
            ],
        ),
        migrations.AddConstraint(
            model_name="collectionagency",
            constraint=models.UniqueConstraint(
                fields=("entity", "code"), name="unique_collection_agency_code"
            ),
        ),
        migrations.AddIndex(
            model_name="agencyplacement",
            index=models.Index(fields=["entity", "state"], name="agency_placement_state_idx"),
        ),
        migrations.AddConstraint(
            model_name="agencyplacement",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("recalled_on__isnull", True), ("state", "placed")),
                    models.Q(("recalled_on__isnull", False), ("state", "recalled")),
                    _connector="OR",
                ),
                name="agency_placement_recalled_on_when_recalled",
            ),
        ),
        migrations.AddIndex(
            model_name="customerescalation",
            index=models.Index(fields=["entity", "level"], name="customer_escalation_level_idx"),
        ),
        migrations.AddConstraint(
            model_name="escalationchange",
            constraint=models.CheckConstraint(
                condition=models.Q(("from_level", models.F("to_level")), _negated=True),
                name="escalation_changes_level",
            ),
        ),
        migrations.AddConstraint(
            model_name="escalationrule",
            constraint=models.UniqueConstraint(fields=("entity", "name"), name="unique_escalation_rule_name"),
        ),
        migrations.AddConstraint(
            model_name="escalationrule",
            constraint=models.CheckConstraint(
                condition=models.Q(("level__in", ["team_lead", "ar_manager", "legal", "agency"])),
                name="escalation_rule_level_above_collector",
            ),
        ),
        migrations.AddConstraint(
            model_name="escalationrule",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("currency", ""), ("min_overdue_minor__isnull", True)),
                    models.Q(("currency__regex", "^[A-Z]{3}$"), ("min_overdue_minor__gt", 0)),
                    _connector="OR",
                ),
                name="escalation_rule_amount_with_currency",
            ),
        ),
        migrations.AddConstraint(
            model_name="escalationrule",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("min_days_overdue__isnull", False),
                    ("min_overdue_minor__isnull", False),
                    ("min_broken_promises__isnull", False),
                    ("min_dunning_level__isnull", False),
                    _connector="OR",
                ),
                name="escalation_rule_has_a_condition",
            ),
        ),
        migrations.AddIndex(
            model_name="placeditem",
            index=models.Index(
                condition=models.Q(("is_placed", True)), fields=["entity"], name="placed_item_entity_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="placeditem",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_placed", True)), fields=("document",), name="document_placed_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="placeditem",
            constraint=models.UniqueConstraint(
                fields=("placement", "document"), name="one_placed_item_per_document"
            ),
        ),
        migrations.RunPython(create_standard_matrices, migrations.RunPython.noop),
    ]
