"""`o2c import`: turn contract CSV rows into the services' input, then call one service per entity."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from itertools import compress, repeat
from operator import ge, le, mul
from pathlib import Path

from django.contrib.auth.models import User
from django.db import transaction

from o2c.core.exceptions import DomainError, InputError
from o2c.core.memory import cycle_collection_paused
from o2c.core.money import UnableToHandleMoney, currency_decimals, ensure_currency, parse_amount, to_minor
from o2c.customers import services as customer_services
from o2c.customers.services import CustomerIn
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import LegalEntity
from o2c.ledger.services import FxRateIn
from o2c.receivables import migration
from o2c.receivables.migration import OpenItemIn
from o2c.workspace.csvfiles import MAX_FIELD, Block, Row, read_blocks, read_rows, records

CUSTOMER_COLUMNS = (
    "customer_number",
    "name",
    "country",
    "currency",
    "language",
    "payment_terms",
    "email",
    "vat_id",
    "parent_number",
    "credit_limit",
)
CUSTOMER_REQUIRED = ("customer_number", "name", "country", "currency")
INVOICE_REQUIRED = (
    "invoice_number",
    "customer_number",
    "issue_date",
    "due_date",
    "currency",
    "amount",
    "open_amount",
)
FX_REQUIRED = ("date", "from_currency", "to_currency", "rate")


def resolve_entity(code: str | None) -> LegalEntity:
    if code:
        entity = LegalEntity.objects.filter(code=code).first()
        if entity is None:
            raise InputError(f"unknown legal entity '{code}'", code="unknown_entity")
        return entity
    entity = ledger_selectors.entity_default()
    if entity is None:
        raise InputError("there is no legal entity; run `o2c migrate` first", code="unknown_entity")
    return entity


class _EntityResolver:
    """Per-row `entity` column with the command's --entity as default."""

    def __init__(self, default_code: str | None) -> None:
        self.default = resolve_entity(default_code)
        self.by_code: dict[str, LegalEntity] = {self.default.code: self.default}

    def __call__(self, row: Row) -> LegalEntity:
        code = row.text("entity")
        if not code:
            return self.default
        if code not in self.by_code:
            entity = LegalEntity.objects.filter(code=code).first()
            if entity is None:
                raise row.error("entity", f"unknown legal entity '{code}'", code="unknown_entity")
            self.by_code[code] = entity
        return self.by_code[code]


def _currency(row: Row, column: str = "currency") -> str:
    value = row.required(column).upper()
    try:
        return ensure_currency(value)
    except UnableToHandleMoney:
        raise row.error(column, f"'{value}' is not an ISO 4217 currency", code="bad_currency") from None


def _money_minor(row: Row, column: str, currency: str) -> int:
    value = row.required(column)
    try:
        return to_minor(parse_amount(value, currency), currency)
    except UnableToHandleMoney as error:
        raise row.error(column, error.message, code=error.code) from None


@dataclass(frozen=True)
class CustomersImported:
    created: int
    updated: int
    unchanged: int


