"""Cash application: imported bank files, the payments in them, how each payment was applied, and what
the matcher has learned and indexed to find the payer and the invoices.

Amounts are integer minor units with their currency. `Payment.unapplied_minor` is a cache of amount
minus the payment's allocations (receivables) and refunds; `o2c ledger verify` proves it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from o2c.customers.models import Customer, Mandate
from o2c.ledger.models import EntityBankAccount, LegalEntity
from o2c.receivables.models import Document


class BankFile(models.Model):
    """One imported file. Its SHA-256 makes a second import of the same bytes a no-op."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="bank_files")
    file_format = models.CharField(max_length=20)
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    message_id = models.CharField(max_length=140, blank=True)
    entries_read = models.IntegerField(default=0)
    payments_created = models.IntegerField(default=0)
    duplicates_skipped = models.IntegerField(default=0)
    warnings = models.JSONField(default=list)
    imported_at = models.DateTimeField()
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entity", "sha256"], name="bank_file_once")]

    def __str__(self) -> str:
        return self.file_name


class BankStatement(models.Model):
    bank_file = models.ForeignKey(BankFile, on_delete=models.PROTECT, related_name="statements")
    bank_account = models.ForeignKey(EntityBankAccount, on_delete=models.PROTECT, related_name="+")
    statement_id = models.CharField(max_length=140)
    currency = models.CharField(max_length=3)
    opening_minor = models.BigIntegerField(null=True, blank=True)
    closing_minor = models.BigIntegerField(null=True, blank=True)
    # closing - (opening + booked entries); None when the file does not tell. On the last page of a
    # statement the bank split over several files, that of the whole statement once every page is in.
    difference_minor = models.BigIntegerField(null=True, blank=True)
    statement_date = models.DateField(null=True, blank=True)
    entries_minor = models.BigIntegerField(null=True, blank=True, help_text="sum of the booked entries")
    page_number = models.IntegerField(null=True, blank=True, help_text="the page of a split statement")
    last_page = models.BooleanField(null=True, blank=True)
    copy_indicator = models.CharField(
        max_length=4, blank=True, help_text="CODU, COPY or DUPL: a copy of a statement sent before"
    )

    def __str__(self) -> str:
        return self.statement_id


class PaymentMethod(models.TextChoices):
    SEPA_CREDIT_TRANSFER = "sepa_credit_transfer", _("SEPA credit transfer")
    SEPA_DIRECT_DEBIT = "sepa_direct_debit", _("SEPA direct debit")
    SEPA_DIRECT_DEBIT_RETURN = "sepa_direct_debit_return", _("SEPA direct debit return")
    WIRE = "wire", _("Wire transfer")
    ACH = "ach", _("ACH")
    CHECK = "check", _("Check")
    CARD = "card", _("Card")
    OTHER = "other", _("Other")


