"""The AR rollforward of a month: opening + invoices - credit memos - cash - discounts = closing, each
movement drillable to its journal lines, tying to the ledger and to the open items."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from o2c.close import services
from o2c.customers.models import Customer
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import AccountType, LegalEntity
from o2c.ledger.rules import LineIn
from o2c.receivables import services as receivable_services
from o2c.reporting import rollforward as selectors
from tests.conftest import issued_credit_memo, issued_invoice

pytestmark = pytest.mark.django_db

FEBRUARY = date(2026, 2, 1)


@pytest.fixture
def february(entity: LegalEntity, customer: Customer, now: datetime) -> dict[str, int]:
    """January's invoice A stays open into February; in February invoice B is issued, a credit memo of
    100.00 corrects it, 500.00 is paid on A and a 10.00 discount granted on it."""
    a = issued_invoice(customer, issue_date=date(2026, 1, 20))  # 1,190.00
    b = issued_invoice(customer, issue_date=date(2026, 2, 5))  # 1,190.00
    issued_credit_memo(b, amount=Decimal("100.00"), issue_date=date(2026, 2, 12))
    for kind, amount, day in (("payment", 50000, date(2026, 2, 10)), ("discount", 1000, date(2026, 2, 15))):
        receivable_services.allocation_create(
            document_id=a.pk, kind=kind, amount_minor=amount, posting_date=day, actor=None, now=now
        )
    issued_invoice(customer, issue_date=date(2026, 3, 2))  # March: not in February's rollforward
    return {"a": a.pk, "b": b.pk}


def test_the_rollforward_of_a_month_adds_up_and_ties_to_ledger_and_open_items(
    entity: LegalEntity, february: dict[str, int]
) -> None:
    report = selectors.rollforward(entity=entity, start=FEBRUARY)

    [row] = report.rows
    assert (row.currency, row.opening_minor) == ("EUR", 119000)
    assert row.movements_minor == {
        "invoices": 119000,
        "credit_memos": -10000,
        "cash_applied": -50000,
        "discounts": -1000,
        "write_offs": 0,
        "credit_memos_applied": 0,  # the memo settles B: both are receivables, the account nets to zero
        "migrated": 0,
        "other": 0,
    }
    # 1,190.00 + 1,190.00 - 100.00 - 500.00 - 10.00 = 1,770.00
    assert row.closing_minor == 119000 + 119000 - 10000 - 50000 - 1000 == 177000
    assert (row.subledger_closing_minor, row.difference_minor) == (177000, 0)
    assert (report.start, report.end, report.late_entries) == (date(2026, 2, 1), date(2026, 2, 28), [])


def test_each_movement_lists_the_lines_behind_it(
    entity: LegalEntity, customer: Customer, february: dict[str, int]
) -> None:
    [cash] = selectors.rollforward_lines(entity=entity, start=FEBRUARY, movement="cash_applied")
    assert (cash.posting_date, cash.customer_number, cash.currency, cash.amount_minor) == (
        date(2026, 2, 10),
        customer.number,
        "EUR",
        -50000,
    )
    applied = selectors.rollforward_lines(entity=entity, start=FEBRUARY, movement="credit_memos_applied")
    assert sorted(line.amount_minor for line in applied) == [-10000, 10000]
    assert (
        selectors.rollforward_lines(entity=entity, start=FEBRUARY, movement="invoices", currency="USD") == []
    )


def test_a_late_invoice_is_listed_in_the_month_it_posted_in(
    entity: LegalEntity, customer: Customer, now: datetime
) -> None:
    services.period_close(entity=entity, start=FEBRUARY, actor=None, now=now)
    issued_invoice(customer, issue_date=date(2026, 2, 25))

    february = selectors.rollforward(entity=entity, start=FEBRUARY)
    march = selectors.rollforward(entity=entity, start=date(2026, 3, 1))

    assert february.rows == []
    [row] = march.rows
    assert (row.movements_minor["invoices"], row.closing_minor, row.difference_minor) == (119000, 119000, 0)
    [late] = march.late_entries
    assert (late.dated, late.posting_date, late.currency, late.receivable_minor) == (
        date(2026, 2, 25),
        date(2026, 3, 1),
        "EUR",
        119000,
    )


def test_a_receivable_posted_past_the_subledger_is_a_tie_out_difference_and_the_close_says_so(
    entity: LegalEntity, customer: Customer, february: dict[str, int], now: datetime
) -> None:
    receivable = ledger_selectors.account_for(entity=entity, type=AccountType.RECEIVABLE).pk
    revenue = ledger_selectors.account_for(entity=entity, type=AccountType.REVENUE).pk
    ledger_services.journal_entry_post(  # a manual entry on the control account, no document behind it
        entity=entity,
        lines=[
            LineIn(account_id=receivable, currency="EUR", debit_minor=2500, customer_id=customer.pk),
            LineIn(account_id=revenue, currency="EUR", credit_minor=2500),
        ],
        posting_date=date(2026, 2, 20),
        description="manual",
        source_type="manual",
        source_id=None,
        idempotency_key="manual:1",
        now=now,
    )

    [difference] = selectors.tie_out(entity=entity, as_of=date(2026, 2, 28))
    [row] = selectors.rollforward(entity=entity, start=FEBRUARY).rows
    result = services.period_close(entity=entity, start=FEBRUARY, actor=None, now=now)

    assert (difference.customer_number, difference.currency) == (customer.number, "EUR")
    assert (difference.subledger_minor, difference.ledger_minor, difference.difference_minor) == (
        177000,
        179500,
        2500,
    )
    assert (row.movements_minor["other"], row.closing_minor, row.difference_minor) == (2500, 179500, 2500)
    assert result.warnings[0] == (
        "open items differ from the receivable accounts on 2026-02-28 for 1 customers and currencies: "
        "see o2c report tie-out --as-of 2026-02-28"
    )
