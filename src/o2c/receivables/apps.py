from django.apps import AppConfig


class ReceivablesConfig(AppConfig):
    name = "o2c.receivables"
    label = "receivables"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from o2c.receivables import checks

        checks.register()