class Payment(models.Model):
    """One incoming statement entry (or lockbox check, card payout): cash received, to apply."""

    class Status(models.TextChoices):
        UNIDENTIFIED = "unidentified", _("Unidentified")
        SUGGESTED = "suggested", _("Suggested")
        PARTIALLY_APPLIED = "partially_applied", _("Partially applied")
        APPLIED = "applied", _("Applied")
        ON_ACCOUNT = "on_account", _("On account")
        RETURNED = "returned", _("Returned")

    # no single-column indexes on entity and bank account: the composite indexes below start with them
    # (each index costs every bank import a write per payment)
    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="payments", db_index=False)
    statement = models.ForeignKey(
        BankStatement, on_delete=models.PROTECT, related_name="payments", db_index=False
    )
    bank_account = models.ForeignKey(
        EntityBankAccount, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    position = models.IntegerField(help_text="1-based position of the entry in its file")
    # the bank's own reference of the entry (camt AcctSvcrRef, BAI2 16 bank reference, MT940 after //)
    entry_reference = models.CharField(max_length=140, blank=True)
    # what makes an entry unique on its account: its bank reference, else a fingerprint
    dedupe_key = models.CharField(max_length=200)
    method = models.CharField(max_length=30, choices=PaymentMethod.choices, default=PaymentMethod.OTHER)
    value_date = models.DateField()
    booking_date = models.DateField()
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField()
    unapplied_minor = models.BigIntegerField()
    payer_name = models.CharField(max_length=200, blank=True)
    payer_iban = models.CharField(max_length=34, blank=True)
    payer_account = models.CharField(max_length=80, blank=True)
    end_to_end_id = models.CharField(max_length=140, blank=True)
    remittance = models.TextField(blank=True)
    structured_references = models.JSONField(default=list)
    remitted = models.JSONField(default=list, help_text="documents named by the payer, with amounts")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="payments", db_index=False
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UNIDENTIFIED)
    confidence = models.DecimalField(max_digits=4, decimal_places=3, default=0)
    reasons = models.JSONField(default=list)
    created_at = models.DateTimeField()
    returned_on = models.DateField(null=True, blank=True)
    return_reason = models.CharField(
        max_length=140, blank=True, help_text="the bank's reason code (AC04, MD06, ...) or text"
    )
    return_reference = models.CharField(
        max_length=140, blank=True, help_text="the bank's reference of the entry that returned the payment"
    )
    return_charges_minor = models.BigIntegerField(
        default=0,
        help_text="the bank's charges debited with the return entry beyond the payment (negative: given "
        "back), posted to 6850",
    )
    return_fee_document = models.ForeignKey(
        Document,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        help_text="the debit memo that charged the customer for the return",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bank_account", "dedupe_key"], name="payment_once_per_account"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(unapplied_minor__gte=0, unapplied_minor__lte=models.F("amount_minor")),
                name="payment_unapplied_within_amount",
            ),
        ]
        indexes = [
            models.Index(fields=["entity", "status", "value_date"]),
            models.Index(fields=["statement", "position"]),
            models.Index(fields=["bank_account", "amount_minor", "value_date"]),
            models.Index(
                fields=["customer", "value_date"],
                condition=Q(customer__isnull=False),
                name="payment_customer_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.entry_reference or f"payment {self.pk}"


class Application(models.Model):
    """One line of how a payment settles documents: applied (with its allocations) or suggested.

    `document` is empty for cash put on account. `amount_minor` is the cash applied; `discount_minor`,
    `write_off_minor` were settled by their own allocations; `deduction_minor` was left open on the
    document (a short pay). A reversed application keeps its row with `reversed_at` set."""

    class State(models.TextChoices):
        SUGGESTED = "suggested", _("Suggested")
        APPLIED = "applied", _("Applied")
        REJECTED = "rejected", _("Rejected")
        REVERSED = "reversed", _("Reversed")

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="applications")
    document = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    state = models.CharField(max_length=10, choices=State.choices)
    amount_minor = models.BigIntegerField(default=0)
    discount_minor = models.BigIntegerField(default=0)
    deduction_minor = models.BigIntegerField(default=0)
    write_off_minor = models.BigIntegerField(default=0)
    confidence = models.DecimalField(max_digits=4, decimal_places=3, default=0)
    reasons = models.JSONField(default=list)
    allocation_ids = models.JSONField(default=list)
    is_automatic = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    amount_minor__gte=0, discount_minor__gte=0, deduction_minor__gte=0, write_off_minor__gte=0
                ),
                name="application_amounts_not_negative",
            ),
        ]
        indexes = [
            models.Index(
                fields=["document"], condition=Q(document__isnull=False), name="application_document_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.state} {self.amount_minor} on {self.document_id}"


class PayerAccount(models.Model):
    """A payer's bank account known to belong to a customer: learned from confirmed payments."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+")
    account_key = models.CharField(
        max_length=80, help_text="IBAN, or routing/account, compact and upper case"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    confirmations = models.IntegerField(default=1)
    learned_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity", "account_key", "customer"], name="payer_account_once")
        ]
        indexes = [models.Index(fields=["entity", "account_key"])]

    def __str__(self) -> str:
        return self.account_key


class PayerName(models.Model):
    """A payer name (normalised) that a person confirmed as a customer's: third-party payers, aliases."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+")
    name_key = models.CharField(max_length=200)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    learned_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity", "name_key", "customer"], name="payer_name_once")
        ]
        indexes = [models.Index(fields=["entity", "name_key"])]

    def __str__(self) -> str:
        return self.name_key


class DocumentKey(models.Model):
    """The matcher's index of document numbers: one row per normalised key of an issued document."""

    entity_id = models.BigIntegerField()
    key = models.CharField(max_length=60)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="+", db_index=False)

    class Meta:
        indexes = [
            models.Index(fields=["entity_id", "key"]),
            models.Index(fields=["document"]),
        ]

    def __str__(self) -> str:
        return self.key