def import_customers(
    path: Path, *, entity_code: str | None, actor: User | None, now: datetime
) -> CustomersImported:
    resolve = _EntityResolver(entity_code)
    per_entity: dict[int, tuple[LegalEntity, list[CustomerIn]]] = {}
    rows_by_number: dict[tuple[int, str], int] = {}
    kept: frozenset[str] = frozenset()
    for row in read_rows(path, required=CUSTOMER_REQUIRED):
        kept = frozenset(column for column in CUSTOMER_EXTRA_COLUMNS if column not in row.values)
        entity = resolve(row)
        number = row.required("customer_number")
        if (entity.pk, number) in rows_by_number:
            raise row.error(
                "customer_number",
                f"customer {number} appears twice (also row {rows_by_number[(entity.pk, number)]})",
                code="duplicate_number",
            )
        rows_by_number[(entity.pk, number)] = row.number
        limit = row.decimal("credit_limit", optional=True)
        data = CustomerIn(
            number=number,
            name=row.required("name"),
            country=row.required("country"),
            currency=row.required("currency"),
            language=row.text("language") or "en",
            payment_terms=row.text("payment_terms") or "NET30",
            email=row.text("email"),
            vat_id=row.text("vat_id"),
            parent_number=row.text("parent_number"),
            credit_limit=limit,
            crm_id=row.text("crm_id"),
            erp_id=row.text("erp_id"),
            address=row.text("address"),
            region=row.text("region"),
            customer_type=row.text("customer_type"),
        )
        try:
            data = customer_services.normalized(data)
        except DomainError as error:
            raise row.error(_column_of(error.code), error.message, code=error.code) from None
        per_entity.setdefault(entity.pk, (entity, []))[1].append(data)
    if not per_entity:
        raise InputError("the file has a header but no customers", file=str(path), code="empty_file")
    created = updated = unchanged = 0
    with transaction.atomic():
        for entity, rows in per_entity.values():
            try:
                result = customer_services.customers_import(
                    entity=entity, rows=rows, actor=actor, now=now, source=path.name, kept_fields=kept
                )
            except DomainError as error:
                culprit = _number_in(error.message, rows)
                row_number = rows_by_number.get((entity.pk, culprit)) if culprit else None
                raise InputError(
                    error.message, file=str(path), row=row_number, column="parent_number", code=error.code
                ) from None
            created, updated, unchanged = (
                created + result.created,
                updated + result.updated,
                unchanged + result.unchanged,
            )
    return CustomersImported(created=created, updated=updated, unchanged=unchanged)


_COLUMN_BY_CODE = {
    "bad_country": "country",
    "bad_currency": "currency",
    "bad_language": "language",
    "bad_terms": "payment_terms",
    "bad_vat_id": "vat_id",
    "bad_credit_limit": "credit_limit",
    "too_many_decimals": "credit_limit",
    "not_rounded": "credit_limit",
    "missing_name": "name",
    "missing_number": "customer_number",
    "bad_customer_type": "customer_type",
}

# master data beyond the contract's columns, read when the file has them; absent, a re-import keeps them
CUSTOMER_EXTRA_COLUMNS = ("crm_id", "erp_id", "address", "region", "customer_type")


def _column_of(code: str) -> str | None:
    return _COLUMN_BY_CODE.get(code)


def _number_in(message: str, rows: list[CustomerIn]) -> str | None:
    """The customer a service refusal speaks of (its message names the child of a bad parent)."""
    for data in rows:
        if f" of {data.number} " in message or f"customer {data.number} " in message:
            return data.number
    return None


@dataclass(frozen=True)
class InvoicesImported:
    created: int
    unchanged: int
    journal_entries: int


def _open_item(row: Row, resolve: _EntityResolver) -> tuple[LegalEntity, OpenItemIn]:
    """One invoice row, checked column by column; every refusal names its row and column."""
    entity = resolve(row)
    currency = _currency(row)
    amount = _money_minor(row, "amount", currency)
    open_amount = _money_minor(row, "open_amount", currency)
    issue_date = row.date("issue_date")
    due_date = row.date("due_date")
    paid_date = row.date("paid_date", optional=True)
    assert issue_date is not None and due_date is not None
    if amount == 0:
        raise row.error("amount", "is zero; an open item has an amount")
    if (amount > 0 and not 0 <= open_amount <= amount) or (amount < 0 and not amount <= open_amount <= 0):
        raise row.error(
            "open_amount",
            f"{row.text('open_amount')} is not between 0 and the amount {row.text('amount')}",
        )
    if due_date < issue_date:
        raise row.error(
            "due_date", f"{due_date.isoformat()} is before the issue date {issue_date.isoformat()}"
        )
    if paid_date is not None and paid_date < issue_date:
        raise row.error(
            "paid_date", f"{paid_date.isoformat()} is before the issue date {issue_date.isoformat()}"
        )
    return entity, OpenItemIn(
        row=row.number,
        number=row.required("invoice_number"),
        customer_number=row.required("customer_number"),
        issue_date=issue_date,
        due_date=due_date,
        currency=currency,
        amount_minor=amount,
        open_minor=open_amount,
        po_number=row.text("po_number"),
        paid_date=paid_date,
    )


_PLAIN_AMOUNT = re.compile(r"(-?)(\d{1,15})(?:\.(\d+))?")


