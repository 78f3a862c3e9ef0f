"""The ledger's one write path: posting, reversing, FX rates, entities and their periods."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel import Locale
from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from stdnum import get_cc_module
from stdnum.exceptions import ValidationError as StdnumError

from o2c.audit import services as audit_services
from o2c.core.db import copy_from_stdin, copy_value, insert_rows, reserve_ids
from o2c.core.money import ensure_currency
from o2c.ledger import rules, selectors, triggers
from o2c.ledger.chart import STANDARD_CHART
from o2c.ledger.errors import (
    UnableToChangePeriod,
    UnableToConvertCurrency,
    UnableToPostJournalEntry,
    UnableToReverseJournalEntry,
    UnableToSetUpEntity,
)
from o2c.ledger.models import (
    Account,
    AccountType,
    EntityBankAccount,
    EntityGrant,
    FiscalPeriod,
    FxRate,
    JournalEntry,
    JournalLine,
    LegalEntity,
    TaxRegistration,
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
    posting_date_for: Callable[[date], date | None],
    rate_on: Callable[[str, date], Decimal],
    convert: bool = True,
) -> tuple[list[LineIn], date]:
    """Validate the entry, give its lines their functional amounts and say on which day it posts.

    `posting_date_for(day)` is the day an entry dated `day` posts on (a later one when its period is
    closed: see `selectors.posting_date_in`), None when none is open; `rate_on(currency, day)` gives the
    rate into the functional currency, of the business date also for a late entry. With `convert=False`
    (entries in the functional currency, where the rate is 1 and the functional amounts are the
    transaction amounts) only the checks run and the lines come back as they are; the caller writes the
    functional amounts.
    """
    rules.validate_lines(entry.lines, fx_account_ids=fx_ids)
    posting_date = posting_date_for(entry.posting_date)
    if posting_date is None:
        raise UnableToPostJournalEntry(
            f"no open fiscal period for {entry.posting_date.isoformat()} in entity {entity.code}",
            code="period_closed",
        )
    if not convert:
        return list(entry.lines), posting_date
    lines = rules.with_functional_amounts(
        entry.lines,
        functional_currency=entity.currency,
        rate=rate_on(entry.lines[0].currency, entry.posting_date),
        fx_account_id=fx_account_id,
    )
    return lines, posting_date


def _posting_date_for(entity: LegalEntity) -> Callable[[date], date | None]:
    periods = selectors.periods_of(entity=entity, for_posting=True)
    return lambda day: selectors.posting_date_in(periods, day)


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
    prepared, on = _prepare(
        entity,
        entry_in,
        fx_ids,
        min(fx_ids) if fx_ids else None,
        posting_date_for=_posting_date_for(entity),
        rate_on=lambda currency, day: selectors.fx_rate_on(
            from_currency=currency, to_currency=entity.currency, on=day
        ),
    )
    entry = JournalEntry.objects.create(
        entity=entity,
        posting_date=on,
        dated=posting_date if on != posting_date else None,
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
) -> list[int]:
    """Set-based posting for imports: `BulkPosting`'s three steps in one go."""
    posting = BulkPosting(
        entity=entity,
        needs={(entry.posting_date, entry.lines[0].currency) for entry in entries if entry.lines},
    )
    posting.prepare(entries)
    return posting.write(now=now, created_by_id=created_by_id)


# the entry id comes last: `BulkPosting.prepare` builds the lines' COPY text before the entries have ids
_LINE_COLUMNS = (
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
    "entry_id",
)


