"""The audit trail's guard fires also in replica sessions (PostgreSQL): see `audit.triggers`."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from o2c.audit import triggers


def always(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(triggers.ENABLE_ALWAYS)


def origin(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_guard")


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_audit_guards")]
    operations = [migrations.RunPython(always, origin)]
