"""Payment behaviour per customer (days to pay, days late, their trend) and the high-risk accounts
listed for review with their reasons, on hand-built histories."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from o2c.collections import services as collection_services
from o2c.core.money import Money
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.models import Document
from o2c.reporting import exports, risk, selectors
from tests.conftest import customer_in, issued_invoice

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 9, 30)  # the last 90 days: 2026-07-03 to 09-30; the 90 before: 04-04 to 07-02


def _pay(invoice: Document, amount_minor: int, day: date, now: datetime) -> None:
    receivable_services.allocation_create(
        document_id=invoice.pk,
        kind="payment",
        amount_minor=amount_minor,
        posting_date=day,
        actor=None,
        now=now,
    )


@pytest.fixture
def slow_payer(customer: Customer, now: datetime) -> Customer:
    """NET30, a credit limit of 1,000.00; 1,190.00 open since April; paid 10 days late in April and
    30 days late in July."""
    Customer.objects.filter(pk=customer.pk).update(credit_limit_minor=100000)
    issued_invoice(customer, issue_date=date(2026, 3, 2))  # due 04-01, open: 182 days past due
    _pay(issued_invoice(customer, issue_date=date(2026, 3, 2)), 119000, date(2026, 4, 11), now)
    _pay(issued_invoice(customer, issue_date=date(2026, 6, 1)), 119000, date(2026, 7, 31), now)
    return customer


def test_days_to_pay_and_days_late_are_weighted_by_the_cash_applied(
    entity: LegalEntity, customer: Customer, now: datetime
) -> None:
    early = issued_invoice(customer, issue_date=date(2026, 7, 1))  # due 07-31
    late = issued_invoice(customer, issue_date=date(2026, 7, 1))
    _pay(early, 119000, date(2026, 7, 21), now)  # 20 days to pay, 10 days early
    _pay(late, 59500, date(2026, 8, 30), now)  # 60 days to pay, 30 days late, half of it

    behaviour = risk.payment_behaviour(entity_ids=[entity.pk], first=date(2026, 7, 1), last=AS_OF)

    # (1,190.00 x 20 + 595.00 x 60) / 1,785.00 = 33.3; (1,190.00 x -10 + 595.00 x 30) / 1,785.00 = 3.3
    assert behaviour == {(customer.pk, "EUR"): risk.Behaviour(Decimal("33.3"), Decimal("3.3"), 178500)}


def test_an_account_well_past_due_paying_slower_and_over_its_limit_is_flagged_with_its_reasons(
    entity: LegalEntity, slow_payer: Customer
) -> None:
    [account] = risk.accounts(entity_ids=[entity.pk], as_of=AS_OF)

    assert (account.customer_number, account.currency, account.open_minor, account.over_90_minor) == (
        slow_payer.number,
        "EUR",
        119000,
        119000,
    )
    assert (account.recent, account.previous) == (
        risk.Behaviour(Decimal("60.0"), Decimal("30.0"), 119000),
        risk.Behaviour(Decimal("40.0"), Decimal("10.0"), 119000),
    )
    assert account.trend_days == Decimal("20.0")
    assert account.flags == ["well_past_due", "paying_slower", "over_credit_limit"]
    assert risk.reasons(account) == [
        "1190.00 EUR of 1190.00 EUR is over 90 days past due",
        "pays 30.0 days late over the last 90 days, 10.0 the 90 before",
        "owes 1190.00 EUR against a credit limit of 1000.00 EUR",
    ]


def test_a_customer_paying_on_time_with_nothing_overdue_is_not_listed_unless_all_are_asked_for(
    entity: LegalEntity, now: datetime
) -> None:
    punctual = customer_services.customer_create(
        entity=entity, data=customer_in("C-2000"), actor=None, now=now
    )
    _pay(issued_invoice(punctual, issue_date=date(2026, 8, 1)), 119000, date(2026, 8, 25), now)
    issued_invoice(punctual, issue_date=date(2026, 9, 15))  # not due yet

    assert risk.accounts(entity_ids=[entity.pk], as_of=AS_OF) == []
    [account] = risk.accounts(entity_ids=[entity.pk], as_of=AS_OF, flagged_only=False)
    assert (account.open_minor, account.over_90_minor, account.flags) == (119000, 0, [])
    assert account.recent == risk.Behaviour(Decimal("24.0"), Decimal("-6.0"), 119000)  # due 08-31
    assert (account.previous, account.trend_days) == (None, None)


def test_a_reversed_payment_weighs_nothing(entity: LegalEntity, customer: Customer, now: datetime) -> None:
    invoice = issued_invoice(customer, issue_date=date(2026, 7, 1))
    _pay(invoice, 119000, date(2026, 8, 10), now)
    allocation = invoice.allocations.get()
    receivable_services.allocation_reverse(
        allocation_id=allocation.pk,
        posting_date=date(2026, 8, 12),
        reason="wrong invoice",
        actor=None,
        now=now,
    )

    behaviour = risk.payment_behaviour(entity_ids=[entity.pk], first=date(2026, 7, 1), last=AS_OF)

    assert behaviour == {(customer.pk, "EUR"): risk.Behaviour(None, None, 0)}


def test_o2c_report_risk_lists_the_flagged_account_in_json_with_decimal_strings(
    entity: LegalEntity, slow_payer: Customer, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("report", "risk", "--as-of", "2026-09-30", "--format", "json")

    document = json.loads(capsys.readouterr().out)
    assert document == {
        "entity": entity.code,
        "as_of": "2026-09-30",
        "accounts": [
            {
                "entity": entity.code,
                "customer_number": slow_payer.number,
                "currency": "EUR",
                "open": "1190.00",
                "over_90": "1190.00",
                "credit_limit": "1000.00",
                "days_to_pay": "60.0",
                "days_late": "30.0",
                "days_late_before": "10.0",
                "flags": ["well_past_due", "paying_slower", "over_credit_limit"],
                "reasons": [
                    "1190.00 EUR of 1190.00 EUR is over 90 days past due",
                    "pays 30.0 days late over the last 90 days, 10.0 the 90 before",
                    "owes 1190.00 EUR against a credit limit of 1000.00 EUR",
                ],
            }
        ],
    }
    call_command("report", "risk", "--as-of", "2026-09-30", "--format", "csv")
    [row] = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert (row["flags"], row["days_late"]) == ("well_past_due paying_slower over_credit_limit", "30.0")


def test_a_promise_to_pay_broken_in_the_last_90_days_flags_the_account_and_counts_in_the_kpis(
    entity: LegalEntity, customer: Customer, now: datetime
) -> None:
    # 1,190.00 due 2026-08-31; 500.00 promised on 09-01 for 09-10, never paid: broken once the grace
    # (3 days, to 09-13) is over, judged on 09-14
    invoice = issued_invoice(customer, issue_date=date(2026, 8, 1))
    collection_services.promise_record(
        customer=customer,
        documents=[invoice],
        amount=Money(Decimal("500.00"), "EUR"),
        promised_date=date(2026, 9, 10),
        contact="Frau Berg",
        actor=None,
        now=now,
        made_on=date(2026, 9, 1),
    )
    collection_services.promises_review(entity=entity, as_of=date(2026, 9, 20), actor=None, now=now)

    [account] = risk.accounts(entity_ids=[entity.pk], as_of=AS_OF)

    assert (account.flags, account.broken_promises, account.broken_promises_minor) == (
        ["broken_promises"],
        1,
        50000,
    )
    assert risk.reasons(account) == ["broke 1 promise to pay of 500.00 EUR in the last 90 days"]
    report = selectors.kpis(entity=entity, as_of=AS_OF)
    assert (report.kpis.broken_promises, report.kpis.broken_promises_minor) == (1, 50000)
    values = exports.kpi_values(report)
    assert (values["broken_promises"], values["broken_promises_amount"]) == (1, "500.00")
    # a month later it is out of the CEI month, still within the account's 90 days
    later = selectors.kpis(entity=entity, as_of=date(2026, 10, 31)).kpis
    assert (later.broken_promises, later.broken_promises_minor) == (0, 0)
    assert risk.accounts(entity_ids=[entity.pk], as_of=date(2026, 10, 31))[0].broken_promises == 1
