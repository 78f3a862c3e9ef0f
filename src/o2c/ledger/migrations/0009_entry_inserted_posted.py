"""A journal entry may be inserted as posted after its lines (the bulk posting path): the guards check
it as they check one posted by an update, instead of refusing it."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from o2c.ledger import triggers


def reinstall(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    triggers.drop(schema_editor.connection)
    triggers.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0008_entry_guard_one_pass")]
    operations = [migrations.RunPython(reinstall, reinstall)]