READ_BLOCK = 50_000  # rows checked a column at a time (`_PlainBlocks`)


def read_open_items(
    path: Path, *, entity_code: str | None
) -> dict[int, tuple[LegalEntity, list[OpenItemIn]]]:
    """Open items per entity. A million rows are common here, so a block of rows of the plain shape (no
    entity column, known currencies of one precision, `-123.45` amounts, ISO dates) is checked a
    column at a time (`_plain_block`); a row of any other block is read by position, inline, when it
    has the plain shape, and anything else, and every refusal, goes through `_open_item`, which
    names the row and column."""
    resolve = _EntityResolver(entity_code)
    per_entity: dict[int, tuple[LegalEntity, list[OpenItemIn]]] = {}
    header, blocks = read_blocks(path, required=INVOICE_REQUIRED, size=READ_BLOCK)
    name = str(path)
    width = len(header)
    at = {
        column: header.index(column)
        for column in (*INVOICE_REQUIRED, "po_number", "paid_date", "entity")
        if column in header
    }
    i_number, i_customer, i_issue, i_due, i_currency, i_amount, i_open = (at[c] for c in INVOICE_REQUIRED)
    i_po, i_paid, i_entity = at.get("po_number"), at.get("paid_date"), at.get("entity")
    default_items = per_entity.setdefault(resolve.default.pk, (resolve.default, []))[1]
    append = default_items.append
    decimals: dict[str, int] = {}  # currency cell -> minor digits, once the slow path accepted it
    dates: dict[str, date] = {}
    shared: dict[str, str] = {}  # one string per customer number
    plain = _PlainBlocks(at, width, decimals, dates, shared)
    for block in blocks:
        items = plain.items(block)
        if items is not None:
            default_items.extend(items)
            continue
        for number, cells in records(block, file=name, width=width):
            if len(cells) >= width and (i_entity is None or not cells[i_entity]):
                currency = cells[i_currency]
                digits = decimals.get(currency)
                if digits is not None:
                    amount = _plain_minor(cells[i_amount], digits)
                    open_amount = _plain_minor(cells[i_open], digits)
                    issue_date = dates.get(cells[i_issue]) or _date(dates, cells[i_issue])
                    due_date = dates.get(cells[i_due]) or _date(dates, cells[i_due])
                    paid_text = cells[i_paid] if i_paid is not None else ""
                    paid_date = (dates.get(paid_text) or _date(dates, paid_text)) if paid_text else None
                    invoice_number = cells[i_number].strip()
                    customer = cells[i_customer].strip()
                    if (
                        amount  # neither None nor zero
                        and open_amount is not None
                        and (0 <= open_amount <= amount if amount > 0 else amount <= open_amount <= 0)
                        and issue_date is not None
                        and due_date is not None
                        and due_date >= issue_date
                        and (not paid_text or (paid_date is not None and paid_date >= issue_date))
                        and invoice_number
                        and customer
                    ):
                        append(
                            OpenItemIn(
                                number,
                                invoice_number,
                                shared.setdefault(customer, customer),
                                issue_date,
                                due_date,
                                currency,
                                amount,
                                open_amount,
                                cells[i_po].strip() if i_po is not None else "",
                                paid_date,
                            )
                        )
                        continue
            # an unusual spelling, or a refusal with its reason
            row = Row(file=name, number=number, values=dict(zip(header, cells, strict=False)))
            entity, item = _open_item(row, resolve)
            per_entity.setdefault(entity.pk, (entity, []))[1].append(item)
            if entity is resolve.default and item.currency == row.values.get("currency"):
                decimals.setdefault(item.currency, currency_decimals(item.currency))
    if not default_items:
        del per_entity[resolve.default.pk]
    if not per_entity:
        raise InputError("the file has a header but no invoices", file=str(path), code="empty_file")
    return per_entity


