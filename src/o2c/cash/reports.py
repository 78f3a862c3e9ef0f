"""Reports on cash (reads only): unapplied and unidentified cash aged as of a date and tied to the
ledger, and the daily deposit reconciliation of the bank's statements against the bank ledger accounts.

Unapplied cash as of a date is rebuilt from the payments booked by then, less their payment allocations
posted by then (reversals count on their own posting date), their refunds executed by then and, once
returned to the payer, the whole payment; never from today's cached `Payment.unapplied_minor`. So the
report for a past date shows what was unapplied on that day, and ties to the ledger on any date: these
are the dates the postings carry. Who the cash belonged to on that day comes from the payment's own
postings: its receipt credits unapplied cash under the payer when the matcher knew them, and
identifying it later moves it to the payer's unapplied cash on the day it was done (`payment-customer:`
entries, source `payment`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import F, Sum

from o2c.cash.models import BankStatement, Payment, Refund
from o2c.customers import selectors as customer_selectors
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import AccountType, EntityBankAccount, LegalEntity
from o2c.receivables.models import Allocation

# the aging columns of the contract (`o2c report aging`): days since the value date here
BUCKETS = ("current", "1_30", "31_60", "61_90", "91_120", "over_120")
_UPPER_LIMITS = ((0, "current"), (30, "1_30"), (60, "31_60"), (90, "61_90"), (120, "91_120"))
IDENTIFIED = "identified"
UNIDENTIFIED = "unidentified"
ALL = "all"
_CHUNK = 5_000


def age_bucket(age_days: int) -> str:
    """The aging column of cash `age_days` old: `current` on its value date (or when the value date is
    still ahead), then 1-30, 31-60, 61-90, 91-120 and over 120 days."""
    for upper, bucket in _UPPER_LIMITS:
        if age_days <= upper:
            return bucket
    return "over_120"


# --- unapplied cash as of a date ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnappliedItem:
    """One payment with cash unapplied at the report date."""

    entity_code: str
    payment_id: int
    entry_reference: str
    payer_name: str
    customer_id: int | None  # whose unapplied cash it was at the date; None: not identified yet
    customer_number: str
    customer_name: str
    currency: str
    value_date: date
    booking_date: date
    age_days: int
    bucket: str
    payment_minor: int
    unapplied_minor: int


@dataclass(frozen=True, slots=True)
class UnappliedTotal:
    """Unapplied cash of one entity and currency per bucket; `kind` is identified, unidentified or all."""

    entity_code: str
    currency: str
    kind: str
    buckets: tuple[int, ...]  # minor units, in the order of BUCKETS

    @property
    def total_minor(self) -> int:
        return sum(self.buckets)

    def by_bucket(self) -> dict[str, int]:
        return dict(zip(BUCKETS, self.buckets, strict=True))


@dataclass(frozen=True, slots=True)
class TieOut:
    """The report against the unapplied cash accounts of the ledger at the date (credit balance)."""

    entity_code: str
    currency: str
    customer_id: int | None  # None on a per-currency line is every customer; see `UnappliedReport`
    customer_number: str
    report_minor: int
    ledger_minor: int

    @property
    def difference_minor(self) -> int:
        return self.report_minor - self.ledger_minor


@dataclass(frozen=True, slots=True)
class UnappliedReport:
    as_of: date
    items: list[UnappliedItem]
    totals: list[UnappliedTotal]  # per entity and currency: identified, unidentified, all
    tie_out: list[TieOut]  # per entity and currency, all customers together
    tie_out_differences: list[TieOut]  # per entity, customer and currency, only where they differ

    @property
    def ties(self) -> bool:
        return not self.tie_out_differences and all(line.difference_minor == 0 for line in self.tie_out)


def _chunks(values: list[int], size: int = _CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _applied_by_payment(*, entity_ids: list[int], as_of: date) -> dict[int, int]:
    """Net cash each payment settled by the date: its payment allocations less their reversals."""
    rows = (
        Allocation.objects.filter(
            entity_id__in=entity_ids,
            kind=Allocation.Kind.PAYMENT,
            payment_id__isnull=False,
            posting_date__lte=as_of,
        )
        .values("payment_id")
        .annotate(total=Sum("amount_minor"))
        .order_by()
    )
    return {row["payment_id"]: row["total"] for row in rows}


def _refunded_by_payment(*, entity_ids: list[int], as_of: date) -> dict[int, int]:
    """Unapplied cash paid back by the date. A refund posts on its execution date, never before its
    payment's booking date, and only payments booked by the date are read: the execution date decides."""
    rows = (
        Refund.objects.filter(entity_id__in=entity_ids, execution_date__lte=as_of)
        .values("payment_id")
        .annotate(total=Sum("amount_minor"))
        .order_by()
    )
    return {row["payment_id"]: row["total"] for row in rows}


