from django.apps import AppConfig


class CloseConfig(AppConfig):
    name = "o2c.close"
    label = "close"
    default_auto_field = "django.db.models.BigAutoField"
