"""The billing reports, worked by hand: unbilled revenue (elapsed arrears days, usage so far, periods a
run missed, late usage, ages and buckets), deferred revenue against the ledger, and the CRM comparison.
Amounts in cents; each comment shows the arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from o2c.billing import rating, reports, revenue, services
from o2c.billing.reports import CrmContract
from o2c.billing.services import UsageIn
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from tests.conftest import NOW, customer_in
from tests.integration.test_billing_runs import product, run, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(entity: LegalEntity) -> None:
    services.products_import(
        entity=entity,
        products=[
            product("SEAT", "per_unit", "10.00", name="Seats"),
            product("SEAT-ARR", "per_unit", "12.50", timing="arrears", name="Seats in arrears"),
            product(
                "API",
                "tiered",
                tiers="1000:0.10|*:0.05",
                timing="arrears",
                metric="api_calls",
                name="API calls",
            ),
            product("SUPPORT", "flat", "1200.00", period="year", name="Support"),
        ],
        actor=None,
        now=NOW,
    )


@pytest.fixture
def de_customer(entity: LegalEntity) -> Customer:
    return customer_services.customer_create(entity=entity, data=customer_in("C-DE"), actor=None, now=NOW)


def usage(entity: LegalEntity, *events: tuple[str, int, datetime]) -> None:
    services.usage_import(
        entity=entity,
        events=[UsageIn(event_id, "S-API", "api_calls", Decimal(q), at) for event_id, q, at in events],
        now=NOW,
    )


def unbilled(entity: LegalEntity, as_of: date) -> list[tuple[str, int, date, int, str]]:
    return [
        (row.subscription_number, row.amount_minor, row.service_from, row.age_days, row.bucket)
        for row in reports.unbilled_revenue(entity=entity, as_of=as_of)
    ]


class TestUnbilledRevenue:
    def test_an_arrears_subscription_shows_the_running_months_elapsed_days(
        self, entity, catalogue, de_customer
    ) -> None:
        subscribe(entity, "S-ARR", "C-DE", "SEAT-ARR", "10", date(2026, 1, 1))
        # January: 10 × 12.50 = 125.00 over 31 days = 4.03 a day, the first 7 days a cent more;
        # days 1-15: 15 × 4.03 + 0.07 = 60.52, 14 days old on the 15th
        assert (
            rating.prorate(
                12500, rating.period_of(date(2026, 1, 1), "month"), date(2026, 1, 1), date(2026, 1, 15)
            )
            == 6052
        )
        [row] = reports.unbilled_revenue(entity=entity, as_of=date(2026, 1, 15))
        assert row == reports.UnbilledRow(
            entity=entity.code,
            customer_number="C-DE",
            subscription_number="S-ARR",
            product_code="SEAT-ARR",
            currency="EUR",
            amount_minor=6052,
            service_from=date(2026, 1, 1),
            age_days=14,
            bucket="0_30",
        )

    def test_after_a_run_only_the_new_months_days_are_unbilled(self, entity, catalogue, de_customer) -> None:
        subscribe(entity, "S-ARR", "C-DE", "SEAT-ARR", "10", date(2026, 1, 1))
        run(entity, date(2026, 2, 1))  # bills January in full: 125.00
        # February: 125.00 over 28 days = 4.46 a day, the first 12 days a cent more;
        # days 1-10: 10 × 4.46 + 0.10 = 44.70
        assert unbilled(entity, date(2026, 2, 10)) == [("S-ARR", 4470, date(2026, 2, 1), 9, "0_30")]

    def test_the_last_day_of_the_month_is_the_whole_month_still_unbilled(
        self, entity, catalogue, de_customer
    ) -> None:
        subscribe(entity, "S-ARR", "C-DE", "SEAT-ARR", "10", date(2026, 1, 1))
        # arrears: a run bills January only after the 31st; on the 31st all of it is elapsed, unbilled
        assert unbilled(entity, date(2026, 1, 31)) == [("S-ARR", 12500, date(2026, 1, 1), 30, "0_30")]

    def test_usage_recorded_so_far_is_rated_with_the_price_model(
        self, entity, catalogue, de_customer
    ) -> None:
        subscribe(entity, "S-API", "C-DE", "API", "1", date(2026, 1, 1))
        usage(
            entity,
            ("e1", 900, datetime(2026, 1, 5, 10, tzinfo=UTC)),
            ("e2", 300, datetime(2026, 1, 12, 10, tzinfo=UTC)),
        )
        # 1,200 calls so far, graduated: 1,000 × 0.10 + 200 × 0.05 = 100.00 + 10.00 = 110.00
        assert unbilled(entity, date(2026, 1, 20)) == [("S-API", 11000, date(2026, 1, 1), 19, "0_30")]

    def test_late_usage_for_a_billed_month_is_unbilled_until_the_next_run(
        self, entity, catalogue, de_customer
    ) -> None:
        subscribe(entity, "S-API", "C-DE", "API", "1", date(2026, 1, 1))
        usage(entity, ("e1", 1500, datetime(2026, 1, 10, tzinfo=UTC)))
        run(entity, date(2026, 2, 1))  # January: 100.00 + 500 × 0.05 = 125.00
        usage(
            entity,
            ("e2", 100, datetime(2026, 1, 20, tzinfo=UTC)),  # late: January is billed
            ("e3", 200, datetime(2026, 2, 3, tzinfo=UTC)),
        )
        # January re-rated: 1,600 calls = 130.00, billed 125.00: 5.00, from January 1st (40 days);
        # February so far: 200 × 0.10 = 20.00
        assert unbilled(entity, date(2026, 2, 10)) == [
            ("S-API", 500, date(2026, 1, 1), 40, "31_60"),
            ("S-API", 2000, date(2026, 2, 1), 9, "0_30"),
        ]
        run(entity, date(2026, 3, 1))  # bills the adjustment and February
        assert unbilled(entity, date(2026, 3, 1)) == []

    def test_advance_periods_a_run_missed_are_unbilled_in_full(self, entity, catalogue, de_customer) -> None:
        subscribe(entity, "S-SEAT", "C-DE", "SEAT", "5", date(2026, 1, 1))
        run(entity, date(2026, 1, 1))  # January in advance: 5 × 10.00 = 50.00
        assert unbilled(entity, date(2026, 1, 31)) == []
        # no run since: February and March are due (in advance, the whole month each)
        assert unbilled(entity, date(2026, 3, 10)) == [
            ("S-SEAT", 5000, date(2026, 2, 1), 37, "31_60"),
            ("S-SEAT", 5000, date(2026, 3, 1), 9, "0_30"),
        ]

    def test_old_unbilled_months_age_into_later_buckets(self, entity, catalogue, de_customer) -> None:
        subscribe(entity, "S-ARR", "C-DE", "SEAT-ARR", "10", date(2025, 10, 1))
        # never billed: October to December due (125.00 each), January's 15 days 60.52
        assert unbilled(entity, date(2026, 1, 15)) == [
            ("S-ARR", 12500, date(2025, 10, 1), 106, "over_90"),
            ("S-ARR", 12500, date(2025, 11, 1), 75, "61_90"),
            ("S-ARR", 12500, date(2025, 12, 1), 45, "31_60"),
            ("S-ARR", 6052, date(2026, 1, 1), 14, "0_30"),
        ]

    @pytest.mark.parametrize(
        ("days", "bucket"),
        [
            (0, "0_30"),
            (30, "0_30"),
            (31, "31_60"),
            (60, "31_60"),
            (61, "61_90"),
            (90, "61_90"),
            (91, "over_90"),
        ],
    )
    def test_bucket_bounds(self, days: int, bucket: str) -> None:
        assert reports.bucket_of(days) == bucket

    def test_a_subscription_starting_mid_month_starts_its_age_on_its_start(
        self, entity, catalogue, de_customer
    ) -> None:
        subscribe(entity, "S-ARR", "C-DE", "SEAT-ARR", "10", date(2026, 1, 10))
        # days 10-15 of January: 6 × 4.03, none of them among the first 7 that take a cent more = 24.18
        assert unbilled(entity, date(2026, 1, 15)) == [("S-ARR", 2418, date(2026, 1, 10), 5, "0_30")]
        assert unbilled(entity, date(2026, 1, 9)) == []

    def test_rows_name_the_bill_to_customer(self, entity, catalogue, de_customer) -> None:
        customer_services.customer_create(entity=entity, data=customer_in("C-SUB"), actor=None, now=NOW)
        subscribe(entity, "S-ARR", "C-SUB", "SEAT-ARR", "10", date(2026, 1, 1), bill_to="C-DE")
        [row] = reports.unbilled_revenue(entity=entity, as_of=date(2026, 1, 15))
        assert (row.customer_number, row.amount_minor) == ("C-DE", 6052)

    def test_an_ended_and_fully_billed_subscription_has_nothing_unbilled(
        self, entity, catalogue, de_customer
    ) -> None:
        subscribe(entity, "S-ARR", "C-DE", "SEAT-ARR", "10", date(2026, 1, 1), end=date(2026, 1, 20))
        # ended on the 20th: the 20 days are due on the 21st, 20 × 4.03 + 0.07 = 80.67
        assert unbilled(entity, date(2026, 1, 25)) == [("S-ARR", 8067, date(2026, 1, 1), 24, "0_30")]
        run(entity, date(2026, 1, 25))
        assert unbilled(entity, date(2026, 2, 25)) == []

    def test_other_entities_subscriptions_are_not_in_the_report(
        self, entity, other_entity, catalogue, de_customer
    ) -> None:
        subscribe(entity, "S-ARR", "C-DE", "SEAT-ARR", "10", date(2026, 1, 1))
        assert reports.unbilled_revenue(entity=other_entity, as_of=date(2026, 1, 15)) == []


class TestDeferredRevenue:
    def test_the_schedules_tie_to_the_ledger_after_an_issuing_run_and_differ_until_releases_run(
        self, entity, catalogue, de_customer
    ) -> None:
        subscribe(entity, "S-SUP", "C-DE", "SUPPORT", "1", date(2026, 1, 1))
        run(entity, date(2026, 1, 1))  # 1,200.00 for 2026, issued on January 1st
        # 120000 spread over 365 days by month: January 31/365 = 10191.78 -> 10192 after the largest
        # remainders; February 28/365 = 9205.48 -> 9205, March 31/365 -> 10192 (see month_parts)
        parts = dict(revenue.month_parts(120000, date(2026, 1, 1), date(2026, 12, 31)))
        assert (parts[date(2026, 1, 1)], parts[date(2026, 2, 1)], parts[date(2026, 3, 1)]) == (
            10192,
            9205,
            10192,
        )
        [row] = reports.deferred_revenue(entity=entity, as_of=date(2026, 1, 15))
        # February to December deferred on the issue date: 120000 - 10192 = 109808, in both
        assert (row.customer_number, row.currency) == ("C-DE", "EUR")
        assert (row.schedules_minor, row.ledger_minor, row.difference_minor) == (109808, 109808, 0)
        # March 10th, no release since the run: the schedules have released February and March
        # (109808 - 9205 - 10192 = 90411), the ledger still holds 109808: 19397 to release
        [row] = reports.deferred_revenue(entity=entity, as_of=date(2026, 3, 10))
        assert (row.schedules_minor, row.ledger_minor, row.difference_minor) == (90411, 109808, 19397)
        revenue.recognize(entity=entity, as_of=date(2026, 3, 10), now=NOW)
        [row] = reports.deferred_revenue(entity=entity, as_of=date(2026, 3, 10))
        assert (row.schedules_minor, row.ledger_minor, row.difference_minor) == (90411, 90411, 0)
        [total] = reports.deferred_totals([row])
        assert (total.customer_number, total.currency, total.ledger_minor) == ("", "EUR", 90411)

    def test_before_the_issue_date_there_is_nothing_deferred(self, entity, catalogue, de_customer) -> None:
        subscribe(entity, "S-SUP", "C-DE", "SUPPORT", "1", date(2026, 1, 1))
        run(entity, date(2026, 1, 1))
        assert reports.deferred_revenue(entity=entity, as_of=date(2025, 12, 31)) == []


def contract(number: str = "S-SEAT", **overrides: object) -> CrmContract:
    values: dict[str, object] = {
        "contract_number": number,
        "customer_number": "C-DE",
        "product_code": "SEAT",
        "currency": "EUR",
        "start_date": date(2026, 1, 1),
        "quantity": Decimal(5),
        "unit_price": Decimal("10.00"),
        "end_date": None,
        "amount": Decimal("50.00"),
    }
    values.update(overrides)
    return CrmContract(**values)  # type: ignore[arg-type]


class TestCrmDifferences:
    def differences(self, entity: LegalEntity, *contracts: CrmContract) -> list[tuple[str, str, str, str]]:
        return [
            (d.contract_number, d.kind, d.crm_value, d.billing_value)
            for d in reports.crm_differences(entity=entity, contracts=contracts, as_of=date(2026, 3, 1))
        ]

    def test_a_contract_as_billed_has_no_difference(self, entity, catalogue, de_customer) -> None:
        subscribe(entity, "S-SEAT", "C-DE", "SEAT", "5", date(2026, 1, 1))
        assert self.differences(entity, contract()) == []

    def test_the_price_compared_is_the_effective_price_after_the_discount_percent(
        self, entity, catalogue, de_customer
    ) -> None:
        subscribe(entity, "S-SEAT", "C-DE", "SEAT", "5", date(2026, 1, 1), discount="10")
        # 10.00 less 10 % = 9.00 a seat, 5 seats = 45.00 a month
        assert self.differences(entity, contract(unit_price=Decimal("9.00"), amount=Decimal("45.00"))) == []
        assert self.differences(entity, contract()) == [
            ("S-SEAT", "price_mismatch", "10.00", "9.00"),
            ("S-SEAT", "amount_mismatch", "50.00", "45.00"),
        ]

    def test_each_field_that_differs_is_one_difference(self, entity, catalogue, de_customer) -> None:
        customer_services.customer_create(entity=entity, data=customer_in("C-OTHER"), actor=None, now=NOW)
        subscribe(entity, "S-SEAT", "C-DE", "SEAT", "5", date(2026, 1, 1), end=date(2026, 12, 31))
        subscribe(entity, "S-ONLY-BILLING", "C-DE", "SEAT-ARR", "1", date(2026, 1, 1))
        subscribe(entity, "S-ENDED", "C-DE", "SEAT", "1", date(2026, 1, 1), end=date(2026, 1, 31))
        crm = contract(
            customer_number="C-OTHER",
            product_code="SEAT-ARR",
            quantity=Decimal(6),
            unit_price=Decimal("10.00"),
            amount=None,
            start_date=date(2026, 1, 2),
            end_date=None,
        )
        assert self.differences(entity, crm, contract("S-NEW")) == [
            ("S-NEW", "missing_in_billing", "S-NEW", ""),
            ("S-ONLY-BILLING", "missing_in_crm", "", "S-ONLY-BILLING"),
            ("S-SEAT", "customer_mismatch", "C-OTHER", "C-DE"),
            ("S-SEAT", "product_mismatch", "SEAT-ARR", "SEAT"),
            ("S-SEAT", "quantity_mismatch", "6", "5"),
            ("S-SEAT", "start_date_mismatch", "2026-01-02", "2026-01-01"),
            ("S-SEAT", "end_date_mismatch", "", "2026-12-31"),
        ]

    def test_the_billing_side_is_the_term_in_force_on_the_date(self, entity, catalogue, de_customer) -> None:
        subscription = subscribe(entity, "S-SEAT", "C-DE", "SEAT", "5", date(2026, 1, 1))
        services.subscription_amend(
            subscription_id=subscription.pk,
            effective_from=date(2026, 2, 1),
            quantity=Decimal(8),
            actor=None,
            now=NOW,
        )
        assert self.differences(entity, contract()) == [
            ("S-SEAT", "quantity_mismatch", "5", "8"),
            ("S-SEAT", "amount_mismatch", "50.00", "80.00"),
        ]
        before = reports.crm_differences(
            entity=entity, contracts=[contract()], as_of=date(2026, 2, 1) - timedelta(days=1)
        )
        assert before == []
