"""A database fresh from `o2c migrate` has a default dunning plan (DESIGN: set-up): every legal entity
without a plan gets the standard one of `o2c.collections.defaults`, its steps and their templates in
English, German, French and Spanish."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.utils import timezone


def create_default_plans(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    from o2c.collections.defaults import DEFAULT_PLAN_NAME, DEFAULT_STEPS

    LegalEntity = apps.get_model("ledger", "LegalEntity")
    DunningPlan = apps.get_model("collections", "DunningPlan")
    DunningStep = apps.get_model("collections", "DunningStep")
    DunningTemplate = apps.get_model("collections", "DunningTemplate")
    now = timezone.now()
    planned = set(DunningPlan.objects.values_list("entity_id", flat=True))
    for entity in LegalEntity.objects.exclude(pk__in=planned).order_by("pk"):
        plan = DunningPlan.objects.create(entity=entity, name=DEFAULT_PLAN_NAME, is_default=True, created_at=now)
        for default in DEFAULT_STEPS:
            step = DunningStep.objects.create(
                plan=plan, level=default.level, days=default.days, channel=default.channel, tone=default.tone
            )
            DunningTemplate.objects.bulk_create(
                DunningTemplate(step=step, language=language, subject=subject, body=body)
                for language, (subject, body) in default.templates.items()
            )


class Migration(migrations.Migration):
    dependencies = [("collections", "0001_initial"), ("ledger", "0003_default_entity")]
    operations = [migrations.RunPython(create_default_plans, migrations.RunPython.noop)]
