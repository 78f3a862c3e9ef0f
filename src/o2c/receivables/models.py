"""The open-item subledger: documents, their lines, numbering, and the allocations that settle them.

Amounts are integer minor units with their currency. Documents carry signed totals: invoices and
debit memos are positive, credit memos negative, so the open items of a customer simply add up.
`open_minor` and `settlement` are caches of what the allocations say; `o2c ledger verify` proves it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity


class DocumentType(models.TextChoices):
    INVOICE = "invoice"
    CREDIT_MEMO = "credit_memo"
    DEBIT_MEMO = "debit_memo"


class ReasonCode(models.TextChoices):
    """Why a credit memo corrects an invoice: reported on, and required for every manual correction."""

    PRICING_ERROR = "pricing_error", _("Pricing error")
    QUANTITY_ERROR = "quantity_error", _("Quantity error")
    RETURNED_GOODS = "returned_goods", _("Returned goods")
    SERVICE_ISSUE = "service_issue", _("Service issue")
    GOODWILL = "goodwill", _("Goodwill")
    DUPLICATE_BILLING = "duplicate_billing", _("Duplicate billing")
    TAX_ERROR = "tax_error", _("Tax error")
    CONTRACT_CHANGE = "contract_change", _("Contract change")
    OTHER = "other", _("Other")


class ApprovalState(models.TextChoices):
    """Maker-checker on credit memos: `pending` waits for a second person, who approves or rejects it."""

    NOT_REQUIRED = "not_required", _("Not required")
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class NumberSeries(models.Model):
    """A gapless counter per legal entity, document type and year; migration series hold imported numbers."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="number_series")
    document_type = models.CharField(max_length=20, choices=DocumentType.choices)
    year = models.IntegerField()
    prefix = models.CharField(max_length=20)
    last_number = models.BigIntegerField(default=0)
    is_migration = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "number series"
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "document_type", "year", "is_migration"], name="one_series_per_type_year"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}{self.year}"


