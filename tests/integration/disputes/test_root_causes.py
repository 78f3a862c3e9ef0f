"""The root-cause report by product and by month. Invoice X has two products (VALVE-1 600.00 and PUMP-2
400.00 net, 19 %: 1,190.00); invoice Y one line without an item code (100.00 net, 119.00)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from o2c.customers.models import Customer
from o2c.disputes import reports, services
from o2c.disputes.reports import MonthRow, ProductRow
from o2c.ledger.models import LegalEntity
from o2c.receivables.calculations import LineIn
from tests.conftest import NOW, issued_invoice

pytestmark = pytest.mark.django_db

APRIL = datetime(2026, 4, 10, 9, tzinfo=UTC)


@pytest.fixture
def ended_cases(customer: Customer) -> None:
    x = issued_invoice(
        customer,
        lines=[
            LineIn("Valve", Decimal(6), Decimal("100.00"), Decimal("19"), item_code="VALVE-1"),
            LineIn("Pump", Decimal(1), Decimal("400.00"), Decimal("19"), item_code="PUMP-2"),
        ],
    )
    y = issued_invoice(customer, lines=[LineIn("Service", Decimal(1), Decimal("100.00"), Decimal("19"))])
    pump_line = x.lines.get(item_code="PUMP-2").pk

    def ended(document_id: int, amount: str, reason: str, *, line: int | None = None, now=NOW) -> None:
        case = services.case_open(
            document_id=document_id,
            amount=Decimal(amount),
            reason_code=reason,
            actor=None,
            now=NOW,
            document_line_id=line,
        )
        services.case_reject(case_id=case.pk, resolution="done", actor=None, now=now)

    ended(x.pk, "238.00", "pricing")  # spread: 142.80 VALVE-1, 95.20 PUMP-2
    ended(x.pk, "100.00", "quantity", line=pump_line)  # the line it names: 100.00 PUMP-2
    ended(x.pk, "100.01", "pricing", now=APRIL)  # 60.006 and 40.004: 60.01 VALVE-1, 40.00 PUMP-2
    ended(y.pk, "50.00", "pricing")  # no item code
    services.case_open(document_id=y.pk, amount=Decimal("5.00"), reason_code="tax", actor=None, now=NOW)


class TestByProduct:
    def test_a_case_on_a_line_counts_for_its_product_and_a_case_on_the_invoice_spreads_by_net(
        self, entity: LegalEntity, ended_cases: None
    ) -> None:
        rows = reports.root_causes_by_product(
            entity_id=entity.pk, date_from=date(2026, 3, 1), date_to=date(2026, 5, 31)
        )

        assert rows == [
            ProductRow("pricing", "VALVE-1", "EUR", 2, 20281),
            ProductRow("pricing", "PUMP-2", "EUR", 2, 13520),
            ProductRow("quantity", "PUMP-2", "EUR", 1, 10000),
            ProductRow("pricing", "", "EUR", 1, 5000),
        ]
        # the amounts add up to the cases' (488.01); a spread case counts with each of its products
        assert sum(row.amount_minor for row in rows) == 23800 + 10000 + 10001 + 5000

    def test_only_the_cases_that_ended_in_the_range_count(
        self, entity: LegalEntity, ended_cases: None
    ) -> None:
        rows = reports.root_causes_by_product(
            entity_id=entity.pk, date_from=date(2026, 4, 1), date_to=date(2026, 4, 30)
        )

        assert rows == [
            ProductRow("pricing", "VALVE-1", "EUR", 1, 6001),
            ProductRow("pricing", "PUMP-2", "EUR", 1, 4000),
        ]


class TestByMonth:
    def test_every_month_of_the_range_for_each_cause_with_zeros_where_none_ended(
        self, entity: LegalEntity, ended_cases: None
    ) -> None:
        rows = reports.root_causes_by_month(
            entity_id=entity.pk, date_from=date(2026, 3, 1), date_to=date(2026, 5, 31)
        )

        assert rows == [
            MonthRow("2026-03", "pricing", "EUR", 2, 28800),
            MonthRow("2026-03", "quantity", "EUR", 1, 10000),
            MonthRow("2026-04", "pricing", "EUR", 1, 10001),
            MonthRow("2026-04", "quantity", "EUR", 0, 0),
            MonthRow("2026-05", "pricing", "EUR", 0, 0),
            MonthRow("2026-05", "quantity", "EUR", 0, 0),
        ]

    def test_a_range_with_no_ended_case_has_no_rows(self, entity: LegalEntity, ended_cases: None) -> None:
        assert (
            reports.root_causes_by_month(
                entity_id=entity.pk, date_from=date(2026, 6, 1), date_to=date(2026, 7, 31)
            )
            == []
        )
