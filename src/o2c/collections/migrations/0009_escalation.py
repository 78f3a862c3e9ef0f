from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("collections", "0008_late_payment")]

    operations: list[migrations.operations.base.Operation] = []
