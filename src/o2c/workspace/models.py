from django.conf import settings
from django.db import models


class UserPreference(models.Model):
    """What a person chose for themselves: the language of their screens and formats."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    language = models.CharField(max_length=8, default="en")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.language}"
