"""Reads for the reports: the aging of receivables as of any date and the figures the KPIs need.

Every figure is the history's as of its date: a document counts from the day it posted to the ledger
(its issue date, or the next open period's first day for one issued late into a closed period), an
allocation from its posting date (a reversal is an allocation of the negated amount on its own posting
date). So the open amount of a document as of D is its total less the allocations posted on or before
D, and the aging of any past date ties to the receivable accounts of the ledger on that date.

That same amount is also the open amount now (the cache `o2c ledger verify` proves equal to the
allocations) plus the allocations posted after D: which is how it is read (`_open_sums`), because then
only the documents open now and the few settled after D are read, never the paid history.

The queries are set-based: conditional sums over date ranges computed here in Python (the boundaries of
each bucket as dates), grouped by customer and currency in the database, the same SQL on SQLite and on
PostgreSQL. Nothing loops over documents in Python.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import BigIntegerField, Case, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Cast, Coalesce
from django.utils.translation import gettext

from o2c.cash import selectors as cash_selectors
from o2c.collections import selectors as collection_selectors
from o2c.customers import selectors as customer_selectors
from o2c.customers.models import Customer
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.errors import UnableToConvertCurrency
from o2c.ledger.models import AccountType, LegalEntity
from o2c.ledger.rules import convert_minor
from o2c.receivables.models import Allocation, Document
from o2c.reporting import calculations

# the aging columns of the contract (`o2c report aging`), oldest last
BUCKETS = ("current", "1_30", "31_60", "61_90", "91_120", "over_120")
# the highest age in days of each bucket but `current` and the last (`--buckets`: other boundaries)
DEFAULT_BOUNDS = calculations.DEFAULT_BOUNDS
DUE = "due"
INVOICE = "invoice"
BASES = (DUE, INVOICE)
UNAPPLIED = "unapplied"


def age_bucket(age_days: int, bounds: tuple[int, ...] = DEFAULT_BOUNDS) -> str:
    """The column of an item `age_days` old (days past due, or days since issue): `current` at 0 days
    or less (not yet due on the due basis, issued on the report date on the invoice basis), then up to
    and including each boundary."""
    names = calculations.bucket_names(bounds)
    for upper, bucket in zip((0, *bounds), names, strict=False):
        if age_days <= upper:
            return bucket
    return names[-1]


def bucket_ranges(
    as_of: date, bounds: tuple[int, ...] = DEFAULT_BOUNDS
) -> list[tuple[str, date | None, date | None]]:
    """Each bucket as an inclusive range of the aging date (due date or issue date), `None` open-ended:
    `current` from `as_of` on, `1_30` from 30 to 1 days before, ..., `over_120` 121 days before and
    earlier. Comparing dates, not date differences, is what makes the SQL the same on every database."""
    names = calculations.bucket_names(bounds)
    upper = (0, *bounds)
    ranges: list[tuple[str, date | None, date | None]] = [(names[0], as_of, None)]
    for index, bucket in enumerate(names[1:-1], start=1):
        ranges.append(
            (bucket, as_of - timedelta(days=upper[index]), as_of - timedelta(days=upper[index - 1] + 1))
        )
    ranges.append((names[-1], None, as_of - timedelta(days=upper[-1] + 1)))
    return ranges


def _range_q(field: str, first: date | None, last: date | None) -> Q:
    q = Q()
    if first is not None:
        q &= Q(**{f"{field}__gte": first})
    if last is not None:
        q &= Q(**{f"{field}__lte": last})
    return q


def _bucket_sums(
    *, field: str, amount: Any, as_of: date, bounds: tuple[int, ...] = DEFAULT_BOUNDS, where: Q | None = None
) -> dict[str, Sum]:
    """One conditional sum of `amount` per bucket of the date `field`, named `b0` ... `b5` (default),
    over the rows `where` selects (all by default)."""
    return {
        f"b{index}": Sum(amount, filter=_range_q(field, first, last) & (where or Q()), default=0)
        for index, (_, first, last) in enumerate(bucket_ranges(as_of, bounds))
    }


def _restored(amount: str, total: str) -> Case:
    """What an allocation took off the signed open amount of the document whose total is `total`, to
    put back: it took a positive open amount down and a credit memo's negative open amount up."""
    return Case(
        When(**{f"{total}__lt": 0}, then=-F(amount)),
        default=F(amount),
        output_field=BigIntegerField(),
    )


