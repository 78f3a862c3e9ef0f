"""Pure checks and calculations of the ledger: no queries, no clock."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from o2c.core.money import currency_decimals
from o2c.ledger.errors import UnableToConvertCurrency, UnableToPostJournalEntry


class LineIn(NamedTuple):
    """One side of a posting, in transaction-currency minor units (a tuple: imports build millions)."""

    account_id: int
    currency: str
    debit_minor: int = 0
    credit_minor: int = 0
    customer_id: int | None = None
    document_id: int | None = None
    memo: str = ""
    functional_debit_minor: int = 0
    functional_credit_minor: int = 0
    fx_rate: Decimal = Decimal(1)


def validate_lines(lines: Sequence[LineIn], *, fx_account_ids: frozenset[int] = frozenset()) -> None:
    """Two or more lines, one positive side each, one transaction currency, debits equal credits."""
    if len(lines) < 2:
        raise UnableToPostJournalEntry("a journal entry needs at least two lines", code="too_few_lines")
    currency = lines[0].currency
    debits = credits = 0
    for account_id, line_currency, debit, credit, _, _, _, _, _, _ in lines:  # no `*rest`: a list a line
        if line_currency != currency:
            currencies = sorted({line.currency for line in lines})
            raise UnableToPostJournalEntry(
                f"a journal entry has one transaction currency, not {', '.join(currencies)}",
                code="mixed_currencies",
            )
        if debit < 0 or credit < 0:
            raise UnableToPostJournalEntry("line amounts are never negative", code="negative_amount")
        if debit and credit:
            raise UnableToPostJournalEntry("a line is either a debit or a credit", code="two_sided_line")
        if not debit and not credit and account_id not in fx_account_ids:
            raise UnableToPostJournalEntry(
                "only FX lines may have no transaction-currency amount", code="empty_line"
            )
        debits += debit
        credits += credit
    if debits != credits:
        raise UnableToPostJournalEntry(f"debits {debits} and credits {credits} differ", code="unbalanced")


def convert_minor(amount_minor: int, *, from_currency: str, to_currency: str, rate: Decimal) -> int:
    """Convert minor units at `rate`, rounded half up to the target currency's minor unit."""
    if from_currency == to_currency:
        return amount_minor
    shift = currency_decimals(to_currency) - currency_decimals(from_currency)
    exact = Decimal(amount_minor) * rate * Decimal(1).scaleb(shift)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def with_functional_amounts(
    lines: Sequence[LineIn], *, functional_currency: str, rate: Decimal, fx_account_id: int | None
) -> list[LineIn]:
    """Each line converted at the rate of the posting date; the residue goes to the FX account.

    A line that arrives with a functional amount keeps it (a receivable relieved at the rate it was booked
    at, cash at the rate it was received at): the residue is then the realised FX difference, not only
    rounding. See docs/adr/0001-functional-currency-and-fx.md.
    """
    if not lines:
        return []
    # the factor from transaction minor units to functional minor units, once per entry
    shift = currency_decimals(functional_currency) - currency_decimals(lines[0].currency)
    factor = rate * Decimal(1).scaleb(shift)
    one = Decimal(1)

    def convert(amount_minor: int) -> int:
        if not amount_minor:
            return 0
        return int((amount_minor * factor).quantize(one, rounding=ROUND_HALF_UP))

    pinned = False
    converted = []
    for line in lines:
        if line.functional_debit_minor or line.functional_credit_minor:
            pinned = True
            converted.append(line)
            continue
        converted.append(
            line._replace(
                functional_debit_minor=convert(line.debit_minor),
                functional_credit_minor=convert(line.credit_minor),
                fx_rate=rate,
            )
        )
    residue = sum(line.functional_debit_minor - line.functional_credit_minor for line in converted)
    if residue:
        if fx_account_id is None:
            raise UnableToConvertCurrency("the entity has no FX account", code="no_fx_account")
        converted.append(
            LineIn(
                account_id=fx_account_id,
                currency=lines[0].currency,
                functional_debit_minor=-residue if residue < 0 else 0,
                functional_credit_minor=residue if residue > 0 else 0,
                fx_rate=rate,
                memo="Realised FX difference" if pinned else "FX rounding",
            )
        )
    return converted


def reversed_lines(lines: Sequence[LineIn]) -> list[LineIn]:
    return [
        line._replace(
            debit_minor=line.credit_minor,
            credit_minor=line.debit_minor,
            functional_debit_minor=line.functional_credit_minor,
            functional_credit_minor=line.functional_debit_minor,
        )
        for line in lines
    ]
