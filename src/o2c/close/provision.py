"""The month-end expected-credit-loss provision: the allowance for doubtful accounts (docs/close.md,
"Expected-credit-loss provision").

A provision matrix holds one loss rate per legal entity, customer segment and aging bucket (due basis, the
buckets of `reporting.selectors.BUCKETS`). Segments are what customers carry: `domestic` (the customer's
country is the entity's, or unknown) and `foreign`. At a month's end, the invoices and debit memos open on
its last day are summed per currency, segment and bucket; each sum times its rate is the provision,
rounded half up to the currency's minor unit and converted to the functional currency at the month-end
rate (the FX table's latest rate on or before the last day). The total posts in the functional currency
on the last day, Dr 6900 Bad debt expense / Cr 1290 Allowance for doubtful accounts (type `other`, no
customer: the receivables per customer, the tie-out and the rollforward do not move), and is reversed on
the next month's first day, like the FX revaluation: each month's allowance stands on its own.

IFRS 9 simplified approach (lifetime expected losses from a provision matrix) for every entity; for an
entity in the US the same loss-rate method over the aging is the CECL estimate, and the report says so.

Rates are derived from history (`provision_rates_derive`): for each of the 12 month ends before the
derivation month, the invoices and debit memos open then per segment and bucket and the part of each
later written off (write-off allocations posted after that month end, up to the derivation date, net of
reversals, at most the open amount), in the functional currency at the month end's rate. The month's
loss rate of a cell is written off / open; the cell's rate is the plain average of its months with an
open balance, times a forward-looking factor (1 by default), rounded half up to 4 decimals, at most 1.
An AR manager may set any rate by hand (`provision_rate_set`), with a reason; both are audited.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from o2c.audit import services as audit_services
from o2c.close import periods
from o2c.close.errors import UnableToProvision
from o2c.close.models import ProvisionRate
from o2c.core.actors import actor_id
from o2c.core.money import format_minor
from o2c.customers import selectors as customer_selectors
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.chart import ALLOWANCE, BAD_DEBT
from o2c.ledger.errors import UnableToConvertCurrency
from o2c.ledger.models import LegalEntity
from o2c.ledger.rules import LineIn, convert_minor
from o2c.receivables import selectors as receivable_selectors
from o2c.reporting import selectors as reporting_selectors
from o2c.reporting.rollforward import month_bounds

SOURCE_TYPE = "ecl_provision"
DOMESTIC = "domestic"
FOREIGN = "foreign"
SEGMENTS = (DOMESTIC, FOREIGN)
"""`domestic`: the customer's country is the entity's (or the customer has none: the default segment);
`foreign`: any other country."""
BUCKETS = reporting_selectors.BUCKETS
IFRS9 = "ifrs9_simplified"
CECL = "cecl"
HISTORY_MONTHS = 12
RATE_PLACES = Decimal("0.0001")
REOPEN_ROLES = frozenset({"ar_manager", "admin"})
"""Who may set or derive loss rates: the AR managers who may reopen periods (`close.services`)."""


def method_of(entity: LegalEntity) -> str:
    """CECL for an entity in the US, the IFRS 9 simplified approach everywhere else."""
    return CECL if entity.country.upper() == "US" else IFRS9


def segment_of(*, entity_country: str, customer_country: str) -> str:
    if not customer_country or customer_country.upper() == entity_country.upper():
        return DOMESTIC
    return FOREIGN


def may_set_rates(actor: User | None) -> bool:
    if actor is None or not actor.is_active:
        return False
    return actor.is_superuser or actor.groups.filter(name__in=REOPEN_ROLES).exists()


# --- the matrix -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatrixCell:
    segment: str
    bucket: str
    rate: Decimal
    source: str
    """derived, manual, or empty: never set (rate 0)"""
    set_by: str
    set_at: datetime | None
    reason: str


def rate_matrix(*, entity: LegalEntity) -> list[MatrixCell]:
    """Every segment and bucket of the entity (segment, then bucket order), a cell never set at 0."""
    stored = {
        (row.segment, row.bucket): row
        for row in ProvisionRate.objects.filter(entity=entity).select_related("set_by")
    }
    cells = []
    for segment in SEGMENTS:
        for bucket in BUCKETS:
            row = stored.get((segment, bucket))
            cells.append(
                MatrixCell(segment, bucket, Decimal(0), "", "", None, "")
                if row is None
                else MatrixCell(
                    segment,
                    bucket,
                    row.rate.normalize(),
                    row.source,
                    row.set_by.username if row.set_by is not None else "",
                    row.set_at,
                    row.reason,
                )
            )
    return cells


def _rates(entity: LegalEntity) -> dict[tuple[str, str], Decimal]:
    return {(cell.segment, cell.bucket): cell.rate for cell in rate_matrix(entity=entity)}


def _store(
    entity: LegalEntity,
    segment: str,
    bucket: str,
    rate: Decimal,
    *,
    source: str,
    actor: User | None,
    reason: str,
    now: datetime,
) -> Decimal | None:
    """Write one cell; the rate it had before (None: never set)."""
    row = (
        ProvisionRate.objects.select_for_update()
        .filter(entity=entity, segment=segment, bucket=bucket)
        .first()
    )
    before = row.rate.normalize() if row is not None else None
    ProvisionRate.objects.update_or_create(
        entity=entity,
        segment=segment,
        bucket=bucket,
        defaults={"rate": rate, "source": source, "set_by": actor, "set_at": now, "reason": reason},
    )
    return before


def parse_rate(text: str) -> Decimal:
    """A loss rate written as a decimal between 0 and 1 (0.025 is 2.5 %), at most 6 decimals."""
    try:
        rate = Decimal(text.strip())
    except InvalidOperation:
        rate = Decimal(-1)
    if not rate.is_finite() or rate < 0 or rate > 1 or rate != rate.quantize(Decimal("0.000001")):
        raise UnableToProvision(
            _("a loss rate is a decimal between 0 and 1 with at most 6 decimals, not '%(rate)s'")
            % {"rate": text},
            code="bad_rate",
        )
    return rate


@transaction.atomic
def provision_rate_set(
    *,
    entity: LegalEntity,
    segment: str,
    bucket: str,
    rate: Decimal,
    actor: User | None,
    reason: str,
    now: datetime,
) -> MatrixCell:
    """An AR manager sets one loss rate by hand, with a reason; audited (old and new rate)."""
    if not may_set_rates(actor):
        raise UnableToProvision(_("setting loss rates needs an AR manager"), code="not_allowed")
    if not reason.strip():
        raise UnableToProvision(_("setting a loss rate needs a reason"), code="reason_required")
    if segment not in SEGMENTS:
        raise UnableToProvision(
            _("unknown segment '%(segment)s' (one of %(choices)s)")
            % {"segment": segment, "choices": ", ".join(SEGMENTS)},
            code="bad_segment",
        )
    if bucket not in BUCKETS:
        raise UnableToProvision(
            _("unknown bucket '%(bucket)s' (one of %(choices)s)")
            % {"bucket": bucket, "choices": ", ".join(BUCKETS)},
            code="bad_bucket",
        )
    rate = parse_rate(f"{rate:f}")
    before = _store(
        entity,
        segment,
        bucket,
        rate,
        source=ProvisionRate.Source.MANUAL,
        actor=actor,
        reason=reason.strip(),
        now=now,
    )
    audit_services.record(
        actor=actor,
        action="close.provision_rate.set",
        object_type="provision_rate",
        object_id=None,
        object_label=f"{entity.code} {segment} {bucket}",
        entity_id=entity.pk,
        changes={"rate": [f"{before:f}" if before is not None else None, f"{rate.normalize():f}"]},
        reason=reason.strip(),
        now=now,
    )
    return next(
        cell for cell in rate_matrix(entity=entity) if (cell.segment, cell.bucket) == (segment, bucket)
    )


# --- derivation from history ------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryCell:
    """One month end's figures of a segment and bucket, in the functional currency's minor units."""

    month_end: date
    segment: str
    bucket: str
    open_minor: int
    written_off_minor: int

    @property
    def loss_rate(self) -> Decimal:
        return Decimal(self.written_off_minor) / Decimal(self.open_minor)


@dataclass(frozen=True)
class Derivation:
    entity_code: str
    as_of: date
    factor: Decimal
    month_ends: list[date]
    history: list[HistoryCell]
    rates: dict[tuple[str, str], Decimal]


def _functional_minor(amount_minor: int, currency: str, functional: str, on: date) -> int:
    if currency == functional:
        return amount_minor
    try:
        rate = ledger_selectors.fx_rate_on(from_currency=currency, to_currency=functional, on=on)
    except UnableToConvertCurrency:
        raise UnableToProvision(
            _("no FX rate %(pair)s on or before %(date)s")
            % {"pair": f"{currency}/{functional}", "date": on.isoformat()},
            code="no_fx_rate",
        ) from None
    return convert_minor(amount_minor, from_currency=currency, to_currency=functional, rate=rate)


def _open_items(entity: LegalEntity, as_of: date) -> list[tuple[str, str, str, int, int]]:
    """The invoices and debit memos open on the day as (segment, bucket, currency, document id, open
    minor): open credit memos are amounts owed to customers, not exposed to credit loss."""
    items = [
        item
        for item in reporting_selectors.aging_items(entity_ids=[entity.pk], as_of=as_of)
        if item.open_minor > 0
    ]
    countries = customer_selectors.countries_of(customer_ids={item.customer_id for item in items})
    return [
        (
            segment_of(entity_country=entity.country, customer_country=countries.get(item.customer_id, "")),
            item.bucket,
            item.currency,
            item.document_id,
            item.open_minor,
        )
        for item in items
    ]


def history_month_ends(as_of: date) -> list[date]:
    """The last days of the 12 months before the month of `as_of`, oldest first."""
    first = as_of.replace(day=1)
    return [
        first - relativedelta(months=back) - timedelta(days=1) for back in range(HISTORY_MONTHS - 1, -1, -1)
    ]


def derivation_preview(*, entity: LegalEntity, as_of: date, factor: Decimal = Decimal(1)) -> Derivation:
    """The historical loss rates as of `as_of` (nothing written)."""
    month_ends = history_month_ends(as_of)
    write_offs = receivable_selectors.write_offs_between(
        entity_id=entity.pk, after=month_ends[0], through=as_of
    )
    functional = entity.currency
    history = []
    for month_end in month_ends:
        later: dict[int, int] = defaultdict(int)
        for document_id, posting_date, amount_minor in write_offs:
            if posting_date > month_end:
                later[document_id] += amount_minor
        open_sums: dict[tuple[str, str], int] = defaultdict(int)
        lost_sums: dict[tuple[str, str], int] = defaultdict(int)
        per_currency: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        for segment, bucket, currency, document_id, open_minor in _open_items(entity, month_end):
            figures = per_currency[(segment, bucket, currency)]
            figures[0] += open_minor
            figures[1] += min(max(later.get(document_id, 0), 0), open_minor)
        for (segment, bucket, currency), (open_minor, lost_minor) in per_currency.items():
            open_sums[(segment, bucket)] += _functional_minor(open_minor, currency, functional, month_end)
            lost_sums[(segment, bucket)] += _functional_minor(lost_minor, currency, functional, month_end)
        for segment in SEGMENTS:
            for bucket in BUCKETS:
                if open_sums[(segment, bucket)] > 0:
                    history.append(
                        HistoryCell(
                            month_end,
                            segment,
                            bucket,
                            open_sums[(segment, bucket)],
                            lost_sums[(segment, bucket)],
                        )
                    )
    rates = {}
    for segment in SEGMENTS:
        for bucket in BUCKETS:
            months = [cell.loss_rate for cell in history if (cell.segment, cell.bucket) == (segment, bucket)]
            average = sum(months, Decimal(0)) / len(months) if months else Decimal(0)
            rates[(segment, bucket)] = min(
                (average * factor).quantize(RATE_PLACES, rounding=ROUND_HALF_UP), Decimal(1)
            ).normalize()
    return Derivation(entity.code, as_of, factor, month_ends, history, rates)


@transaction.atomic
def provision_rates_derive(
    *, entity: LegalEntity, as_of: date, actor: User | None, now: datetime, factor: Decimal = Decimal(1)
) -> Derivation:
    """Replace every rate of the matrix with the one derived from history (an AR manager's action, with
    the factor and the month ends in the audit trail)."""
    if not may_set_rates(actor):
        raise UnableToProvision(_("setting loss rates needs an AR manager"), code="not_allowed")
    if factor < 0:
        raise UnableToProvision(_("the forward-looking factor cannot be negative"), code="bad_factor")
    derivation = derivation_preview(entity=entity, as_of=as_of, factor=factor)
    reason = (
        f"derived from {derivation.month_ends[0]:%Y-%m} to {derivation.month_ends[-1]:%Y-%m}, "
        f"factor {factor.normalize():f}"
    )
    changes = {}
    for (segment, bucket), rate in derivation.rates.items():
        before = _store(
            entity,
            segment,
            bucket,
            rate,
            source=ProvisionRate.Source.DERIVED,
            actor=actor,
            reason=reason,
            now=now,
        )
        if before != rate:
            changes[f"{segment} {bucket}"] = [f"{before:f}" if before is not None else None, f"{rate:f}"]
    audit_services.record(
        actor=actor,
        action="close.provision_rates.derived",
        object_type="provision_rate",
        object_id=None,
        object_label=entity.code,
        entity_id=entity.pk,
        changes=changes,
        reason=reason,
        now=now,
    )
    return derivation


# --- the provision ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProvisionRow:
    currency: str
    segment: str
    bucket: str
    open_minor: int
    """in the currency"""
    rate: Decimal
    provision_minor: int
    """open × rate, in the currency"""
    functional_minor: int
    """the provision in the functional currency at the month-end rate"""


@dataclass(frozen=True)
class ProvisionResult:
    entity_code: str
    functional_currency: str
    method: str
    start: date
    as_of: date
    """the month's last day"""
    rows: list[ProvisionRow]
    entry_id: int | None
    reversal_id: int | None
    reversal_date: date | None
    posted: bool
    top_up_ids: tuple[int, ...] = ()
    """entries that brought the month's provision up to date after postings dated into the month once it
    was provided for (each reversed like the first)"""

    @property
    def month(self) -> str:
        return f"{self.start:%Y-%m}"

    @property
    def total_minor(self) -> int:
        return sum(row.functional_minor for row in self.rows)