def _date_field(basis: str) -> str:
    return "due_date" if basis == DUE else "issue_date"


# --- aging ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgingRow:
    """One customer and currency (customer None: cash not identified yet), amounts in minor units of
    the currency; open credit memos are negative in the buckets, unapplied cash negative in
    `unapplied_minor`."""

    entity_code: str
    customer_id: int | None
    customer_number: str
    customer_name: str
    currency: str
    buckets: tuple[int, ...]  # in the order of `bucket_names` (BUCKETS by default)
    unapplied_minor: int
    bucket_names: tuple[str, ...] = BUCKETS

    @property
    def receivable_minor(self) -> int:
        return sum(self.buckets)

    @property
    def total_minor(self) -> int:
        return self.receivable_minor + self.unapplied_minor

    def by_bucket(self) -> dict[str, int]:
        return dict(zip(self.bucket_names, self.buckets, strict=True))


@dataclass(frozen=True, slots=True)
class AgingReport:
    as_of: date
    basis: str
    rows: list[AgingRow]
    bucket_names: tuple[str, ...] = BUCKETS
    reporting_currency: str | None = None
    """Set when every amount was converted into it (`aging_in_currency`): one row per customer."""

    def totals_by_currency(self) -> dict[tuple[str, str], AgingRow]:
        """Per entity and currency, every customer together (customer fields empty)."""
        sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * (len(self.bucket_names) + 1))
        for row in self.rows:
            values = sums[(row.entity_code, row.currency)]
            for index, amount in enumerate((*row.buckets, row.unapplied_minor)):
                values[index] += amount
        return {
            key: AgingRow(
                entity_code=key[0],
                customer_id=None,
                customer_number="",
                customer_name="",
                currency=key[1],
                buckets=tuple(values[:-1]),
                unapplied_minor=values[-1],
                bucket_names=self.bucket_names,
            )
            for key, values in sorted(sums.items())
        }


Key = tuple[int, int | None, str]  # entity, customer, currency


def _posted_by(as_of: date, prefix: str = "") -> Q:
    """Documents in the receivables as of the day: posted by then (a document issued late for a closed
    period posted in the next open one; without a posting date, one migrated, on its issue date)."""
    return Q(**{f"{prefix}posting_date__lte": as_of}) | Q(
        **{f"{prefix}posting_date__isnull": True, f"{prefix}issue_date__lte": as_of}
    )


Sums = Callable[[str, Any, Q], dict[str, Sum]]
"""The named sums (`b0`, `b1`, ...) a grouped query of `_open_sums` computes, given the documents'
field prefix (`""`, `"document__"`), the amount expression, and what selects the rows open as of the
report date (empty for the documents; for the allocations, those posted after the report date)."""


@contextmanager
def _reading() -> Iterator[CursorWrapper]:
    """A cursor for the grouped reads of one report, in one transaction."""
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # compiling the sums' expressions (PostgreSQL's JIT, which their cost estimate calls for)
            # takes longer than the scans it speeds up: a second of six at 10,000,000 documents
            cursor.execute("SET LOCAL jit = off")
        yield cursor


def _grouped_rows(
    cursor: CursorWrapper, queryset: QuerySet[Any], group: tuple[str, ...], sums: dict[str, Sum]
) -> list[tuple[Any, ...]]:
    """The grouped sums as plain tuples (the group's fields, then the sums as integers): up to one row
    per customer, where Django's per-value converters would cost more than the database."""
    query = (
        queryset.values(*group)
        .annotate(**{name: Cast(total, BigIntegerField()) for name, total in sums.items()})
        .order_by()
        .values_list(*group, *sums)
    )
    sql, params = query.query.sql_with_params()
    cursor.execute(sql, params)
    return cursor.fetchall()


