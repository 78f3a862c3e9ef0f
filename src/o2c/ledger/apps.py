from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "o2c.ledger"
    label = "ledger"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from o2c.ledger import checks

        checks.register()
