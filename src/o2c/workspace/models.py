from django.conf import settings
from django.db import models


class UserPreference(models.Model):
    """What a person chose for themselves: the language of their screens and formats."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    language = models.CharField(max_length=8, default="en")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.language}"


class ApiToken(models.Model):
    """A bearer token for the REST API. Only the SHA-256 hash of the token is stored; the token itself
    is shown once, when it is created (`o2c api-token USERNAME`)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.name}"
