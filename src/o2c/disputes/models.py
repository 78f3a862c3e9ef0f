"""Dispute and deduction cases on documents (docs/disputes.md): who owns them, what the customer
says, how they end. Only `disputes.services` writes these tables; documents and allocations a case
creates (credit memos, write-offs) are made through `receivables.services`."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from o2c.cash.models import Payment
from o2c.core.models import StoredFile
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables.models import Allocation, Document, DocumentLine


class ReasonCode(models.TextChoices):
    """Why the customer disputes or deducts: the case's reason, and its root cause once resolved."""

    PRICING = "pricing", _("Pricing")
    QUANTITY = "quantity", _("Quantity")
    DAMAGED_GOODS = "damaged_goods", _("Damaged goods")
    NOT_RECEIVED = "not_received", _("Not received")
    TAX = "tax", _("Tax")
    DUPLICATE_BILLING = "duplicate_billing", _("Duplicate billing")
    PROMOTION = "promotion", _("Promotion")
    OTHER = "other", _("Other")


class Team(models.TextChoices):
    BILLING = "billing", _("Billing")
    SALES = "sales", _("Sales")
    LOGISTICS = "logistics", _("Logistics")


class Case(models.Model):
    class Kind(models.TextChoices):
        DISPUTE = "dispute", _("Dispute")
        DEDUCTION = "deduction", _("Deduction")

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        IN_REVIEW = "in_review", _("In review")
        WAITING_ON_CUSTOMER = "waiting_on_customer", _("Waiting on customer")
        RESOLVED_CREDIT = "resolved_credit", _("Resolved by credit memo")
        RESOLVED_REBILL = "resolved_rebill", _("Resolved by credit and rebill")
        REJECTED_INVALID = "rejected_invalid", _("Rejected as invalid")
        WRITTEN_OFF = "written_off", _("Written off")

    class Pending(models.TextChoices):
        """A resolution that waits for a second person: a credit memo above the credit approval
        threshold, or a write-off above the entity's write-off threshold."""

        NONE = "", _("Nothing pending")
        CREDIT = "resolved_credit", _("Credit memo waiting for approval")
        REBILL = "resolved_rebill", _("Credit and rebill waiting for approval")
        WRITE_OFF = "written_off", _("Write-off waiting for approval")

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+", db_index=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
    document_line = models.ForeignKey(
        DocumentLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # a deduction: the payment that left it open, and that payment's allocation on the document
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    allocation = models.ForeignKey(
        Allocation, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField()
    reason_code = models.CharField(max_length=20, choices=ReasonCode.choices)
    customer_reason_code = models.CharField(max_length=300, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    team = models.CharField(max_length=10, choices=Team.choices)
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPEN)
    opened_on = models.DateField()
    due_date = models.DateField(help_text="the SLA: opened_on plus the reason's business days")
    root_cause = models.CharField(max_length=20, choices=ReasonCode.choices, blank=True)
    resolution = models.TextField(blank=True)
    resolved_on = models.DateField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    pending = models.CharField(max_length=20, choices=Pending.choices, blank=True, default=Pending.NONE)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        help_text="who asked for the pending (or last) resolution that needed approval",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        help_text="the second person who approved the write-off",
    )
    credit_memo = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    rebill = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    write_off = models.ForeignKey(
        Allocation, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="case_amount_positive"),
            models.CheckConstraint(
                condition=Q(kind="dispute") | Q(payment__isnull=False), name="deduction_has_its_payment"
            ),
            # the same deduction event delivered twice opens one case
            models.UniqueConstraint(
                fields=["payment", "document"],
                condition=Q(kind="deduction"),
                name="one_deduction_case_per_payment_and_document",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["open", "in_review", "waiting_on_customer"])
                | Q(resolved_on__isnull=False),
                name="closed_case_has_resolved_on",
            ),
        ]
        indexes = [
            models.Index(fields=["entity", "state"]),
            models.Index(fields=["customer", "state"]),
        ]

    def __str__(self) -> str:
        return f"case {self.pk}"


class CaseNote(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    text = models.TextField()
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.text[:40]


class CaseAttachment(StoredFile):
    """A file on a case (the customer's proof of delivery, a photo), kept in the database: no media
    storage to set up, and at most `rules.MAX_ATTACHMENT_BYTES` each."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="attachments")


class ReasonMapping(models.Model):
    """A customer's own deduction code (as its remittance advice gives it) and the reason code it
    means: per legal entity, or for one customer of it (which wins)."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    customer_code = models.CharField(max_length=60, help_text="stored upper case, without spaces around")
    reason_code = models.CharField(max_length=20, choices=ReasonCode.choices)
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "customer", "customer_code"],
                condition=Q(customer__isnull=False),
                name="one_reason_mapping_per_customer_code",
            ),
            models.UniqueConstraint(
                fields=["entity", "customer_code"],
                condition=Q(customer__isnull=True),
                name="one_reason_mapping_per_entity_code",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_code} -> {self.reason_code}"


class ReasonPolicy(models.Model):
    """Per legal entity and reason code: the team a new case goes to and its SLA in business days.
    A reason without a policy uses `rules.DEFAULT_TEAMS` and `rules.DEFAULT_SLA_DAYS`."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    reason_code = models.CharField(max_length=20, choices=ReasonCode.choices)
    team = models.CharField(max_length=10, choices=Team.choices)
    sla_days = models.PositiveSmallIntegerField()
    changed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "reason policies"
        constraints = [
            models.UniqueConstraint(fields=["entity", "reason_code"], name="one_reason_policy_per_code"),
            models.CheckConstraint(condition=Q(sla_days__gte=1), name="sla_at_least_one_day"),
        ]

    def __str__(self) -> str:
        return f"{self.reason_code}: {self.team}, {self.sla_days} days"


class WriteOffPolicy(models.Model):
    """Maker-checker on a case's write-off: above `threshold_minor` (in its currency) a second person
    with the AR manager's role approves it. Without a policy for the currency, none is needed (as for
    credit memos)."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    currency = models.CharField(max_length=3)
    threshold_minor = models.BigIntegerField()
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )

    class Meta:
        verbose_name_plural = "write-off policies"
        constraints = [
            models.UniqueConstraint(fields=["entity", "currency"], name="one_write_off_policy_per_currency"),
            models.CheckConstraint(
                condition=Q(threshold_minor__gte=0), name="write_off_threshold_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"write-offs above {self.threshold_minor} {self.currency}"
