"""Credit management: credit limits per customer and group, exposure, sales orders under credit control
with their holds and releases, scorecards and reviews (docs/credit.md)."""

from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

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