class BulkPosting:
    """Set-based posting for imports: the same rules and triggers as `journal_entry_post`, a few
    statements per batch, in three steps so that a caller can keep the database busy meanwhile.

    - `BulkPosting(entity=..., needs=...)` reads what the checks need (periods, FX rates, FX accounts)
      for the (posting date, transaction currency) pairs of the entries to come.
    - `prepare(entries)` is Python only and never asks the database: each entry is checked by the
      ledger's rules and given its functional amounts, and its lines are made ready for the database
      (COPY text on PostgreSQL). A caller may run it while a second thread writes other rows on the
      same connection (`core.db.running_alongside`).
    - `write(now=...)` skips entries whose idempotency key exists already, inserts the rest as drafts,
      then their lines, then sets them to posted, which the database's trigger allows only for a
      balanced entry. The lines go in as one COPY on PostgreSQL and one prepared INSERT over all rows
      on SQLite (a model instance per line would cost more than the database's work for it).

    The caller holds the transaction.
    """

    def __init__(self, *, entity: LegalEntity, needs: Iterable[tuple[date, str]]) -> None:
        self.entity = entity
        self.fx_ids = selectors.fx_account_ids(entity=entity)
        self.fx_account_id = min(self.fx_ids) if self.fx_ids else None
        self.postgresql = connection.vendor == "postgresql"
        needed = set(needs)
        periods = selectors.periods_of(entity=entity, for_posting=True)
        self.posting_on = {day: selectors.posting_date_in(periods, day) for day in {day for day, _ in needed}}
        # the rate of each foreign pair, or the error its lookup gave (raised if an entry needs it)
        self.rates: dict[tuple[str, date], Decimal | UnableToConvertCurrency] = {}
        foreign: dict[str, set[date]] = defaultdict(set)
        for day, currency in needed:
            if currency != entity.currency:
                foreign[currency].add(day)
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
                    self.rates[(currency, day)] = series[position - 1][1]
                    continue
                try:  # an inverse rate, or none at all
                    self.rates[(currency, day)] = selectors.fx_rate_on(
                        from_currency=currency, to_currency=entity.currency, on=day
                    )
                except UnableToConvertCurrency as error:
                    self.rates[(currency, day)] = error
        self.fx_rate_field = JournalLine._meta.get_field("fx_rate")
        self.rate_texts: dict[Decimal, str] = {}
        self.one = self._rate_text(Decimal(1))
        # per entry to write: its fields, its line count and its lines (COPY text without the entry id
        # on PostgreSQL, the checked lines on SQLite)
        self.entries: list[tuple[date, date | None, str, str, int | None, str]] = []
        self.line_counts: list[int] = []
        self.copy_text: list[str] = []
        self.lines: list[tuple[Sequence[LineIn], str | None]] = []

    def _rate_text(self, rate: Decimal) -> str:
        """A rate as text, as the drivers' adapters would send it (both send a Decimal as str)."""
        found = self.rate_texts.get(rate)
        if found is None:
            found = self.rate_texts[rate] = str(self.fx_rate_field.get_db_prep_save(rate, connection))
        return found

    def _posting_date_for(self, day: date) -> date | None:
        return self.posting_on[day]  # a KeyError: the pair was not named in `needs`

    def _rate(self, currency: str, day: date) -> Decimal:
        rate = self.rates[(currency, day)]
        if isinstance(rate, UnableToConvertCurrency):
            raise rate
        return rate

    def prepare(self, entries: Iterable[EntryIn]) -> None:
        functional = self.entity.currency
        for entry in entries:
            convert = bool(entry.lines) and entry.lines[0].currency != functional
            lines, on = _prepare(
                self.entity,
                entry,
                self.fx_ids,
                self.fx_account_id,
                posting_date_for=self._posting_date_for,
                rate_on=self._rate,
                convert=convert,
            )
            one = None if convert else self.one  # functional amounts equal the amounts
            self.entries.append(
                (
                    on,
                    entry.posting_date if on != entry.posting_date else None,
                    entry.description[:200],
                    entry.source_type,
                    entry.source_id,
                    entry.idempotency_key,
                )
            )
            self.line_counts.append(len(lines))
            if self.postgresql:
                self.copy_text.append(self._copy_text(lines, one))
            else:
                self.lines.append((lines, one))

    def _copy_text(self, lines: Sequence[LineIn], one: str | None) -> str:
        """The lines in COPY text, each ending where its entry id goes: one `\\n` per line, since an
        escaped value never holds one (see `write`). A line that names its customer and document,
        without a memo, is one f-string; any other line is built value by value."""
        escaped = self._escaped_line
        if not lines[0].currency.isalpha():  # the currency needs escaping: every line value by value
            text = [
                escaped(*line[:7], *(line[2:4] if one else line[7:9]), one or self._rate_text(line.fx_rate))
                for line in lines
            ]
        elif one is not None:  # in the functional currency: its amounts are the functional amounts
            text = [
                f"{account}\t{currency}\t{debit}\t{credit}\t{debit}\t{credit}\t{one}\t{customer}\t{document}\t\t"
                if customer is not None and document is not None and not memo
                else escaped(account, currency, debit, credit, customer, document, memo, debit, credit, one)
                for account, currency, debit, credit, customer, document, memo, _, _, _ in lines
            ]
        else:
            rate_text = self._rate_text
            text = [
                f"{account}\t{currency}\t{debit}\t{credit}\t{fdebit}\t{fcredit}\t{rate_text(rate)}"
                f"\t{customer}\t{document}\t\t"
                if customer is not None and document is not None and not memo
                else escaped(
                    account,
                    currency,
                    debit,
                    credit,
                    customer,
                    document,
                    memo,
                    fdebit,
                    fcredit,
                    rate_text(rate),
                )
                for account, currency, debit, credit, customer, document, memo, fdebit, fcredit, rate in lines
            ]
        return "\n".join(text) + "\n"

    @staticmethod
    def _escaped_line(
        account: int,
        currency: str,
        debit: int,
        credit: int,
        customer: int | None,
        document: int | None,
        memo: str,
        functional_debit: int,
        functional_credit: int,
        rate_text: str | None,
    ) -> str:
        values = (account, currency, debit, credit, functional_debit, functional_credit, rate_text)
        return "\t".join(map(copy_value, (*values, customer, document, memo[:200]))) + "\t"

    def write(self, *, now: datetime, created_by_id: int | None = None) -> list[int]:
        """The ids of the entries written (those whose key was new), in the order prepared."""
        keys = [key for *_, key in self.entries]
        existing: set[str] = set()
        existing.update(
            JournalEntry.objects.filter(idempotency_key__any=frozenset(keys)).values_list(
                "idempotency_key", flat=True
            )
        )
        todo = [position for position, key in enumerate(keys) if key not in existing]
        if not todo:
            return []
        ids = reserve_ids(JournalEntry, len(todo))
        bulk = sum(self.line_counts[position] for position in todo) >= _BULK_LINES
        # plain rows, not model instances: a bank file or a billing run brings tens of thousands
        status = JournalEntry.Status.DRAFT if bulk else JournalEntry.Status.POSTED
        rows = [
            (
                entry_id,
                self.entity.pk,
                posting_date,
                dated,
                status,
                description,
                source_type,
                source_id,
                key,
                now,
                created_by_id,
            )
            for entry_id, (posting_date, dated, description, source_type, source_id, key) in zip(
                ids, map(self.entries.__getitem__, todo), strict=True
            )
        ]
        columns = [
            "id",
            "entity",
            "posting_date",
            "dated",
            "status",
            "description",
            "source_type",
            "source_id",
            "idempotency_key",
            "created_at",
            "created_by_id",
        ]
        if bulk:
            # drafts first: the lines' indexes are built again before the entries are posted, whose
            # guard reads the lines by entry
            insert_rows(JournalEntry, columns, rows)
            load = triggers.BulkLoad(connection, [JournalLine])
            with load, load.writing(JournalLine):
                self._insert_lines(todo, ids)
            JournalEntry.objects.filter(pk__any=frozenset(ids)).update(status=JournalEntry.Status.POSTED)
            return ids
        # the lines first (under ids reserved for their entries), then the entries inserted posted:
        # the guard checks each entry's lines as it is inserted, as it checks an update to posted,
        # and no entry is written twice
        self._insert_lines(todo, ids)
        insert_rows(JournalEntry, columns, rows)
        return ids

    def _insert_lines(self, todo: Sequence[int], ids: Sequence[int]) -> None:
        table = JournalLine._meta.db_table
        if self.postgresql:
            with copy_from_stdin(connection, table, _LINE_COLUMNS) as write:
                text: list[str] = []
                size = 0
                for position, entry_id in zip(todo, ids, strict=True):
                    # each line's `\n` becomes its entry id and the `\n`
                    chunk = self.copy_text[position].replace("\n", f"{entry_id}\n")
                    text.append(chunk)
                    size += len(chunk)
                    if size >= 1 << 20:
                        write("".join(text))
                        text.clear()
                        size = 0
                if text:
                    write("".join(text))
            return
        cursor = connection.connection.cursor()
        try:
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(_LINE_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_LINE_COLUMNS))})",
                (
                    values
                    for position, entry_id in zip(todo, ids, strict=True)
                    for values in _line_values(entry_id, *self.lines[position], self._rate_text)
                ),
            )
        finally:
            cursor.close()


