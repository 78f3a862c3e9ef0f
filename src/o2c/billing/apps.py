from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "o2c.billing"
    label = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from o2c.billing import checks, delivery

        checks.register()
        delivery.register()
