from django.db import models


class DomainEvent(models.Model):
    name = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    is_processed = models.BooleanField(default=False)

    class Meta:
        # consumers that catch up read the few unprocessed events among millions of processed ones
        indexes = [
            models.Index(
                fields=["name"], condition=models.Q(is_processed=False), name="domain_event_unprocessed"
            )
        ]

    def __str__(self) -> str:
        return self.name
