"""The ledger's one write path: posting, reversing, FX rates, entities and their periods."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction

from o2c.audit import services as audit_services
from o2c.core.db import copy_from_stdin, copy_value
from o2c.core.money import ensure_currency
from o2c.ledger import rules, selectors, triggers
from o2c.ledger.chart import STANDARD_CHART
from o2c.ledger.errors import UnableToPostJournalEntry, UnableToReverseJournalEntry, UnableToSetUpEntity
from o2c.ledger.models import (
    Account,
    EntityGrant,
    FiscalPeriod,
    FxRate,
    JournalEntry,
    JournalLine,
    LegalEntity,
)
from o2c.ledger.rules import LineIn

_BULK_LINES = 100_000  # from this many lines on, `journal_entries_post_bulk` writes them as a bulk load


@dataclass(frozen=True)
class EntryIn:
    """A journal entry to post, for the set-based path."""

    posting_date: date
    description: str
    source_type: str
    source_id: int | None
    idempotency_key: str
    lines: Sequence[LineIn] = field(default_factory=list)


def _line_row(entry: JournalEntry, line: LineIn) -> JournalLine:
    return JournalLine(
        entry=entry,
        account_id=line.account_id,
        currency=line.currency,
        debit_minor=line.debit_minor,
        credit_minor=line.credit_minor,
        functional_debit_minor=line.functional_debit_minor,
        functional_credit_minor=line.functional_credit_minor,
        fx_rate=line.fx_rate,
        customer_id=line.customer_id,
        document_id=line.document_id,
        memo=line.memo[:200],
    )


def _prepare(
    entity: LegalEntity,
    entry: EntryIn,
    fx_ids: frozenset[int],
    fx_account_id: int | None,
    *,
    periods: dict[date, bool] | None = None,
    rates: dict[tuple[str, date], Decimal] | None = None,
    convert: bool = True,
) -> list[LineIn]:
    """Validate the entry and give its lines their functional amounts.

    `periods` and `rates` are caches the set-based path shares between entries (posting date -> period
    open; (currency, date) -> rate). With `convert=False` (entries in the functional currency, where
    the rate is 1 and the functional amounts are the transaction amounts) only the checks run and the
    lines come back as they are; the caller writes the functional amounts.
    """
    rules.validate_lines(entry.lines, fx_account_ids=fx_ids)
    is_open = periods.get(entry.posting_date) if periods is not None else None
    if is_open is None:
        period = selectors.period_for(entity=entity, on=entry.posting_date)
        is_open = period is not None and period.status == FiscalPeriod.Status.OPEN
        if periods is not None:
            periods[entry.posting_date] = is_open
    if not is_open:
        raise UnableToPostJournalEntry(
            f"no open fiscal period for {entry.posting_date.isoformat()} in entity {entity.code}",
            code="period_closed",
        )
    if not convert:
        return list(entry.lines)
    currency = entry.lines[0].currency
    rate = rates.get((currency, entry.posting_date)) if rates is not None else None
    if rate is None:
        rate = selectors.fx_rate_on(
            from_currency=currency, to_currency=entity.currency, on=entry.posting_date
        )
        if rates is not None:
            rates[(currency, entry.posting_date)] = rate
    return rules.with_functional_amounts(
        entry.lines, functional_currency=entity.currency, rate=rate, fx_account_id=fx_account_id
    )


@transaction.atomic
def journal_entry_post(
    *,
    entity: LegalEntity,
    lines: Sequence[LineIn],
    posting_date: date,
    description: str,
    source_type: str,
    source_id: int | None,
    idempotency_key: str,
    now: datetime,
    created_by_id: int | None = None,
    reverses: JournalEntry | None = None,
) -> JournalEntry:
    """Post one balanced entry. Posting the same idempotency key again returns the first entry."""
    existing = JournalEntry.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    entry_in = EntryIn(posting_date, description, source_type, source_id, idempotency_key, lines)
    fx_ids = selectors.fx_account_ids(entity=entity)
    prepared = _prepare(entity, entry_in, fx_ids, min(fx_ids) if fx_ids else None)
    entry = JournalEntry.objects.create(
        entity=entity,
        posting_date=posting_date,
        description=description[:200],
        source_type=source_type,
        source_id=source_id,
        idempotency_key=idempotency_key,
        created_at=now,
        created_by_id=created_by_id,
        reverses=reverses,
    )
    JournalLine.objects.bulk_create([_line_row(entry, line) for line in prepared])
    JournalEntry.objects.filter(pk=entry.pk).update(status=JournalEntry.Status.POSTED)
    entry.status = JournalEntry.Status.POSTED
    return entry


def journal_entries_post_bulk(
    *, entity: LegalEntity, entries: Sequence[EntryIn], now: datetime, created_by_id: int | None = None
) -> list[JournalEntry]:
    """Set-based posting for imports: the same rules and triggers, a few statements per batch.

    The caller holds the transaction. Entries whose idempotency key exists already are skipped.
    As everywhere, entries are inserted as drafts, then their lines, then they are set to posted,
    which the database's trigger allows only for a balanced entry. The lines go in as one COPY on
    PostgreSQL and one prepared INSERT over all rows on SQLite (a model instance per line would
    cost more than the database's work for it).
    """
    keys = [entry.idempotency_key for entry in entries]
    existing: set[str] = set()
    for start in range(0, len(keys), 5000):
        existing.update(
            JournalEntry.objects.filter(idempotency_key__in=keys[start : start + 5000]).values_list(
                "idempotency_key", flat=True
            )
        )
    todo = [entry for entry in entries if entry.idempotency_key not in existing]
    if not todo:
        return []
    fx_ids = selectors.fx_account_ids(entity=entity)
    fx_account_id = min(fx_ids) if fx_ids else None
    # what `selectors.period_for` and `selectors.fx_rate_on` would answer for each posting date, read in
    # a few queries; dates these cannot answer (an inverse rate, no rate at all) go to the selectors
    periods: dict[date, bool] = {}
    dates = {entry.posting_date for entry in todo}
    known = list(
        FiscalPeriod.objects.filter(entity=entity)
        .order_by("pk")
        .values_list("start_date", "end_date", "status")
    )
    for day in dates:
        found = next((status for start, end, status in known if start <= day <= end), None)
        if found is not None:
            periods[day] = found == FiscalPeriod.Status.OPEN
    rates: dict[tuple[str, date], Decimal] = {}
    foreign: dict[str, set[date]] = {}
    for entry in todo:
        if entry.lines and entry.lines[0].currency != entity.currency:
            foreign.setdefault(entry.lines[0].currency, set()).add(entry.posting_date)
    for currency, days in foreign.items():
        series = list(
            FxRate.objects.filter(from_currency=currency, to_currency=entity.currency)
            .filter(rate_date__lte=max(days))
            .order_by("rate_date")
            .values_list("rate_date", "rate")
        )
        on = [rate_date for rate_date, _ in series]
        for day in days:
            position = bisect_right(on, day)
            if position:
                rates[(currency, day)] = series[position - 1][1]
    prepared = [
        _prepare(
            entity,
            entry,
            fx_ids,
            fx_account_id,
            periods=periods,
            rates=rates,
            convert=entry.lines[0].currency != entity.currency,
        )
        for entry in todo
    ]
    rows = JournalEntry.objects.bulk_create(
        [
            JournalEntry(
                entity=entity,
                posting_date=entry.posting_date,
                description=entry.description[:200],
                source_type=entry.source_type,
                source_id=entry.source_id,
                idempotency_key=entry.idempotency_key,
                created_at=now,
                created_by_id=created_by_id,
            )
            for entry in todo
        ]
    )
    if any(row.pk is None for row in rows):  # backends without RETURNING
        by_key = dict(
            JournalEntry.objects.filter(idempotency_key__in=[e.idempotency_key for e in todo]).values_list(
                "idempotency_key", "pk"
            )
        )
        for row in rows:
            row.pk = by_key[row.idempotency_key]
    fx_rate = JournalLine._meta.get_field("fx_rate")
    rates_prepared: dict[Decimal, str] = {}

    def prepared_rate(rate: Decimal) -> str:
        """The rate as text, as the drivers' adapters would send it (both send a Decimal as str)."""
        found = rates_prepared.get(rate)
        if found is None:
            found = rates_prepared[rate] = str(fx_rate.get_db_prep_save(rate, connection))
        return found

    one = prepared_rate(Decimal(1))
    functional = entity.currency

    def line_rows() -> Iterator[tuple[int, Sequence[LineIn], str | None]]:
        """Per entry: its id, its lines, and "1" as text where its functional amounts are its amounts
        (an entry in the functional currency), else None (each line has its rate and amounts)."""
        for row, lines in zip(rows, prepared, strict=True):
            yield row.pk, lines, one if lines[0].currency == functional else None

    count = sum(len(lines) for lines in prepared)
    if count >= _BULK_LINES:  # the lines' indexes are built again before the entries are posted,
        # whose guard reads the lines by entry
        load = triggers.BulkLoad(connection, [JournalLine])
        with load, load.writing(JournalLine):
            _insert_lines(line_rows(), prepared_rate)
    else:
        _insert_lines(line_rows(), prepared_rate)
    ids = [row.pk for row in rows]
    for start in range(0, len(ids), 5000):
        JournalEntry.objects.filter(pk__in=ids[start : start + 5000]).update(
            status=JournalEntry.Status.POSTED
        )
    for row in rows:
        row.status = JournalEntry.Status.POSTED
    return rows


_LINE_COLUMNS = (
    "entry_id",
    "account_id",
    "currency",
    "debit_minor",
    "credit_minor",
    "functional_debit_minor",
    "functional_credit_minor",
    "fx_rate",
    "customer_id",
    "document_id",
    "memo",
)


def _line_values(
    entry_id: int, lines: Sequence[LineIn], one: str | None, rate_text: Callable[[Decimal], str]
) -> Iterator[tuple[Any, ...]]:
    """The values of `_LINE_COLUMNS` for each line of an entry."""
    for account, currency, debit, credit, customer, document, memo, f_debit, f_credit, rate in lines:
        yield (
            entry_id,
            account,
            currency,
            debit,
            credit,
            debit if one else f_debit,
            credit if one else f_credit,
            one or rate_text(rate),
            customer,
            document,
            memo[:200],
        )


def _insert_lines(
    entries: Iterable[tuple[int, Sequence[LineIn], str | None]], rate_text: Callable[[Decimal], str]
) -> None:
    """One COPY on PostgreSQL, one prepared INSERT over all rows on SQLite. For COPY the text is built
    here (psycopg's write_row costs ~1 µs a value): a line of an entry in the functional currency that
    names its customer and document, without a memo, by one f-string; any other line value by value."""
    raw = connection.connection
    table, names = JournalLine._meta.db_table, ", ".join(_LINE_COLUMNS)
    if connection.vendor != "postgresql":
        cursor = raw.cursor()
        try:
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(_LINE_COLUMNS))})",
                (
                    values
                    for entry_id, lines, one in entries
                    for values in _line_values(entry_id, lines, one, rate_text)
                ),
            )
        finally:
            cursor.close()
        return
    with copy_from_stdin(connection, table, _LINE_COLUMNS) as write:
        text: list[str] = []
        for entry_id, lines, one in entries:
            if not lines[0].currency.isalpha():  # a value to escape
                text.extend(
                    "\t".join(map(copy_value, values)) + "\n"
                    for values in _line_values(entry_id, lines, one, rate_text)
                )
                continue
            prefix = f"{entry_id}\t"
            for account, currency, debit, credit, customer, document, memo, f_debit, f_credit, rate in lines:
                if one is not None:
                    f_debit, f_credit, rate_value = debit, credit, one
                else:
                    rate_value = rate_text(rate)
                if customer is None or document is None or memo:
                    values = (entry_id, account, currency, debit, credit, f_debit, f_credit, rate_value)
                    text.append("\t".join(map(copy_value, (*values, customer, document, memo[:200]))) + "\n")
                else:
                    text.append(
                        f"{prefix}{account}\t{currency}\t{debit}\t{credit}\t{f_debit}\t{f_credit}"
                        f"\t{rate_value}\t{customer}\t{document}\t\n"
                    )
            if len(text) >= 20_000:
                write("".join(text))
                text.clear()
        if text:
            write("".join(text))


