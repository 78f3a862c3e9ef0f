"""Collections: dunning plans with their steps and templates, the notices a dunning run creates, promises
to pay and payment plans (their items are not dunned while they run), a collector's activities and
collection targets.

A dunning plan belongs to one legal entity; a customer follows the first plan whose segment criteria
it meets (by `priority`, then id), else the entity's default plan. Each step says from how many days
relative to the due date an item reaches its level (level 0 is the pre-due reminder, negative days),
through which channel and in which tone; its templates hold the subject and body per language.
Only `collections.services` writes these tables (docs/collections.md)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables.models import Document


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    CALL_TASK = "call_task", _("Call task")
    LETTER = "letter", _("Letter")


class Tone(models.TextChoices):
    FRIENDLY = "friendly", _("Friendly")
    FIRM = "firm", _("Firm")
    FINAL = "final", _("Final")


class DunningPlan(models.Model):
    """A sequence of dunning steps for a segment of an entity's customers.

    Segment criteria (all that are set must hold; an empty criterion matches every customer):
    `countries` (space-separated ISO 3166 codes of the customer's country), `payment_terms`
    (space-separated codes such as NET30), `risk_classes` (space-separated credit risk classes A to E,
    as credit scoring sets them on the customer; a customer not scored is in none), `customer_types`
    (space-separated customer type codes such as key_account; a customer without a type is in none),
    and `min_open_minor` in `currency` (the customer's open invoices and debit memos in that currency add
    up to at least this much)."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=100)
    is_default = models.BooleanField(default=False)
    priority = models.PositiveIntegerField(default=100, help_text="lower first, among the matching plans")
    countries = models.CharField(max_length=200, blank=True, help_text="space-separated, e.g. DE AT CH")
    payment_terms = models.CharField(max_length=200, blank=True, help_text="space-separated, e.g. NET30")
    risk_classes = models.CharField(
        max_length=20, blank=True, help_text="space-separated credit risk classes, e.g. D E"
    )
    customer_types = models.CharField(
        max_length=200, blank=True, help_text="space-separated customer types, e.g. key_account public_sector"
    )
    min_open_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, help_text="of min_open_minor")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity", "name"], name="unique_dunning_plan_name"),
            models.UniqueConstraint(
                fields=["entity"], condition=Q(is_default=True), name="one_default_dunning_plan"
            ),
            models.CheckConstraint(
                condition=Q(min_open_minor__isnull=True, currency="")
                | Q(min_open_minor__gte=0, currency__regex=r"^[A-Z]{3}$"),
                name="dunning_plan_min_open_with_currency",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class DunningStep(models.Model):
    """Level 0: the pre-due reminder, `days` before the due date (negative: -5 reminds of items due in
    the next five days). Levels 1 and up: notices, from `days` past the due date (1 or more)."""

    plan = models.ForeignKey(DunningPlan, on_delete=models.CASCADE, related_name="steps")
    level = models.PositiveSmallIntegerField()
    days = models.IntegerField(help_text="relative to the due date: -5, 1, 15, 30, 45")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    tone = models.CharField(max_length=10, choices=Tone.choices, default=Tone.FRIENDLY)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "level"], name="one_dunning_step_per_level"),
            models.UniqueConstraint(fields=["plan", "days"], name="one_dunning_step_per_day"),
            models.CheckConstraint(
                condition=Q(level=0, days__lte=0) | Q(level__gt=0, days__gt=0),
                name="dunning_step_days_fit_level",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} {self.level}"


class DunningTemplate(models.Model):
    """A step's message in one language: Django template syntax (see docs/collections.md for the
    context). Managers edit them; the defaults come with the default plan."""

    step = models.ForeignKey(DunningStep, on_delete=models.CASCADE, related_name="templates")
    language = models.CharField(max_length=8)
    subject = models.CharField(max_length=300)
    body = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["step", "language"], name="one_dunning_template_per_language"),
        ]

    def __str__(self) -> str:
        return f"{self.step} {self.language}"


