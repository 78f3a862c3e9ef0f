from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("collections", "0009_escalation")]

    operations: list[migrations.operations.base.Operation] = []
