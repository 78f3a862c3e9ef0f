"""What the month-end close reads (o2c.close): the AR rollforward of a month and the subledger-to-GL
tie-out.

The rollforward is built from the receivable accounts' journal lines, so it ties to the ledger by
construction: opening balance, each kind of movement in the period, closing balance. Each movement is
named by what posted it (an issued invoice or credit memo, an allocation of cash, discount or write-off,
a migration), and its lines can be listed (`rollforward_lines`). The tie-out compares the subledger (open
items and cash on account rebuilt as of a date, `reporting.selectors.aging`) with the control accounts,
customer by customer. A late entry (dated in a closed period, posted in the next open one) counts in
both from the day it posted, and the rollforward of that month lists it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db.models import Case, CharField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from o2c.customers.models import Customer
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import AccountType, JournalEntry, JournalLine, LegalEntity
from o2c.receivables.models import Allocation, Document, DocumentType
from o2c.reporting import selectors as reporting_selectors
from o2c.reporting.errors import UnableToReadPeriod

MOVEMENTS = (
    "invoices",
    "credit_memos",
    "cash_applied",
    "discounts",
    "write_offs",
    "credit_memos_applied",
    "migrated",
    "other",
)
"""The rollforward's movement columns, in report order.

- invoices: invoices and debit memos issued (their receivable)
- credit_memos: credit memos issued (negative)
- cash_applied: cash applied to documents, less its reversals (negative)
- discounts, write_offs: early-payment discounts granted and small differences written off (negative)
- credit_memos_applied: a credit memo settling an invoice (nets to zero in a currency: both are receivables)
- migrated: open items brought from the previous system and what was paid on them there
- other: anything else posted on a receivable account (manual entries, revaluation once it lands)
"""


def movement_labels() -> dict[str, str]:
    """The rollforward's lines as its report, pages and exports name them."""
    return {
        "opening": _("Opening AR"),
        "invoices": _("Invoices and debit memos"),
        "credit_memos": _("Credit memos"),
        "cash_applied": _("Cash applied"),
        "discounts": _("Discounts"),
        "write_offs": _("Write-offs"),
        "credit_memos_applied": _("Credit memos applied"),
        "migrated": _("Migrated"),
        "fx_revaluation": _("FX revaluation"),
        "other": _("Other"),
        "closing": _("Closing AR"),
        "subledger_closing": _("Open items"),
        "difference": _("Difference"),
    }


REVALUATION_SOURCE = "fx_revaluation"
"""The source type of the month-end FX revaluation's entries (o2c.close.revaluation), on 1209."""
FUNCTIONAL_MOVEMENTS = (*MOVEMENTS[:-1], "fx_revaluation", "other")
"""The movements of the rollforward in the functional currency: those of MOVEMENTS at the rates each
was booked at, and the unrealised FX of the month-end revaluation and its reversal (fx_revaluation)."""

_ALLOCATION_MOVEMENTS = {
    Allocation.Kind.PAYMENT: "cash_applied",
    Allocation.Kind.DISCOUNT: "discounts",
    Allocation.Kind.WRITE_OFF: "write_offs",
    Allocation.Kind.CREDIT_MEMO: "credit_memos_applied",
    Allocation.Kind.MIGRATION: "migrated",
}


def month_start(text: str) -> date:
    """YYYY-MM as the first day of that month."""
    try:
        year, month = text.split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError(text)
        return date(int(year), int(month), 1)
    except ValueError:
        raise UnableToReadPeriod(
            _("period '%(value)s' is not a month written YYYY-MM") % {"value": text}, code="bad_period"
        ) from None


def month_bounds(start: date) -> tuple[date, date]:
    return start, start + relativedelta(months=1, days=-1)


def _receivable_lines(entity_id: int) -> QuerySet[JournalLine]:
    return JournalLine.objects.filter(
        entry__entity_id=entity_id,
        entry__status=JournalEntry.Status.POSTED,
        account__type=AccountType.RECEIVABLE,
    )


def _with_movement(lines: QuerySet[JournalLine], *, fx: bool = False) -> Any:
    # Any: the type checker's plugin cannot see the `movement` annotation in later filters and values
    """Each receivable line with the movement it belongs to, from what posted its entry (with `fx`, the
    revaluation's entries apart as fx_revaluation)."""
    revaluation = [When(entry__source_type=REVALUATION_SOURCE, then=Value("fx_revaluation"))] if fx else []
    return lines.annotate(
        _document_type=Subquery(
            Document.objects.filter(pk=OuterRef("document_id")).values("document_type")[:1]
        ),
        _kind=Subquery(Allocation.objects.filter(pk=OuterRef("entry__source_id")).values("kind")[:1]),
    ).annotate(
        movement=Case(
            *revaluation,
            When(
                Q(entry__source_type="document", _document_type=DocumentType.CREDIT_MEMO),
                then=Value("credit_memos"),
            ),
            When(entry__source_type="document", then=Value("invoices")),
            *(
                When(Q(entry__source_type="allocation", _kind=kind), then=Value(movement))
                for kind, movement in _ALLOCATION_MOVEMENTS.items()
            ),
            When(entry__source_type="migration", then=Value("migrated")),
            default=Value("other"),
            output_field=CharField(),
        )
    )


