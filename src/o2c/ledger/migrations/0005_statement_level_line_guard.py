"""On PostgreSQL, new journal lines are checked once per statement instead of once per row."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from o2c.ledger import triggers


def reinstall(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    triggers.drop(schema_editor.connection)
    triggers.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_leaner_indexes")]
    operations = [migrations.RunPython(reinstall, reinstall)]