def _line_values(
    entry_id: int, lines: Sequence[LineIn], one: str | None, rate_text: Callable[[Decimal], str]
) -> Iterator[tuple[Any, ...]]:
    """The values of `_LINE_COLUMNS` for each line of an entry."""
    for account, currency, debit, credit, customer, document, memo, f_debit, f_credit, rate in lines:
        yield (
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
            entry_id,
        )


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
    on = selectors.posting_date_in(
        selectors.periods_of(entity=original.entity, for_posting=True), posting_date
    )
    if on is None:
        raise UnableToReverseJournalEntry(
            f"no open fiscal period for {posting_date.isoformat()}", code="period_closed"
        )
    entry = JournalEntry.objects.create(
        entity=original.entity,
        posting_date=on,
        dated=posting_date if on != posting_date else None,
        description=f"Reversal of JE{original.pk}: {reason}"[:200],
        source_type=original.source_type,
        source_id=original.source_id,
        idempotency_key=f"reversal:{original.pk}",
        created_at=now,
        created_by_id=actor.pk if actor is not None else None,
        reverses=original,
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
def period_status_set(
    *, entity: LegalEntity, start: date, status: str, actor: User | None, now: datetime, reason: str = ""
) -> bool:
    """Close or reopen the period starting on `start`; False when it was in that state already. Waits
    for entries being posted into the entity's periods (they hold a share lock on them)."""
    period = FiscalPeriod.objects.select_for_update().filter(entity=entity, start_date=start).first()
    if period is None:
        raise UnableToChangePeriod(
            f"entity {entity.code} has no fiscal period {start:%Y-%m}", code="unknown_period"
        )
    if period.status == status:
        return False
    before = period.status
    FiscalPeriod.objects.filter(pk=period.pk).update(status=status)
    audit_services.record(
        actor=actor,
        action="ledger.period.closed" if status == FiscalPeriod.Status.CLOSED else "ledger.period.reopened",
        object_type="fiscal_period",
        object_id=period.pk,
        object_label=f"{entity.code} {start:%Y-%m}",
        entity_id=entity.pk,
        changes={"status": (before, status)},
        reason=reason,
        now=now,
    )
    return True


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


# the states, DC and Puerto Rico: a US sales tax registration or exemption certificate names one
US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY "  # noqa: SIM905
    "NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR".split()
)