def _open_sums(
    *,
    entity_ids: list[int],
    as_of: date,
    group: tuple[str, ...],
    sums: Sums,
    disputed_only: bool = False,
    since: date | None = None,
    customer_ids: frozenset[int] | None = None,
) -> dict[tuple[Any, ...], list[int]]:
    """Sums over the documents' open amounts as of `as_of`, grouped by the documents' fields `group`.

    The open amount as of a day is the open amount now plus what the allocations posted after that day
    took off it (exact: both are the total less allocations). So two reads make it: the documents open
    now (a partial index holds every column they need), and the allocations posted after the day on the
    few documents settled since (`last_allocation_date` after it), on either side (the document, or the
    credit memo drawn on). A document paid before the day is never read.

    `since`: an earlier day some of the sums look back to (the KPIs' opening balance): the allocations
    posted after it are read too, and the sums as of `as_of` keep to the rows they are given.
    `customer_ids`: only these customers' documents (a collector's portfolio)."""
    since = min(since or as_of, as_of)
    disputed: dict[str, Any] = {"is_disputed": True} if disputed_only else {}
    if customer_ids is not None:
        disputed["customer_id__any"] = customer_ids
    totals: dict[tuple[Any, ...], list[int]] = {}
    width = len(group)

    def add(rows: list[tuple[Any, ...]]) -> None:
        for row in rows:
            values = totals.get(row[:width])
            if values is None:
                totals[row[:width]] = list(row[width:])
            else:
                for index, value in enumerate(row[width:]):
                    values[index] += value

    with _reading() as cursor:
        add(
            _grouped_rows(
                cursor,
                Document.objects.filter(
                    _posted_by(as_of), entity_id__in=entity_ids, status=Document.Status.ISSUED, **disputed
                ).exclude(open_minor=0),
                group,
                sums("", F("open_minor"), Q()),
            )
        )
        for side in ("document", "source_document"):
            add(
                _grouped_rows(
                    cursor,
                    Allocation.objects.filter(
                        _posted_by(as_of, f"{side}__"),
                        posting_date__gt=since,
                        **{
                            f"{side}__entity_id__in": entity_ids,
                            f"{side}__status": Document.Status.ISSUED,
                            f"{side}__last_allocation_date__gt": since,
                            **{f"{side}__{key}": value for key, value in disputed.items()},
                        },
                    ),
                    tuple(f"{side}__{name}" for name in group),
                    sums(
                        f"{side}__",
                        _restored("amount_minor", f"{side}__total_minor"),
                        Q(posting_date__gt=as_of),
                    ),
                )
            )
    return totals


def open_items_by_bucket(
    *,
    entity_ids: list[int],
    as_of: date,
    basis: str = DUE,
    disputed_only: bool = False,
    bounds: tuple[int, ...] = DEFAULT_BOUNDS,
) -> dict[Key, list[int]]:
    """The open amount as of `as_of` of the issued documents per entity, customer, currency and bucket
    (minor units, in the order of `calculations.bucket_names(bounds)`, BUCKETS by default): the aging
    date's buckets summed over the documents open then (`_open_sums`). With `disputed_only`, only the
    documents marked disputed."""
    field = _date_field(basis)
    sums = _open_sums(
        entity_ids=entity_ids,
        as_of=as_of,
        group=("entity_id", "customer_id", "currency"),
        sums=lambda prefix, amount, open_then: _bucket_sums(
            field=f"{prefix}{field}", amount=amount, as_of=as_of, bounds=bounds, where=open_then
        ),
        disputed_only=disputed_only,
    )
    return {key: values for key, values in sums.items() if any(values)}


