from django.db import migrations


class Migration(migrations.Migration):
    initial = True

    dependencies = [("customers", "0003_mandate")]

    operations: list[migrations.operations.base.Operation] = []
