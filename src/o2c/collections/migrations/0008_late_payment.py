# Late-payment interest and recovery fees: reference rates, the policy per entity and currency, and the
# late charges (debit memos) issued with what they charged per item.

import hashlib
from datetime import date
from decimal import Decimal

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.utils import timezone


# --- data: the German base rate, and the late-charges paragraph in the standard templates -----------
# Written out, not read from collections.defaults: this migration must do the same thing when those change.

# The Deutsche Bundesbank's base rate under §247 BGB ("Basiszinssatz"), published for each 1 January and
# 1 July; the rate of 1 July 2016 held until 31 December 2022. Newer rates: o2c dunning rate-add.
BASE_RATES = (
    ("2016-07-01", "-0.88"),
    ("2023-01-01", "1.62"),
    ("2023-07-01", "3.12"),
    ("2024-01-01", "3.62"),
    ("2024-07-01", "3.37"),
    ("2025-01-01", "2.27"),
    ("2025-07-01", "1.27"),
    ("2026-01-01", "1.27"),
)
BASE_RATE_SOURCE = "Deutsche Bundesbank, Basiszinssatz nach § 247 BGB"
# SHA-256 of the standard bodies as shipped before (levels 0 to 4), per language: only a body still
# exactly so gets the paragraph (managers may have edited theirs).
SHIPPED = {
    "de": [
        "67ec895ded85c292f5b63b48245fa5e21284391d40ac2955cbccc1ff396014b8",
        "065ed99c5ebc909b7aaa0193e7bbd3fb6f1974336b4fafa871c650754c290f87",
        "77fae984738149ffdbcc753ec2476739df9bbfd343ce89b7d6d502eaeb84a1de",
        "45b822097756d90356c486e9d5874c2c8c9b1c7747f19c47c6936c1efd3438f9",
        "06ad73dbd586ff05a1f3dd464866971bb3cd87bf331ae24a7ea3b5f683961c2d",
    ],
    "en": [
        "f58322da4d1faddefab3da9102854d2dda565a7c9a2595c647cf945e04cc5cef",
        "dfa5cc1023aaf3808107a231a85da1d850a1300640c9064307db71abc2b17906",
        "9cec578e872b9f20d4b815c0ba73f0370620a262bbb6068e083216460a423973",
        "73e211e404579e74505566e0b125cebb6a54331e5434c8a7aacf88af8dc31af7",
        "cc83501f6cc7b245b37554bfcd0a20ee777eb4eb14fd0bb228edb1b55b0320ac",
    ],
    "es": [
        "c75196e09f542f06198f761f4abbcf1eb3c872f57e885daef908c5aed0b9f447",
        "31738315874c1580cffc6d4a2e757e8e4b34a1976b50baa8a1a2520c1aacf75a",
        "24bfc82617da604ca2361afce731788b64f92c4de5aad62236384b082a358b7a",
        "9d858cf7b5fa0ce0bf2c635bdc839b3aab0dfcaf3ea7d6403443f6c08882de7d",
        "38a09c1c4ad9753e22f98e8973fd34cf720617ba71359f1693c9da5d5bdbd137",
    ],
    "fr": [
        "28c719ae7e3b75f2de1167e7e2d5da5fd9eaac6f5d9aada541af0d122868ccce",
        "2c09130760eab6206224ce3e6931c87bcc6215a9aba87fcd405ca9aaeee62a2f",
        "f08b987bb14ce4995ae3501afb7051e64ff01c4453515733c2b05a858909b407",
        "3c947480c85f3543ac3cab6928b9fb62a463a716b7ae70014d7ec5ff23df66ec",
        "a9af0f5a54a26f99d84b8d5dc7a754258bab400cf7b0a1fd0dc1b5d476ddbb11",
    ],
}
# the paragraph, and the closing it goes before (a call task has none: it goes at the end)
LATE_CHARGES = {
    "de": "{% if late_charges_total %}\n"
    "Verzugskosten zum {{ as_of }} (Verzugszinsen von {{ late_charges_rate }} jährlich{% if "
    "late_charges_rate_from %}, auf Grundlage des Referenzzinssatzes vom {{ late_charges_rate_from }}{% "
    "endif %}):\n"
    "{% for item in items %}{% if item.interest or item.fee %}- {{ item.number }}:{% if item.interest %} "
    "Verzugszinsen {{ item.interest }}{% endif %}{% if item.interest and item.fee %},{% endif %}{% if "
    "item.fee %} Verzugspauschale {{ item.fee }}{% endif %}\n"
    "{% endif %}{% endfor %}Verzugskosten gesamt: {{ late_charges_total }}. {% if late_charges_charged "
    "%}Wir stellen sie Ihnen gesondert in Rechnung.{% else %}Zu Ihrer Information: Wir berechnen sie "
    "derzeit nicht.{% endif %}\n"
    "{% endif %}",
    "en": "{% if late_charges_total %}\n"
    "Late-payment charges as of {{ as_of }} (interest at {{ late_charges_rate }} a year{% if "
    "late_charges_rate_from %}, on the reference rate of {{ late_charges_rate_from }}{% endif %}):\n"
    "{% for item in items %}{% if item.interest or item.fee %}- {{ item.number }}:{% if item.interest %} "
    "interest {{ item.interest }}{% endif %}{% if item.interest and item.fee %},{% endif %}{% if item.fee "
    "%} recovery fee {{ item.fee }}{% endif %}\n"
    "{% endif %}{% endfor %}Late charges: {{ late_charges_total }}. {% if late_charges_charged %}We will "
    "invoice them separately.{% else %}For your information: we do not charge them at this time.{% endif "
    "%}\n"
    "{% endif %}",
    "es": "{% if late_charges_total %}\n"
    "Recargos por demora a {{ as_of }} (intereses al {{ late_charges_rate }} anual{% if "
    "late_charges_rate_from %}, según el tipo de referencia del {{ late_charges_rate_from }}{% endif "
    "%}):\n"
    "{% for item in items %}{% if item.interest or item.fee %}- {{ item.number }}:{% if item.interest %} "
    "intereses {{ item.interest }}{% endif %}{% if item.interest and item.fee %},{% endif %}{% if "
    "item.fee %} indemnización por costes de cobro {{ item.fee }}{% endif %}\n"
    "{% endif %}{% endfor %}Total de recargos por demora: {{ late_charges_total }}. {% if "
    "late_charges_charged %}Se los facturaremos por separado.{% else %}A título informativo: por ahora no "
    "se los cobramos.{% endif %}\n"
    "{% endif %}",
    "fr": "{% if late_charges_total %}\n"
    "Pénalités de retard au {{ as_of }} (intérêts au taux annuel de {{ late_charges_rate }}{% if "
    "late_charges_rate_from %}, sur la base du taux de référence du {{ late_charges_rate_from }}{% endif "
    "%}) :\n"
    "{% for item in items %}{% if item.interest or item.fee %}- {{ item.number }}:{% if item.interest %} "
    "intérêts {{ item.interest }}{% endif %}{% if item.interest and item.fee %},{% endif %}{% if item.fee "
    "%} indemnité forfaitaire pour frais de recouvrement {{ item.fee }}{% endif %}\n"
    "{% endif %}{% endfor %}Total des pénalités de retard : {{ late_charges_total }}. {% if "
    "late_charges_charged %}Nous vous les facturerons séparément.{% else %}Pour information : nous ne les "
    "facturons pas pour le moment.{% endif %}\n"
    "{% endif %}",
}
CLOSING = {
    "de": "\nMit freundlichen Grüßen\n{{ entity_name }}\n",
    "en": "\nKind regards\n{{ entity_name }}\n",
    "es": "\nAtentamente,\n{{ entity_name }}\n",
    "fr": "\nVeuillez agréer nos salutations distinguées.\n{{ entity_name }}\n",
}