@transaction.atomic
def journal_entry_reverse(
    *, entry_id: int, posting_date: date, reason: str, now: datetime, actor: User | None = None
) -> JournalEntry:
    """Correct an entry by posting its mirror image; the original stays as it was."""
    original = JournalEntry.objects.select_for_update().get(pk=entry_id)
    if original.status != JournalEntry.Status.POSTED:
        raise UnableToReverseJournalEntry("only posted entries can be reversed", code="not_posted")
    if JournalEntry.objects.filter(reverses=original).exists():
        raise UnableToReverseJournalEntry(f"entry {original.pk} is already reversed", code="already_reversed")
    lines = [
        LineIn(
            account_id=line.account_id,
            currency=line.currency,
            debit_minor=line.debit_minor,
            credit_minor=line.credit_minor,
            customer_id=line.customer_id,
            document_id=line.document_id,
            memo=line.memo,
            functional_debit_minor=line.functional_debit_minor,
            functional_credit_minor=line.functional_credit_minor,
            fx_rate=line.fx_rate,
        )
        for line in original.lines.order_by("pk")
    ]
    mirrored = rules.reversed_lines(lines)
    entry = JournalEntry.objects.create(
        entity=original.entity,
        posting_date=posting_date,
        description=f"Reversal of JE{original.pk}: {reason}"[:200],
        source_type=original.source_type,
        source_id=original.source_id,
        idempotency_key=f"reversal:{original.pk}",
        created_at=now,
        created_by_id=actor.pk if actor is not None else None,
        reverses=original,
    )
    period = selectors.period_for(entity=original.entity, on=posting_date)
    if period is None or period.status != FiscalPeriod.Status.OPEN:
        raise UnableToReverseJournalEntry(
            f"no open fiscal period for {posting_date.isoformat()}", code="period_closed"
        )
    # The mirror keeps the original functional amounts, so the reversal nets to exactly zero.
    JournalLine.objects.bulk_create([_line_row(entry, line) for line in mirrored])
    JournalEntry.objects.filter(pk=entry.pk).update(status=JournalEntry.Status.POSTED)
    entry.status = JournalEntry.Status.POSTED
    audit_services.record(
        actor=actor,
        action="ledger.journal_entry.reversed",
        object_type="journal_entry",
        object_id=original.pk,
        object_label=f"JE{original.pk}",
        entity_id=original.entity_id,
        reason=reason,
        now=now,
    )
    return entry


