from django.apps import AppConfig


class CreditConfig(AppConfig):
    name = "o2c.credit"
    label = "credit"
    default_auto_field = "django.db.models.BigAutoField"