def _customers_at(*, entity_ids: list[int], payment_ids: list[int], as_of: date) -> dict[int, int | None]:
    """Whose unapplied cash each payment was at the date: the customer of the last unapplied-cash credit
    its own entries (receipt, then identification) posted by then."""
    owners: dict[int, int | None] = {}
    for chunk in _chunks(payment_ids):
        lines = (
            ledger_selectors.posted_lines(entity_ids=entity_ids, as_of=as_of)
            .filter(
                account__type=AccountType.UNAPPLIED_CASH,
                entry__source_type="payment",
                entry__source_id__any=chunk,
                credit_minor__gt=0,
            )
            .order_by("entry__posting_date", "entry_id")
            .values_list("entry__source_id", "customer_id")
        )
        for payment_id, customer_id in lines:
            if payment_id is not None:
                owners[payment_id] = customer_id
    return owners


def unapplied_cash_as_of(*, entity_ids: list[int], as_of: date) -> UnappliedReport:
    """Every payment booked by `as_of` with cash unapplied on that date, aged by its value date, with
    totals per bucket and currency (identified and unidentified apart) and the tie-out to the unapplied
    cash accounts of the ledger on the same date. Payments in value-date order."""
    codes = dict(LegalEntity.objects.filter(pk__in=entity_ids).values_list("pk", "code"))
    applied = _applied_by_payment(entity_ids=entity_ids, as_of=as_of)
    refunded = _refunded_by_payment(entity_ids=entity_ids, as_of=as_of)
    open_payments: list[tuple[Any, int]] = []  # (the payment's values, unapplied at the date)
    for payment in (
        Payment.objects.filter(entity_id__in=entity_ids, booking_date__lte=as_of)
        .order_by("value_date", "booking_date", "pk")
        .values(
            "pk",
            "entity_id",
            "entry_reference",
            "payer_name",
            "customer_id",
            "currency",
            "value_date",
            "booking_date",
            "amount_minor",
            "returned_on",
        )
        .iterator(chunk_size=_CHUNK)
    ):
        left = payment["amount_minor"] - applied.get(payment["pk"], 0) - refunded.get(payment["pk"], 0)
        returned_on = payment["returned_on"]
        if returned_on is not None and max(returned_on, payment["booking_date"]) <= as_of:
            # the return takes the whole amount out of unapplied cash and reverses what it settled
            left -= payment["amount_minor"]
        if left:
            open_payments.append((payment, left))
    owners = _customers_at(
        entity_ids=entity_ids, payment_ids=[payment["pk"] for payment, _ in open_payments], as_of=as_of
    )
    # a payment without a receipt posted by the date (none should be) keeps its own record's customer
    customer_of = {
        payment["pk"]: owners.get(payment["pk"], payment["customer_id"]) for payment, _ in open_payments
    }
    facts = customer_selectors.customer_facts(
        customer_ids={pk for pk in customer_of.values() if pk is not None}
    )
    items = []
    for payment, left in open_payments:
        customer_id = customer_of[payment["pk"]]
        known = facts.get(customer_id) if customer_id is not None else None
        age = (as_of - payment["value_date"]).days
        items.append(
            UnappliedItem(
                entity_code=codes[payment["entity_id"]],
                payment_id=payment["pk"],
                entry_reference=payment["entry_reference"],
                payer_name=payment["payer_name"],
                customer_id=customer_id,
                customer_number=known.number if known else "",
                customer_name=known.name if known else "",
                currency=payment["currency"],
                value_date=payment["value_date"],
                booking_date=payment["booking_date"],
                age_days=age,
                bucket=age_bucket(age),
                payment_minor=payment["amount_minor"],
                unapplied_minor=left,
            )
        )
    ledger = {
        (codes[entity_id], customer_id, currency): balance
        for (entity_id, customer_id, currency), balance in ledger_selectors.credit_balances_by_customer(
            account_type=AccountType.UNAPPLIED_CASH, entity_ids=entity_ids, as_of=as_of
        ).items()
    }
    return UnappliedReport(
        as_of=as_of,
        items=items,
        totals=_totals(items),
        tie_out=_tie_out_per_currency(items, ledger),
        tie_out_differences=_tie_out_differences(items, ledger, _customer_numbers(ledger, facts)),
    )


