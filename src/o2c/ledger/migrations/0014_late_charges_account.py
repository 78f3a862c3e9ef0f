"""The account of late-payment interest and recovery fees for the legal entities whose chart predates it:
4830 Late-payment interest and recovery fees (other). New entities get it from the standard chart
(`ledger.chart`); `ledger.services.account_by_code` adds it on first use as well."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

# written out, not read from the chart: this migration must do the same thing when the chart changes
ACCOUNTS = (("4830", "Late-payment interest and recovery fees", "other"),)


def add_accounts(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    LegalEntity = apps.get_model("ledger", "LegalEntity")
    Account = apps.get_model("ledger", "Account")
    for entity in LegalEntity.objects.order_by("pk"):
        have = set(Account.objects.filter(entity=entity).values_list("code", flat=True))
        Account.objects.bulk_create(
            Account(entity=entity, code=code, name=name, type=kind)
            for code, name, kind in ACCOUNTS
            if code not in have
        )


class Migration(migrations.Migration):
    dependencies = [("ledger", "0013_allowance_account")]
    operations = [migrations.RunPython(add_accounts, migrations.RunPython.noop)]