@dataclass(frozen=True, slots=True)
class ReceivableFigures:
    """What the KPIs need of one currency's open items, in minor units: the buckets (due basis) and the
    disputed part as of the report date, the total as of the day before the CEI month."""

    buckets: tuple[int, ...]
    beginning_minor: int
    disputed_minor: int


def receivable_figures(
    *, entity_ids: list[int], as_of: date, beginning: date, customer_ids: frozenset[int] | None = None
) -> dict[str, ReceivableFigures]:
    """Per currency: the aging's buckets as of `as_of` (due basis), the disputed part of them, and the
    open total as of `beginning` (an earlier day), in one read of each kind (`_open_sums`)."""
    count = len(BUCKETS)

    def figures(prefix: str, amount: Any, open_then: Q) -> dict[str, Sum]:
        return {
            **_bucket_sums(field=f"{prefix}due_date", amount=amount, as_of=as_of, where=open_then),
            f"b{count}": Sum(amount, filter=Q(**{f"{prefix}is_disputed": True}) & open_then, default=0),
            f"b{count + 1}": Sum(amount, filter=_posted_by(beginning, prefix), default=0),
        }

    sums = _open_sums(
        entity_ids=entity_ids,
        as_of=as_of,
        group=("currency",),
        sums=figures,
        since=beginning,
        customer_ids=customer_ids,
    )
    return {
        currency: ReceivableFigures(
            buckets=tuple(values[:count]), beginning_minor=values[count + 1], disputed_minor=values[count]
        )
        for (currency,), values in sums.items()
        if any(values)
    }


def unapplied_cash(*, entity_ids: list[int], as_of: date) -> dict[Key, int]:
    """Unapplied cash as of the date per entity, customer (None: not identified yet) and currency, as a
    positive amount: the credit balance of the unapplied cash accounts. Cash records whose cash it was
    on each day in its own postings (the receipt under the payer the matcher knew, identification
    moving it to the customer on the day it was done, allocations, refunds and returns drawing on it),
    so the ledger is where that history is kept whole."""
    return {
        key: balance
        for key, balance in ledger_selectors.credit_balances_by_customer(
            account_type=AccountType.UNAPPLIED_CASH, entity_ids=entity_ids, as_of=as_of
        ).items()
        if balance
    }


def aging(
    *, entity_ids: list[int], as_of: date, basis: str = DUE, bounds: tuple[int, ...] = DEFAULT_BOUNDS
) -> AgingReport:
    """One row per entity, customer and currency with anything open or unapplied as of the date,
    ordered by entity, customer number and currency; cash nobody identified yet last in its entity.
    `bounds`: the buckets' day boundaries (`calculations.parse_bucket_bounds`), the contract's by
    default."""
    if basis not in BASES:
        raise ValueError(basis)
    names = calculations.bucket_names(bounds)
    items = open_items_by_bucket(entity_ids=entity_ids, as_of=as_of, basis=basis, bounds=bounds)
    cash = unapplied_cash(entity_ids=entity_ids, as_of=as_of)
    codes = dict(LegalEntity.objects.filter(pk__in=entity_ids).values_list("pk", "code"))
    keys = set(items) | set(cash)
    facts = customer_selectors.customer_facts(
        customer_ids={customer_id for _, customer_id, _ in keys if customer_id is not None}
    )
    rows = []
    for entity_id, customer_id, currency in keys:
        known = facts.get(customer_id) if customer_id is not None else None
        rows.append(
            AgingRow(
                entity_code=codes[entity_id],
                customer_id=customer_id,
                customer_number=known.number if known else "",
                customer_name=known.name if known else "",
                currency=currency,
                buckets=tuple(items.get((entity_id, customer_id, currency), [0] * len(names))),
                unapplied_minor=-cash.get((entity_id, customer_id, currency), 0),
                bucket_names=names,
            )
        )
    rows.sort(key=lambda row: (row.entity_code, row.customer_id is None, row.customer_number, row.currency))
    return AgingReport(as_of=as_of, basis=basis, rows=rows, bucket_names=names)


