"""Month-end FX revaluation of open foreign-currency items (docs/close.md, "FX revaluation").

Every document open on the month's last day in a currency other than the entity's functional currency
is valued at that day's rate (the FX table's latest rate on or before it) against its carrying amount:
what the receivable account holds in the functional currency for its open part, at the rates it was
booked at (settlements relieve it at those rates, `receivables.functional`). The difference is the
unrealised FX gain or loss.

Per currency one journal entry on the month's last day, one pair of lines per document on 1209
Receivables FX revaluation: the open amount at the revalued functional amount on its own side, the same
open amount at the carrying amount on the other. So the transaction-currency amounts cancel on the
account (the receivables, the aging tie-out and the rollforward in transaction currency do not move) and
the account's functional balance is the difference, document by document; the total goes to 7910
Unrealised exchange differences, a functional-only line on an `fx` account (ADR 0001, rule 5). The
entry is reversed (its mirror image, `ledger.services.journal_entry_reverse`) on the first day of the next
month, so settlements in the next month realise their FX difference against the booking rates as
before.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from o2c.audit import services as audit_services
from o2c.close import periods
from o2c.close.errors import UnableToRevalue
from o2c.core.actors import actor_id
from o2c.core.money import format_minor
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.chart import RECEIVABLES_REVALUATION, UNREALISED_FX
from o2c.ledger.errors import UnableToConvertCurrency
from o2c.ledger.models import AccountType, LegalEntity
from o2c.ledger.rules import LineIn, convert_minor
from o2c.receivables import calculations
from o2c.receivables.functional import effective_rate
from o2c.reporting import rollforward
from o2c.reporting import selectors as reporting_selectors
from o2c.reporting.rollforward import month_bounds

SOURCE_TYPE = rollforward.REVALUATION_SOURCE
_REVERSAL_REASON = "FX revaluation of %s reversed on the next month's first day"
_CHUNK = 2000  # documents per ledger query (SQLite's limit on query parameters)


@dataclass(frozen=True)
class RevaluedDocument:
    """One open document: its open amount in its currency, carrying and revalued amounts in the
    entity's functional currency (signed: a credit memo's are negative)."""

    document_id: int
    number: str
    customer_id: int | None
    customer_number: str
    currency: str
    open_minor: int
    carrying_minor: int
    revalued_minor: int

    @property
    def difference_minor(self) -> int:
        """revalued - carrying: positive is an unrealised gain"""
        return self.revalued_minor - self.carrying_minor


@dataclass(frozen=True)
class RevaluationRow:
    """One currency: its open items together, the entry that revalued them and its reversal."""

    currency: str
    rate: Decimal
    """one unit of the currency in the functional currency on the rate date"""
    open_minor: int
    """in the currency's minor units"""
    carrying_minor: int
    revalued_minor: int
    """in the functional currency's minor units, like carrying and difference"""
    documents: list[RevaluedDocument] = field(default_factory=list)
    entry_id: int | None = None
    """the revaluation entry (None: nothing to post, every document's difference is zero)"""
    reversal_id: int | None = None
    reversal_date: date | None = None
    """the day the reversal posted: the next month's first day, or the first open day after it"""
    top_up_ids: tuple[int, ...] = ()
    """entries that brought the month's revaluation up to date after postings dated into the month once
    it was revalued (each reversed like the first)"""

    @property
    def difference_minor(self) -> int:
        return self.revalued_minor - self.carrying_minor


@dataclass(frozen=True)
class RevaluationResult:
    entity_code: str
    functional_currency: str
    start: date
    """the month's first day"""
    rate_date: date
    """the month's last day: the day revalued, the rates of that day or the latest earlier one"""
    rows: list[RevaluationRow]
    posted: bool
    """whether this call posted anything (False: revalued already, or nothing to revalue)"""

    @property
    def month(self) -> str:
        return f"{self.start:%Y-%m}"


def idempotency_key(entity: LegalEntity, start: date, currency: str) -> str:
    return f"fx-revaluation:{entity.pk}:{start:%Y-%m}:{currency}"


def _ensure_open(entity: LegalEntity, start: date, last: date) -> None:
    periods.ensure_open(
        entity,
        start,
        last,
        refusal=UnableToRevalue,
        closed_message=_("period %(period)s of entity %(entity)s is closed: reopen it to revalue it"),
    )


