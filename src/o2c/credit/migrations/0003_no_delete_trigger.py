"""Deleting documents no longer touches the exposure summary: issued documents are never deleted, and a
flush of every table (the test suites' teardown) must not write summary rows for customers gone."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from o2c.core.db import execute_for_vendor


def drop_delete_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    from o2c.credit import triggers

    execute_for_vendor(schema_editor.connection, triggers.DROP_DELETE, what="the exposure delete triggers")


class Migration(migrations.Migration):
    dependencies = [("credit", "0002_scoring")]

    operations = [migrations.RunPython(drop_delete_triggers, migrations.RunPython.noop)]
