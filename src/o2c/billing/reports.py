"""Billing reports: unbilled revenue by customer and age, deferred revenue tied to the ledger, and a CRM
bookings reconciliation against the billing set-up. Reads only; amounts in integer minor units.

Unbilled revenue rates every subscription exactly as a billing run as of the date would (the runs
module's own rating), and adds the elapsed part of the running period of arrears and metered products,
which a run bills only once the period is over.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Sum
from django.utils import translation
from django.utils.translation import gettext as _

from o2c.billing import presenters, rating, revenue, runs
from o2c.billing.models import BillingPeriod, Subscription, SubscriptionTerm, Timing
from o2c.core.money import currency_decimals, format_minor, to_minor
from o2c.customers import selectors as customer_selectors
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import AccountType, LegalEntity

CHUNK = 5_000

# ── unbilled revenue ───────────────────────────────────────────────────────────────────────────────

BUCKETS = ("0_30", "31_60", "61_90", "over_90")


def bucket_of(age_days: int) -> str:
    """The age bucket of a number of days since the first unbilled day."""
    if age_days <= 30:
        return "0_30"
    if age_days <= 60:
        return "31_60"
    if age_days <= 90:
        return "61_90"
    return "over_90"


@dataclass(frozen=True)
class UnbilledRow:
    """What one subscription period has unbilled as of the date."""

    entity: str
    customer_number: str  # the bill-to customer
    subscription_number: str
    product_code: str
    currency: str
    amount_minor: int  # signed: negative when a run would credit more than it bills
    service_from: date  # the first unbilled day
    age_days: int
    bucket: str


@dataclass
class _Piece:
    product_code: str
    amount_minor: int
    service_from: date


def unbilled_revenue(
    *, entity: LegalEntity, as_of: date, errors: list[tuple[str, str]] | None = None
) -> list[UnbilledRow]:
    """Service up to and including `as_of` that no billed line covers yet, per subscription and billing
    period: what a run as of the date would bill (due periods not billed, re-rated periods such as late
    usage or amendments), plus the elapsed days of arrears and metered products' running period.

    Subscriptions that cannot be rated (no terms, no price in the currency) are left out; with
    `errors`, each is appended there as (subscription number, reason), as a run reports them."""
    subscriptions = runs.candidates(entity, as_of)
    ids = [s.pk for s in subscriptions]
    catalogue = runs.catalogue_of(entity)
    terms = runs.terms_of(ids)
    usage = runs.usage_of(subscriptions, terms, catalogue, as_of)
    billed: dict[tuple[int, date], runs.Billed] = {}
    if subscriptions:
        since = rating.period_of(min(runs.first_unbilled_day(s) for s in subscriptions), "year").start
        for offset in range(0, len(ids), CHUNK):
            billed.update(runs.billed_so_far(ids[offset : offset + CHUNK], since))
    language = translation.get_language() or settings.LANGUAGE_CODE
    rows: list[UnbilledRow] = []
    for subscription in subscriptions:
        subscription_terms = terms.get(subscription.pk)
        if not subscription_terms:
            if errors is not None:
                errors.append((subscription.number, _("the subscription has no terms")))
            continue
        try:
            pieces = _unbilled_pieces(
                subscription, subscription_terms, catalogue, usage, billed, as_of, language
            )
        except rating.UnableToRate as error:
            if errors is not None:
                errors.append((subscription.number, str(error)))
            continue
        for piece in pieces.values():
            if piece.amount_minor == 0:
                continue
            age = max(0, (as_of - piece.service_from).days)  # a re-rated future day counts as today
            rows.append(
                UnbilledRow(
                    entity=entity.code,
                    customer_number=subscription.bill_to.number,
                    subscription_number=subscription.number,
                    product_code=piece.product_code,
                    currency=subscription.currency,
                    amount_minor=piece.amount_minor,
                    service_from=piece.service_from,
                    age_days=age,
                    bucket=bucket_of(age),
                )
            )
    rows.sort(key=lambda r: (r.customer_number, r.currency, r.subscription_number, r.service_from))
    return rows


def _unbilled_pieces(
    subscription: Subscription,
    terms: list[SubscriptionTerm],
    catalogue: runs.Catalogue,
    usage: dict[tuple[int, date], int],
    billed: dict[tuple[int, date], runs.Billed],
    as_of: date,
    language: str,
) -> dict[date, _Piece]:
    """The unbilled amount per billing period (keyed by the period's first day)."""
    pieces: dict[date, _Piece] = {}

    def add(period_start: date, product_code: str, amount: int, service_from: date) -> None:
        piece = pieces.get(period_start)
        if piece is None:
            pieces[period_start] = _Piece(product_code, amount, service_from)
        else:
            piece.amount_minor += amount
            piece.service_from = min(piece.service_from, service_from)
            piece.product_code = product_code

    # what a run as of the date would bill now: due periods, re-rated periods (late usage, amendments)
    rated = runs.rate_subscription(
        subscription,
        terms=terms,
        catalogue=catalogue,
        usage=usage,
        billed=billed,
        as_of=as_of,
        language=language,
    )
    for line in rated.lines:
        add(line.period_start, line.product_code, line.amount_minor, line.service_start)
    # arrears and metered: the running period's elapsed days, which a run bills only after its end
    product = catalogue.products[terms[-1].product_id]
    if product.billing_period == BillingPeriod.ONCE or not (
        product.metric or product.timing == Timing.ARREARS
    ):
        return pieces
    period = rating.period_of(as_of, product.billing_period)
    if period.start in pieces:
        return pieces  # the run re-rates this period already
    window_start = max(period.start, subscription.start_date)
    end = subscription.end_date
    window_end = min(period.end, end) if end is not None else period.end
    if window_start > as_of or window_end < as_of:
        return pieces  # not started yet, or ended before the date (then due and rated above)
    expected = runs.expected_lines(
        subscription,
        period,
        window_start,
        as_of,
        terms=terms,
        catalogue=catalogue,
        usage=usage,
        language=language,
    )
    previously = billed.get((subscription.pk, period.start))
    amount = sum(line.amount_minor for line in expected)
    service_from = window_start
    if previously is not None:
        amount -= previously.amount_minor
        service_from = min(max(window_start, previously.service_end + timedelta(days=1)), as_of)
    if expected:
        add(period.start, expected[-1].product_code, amount, service_from)
    return pieces


# ── deferred revenue, tied to the ledger ──────────────────────────────────────────────────────────


@dataclass(frozen=True)
class DeferredRow:
    """Deferred revenue of one customer and currency: from the schedules and in the ledger.

    `difference` is the ledger minus the schedules: positive when the ledger still holds revenue the
    schedules have released (a release not yet run)."""

    entity: str
    customer_number: str  # empty for ledger lines without a customer
    currency: str
    schedules_minor: int
    ledger_minor: int

    @property
    def difference_minor(self) -> int:
        return self.ledger_minor - self.schedules_minor


def deferred_revenue(*, entity: LegalEntity, as_of: date) -> list[DeferredRow]:
    """Per customer and currency: the schedules' deferred revenue as of the date next to the credit
    balance of the ledger's deferred revenue accounts (posting dates up to the date)."""
    schedules: dict[tuple[int | None, str], int] = defaultdict(int)
    for balance in revenue.deferred_balances(entity=entity, as_of=as_of):
        schedules[(balance.customer_id, balance.currency)] += balance.amount_minor
    ledger: dict[tuple[int | None, str], int] = defaultdict(int)
    lines = (
        ledger_selectors.posted_lines(entity_ids=[entity.pk], as_of=as_of)
        .filter(account__type=AccountType.DEFERRED_REVENUE)
        .values("customer_id", "currency")
        .annotate(debit=Sum("debit_minor"), credit=Sum("credit_minor"))
        .order_by()
    )
    for line in lines:
        ledger[(line["customer_id"], line["currency"])] += line["credit"] - line["debit"]
    keys = {key for key, amount in schedules.items() if amount} | {
        key for key, amount in ledger.items() if amount
    }
    customer_ids = [customer_id for customer_id, _currency in keys if customer_id is not None]
    numbers = dict(
        customer_selectors.customer_list(entity_ids=[entity.pk])
        .filter(pk__in=customer_ids)
        .values_list("pk", "number")
    )
    rows = [
        DeferredRow(
            entity=entity.code,
            customer_number=numbers.get(customer_id, "") if customer_id is not None else "",
            currency=currency,
            schedules_minor=schedules.get((customer_id, currency), 0),
            ledger_minor=ledger.get((customer_id, currency), 0),
        )
        for customer_id, currency in keys
    ]
    rows.sort(key=lambda r: (r.currency, r.customer_number))
    return rows


def deferred_totals(rows: Sequence[DeferredRow]) -> list[DeferredRow]:
    """One total per currency (with an empty customer number), in currency order."""
    totals: dict[tuple[str, str], tuple[int, int]] = {}
    for row in rows:
        schedules, ledger = totals.get((row.entity, row.currency), (0, 0))
        totals[(row.entity, row.currency)] = (schedules + row.schedules_minor, ledger + row.ledger_minor)
    return [
        DeferredRow(entity_code, "", currency, schedules, ledger)
        for (entity_code, currency), (schedules, ledger) in sorted(totals.items())
    ]


# ── CRM bookings against the billing set-up ───────────────────────────────────────────────────────

CRM_KINDS = (
    "missing_in_billing",
    "missing_in_crm",
    "customer_mismatch",
    "product_mismatch",
    "currency_mismatch",
    "quantity_mismatch",
    "price_mismatch",
    "amount_mismatch",
    "start_date_mismatch",
    "end_date_mismatch",
)


@dataclass(frozen=True)
class CrmContract:
    """One contract of a CRM bookings export; `amount` is the CRM's recurring amount per period."""

    contract_number: str
    customer_number: str
    product_code: str
    currency: str
    start_date: date
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    end_date: date | None = None
    amount: Decimal | None = None


@dataclass(frozen=True)
class CrmDifference:
    entity: str
    contract_number: str
    customer_number: str
    kind: str
    crm_value: str
    billing_value: str


def crm_differences(
    *, entity: LegalEntity, contracts: Sequence[CrmContract], as_of: date
) -> list[CrmDifference]:
    """What differs between CRM contracts and the subscriptions of the same number: one difference per
    contract and kind. The billing side is the term in force on `as_of` (the first term before the
    start); subscriptions not ended by `as_of` that the CRM does not list are `missing_in_crm`."""
    subscriptions = {
        s.number: s
        for s in Subscription.objects.filter(entity=entity).select_related("customer").order_by("number")
    }
    catalogue = runs.catalogue_of(entity)
    terms = runs.terms_of([s.pk for s in subscriptions.values()])
    found: list[CrmDifference] = []
    for contract in contracts:
        subscription = subscriptions.get(contract.contract_number)
        if subscription is None:
            kinds = [("missing_in_billing", contract.contract_number, "")]
        else:
            kinds = _compare(contract, subscription, terms.get(subscription.pk, []), catalogue, as_of)
        found += [
            CrmDifference(entity.code, contract.contract_number, contract.customer_number, kind, crm, billing)
            for kind, crm, billing in kinds
        ]
    listed = {contract.contract_number for contract in contracts}
    for number, subscription in subscriptions.items():
        if number in listed or (subscription.end_date is not None and subscription.end_date < as_of):
            continue
        found.append(
            CrmDifference(entity.code, number, subscription.customer.number, "missing_in_crm", "", number)
        )
    order = {kind: index for index, kind in enumerate(CRM_KINDS)}
    found.sort(key=lambda d: (d.contract_number, order[d.kind]))
    return found


def _compare(
    contract: CrmContract,
    subscription: Subscription,
    terms: list[SubscriptionTerm],
    catalogue: runs.Catalogue,
    as_of: date,
) -> list[tuple[str, str, str]]:
    """(kind, CRM value, billing value) for each field that differs."""
    found: list[tuple[str, str, str]] = []

    def differs(kind: str, crm: str, billing: str) -> None:
        found.append((kind, crm, billing))

    if contract.customer_number != subscription.customer.number:
        differs("customer_mismatch", contract.customer_number, subscription.customer.number)
    if contract.currency != subscription.currency:
        differs("currency_mismatch", contract.currency, subscription.currency)
    if contract.start_date != subscription.start_date:
        differs("start_date_mismatch", contract.start_date.isoformat(), subscription.start_date.isoformat())
    if contract.end_date != subscription.end_date:
        differs("end_date_mismatch", _iso(contract.end_date), _iso(subscription.end_date))
    in_force = [t for t in terms if t.effective_from <= as_of][-1:] or terms[:1]
    if not in_force:
        differs("product_mismatch", contract.product_code, "")
        return found
    term = in_force[0]
    product = catalogue.products[term.product_id]
    if contract.product_code != product.code:
        differs("product_mismatch", contract.product_code, product.code)
    if contract.quantity is not None and not product.metric and contract.quantity != term.quantity:
        differs(
            "quantity_mismatch",
            presenters.quantity_text(contract.quantity),
            presenters.quantity_text(term.quantity),
        )
    definition = catalogue.prices.get((term.product_id, contract.currency))
    if contract.unit_price is not None:
        crm_price = presenters.price_text(contract.unit_price, contract.currency)
        if definition is None:
            differs("price_mismatch", crm_price, "")  # the product has no price in that currency
        else:
            effective = _effective_unit_price(definition, term, product.metric != "")
            places = max(currency_decimals(contract.currency), _decimals(contract.unit_price))
            if _rounded(effective, places) != _rounded(contract.unit_price, places):
                differs("price_mismatch", crm_price, presenters.price_text(effective, contract.currency))
    if contract.amount is not None and definition is not None and not product.metric:
        full = rating.period_price_minor(definition, term.quantity, discount_percent=term.discount_percent)
        discounted = subscription.discount_until is None or subscription.discount_until >= as_of
        billing_minor = max(0, full - (subscription.discount_amount_minor if discounted else 0))
        crm_minor = to_minor(contract.amount, contract.currency)
        if crm_minor != billing_minor:
            differs(
                "amount_mismatch",
                format_minor(crm_minor, contract.currency),
                format_minor(billing_minor, contract.currency),
            )
    return found


def _effective_unit_price(
    definition: rating.PriceDefinition, term: SubscriptionTerm, metered: bool
) -> Decimal:
    """The unit price an invoice shows for the term's quantity (the list price for flat and per-unit
    prices, the tier price or the average for the others), after the term's discount percent."""
    quantity = term.quantity if term.quantity > 0 and not metered else Decimal(1)
    full = rating.period_price_minor(definition, quantity)
    listed = rating.unit_price_shown(full, quantity, definition.currency, definition)
    effective = listed * (rating.HUNDRED - term.discount_percent) / rating.HUNDRED
    return effective.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _rounded(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _iso(value: date | None) -> str:
    return value.isoformat() if value is not None else ""
