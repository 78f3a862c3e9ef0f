"""Documents issued since the last bank import of a database made before issued documents were indexed
on issue: index them once, as that import's search for unindexed documents would have."""

from typing import Any

from django.db import migrations
from django.db.models import Exists, OuterRef


def index_unindexed(apps: Any, schema_editor: Any) -> None:
    from o2c.cash import matching

    document_model = apps.get_model("receivables", "Document")
    key_model = apps.get_model("cash", "DocumentKey")
    missing = (
        document_model.objects.filter(status="issued")
        .exclude(open_minor=0)
        .exclude(Exists(key_model.objects.filter(document_id=OuterRef("pk"))))
        .values_list("pk", "entity_id", "number")
    )
    batch = []
    for pk, entity_id, number in missing.iterator(chunk_size=20_000):
        batch += [
            key_model(entity_id=entity_id, key=key, document_id=pk)
            for key in {key[:60] for key in matching.document_reference_keys(number or "")}
        ]
        if len(batch) >= 20_000:
            key_model.objects.bulk_create(batch)
            batch = []
    key_model.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [
        ("cash", "0007_currency_conversion"),
        ("core", "0002_domain_event_unprocessed"),
    ]

    operations = [migrations.RunPython(index_unindexed, migrations.RunPython.noop)]
