"""Dunning plans select customers by their type too (customers.Customer.customer_type)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("collections", "0011_plan_risk_classes")]

    operations = [
        migrations.AddField(
            model_name="dunningplan",
            name="customer_types",
            field=models.CharField(
                blank=True,
                help_text="space-separated customer types, e.g. key_account public_sector",
                max_length=200,
            ),
        ),
    ]
