"""On PostgreSQL, the ledger's guards fire in every session, also one in replica mode (a bulk load that
checks its foreign keys set-based: `ledger.triggers.BulkLoad`)."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from o2c.ledger import triggers


def reinstall(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    triggers.drop(schema_editor.connection)
    triggers.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0005_statement_level_line_guard")]
    operations = [migrations.RunPython(reinstall, reinstall)]
