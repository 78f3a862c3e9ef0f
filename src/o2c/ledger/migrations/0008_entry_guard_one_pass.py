"""On PostgreSQL, posting an entry checks its lines in one pass instead of three."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from o2c.ledger import triggers


def reinstall(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    triggers.drop(schema_editor.connection)
    triggers.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_entity_bank_routing_number")]
    operations = [migrations.RunPython(reinstall, reinstall)]
