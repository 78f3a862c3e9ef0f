"""Settling documents in a foreign currency relieves their receivable at the rates it was booked at, not
at the day's rate: the difference to the value of what settles them is the realised FX gain or loss,
which the ledger posts to the FX account (docs/adr/0001-functional-currency-and-fx.md, rule 5)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from o2c.core.money import currency_decimals
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.ledger.rules import LineIn as PostingLine
from o2c.ledger.rules import convert_minor
from o2c.receivables import calculations
from o2c.receivables.models import Document

_RATE_PLACES = Decimal(1).scaleb(-10)


def effective_rate(
    amount_minor: int, functional_minor: int, *, currency: str, functional_currency: str
) -> Decimal:
    """The rate one unit of `currency` had in this line: what the ledger stores beside the amounts."""
    if not amount_minor:
        return Decimal(1)
    shift = currency_decimals(currency) - currency_decimals(functional_currency)
    return (Decimal(functional_minor) / Decimal(amount_minor) * Decimal(1).scaleb(shift)).quantize(
        _RATE_PLACES
    )


class ReceivableRelief:
    """Pins the functional amount of receivable lines that settle foreign-currency documents.

    Built once for a set of documents (one query for their receivable balances); each pinned line takes
    its share off the running balance, so several settlements of one document in a batch add up to
    exactly what was booked."""

    def __init__(self, *, entity: LegalEntity, receivable_id: int, documents: Iterable[Document]) -> None:
        self.functional_currency = entity.currency
        foreign = [document.pk for document in documents if document.currency != entity.currency]
        self.balances = ledger_selectors.balances_by_document(account_id=receivable_id, document_ids=foreign)

    def pinned(self, line: PostingLine) -> PostingLine:
        document_id = line.document_id
        balance = self.balances.get(document_id) if document_id is not None else None
        if document_id is None or balance is None:
            return line
        open_minor, open_functional = balance
        amount = line.debit_minor - line.credit_minor
        relief = calculations.functional_relief(
            open_minor=open_minor, open_functional_minor=open_functional, amount_minor=-amount
        )
        self.balances[document_id] = (open_minor + amount, open_functional - relief)
        if not relief:
            return line
        return line._replace(
            functional_debit_minor=max(-relief, 0),
            functional_credit_minor=max(relief, 0),
            fx_rate=effective_rate(
                abs(amount), abs(relief), currency=line.currency, functional_currency=self.functional_currency
            ),
        )


def at_rate(line: PostingLine, rate: Decimal | None, *, functional_currency: str) -> PostingLine:
    """The line converted at a given rate (cash at the rate it was received at) instead of the day's."""
    if rate is None or line.currency == functional_currency:
        return line
    debit, credit = (
        convert_minor(minor, from_currency=line.currency, to_currency=functional_currency, rate=rate)
        for minor in (line.debit_minor, line.credit_minor)
    )
    if not debit and not credit:
        return line
    return line._replace(functional_debit_minor=debit, functional_credit_minor=credit, fx_rate=rate)