def aging_in_currency(report: AgingReport, currency: str) -> AgingReport:
    """The aging in one reporting currency: every amount of every row (each bucket and the unapplied
    cash) converted at the FX rate of the report date (`ledger.selectors.fx_rate_on`: the rate of that
    day or the latest earlier one, else the inverse of the opposite pair), rounded half up (away from
    zero) to the reporting currency's minor unit cell by cell, then summed per entity and customer: one
    row per customer, `currency` the reporting currency, `total` the sum of the converted cells.
    Refused (UnableToConvertCurrency `no_fx_rate`, naming the pair and the date) when a currency of the
    report has no rate."""
    rates: dict[str, Decimal] = {}
    count = len(report.bucket_names)
    sums: dict[tuple[str, int | None], list[int]] = {}
    first_of: dict[tuple[str, int | None], AgingRow] = {}
    for row in report.rows:
        if row.currency not in rates:
            try:
                rates[row.currency] = ledger_selectors.fx_rate_on(
                    from_currency=row.currency, to_currency=currency, on=report.as_of
                )
            except UnableToConvertCurrency:
                raise UnableToConvertCurrency(
                    gettext("no FX rate %(pair)s on or before %(date)s (o2c import fx-rates loads them)")
                    % {"pair": f"{row.currency}/{currency}", "date": report.as_of.isoformat()},
                    code="no_fx_rate",
                ) from None
        key = (row.entity_code, row.customer_id)
        values = sums.setdefault(key, [0] * (count + 1))
        first_of.setdefault(key, row)
        for index, minor in enumerate((*row.buckets, row.unapplied_minor)):
            values[index] += convert_minor(
                minor, from_currency=row.currency, to_currency=currency, rate=rates[row.currency]
            )
    rows = [
        AgingRow(
            entity_code=first_of[key].entity_code,
            customer_id=first_of[key].customer_id,
            customer_number=first_of[key].customer_number,
            customer_name=first_of[key].customer_name,
            currency=currency,
            buckets=tuple(values[:-1]),
            unapplied_minor=values[-1],
            bucket_names=report.bucket_names,
        )
        for key, values in sums.items()  # in the report's order: by entity, customer number
    ]
    return AgingReport(
        as_of=report.as_of,
        basis=report.basis,
        rows=rows,
        bucket_names=report.bucket_names,
        reporting_currency=currency,
    )


GROUPINGS = ("customer", "parent", "collector", "entity", "currency")


def aging_grouped(report: AgingReport, by: str) -> AgingReport:
    """The aging's rows summed by group: `customer` (as it is), `parent` (a customer's topmost parent,
    its whole group in one row), `collector` (the user name of the customer's collector, empty when
    none), `entity` (every customer of a legal entity together, cash nobody identified included, per
    currency) or `currency` (every customer of every entity in the report together: with one entity the
    same as `entity`; with several, `entity_code` joins their codes with "+"). Otherwise cash nobody
    identified stays a row of its own, last in its entity; `customer_number` holds the group's key
    (empty for `entity` and `currency`)."""
    if by not in GROUPINGS:
        raise ValueError(by)
    if by == "customer":
        return report
    ids = {row.customer_id for row in report.rows if row.customer_id is not None}
    key_of: dict[int, tuple[str, str]] = {}
    if by == "parent":
        known: dict[int, tuple[int | None, str, str]] = {}
        wanted = set(ids)
        while wanted:  # parents may lie several levels up
            fetched = {
                pk: (parent_id, number, name)
                for pk, parent_id, number, name in Customer.objects.filter(pk__in=wanted).values_list(
                    "pk", "parent_id", "number", "name"
                )
            }
            known.update(fetched)
            wanted = {parent for parent, _, _ in fetched.values() if parent is not None} - set(known)
        for customer_id in ids:
            top, seen = customer_id, {customer_id}
            while known[top][0] is not None and known[top][0] not in seen:
                top = known[top][0]  # type: ignore[assignment]
                seen.add(top)
            key_of[customer_id] = (known[top][1], known[top][2])
    elif by == "collector":
        for customer_id, username in Customer.objects.filter(pk__in=ids).values_list(
            "pk", "collector__username"
        ):
            key_of[customer_id] = (username or "", "")
    sums: dict[tuple[str, str, str, bool], list[int]] = {}
    names: dict[tuple[str, str, str, bool], str] = {}
    together = "+".join(sorted({row.entity_code for row in report.rows}))
    for row in report.rows:
        identified = row.customer_id is not None or by in ("entity", "currency")
        number, name = key_of.get(row.customer_id, ("", "")) if row.customer_id is not None else ("", "")
        key = (together if by == "currency" else row.entity_code, number, row.currency, identified)
        values = sums.setdefault(key, [0] * (len(report.bucket_names) + 1))
        for index, minor in enumerate(row.buckets):
            values[index] += minor
        values[-1] += row.unapplied_minor
        names[key] = name
    ordered = sorted(sums.items(), key=lambda item: (item[0][0], not item[0][3], item[0][1], item[0][2]))
    rows = [
        AgingRow(
            entity_code=entity_code,
            customer_id=None,
            customer_number=number,
            customer_name=names[(entity_code, number, currency, identified)],
            currency=currency,
            buckets=tuple(values[:-1]),
            unapplied_minor=values[-1],
            bucket_names=report.bucket_names,
        )
        for (entity_code, number, currency, identified), values in ordered
    ]
    return AgingReport(
        as_of=report.as_of,
        basis=report.basis,
        rows=rows,
        bucket_names=report.bucket_names,
        reporting_currency=report.reporting_currency,
    )