def _rate(currency: str, functional: str, on: date) -> Decimal:
    try:
        return ledger_selectors.fx_rate_on(from_currency=currency, to_currency=functional, on=on)
    except UnableToConvertCurrency:
        raise UnableToRevalue(
            _("no FX rate %(pair)s on or before %(date)s")
            % {"pair": f"{currency}/{functional}", "date": on.isoformat()},
            code="no_fx_rate",
        ) from None


def revaluation_preview(*, entity: LegalEntity, start: date) -> list[RevaluationRow]:
    """The open foreign-currency documents of the month's last day valued at its rates, per currency
    (currency order, documents by customer and number), nothing posted. A missing rate is refused."""
    _first, last = month_bounds(start)
    functional = entity.currency
    items = defaultdict(list)
    for item in reporting_selectors.aging_items(entity_ids=[entity.pk], as_of=last):
        if item.currency != functional:
            items[item.currency].append(item)
    receivable_id = ledger_selectors.account_id_for(entity=entity, type=AccountType.RECEIVABLE)
    rows = []
    for currency in sorted(items):
        rate = _rate(currency, functional, last)
        ids = [item.document_id for item in items[currency]]
        ledger: dict[int, tuple[int, int]] = {}
        for position in range(0, len(ids), _CHUNK):
            ledger.update(
                ledger_selectors.balances_by_document(
                    account_id=receivable_id, document_ids=ids[position : position + _CHUNK], as_of=last
                )
            )
        documents = []
        for item in items[currency]:
            booked_minor, booked_functional = ledger.get(item.document_id, (0, 0))
            # the ledger's functional amount for the open part (all of it when the ledger holds exactly
            # the open amount, as the tie-out proves; else the open part's share, as a settlement takes)
            carrying = calculations.functional_relief(
                open_minor=booked_minor, open_functional_minor=booked_functional, amount_minor=item.open_minor
            )
            revalued = convert_minor(
                item.open_minor, from_currency=currency, to_currency=functional, rate=rate
            )
            if not carrying or not revalued:
                # an open part worth less than half a functional minor unit keeps its carrying amount
                revalued = carrying
            documents.append(
                RevaluedDocument(
                    document_id=item.document_id,
                    number=item.number,
                    customer_id=item.customer_id,
                    customer_number=item.customer_number,
                    currency=currency,
                    open_minor=item.open_minor,
                    carrying_minor=carrying,
                    revalued_minor=revalued,
                )
            )
        rows.append(
            RevaluationRow(
                currency=currency,
                rate=rate,
                open_minor=sum(document.open_minor for document in documents),
                carrying_minor=sum(document.carrying_minor for document in documents),
                revalued_minor=sum(document.revalued_minor for document in documents),
                documents=documents,
            )
        )
    return rows


def _side(minor: int) -> tuple[int, int]:
    """(debit, credit) of a signed amount."""
    return (minor, 0) if minor > 0 else (0, -minor)


def revaluation_lines(
    row: RevaluationRow, *, functional_currency: str, adjustment_id: int, unrealised_id: int
) -> list[LineIn]:
    """The revaluation entry of one currency: per document that moves, its open amount at the revalued
    amount and back at the carrying amount on the adjustment account; the total on the unrealised FX
    account, in the functional currency only."""
    lines = []
    for document in row.documents:
        if not document.difference_minor:
            continue
        debit, credit = _side(document.open_minor)
        revalued_debit, revalued_credit = _side(document.revalued_minor)
        carrying_debit, carrying_credit = _side(document.carrying_minor)
        rate = row.rate
        common = LineIn(
            account_id=adjustment_id,
            currency=row.currency,
            customer_id=document.customer_id,
            document_id=document.document_id,
        )
        lines.append(
            common._replace(
                debit_minor=debit,
                credit_minor=credit,
                functional_debit_minor=revalued_debit,
                functional_credit_minor=revalued_credit,
                fx_rate=rate,
                memo=f"{document.number} revalued at {rate.normalize():f}",
            )
        )
        booked_rate = effective_rate(
            abs(document.open_minor),
            abs(document.carrying_minor),
            currency=row.currency,
            functional_currency=functional_currency,
        )
        lines.append(
            common._replace(
                debit_minor=credit,
                credit_minor=debit,
                functional_debit_minor=carrying_credit,
                functional_credit_minor=carrying_debit,
                fx_rate=booked_rate,
                memo=f"{document.number} at its booking rates",
            )
        )
    total = sum(document.difference_minor for document in row.documents)
    if lines and total:
        gain_debit, gain_credit = _side(-total)
        lines.append(
            LineIn(
                account_id=unrealised_id,
                currency=row.currency,
                functional_debit_minor=gain_debit,
                functional_credit_minor=gain_credit,
                fx_rate=row.rate,
                memo="Unrealised FX difference",
            )
        )
    return lines


