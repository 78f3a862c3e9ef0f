"""The set-based service behind `o2c import invoices`: open items from another system.

Same rules as issuing, applied to sets: each item posts on its issue date against the migration
clearing account (one entry per posting date and currency of the import, one receivable line per
item), its paid part is settled on `paid_date` (an allocation, and one entry per date and currency
with a receivable line per item), and the ledger's triggers check every entry.

A migration brings a million items at once, so the rows are written set-based: COPY on PostgreSQL,
one prepared INSERT run over all rows on SQLite, never a model instance per row. Document ids are
reserved first (a sequence range on PostgreSQL; on SQLite the IMMEDIATE transaction holds the
database's write lock), so the ledger lines can name their documents without reading them back.
Everything happens in the caller's one transaction: a refused item leaves nothing behind.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any, NamedTuple, cast

from django.contrib.auth.models import User
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q, Sum

from o2c.audit import services as audit_services
from o2c.core import events
from o2c.core.db import Handoff, copy_from_stdin, copy_value, running_alongside
from o2c.core.exceptions import InputError
from o2c.customers.models import Customer
from o2c.customers.terms import PaymentTerms, UnableToParsePaymentTerms, parse_terms
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger import triggers
from o2c.ledger.models import AccountType, LegalEntity
from o2c.ledger.rules import LineIn as PostingLine
from o2c.ledger.services import EntryIn
from o2c.receivables import calculations, numbering
from o2c.receivables.models import Allocation, Document, DocumentType

CHUNK = 50_000  # rows per progress step
BULK_LOAD = 50_000  # from this many new items on, the tables are loaded as a bulk (`triggers.BulkLoad`)
LOOKUP = 5_000  # numbers per IN (...) query
SQLITE_CACHE_KIB = 256 * 1024

logger = logging.getLogger(__name__)


class OpenItemIn(NamedTuple):
    """One open item of the file (a tuple: a million of them are built and kept while importing)."""

    row: int
    number: str
    customer_number: str
    issue_date: date
    due_date: date
    currency: str
    amount_minor: int
    open_minor: int
    po_number: str = ""
    paid_date: date | None = None


@dataclass(frozen=True)
class OpenItemsResult:
    created: int
    unchanged: int
    journal_entries: int


def _field_limits() -> tuple[int, int]:
    number = Document._meta.get_field("number")
    po_number = Document._meta.get_field("po_number")
    assert isinstance(number, models.CharField) and isinstance(po_number, models.CharField)
    return number.max_length or 40, po_number.max_length or 60


def _existing(entity: LegalEntity, numbers: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Existing documents among `numbers`: (total, open amount as migrated, i.e. total less the
    migration allocations; later payments in O2C do not count)."""
    in_entity = Document.objects.filter(entity=entity).count()
    if not in_entity:
        return {}
    migrated = Sum("allocations__amount_minor", filter=Q(allocations__kind=Allocation.Kind.MIGRATION))
    if len(numbers) * 4 >= in_entity:  # most of the entity's documents: one pass over them all
        wanted = set(numbers)
        rows: Iterable[tuple[str | None, int, int | None]] = (
            row
            for row in Document.objects.filter(entity=entity)
            .annotate(settled=migrated)
            .values_list("number", "total_minor", "settled")
            .order_by()
            .iterator(chunk_size=20_000)
            if row[0] in wanted
        )
    else:
        rows = (
            row
            for start in range(0, len(numbers), LOOKUP)
            for row in Document.objects.filter(entity=entity, number__in=numbers[start : start + LOOKUP])
            .annotate(settled=migrated)
            .values_list("number", "total_minor", "settled")
            .order_by()
        )
    return {
        number: (total, calculations.open_amount(total, settled or 0))
        for number, total, settled in rows
        if number is not None
    }