@dataclass(frozen=True)
class FxRateIn:
    rate_date: date
    from_currency: str
    to_currency: str
    rate: Decimal


@transaction.atomic
def fx_rates_import(*, rates: Iterable[FxRateIn], source: str, now: datetime) -> tuple[int, int]:
    """Insert new rates and update changed ones; returns (created, updated).

    The same file twice changes nothing.
    """
    created = updated = 0
    for rate_in in rates:
        ensure_currency(rate_in.from_currency)
        ensure_currency(rate_in.to_currency)
        current = FxRate.objects.filter(
            rate_date=rate_in.rate_date, from_currency=rate_in.from_currency, to_currency=rate_in.to_currency
        ).first()
        if current is None:
            FxRate.objects.create(
                rate_date=rate_in.rate_date,
                from_currency=rate_in.from_currency,
                to_currency=rate_in.to_currency,
                rate=rate_in.rate,
                source=source,
            )
            created += 1
        elif current.rate != rate_in.rate:
            audit_services.record(
                actor=None,
                action="ledger.fx_rate.changed",
                object_type="fx_rate",
                object_id=current.pk,
                object_label=str(current),
                changes={"rate": (current.rate, rate_in.rate)},
                reason=f"imported from {source}",
                now=now,
            )
            current.rate = rate_in.rate
            current.source = source
            current.save(update_fields=["rate", "source"])
            updated += 1
    return created, updated


