"""Customer master data. Balances are derived from open items in receivables."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

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
    # a default in the database too, so that set-based loads (COPY, raw inserts) need not name it
    risk_class = models.CharField(
        max_length=1,
        blank=True,
        default="",
        db_default="",
        help_text="A (lowest risk) to E, set by credit scoring; blank until scored",
    )
    risk_scored_on = models.DateField(null=True, blank=True, help_text="the date of the score that set it")
    customer_type = models.CharField(
        max_length=30,
        blank=True,
        default="",
        db_default="",
        help_text="the company's own segment code, such as key_account, sme or public_sector; blank: none",
    )
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


class Mandate(models.Model):
    """A SEPA direct-debit mandate (Core scheme): the customer's permission to the legal entity (the
    creditor, told by its creditor identifier) to collect from one account.

    `reference` is unique per creditor. `sequence_type` is the sequence type of the next collection:
    FRST until the first collection file, RCUR after it; an OOFF or FNAL mandate is used once and is then
    no longer active. Only `cash.sepa` writes mandates."""

    class SequenceType(models.TextChoices):
        FIRST = "FRST", _("First collection")
        RECURRING = "RCUR", _("Recurring collection")
        FINAL = "FNAL", _("Final collection")
        ONE_OFF = "OOFF", _("One-off collection")

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="mandates")
    bank_account = models.ForeignKey(
        BankAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="mandates"
    )
    reference = models.CharField(max_length=35)
    iban = models.CharField(max_length=34)
    bic = models.CharField(max_length=11, blank=True)
    holder = models.CharField(max_length=70, blank=True, help_text="the debtor's name, else the customer's")
    signature_date = models.DateField()
    sequence_type = models.CharField(max_length=4, choices=SequenceType.choices, default=SequenceType.FIRST)
    is_active = models.BooleanField(default=True)
    last_collection_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity", "reference"], name="unique_mandate_reference"),
        ]

    def __str__(self) -> str:
        return self.reference