class DunningNotice(models.Model):
    """What a dunning run sent (or left for a person: a call task, a letter to print) to one customer on
    one day. Level 0 is a pre-due reminder, a customer gets at most one reminder and one notice a day."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        BOUNCED = "bounced", _("Bounced")

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+", db_index=False)
    plan = models.ForeignKey(DunningPlan, on_delete=models.PROTECT, related_name="+", db_index=False)
    as_of = models.DateField()
    level = models.PositiveSmallIntegerField()
    language = models.CharField(max_length=8)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    tone = models.CharField(max_length=10, choices=Tone.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    recipient = models.CharField(max_length=500, blank=True, help_text="comma-separated addresses")
    subject = models.CharField(max_length=300, blank=True, help_text="as sent")
    body = models.TextField(blank=True, help_text="as sent")
    delivery_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    # the e-mail's Message-ID as sent (`<...@domain>`), what a bounce names it by (collections.bounces)
    message_id = models.CharField(max_length=250, blank=True, db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "as_of"], condition=Q(level=0), name="one_dunning_reminder_a_day"
            ),
            models.UniqueConstraint(
                fields=["customer", "as_of"], condition=Q(level__gt=0), name="one_dunning_notice_a_day"
            ),
        ]
        indexes = [
            models.Index(fields=["entity", "as_of"]),
            models.Index(
                fields=["message_id"], condition=~Q(message_id=""), name="dunning_notice_message_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.as_of} {self.level}"


class DunningNoticeItem(models.Model):
    """One open item on a notice: `level` is the level the item was dunned at (its target level on the
    notice's day; 0 on a reminder, and for an overdue item not yet at the first notice step), so the
    highest level of an item's notice items is the level it was last dunned at."""

    notice = models.ForeignKey(DunningNotice, on_delete=models.CASCADE, related_name="items")
    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+", db_index=False)
    level = models.PositiveSmallIntegerField()
    days_overdue = models.IntegerField(help_text="as of the notice's day; negative before the due date")
    open_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notice", "document"], name="one_notice_item_per_document"),
        ]
        indexes = [models.Index(fields=["document", "level"])]

    def __str__(self) -> str:
        return f"{self.document_id} {self.level}"


class PromiseToPay(models.Model):
    """A customer's promise to pay documents by a date. While open its documents are left out of dunning.

    It is *kept* when the cash applied to its documents (payment allocations posted from `made_on`
    through `grace_until`, the promised date plus the grace days) adds up to its amount, *broken* when
    `grace_until` has passed without that (`services.promises_review`); `judged_on` is the day it became
    so (the posting date of the payment that completed it; the day after `grace_until`), `paid_minor`
    the cash counted."""

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        KEPT = "kept", _("Kept")
        BROKEN = "broken", _("Broken")

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    promised_date = models.DateField()
    made_on = models.DateField(help_text="the entity's date when the promise was made")
    grace_until = models.DateField(help_text="the promised date plus the grace days")
    contact = models.CharField(max_length=150, blank=True, help_text="who promised")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    note = models.TextField(blank=True)
    judged_on = models.DateField(null=True, blank=True)
    judged_at = models.DateTimeField(null=True, blank=True)
    paid_minor = models.BigIntegerField(default=0, help_text="the cash counted when judged")
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="promise_amount_positive"),
            models.CheckConstraint(
                condition=Q(state="open", judged_on__isnull=True)
                | (~Q(state="open") & Q(judged_on__isnull=False)),
                name="promise_judged_when_not_open",
            ),
            models.CheckConstraint(
                condition=Q(grace_until__gte=models.F("promised_date")), name="promise_grace_after_date"
            ),
        ]
        indexes = [
            models.Index(
                fields=["entity", "promised_date"], condition=Q(state="open"), name="open_promise_idx"
            ),
            models.Index(fields=["entity", "judged_on"], name="judged_promise_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.promised_date}"


class PromisedDocument(models.Model):
    """A document a promise to pay covers."""

    promise = models.ForeignKey(PromiseToPay, on_delete=models.CASCADE, related_name="+")
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["promise", "document"], name="one_promised_document"),
        ]

    def __str__(self) -> str:
        return f"{self.promise_id} {self.document_id}"