def months_between(first: date, last: date) -> list[date]:
    month = first.replace(day=1)
    months = []
    while month <= last:
        months.append(month)
        month += relativedelta(months=1)
    return months


def periods_open(
    *, entity: LegalEntity, first: date, last: date, now: datetime, reason: str, actor: User | None = None
) -> int:
    """Make sure monthly fiscal periods exist from `first` to `last`; returns how many were opened."""
    existing = set(
        FiscalPeriod.objects.filter(
            entity=entity, start_date__gte=first.replace(day=1), start_date__lte=last
        ).values_list("start_date", flat=True)
    )
    new = [
        FiscalPeriod(entity=entity, start_date=m, end_date=m + relativedelta(months=1, days=-1))
        for m in months_between(first, last)
        if m not in existing
    ]
    FiscalPeriod.objects.bulk_create(new)
    if new:
        audit_services.record(
            actor=actor,
            action="ledger.periods.opened",
            object_type="legal_entity",
            object_id=entity.pk,
            object_label=entity.code,
            entity_id=entity.pk,
            changes={"periods": (None, f"{new[0].start_date:%Y-%m}..{new[-1].start_date:%Y-%m}")},
            reason=reason,
            now=now,
        )
    return len(new)


@transaction.atomic
def entity_create(
    *,
    code: str,
    name: str,
    country: str,
    currency: str,
    time_zone: str,
    today: date,
    now: datetime,
    actor: User | None = None,
    is_default: bool = False,
) -> LegalEntity:
    """A new legal entity with the standard chart of accounts and open periods for this and two past years."""
    ensure_currency(currency)
    try:
        entity = LegalEntity.objects.create(
            code=code,
            name=name,
            country=country,
            currency=currency,
            time_zone=time_zone,
            is_default=is_default,
            created_at=now,
        )
    except IntegrityError:
        raise UnableToSetUpEntity(f"legal entity {code} exists already", code="duplicate_entity") from None
    Account.objects.bulk_create(
        Account(entity=entity, code=acc_code, name=acc_name, type=acc_type)
        for acc_code, acc_name, acc_type in STANDARD_CHART
    )
    periods_open(
        entity=entity,
        first=date(today.year - 2, 1, 1),
        last=date(today.year, 12, 31),
        now=now,
        reason="new legal entity",
        actor=actor,
    )
    audit_services.record(
        actor=actor,
        action="ledger.entity.created",
        object_type="legal_entity",
        object_id=entity.pk,
        object_label=entity.code,
        entity_id=entity.pk,
        now=now,
    )
    return entity


def entity_grant(*, user: User, entity: LegalEntity, now: datetime, actor: User | None) -> None:
    _, created = EntityGrant.objects.get_or_create(user_id=user.pk, entity=entity)
    if created:
        audit_services.record(
            actor=actor,
            action="ledger.entity.granted",
            object_type="user",
            object_id=user.pk,
            object_label=user.get_username(),
            entity_id=entity.pk,
            changes={"entity": (None, entity.code)},
            now=now,
        )
