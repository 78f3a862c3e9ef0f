"""The customer's credit profile: the risk class credit scoring gives it and the date it was scored."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_mandate")]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="risk_class",
            field=models.CharField(
                blank=True,
                default="",
                db_default="",
                help_text="A (lowest risk) to E, set by credit scoring; blank until scored",
                max_length=1,
            ),
        ),
        migrations.AddField(
            model_name="customer",
            name="risk_scored_on",
            field=models.DateField(blank=True, help_text="the date of the score that set it", null=True),
        ),
    ]