def _customers(entity: LegalEntity, wanted: set[str]) -> dict[str, int]:
    customers = Customer.objects.filter(entity=entity)
    if len(wanted) * 4 >= customers.count():
        everyone = customers.values_list("number", "pk").iterator(chunk_size=20_000)
        return {number: pk for number, pk in everyone if number in wanted}
    found: dict[str, int] = {}
    listed = sorted(wanted)
    for start in range(0, len(listed), LOOKUP):
        found.update(customers.filter(number__in=listed[start : start + LOOKUP]).values_list("number", "pk"))
    return found


def _validate(
    entity: LegalEntity, items: Sequence[OpenItemIn]
) -> tuple[list[OpenItemIn], int, dict[str, int]]:
    """The items to create (unchanged ones dropped) and the customer ids, or an InputError on the first
    bad row."""
    number_max, po_max = _field_limits()
    numbers = list(map(_NUMBER, items))
    if (
        len(set(numbers)) != len(numbers)
        or max(map(len, numbers), default=0) > number_max
        or max(map(len, map(_PO_NUMBER, items)), default=0) > po_max
    ):
        _refuse_first_bad_number(items, number_max, po_max)
    wanted = set(map(_CUSTOMER_NUMBER, items))
    customers = _customers(entity, wanted)
    existing = _existing(entity, numbers)
    del numbers
    if not existing and wanted <= customers.keys():  # the common case: all new, all customers known
        return list(items), 0, customers
    todo = []
    unchanged = 0
    for item in items:
        if item.customer_number not in customers:
            raise InputError(
                f"unknown customer {item.customer_number}", row=item.row, column="customer_number"
            )
        if item.number in existing:
            total, migrated_open = existing[item.number]
            if total != item.amount_minor:
                raise InputError(
                    f"invoice {item.number} exists with another amount; an issued amount never changes",
                    row=item.row,
                    column="amount",
                    code="changed_amount",
                )
            if migrated_open != item.open_minor:
                raise InputError(
                    f"invoice {item.number} exists with another open amount; settle it in O2C instead",
                    row=item.row,
                    column="open_amount",
                    code="changed_amount",
                )
            unchanged += 1
            continue
        todo.append(item)
    return todo, unchanged, customers


# an item's fields for C-level passes over a million items (`map`, `set`, `zip`)
_NUMBER, _CUSTOMER_NUMBER, _ISSUE_DATE = itemgetter(1), itemgetter(2), itemgetter(3)
_CURRENCY, _AMOUNT, _PO_NUMBER, _PAID_DATE = itemgetter(5), itemgetter(6), itemgetter(8), itemgetter(9)


def _refuse_first_bad_number(items: Sequence[OpenItemIn], number_max: int, po_max: int) -> None:
    """Raise the InputError of the first item whose number repeats or is too long, or whose PO number is."""
    seen: set[str] = set()
    for item in items:
        if item.number in seen:
            raise InputError(
                f"invoice {item.number} appears twice in the file", row=item.row, column="invoice_number"
            )
        seen.add(item.number)
        if len(item.number) > number_max:
            raise InputError(f"is longer than {number_max} characters", row=item.row, column="invoice_number")
        if len(item.po_number) > po_max:
            raise InputError(f"is longer than {po_max} characters", row=item.row, column="po_number")


def _reserve_ids(model: type[models.Model], count: int, *, locked: bool) -> Sequence[int]:
    """`count` fresh primary keys for rows written with explicit ids. `locked`: the caller holds the
    table's ACCESS EXCLUSIVE lock, so nobody else draws from its sequence meanwhile (an INSERT takes
    its table lock before it evaluates the default) and one jump of the sequence reserves a range."""
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if locked:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s))",
                    [table, pk],
                )
                first = cursor.fetchone()[0]
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, %s), %s)", [table, pk, first + count - 1]
                )
                return range(first, first + count)
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, pk, count],
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: the transaction began IMMEDIATE and holds the write lock, so nobody else inserts meanwhile
        cursor.execute(f"SELECT max({pk}) FROM {table}")
        highest = cursor.fetchone()[0] or 0
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'")
        if cursor.fetchone():
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            found = cursor.fetchone()
            highest = max(highest, found[0] if found else 0)
        return range(highest + 1, highest + 1 + count)