@dataclass(frozen=True)
class RollforwardRow:
    entity_code: str
    currency: str
    opening_minor: int
    movements_minor: dict[str, int]
    """per movement of MOVEMENTS, signed (a receivable's increase positive)"""
    closing_minor: int
    subledger_closing_minor: int
    """open items less nothing else, rebuilt from the documents as of the period's last day"""

    @property
    def difference_minor(self) -> int:
        """closing (ledger) less the subledger: late entries and anything posted past the subledger"""
        return self.closing_minor - self.subledger_closing_minor


@dataclass(frozen=True)
class Rollforward:
    entity_code: str
    start: date
    end: date
    rows: list[RollforwardRow]
    late_entries: list[LateEntry]


@dataclass(frozen=True)
class LateEntry:
    """An entry dated in one period and posted in a later one (its period was closed)."""

    entry_id: int
    dated: date
    posting_date: date
    description: str
    currency: str
    receivable_minor: int


def rollforward(*, entity: LegalEntity, start: date) -> Rollforward:
    """The AR rollforward of the month starting on `start`, per currency, in transaction currency."""
    first, last = month_bounds(start)
    lines = _receivable_lines(entity.pk)
    opening: dict[str, int] = defaultdict(int)
    for row in (
        lines.filter(entry__posting_date__lt=first)
        .values("currency")
        .annotate(debit=Coalesce(Sum("debit_minor"), 0), credit=Coalesce(Sum("credit_minor"), 0))
    ):
        opening[row["currency"]] += row["debit"] - row["credit"]
    movements: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(MOVEMENTS, 0))
    for row in (
        _with_movement(lines.filter(entry__posting_date__gte=first, entry__posting_date__lte=last))
        .values("currency", "movement")
        .annotate(debit=Coalesce(Sum("debit_minor"), 0), credit=Coalesce(Sum("credit_minor"), 0))
    ):
        movements[row["currency"]][row["movement"]] += row["debit"] - row["credit"]
    subledger: dict[str, int] = defaultdict(int)
    for aging_row in reporting_selectors.aging(entity_ids=[entity.pk], as_of=last).rows:
        subledger[aging_row.currency] += aging_row.receivable_minor
    rows = []
    for currency in sorted(set(opening) | set(movements) | set(subledger)):
        moved = movements[currency]
        closing = opening[currency] + sum(moved.values())
        if not (opening[currency] or closing or subledger[currency] or any(moved.values())):
            continue
        rows.append(
            RollforwardRow(entity.code, currency, opening[currency], moved, closing, subledger[currency])
        )
    return Rollforward(entity.code, first, last, rows, late_entries(entity=entity, first=first, last=last))


@dataclass(frozen=True)
class FunctionalRow:
    """One transaction currency's receivables (or all of them: the total) in the functional currency."""

    currency: str
    opening_minor: int
    movements_minor: dict[str, int]
    """per movement of FUNCTIONAL_MOVEMENTS, signed, in the functional currency"""
    closing_minor: int


@dataclass(frozen=True)
class FunctionalRollforward:
    entity_code: str
    functional_currency: str
    start: date
    end: date
    rows: list[FunctionalRow]
    total: FunctionalRow
    """every currency together, in the functional currency (its `currency` is the functional one)"""


def rollforward_functional(*, entity: LegalEntity, start: date) -> FunctionalRollforward:
    """The AR rollforward of the month in the entity's functional currency, per transaction currency and
    in total: each movement at the rates it was booked at, and the month-end FX revaluation (posted on
    the last day, reversed on the next first day) as fx_revaluation, so opening + movements = closing =
    the receivable accounts' functional balance (1200 and 1209 together)."""
    first, last = month_bounds(start)
    lines = _receivable_lines(entity.pk)
    opening: dict[str, int] = defaultdict(int)
    for row in (
        lines.filter(entry__posting_date__lt=first)
        .values("currency")
        .annotate(
            debit=Coalesce(Sum("functional_debit_minor"), 0),
            credit=Coalesce(Sum("functional_credit_minor"), 0),
        )
    ):
        opening[row["currency"]] += row["debit"] - row["credit"]
    movements: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FUNCTIONAL_MOVEMENTS, 0))
    for row in (
        _with_movement(lines.filter(entry__posting_date__gte=first, entry__posting_date__lte=last), fx=True)
        .values("currency", "movement")
        .annotate(
            debit=Coalesce(Sum("functional_debit_minor"), 0),
            credit=Coalesce(Sum("functional_credit_minor"), 0),
        )
    ):
        movements[row["currency"]][row["movement"]] += row["debit"] - row["credit"]
    rows = []
    for currency in sorted(set(opening) | set(movements)):
        moved = movements[currency]
        closing = opening[currency] + sum(moved.values())
        if opening[currency] or closing or any(moved.values()):
            rows.append(FunctionalRow(currency, opening[currency], moved, closing))
    total = FunctionalRow(
        entity.currency,
        sum(row.opening_minor for row in rows),
        {name: sum(row.movements_minor[name] for row in rows) for name in FUNCTIONAL_MOVEMENTS},
        sum(row.closing_minor for row in rows),
    )
    return FunctionalRollforward(entity.code, entity.currency, first, last, rows, total)


