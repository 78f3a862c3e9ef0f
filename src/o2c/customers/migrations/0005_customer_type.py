"""The customer's type: a segment code of the company's own that dunning plans can select on."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_risk_class")]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="customer_type",
            field=models.CharField(
                blank=True,
                default="",
                db_default="",
                help_text="the company's own segment code, such as key_account, sme or public_sector; blank: none",
                max_length=30,
            ),
        ),
    ]