@dataclass(frozen=True, slots=True)
class AgingItem:
    """One document open as of the date (the aging's drill-down and the Excel data sheet)."""

    entity_code: str
    customer_id: int
    customer_number: str
    customer_name: str
    document_id: int
    document_type: str
    number: str
    currency: str
    issue_date: date
    due_date: date
    age_days: int
    bucket: str
    open_minor: int
    is_disputed: bool
    deduction_minor: int = 0
    """The part of `open_minor` a short pay left open as a deduction (read with `with_deductions`)."""


def _settled_after(field: str, as_of: date) -> Coalesce:
    """Per document (outer row), the allocations posted after the date that name it in `field`."""
    return Coalesce(
        Subquery(
            Allocation.objects.filter(**{field: OuterRef("pk")}, posting_date__gt=as_of)
            .values(field)
            .annotate(total=Sum("amount_minor"))
            .values("total")[:1],
            output_field=BigIntegerField(),
        ),
        Value(0),
        output_field=BigIntegerField(),
    )


def aging_items(
    *,
    entity_ids: list[int],
    as_of: date,
    basis: str = DUE,
    customer_id: int | None = None,
    currency: str | None = None,
    disputed_only: bool = False,
    chunk_size: int = 5000,
    bounds: tuple[int, ...] = DEFAULT_BOUNDS,
    with_deductions: bool = False,
) -> Iterator[AgingItem]:
    """The documents open as of the date, each with its open amount then (total less the allocations
    posted by then), its age and bucket (of `bounds`), by customer number, currency, aging date and
    number. `with_deductions`: each with the part of its open amount that cash application left open
    as a deduction (a short pay) by the date, never more than it is open
    (`cash.selectors.deductions_open_by_document`)."""
    field = _date_field(basis)
    deductions = (
        cash_selectors.deductions_open_by_document(
            entity_ids=entity_ids, as_of=as_of, customer_id=customer_id, currency=currency
        )
        if with_deductions
        else {}
    )
    documents = Document.objects.filter(
        _posted_by(as_of), entity_id__in=entity_ids, status=Document.Status.ISSUED
    )
    if customer_id is not None:
        documents = documents.filter(customer_id=customer_id)
    if currency is not None:
        documents = documents.filter(currency=currency)
    if disputed_only:
        documents = documents.filter(is_disputed=True)
    # open then: open now, plus what the allocations posted since took off (`_open_sums`); only the
    # documents settled since are looked up
    since = Case(
        When(
            last_allocation_date__gt=as_of,
            then=_settled_after("document", as_of) + _settled_after("source_document", as_of),
        ),
        default=Value(0),
        output_field=BigIntegerField(),
    )
    rows = (
        documents.filter(~Q(open_minor=0) | Q(last_allocation_date__gt=as_of))
        .annotate(
            open_at=Case(
                When(total_minor__lt=0, then=F("open_minor") - since),
                default=F("open_minor") + since,
                output_field=BigIntegerField(),
            )
        )
        .exclude(open_at=0)
        .order_by("entity__code", "customer__number", "currency", field, "number", "pk")
        .values_list(
            "entity__code",
            "customer_id",
            "customer__number",
            "customer__name",
            "pk",
            "document_type",
            "number",
            "currency",
            "issue_date",
            "due_date",
            "open_at",
            "is_disputed",
        )
    )
    for (
        entity_code,
        customer,
        number_of_customer,
        name,
        pk,
        document_type,
        number,
        doc_currency,
        issue_date,
        due_date,
        open_at,
        disputed,
    ) in rows.iterator(chunk_size=chunk_size):
        age = (as_of - (due_date if basis == DUE else issue_date)).days
        open_minor = int(open_at)
        yield AgingItem(
            entity_code=entity_code,
            customer_id=customer,
            customer_number=number_of_customer,
            customer_name=name,
            document_id=pk,
            document_type=document_type,
            number=number or "",
            currency=doc_currency,
            issue_date=issue_date,
            due_date=due_date,
            age_days=age,
            bucket=age_bucket(age, bounds),
            open_minor=open_minor,
            is_disputed=disputed,
            deduction_minor=max(0, min(deductions.get(pk, 0), open_minor)),
        )


