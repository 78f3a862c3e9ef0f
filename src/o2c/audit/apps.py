from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "o2c.audit"
    label = "audit"
    default_auto_field = "django.db.models.BigAutoField"
