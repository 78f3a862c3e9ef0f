"""Pure rules of settling documents: the VAT inside an early-payment discount and the functional share a
settlement of a foreign-currency document relieves."""

from __future__ import annotations

from decimal import Decimal

import pytest

from o2c.ledger.rules import LineIn
from o2c.receivables.calculations import discount_tax_part, functional_relief
from o2c.receivables.functional import at_rate, effective_rate
from o2c.receivables.models import Document
from o2c.receivables.services import discount_lines


@pytest.mark.parametrize(
    ("discount", "tax", "total", "expected"),
    [
        (2380, 19000, 119000, 380),  # 2 % of 1,190.00 at 19 %: 3.80
        (2140, 7000, 107000, 140),  # 7 % reduced rate
        (1001, 19000, 119000, 160),  # 1.5983... rounds half up to 1.60
        (500, 0, 10000, 0),  # no VAT on the invoice
    ],
)
def test_the_vat_inside_a_discount_is_the_invoices_tax_share(
    discount: int, tax: int, total: int, expected: int
) -> None:
    assert discount_tax_part(discount_minor=discount, tax_minor=tax, total_minor=total) == expected


def _document(tax_minor: int = 19000, total_minor: int = 119000) -> Document:
    return Document(pk=7, tax_minor=tax_minor, total_minor=total_minor, currency="EUR")


def test_a_german_discount_is_split_into_net_and_output_vat() -> None:
    counter = LineIn(account_id=1, currency="EUR", debit_minor=2380, customer_id=3, document_id=7)

    lines = discount_lines(counter, document=_document(), country="DE", tax_id=9)

    assert lines == [
        LineIn(account_id=1, currency="EUR", debit_minor=2000, customer_id=3, document_id=7),
        LineIn(
            account_id=9, currency="EUR", debit_minor=380, document_id=7, memo="VAT on early-payment discount"
        ),
    ]


def test_a_credit_memos_discount_mirrors_it() -> None:
    counter = LineIn(account_id=1, currency="EUR", credit_minor=2380, customer_id=3, document_id=7)

    lines = discount_lines(counter, document=_document(-19000, -119000), country="FR", tax_id=9)

    assert [(line.account_id, line.debit_minor, line.credit_minor) for line in lines] == [
        (1, 0, 2000),
        (9, 0, 380),
    ]


def test_a_us_sellers_discount_leaves_sales_tax_as_invoiced() -> None:
    counter = LineIn(account_id=1, currency="USD", debit_minor=2380, customer_id=3, document_id=7)

    assert discount_lines(counter, document=_document(), country="US", tax_id=9) == [counter]


@pytest.mark.parametrize(
    ("open_minor", "open_functional", "amount", "expected"),
    [
        (119000, 107100, 119000, 107100),  # settles it: all that is left
        (119000, 107100, 50000, 45000),  # its share
        (100, 33, 1, 0),  # 0.33 rounds to 0
        (3, 100, 1, 33),  # 33.33 rounds half up to 33
        (3, 101, 2, 67),  # 67.33
        (-11900, -11305, -11900, -11305),  # a credit memo settled: signed like its balance
    ],
)
def test_a_settlement_relieves_its_share_of_the_functional_balance(
    open_minor: int, open_functional: int, amount: int, expected: int
) -> None:
    relief = functional_relief(
        open_minor=open_minor, open_functional_minor=open_functional, amount_minor=amount
    )
    assert relief == expected


def test_parts_of_a_settlement_add_up_to_the_booked_amount() -> None:
    open_minor, functional, relieved = 100000, 33333, []
    for part in (33333, 33333, 33334):
        share = functional_relief(open_minor=open_minor, open_functional_minor=functional, amount_minor=part)
        relieved.append(share)
        open_minor, functional = open_minor - part, functional - share
    assert sum(relieved) == 33333
    assert (open_minor, functional) == (0, 0)


def test_cash_kept_at_its_receipt_rate() -> None:
    line = LineIn(account_id=1, currency="USD", debit_minor=119000)
    assert at_rate(line, Decimal("0.95"), functional_currency="EUR") == line._replace(
        functional_debit_minor=113050, fx_rate=Decimal("0.95")
    )
    assert at_rate(line, None, functional_currency="EUR") == line
    assert effective_rate(119000, 107100, currency="USD", functional_currency="EUR") == Decimal(
        "0.9000000000"
    )
    assert effective_rate(10000, 15000, currency="JPY", functional_currency="EUR") == Decimal("0.0150000000")