class _PlainBlocks:
    """Open items from a block whose every row has the plain shape, checked a column at a time by the
    interpreter's C loops (`map`, `all`, one regular expression over a column): a fifth of the cost of
    a row at a time. The checks are those of the inline path of `read_open_items`; a block that fails
    any of them gives None and is read a row at a time, which finds and names the first bad row."""

    def __init__(
        self,
        at: dict[str, int],
        width: int,
        decimals: dict[str, int],
        dates: dict[str, date],
        shared: dict[str, str],
    ) -> None:
        self.at, self.width = at, width
        checked = {at[column] for column in ("currency", "amount", "open_amount", "issue_date", "due_date")}
        checked |= {at[column] for column in ("paid_date", "entity") if column in at}
        self.free_text = [position for position in range(width) if position not in checked]
        self.decimals, self.dates, self.shared = decimals, dates, shared  # shared with the slow path

    def items(self, block: Block) -> list[OpenItemIn] | None:
        rows, at = block.rows, self.at
        if set(map(len, rows)) != {self.width}:  # a blank, short or long row
            return None
        columns = list(zip(*rows, strict=True))
        if max(max(map(len, columns[position])) for position in self.free_text) > MAX_FIELD:
            return None  # the other columns are held to shapes far shorter
        if "entity" in at and any(columns[at["entity"]]):
            return None
        currencies = set(columns[at["currency"]])
        if not currencies <= self.decimals.keys():  # a currency the slow path has not accepted yet
            return None
        digits = {self.decimals[currency] for currency in currencies}
        if len(digits) != 1 or not (places := digits.pop()):
            return None
        amounts = self._minor(columns[at["amount"]], places)
        opens = self._minor(columns[at["open_amount"]], places)
        issue = self._dates(columns[at["issue_date"]])
        due = self._dates(columns[at["due_date"]])
        paid: list[date | None] | None = [None] * len(rows)
        if "paid_date" in at:
            paid = self._optional_dates(columns[at["paid_date"]])
        if amounts is None or opens is None or issue is None or due is None or paid is None:
            return None
        numbers = list(map(str.strip, columns[at["invoice_number"]]))
        customers = list(map(str.strip, columns[at["customer_number"]]))
        if not (
            all(amounts)  # an open item has an amount
            and all(map(ge, map(mul, amounts, opens), repeat(0)))  # the open amount has its sign ...
            and all(map(le, map(abs, opens), map(abs, amounts)))  # ... and is not more
            and all(map(le, issue, due))
            and all(map(le, compress(issue, paid), filter(None, paid)))
            and all(numbers)
            and all(customers)
        ):
            return None
        canonical = {currency: currency for currency in currencies}
        return list(
            map(
                tuple.__new__,  # as `OpenItemIn._make` does, without a Python call per row
                repeat(OpenItemIn),
                zip(
                    range(block.first, block.first + len(rows)),
                    numbers,
                    map(self.shared.setdefault, customers, customers),
                    issue,
                    due,
                    map(canonical.__getitem__, columns[at["currency"]]),
                    amounts,
                    opens,
                    map(str.strip, columns[at["po_number"]]) if "po_number" in at else repeat(""),
                    paid,
                    strict=False,  # `repeat` has no end
                ),
            )
        )

    @staticmethod
    def _minor(column: tuple[str, ...], places: int) -> list[int] | None:
        """`-123.45` amounts in minor units, or None if any has another shape."""
        text = "\n".join(column)
        if not _plain_amounts(places).fullmatch(text):
            return None
        amounts = list(map(int, text.replace(".", "").split("\n")))
        return amounts if len(amounts) == len(column) else None  # a value held a line break

    def _dates(self, column: tuple[str, ...]) -> list[date] | None:
        """ISO dates, or None if any is not one."""
        if not self._parsed(column):
            return None
        return list(map(self.dates.__getitem__, column))

    def _optional_dates(self, column: tuple[str, ...]) -> list[date | None] | None:
        """ISO dates or empty cells (None), or None if any is neither."""
        if not self._parsed(column, optional=True):
            return None
        return list(map(self.dates.get, column))  # "" is never a key

    def _parsed(self, column: tuple[str, ...], *, optional: bool = False) -> bool:
        """Whether every distinct text of the column is a date (remembered in `dates`)."""
        for text in set(column).difference(self.dates):
            if not (optional and text == "") and _date(self.dates, text) is None:
                return False
        return True


