"""Seeds the tax rate table from `o2c.billing.taxdata` (VAT rates of the EU and GB, US state rates)."""

from django.db import migrations


def seed(apps, schema_editor):
    from o2c.billing import taxdata

    TaxRate = apps.get_model("billing", "TaxRate")
    TaxRate.objects.bulk_create(
        [
            TaxRate(
                country=row.country,
                region=row.region,
                category=row.category,
                rate=row.rate,
                valid_from=row.valid_from,
                valid_to=row.valid_to,
            )
            for row in taxdata.RATES
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
