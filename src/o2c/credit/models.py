"""Credit management: credit limits per customer and group, exposure, sales orders under credit control
with their holds and releases, scorecards and reviews (docs/credit.md)."""

from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from o2c.core.models import StoredFile
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity


class CreditPolicy(models.Model):
    """An entity's credit rules: how many days past due an item may be before new orders are held, the
    daily cut-off after which a release counts for the next business day, and who hears of holds.
    A fresh database has one per entity (migration 0001); an entity created later reads the defaults
    until a policy is saved for it."""

    entity = models.OneToOneField(LegalEntity, on_delete=models.PROTECT, related_name="credit_policy")
    past_due_days = models.PositiveIntegerField(default=60)
    cutoff_time = models.TimeField(default=time(17, 0), help_text="in the entity's time zone")
    sales_email = models.EmailField(blank=True, help_text="where sales hears of holds and decisions")
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"credit policy {self.entity_id}"


class ApprovalThreshold(models.Model):
    """A new limit or a raise to an amount above the threshold needs a second person's approval."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    threshold_minor = models.BigIntegerField()
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity", "currency"], name="unique_credit_threshold"),
            models.CheckConstraint(condition=Q(threshold_minor__gte=0), name="credit_threshold_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.entity_id} {self.currency} {self.threshold_minor}"


class CreditLimit(models.Model):
    """One version of a customer's credit limit; the customer's rows are its history. At most one is
    active (the effective limit) and at most one pending (waiting for a second person). A customer with
    children: its limit covers the whole group (its own exposure plus its descendants').

    `mirrored_minor` is what the activation wrote to `Customer.credit_limit_minor` (the customer import
    writes that field too: when the field no longer holds it, the imported value is the effective limit)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        ACTIVE = "active"
        REJECTED = "rejected"
        SUPERSEDED = "superseded"

    class Source(models.TextChoices):
        REQUEST = "request"
        MIGRATED = "migrated"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="credit_limits")
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField()
    valid_until = models.DateField(null=True, blank=True)
    next_review_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.REQUEST)
    needs_approval = models.BooleanField(default=False)
    reason = models.CharField(max_length=500, blank=True)
    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.CharField(max_length=500, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    mirrored_minor = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gte=0), name="credit_limit_amount_not_negative"),
            models.UniqueConstraint(
                fields=["customer"], condition=Q(status="active"), name="one_active_credit_limit"
            ),
            models.UniqueConstraint(
                fields=["customer"], condition=Q(status="pending"), name="one_pending_credit_limit"
            ),
        ]
        indexes = [models.Index(fields=["customer", "requested_at"], name="credit_limit_history_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.currency} {self.amount_minor} {self.status}"


class CustomerExposure(models.Model):
    """The exposure summary of one customer in one currency, in minor units: open receivables (kept by
    database triggers on the receivables documents, in the same transaction as every change of an open
    amount), released orders not shipped and shipped orders not invoiced (kept by the order services in
    their transaction), and unbilled usage (a snapshot as of `unbilled_as_of`, from billing's unbilled
    revenue). `o2c ledger verify` proves the first three equal the truth."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+", db_index=False)
    currency = models.CharField(max_length=3)
    receivables_minor = models.BigIntegerField(default=0)
    orders_minor = models.BigIntegerField(default=0)
    shipped_minor = models.BigIntegerField(default=0)
    unbilled_minor = models.BigIntegerField(default=0)
    unbilled_as_of = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "currency"], name="unique_customer_exposure"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.currency}"


class SalesOrder(models.Model):
    """A sales order under credit control. Held orders wait for an analyst (or a recheck); released ones
    count as open orders in the exposure until shipped, shipped ones until invoiced."""

    class Status(models.TextChoices):
        HELD = "held"
        RELEASED = "released"
        REJECTED = "rejected"
        SHIPPED = "shipped"
        INVOICED = "invoiced"
        CANCELLED = "cancelled"

    class Source(models.TextChoices):
        API = "api"
        CSV = "csv"

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="sales_orders")
    number = models.CharField(max_length=60)
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField()
    requested_date = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices)
    source = models.CharField(max_length=5, choices=Source.choices, default=Source.API)
    hold_reasons = models.JSONField(default=list, blank=True)
    received_at = models.DateTimeField()
    held_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.CharField(max_length=500, blank=True)
    release_date = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity", "number"], name="unique_sales_order_number"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="sales_order_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["customer", "status"], name="sales_order_customer_idx"),
            models.Index(
                fields=["entity", "held_at"], condition=Q(status="held"), name="sales_order_held_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.number


# --- scoring: scorecards, applications, scores, reviews and raise requests (docs/credit-scoring.md) ----


class ScorecardVersion(models.Model):
    """One version of the credit scorecard (its weights, bands, class thresholds, limit rules and review
    intervals as JSON, read by `scorecard.scorecard_from_definition`). The highest version is in force;
    a change adds a version, so every stored score names the card that made it."""

    version = models.PositiveIntegerField(unique=True)
    definition = models.JSONField()
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"scorecard v{self.version}"


class CreditApplication(models.Model):
    """A new account's request for credit: company data, the limit asked for, trade references,
    financial statements and bureau reports; scored, then approved with a decided limit or declined."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        SCORED = "scored", _("Scored")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+")
    company_name = models.CharField(max_length=200)
    country = models.CharField(max_length=2)
    vat_id = models.CharField(max_length=30, blank=True)
    registration_number = models.CharField(max_length=40, blank=True)
    address = models.TextField(blank=True)
    requested_limit_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    state = models.CharField(max_length=10, choices=State.choices, default=State.SUBMITTED)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    decided_limit_minor = models.BigIntegerField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    limit_request_id = models.BigIntegerField(null=True, blank=True, help_text="the limit it asked for")
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(requested_limit_minor__gte=0), name="application_requested_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["entity", "registration_number"]), models.Index(fields=["vat_id"])]

    def __str__(self) -> str:
        return f"application {self.pk} {self.company_name}"


class TradeReference(models.Model):
    class Experience(models.TextChoices):
        PROMPT = "prompt", _("Pays promptly")
        SLOW = "slow", _("Pays slowly")
        POOR = "poor", _("Pays poorly")

    application = models.ForeignKey(
        CreditApplication, on_delete=models.CASCADE, related_name="trade_references"
    )
    name = models.CharField(max_length=200)
    contact = models.CharField(max_length=200, blank=True)
    years_known = models.PositiveSmallIntegerField(default=0)
    highest_credit_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    payment_experience = models.CharField(max_length=10, choices=Experience.choices)

    def __str__(self) -> str:
        return self.name


class FinancialStatement(models.Model):
    """Key figures of a company's financial statements on a date, in one currency (minor units): of an
    application, or of a customer (an approved application's pass to the customer)."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    application = models.ForeignKey(
        CreditApplication,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="financial_statements",
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    statement_date = models.DateField()
    currency = models.CharField(max_length=3)
    current_assets_minor = models.BigIntegerField()
    current_liabilities_minor = models.BigIntegerField()
    total_assets_minor = models.BigIntegerField()
    total_liabilities_minor = models.BigIntegerField()
    retained_earnings_minor = models.BigIntegerField()
    ebit_minor = models.BigIntegerField()
    sales_minor = models.BigIntegerField()
    equity_minor = models.BigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(application__isnull=False) | Q(customer__isnull=False), name="statement_has_owner"
            ),
        ]
        indexes = [models.Index(fields=["customer", "statement_date"])]

    def __str__(self) -> str:
        return f"statements {self.statement_date}"


class BureauReport(models.Model):
    """A credit bureau's figures on a company as of a date (a D&B or Creditsafe export's row): a score
    0-100, a failure class 1-5 (1 the lowest risk) and a payment index 0-100 (80 pays on terms)."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    application = models.ForeignKey(
        CreditApplication, null=True, blank=True, on_delete=models.PROTECT, related_name="bureau_reports"
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    bureau = models.CharField(max_length=40)
    registration_number = models.CharField(max_length=40, blank=True)
    vat_id = models.CharField(max_length=30, blank=True)
    as_of = models.DateField()
    score = models.PositiveSmallIntegerField()
    failure_class = models.PositiveSmallIntegerField(null=True, blank=True)
    payment_index = models.PositiveSmallIntegerField(null=True, blank=True)
    imported_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "bureau", "registration_number", "vat_id", "as_of"],
                name="unique_bureau_report",
            ),
            models.CheckConstraint(condition=Q(score__lte=100), name="bureau_score_range"),
        ]
        indexes = [models.Index(fields=["customer", "as_of"])]

    def __str__(self) -> str:
        return f"{self.bureau} {self.as_of} {self.score}"