class CollectionTarget(models.Model):
    """What a collector is to collect in a month, in a currency: the cash applied in that month to the
    documents of the customers in the collector's portfolio, compared with it in the portfolio review
    (`o2c report collectors`)."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+")
    collector = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    month = models.DateField(help_text="the first day of the month")
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField()
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "collector", "month", "currency"], name="unique_collection_target"
            ),
            models.CheckConstraint(condition=Q(amount_minor__gte=0), name="collection_target_not_negative"),
        ]


class PaymentPlan(models.Model):
    """A customer's documents paid off in instalments. A collector proposes it, a second person (an AR
    manager) approves or rejects it; approved, it becomes active at the next review and ends completed
    when the cash applied to its documents since its approval covers its total, or defaulted when an
    instalment is more than `grace_days` days unpaid (the cash since approval, cumulatively, does not
    cover the instalments due by then). Its documents are left out of dunning while it is proposed,
    approved or active (docs/collections.md, "Payment plans")."""

    class State(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved")
        ACTIVE = "active", _("Active")
        COMPLETED = "completed", _("Completed")
        DEFAULTED = "defaulted", _("Defaulted")
        REJECTED = "rejected", _("Rejected")

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    total_minor = models.BigIntegerField(help_text="the instalments' sum")
    grace_days = models.PositiveSmallIntegerField(help_text="days an instalment may be late")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PROPOSED)
    note = models.TextField(blank=True)
    proposed_at = models.DateTimeField()
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True, help_text="approved or rejected")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.CharField(max_length=500, blank=True)
    approved_on = models.DateField(null=True, blank=True, help_text="cash counts from this day")
    activated_on = models.DateField(null=True, blank=True)
    judged_on = models.DateField(null=True, blank=True, help_text="completed or defaulted on")
    judged_at = models.DateTimeField(null=True, blank=True)
    paid_minor = models.BigIntegerField(default=0, help_text="the cash counted when judged")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(total_minor__gt=0), name="payment_plan_total_positive"),
            models.CheckConstraint(
                condition=Q(state__in=["proposed", "rejected"]) | Q(approved_on__isnull=False),
                name="payment_plan_approved_on_once_approved",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["completed", "defaulted"], judged_on__isnull=False)
                | (~Q(state__in=["completed", "defaulted"]) & Q(judged_on__isnull=True)),
                name="payment_plan_judged_when_ended",
            ),
        ]
        indexes = [models.Index(fields=["entity", "state"], name="payment_plan_state_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.total_minor} {self.currency}"


class PlanInstalment(models.Model):
    plan = models.ForeignKey(PaymentPlan, on_delete=models.CASCADE, related_name="instalments")
    due_date = models.DateField()
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3, help_text="the plan's")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "due_date"], name="one_instalment_a_day"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="instalment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} {self.due_date}"


class PlanDocument(models.Model):
    """A document a payment plan covers."""

    plan = models.ForeignKey(PaymentPlan, on_delete=models.CASCADE, related_name="+")
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "document"], name="one_plan_document"),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} {self.document_id}"


class Activity(models.Model):
    """A call, e-mail, letter or note a collector logged on a customer, with its outcome and the day of
    the next action; optionally about some of the customer's documents. Kept as logged, for the audit:
    nothing changes or deletes it, a later activity follows it up."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        EMAIL = "email", _("E-mail")
        LETTER = "letter", _("Letter")
        NOTE = "note", _("Note")

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        LEFT_MESSAGE = "left_message", _("Left a message")
        PROMISED = "promised", _("Promised to pay")
        DISPUTED = "disputed", _("Disputed")
        REFUSED = "refused", _("Refused")
        OTHER = "other", _("Other")

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    outcome = models.CharField(max_length=15, choices=Outcome.choices)
    text = models.TextField(blank=True)
    next_action_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["call", "email", "letter", "note"]), name="activity_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(
                    outcome__in=[
                        "reached",
                        "no_answer",
                        "left_message",
                        "promised",
                        "disputed",
                        "refused",
                        "other",
                    ]
                ),
                name="activity_outcome_known",
            ),
        ]
        indexes = [models.Index(fields=["entity", "next_action_date"], name="activity_next_action_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind} {self.outcome}"


class ActivityDocument(models.Model):
    """A document an activity was about."""

    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="documents")
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["activity", "document"], name="one_activity_document"),
        ]

    def __str__(self) -> str:
        return f"{self.activity_id} {self.document_id}"