class CustomerKey(models.Model):
    """The matcher's index of customers: their numbers and the tokens of their normalised names, so fuzzy
    name matching only scores the few customers sharing a token with the payer."""

    class Kind(models.TextChoices):
        NUMBER = "number"
        NAME_TOKEN = "name_token"

    entity_id = models.BigIntegerField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    key = models.CharField(max_length=80)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False)
    indexed_name = models.CharField(max_length=200)

    class Meta:
        indexes = [
            models.Index(fields=["entity_id", "kind", "key"]),
            models.Index(fields=["customer"]),
        ]

    def __str__(self) -> str:
        return self.key


class ReturnFeeCharge(models.TextChoices):
    """What a customer is charged when a payment of theirs comes back (`rules.RETURN_FEE_CHARGES`)."""

    NONE = "none", _("No return fee")
    BANK_FEE = "bank_fee", _("The bank's return fee")
    FIXED = "fixed", _("A fixed return fee")
    BANK_FEE_PLUS_FIXED = "bank_fee_plus_fixed", _("The bank's return fee plus a fixed fee")


class MatchingPolicy(models.Model):
    """Per entity: when the matcher may post on its own, and what it may write off. The tolerance is in
    `currency` and applies to payments in that currency; others are written off nothing. When a payment
    is returned, `return_fee_charge` says whether the customer gets a debit memo for the bank's fee, the
    own fixed fee `return_fee_minor` (in `currency`, for payments in that currency), or both. Cash paying
    invoices of another currency that converts at the day's rate to within `fx_tolerance_percent` of what
    they have open settles them in full, the difference being realised FX."""

    entity = models.OneToOneField(LegalEntity, on_delete=models.PROTECT, related_name="+")
    auto_apply_confidence = models.DecimalField(max_digits=4, decimal_places=3, default="0.900")
    currency = models.CharField(max_length=3)
    write_off_tolerance_minor = models.BigIntegerField(
        default=500, help_text="bank charges written off up to"
    )
    discount_grace_days = models.IntegerField(
        default=3, help_text="days after the discount date still accepted"
    )
    return_fee_charge = models.CharField(
        max_length=20,
        choices=ReturnFeeCharge.choices,
        default=ReturnFeeCharge.NONE,
        help_text="what a customer is charged for a returned payment",
    )
    return_fee_minor = models.BigIntegerField(
        default=0, help_text="own fixed fee per returned payment, in currency"
    )
    fx_tolerance_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default="1.00",
        help_text="converted cash within this percentage of the open amount settles it in full",
    )
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(return_fee_minor__gte=0), name="matching_policy_return_fee_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(return_fee_charge__in=["none", "bank_fee", "fixed", "bank_fee_plus_fixed"]),
                name="matching_policy_return_fee_charge_known",
            ),
            models.CheckConstraint(
                condition=Q(fx_tolerance_percent__gte=0) & Q(fx_tolerance_percent__lte=10),
                name="matching_policy_fx_tolerance_0_to_10",
            ),
        ]

    def __str__(self) -> str:
        return f"policy {self.entity_id}"


