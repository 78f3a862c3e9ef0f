"""The unbilled usage of the exposure: a snapshot of billing's unbilled revenue per customer and currency,
written into the summary by `o2c credit unbilled-refresh`, read by the credit check."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from o2c.credit import exposure, limits, orders
from o2c.credit.checks import exposure_summary_equals_truth
from o2c.credit.models import CustomerExposure
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from tests.conftest import NOW
from tests.integration import test_billing_reports
from tests.integration.test_billing_runs import subscribe

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalogue")]

# billing's fixtures: its catalogue (SEAT-ARR: 12.50 a seat a month in arrears) and customer C-DE
catalogue = test_billing_reports.catalogue
de_customer = test_billing_reports.de_customer


def test_the_unbilled_arrears_days_count_in_the_exposure_as_of_the_refresh(
    entity: LegalEntity,
    de_customer: Customer,
) -> None:
    subscribe(entity, "S-ARR", "C-DE", "SEAT-ARR", "10", date(2026, 1, 1))
    limits.limit_request(
        customer_id=de_customer.pk,
        amount=Decimal("100.00"),
        currency="EUR",
        valid_until=None,
        next_review_date=None,
        reason="test",
        actor=None,
        now=NOW,
    )

    # January: 10 seats × 12.50 in arrears, days 1-15 elapsed = 60.52 (as test_billing_reports works out)
    assert exposure.unbilled_refresh(entity=entity, as_of=date(2026, 1, 15)) == 1

    row = CustomerExposure.objects.get(customer=de_customer, currency="EUR")
    assert (row.unbilled_minor, row.unbilled_as_of) == (6052, date(2026, 1, 15))
    decision = orders.what_if(
        customer=de_customer, amount=Decimal("40.00"), currency="EUR", as_of=date(2026, 1, 15)
    )
    # 60.52 + 40.00 = 100.52 > 100.00
    assert (decision.decision, decision.exposure_minor, decision.reasons[0]["excess"]) == (
        "hold",
        6052,
        "0.52",
    )
    assert exposure_summary_equals_truth() == []


def test_a_refresh_replaces_the_last_snapshot(
    entity: LegalEntity,
    de_customer: Customer,
) -> None:
    subscribe(entity, "S-ARR", "C-DE", "SEAT-ARR", "10", date(2026, 1, 1), end=date(2026, 1, 10))
    exposure.unbilled_refresh(entity=entity, as_of=date(2026, 1, 5))
    first = CustomerExposure.objects.get(customer=de_customer).unbilled_minor

    call_command("credit", "unbilled-refresh", "--as-of", "2026-01-10")

    # 125.00 over January's 31 days: 4.03 a day, the first 7 days a cent more
    row = CustomerExposure.objects.get(customer=de_customer)
    assert first == 5 * 404  # days 1-5: 20.20
    assert (row.unbilled_minor, row.unbilled_as_of) == (7 * 404 + 3 * 403, date(2026, 1, 10))  # 40.37
