from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "o2c.disputes"
    label = "disputes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from o2c.cash.rules import DEDUCTION_TAKEN
        from o2c.core import events
        from o2c.disputes import checks, tasks
        from o2c.receivables.services import DOCUMENTS_ISSUED

        checks.register()
        events.subscribe(DEDUCTION_TAKEN, tasks.on_deduction_taken)
        events.subscribe(DOCUMENTS_ISSUED, tasks.on_documents_issued)
