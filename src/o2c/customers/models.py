"""Customer master data. Balances are derived from open items in receivables."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from o2c.ledger.models import LegalEntity


class Customer(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        ON_HOLD = "on_hold"
        BLOCKED = "blocked"

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="customers")
    number = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2)
    currency = models.CharField(max_length=3)
    language = models.CharField(max_length=8, default="en")
    payment_terms = models.CharField(max_length=20, default="NET30")
    email = models.EmailField(blank=True)
    vat_id = models.CharField(max_length=30, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="portfolio"
    )
    credit_limit_minor = models.BigIntegerField(null=True, blank=True)
    crm_id = models.CharField(max_length=60, blank=True)
    erp_id = models.CharField(max_length=60, blank=True)
    address = models.TextField(blank=True)
    region = models.CharField(
        max_length=10,
        blank=True,
        help_text="state or province of the ship-to address (US sales tax), e.g. CA",
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity", "number"], name="unique_customer_number"),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="customer_not_own_parent"),
            models.CheckConstraint(
                condition=Q(credit_limit_minor__isnull=True) | Q(credit_limit_minor__gte=0),
                name="credit_limit_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["entity", "name"])]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class Contact(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=150)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    role = models.CharField(max_length=60, blank=True)
    is_billing = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.name


class BankAccount(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="bank_accounts")
    iban = models.CharField(max_length=34)
    bic = models.CharField(max_length=11, blank=True)
    holder = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "iban"], name="unique_customer_iban")]

    def __str__(self) -> str:
        return self.iban
