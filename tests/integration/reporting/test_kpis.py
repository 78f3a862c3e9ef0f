"""Each KPI of `o2c report kpis` against a worked example, with its arithmetic written out here and in
docs/kpis.md. Entity MAIN (EUR), customer C-1000 (NET30), invoices without tax so the figures stay
round; report date 2026-03-31 (a month end: the months are calendar months)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from o2c.cash import workbench
from o2c.cash.workbench import ApplyLine
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger import services as ledger_services
from o2c.ledger.models import LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.reporting import calculations, selectors
from tests.conftest import NOW, customer_in, issued_credit_memo, issued_invoice
from tests.integration.reporting.history import at, received

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 3, 31)


def _invoice(customer: Customer, amount: str, day: date):
    return issued_invoice(
        customer, issue_date=day, lines=[LineIn("Services", Decimal(1), Decimal(amount), Decimal(0))]
    )


@pytest.fixture
def worked_example(entity: LegalEntity, customer: Customer) -> None:
    """
    - 2025-11-20 invoice 1,500.00, due 2025-12-20, disputed, never paid
    - 2026-01-10 invoice 3,000.00, due 2026-02-09, paid in full on 2026-02-15
    - 2026-02-10 invoice 2,000.00, due 2026-03-12, 1,200.00 paid on 2026-03-10
    - 2026-03-05 invoice 4,000.00, due 2026-04-04, credited 500.00 on 2026-03-25
    - 2026-03-20 invoice 1,000.00, due 2026-04-19
    - 2026-03-28 250.00 received from somebody nobody knows
    """
    november = _invoice(customer, "1500.00", date(2025, 11, 20))
    january = _invoice(customer, "3000.00", date(2026, 1, 10))
    february = _invoice(customer, "2000.00", date(2026, 2, 10))
    march = _invoice(customer, "4000.00", date(2026, 3, 5))
    _invoice(customer, "1000.00", date(2026, 3, 20))
    receivable_services.disputed_flag_set(
        document_id=november.pk, is_disputed=True, reason="price", actor=None, now=NOW
    )
    paid = received(entity, "3000.00", "K1", date(2026, 2, 15), "Zahlstelle Eins", "DE93500105170001111111")
    workbench.payment_apply(
        payment_id=paid.pk,
        lines=[ApplyLine(january.pk, Decimal("3000.00"))],
        actor=None,
        now=at(paid.value_date),
    )
    part = received(entity, "1200.00", "K2", date(2026, 3, 10), "Zahlstelle Zwei", "DE62500105170002222222")
    workbench.payment_apply(
        payment_id=part.pk,
        lines=[ApplyLine(february.pk, Decimal("1200.00"))],
        actor=None,
        now=at(part.value_date),
    )
    issued_credit_memo(march, amount=Decimal("500.00"), issue_date=date(2026, 3, 25))
    received(entity, "250.00", "K3", date(2026, 3, 28), "Zahlstelle Drei", "DE31500105170003333333")


class TestWorkedExample:
    """Open on 2026-03-31 (due basis): November 1,500.00 (101 days past due: 91-120), February 800.00
    (19 days: 1-30), March 3,500.00 and 1,000.00 (not yet due: current). Receivables 6,800.00, current
    4,500.00, over 90 days 1,500.00. Net credit sales of the last 90 days (2026-01-01..2026-03-31):
    3,000 + 2,000 + 4,000 + 1,000 - 500 = 9,500.00."""

    def test_the_inputs(self, entity, worked_example):
        inputs = selectors.kpis(entity=entity, as_of=AS_OF).inputs
        assert inputs.buckets == (450000, 80000, 0, 0, 150000, 0)
        assert inputs.receivables_minor == 680000
        assert inputs.sales_window_minor == 950000
        # March 4,000 + 1,000 - 500; February 2,000; January 3,000; nothing before but November's 1,500
        assert [(p.days, p.sales_minor) for p in inputs.months[:5]] == [
            (31, 450000),
            (28, 200000),
            (31, 300000),
            (31, 0),
            (30, 150000),
        ]
        # open on 2026-02-28: November 1,500.00 and February 2,000.00 (January was paid on 2026-02-15)
        assert inputs.beginning_receivables_minor == 350000
        assert (inputs.unapplied_minor, inputs.disputed_minor) == (25000, 150000)

    def test_dso_is_receivables_over_the_sales_of_90_days_times_90(self, entity, worked_example):
        # 6,800 / 9,500 x 90 = 64.4210... -> 64.42
        kpis = selectors.kpis(entity=entity, as_of=AS_OF).kpis
        assert calculations.rounded(kpis.dso) == Decimal("64.42")

    def test_countback_dso_walks_back_months_until_the_receivables_are_used_up(self, entity, worked_example):
        # March takes 4,500 of 6,800 (31 days, 2,300 left), February 2,000 (28 days, 300 left),
        # January covers the last 300 of its 3,000: 31 x 300 / 3,000 = 3.1 days -> 31 + 28 + 3.1 = 62.10
        kpis = selectors.kpis(entity=entity, as_of=AS_OF).kpis
        assert calculations.rounded(kpis.dso_countback) == Decimal("62.10")

    def test_best_possible_dso_counts_only_current_receivables(self, entity, worked_example):
        # 4,500 / 9,500 x 90 = 42.6315... -> 42.63
        kpis = selectors.kpis(entity=entity, as_of=AS_OF).kpis
        assert calculations.rounded(kpis.best_possible_dso) == Decimal("42.63")

    def test_average_days_delinquent_is_dso_less_best_possible_dso(self, entity, worked_example):
        # 64.4210... - 42.6315... = 21.7894... -> 21.79 (from the unrounded figures)
        kpis = selectors.kpis(entity=entity, as_of=AS_OF).kpis
        assert calculations.rounded(kpis.average_days_delinquent) == Decimal("21.79")

    def test_cei_is_what_was_collected_of_what_could_be_collected_in_the_month(self, entity, worked_example):
        # March: beginning 3,500 + sales 4,500 - ending 6,800 = 1,200 collected, of
        # 3,500 + 4,500 - current 4,500 = 3,500 collectible: 1,200 / 3,500 x 100 = 34.2857... -> 34.29
        kpis = selectors.kpis(entity=entity, as_of=AS_OF).kpis
        assert calculations.rounded(kpis.cei) == Decimal("34.29")

    def test_percent_current_and_over_90(self, entity, worked_example):
        # 4,500 / 6,800 = 66.1764...% -> 66.18; 1,500 / 6,800 = 22.0588...% -> 22.06
        kpis = selectors.kpis(entity=entity, as_of=AS_OF).kpis
        assert calculations.rounded(kpis.percent_current) == Decimal("66.18")
        assert calculations.rounded(kpis.percent_over_90) == Decimal("22.06")

    def test_unapplied_cash_and_the_disputed_amount(self, entity, worked_example):
        kpis = selectors.kpis(entity=entity, as_of=AS_OF).kpis
        assert (kpis.unapplied_minor, kpis.disputed_minor) == (25000, 150000)

    def test_a_month_earlier_the_figures_are_those_of_that_date(self, entity, worked_example):
        # 2026-02-28: open November 1,500 (70 days past due) and February 2,000 (current); sales of
        # 2025-11-30..2026-02-28: 3,000 + 2,000 = 5,000; DSO 3,500 / 5,000 x 90 = 63.00; best 36.00;
        # countback: February 2,000 (28 days, 1,500 left), January 3,000 covers it: 28 + 31 x 0.5 = 43.50
        # CEI over February: (beginning 4,500 [November 1,500 + January 3,000] + 2,000 - 3,500) /
        # (4,500 + 2,000 - 2,000) = 3,000 / 4,500 = 66.67
        kpis = selectors.kpis(entity=entity, as_of=date(2026, 2, 28)).kpis
        assert [
            calculations.rounded(value)
            for value in (
                kpis.dso,
                kpis.best_possible_dso,
                kpis.dso_countback,
                kpis.cei,
                kpis.percent_over_90,
            )
        ] == [Decimal("63.00"), Decimal("36.00"), Decimal("43.50"), Decimal("66.67"), Decimal("0.00")]
        assert (kpis.unapplied_minor, kpis.disputed_minor) == (0, 150000)


class TestForeignCurrency:
    def test_other_currencies_count_at_the_rate_of_the_report_date(self, entity, customer, now):
        ledger_services.fx_rates_import(
            rates=[
                ledger_services.FxRateIn(date(2026, 1, 1), "USD", "EUR", Decimal("0.9")),
                ledger_services.FxRateIn(date(2026, 3, 31), "USD", "EUR", Decimal("0.8")),
            ],
            source="test",
            now=now,
        )
        american = customer_services.customer_create(
            entity=entity,
            data=customer_in("C-US", name="Acme Inc.", country="US", currency="USD"),
            actor=None,
            now=now,
        )
        _invoice(american, "1000.00", date(2026, 3, 1))  # booked at 0.9: EUR 900.00 in the ledger
        _invoice(customer, "1000.00", date(2026, 3, 1))

        inputs = selectors.kpis(entity=entity, as_of=AS_OF).inputs

        # USD 1,000.00 at the rate of 2026-03-31 (0.8) is EUR 800.00, beside EUR 1,000.00
        assert inputs.buckets[0] == 180000
        assert inputs.sales_window_minor == 180000
        # the day before the new rate, the rate of 2026-01-01 (0.9) applies
        assert selectors.kpis(entity=entity, as_of=date(2026, 3, 30)).inputs.buckets[0] == 190000


class TestWithoutSales:
    def test_ratios_are_undefined_not_zero(self, entity):
        kpis = selectors.kpis(entity=entity, as_of=AS_OF).kpis
        assert kpis == calculations.Kpis(
            dso=None,
            dso_countback=None,
            best_possible_dso=None,
            average_days_delinquent=None,
            cei=None,
            percent_current=None,
            percent_over_90=None,
            unapplied_minor=0,
            disputed_minor=0,
        )
