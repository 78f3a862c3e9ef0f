"""The provision matrix of the expected-credit-loss provision (docs/close.md, "Expected-credit-loss
provision"): one loss rate per legal entity, customer segment and aging bucket (due basis), derived from
history or set by an AR manager. Only `close.provision` writes it."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from o2c.ledger.models import LegalEntity


class ProvisionRate(models.Model):
    class Source(models.TextChoices):
        DERIVED = "derived"
        MANUAL = "manual"

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+")
    segment = models.CharField(max_length=20)
    bucket = models.CharField(max_length=10)
    rate = models.DecimalField(max_digits=7, decimal_places=6, help_text="0.0125 is 1.25 %")
    source = models.CharField(max_length=10, choices=Source.choices)
    reason = models.CharField(max_length=300, blank=True)
    set_at = models.DateTimeField()
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "segment", "bucket"], name="one_provision_rate_per_cell"
            ),
            models.CheckConstraint(
                condition=Q(rate__gte=0, rate__lte=1), name="provision_rate_between_0_and_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.segment} {self.bucket} {self.rate}"