@transaction.atomic
def tax_registration_set(
    *,
    entity: LegalEntity,
    country: str,
    scheme: str,
    number: str,
    actor: User | None,
    now: datetime,
    reason: str = "",
) -> TaxRegistration:
    """Register the entity for a tax, or change the number of one of its registrations: `vat` in a
    country (the number is checked as that country's VAT id; the home country's is printed on invoices),
    or US sales tax in a state (`country` US, `scheme` the state code such as `CA`, the number as the
    state's permit gives it). Lines billed from then on are taxed by the registrations. Audited with the
    old and new values; the same number again changes nothing."""
    country = country.strip().upper()
    scheme = scheme.strip().upper() if country == "US" else scheme.strip().lower()
    number = " ".join(number.split())
    if len(country) != 2 or country not in Locale("en").territories:
        raise UnableToSetUpEntity(f"'{country}' is not an ISO 3166 country code", code="bad_country")
    if country == "US" and scheme not in US_STATES:
        raise UnableToSetUpEntity(
            f"'{scheme}' is not a US state code: a US sales tax registration names its state",
            code="bad_scheme",
        )
    if country != "US" and scheme != "vat":
        raise UnableToSetUpEntity(
            f"'{scheme}' is not a tax scheme outside the US: use vat", code="bad_scheme"
        )
    if not number:
        raise UnableToSetUpEntity("the registration number is empty", code="missing_number")
    if scheme == "vat":
        number = _vat_number(country, number)
    if len(number) > 40:
        raise UnableToSetUpEntity(f"'{number}' is longer than 40 characters", code="too_long")
    registration = (
        TaxRegistration.objects.select_for_update()
        .filter(entity=entity, country=country, scheme=scheme)
        .first()
    )
    if registration is not None and registration.number == number:
        return registration
    old = registration.number if registration is not None else None
    if registration is None:
        registration = TaxRegistration.objects.create(
            entity=entity, country=country, scheme=scheme, number=number
        )
        changes: dict[str, tuple[Any, Any]] = {
            "country": (None, country),
            "scheme": (None, scheme),
            "number": (None, number),
        }
    else:
        registration.number = number
        registration.save(update_fields=["number"])
        changes = {"number": (old, number)}
    audit_services.record(
        actor=actor,
        action="ledger.tax_registration.created" if old is None else "ledger.tax_registration.updated",
        object_type="tax_registration",
        object_id=registration.pk,
        object_label=f"{entity.code} {country} {scheme}",
        entity_id=entity.pk,
        changes=changes,
        reason=reason,
        now=now,
    )
    return registration


