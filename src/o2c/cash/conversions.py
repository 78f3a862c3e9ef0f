"""Cash in one currency settling invoices in another (a customer pays a USD invoice in EUR).

The matcher converts the payment at the day's rate (`matcher.Conversion`). Each cash allocation it funds
gets a `CurrencyConversion` and two journal entries, since an entry has one transaction currency: the
payment's currency leaves unapplied cash for the currency conversion account, and the document's currency
comes out of that account into unapplied cash, from where the allocation settles the invoice as any other.
Both sides of the conversion account carry the same functional value, so it nets to zero in the
functional currency; what the payer's bank rate and the day's rate leave over is realised FX.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import User

from o2c.cash.matcher import Conversion, Decision
from o2c.cash.models import CurrencyConversion, Payment
from o2c.core.actors import actor_id
from o2c.core.money import allocate, currency_decimals
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.chart import CURRENCY_CONVERSION
from o2c.ledger.models import AccountType, LegalEntity
from o2c.ledger.rules import LineIn as PostingLine
from o2c.ledger.rules import convert_minor
from o2c.ledger.services import EntryIn
from o2c.receivables.functional import at_rate, effective_rate


def back_converted(amount_minor: int, conversion: Conversion) -> int:
    """Document-currency cash in the payment's currency at the conversion's rate, rounded half up."""
    shift = currency_decimals(conversion.from_currency) - currency_decimals(conversion.to_currency)
    exact = Decimal(amount_minor) / conversion.rate * Decimal(1).scaleb(shift)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def cash_per_line(decision: Decision, amount_minor: int) -> list[int]:
    """The payment's own cash funding each line's cash: all of it when the lines take all the converted
    amount (within the FX tolerance), else what they take converted back; split over the lines by their
    cash, so the parts sum to it exactly."""
    conversion = decision.conversion
    applied = decision.applied_minor
    if conversion is None or not applied:
        return [line.amount_minor for line in decision.lines]
    used = (
        amount_minor
        if applied >= conversion.converted_minor
        else min(amount_minor, back_converted(applied, conversion))
    )
    return allocate(used, [line.amount_minor for line in decision.lines])


@dataclass(frozen=True, slots=True)
class Converted:
    allocation_id: int
    from_minor: int
    to_minor: int


def post(
    payment: Payment,
    conversion: Conversion,
    parts: Sequence[Converted],
    *,
    entity: LegalEntity,
    posting_date: date,
    actor: User | None,
    now: datetime,
) -> None:
    """Record and post the conversions of one payment's cash allocations. The caller holds the
    transaction."""
    unapplied_id = ledger_selectors.account_id_for(entity=entity, type=AccountType.UNAPPLIED_CASH)
    clearing_id = ledger_services.account_by_code(entity=entity, code=CURRENCY_CONVERSION)
    functional = entity.currency
    rate_in = ledger_selectors.fx_rate_on(
        from_currency=conversion.from_currency, to_currency=functional, on=posting_date
    )
    entries: list[EntryIn] = []
    for part in parts:
        # the value both sides of the conversion account carry in the functional currency
        value = (
            part.to_minor
            if conversion.to_currency == functional
            else convert_minor(
                part.from_minor, from_currency=conversion.from_currency, to_currency=functional, rate=rate_in
            )
        )
        pay_out = [
            at_rate(
                PostingLine(
                    account_id=unapplied_id,
                    currency=conversion.from_currency,
                    debit_minor=part.from_minor,
                    customer_id=payment.customer_id,
                ),
                rate_in,
                functional_currency=functional,
            ),
            _valued(
                PostingLine(
                    account_id=clearing_id, currency=conversion.from_currency, credit_minor=part.from_minor
                ),
                value,
                functional,
            ),
        ]
        pay_in = [
            _valued(
                PostingLine(
                    account_id=clearing_id, currency=conversion.to_currency, debit_minor=part.to_minor
                ),
                value,
                functional,
            ),
            PostingLine(
                account_id=unapplied_id,
                currency=conversion.to_currency,
                credit_minor=part.to_minor,
                customer_id=payment.customer_id,
            ),
        ]
        description = (
            f"Conversion {part.from_minor} {conversion.from_currency} -> {part.to_minor} "
            f"{conversion.to_currency} for {payment.entry_reference or payment.pk}"
        )
        for side, lines in (("from", pay_out), ("to", pay_in)):
            entries.append(
                EntryIn(
                    posting_date=posting_date,
                    description=description[:200],
                    source_type="payment",
                    source_id=payment.pk,
                    idempotency_key=f"conversion:{part.allocation_id}:{side}",
                    lines=lines,
                )
            )
    ledger_services.journal_entries_post_bulk(
        entity=entity, entries=entries, now=now, created_by_id=actor_id(actor)
    )
    CurrencyConversion.objects.bulk_create(
        [
            CurrencyConversion(
                payment=payment,
                allocation_id=part.allocation_id,
                from_currency=conversion.from_currency,
                from_minor=part.from_minor,
                to_currency=conversion.to_currency,
                to_minor=part.to_minor,
                rate=conversion.rate,
                posting_date=posting_date,
                created_at=now,
            )
            for part in parts
        ]
    )


def _valued(line: PostingLine, value: int, functional: str) -> PostingLine:
    """The line pinned to a functional value (a line in the functional currency is its own value)."""
    if line.currency == functional or not value:
        return line
    amount = line.debit_minor or line.credit_minor
    rate = effective_rate(amount, value, currency=line.currency, functional_currency=functional)
    if line.debit_minor:
        return line._replace(functional_debit_minor=value, fx_rate=rate)
    return line._replace(functional_credit_minor=value, fx_rate=rate)


def reverse(allocation_ids: Iterable[int], *, posting_date: date, actor: User | None, now: datetime) -> int:
    """Undo the conversions of reversed cash allocations: the cash goes back to the payment's currency.
    Returns what came back, in the payment's currency."""
    back = 0
    for conversion in CurrencyConversion.objects.select_for_update().filter(
        allocation_id__in=list(allocation_ids), reversed_at__isnull=True
    ):
        for side in ("from", "to"):
            entry_id = ledger_selectors.entry_id_by_key(
                idempotency_key=f"conversion:{conversion.allocation_id}:{side}"
            )
            if entry_id is not None:
                ledger_services.journal_entry_reverse(
                    entry_id=entry_id,
                    posting_date=posting_date,
                    reason="conversion of a reversed application",
                    now=now,
                    actor=actor,
                )
        conversion.reversed_at = now
        conversion.save(update_fields=["reversed_at"])
        back += conversion.from_minor
    return back


def converted_cash(*, payment_ids: list[int] | None = None) -> dict[int, tuple[int, int]]:
    """Per payment, the cash its standing conversions took (payment currency) and gave (documents')."""
    rows = CurrencyConversion.objects.filter(reversed_at__isnull=True)
    if payment_ids is not None:
        rows = rows.filter(payment_id__in=payment_ids)
    totals: dict[int, tuple[int, int]] = {}
    for payment_id, from_minor, to_minor in rows.values_list("payment_id", "from_minor", "to_minor"):
        taken, given = totals.get(payment_id, (0, 0))
        totals[payment_id] = (taken + from_minor, given + to_minor)
    return totals