class _Table:
    """Rows of one table written set-based: COPY on PostgreSQL, one prepared INSERT on SQLite. A row's
    values follow `columns`, then come `constants` (the same in every row, prepared here) and the field
    defaults of every other column but the primary key. Row values are ints and strings as the database
    stores them (dates as ISO strings, None for NULL); on PostgreSQL a row may also come as its COPY text
    (values joined by tabs, escaped). `db` is the connection: writing may run in a second thread."""

    def __init__(
        self,
        db: BaseDatabaseWrapper,
        model: type[models.Model],
        columns: Sequence[str],
        constants: dict[str, Any],
    ) -> None:
        meta = model._meta
        fields = {field.column: field for field in meta.concrete_fields}
        fixed = {column: fields[column].get_db_prep_save(value, db) for column, value in constants.items()}
        for column, field in fields.items():
            if column not in fixed and column not in columns and not field.primary_key:
                fixed[column] = field.get_db_prep_save(field.get_default(), db)
        self.db, self.table, self.width = db, meta.db_table, len(columns)
        self.names = [*columns, *fixed]
        self.tail = tuple(fixed.values())

    def copy_text(self, rows: Iterable[tuple[int | str | None, ...] | str]) -> Iterator[str]:
        """The rows as COPY text, 10,000 a piece: Python only, in any thread (psycopg's write_row would
        cost ~1 µs a value)."""
        suffix = "".join(f"\t{copy_value(value)}" for value in self.tail) + "\n"
        tabs = self.width - 1
        lines = []
        for row in rows:
            if isinstance(row, str):  # a row already in COPY text
                line = row
            else:
                line = "\t".join(map(str, row))
                if None in row or "\\" in line or "\n" in line or "\r" in line or line.count("\t") != tabs:
                    line = "\t".join(map(copy_value, row))  # a value to escape
            lines.append(line)
            if len(lines) == 10_000:
                yield suffix.join(lines) + suffix
                lines.clear()
        if lines:
            yield suffix.join(lines) + suffix

    def copy(self, pieces: Iterable[str], written: Callable[[int], None] | None = None) -> None:
        """COPY text pieces into the table (PostgreSQL); `written(rows)` after each piece."""
        with copy_from_stdin(self.db, self.table, self.names) as write:
            for piece in pieces:
                write(piece)
                if written is not None:
                    written(piece.count("\n"))

    def insert(self, rows: Iterable[tuple[int | str | None, ...] | str]) -> None:
        if self.db.vendor == "postgresql":
            self.copy(self.copy_text(rows))
            return
        placeholders = ", ".join("?" * len(self.names))
        cursor = self.db.connection.cursor()
        try:
            cursor.executemany(
                f"INSERT INTO {self.table} ({', '.join(self.names)}) VALUES ({placeholders})",
                (
                    cast(tuple[int | str | None, ...], row) + self.tail for row in rows
                ),  # text rows are PostgreSQL's
            )
        finally:
            cursor.close()


def _hand_off(pieces: Iterable[str], handoff: Handoff[str]) -> None:
    try:
        for piece in pieces:
            handoff.put(piece)
    except BaseException as error:
        handoff.abort(error)
        raise
    handoff.close()


