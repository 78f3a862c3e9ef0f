from django.apps import AppConfig


class CreditConfig(AppConfig):
    name = "o2c.credit"
    label = "credit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from o2c.cash.rules import PAYMENT_APPLIED
        from o2c.core import events
        from o2c.credit import checks, tasks
        from o2c.receivables.services import DOCUMENTS_ISSUED

        checks.register()
        events.subscribe(PAYMENT_APPLIED, tasks.on_payment_applied)
        events.subscribe(DOCUMENTS_ISSUED, tasks.on_documents_issued)
