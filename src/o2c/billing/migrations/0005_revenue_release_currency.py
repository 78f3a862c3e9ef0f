from django.db import migrations, models


def copy_currency(apps, schema_editor):
    RevenueRelease = apps.get_model("billing", "RevenueRelease")
    for release in RevenueRelease.objects.select_related("schedule").iterator():
        RevenueRelease.objects.filter(pk=release.pk).update(currency=release.schedule.currency)


class Migration(migrations.Migration):
    dependencies = [("billing", "0004_revenue_schedules")]

    operations = [
        migrations.AddField(
            model_name="revenuerelease",
            name="currency",
            field=models.CharField(default="", max_length=3),
            preserve_default=False,
        ),
        migrations.RunPython(copy_currency, migrations.RunPython.noop),
    ]