def late_entries(*, entity: LegalEntity, first: date, last: date) -> list[LateEntry]:
    """Entries dated from `first` to `last` posted after `last`, or dated before `first` and posted in
    it, with what they moved on the receivable accounts."""
    entries = JournalEntry.objects.filter(entity=entity, dated__isnull=False).filter(
        Q(dated__gte=first, dated__lte=last, posting_date__gt=last)
        | Q(dated__lt=first, posting_date__gte=first, posting_date__lte=last)
    )
    found = []
    for entry in entries.order_by("posting_date", "pk"):
        sums = (
            _receivable_lines(entity.pk)
            .filter(entry=entry)
            .values("currency")
            .annotate(debit=Coalesce(Sum("debit_minor"), 0), credit=Coalesce(Sum("credit_minor"), 0))
        )
        for row in sums:
            found.append(
                LateEntry(
                    entry.pk,
                    entry.dated or entry.posting_date,
                    entry.posting_date,
                    entry.description,
                    row["currency"],
                    row["debit"] - row["credit"],
                )
            )
    return found


@dataclass(frozen=True)
class RollforwardLine:
    entry_id: int
    posting_date: date
    dated: date | None
    description: str
    customer_number: str
    document_number: str
    currency: str
    amount_minor: int


def rollforward_lines(
    *, entity: LegalEntity, start: date, movement: str, currency: str | None = None
) -> list[RollforwardLine]:
    """The receivable lines behind one movement of the month's rollforward (its drill-down)."""
    first, last = month_bounds(start)
    lines = _with_movement(
        _receivable_lines(entity.pk).filter(entry__posting_date__gte=first, entry__posting_date__lte=last)
    ).filter(movement=movement)
    if currency:
        lines = lines.filter(currency=currency)
    rows = list(
        lines.order_by("entry__posting_date", "entry_id", "pk").values_list(
            "entry_id",
            "entry__posting_date",
            "entry__dated",
            "entry__description",
            "customer_id",
            "document_id",
            "currency",
            "debit_minor",
            "credit_minor",
        )
    )
    customers: dict[int | None, str] = dict(
        Customer.objects.filter(pk__in={row[4] for row in rows}).values_list("pk", "number")
    )
    documents: dict[int | None, str | None] = dict(
        Document.objects.filter(pk__in={row[5] for row in rows}).values_list("pk", "number")
    )
    return [
        RollforwardLine(
            entry_id,
            posted,
            dated,
            description,
            customers.get(customer_id, ""),
            documents.get(document_id) or "",
            line_currency,
            debit - credit,
        )
        for (
            entry_id,
            posted,
            dated,
            description,
            customer_id,
            document_id,
            line_currency,
            debit,
            credit,
        ) in rows
    ]


@dataclass(frozen=True)
class TieOutRow:
    """One customer and currency whose open items and receivable control account differ as of a day."""

    customer_number: str
    currency: str
    subledger_minor: int
    ledger_minor: int

    @property
    def difference_minor(self) -> int:
        return self.ledger_minor - self.subledger_minor


def tie_out(*, entity: LegalEntity, as_of: date) -> list[TieOutRow]:
    """Open items rebuilt as of a day against the receivable accounts, per customer and currency: only
    the differences. (Cash on account needs no such check: the aging reads it from the unapplied-cash
    accounts themselves.)"""
    open_items: dict[tuple[str, str], int] = defaultdict(int)
    for row in reporting_selectors.aging(entity_ids=[entity.pk], as_of=as_of).rows:
        open_items[(row.customer_number, row.currency)] += row.receivable_minor
    numbers = dict(Customer.objects.filter(entity=entity).values_list("pk", "number"))
    ledger: dict[tuple[str, str], int] = defaultdict(int)
    for (_entity_id, customer_id, currency), amount in ledger_selectors.receivable_balances(
        entity_ids=[entity.pk], as_of=as_of
    ).items():
        ledger[(numbers.get(customer_id, "") if customer_id else "", currency)] += amount
    return [
        TieOutRow(number, currency, open_items.get((number, currency), 0), ledger.get((number, currency), 0))
        for number, currency in sorted(set(open_items) | set(ledger))
        if open_items.get((number, currency), 0) != ledger.get((number, currency), 0)
    ]