def _currencies_revalued(entity: LegalEntity, start: date) -> set[str]:
    """The currencies with a revaluation entry for the month."""
    prefix = f"fx-revaluation:{entity.pk}:{start:%Y-%m}:"
    return {
        key.removeprefix(prefix).split(":")[0]
        for key in ledger_selectors.entry_keys_starting(entity_id=entity.pk, prefix=prefix)
    }


def _revalued_before(
    entity: LegalEntity, start: date, last: date, currency: str, adjustment_id: int
) -> dict[int, list[LineIn]]:
    """Per document, its lines on the adjustment account in the month's revaluation entries of the
    currency posted so far (the first and its top-ups; not their reversals, which post later)."""
    key = idempotency_key(entity, start, currency)
    found: dict[int, list[LineIn]] = defaultdict(list)
    for line in ledger_selectors.lines_of_entries(
        entity_id=entity.pk,
        account_id=adjustment_id,
        source_type=SOURCE_TYPE,
        posting_date=last,
        idempotency_keys=(key, f"{key}:"),
    ):
        if line.document_id is not None:
            found[line.document_id].append(line)
    return found


def top_up_lines(
    row: RevaluationRow,
    before: dict[int, list[LineIn]],
    *,
    functional_currency: str,
    adjustment_id: int,
    unrealised_id: int,
) -> list[LineIn]:
    """What brings a currency's revaluation of the month up to date: for each document whose difference
    is no longer what was posted for it (a document issued into the month after the revaluation, one
    paid since, a payment reversed), its earlier lines taken back and its pair at today's figures; the
    total change on the unrealised FX account."""
    now_by_document = {document.document_id: document for document in row.documents}
    changed: list[LineIn] = []
    change = 0
    for document_id in sorted(set(now_by_document) | set(before)):
        earlier = before.get(document_id, [])
        posted = sum(line.functional_debit_minor - line.functional_credit_minor for line in earlier)
        current = now_by_document.get(document_id)
        wanted = current.difference_minor if current is not None else 0
        if wanted == posted:
            continue
        change += wanted - posted
        changed.extend(
            line._replace(
                debit_minor=line.credit_minor,
                credit_minor=line.debit_minor,
                functional_debit_minor=line.functional_credit_minor,
                functional_credit_minor=line.functional_debit_minor,
                memo=f"{line.memo} (taken back)"[:200],
            )
            for line in earlier
        )
        if current is not None and current.difference_minor:
            fresh = RevaluationRow(row.currency, row.rate, 0, 0, 0, documents=[current])
            changed.extend(
                line
                for line in revaluation_lines(
                    fresh,
                    functional_currency=functional_currency,
                    adjustment_id=adjustment_id,
                    unrealised_id=unrealised_id,
                )
                if line.account_id == adjustment_id
            )
    if changed and change:
        gain_debit, gain_credit = _side(-change)
        changed.append(
            LineIn(
                account_id=unrealised_id,
                currency=row.currency,
                functional_debit_minor=gain_debit,
                functional_credit_minor=gain_credit,
                fx_rate=row.rate,
                memo="Unrealised FX difference",
            )
        )
    return changed


