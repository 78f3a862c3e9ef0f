"""Promises to pay judged kept or broken: the day a promise was made, its promised date plus the grace
days, and when and on what cash it was judged. Promises recorded before keep their state; their
`made_on` is the UTC date of their creation and their grace the standard three days."""

from datetime import timedelta

import django.db.models.expressions
from django.db import migrations, models

GRACE_DAYS = 3  # collections.calculations.PROMISE_GRACE_DAYS when this migration was written


def backfill(apps, schema_editor):  # type: ignore[no-untyped-def]
    promise_model = apps.get_model("collections", "PromiseToPay")
    for promise in promise_model.objects.all().iterator():
        promise.made_on = promise.created_at.date()
        promise.grace_until = promise.promised_date + timedelta(days=GRACE_DAYS)
        if promise.state != "open":
            promise.judged_on = promise.grace_until
        promise.save(update_fields=["made_on", "grace_until", "judged_on"])


class Migration(migrations.Migration):
    dependencies = [("collections", "0004_collection_target")]

    operations = [
        migrations.AddField(
            model_name="promisetopay",
            name="made_on",
            field=models.DateField(null=True, help_text="the entity's date when the promise was made"),
        ),
        migrations.AddField(
            model_name="promisetopay",
            name="grace_until",
            field=models.DateField(null=True, help_text="the promised date plus the grace days"),
        ),
        migrations.AddField(
            model_name="promisetopay", name="judged_on", field=models.DateField(blank=True, null=True)
        ),
        migrations.AddField(
            model_name="promisetopay", name="judged_at", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.AddField(
            model_name="promisetopay",
            name="paid_minor",
            field=models.BigIntegerField(default=0, help_text="the cash counted when judged"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="promisetopay",
            name="made_on",
            field=models.DateField(help_text="the entity's date when the promise was made"),
        ),
        migrations.AlterField(
            model_name="promisetopay",
            name="grace_until",
            field=models.DateField(help_text="the promised date plus the grace days"),
        ),
        migrations.AddConstraint(
            model_name="promisetopay",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("judged_on__isnull", True), ("state", "open")),
                    models.Q(models.Q(("state", "open"), _negated=True), ("judged_on__isnull", False)),
                    _connector="OR",
                ),
                name="promise_judged_when_not_open",
            ),
        ),
        migrations.AddConstraint(
            model_name="promisetopay",
            constraint=models.CheckConstraint(
                condition=models.Q(("grace_until__gte", django.db.models.expressions.F("promised_date"))),
                name="promise_grace_after_date",
            ),
        ),
        migrations.AddIndex(
            model_name="promisetopay",
            index=models.Index(fields=["entity", "judged_on"], name="judged_promise_idx"),
        ),
    ]