@contextmanager
def _large_page_cache() -> Iterator[None]:
    """SQLite keeps 2 MB of pages by default; the indexes of a million new documents and their lines
    want more, or every insert rereads index pages from the file. 256 MB for the import, then back."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = {-SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


class _PhaseClock:
    """Logs (at INFO) how long each phase took, and how much of it was this process's CPU time (the
    rest is mostly the database working): where the time of a large import goes."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.last_cpu = time.process_time()

    def lap(self, phase: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        logger.info(
            "open items import: %s in %.2f s (Python %.2f s)", phase, now - self.last, cpu - self.last_cpu
        )
        self.last, self.last_cpu = now, cpu


class _Progress:
    """Reports `total` items over the phases of the import, in whole steps."""

    def __init__(self, callback: Callable[[int], None] | None, total: int) -> None:
        self.callback, self.total, self.done = callback, total, 0

    def to(self, fraction: float) -> None:
        target = min(self.total, round(self.total * fraction))
        if self.callback is not None and target > self.done:
            self.callback(target - self.done)
        self.done = max(self.done, target)


def _series_ids(entity: LegalEntity, todo: Sequence[OpenItemIn]) -> dict[tuple[str, int], int]:
    """The migration number series of each (document type, year) of the items."""
    signs_and_days = set(zip(map((0).__gt__, map(_AMOUNT, todo)), map(_ISSUE_DATE, todo), strict=True))
    kinds = {(is_credit, day.year) for is_credit, day in signs_and_days}
    series: dict[tuple[str, int], int] = {}
    for is_credit, year in sorted(kinds):
        doc_type = DocumentType.CREDIT_MEMO if is_credit else DocumentType.INVOICE
        series[(doc_type, year)] = numbering.series_for(
            entity=entity, document_type=doc_type, year=year, is_migration=True
        ).pk
    return series


_DOCUMENT_COLUMNS = (
    "id",
    "customer_id",
    "document_type",
    "number",
    "series_id",
    "currency",
    "net_minor",
    "total_minor",
    "open_minor",
    "settlement",
    "issue_date",
    "due_date",
    "po_number",
    "payment_terms",
    "discount_date",
    "discount_percent",
    "last_allocation_date",
)


def _documents(db: BaseDatabaseWrapper, entity: LegalEntity, actor_id: int | None, now: datetime) -> _Table:
    constants = {
        "entity_id": entity.pk,
        "status": Document.Status.ISSUED.value,
        "tax_minor": 0,
        "is_migrated": True,
        "created_at": now,
        "issued_at": now,
        "created_by_id": actor_id,
    }
    return _Table(db, Document, _DOCUMENT_COLUMNS, constants)


def _document_rows(
    todo: Sequence[OpenItemIn],
    ids: Sequence[int],
    customers: dict[str, int],
    series: dict[tuple[str, int], int],
    start: int,
    stop: int,
    *,
    as_text: bool,
    discounts: dict[str, PaymentTerms] | None = None,
) -> Iterator[tuple[int | str | None, ...] | str]:
    """The values of `_DOCUMENT_COLUMNS` for items `start` to `stop`; `as_text`: as COPY text where no
    value needs escaping (one f-string, cheaper than a tuple joined later)."""
    iso: dict[date, str] = {}
    states: dict[tuple[bool, bool, bool], str] = {}
    by_type = {False: DocumentType.INVOICE.value, True: DocumentType.CREDIT_MEMO.value}
    for position in range(start, stop):
        number, customer, issue, due, currency, total, open_minor, po_number, paid = todo[position][1:10]
        # the paid part is settled on the paid date, else the issue date (`_allocation_rows`)
        settled = None if open_minor == total else (paid or issue)
        doc_type = by_type[total < 0]
        terms = discounts.get(customer) if discounts and total > 0 else None
        key = (total < 0, open_minor == total, open_minor == 0)
        settlement = states.get(key)
        if settlement is None:
            settlement = states[key] = calculations.settlement_state(
                total_minor=total, open_minor=open_minor, kinds={"migration"}
            )
        issue_text = iso.get(issue)
        if issue_text is None:
            issue_text = iso[issue] = issue.isoformat()
        due_text = iso.get(due)
        if due_text is None:
            due_text = iso[due] = due.isoformat()
        settled_text = None
        if settled is not None:
            settled_text = iso.get(settled)
            if settled_text is None:
                settled_text = iso[settled] = settled.isoformat()
        if as_text:
            line = (
                f"{ids[position]}\t{customers[customer]}\t{doc_type}\t{number}"
                f"\t{series[(doc_type, issue.year)]}\t{currency}\t{total}\t{total}\t{open_minor}"
                f"\t{settlement}\t{issue_text}\t{due_text}\t{po_number}"
            )
            if line.count("\t") == 12 and "\\" not in line and "\n" not in line and "\r" not in line:
                line += _discount_text(terms, issue) if terms is not None else "\t\t\\N\t0"
                yield f"{line}\t{settled_text}" if settled_text is not None else line + "\t\\N"
                continue
        discount_date = None if terms is None else terms.discount_date(issue)
        yield (
            ids[position],
            customers[customer],
            doc_type,
            number,
            series[(doc_type, issue.year)],  # the enum's keys equal their values
            currency,
            total,
            total,
            open_minor,
            settlement,
            issue_text,
            due_text,
            po_number,
            "" if terms is None else terms.code,
            None if discount_date is None else discount_date.isoformat(),
            0 if terms is None else str(terms.discount_percent),
            settled_text,
        )


def _discount_text(terms: PaymentTerms, issue: date) -> str:
    """The terms columns as COPY text; `terms` grants a discount, so it has a discount date."""
    discount_date = terms.discount_date(issue)
    assert discount_date is not None
    return f"\t{terms.code}\t{discount_date.isoformat()}\t{terms.discount_percent}"


def _discount_terms(entity: LegalEntity, wanted: set[str]) -> dict[str, PaymentTerms]:
    """Customers of the file whose payment terms grant an early-payment discount (2/10NET30): their
    migrated invoices keep it, so cash application can tell a discount taken from a short pay."""
    found: dict[str, PaymentTerms] = {}
    for number, code in Customer.objects.filter(entity=entity, payment_terms__contains="/").values_list(
        "number", "payment_terms"
    ):
        if number not in wanted:
            continue
        try:
            terms = parse_terms(code)
        except UnableToParsePaymentTerms:
            continue
        if terms.discount_percent:
            found[number] = terms
    return found


def _allocations(
    db: BaseDatabaseWrapper, entity: LegalEntity, actor_id: int | None, now: datetime, source: str
) -> _Table:
    constants = {
        "entity_id": entity.pk,
        "kind": Allocation.Kind.MIGRATION.value,
        "reason": f"paid before migration ({source})"[:300],
        "created_at": now,
        "created_by_id": actor_id,
    }
    return _Table(db, Allocation, ("document_id", "currency", "amount_minor", "posting_date"), constants)


def _allocation_rows(
    todo: Sequence[OpenItemIn], ids: Sequence[int], *, as_text: bool
) -> Iterator[tuple[int | str, ...] | str]:
    """The paid part of each item paid before the migration, on its paid date (else its issue date)."""
    iso: dict[date, str] = {}
    for item, document_id in zip(todo, ids, strict=True):
        if item.amount_minor != item.open_minor:
            posting = item.paid_date or item.issue_date
            posting_text = iso.get(posting)
            if posting_text is None:
                posting_text = iso[posting] = posting.isoformat()
            paid = abs(item.amount_minor - item.open_minor)
            if as_text and item.currency.isalpha():  # COPY text: nothing to escape
                yield f"{document_id}\t{item.currency}\t{paid}\t{posting_text}"
            else:
                yield (document_id, item.currency, paid, posting_text)


def _ledger_entries(
    todo: Sequence[OpenItemIn],
    ids: Sequence[int],
    customers: dict[str, int],
    receivable_id: int,
    clearing_id: int,
) -> list[EntryIn]:
    """Opening entries (per issue date and currency) and settlement entries (per paid date and
    currency). Python only: this runs while the documents are written."""
    # the receivable lines, grouped by posting date and currency, each group with its net amount: the
    # opening debits each item's total, the settlement credits its paid part (signed amounts)
    opening: dict[tuple[date, str], list[PostingLine]] = defaultdict(list)
    settlement: dict[tuple[date, str], list[PostingLine]] = defaultdict(list)
    net: dict[tuple[str, date, str], int] = defaultdict(int)
    new_line = tuple.__new__  # `PostingLine(...)` runs a Python `__new__` per line; 1.8M lines here
    one = Decimal(1)
    for item, document_id in zip(todo, ids, strict=True):
        _, _, customer, issue, _, currency, total, open_minor, _, paid = item
        customer_id = customers[customer]
        key = (issue, currency)
        opening[key].append(
            new_line(
                PostingLine,
                (
                    receivable_id,
                    currency,
                    total if total > 0 else 0,
                    -total if total < 0 else 0,
                    customer_id,
                    document_id,
                    "",
                    0,
                    0,
                    one,
                ),
            )
        )
        net["opening", issue, currency] += total
        if total != open_minor:
            paid_part = open_minor - total
            key = (paid or issue, currency)
            settlement[key].append(
                new_line(
                    PostingLine,
                    (
                        receivable_id,
                        currency,
                        paid_part if paid_part > 0 else 0,
                        -paid_part if paid_part < 0 else 0,
                        customer_id,
                        document_id,
                        "",
                        0,
                        0,
                        one,
                    ),
                )
            )
            net["settlement", *key] += paid_part
    groups = [("opening", key, lines) for key, lines in sorted(opening.items())]
    groups += [("settlement", key, lines) for key, lines in sorted(settlement.items())]
    del opening, settlement
    entries: list[EntryIn] = []
    for kind, (posting_date, currency), lines in groups:
        balance = net[kind, posting_date, currency]
        first_id, count = lines[0].document_id, len(lines)
        if balance:
            lines.append(
                PostingLine(
                    account_id=clearing_id,
                    currency=currency,
                    debit_minor=-balance if balance < 0 else 0,
                    credit_minor=balance if balance > 0 else 0,
                    memo=f"migration {kind}",
                )
            )
        entries.append(
            EntryIn(
                posting_date=posting_date,
                description=f"Migrated open items: {kind} {posting_date} {currency} ({count})",
                source_type="migration",
                source_id=first_id,
                idempotency_key=f"migration-{kind}:{posting_date.isoformat()}:{currency}:{first_id}",
                lines=lines,
            )
        )
    return entries


OPEN_ITEMS_LOADED = "receivables.open_items_loaded"


@transaction.atomic
def open_items_import(
    *,
    entity: LegalEntity,
    items: Sequence[OpenItemIn],
    actor: User | None,
    now: datetime,
    source: str,
    progress: Callable[[int], None] | None = None,
) -> OpenItemsResult:
    clock = _PhaseClock()
    todo, unchanged, customers = _validate(entity, items)
    clock.lap("validated")
    if progress is not None and unchanged:
        progress(unchanged)
    if not todo:
        return OpenItemsResult(created=0, unchanged=unchanged, journal_entries=0)
    steps = _Progress(progress, len(todo))
    # the (posting date, currency) pairs of the entries to come: issue dates, and paid dates
    needs = set(zip(map(_ISSUE_DATE, todo), map(_CURRENCY, todo), strict=True))
    paid = set(zip(map(_PAID_DATE, todo), map(_CURRENCY, todo), strict=True))
    needs |= {(day, currency) for day, currency in paid if day is not None}
    days = {day for day, _ in needs}
    ledger_services.periods_open(
        entity=entity,
        first=min(days),
        last=max(days),
        now=now,
        reason=f"migration import {source}",
        actor=actor,
    )
    # history goes where it happened: into a closed period it would post a month late, which the
    # migrated documents (without a posting date of their own) would not show
    moved = sorted(
        day
        for day, on in ledger_selectors.posting_dates_for(entity_id=entity.pk, days=days).items()
        if on != day
    )
    if moved:
        raise InputError(
            f"the period of {moved[0].isoformat()} is closed: reopen it to bring items dated or paid in it "
            f"({len(moved)} dates in closed periods)"
        )
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: `connection` resolves per thread
    bulk = triggers.BulkLoad(db, [Document, Allocation]) if len(todo) >= BULK_LOAD else None
    receivable_id = ledger_selectors.account_id_for(entity=entity, type=AccountType.RECEIVABLE)
    clearing_id = ledger_selectors.account_id_for(entity=entity, type=AccountType.CLEARING)
    series = _series_ids(entity, todo)
    discounts = _discount_terms(entity, {item.customer_number for item in todo})
    # what the ledger's checks need is read now: the connection is busy while they run
    posting = ledger_services.BulkPosting(entity=entity, needs=needs)
    with _large_page_cache(), bulk or nullcontext():
        ids = _reserve_ids(Document, len(todo), locked=bulk is not None)
        clock.lap("periods opened, ids reserved")

        postgresql = db.vendor == "postgresql"
        documents = _documents(db, entity, actor_id, now)
        allocations = _allocations(db, entity, actor_id, now, source)
        document_text, allocation_text = Handoff[str](), Handoff[str]()

        def written(rows: int) -> None:
            steps.to(steps.done / steps.total + 0.4 * rows / len(todo))

        def write_items() -> None:
            """The documents and allocations, then their indexes and foreign-key checks."""
            with bulk.writing(Document) if bulk else nullcontext():
                if postgresql:
                    documents.copy(document_text, written)
                else:
                    for start in range(0, len(todo), CHUNK):
                        stop = min(start + CHUNK, len(todo))
                        documents.insert(
                            _document_rows(
                                todo, ids, customers, series, start, stop, as_text=False, discounts=discounts
                            )
                        )
                        written(stop - start)
            with bulk.writing(Allocation) if bulk else nullcontext():
                if postgresql:
                    allocations.copy(allocation_text)
                else:
                    allocations.insert(_allocation_rows(todo, ids, as_text=False))
            if bulk:
                bulk.finish()
            steps.to(0.5)

        # the database writes the items while Python builds and checks the journal entries (the
        # documents' ids are reserved). On PostgreSQL this thread builds the items' COPY text first: in
        # the writing thread it would wait for Python's lock while the entries are built, and the
        # database for it.
        with running_alongside(db, write_items):
            if postgresql:
                _hand_off(
                    documents.copy_text(
                        _document_rows(
                            todo, ids, customers, series, 0, len(todo), as_text=True, discounts=discounts
                        )
                    ),
                    document_text,
                )
                _hand_off(allocations.copy_text(_allocation_rows(todo, ids, as_text=True)), allocation_text)
                clock.lap("items' COPY text built (the items being written meanwhile)")
            entries = _ledger_entries(todo, ids, customers, receivable_id, clearing_id)
            clock.lap("journal entries built (the items being written meanwhile)")
            posting.prepare(entries)
            del entries
            clock.lap("journal entries checked (the items being written meanwhile)")
        clock.lap("documents and allocations written, indexes built, foreign keys checked")
        steps.to(0.6)
        entries_posted = len(posting.write(now=now, created_by_id=actor_id))
        clock.lap("ledger posted")
    steps.to(1)
    # only numbers shaped like a native series can move its counter
    native = tuple(numbering.PREFIXES.values())
    numbering.advance_past_imported(
        entity=entity, numbers=[item.number for item in todo if item.number.startswith(native)]
    )
    audit_services.record(
        actor=actor,
        action="receivables.open_items.imported",
        object_type="legal_entity",
        object_id=entity.pk,
        object_label=entity.code,
        entity_id=entity.pk,
        changes={"documents": (None, len(todo)), "journal_entries": (None, entries_posted)},
        reason=f"migration import {source}",
        now=now,
    )
    # cash application indexes the new numbers after commit (in this process, not the next bank file's)
    events.publish_on_commit(OPEN_ITEMS_LOADED, entity_id=entity.pk)
    return OpenItemsResult(created=len(todo), unchanged=unchanged, journal_entries=entries_posted)