@transaction.atomic
def revalue(*, entity: LegalEntity, start: date, actor: User | None, now: datetime) -> RevaluationResult:
    """Revalue the month starting on `start`: per currency, the revaluation entry on the month's last day
    and its reversal on the next month's first day (a later day when that period is closed: the ledger
    posts late entries in the next open period). A currency revalued already posts nothing again (one
    idempotency key per entity, month and currency) unless postings dated into the month since changed
    what it revalued: then a top-up entry (key `...:2`, `...:3`) brings it up to date, reversed the
    same way. Refused when the month's period is closed (its entry would move into the next month) and
    when a currency has no rate on or before the last day."""
    first, last = month_bounds(start)
    _ensure_open(entity, first, last)
    rows = revaluation_preview(entity=entity, start=first)
    # a currency revalued earlier in the month with nothing open now: its revaluation is taken back
    for currency in sorted(_currencies_revalued(entity, first) - {row.currency for row in rows}):
        rows.append(RevaluationRow(currency, _rate(currency, entity.currency, last), 0, 0, 0))
    adjustment_id = ledger_services.account_by_code(entity=entity, code=RECEIVABLES_REVALUATION)
    unrealised_id = ledger_services.account_by_code(entity=entity, code=UNREALISED_FX)
    done = []
    posted: dict[str, tuple[str, str]] = {}
    for row in rows:
        key = idempotency_key(entity, first, row.currency)
        entry_id = ledger_selectors.entry_id_by_key(idempotency_key=key)
        if entry_id is None:
            lines = revaluation_lines(
                row,
                functional_currency=entity.currency,
                adjustment_id=adjustment_id,
                unrealised_id=unrealised_id,
            )
            if lines:
                entry_id = _post(
                    entity, first, last, row, lines, key=key, actor=actor, now=now, posted=posted
                )
        reversal = None
        top_ups: list[int] = []
        if entry_id is not None:
            reversal = periods.reverse_next_day(
                entry_id, last, _REVERSAL_REASON % f"{first:%Y-%m}", now=now, actor=actor
            )
            top_ups = _top_ups(entity, first, last, row, adjustment_id, unrealised_id, actor, now, posted)
        done.append(
            RevaluationRow(
                currency=row.currency,
                rate=row.rate,
                open_minor=row.open_minor,
                carrying_minor=row.carrying_minor,
                revalued_minor=row.revalued_minor,
                documents=row.documents,
                entry_id=entry_id,
                reversal_id=reversal.pk if reversal is not None else None,
                reversal_date=reversal.posting_date if reversal is not None else None,
                top_up_ids=tuple(top_ups),
            )
        )
    if posted:
        period = ledger_selectors.period_for(entity=entity, on=last)
        audit_services.record(
            actor=actor,
            action="close.revaluation.posted",
            object_type="fiscal_period",
            object_id=period.pk if period is not None else None,
            object_label=f"{entity.code} {first:%Y-%m}",
            entity_id=entity.pk,
            changes={currency: [carrying, revalued] for currency, (carrying, revalued) in posted.items()},
            now=now,
        )
    return RevaluationResult(entity.code, entity.currency, first, last, done, bool(posted))


def _post(
    entity: LegalEntity,
    first: date,
    last: date,
    row: RevaluationRow,
    lines: list[LineIn],
    *,
    key: str,
    actor: User | None,
    now: datetime,
    posted: dict[str, tuple[str, str]],
    top_up: bool = False,
) -> int:
    """One revaluation entry of the currency on the month's last day, noted in `posted` for the audit."""
    done = " brought up to date" if top_up else ""
    entry_id = ledger_services.journal_entry_post(
        entity=entity,
        lines=lines,
        posting_date=last,
        description=f"FX revaluation {row.currency} {first:%Y-%m}{done} at {row.rate.normalize():f}",
        source_type=SOURCE_TYPE,
        source_id=None,
        idempotency_key=key,
        now=now,
        created_by_id=actor_id(actor),
    ).pk
    posted[row.currency] = (
        format_minor(row.carrying_minor, entity.currency),
        format_minor(row.revalued_minor, entity.currency),
    )
    return entry_id


def _top_ups(
    entity: LegalEntity,
    first: date,
    last: date,
    row: RevaluationRow,
    adjustment_id: int,
    unrealised_id: int,
    actor: User | None,
    now: datetime,
    posted: dict[str, tuple[str, str]],
) -> list[int]:
    """The month's top-up entries of the currency (and their reversals), posting one more when the
    revaluation posted so far no longer matches the documents open on the last day."""
    existing, next_key = periods.top_ups_so_far(idempotency_key(entity, first, row.currency))
    before = _revalued_before(entity, first, last, row.currency, adjustment_id)
    lines = top_up_lines(
        row,
        before,
        functional_currency=entity.currency,
        adjustment_id=adjustment_id,
        unrealised_id=unrealised_id,
    )
    if lines:
        existing.append(
            _post(
                entity,
                first,
                last,
                row,
                lines,
                key=next_key,
                actor=actor,
                now=now,
                posted=posted,
                top_up=True,
            )
        )
    periods.reverse_each_next_day(existing, last, _REVERSAL_REASON % f"{first:%Y-%m}", now=now, actor=actor)
    return existing
