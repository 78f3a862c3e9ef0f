from django.apps import AppConfig


class CashConfig(AppConfig):
    name = "o2c.cash"
    label = "cash"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from o2c.cash import checks

        checks.register()