class Document(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        ISSUED = "issued"

    class Origin(models.TextChoices):
        MANUAL = "manual"
        AUTOMATED = "automated"  # a billing run, one customer
        CONSOLIDATED = "consolidated"  # a billing run, a bill-to customer paying for several

    class Settlement(models.TextChoices):
        OPEN = "open"
        PARTIALLY_PAID = "partially_paid"
        PAID = "paid"
        CREDITED = "credited"
        WRITTEN_OFF = "written_off"

    # the composite indexes below lead with entity and customer, so their own indexes are not needed
    entity = models.ForeignKey(
        LegalEntity, on_delete=models.PROTECT, related_name="documents", db_index=False
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="documents", db_index=False)
    document_type = models.CharField(max_length=20, choices=DocumentType.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    origin = models.CharField(max_length=20, choices=Origin.choices, default=Origin.MANUAL)
    number = models.CharField(max_length=40, null=True, blank=True)
    series = models.ForeignKey(
        NumberSeries, null=True, on_delete=models.PROTECT, related_name="documents", db_index=False
    )
    currency = models.CharField(max_length=3)
    net_minor = models.BigIntegerField(default=0)
    tax_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField(default=0)
    open_minor = models.BigIntegerField(default=0)
    settlement = models.CharField(max_length=20, choices=Settlement.choices, default=Settlement.OPEN)
    issue_date = models.DateField()
    due_date = models.DateField()
    discount_date = models.DateField(null=True, blank=True)
    discount_percent = models.DecimalField(max_digits=6, decimal_places=3, default=0)
    payment_terms = models.CharField(max_length=20, blank=True)
    po_number = models.CharField(max_length=60, blank=True)
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections", db_index=False
    )
    # a replacement invoice of credit-and-rebill: the invoice it replaces (credited in full)
    rebills = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="rebilled_by", db_index=False
    )
    reason_code = models.CharField(max_length=30, choices=ReasonCode.choices, blank=True)
    approval_state = models.CharField(
        max_length=12, choices=ApprovalState.choices, default=ApprovalState.NOT_REQUIRED
    )
    approval_decided_at = models.DateTimeField(null=True, blank=True)
    approval_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    is_disputed = models.BooleanField(default=False)
    is_migrated = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField()
    issued_at = models.DateTimeField(null=True, blank=True)
    posting_date = models.DateField(
        null=True,
        blank=True,
        help_text="the day its issue posted: the issue date, or the first day of the next open period when "
        "the issue date's period was closed (as of this day it is in the aging)",
    )
    last_allocation_date = models.DateField(
        null=True,
        blank=True,
        help_text="the latest posting date of the allocations on it (as the document or as the credit "
        "memo drawn on), kept with the open amount: as of an earlier day its open amount is the open "
        "amount now plus the allocations posted since, so the aging reads only what is open now or "
        "settled since",
    )
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
            models.UniqueConstraint(fields=["entity", "number"], name="unique_document_number"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(number__isnull=False), name="issued_document_has_number"
            ),
            # an invoice's open amount never goes below zero, a credit memo's never above
            models.CheckConstraint(
                condition=(Q(total_minor__gte=0, open_minor__gte=0, open_minor__lte=models.F("total_minor")))
                | Q(total_minor__lt=0, open_minor__lte=0, open_minor__gte=models.F("total_minor")),
                name="open_amount_within_total",
            ),
            models.CheckConstraint(
                condition=Q(total_minor=models.F("net_minor") + models.F("tax_minor")),
                name="total_is_net_plus_tax",
            ),
            # reason codes and maker-checker belong to credit memos, a rebill is an invoice
            models.CheckConstraint(
                condition=Q(reason_code="") | Q(document_type=DocumentType.CREDIT_MEMO),
                name="reason_code_on_credit_memos",
            ),
            models.CheckConstraint(
                condition=Q(approval_state=ApprovalState.NOT_REQUIRED)
                | Q(document_type=DocumentType.CREDIT_MEMO),
                name="approval_on_credit_memos",
            ),
            models.CheckConstraint(
                condition=Q(rebills__isnull=True) | Q(document_type=DocumentType.INVOICE),
                name="rebill_is_an_invoice",
            ),
            # what waits for approval, or was rejected, is never issued
            models.CheckConstraint(
                condition=Q(status="draft")
                | Q(approval_state__in=[ApprovalState.NOT_REQUIRED, ApprovalState.APPROVED]),
                name="issued_document_is_approved",
            ),
        ]
        indexes = [
            models.Index(fields=["entity", "customer", "open_minor"]),
            models.Index(fields=["entity", "issue_date"]),
            models.Index(fields=["entity", "due_date"]),
            models.Index(fields=["customer", "issue_date"]),
            # mostly empty columns: index only the rows that have a value
            models.Index(
                fields=["corrects"], condition=Q(corrects__isnull=False), name="document_corrects_idx"
            ),
            models.Index(
                fields=["series"],
                condition=Q(series__isnull=False, is_migrated=False),
                name="document_series_idx",
            ),
            models.Index(fields=["rebills"], condition=Q(rebills__isnull=False), name="document_rebills_idx"),
            # the approvals queue: only the few credit memos waiting for a second person
            models.Index(
                fields=["entity", "created_at"],
                condition=Q(approval_state=ApprovalState.PENDING),
                name="document_pending_approval_idx",
            ),
            # the aging and the KPIs (reporting.selectors): what is open now, read from the index alone
            # in customer order; what was settled after a day; the sales by issue date
            models.Index(
                fields=["entity", "customer", "currency"],
                include=["due_date", "issue_date", "posting_date", "open_minor", "is_disputed"],
                condition=Q(status="issued") & ~Q(open_minor=0),
                name="document_open_items_idx",
            ),
            models.Index(
                fields=["entity", "last_allocation_date"],
                include=[
                    "id",
                    "posting_date",
                    "issue_date",
                    "customer",
                    "currency",
                    "due_date",
                    "total_minor",
                    "is_disputed",
                ],
                condition=Q(status="issued", last_allocation_date__isnull=False),
                name="document_settled_idx",
            ),
            models.Index(
                fields=["entity", "issue_date"],
                include=["currency", "total_minor"],
                condition=Q(status="issued"),
                name="document_sales_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"draft {self.pk}"


class DocumentLine(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(max_digits=18, decimal_places=6)
    unit_price = models.DecimalField(max_digits=20, decimal_places=6)
    discount_percent = models.DecimalField(max_digits=6, decimal_places=3, default=0)
    tax_rate = models.DecimalField(max_digits=6, decimal_places=3, default=0)
    tax_category = models.CharField(max_length=2, default="S", help_text="UNCL5305 code")
    net_minor = models.BigIntegerField()
    item_code = models.CharField(max_length=60, blank=True)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    # a credit memo line: the invoice line it credits, and how much of its quantity it takes back
    # (0 when it credits an amount, such as a price reduction, rather than a quantity)
    credits_line = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credited_by", db_index=False
    )
    credited_quantity = models.DecimalField(max_digits=18, decimal_places=6, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["document", "position"], name="unique_line_position"),
            models.CheckConstraint(
                condition=Q(credited_quantity=0) | Q(credits_line__isnull=False, credited_quantity__gt=0),
                name="credited_quantity_with_its_line",
            ),
        ]
        indexes = [
            models.Index(
                fields=["credits_line"], condition=Q(credits_line__isnull=False), name="line_credits_line_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.description


class ApprovalPolicy(models.Model):
    """Maker-checker for a legal entity: a document of this type whose absolute gross total is above
    `threshold_minor` waits for a second person's approval before it is issued.

    Nothing is converted: a policy applies only to documents in its own currency, so an entity billing
    in several currencies sets one policy per currency; without a policy for a document's currency, no
    approval is needed. A threshold of zero sends every such document to approval."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="approval_policies")
    document_type = models.CharField(
        max_length=20, choices=DocumentType.choices, default=DocumentType.CREDIT_MEMO
    )
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
        verbose_name_plural = "approval policies"
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "document_type", "currency"], name="one_approval_policy_per_currency"
            ),
            models.CheckConstraint(
                condition=Q(threshold_minor__gte=0), name="approval_threshold_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document_type} above {self.threshold_minor} {self.currency}"


class TaxLine(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="tax_lines")
    rate = models.DecimalField(max_digits=6, decimal_places=3)
    category = models.CharField(max_length=2, default="S", help_text="UNCL5305 code")
    base_minor = models.BigIntegerField()
    tax_minor = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["document", "rate", "category"], name="one_tax_line_per_rate")
        ]

    def __str__(self) -> str:
        return f"{self.rate}%"


class Allocation(models.Model):
    """The one record that settles anything. Never edited: undoing it is a reversing allocation.

    `amount_minor` is positive and reduces the absolute open amount of `document`; when a credit
    memo settles an invoice, `source_document` is the credit memo and its open amount shrinks too.
    """

    class Kind(models.TextChoices):
        PAYMENT = "payment"
        CREDIT_MEMO = "credit_memo"
        DISCOUNT = "discount"
        WRITE_OFF = "write_off"
        MIGRATION = "migration"

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="allocations")
    document = models.ForeignKey(
        Document, on_delete=models.PROTECT, related_name="allocations", db_index=False
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    source_document = models.ForeignKey(
        Document,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="allocations_made",
        db_index=False,
    )
    payment_id = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField()
    posting_date = models.DateField()
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    reason = models.CharField(max_length=300, blank=True)
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
            models.CheckConstraint(condition=~Q(amount_minor=0), name="allocation_not_zero"),
            # a reversal carries the negated amount of the allocation it undoes
            models.CheckConstraint(
                condition=Q(reverses__isnull=True, amount_minor__gt=0)
                | Q(reverses__isnull=False, amount_minor__lt=0),
                name="allocation_sign_matches_reversal",
            ),
        ]
        indexes = [
            models.Index(fields=["document", "posting_date"]),
            models.Index(
                fields=["source_document"],
                condition=Q(source_document__isnull=False),
                name="allocation_source_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_minor} {self.currency} on {self.document_id}"
