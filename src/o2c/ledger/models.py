"""Legal entities, the chart of accounts, fiscal periods, FX rates and the journal.

Only `ledger.services` writes these tables; other apps read them through `ledger.selectors`.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from stdnum.iso7064 import mod_97_10
from stdnum.us import rtn


def is_creditor_id(value: str) -> bool:
    """A SEPA creditor identifier: country, two check digits, a three-character business code and the
    national identifier; the check digits are ISO 7064 MOD 97-10 over the national identifier followed by
    the country and the check digits (the business code does not count)."""
    compact = "".join(value.split()).upper()
    if not (8 <= len(compact) <= 35 and compact[:2].isalpha() and compact[2:4].isdigit()):
        return False
    national = compact[7:]
    return national.isalnum() and national.isascii() and mod_97_10.is_valid(national + compact[:4])


def validate_creditor_id(value: str) -> None:
    if value and not is_creditor_id(value):
        raise ValidationError(_("%(value)s is not a valid SEPA creditor identifier"), params={"value": value})


class LegalEntity(models.Model):
    """A seller or client company: everything with money belongs to one."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2)
    currency = models.CharField(max_length=3, help_text="functional currency")
    time_zone = models.CharField(max_length=64, default="UTC")
    is_default = models.BooleanField(default=False)
    # the SEPA creditor identifier (DE98ZZZ09999999999) that its direct-debit collections carry
    sepa_creditor_id = models.CharField(
        max_length=35,
        blank=True,
        validators=[validate_creditor_id],
        help_text="SEPA creditor identifier, for direct-debit collections",
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "legal entities"
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_entity"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class TaxRegistration(models.Model):
    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="tax_registrations")
    country = models.CharField(max_length=2)
    scheme = models.CharField(max_length=20, default="vat")
    number = models.CharField(max_length=40)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "country", "scheme"], name="one_registration_per_scheme"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class EntityGrant(models.Model):
    """A person may see and change the data of the legal entities granted to them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="entity_grants")
    entity = models.ForeignKey(LegalEntity, on_delete=models.CASCADE, related_name="grants")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "entity"], name="one_grant_per_user_entity")]

    def __str__(self) -> str:
        return f"{self.user_id} -> {self.entity_id}"


class AccountType(models.TextChoices):
    RECEIVABLE = "receivable"
    BANK = "bank"
    UNAPPLIED_CASH = "unapplied_cash"
    REVENUE = "revenue"
    DEFERRED_REVENUE = "deferred_revenue"
    TAX = "tax"
    DISCOUNT = "discount"
    WRITE_OFF = "write_off"
    BAD_DEBT = "bad_debt"
    FX = "fx"
    CLEARING = "clearing"
    OTHER = "other"


class Account(models.Model):
    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="accounts")
    code = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=20, choices=AccountType.choices)
    is_open = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entity", "code"], name="unique_account_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


def validate_routing_number(value: str) -> None:
    if value and not rtn.is_valid(value):
        raise ValidationError(_("%(value)s is not a valid ABA routing number"), params={"value": value})


class EntityBankAccount(models.Model):
    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="bank_accounts")
    name = models.CharField(max_length=100)
    iban = models.CharField(max_length=34, blank=True)
    account_number = models.CharField(max_length=40, blank=True)
    # a US account without an IBAN is paid to by its ABA routing number (checked by python-stdnum)
    routing_number = models.CharField(max_length=9, blank=True, validators=[validate_routing_number])
    bic = models.CharField(max_length=11, blank=True)
    currency = models.CharField(max_length=3)
    ledger_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return self.iban or self.account_number


class FiscalPeriod(models.Model):
    """A month of an entity's fiscal calendar (closed date range)."""

    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="periods")
    start_date = models.DateField()
    end_date = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity", "start_date"], name="unique_period_start"),
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")), name="period_not_reversed"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.start_date:%Y-%m}"


class FxRate(models.Model):
    """One unit of `from_currency` is `rate` units of `to_currency` on `rate_date` and after."""

    rate_date = models.DateField()
    from_currency = models.CharField(max_length=3)
    to_currency = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=24, decimal_places=10)
    source = models.CharField(max_length=40, default="import")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["from_currency", "to_currency", "rate_date"], name="unique_fx_rate"
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="fx_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.rate_date} {self.from_currency}/{self.to_currency} {self.rate}"


class JournalEntry(models.Model):
    """A balanced record of one business event. Posted entries never change (database triggers)."""

    class Status(models.TextChoices):
        DRAFT = "draft"
        POSTED = "posted"

    entity = models.ForeignKey(
        LegalEntity, on_delete=models.PROTECT, related_name="journal_entries", db_index=False
    )
    posting_date = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    description = models.CharField(max_length=200)
    source_type = models.CharField(max_length=60)
    source_id = models.BigIntegerField(null=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    reverses = models.OneToOneField("self", null=True, on_delete=models.PROTECT, related_name="reversed_by")
    dated = models.DateField(
        null=True, blank=True, help_text="the business date of a late entry its closed period moved forward"
    )
    created_at = models.DateTimeField()
    created_by_id = models.BigIntegerField(null=True)

    class Meta:
        verbose_name_plural = "journal entries"
        indexes = [
            models.Index(fields=["entity", "posting_date"]),
            models.Index(fields=["source_type", "source_id"]),
        ]

    def __str__(self) -> str:
        return f"JE{self.pk} {self.posting_date} {self.description}"


class JournalLine(models.Model):
    """One side of an entry, in transaction currency and in the entity's functional currency.

    `customer_id` and `document_id` are the subledger dimensions of receivable lines; they are plain
    integers because the ledger sits below the customers and receivables modules.
    """

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines", db_index=False)
    currency = models.CharField(max_length=3)
    debit_minor = models.BigIntegerField(default=0)
    credit_minor = models.BigIntegerField(default=0)
    functional_debit_minor = models.BigIntegerField(default=0)
    functional_credit_minor = models.BigIntegerField(default=0)
    fx_rate = models.DecimalField(max_digits=24, decimal_places=10, default=1)
    customer_id = models.BigIntegerField(null=True)
    document_id = models.BigIntegerField(null=True)
    memo = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["account", "customer_id"]),
            models.Index(fields=["document_id"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(debit_minor__gte=0, credit_minor__gte=0)
                & ~Q(debit_minor__gt=0, credit_minor__gt=0),
                name="line_one_side_in_transaction_currency",
            ),
            models.CheckConstraint(
                condition=(Q(functional_debit_minor__gt=0, functional_credit_minor=0))
                | Q(functional_debit_minor=0, functional_credit_minor__gt=0)
                # a tiny foreign amount can round to nothing in the functional currency
                | (
                    Q(functional_debit_minor=0, functional_credit_minor=0)
                    & (Q(debit_minor__gt=0) | Q(credit_minor__gt=0))
                ),
                name="line_one_positive_side_in_functional_currency",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.debit_minor}/{self.credit_minor} {self.currency}"
