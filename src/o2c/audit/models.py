"""The audit trail: who did what, when, to what, and why. Append-only."""

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    actor_label = models.CharField(max_length=150, help_text="the user name, or the system process")
    action = models.CharField(max_length=100)
    object_type = models.CharField(max_length=60)
    object_id = models.BigIntegerField(null=True)
    object_label = models.CharField(max_length=200, blank=True)
    entity_id = models.BigIntegerField(null=True)
    changes = models.JSONField(default=dict, help_text="{field: [old, new]}")
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["entity_id", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"
