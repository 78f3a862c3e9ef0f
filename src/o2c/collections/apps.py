from django.apps import AppConfig


class CollectionsConfig(AppConfig):
    name = "o2c.collections"
    label = "collections"
    default_auto_field = "django.db.models.BigAutoField"
