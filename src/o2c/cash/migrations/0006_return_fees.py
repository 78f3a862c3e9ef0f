"""Fees on returned payments: the bank's charges debited with a return (posted to 6850) and the debit
memo that charged the customer, on the payment; what a customer is charged, in the matching policy."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cash", "0005_bank_csv_mapping"),
        ("receivables", "0004_credit_memo_reasons_line_credits_rebills_approvals"),
    ]

    operations = [
        migrations.AddField(
            model_name="matchingpolicy",
            name="return_fee_charge",
            field=models.CharField(
                choices=[
                    ("none", "No return fee"),
                    ("bank_fee", "The bank's return fee"),
                    ("fixed", "A fixed return fee"),
                    ("bank_fee_plus_fixed", "The bank's return fee plus a fixed fee"),
                ],
                default="none",
                help_text="what a customer is charged for a returned payment",
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="matchingpolicy",
            name="return_fee_minor",
            field=models.BigIntegerField(default=0, help_text="own fixed fee per returned payment, in currency"),
        ),
        migrations.AddField(
            model_name="payment",
            name="return_charges_minor",
            field=models.BigIntegerField(
                default=0,
                help_text="the bank's charges debited with the return entry beyond the payment (negative: "
                "given back), posted to 6850",
            ),
        ),
        migrations.AddField(
            model_name="payment",
            name="return_fee_document",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="the debit memo that charged the customer for the return",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="receivables.document",
            ),
        ),
        migrations.AddConstraint(
            model_name="matchingpolicy",
            constraint=models.CheckConstraint(
                condition=models.Q(("return_fee_minor__gte", 0)), name="matching_policy_return_fee_not_negative"
            ),
        ),
        migrations.AddConstraint(
            model_name="matchingpolicy",
            constraint=models.CheckConstraint(
                condition=models.Q(("return_fee_charge__in", ["none", "bank_fee", "fixed", "bank_fee_plus_fixed"])),
                name="matching_policy_return_fee_charge_known",
            ),
        ),
    ]
