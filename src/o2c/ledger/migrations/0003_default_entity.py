"""A fresh database is ready to use: one legal entity from settings, its chart of accounts and
open monthly periods for the current and the two previous years."""

from datetime import date

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.utils import timezone

from o2c.ledger.chart import STANDARD_CHART


def create_default_entity(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    LegalEntity = apps.get_model("ledger", "LegalEntity")
    Account = apps.get_model("ledger", "Account")
    FiscalPeriod = apps.get_model("ledger", "FiscalPeriod")
    if LegalEntity.objects.exists():
        return
    config = settings.O2C_DEFAULT_ENTITY
    now = timezone.now()
    entity = LegalEntity.objects.create(
        code=config["code"], name=config["name"], country=config["country"], currency=config["currency"],
        time_zone=config["time_zone"], is_default=True, created_at=now,
    )
    Account.objects.bulk_create(
        Account(entity=entity, code=code, name=name, type=str(type_)) for code, name, type_ in STANDARD_CHART
    )
    year = now.year
    month = date(year - 2, 1, 1)
    periods = []
    while month.year <= year:
        periods.append(FiscalPeriod(entity=entity, start_date=month, end_date=month + relativedelta(months=1, days=-1)))
        month += relativedelta(months=1)
    FiscalPeriod.objects.bulk_create(periods)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_ledger_guards")]
    operations = [migrations.RunPython(create_default_entity, migrations.RunPython.noop)]