def _vat_number(country: str, number: str) -> str:
    """A VAT id of `country` checked by python-stdnum, compact, with its country prefix (EL for Greece)."""
    compact = number.upper().replace(" ", "").replace(".", "").replace("-", "")
    prefix = {"GR": "EL"}.get(country, country)
    if compact[:2].isalpha() and compact[:2] != prefix:
        raise UnableToSetUpEntity(f"'{number}' is not a VAT id of {country}", code="bad_vat_id")
    module = get_cc_module(country.lower(), "vat")
    try:
        valid = module is not None and bool(module.is_valid(compact))
    except StdnumError:
        valid = False
    if not valid:
        raise UnableToSetUpEntity(f"'{number}' is not a valid VAT id of {country}", code="bad_vat_id")
    return compact if compact[:2].isalpha() else f"{prefix}{compact}"


def account_by_code(*, entity: LegalEntity, code: str) -> int:
    """The id of one of the standard chart's accounts by its code, added to an entity whose chart
    predates it."""
    found = Account.objects.filter(entity=entity, code=code).values_list("pk", flat=True).first()
    if found is not None:
        return found
    name, account_type = next((name, kind) for number, name, kind in STANDARD_CHART if number == code)
    return Account.objects.create(entity=entity, code=code, name=name, type=account_type).pk


def own_bank_account_register(
    *,
    entity: LegalEntity,
    iban: str | None,
    account_number: str | None,
    currency: str,
    name: str,
    now: datetime,
    actor: User | None,
    reason: str,
) -> EntityBankAccount:
    """Register one of the entity's own bank accounts, posting to its standard bank ledger account."""
    ensure_currency(currency)
    account = EntityBankAccount.objects.create(
        entity=entity,
        name=name[:100],
        iban=(iban or "").replace(" ", "").upper(),
        account_number=(account_number or "").strip()[:40],
        currency=currency,
        ledger_account_id=selectors.account_id_for(entity=entity, type=AccountType.BANK),
    )
    audit_services.record(
        actor=actor,
        action="ledger.bank_account.registered",
        object_type="bank_account",
        object_id=account.pk,
        object_label=str(account),
        entity_id=entity.pk,
        changes={"currency": (None, currency)},
        reason=reason,
        now=now,
    )
    return account
