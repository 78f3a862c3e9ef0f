from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "o2c.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from o2c.core import lookups

        lookups.register()