# --- KPIs -----------------------------------------------------------------------------------------

COUNTBACK_MONTHS = 24


def month_periods(as_of: date, count: int = COUNTBACK_MONTHS) -> list[tuple[date, date]]:
    """Month steps back from the report date, newest first, each an inclusive (first, last) range. On a
    month end they are the calendar months (31 March: March, February, January, ...); on another day
    each ends on the same day of an earlier month (15 March: 16 February to 15 March, then 16 January to
    15 February; a day a shorter month lacks is clipped to its end)."""
    month_end = as_of + relativedelta(day=31) == as_of
    ends = [
        as_of - relativedelta(months=step) + (relativedelta(day=31) if month_end else relativedelta())
        for step in range(count + 1)
    ]
    return [(ends[step + 1] + timedelta(days=1), ends[step]) for step in range(count)]


def _net_sales(
    *, entity_ids: list[int], windows: list[tuple[date, date]], customer_ids: frozenset[int] | None = None
) -> dict[str, list[int]]:
    """Net credit sales (invoices and debit memos less credit memos, gross of tax, as they post to the
    receivable accounts) per currency in each inclusive date window: one grouped query per currency and
    day (read from an index alone), summed into the windows here."""
    earliest = min(first for first, _ in windows)
    latest = max(last for _, last in windows)
    documents = Document.objects.filter(
        entity_id__in=entity_ids,
        status=Document.Status.ISSUED,
        issue_date__gte=earliest,
        issue_date__lte=latest,
    )
    if customer_ids is not None:
        documents = documents.filter(customer_id__any=customer_ids)
    days = (
        documents.values("currency", "issue_date")
        .annotate(sales=Sum("total_minor"))
        .order_by()
        .values_list("currency", "issue_date", "sales")
    )
    sales: dict[str, list[int]] = {}
    for currency, day, amount in days:
        values = sales.setdefault(currency, [0] * len(windows))
        for index, (first, last) in enumerate(windows):
            if first <= day <= last:
                values[index] += int(amount)
    return sales


