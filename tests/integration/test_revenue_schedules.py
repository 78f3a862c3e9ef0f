"""Revenue schedules: advance billing defers revenue and releases it monthly, ratably, tying to the
ledger's deferred revenue account."""

from __future__ import annotations

from datetime import date

import pytest

from o2c.billing import checks, revenue, services
from o2c.billing.models import RevenueRelease
from o2c.customers import services as customer_services
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from tests.conftest import NOW, customer_in
from tests.integration.test_billing_runs import product, run, subscribe

pytestmark = pytest.mark.django_db


def balances(entity: LegalEntity, as_of: date) -> dict[str, tuple[str, str]]:
    """(debit, credit) balance per account type from the trial balance (zero balances are left out)."""
    rows = ledger_selectors.trial_balance(entity_ids=[entity.pk], as_of=as_of)
    return {row.account_type: (row.debit_minor, row.credit_minor) for row in rows}  # type: ignore[misc]


@pytest.fixture
def yearly_support(entity: LegalEntity) -> None:
    customer_services.customer_create(entity=entity, data=customer_in("C-DE"), actor=None, now=NOW)
    services.products_import(
        entity=entity, products=[product("SUPPORT", "flat", "1200.00", period="year")], actor=None, now=NOW
    )
    subscribe(entity, "S-Y", "C-DE", "SUPPORT", "1", date(2026, 7, 1))


def test_month_parts_sum_to_the_line_and_follow_the_days() -> None:
    # 604.51 over Jul-Dec (184 days): 60451 × 31 / 184 = 10184.68 for the 31-day months, 9856.14 for
    # the 30-day ones; floors sum to 60448 and the three largest remainders (Jul, Aug, Oct) take a cent
    assert revenue.month_parts(60451, date(2026, 7, 1), date(2026, 12, 31)) == [
        (date(2026, 7, 1), 10185),
        (date(2026, 8, 1), 10185),
        (date(2026, 9, 1), 9856),
        (date(2026, 10, 1), 10185),
        (date(2026, 11, 1), 9856),
        (date(2026, 12, 1), 10184),
    ]


def test_advance_billing_defers_later_months_and_releases_them_month_by_month(entity, yearly_support) -> None:
    run(entity, date(2026, 7, 1))
    # July's 101.85 is revenue at once; August to December (502.66) wait in deferred revenue
    assert balances(entity, date(2026, 7, 31))["revenue"] == (0, 10185)
    assert balances(entity, date(2026, 7, 31))["deferred_revenue"] == (0, 50266)
    assert revenue.deferred_balances(entity=entity, as_of=date(2026, 7, 31))[0].amount_minor == 50266

    run(entity, date(2026, 9, 1))  # an issuing run releases what is due: August and September
    assert RevenueRelease.objects.filter(released=True).count() == 2
    tb = balances(entity, date(2026, 9, 30))
    assert tb["deferred_revenue"] == (0, 30225)  # 502.66 − 101.85 − 98.56 = 302.25 left
    assert tb["revenue"] == (0, 10185 + 10185 + 9856)
    [deferred] = revenue.deferred_balances(entity=entity, as_of=date(2026, 9, 30))
    assert deferred.amount_minor == 50266 - 20041
    assert checks.deferred_revenue_equals_schedules() == []
    # releasing again changes nothing
    assert revenue.recognize(entity=entity, as_of=date(2026, 9, 1), now=NOW).entries == 0


def test_a_cancellation_credit_undoes_the_deferral_of_the_cancelled_months(entity, yearly_support) -> None:
    from o2c.billing.models import Subscription

    run(entity, date(2026, 7, 1))
    services.subscription_end_set(
        subscription_id=Subscription.objects.get().pk, end_date=date(2026, 9, 30), actor=None, now=NOW
    )
    [credit] = run(entity, date(2026, 10, 1)).documents
    # kept: Jul-Sep, 92 days of 1,200.00/365: days 182-273 all take the residue cent (280 of them):
    # 92 × 3.29 = 302.68; credited 604.51 − 302.68 = 301.83 for October to December
    assert credit.net_minor == -30183
    assert (credit.lines[0].period_start, credit.lines[0].period_end) == (
        date(2026, 10, 1),
        date(2026, 12, 31),
    )
    # the credit's own schedule (Oct 101.71, Nov 98.42, Dec 101.70) cancels the invoice's remaining
    # months (Nov 98.56, Dec 101.84) down to the cents the two day-splits round differently
    tb = balances(entity, date(2026, 10, 31))
    debit, credit_minor = tb["deferred_revenue"]
    assert credit_minor - debit == (9856 - 9842) + (10184 - 10170)
    assert [b.amount_minor for b in revenue.deferred_balances(entity=entity, as_of=date(2026, 10, 31))] == [
        credit_minor - debit
    ]
    # and once December is released, revenue is exactly what was kept: 302.68
    run(entity, date(2026, 12, 1))
    debit, credit_minor = balances(entity, date(2026, 12, 31))["revenue"]
    assert credit_minor - debit == 30268
    assert "deferred_revenue" not in balances(entity, date(2026, 12, 31))  # nothing left deferred
    assert checks.deferred_revenue_equals_schedules() == []