def _customer_numbers(
    ledger: dict[tuple[str, int | None, str], int], known: dict[int, customer_selectors.CustomerFacts]
) -> dict[int, str]:
    """Customer numbers of the report's customers and of those only the ledger knows."""
    numbers = {pk: fact.number for pk, fact in known.items()}
    missing = {customer_id for _, customer_id, _ in ledger if customer_id is not None} - set(numbers)
    if missing:
        numbers.update(
            {pk: fact.number for pk, fact in customer_selectors.customer_facts(customer_ids=missing).items()}
        )
    return numbers


def _totals(items: Iterable[UnappliedItem]) -> list[UnappliedTotal]:
    sums: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
    index = {bucket: position for position, bucket in enumerate(BUCKETS)}
    for item in items:
        kind = IDENTIFIED if item.customer_id is not None else UNIDENTIFIED
        for key in ((item.entity_code, item.currency, kind), (item.entity_code, item.currency, ALL)):
            sums[key][index[item.bucket]] += item.unapplied_minor
    order = {IDENTIFIED: 0, UNIDENTIFIED: 1, ALL: 2}
    return [
        UnappliedTotal(entity_code=entity_code, currency=currency, kind=kind, buckets=tuple(values))
        for (entity_code, currency, kind), values in sorted(
            sums.items(), key=lambda pair: (pair[0][0], pair[0][1], order[pair[0][2]])
        )
    ]


def _tie_out_per_currency(
    items: Iterable[UnappliedItem], ledger: dict[tuple[str, int | None, str], int]
) -> list[TieOut]:
    report: dict[tuple[str, str], int] = defaultdict(int)
    for item in items:
        report[(item.entity_code, item.currency)] += item.unapplied_minor
    books: dict[tuple[str, str], int] = defaultdict(int)
    for (entity_code, _, currency), balance in ledger.items():
        books[(entity_code, currency)] += balance
    return [
        TieOut(
            entity_code=entity_code,
            currency=currency,
            customer_id=None,
            customer_number="",
            report_minor=report.get((entity_code, currency), 0),
            ledger_minor=books.get((entity_code, currency), 0),
        )
        for entity_code, currency in sorted(set(report) | set(books))
    ]


def _tie_out_differences(
    items: Iterable[UnappliedItem], ledger: dict[tuple[str, int | None, str], int], numbers: dict[int, str]
) -> list[TieOut]:
    report: dict[tuple[str, int | None, str], int] = defaultdict(int)
    for item in items:
        report[(item.entity_code, item.customer_id, item.currency)] += item.unapplied_minor
    lines = []
    for entity_code, customer_id, currency in sorted(set(report) | set(ledger), key=str):
        mine = report.get((entity_code, customer_id, currency), 0)
        books = ledger.get((entity_code, customer_id, currency), 0)
        if mine != books:
            lines.append(
                TieOut(
                    entity_code=entity_code,
                    currency=currency,
                    customer_id=customer_id,
                    customer_number=numbers.get(customer_id, "") if customer_id is not None else "",
                    report_minor=mine,
                    ledger_minor=books,
                )
            )
    return lines


# --- daily deposit reconciliation -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DepositDay:
    """One bank ledger account, currency and booking date: what the bank's statements brought in against
    what the ledger posted to the account that day.

    The entity's own bank accounts usually share one bank ledger account (the standard chart has one),
    so the ledger cannot tell them apart: the day is reconciled per ledger account and currency, and
    `bank_accounts` names the own accounts behind it (one, when each account has its own ledger
    account)."""

    entity_code: str
    day: date
    ledger_account: str
    bank_accounts: tuple[str, ...]
    currency: str
    bank_minor: int  # entries imported from the statements (payments less returns), by booking date
    ledger_minor: int  # debits less credits on the ledger account, by posting date
    statement_movement_minor: int | None  # closing less opening of the statements of that date

    @property
    def difference_minor(self) -> int:
        return self.ledger_minor - self.bank_minor


@dataclass(frozen=True, slots=True)
class UnbalancedStatement:
    """A statement whose opening balance plus its entries is not its closing balance."""

    entity_code: str
    file_name: str
    statement_id: str
    bank_account: str
    currency: str
    statement_date: date | None
    opening_minor: int | None
    closing_minor: int | None
    difference_minor: int


@dataclass(frozen=True, slots=True)
class DepositReconciliation:
    date_from: date
    date_to: date
    days: list[DepositDay]
    unbalanced_statements: list[UnbalancedStatement]

    @property
    def differences(self) -> list[DepositDay]:
        return [day for day in self.days if day.difference_minor]


