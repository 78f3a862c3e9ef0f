from django.apps import AppConfig


class CashConfig(AppConfig):
    name = "o2c.cash"
    label = "cash"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from o2c.cash import checks, services
        from o2c.core import events
        from o2c.receivables.migration import OPEN_ITEMS_LOADED
        from o2c.receivables.services import DOCUMENTS_ISSUED

        checks.register()
        events.subscribe(OPEN_ITEMS_LOADED, services.on_open_items_loaded)
        events.subscribe(DOCUMENTS_ISSUED, services.on_documents_issued)