def idempotency_key(entity: LegalEntity, start: date) -> str:
    return f"ecl-provision:{entity.pk}:{start:%Y-%m}"


def provision_rows(*, entity: LegalEntity, as_of: date) -> list[ProvisionRow]:
    """The open invoices and debit memos of the day per currency, segment and bucket with their rate and
    provision (currency, segment and bucket order; cells with nothing open are left out)."""
    sums: dict[tuple[str, str, str], int] = defaultdict(int)
    for segment, bucket, currency, _document, open_minor in _open_items(entity, as_of):
        sums[(currency, segment, bucket)] += open_minor
    rates = _rates(entity)
    rows = []
    for currency in sorted({key[0] for key in sums}):
        for segment in SEGMENTS:
            for bucket in BUCKETS:
                open_minor = sums.get((currency, segment, bucket), 0)
                if not open_minor:
                    continue
                rate = rates[(segment, bucket)]
                provision = int((Decimal(open_minor) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
                rows.append(
                    ProvisionRow(
                        currency,
                        segment,
                        bucket,
                        open_minor,
                        rate,
                        provision,
                        _functional_minor(provision, currency, entity.currency, as_of),
                    )
                )
    return rows


def _ensure_open(entity: LegalEntity, start: date, last: date) -> None:
    periods.ensure_open(
        entity,
        start,
        last,
        refusal=UnableToProvision,
        closed_message=_("period %(period)s of entity %(entity)s is closed: reopen it to post its provision"),
    )


@transaction.atomic
def provision_post(*, entity: LegalEntity, start: date, actor: User | None, now: datetime) -> ProvisionResult:
    """The month's provision: Dr bad debt expense / Cr allowance in the functional currency on the last
    day, reversed on the next month's first day (or the first open day after it). Once per entity and
    month (idempotency key): a month provided for already posts nothing again and reports the figures of
    its entry's day as they are now, unless postings dated into the month since changed the provision
    while the month is open: then a top-up entry (key `...:2`, `...:3`) posts the change, reversed the
    same way. A zero provision posts nothing."""
    first, last = month_bounds(start)
    key = idempotency_key(entity, first)
    entry_id = ledger_selectors.entry_id_by_key(idempotency_key=key)
    if entry_id is None:
        _ensure_open(entity, first, last)
    rows = provision_rows(entity=entity, as_of=last)
    method = method_of(entity)
    total = sum(row.functional_minor for row in rows)
    posted = False
    if entry_id is None and total > 0:
        entry_id = _post(entity, first, last, total, method, key=key, actor=actor, now=now)
        posted = True
        _audit(
            entity,
            first,
            last,
            {"method": [None, method], "provision": [None, _amount(total, entity)]},
            actor,
            now,
        )
    reversal = None
    top_ups: list[int] = []
    if entry_id is not None:
        reversal = periods.reverse_next_day(
            entry_id,
            last,
            f"Expected-credit-loss provision of {first:%Y-%m} reversed on the next month's first day",
            now=now,
            actor=actor,
        )
        top_ups, topped_up = _top_ups(entity, first, last, total, method, actor=actor, now=now)
        posted = posted or topped_up
    return ProvisionResult(
        entity.code,
        entity.currency,
        method,
        first,
        last,
        rows,
        entry_id,
        reversal.pk if reversal is not None else None,
        reversal.posting_date if reversal is not None else None,
        posted,
        tuple(top_ups),
    )


def _top_ups(
    entity: LegalEntity,
    first: date,
    last: date,
    total: int,
    method: str,
    *,
    actor: User | None,
    now: datetime,
) -> tuple[list[int], bool]:
    """The month's top-up entries (and their reversals), posting one more when the provision posted so
    far is not the month's provision now and the month is still open. (ids, whether one was posted)"""
    key = idempotency_key(entity, first)
    existing, next_key = periods.top_ups_so_far(key)
    allowance_id = ledger_services.account_by_code(entity=entity, code=ALLOWANCE)
    provided = sum(
        line.functional_credit_minor - line.functional_debit_minor
        for line in ledger_selectors.lines_of_entries(
            entity_id=entity.pk,
            account_id=allowance_id,
            source_type=SOURCE_TYPE,
            posting_date=last,
            idempotency_keys=(key, f"{key}:"),
        )
    )
    change = total - provided
    posted = False
    if change:
        try:
            _ensure_open(entity, first, last)
        except UnableToProvision:
            change = 0  # a closed month keeps what it was closed with
    if change:
        existing.append(
            _post(entity, first, last, change, method, key=next_key, actor=actor, now=now, top_up=True)
        )
        posted = True
        _audit(
            entity,
            first,
            last,
            {"provision": [_amount(provided, entity), _amount(total, entity)]},
            actor,
            now,
        )
    periods.reverse_each_next_day(
        existing,
        last,
        f"Expected-credit-loss provision of {first:%Y-%m} reversed on the next month's first day",
        now=now,
        actor=actor,
    )
    return existing, posted


def _post(
    entity: LegalEntity,
    first: date,
    last: date,
    change: int,
    method: str,
    *,
    key: str,
    actor: User | None,
    now: datetime,
    top_up: bool = False,
) -> int:
    """Dr bad debt expense / Cr allowance by `change` (the other way when negative) on the month's last
    day, in the functional currency."""
    expense_id = ledger_services.account_by_code(entity=entity, code=BAD_DEBT)
    allowance_id = ledger_services.account_by_code(entity=entity, code=ALLOWANCE)
    label = "CECL" if method == CECL else "IFRS 9"
    more, less = (change, 0) if change > 0 else (0, -change)
    up_to_date = " brought up to date" if top_up else ""
    return ledger_services.journal_entry_post(
        entity=entity,
        lines=[
            LineIn(
                account_id=expense_id,
                currency=entity.currency,
                debit_minor=more,
                credit_minor=less,
                memo=f"{label} expected credit loss{up_to_date}",
            ),
            LineIn(
                account_id=allowance_id,
                currency=entity.currency,
                debit_minor=less,
                credit_minor=more,
                memo="Allowance for doubtful accounts",
            ),
        ],
        posting_date=last,
        description=f"Expected-credit-loss provision {first:%Y-%m} ({label}){up_to_date}",
        source_type=SOURCE_TYPE,
        source_id=None,
        idempotency_key=key,
        now=now,
        created_by_id=actor_id(actor),
    ).pk


def _amount(minor: int, entity: LegalEntity) -> str:
    return format_minor(minor, entity.currency)


def _audit(
    entity: LegalEntity, first: date, last: date, changes: dict[str, Any], actor: User | None, now: datetime
) -> None:
    period = ledger_selectors.period_for(entity=entity, on=last)
    audit_services.record(
        actor=actor,
        action="close.provision.posted",
        object_type="fiscal_period",
        object_id=period.pk if period is not None else None,
        object_label=f"{entity.code} {first:%Y-%m}",
        entity_id=entity.pk,
        changes=changes,
        now=now,
    )