def deposit_reconciliation(*, entity_ids: list[int], date_from: date, date_to: date) -> DepositReconciliation:
    """Per bank ledger account, currency and day from `date_from` to `date_to` (inclusive) with any
    activity: the statement entries imported (payments received, less payments returned, by booking
    date) against the ledger's movement on the account (posted entries, by posting date), and the
    statements' own movement (closing less opening) where they give both balances. The importer keeps
    no other debits (charges, transfers out, the bank's side of our refunds), so they show only in that
    movement. Statements in the range whose balances do not add up are listed apart."""
    accounts = list(
        EntityBankAccount.objects.filter(entity_id__in=entity_ids)
        .select_related("entity", "ledger_account")
        .order_by("entity__code", "ledger_account__code", "currency", "pk")
    )
    ledger_ids = {account.ledger_account_id for account in accounts}
    account_of = {account.pk: account for account in accounts}
    names: dict[tuple[int, str], list[str]] = defaultdict(list)
    for account in accounts:
        names[(account.ledger_account_id, account.currency)].append(str(account))
    labels = {
        account.ledger_account_id: (account.entity.code, account.ledger_account.code) for account in accounts
    }

    bank: dict[tuple[int, str, date], int] = defaultdict(int)
    for row in (
        Payment.objects.filter(bank_account_id__in=account_of, booking_date__range=(date_from, date_to))
        .values("bank_account_id", "currency", "booking_date")
        .annotate(total=Sum("amount_minor"))
        .order_by()
    ):
        ledger_id = account_of[row["bank_account_id"]].ledger_account_id
        bank[(ledger_id, row["currency"], row["booking_date"])] += row["total"]
    # a returned payment is the one debit the importer keeps: on the booking date of the return entry,
    # with the bank's charges the entry debited beyond the payment
    for row in (
        Payment.objects.filter(bank_account_id__in=account_of, returned_on__range=(date_from, date_to))
        .values("bank_account_id", "currency", "returned_on")
        .annotate(total=Sum(F("amount_minor") + F("return_charges_minor")))
        .order_by()
    ):
        ledger_id = account_of[row["bank_account_id"]].ledger_account_id
        bank[(ledger_id, row["currency"], row["returned_on"])] -= row["total"]

    books: dict[tuple[int, str, date], int] = defaultdict(int)
    for row in (
        ledger_selectors.posted_lines(entity_ids=entity_ids)
        .filter(account_id__in=ledger_ids, entry__posting_date__range=(date_from, date_to))
        .values("account_id", "currency", "entry__posting_date")
        .annotate(debit=Sum("debit_minor"), credit=Sum("credit_minor"))
        .order_by()
    ):
        books[(row["account_id"], row["currency"], row["entry__posting_date"])] += (
            row["debit"] - row["credit"]
        )

    movement: dict[tuple[int, str, date], int] = defaultdict(int)
    unbalanced = []
    for statement in (
        BankStatement.objects.filter(
            bank_account_id__in=account_of, statement_date__range=(date_from, date_to)
        )
        .select_related("bank_file")
        .order_by("statement_date", "bank_file__imported_at", "pk")
    ):
        account = account_of[statement.bank_account_id]
        if statement.opening_minor is not None and statement.closing_minor is not None:
            assert statement.statement_date is not None
            key = (account.ledger_account_id, statement.currency, statement.statement_date)
            movement[key] += statement.closing_minor - statement.opening_minor
        if statement.difference_minor:
            unbalanced.append(
                UnbalancedStatement(
                    entity_code=account.entity.code,
                    file_name=statement.bank_file.file_name,
                    statement_id=statement.statement_id,
                    bank_account=str(account),
                    currency=statement.currency,
                    statement_date=statement.statement_date,
                    opening_minor=statement.opening_minor,
                    closing_minor=statement.closing_minor,
                    difference_minor=statement.difference_minor,
                )
            )

    days = []
    for key in set(bank) | set(books) | set(movement):
        ledger_id, currency, day = key
        entity_code, code = labels[ledger_id]
        days.append(
            DepositDay(
                entity_code=entity_code,
                day=day,
                ledger_account=code,
                bank_accounts=tuple(
                    names.get((ledger_id, currency))
                    or [str(a) for a in accounts if a.ledger_account_id == ledger_id]
                ),
                currency=currency,
                bank_minor=bank.get(key, 0),
                ledger_minor=books.get(key, 0),
                statement_movement_minor=movement.get(key),
            )
        )
    days.sort(key=lambda line: (line.entity_code, line.day, line.ledger_account, line.currency))
    return DepositReconciliation(
        date_from=date_from, date_to=date_to, days=days, unbalanced_statements=unbalanced
    )