@cache
def _plain_amounts(places: int) -> re.Pattern[str]:
    """Amounts with up to 15 integer digits and exactly `places` decimals, one per line."""
    return re.compile(rf"-?[0-9]{{1,15}}\.[0-9]{{{places}}}(?:\n-?[0-9]{{1,15}}\.[0-9]{{{places}}})*")


def _date(seen: dict[str, date], text: str) -> date | None:
    """`date.fromisoformat`, remembered (a file has a few hundred distinct dates in a million rows);
    None for text of another shape."""
    try:
        value = seen[text] = date.fromisoformat(text)
    except ValueError:
        return None
    return value


def _plain_minor(text: str, digits: int) -> int | None:
    """`-123.45` in minor units, or None when the text has another shape or too many decimals."""
    if digits and len(text) > digits + 1 and text[-digits - 1] == ".":  # the common shape, no regex
        plain = text[: -digits - 1] + text[-digits:]
        unsigned = plain[1:] if plain[0] == "-" else plain
        if (
            unsigned.isdigit()
            and unsigned.isascii()
            and len(unsigned) - digits <= 15
            and len(unsigned) > digits
        ):
            return int(plain)
    found = _PLAIN_AMOUNT.fullmatch(text)
    if found is None:
        return None
    sign, whole, fraction = found.groups()
    if fraction is None:
        fraction = ""
    elif len(fraction) > digits:
        if fraction[digits:].strip("0"):
            return None
        fraction = fraction[:digits]
    minor = int(whole) * 10**digits + (int(fraction.ljust(digits, "0")) if digits else 0)
    return -minor if sign else minor


def import_invoices(
    path: Path,
    *,
    entity_code: str | None,
    actor: User | None,
    now: datetime,
    progress_factory: Callable[[int], Callable[[int], None]] | None = None,
) -> InvoicesImported:
    with cycle_collection_paused():
        return _import_invoices(
            path, entity_code=entity_code, actor=actor, now=now, progress_factory=progress_factory
        )


def _import_invoices(
    path: Path,
    *,
    entity_code: str | None,
    actor: User | None,
    now: datetime,
    progress_factory: Callable[[int], Callable[[int], None]] | None,
) -> InvoicesImported:
    per_entity = read_open_items(path, entity_code=entity_code)
    total = sum(len(items) for _, items in per_entity.values())
    progress = progress_factory(total) if progress_factory else None
    created = unchanged = entries = 0
    with transaction.atomic():
        for entity, items in per_entity.values():
            try:
                result = migration.open_items_import(
                    entity=entity, items=items, actor=actor, now=now, source=path.name, progress=progress
                )
            except InputError as error:
                raise InputError(error.message, file=str(path), code=error.code) from None
            except DomainError as error:
                raise InputError(error.message, file=str(path), code=error.code) from None
            created += result.created
            unchanged += result.unchanged
            entries += result.journal_entries
    return InvoicesImported(created=created, unchanged=unchanged, journal_entries=entries)


def import_fx_rates(path: Path, *, now: datetime) -> tuple[int, int]:
    rates: list[FxRateIn] = []
    seen: dict[tuple[str, str, str], int] = {}
    for row in read_rows(path, required=FX_REQUIRED):
        from_currency = _currency(row, "from_currency")
        to_currency = _currency(row, "to_currency")
        if from_currency == to_currency:
            raise row.error("to_currency", "is the same as from_currency")
        rate_date = row.date("date")
        rate = row.decimal("rate")
        assert rate_date is not None and rate is not None
        if rate.as_tuple().exponent < -10:  # type: ignore[operator]
            raise row.error("rate", f"{row.text('rate')} has more than 10 decimals")
        if rate <= 0:
            raise row.error("rate", f"{row.text('rate')} is not a positive rate")
        key = (rate_date.isoformat(), from_currency, to_currency)
        if key in seen:
            raise row.error(
                "date", f"{from_currency}/{to_currency} on {key[0]} appears twice (also row {seen[key]})"
            )
        seen[key] = row.number
        rates.append(
            FxRateIn(rate_date=rate_date, from_currency=from_currency, to_currency=to_currency, rate=rate)
        )
    if not rates:
        raise InputError("the file has a header but no rates", file=str(path), code="empty_file")
    return ledger_services.fx_rates_import(rates=rates, source=path.name, now=now)
