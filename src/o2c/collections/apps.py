from django.apps import AppConfig


class CollectionsConfig(AppConfig):
    name = "o2c.collections"
    label = "collections"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from o2c.cash.rules import PAYMENT_APPLIED, PAYMENT_RETURNED
        from o2c.collections import tasks
        from o2c.core import events

        events.subscribe(PAYMENT_APPLIED, tasks.on_payment_applied)
        events.subscribe(PAYMENT_RETURNED, tasks.on_payment_returned)
