from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("collections", "0007_activities")]

    operations: list[migrations.operations.base.Operation] = []