class CreditScore(models.Model):
    """One scoring: the total, the risk class, the recommended limit, and every factor with its value,
    band, points and weight (`factors`, as `scorecard.result_record` writes it); the history of a
    customer's or an application's scores."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_scores"
    )
    application = models.ForeignKey(
        CreditApplication, null=True, blank=True, on_delete=models.PROTECT, related_name="scores"
    )
    scorecard = models.ForeignKey(ScorecardVersion, on_delete=models.PROTECT, related_name="+")
    as_of = models.DateField()
    total = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    risk_class = models.CharField(max_length=1, blank=True)
    recommended_limit_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    limit_basis = models.CharField(max_length=20, blank=True)
    factors = models.JSONField(default=list)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(application__isnull=False) | Q(customer__isnull=False), name="score_has_subject"
            ),
        ]

    def __str__(self) -> str:
        return f"score {self.total} {self.risk_class}"


class CreditReview(models.Model):
    """A customer's periodic credit review, due by its risk class's interval after a scoring; completed
    with a rescore, a decision and a note. A customer has at most one open review."""

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        COMPLETED = "completed", _("Completed")

    class Decision(models.TextChoices):
        KEEP = "keep", _("Keep the limit")
        RAISE = "raise", _("Raise the limit")
        LOWER = "lower", _("Lower the limit")
        BLOCK = "block", _("Block the customer")

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="credit_reviews")
    risk_class = models.CharField(max_length=1, help_text="the class that set the due date")
    due_date = models.DateField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    score = models.ForeignKey(CreditScore, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    note = models.TextField(blank=True)
    completed_on = models.DateField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(state="open"), name="one_open_review_per_customer"
            ),
        ]
        indexes = [models.Index(fields=["entity", "state", "due_date"])]

    def __str__(self) -> str:
        return f"review {self.customer_id} {self.due_date}"


class RaiseRequest(models.Model):
    """Sales asks for a higher limit: the analyst ticks the due-diligence checklist (`checklist`: item code
    -> {"checked", "by", "at", "note"}), attaches the evidence, then approves (the new limit goes to the
    limit service) or declines."""

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="raise_requests")
    current_limit_minor = models.BigIntegerField(null=True, blank=True)
    requested_limit_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    checklist = models.JSONField(default=dict)
    decided_limit_minor = models.BigIntegerField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    limit_request_id = models.BigIntegerField(null=True, blank=True, help_text="the limit it asked for")
    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(requested_limit_minor__gt=0), name="raise_requested_positive"),
        ]

    def __str__(self) -> str:
        return f"raise request {self.pk}"


class RaiseEvidence(StoredFile):
    """A file attached to a raise request (a bureau report, the accounts), kept in the database like a
    dispute's attachments, at most `disputes.rules.MAX_ATTACHMENT_BYTES`."""

    raise_request = models.ForeignKey(RaiseRequest, on_delete=models.PROTECT, related_name="evidence")
    checklist_item = models.CharField(max_length=40, blank=True)
