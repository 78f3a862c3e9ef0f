"""The catalogue, subscriptions, usage, billing runs, what each run billed, and the tax tables.

Billing never writes documents or postings itself: it rates what is due and hands the lines to the
receivables services. `BilledLine` remembers what was billed for each subscription period, so a later
run bills only the difference (amendments, late usage) and a repeated or resumed run bills nothing twice.
"""

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q

from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables.models import Document


class BillingPeriod(models.TextChoices):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    ONCE = "once"


class Timing(models.TextChoices):
    ADVANCE = "advance"
    ARREARS = "arrears"


class Aggregation(models.TextChoices):
    SUM = "sum"
    MAX = "max"
    UNIQUE_COUNT = "unique_count"


class PriceModel(models.TextChoices):
    FLAT = "flat"
    PER_UNIT = "per_unit"
    TIERED = "tiered"
    VOLUME = "volume"
    PACKAGE = "package"


class TaxCategory(models.TextChoices):
    STANDARD = "standard"
    REDUCED = "reduced"
    SUPER_REDUCED = "super_reduced"
    ZERO = "zero"


class Product(models.Model):
    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="products")
    code = models.CharField(max_length=60)
    name = models.CharField(max_length=200)
    billing_period = models.CharField(max_length=10, choices=BillingPeriod.choices)
    timing = models.CharField(max_length=10, choices=Timing.choices)
    metric = models.CharField(max_length=60, blank=True)
    aggregation = models.CharField(max_length=20, choices=Aggregation.choices, default=Aggregation.SUM)
    tax_category = models.CharField(max_length=20, choices=TaxCategory.choices, default=TaxCategory.STANDARD)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entity", "code"], name="unique_product_code")]

    def __str__(self) -> str:
        return self.code


class Price(models.Model):
    """A product's price in one currency; `tiers` keeps the contract's text form (`1000:0.10|*:0.05`)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3)
    price_model = models.CharField(max_length=10, choices=PriceModel.choices)
    unit_price = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    tiers = models.CharField(max_length=500, blank=True)
    minimum_minor = models.BigIntegerField(default=0, help_text="minimum commitment per period")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "currency"], name="one_price_per_currency"),
            models.CheckConstraint(condition=Q(minimum_minor__gte=0), name="minimum_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.currency}"


class Subscription(models.Model):
    """A contract line. Its terms over time are `SubscriptionTerm` rows; `billed_through` is the last day
    billed, `rerate_from` the first day whose billing must be checked again (amendment, late usage)."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="subscriptions")
    number = models.CharField(max_length=60)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscriptions")
    bill_to = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="billed_subscriptions")
    currency = models.CharField(max_length=3)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True, help_text="last day of service, inclusive")
    po_number = models.CharField(max_length=60, blank=True)
    discount_amount_minor = models.BigIntegerField(default=0, help_text="off each period's price")
    discount_until = models.DateField(null=True, blank=True)
    billed_through = models.DateField(null=True, blank=True)
    rerate_from = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity", "number"], name="unique_subscription_number"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="subscription_ends_after_start",
            ),
            models.CheckConstraint(condition=Q(discount_amount_minor__gte=0), name="discount_not_negative"),
        ]
        indexes = [models.Index(fields=["entity", "bill_to"])]

    def __str__(self) -> str:
        return self.number


class SubscriptionTerm(models.Model):
    """What a subscription sells from `effective_from` until the next term starts."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="terms")
    effective_from = models.DateField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(max_digits=18, decimal_places=6)
    discount_percent = models.DecimalField(max_digits=6, decimal_places=3, default=0)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "effective_from"], name="one_term_per_day"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="term_quantity_not_negative"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lte=100), name="term_discount_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} from {self.effective_from}"


class UsageEvent(models.Model):
    """One metered event. Quantities are integer millionths so SQL sums are exact on every database;
    `period_start` is the first day of the billing period the event falls in (entity's time zone)."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    event_id = models.CharField(max_length=100)
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="+", db_index=False)
    metric = models.CharField(max_length=60)
    quantity_micro = models.BigIntegerField()
    unique_key = models.CharField(max_length=100, blank=True)
    occurred_at = models.DateTimeField()
    period_start = models.DateField()
    received_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entity", "event_id"], name="unique_usage_event")]
        indexes = [models.Index(fields=["subscription", "period_start"], name="usage_sub_period_idx")]

    def __str__(self) -> str:
        return self.event_id


class BillingRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="billing_runs")
    as_of = models.DateField()
    issue = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subscriptions_billed = models.IntegerField(default=0)
    invoices_created = models.IntegerField(default=0)
    invoices_issued = models.IntegerField(default=0)
    totals = models.JSONField(default=dict, help_text="gross minor units per currency")
    errors = models.JSONField(default=list, help_text="[{subscription_number, message}]")

    def __str__(self) -> str:
        return f"run {self.pk} as of {self.as_of}"


class BilledLine(models.Model):
    """What a document billed for one subscription period (a segment of it, or an adjustment)."""

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="billed_lines")
    period_start = models.DateField(help_text="start of the calendar billing period")
    service_start = models.DateField()
    service_end = models.DateField()
    amount_minor = models.BigIntegerField(help_text="signed net amount")
    quantity = models.DecimalField(max_digits=18, decimal_places=6, default=0)
    tax_rate = models.DecimalField(max_digits=6, decimal_places=3, default=0)
    tax_category = models.CharField(max_length=2, default="S")
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(BillingRun, on_delete=models.PROTECT, related_name="billed_lines")

    class Meta:
        indexes = [models.Index(fields=["subscription", "period_start"], name="billed_sub_period_idx")]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.period_start} {self.amount_minor}"


class TaxRate(models.Model):
    """A VAT or sales tax rate by country (and US state), valid for a date range."""

    country = models.CharField(max_length=2)
    region = models.CharField(max_length=10, blank=True)
    category = models.CharField(max_length=20, choices=TaxCategory.choices)
    rate = models.DecimalField(max_digits=6, decimal_places=3)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["country", "region", "category", "valid_from"], name="one_rate_per_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.country}{'-' + self.region if self.region else ''} {self.category} {self.rate}%"


class TaxExemption(models.Model):
    """A customer's sales tax exemption certificate for a US state."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tax_exemptions")
    region = models.CharField(max_length=10)
    certificate = models.CharField(max_length=60)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return self.certificate

    def status_on(self, day: date) -> str:
        """Its standing on `day`: revoked (it covers no day at all), ended, future or valid."""
        if self.valid_to is not None and self.valid_to < self.valid_from:
            return "revoked"
        if self.valid_to is not None and self.valid_to < day:
            return "ended"
        return "future" if self.valid_from > day else "valid"


class InvoiceProfile(models.Model):
    """What a seller entity prints on its invoices beyond the ledger's entity data."""

    entity = models.OneToOneField(LegalEntity, on_delete=models.CASCADE, related_name="invoice_profile")
    address = models.TextField(blank=True, help_text="one line per address line")
    email = models.EmailField(blank=True, help_text="sender and reply address of invoice e-mails")
    register_court = models.CharField(max_length=100, blank=True)
    register_number = models.CharField(max_length=60, blank=True)
    managing_directors = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"profile of {self.entity_id}"


class InvoiceDelivery(models.Model):
    """One attempt to send an issued document to the customer's billing contacts."""

    class Status(models.TextChoices):
        SENT = "sent"
        FAILED = "failed"
        NO_RECIPIENT = "no_recipient"

    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices)
    recipients = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=500, blank=True)
    attempted_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.document_id} {self.status}"


class RevenueSchedule(models.Model):
    """Ratable recognition of one billed line over its service period (ASC 606 / IFRS 15)."""

    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
    line_position = models.PositiveIntegerField()
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField(help_text="signed net revenue of the line")
    service_start = models.DateField()
    service_end = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["document", "line_position"], name="one_schedule_per_line")
        ]

    def __str__(self) -> str:
        return f"{self.document_id}/{self.line_position}"


class RevenueRelease(models.Model):
    """A schedule's part for one month: deferred at issue, released on the month's first day."""

    schedule = models.ForeignKey(RevenueSchedule, on_delete=models.PROTECT, related_name="releases")
    month = models.DateField(help_text="first day of the month")
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField()
    released = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["schedule", "month"], name="one_release_per_month")]
        indexes = [models.Index(fields=["released", "month"], name="release_due_idx")]

    def __str__(self) -> str:
        return f"{self.schedule_id} {self.month}"