class ReferenceRate(models.Model):
    """A published reference interest rate, valid from a day until the next one of the same name (for
    example `de_base`, the Deutsche Bundesbank's base rate under §247 BGB, set on 1 January and 1 July).
    `annual_percent` may be negative (the German base rate was -0.88 from 2016 to 2022)."""

    name = models.CharField(max_length=30)
    valid_from = models.DateField()
    annual_percent = models.DecimalField(max_digits=7, decimal_places=4)
    source = models.CharField(max_length=200, blank=True, help_text="where it is published")
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "valid_from"], name="one_reference_rate_a_day"),
            models.CheckConstraint(condition=Q(name__regex=r"^[a-z][a-z0-9_]*$"), name="reference_rate_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.valid_from} {self.annual_percent}"


class LatePaymentPolicy(models.Model):
    """An entity's late-payment interest and recovery fee for its items in one currency.

    Interest runs on each overdue item's open amount from the day after its due date plus `grace_days`:
    at `annual_percent` a year when `reference_rate` is empty, else at that reference rate plus
    `annual_percent` (the margin), counted `act_365` or `act_360`. The recovery fee `fee_minor` is owed
    once per overdue invoice. Below `minimum_minor` (interest and fees of a customer in the currency)
    nothing is shown or charged. They are shown on notices; they are charged (a debit memo by
    `o2c dunning charge`) only where `charge_interest` / `charge_fee` say so."""

    class DayCount(models.TextChoices):
        ACT_365 = "act_365", _("Actual/365")
        ACT_360 = "act_360", _("Actual/360")

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    currency = models.CharField(max_length=3)
    reference_rate = models.CharField(max_length=30, blank=True, help_text="empty: a fixed rate")
    annual_percent = models.DecimalField(
        max_digits=7, decimal_places=4, help_text="the fixed rate, or the margin over the reference rate"
    )
    day_count = models.CharField(max_length=10, choices=DayCount.choices, default=DayCount.ACT_365)
    grace_days = models.PositiveSmallIntegerField(default=0)
    fee_minor = models.BigIntegerField(default=0, help_text="per overdue invoice, once")
    minimum_minor = models.BigIntegerField(default=0)
    charge_interest = models.BooleanField(default=False)
    charge_fee = models.BooleanField(default=False)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity", "currency"], name="one_late_payment_policy"),
            models.CheckConstraint(
                condition=Q(fee_minor__gte=0, minimum_minor__gte=0, annual_percent__gte=0),
                name="late_payment_policy_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(day_count__in=["act_365", "act_360"]), name="late_payment_day_count_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entity_id} {self.currency}"


class LateCharge(models.Model):
    """A debit memo of late-payment interest and recovery fees issued to a customer in one currency on
    one day (`o2c dunning charge`), with what it charged per item in `LateChargeItem`."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    document = models.OneToOneField(Document, on_delete=models.PROTECT, related_name="+")
    as_of = models.DateField()
    currency = models.CharField(max_length=3)
    interest_minor = models.BigIntegerField()
    fee_minor = models.BigIntegerField()
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "currency", "as_of"], name="one_late_charge_a_day"),
            models.CheckConstraint(
                condition=Q(interest_minor__gte=0, fee_minor__gte=0), name="late_charge_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["entity", "as_of"], name="late_charge_as_of_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.as_of} {self.currency}"


class LateChargeItem(models.Model):
    """What a late charge charged for one overdue item: interest from `interest_from` through
    `interest_through` (both empty when it charged only the fee) and the recovery fee. The next charge
    starts the day after the latest `interest_through`; the fee is charged once per item."""

    charge = models.ForeignKey(LateCharge, on_delete=models.PROTECT, related_name="items")
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
    interest_from = models.DateField(null=True, blank=True)
    interest_through = models.DateField(null=True, blank=True)
    interest_minor = models.BigIntegerField(default=0)
    fee_minor = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["charge", "document"], name="one_late_charge_item"),
            models.UniqueConstraint(
                fields=["document"], condition=Q(fee_minor__gt=0), name="late_fee_once_per_document"
            ),
            models.UniqueConstraint(
                fields=["document", "interest_through"],
                condition=Q(interest_through__isnull=False),
                name="late_interest_once_per_day",
            ),
            models.CheckConstraint(
                condition=Q(interest_minor__gte=0, fee_minor__gte=0), name="late_charge_item_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(interest_from__isnull=True, interest_through__isnull=True)
                | Q(interest_through__gte=models.F("interest_from")),
                name="late_charge_item_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.charge_id} {self.document_id}"


class EscalationLevel(models.TextChoices):
    """Who works a customer's account, in rising order (docs/escalation.md). Every customer starts at
    `collector`; `legal` and `agency` are only ever reached by a person's decision."""

    COLLECTOR = "collector", _("Collector")
    TEAM_LEAD = "team_lead", _("Team lead")
    AR_MANAGER = "ar_manager", _("AR manager")
    LEGAL = "legal", _("Legal")
    AGENCY = "agency", _("Collection agency")


ESCALATION_ORDER = tuple(level.value for level in EscalationLevel)
"""The levels from lowest to highest."""


class EscalationReason(models.TextChoices):
    NO_RESPONSE = "no_response", _("No response")
    BROKEN_PROMISES = "broken_promises", _("Broken promises")
    DISPUTE_WITHOUT_GROUNDS = "dispute_without_grounds", _("Dispute without grounds")
    INSOLVENCY = "insolvency", _("Insolvency")
    REFUSES_TO_PAY = "refuses_to_pay", _("Refuses to pay")
    OTHER = "other", _("Other")


class EscalationRule(models.Model):
    """One rule of an entity's escalation matrix: the level it calls for and its conditions, any one of
    which fires it (those left empty are not looked at): the oldest overdue item at least
    `min_days_overdue` days past due; the overdue amount in `currency` at least `min_overdue_minor`;
    at least `min_broken_promises` promises broken in the last 90 days; an open item dunned at level
    `min_dunning_level` or higher at least `min_dunning_days` days ago. Rules are never deleted: an AR
    manager switches one off (`is_active`)."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+")
    level = models.CharField(max_length=12, choices=EscalationLevel.choices)
    name = models.CharField(max_length=100)
    min_days_overdue = models.PositiveIntegerField(null=True, blank=True)
    min_overdue_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, help_text="of min_overdue_minor")
    min_broken_promises = models.PositiveSmallIntegerField(null=True, blank=True)
    min_dunning_level = models.PositiveSmallIntegerField(null=True, blank=True)
    min_dunning_days = models.PositiveIntegerField(default=0, help_text="days since min_dunning_level")
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity", "name"], name="unique_escalation_rule_name"),
            models.CheckConstraint(
                condition=Q(level__in=["team_lead", "ar_manager", "legal", "agency"]),
                name="escalation_rule_level_above_collector",
            ),
            models.CheckConstraint(
                condition=Q(min_overdue_minor__isnull=True, currency="")
                | Q(min_overdue_minor__gt=0, currency__regex=r"^[A-Z]{3}$"),
                name="escalation_rule_amount_with_currency",
            ),
            models.CheckConstraint(
                condition=Q(min_days_overdue__isnull=False)
                | Q(min_overdue_minor__isnull=False)
                | Q(min_broken_promises__isnull=False)
                | Q(min_dunning_level__isnull=False),
                name="escalation_rule_has_a_condition",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.level})"


class CustomerEscalation(models.Model):
    """A customer's current escalation level (no row: `collector`), since `since` (the entity's date)."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="+")
    level = models.CharField(max_length=12, choices=EscalationLevel.choices)
    since = models.DateField()
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["entity", "level"], name="customer_escalation_level_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.level}"


