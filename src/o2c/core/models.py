from django.conf import settings
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


class StoredFile(models.Model):
    """A file kept in the database (a dispute's backup documents, a credit raise's evidence): no media
    storage to set up; the apps that keep them limit their size and type."""

    file_name = models.CharField(max_length=200)
    description = models.CharField(max_length=300, blank=True, default="")
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    content = models.BinaryField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    uploaded_at = models.DateTimeField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.file_name