def seed_rates(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    ReferenceRate = apps.get_model("collections", "ReferenceRate")
    now = timezone.now()
    have = set(ReferenceRate.objects.filter(name="de_base").values_list("valid_from", flat=True))
    ReferenceRate.objects.bulk_create(
        ReferenceRate(
            name="de_base",
            valid_from=date.fromisoformat(day),
            annual_percent=Decimal(percent),
            source=BASE_RATE_SOURCE,
            created_at=now,
        )
        for day, percent in BASE_RATES
        if date.fromisoformat(day) not in have
    )


def with_late_charges(language: str, body: str) -> str:
    """A shipped standard body with the late-charges paragraph: before the closing of a letter, at the
    end of a call task."""
    closing = CLOSING[language]
    if closing in body:
        head, _, tail = body.rpartition(closing)
        return head + LATE_CHARGES[language] + closing + tail
    return body + LATE_CHARGES[language]


def update_templates(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    DunningTemplate = apps.get_model("collections", "DunningTemplate")
    for template in DunningTemplate.objects.filter(language__in=list(SHIPPED)).order_by("pk"):
        shipped = SHIPPED[template.language]
        if hashlib.sha256(template.body.encode()).hexdigest() in shipped:
            template.body = with_late_charges(template.language, template.body)
            template.save(update_fields=["body"])


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
        migrations.RunPython(seed_rates, migrations.RunPython.noop),
        migrations.RunPython(update_templates, migrations.RunPython.noop),
    ]