class EscalationChange(models.Model):
    """One step of a customer's escalation history: who moved it from which level to which, when and
    why. Kept as recorded."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    from_level = models.CharField(max_length=12, choices=EscalationLevel.choices)
    to_level = models.CharField(max_length=12, choices=EscalationLevel.choices)
    reason_code = models.CharField(max_length=30, choices=EscalationReason.choices)
    reason_text = models.TextField()
    changed_on = models.DateField(help_text="the entity's date")
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_level=models.F("to_level")), name="escalation_changes_level"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.from_level}->{self.to_level}"


class CollectionAgency(models.Model):
    """A collection agency an entity places accounts with."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    code = models.CharField(max_length=30)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity", "code"], name="unique_collection_agency_code"),
        ]

    def __str__(self) -> str:
        return self.code


class AgencyPlacement(models.Model):
    """A customer's account placed with a collection agency on `placed_on`, with its items and their
    open amounts at placement (`PlacedItem`); recalled with a reason, its items come back to dunning."""

    class State(models.TextChoices):
        PLACED = "placed", _("Placed")
        RECALLED = "recalled", _("Recalled")

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey(CollectionAgency, on_delete=models.PROTECT, related_name="placements")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PLACED)
    placed_on = models.DateField()
    reason_code = models.CharField(max_length=30, choices=EscalationReason.choices)
    reason_text = models.TextField()
    placed_at = models.DateTimeField()
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recalled_on = models.DateField(null=True, blank=True)
    recall_reason = models.TextField(blank=True)
    recalled_at = models.DateTimeField(null=True, blank=True)
    recalled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(state="placed", recalled_on__isnull=True)
                | Q(state="recalled", recalled_on__isnull=False),
                name="agency_placement_recalled_on_when_recalled",
            ),
        ]
        indexes = [models.Index(fields=["entity", "state"], name="agency_placement_state_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.agency_id} {self.placed_on}"


class PlacedItem(models.Model):
    """A document placed with an agency and its open amount then. `is_placed` while its placement runs:
    a document is with one agency at a time, and left out of dunning while it is."""

    placement = models.ForeignKey(AgencyPlacement, on_delete=models.PROTECT, related_name="items")
    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    open_minor = models.BigIntegerField(help_text="at placement")
    is_placed = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["document"], condition=Q(is_placed=True), name="document_placed_once"
            ),
            models.UniqueConstraint(fields=["placement", "document"], name="one_placed_item_per_document"),
        ]
        indexes = [
            models.Index(fields=["entity"], condition=Q(is_placed=True), name="placed_item_entity_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.placement_id} {self.document_id}"


class DeliveryProblem(models.Model):
    """A dunning e-mail reported undelivered to one address by a bounce (an RFC 3464 delivery status
    notification): the status code (`5.1.1`), the remote server's diagnostic and when. A permanent
    failure (action `failed`, status 5.x.x) marks the address undeliverable for the customer: later
    dunning e-mails are not sent to it until a person clears the mark (`cleared_at`) or the customer's
    address changes (docs/dunning-delivery.md). Kept as recorded; only the mark is cleared."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    notice = models.ForeignKey(DunningNotice, on_delete=models.PROTECT, related_name="+")
    address = models.CharField(max_length=254, help_text="lowercase")
    action = models.CharField(max_length=20, help_text="the DSN's Action: failed, delayed, ...")
    status_code = models.CharField(max_length=20, help_text="the DSN's Status, e.g. 5.1.1")
    diagnostic = models.CharField(max_length=500, blank=True)
    is_permanent = models.BooleanField()
    bounced_at = models.DateTimeField(help_text="the DSN's Arrival-Date, else its Date")
    created_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    clear_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["notice", "address", "status_code"], name="one_delivery_problem_per_status"
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "address"],
                condition=Q(is_permanent=True, cleared_at__isnull=True),
                name="undeliverable_address_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.address} {self.status_code}"
