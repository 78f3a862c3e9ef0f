from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "o2c.documents"
    label = "documents"
    default_auto_field = "django.db.models.BigAutoField"