class RemittanceAdvice(models.Model):
    """What a customer says a payment pays (their CSV/XLSX list or e-mail), kept until its payment arrives:
    the matcher then reads its lines as the payment's remitted documents."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    kind = models.CharField(max_length=10, help_text="csv, xlsx or eml")
    payer = models.CharField(max_length=200, blank=True)
    reference = models.CharField(max_length=140, blank=True)
    payment_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    total_minor = models.BigIntegerField(null=True, blank=True, help_text="the lines' amounts summed")
    lines = models.JSONField(default=list, help_text="[{number, amount, discount, deduction, reason}]")
    text = models.TextField(blank=True)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="advices", db_index=False
    )
    received_at = models.DateTimeField()
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity", "sha256"], name="remittance_advice_once"),
        ]
        indexes = [
            models.Index(
                fields=["entity", "total_minor"], condition=Q(payment__isnull=True), name="advice_waiting_idx"
            ),
            models.Index(fields=["payment"]),
        ]

    def __str__(self) -> str:
        return self.reference or self.file_name


class Refund(models.Model):
    """Unapplied cash paid back to the customer by a SEPA credit transfer (pain.001): one transaction of
    a refund file, told by its end-to-end id. Posted Dr unapplied cash (customer) / Cr bank."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+", db_index=False)
    bank_account = models.ForeignKey(EntityBankAccount, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField()
    end_to_end_id = models.CharField(max_length=35, unique=True)
    message_id = models.CharField(max_length=35, help_text="GrpHdr/MsgId of the pain.001 file")
    scheme = models.CharField(max_length=20, help_text="pain.001.001.03 or pain.001.001.09")
    execution_date = models.DateField()
    payee_name = models.CharField(max_length=70)
    payee_iban = models.CharField(max_length=34)
    payee_bic = models.CharField(max_length=11, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="refund_amount_positive"),
        ]
        indexes = [models.Index(fields=["entity", "message_id"])]

    def __str__(self) -> str:
        return self.end_to_end_id


class DirectDebit(models.Model):
    """One invoice collected by a SEPA direct-debit file (pain.008) under a mandate. Nothing is posted:
    the cash arrives in a later statement and the matcher applies it by the invoice number. An invoice is
    collected once; a returned collection is presented again by a person."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+")
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
    mandate = models.ForeignKey(Mandate, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField()
    end_to_end_id = models.CharField(max_length=35)
    sequence_type = models.CharField(max_length=4)
    message_id = models.CharField(max_length=35, help_text="GrpHdr/MsgId of the pain.008 file")
    scheme = models.CharField(max_length=20, help_text="pain.008.001.02 or pain.008.001.08")
    collection_date = models.DateField()
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="direct_debit_amount_positive"),
        ]
        indexes = [models.Index(fields=["entity", "message_id"])]

    def __str__(self) -> str:
        return self.end_to_end_id


class BankCsvMapping(models.Model):
    """A saved way to read one bank's own CSV export (`bankfiles.csvformats.CsvMapping`), chosen by name
    or found by the columns of a file's header, and the entity's bank account its entries are booked on.

    `definition` holds the CsvMapping's fields by name (JSON keys as in docs/bankfiles-csv.md); services
    build and validate the CsvMapping from it before saving and before reading a file."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=100)
    bank_account = models.ForeignKey(EntityBankAccount, on_delete=models.PROTECT, related_name="+")
    definition = models.JSONField(default=dict, help_text="the CsvMapping's fields by name")
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity", "name"], name="bank_csv_mapping_name_once"),
        ]

    def __str__(self) -> str:
        return self.name


class CurrencyConversion(models.Model):
    """Cash in one currency settling a document in another: the part of the payment (`from_minor` in
    the payment's currency) that became `to_minor` in the document's currency at `rate`, and funds the
    cash allocation `allocation_id`. Posted through the currency conversion account; reversed with its
    allocation (the cash goes back to the payment's currency)."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="conversions")
    allocation_id = models.BigIntegerField(unique=True)
    from_currency = models.CharField(max_length=3)
    from_minor = models.BigIntegerField()
    to_currency = models.CharField(max_length=3)
    to_minor = models.BigIntegerField()
    rate = models.DecimalField(max_digits=20, decimal_places=10)
    """Units of `to_currency` for one unit of `from_currency`, as of the payment's value date."""
    posting_date = models.DateField()
    created_at = models.DateTimeField()
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(from_minor__gt=0, to_minor__gt=0), name="conversion_amounts_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_currency}->{self.to_currency} {self.payment_id}"