def disputed_open(
    *, entity_ids: list[int], as_of: date, customer_ids: set[int] | None = None
) -> dict[str, int]:
    """The open amount as of the date of the documents marked disputed, per currency (only those of
    `customer_ids` when given)."""
    totals: dict[str, int] = defaultdict(int)
    for (_, customer_id, currency), values in open_items_by_bucket(
        entity_ids=entity_ids, as_of=as_of, disputed_only=True
    ).items():
        if customer_ids is None or customer_id in customer_ids:
            totals[currency] += sum(values)
    return dict(totals)


@dataclass(frozen=True, slots=True)
class KpiReport:
    as_of: date
    entity_code: str
    currency: str  # the entity's functional currency, which every amount is in
    inputs: calculations.KpiInputs
    kpis: calculations.Kpis


def kpis(*, entity: LegalEntity, as_of: date, customer_ids: frozenset[int] | None = None) -> KpiReport:
    """The KPIs of one legal entity as of a date, in its functional currency. Amounts in other
    currencies are converted at the FX rate of the report date (or the latest earlier one, as the
    ledger converts), one conversion per currency and figure; refused (UnableToConvertCurrency) when a
    currency has no rate. `customer_ids`: the KPIs of these customers only (a collector's portfolio:
    their sales, open items and cash on account)."""
    ids = [entity.pk]
    functional = entity.currency
    months = month_periods(as_of)
    window = (as_of - timedelta(days=calculations.DSO_DAYS - 1), as_of)
    sales = _net_sales(entity_ids=ids, windows=[window, *months], customer_ids=customer_ids)
    receivables = receivable_figures(
        entity_ids=ids, as_of=as_of, beginning=months[0][0] - timedelta(days=1), customer_ids=customer_ids
    )
    cash = {
        key: balance
        for key, balance in unapplied_cash(entity_ids=ids, as_of=as_of).items()
        if customer_ids is None or key[1] in customer_ids
    }
    # the promises to pay broken in the CEI month
    promises = collection_selectors.promise_figures(
        entity_ids=ids,
        first=months[0][0],
        last=as_of,
        customer_ids=None if customer_ids is None else set(customer_ids),
    )
    rates: dict[str, Decimal] = {}

    def converted(minor: int, currency: str) -> int:
        if currency == functional or minor == 0:
            return minor
        if currency not in rates:
            rates[currency] = ledger_selectors.fx_rate_on(
                from_currency=currency, to_currency=functional, on=as_of
            )
        return convert_minor(minor, from_currency=currency, to_currency=functional, rate=rates[currency])

    buckets = [0] * len(BUCKETS)
    for currency, figures in receivables.items():
        for index, value in enumerate(figures.buckets):
            buckets[index] += converted(value, currency)
    beginning_total = sum(
        converted(figures.beginning_minor, currency) for currency, figures in receivables.items()
    )
    sales_in = [0] * (len(months) + 1)
    for currency, values in sales.items():
        for index, value in enumerate(values):
            sales_in[index] += converted(value, currency)
    cash_by_currency: dict[str, int] = defaultdict(int)
    for (_, _, currency), balance in cash.items():
        cash_by_currency[currency] += balance
    inputs = calculations.KpiInputs(
        buckets=tuple(buckets),
        beginning_receivables_minor=beginning_total,
        sales_window_minor=sales_in[0],
        months=[
            calculations.Period(days=(last - first).days + 1, sales_minor=sales_minor)
            for (first, last), sales_minor in zip(months, sales_in[1:], strict=True)
        ],
        unapplied_minor=sum(converted(minor, currency) for currency, minor in cash_by_currency.items()),
        disputed_minor=sum(
            converted(figures.disputed_minor, currency) for currency, figures in receivables.items()
        ),
        broken_promises=sum(figures.broken_count for figures in promises.values()),
        broken_promises_minor=sum(
            converted(figures.broken_minor, currency) for currency, figures in promises.items()
        ),
    )
    return KpiReport(
        as_of=as_of,
        entity_code=entity.code,
        currency=functional,
        inputs=inputs,
        kpis=calculations.kpis(inputs),
    )
