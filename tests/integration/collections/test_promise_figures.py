"""`selectors.promise_figures`, what the reporting app's KPIs read: per currency the promises judged kept
and broken in a period and those open on its last day, with exact counts and promised amounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from o2c.collections import selectors, services
from o2c.collections.selectors import PromiseFigures
from o2c.core.money import Money
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger import services as ledger_services
from o2c.ledger.models import LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from tests.conftest import NOW, customer_in, issued_invoice

pytestmark = pytest.mark.django_db

FEB_1, FEB_28 = date(2026, 2, 1), date(2026, 2, 28)


def _invoice(customer: Customer, amount: str, currency: str = "EUR") -> Document:
    return issued_invoice(
        customer,
        issue_date=date(2026, 1, 2),
        lines=[LineIn("Service", Decimal(1), Decimal(amount), Decimal(0))],
        currency=currency,
    )


def _promise(document: Document, amount: str, made_on: date, promised: date) -> None:
    services.promise_record(
        customer=document.customer,
        documents=[document],
        amount=Money(Decimal(amount), document.currency),
        promised_date=promised,
        contact="",
        actor=None,
        now=NOW,
        made_on=made_on,
    )


def _paid(document: Document, minor: int, day: date) -> None:
    receivable_services.allocation_create(
        document_id=document.pk, kind="payment", amount_minor=minor, posting_date=day, actor=None, now=NOW
    )


@pytest.fixture
def customers(entity: LegalEntity, customer: Customer, other_entity: LegalEntity) -> dict[str, Customer]:
    """
    - P1 C-1000 100.00 EUR, made 1 Feb for 10 Feb, paid 8 Feb: kept on 8 Feb
    - P2 C-1000 250.00 EUR, made 1 Feb for 20 Feb, not paid: broken on 24 Feb
    - P3 C-2000  80.00 EUR, made 15 Feb for 10 Mar: open on 28 Feb (broken on 14 Mar)
    - P4 C-2000  40.00 EUR, made 10 Jan for 20 Jan: broken on 24 Jan, before the period
    - P5 C-3000 500.00 USD, made 5 Feb for 25 Feb, paid 26 Feb (in the grace): kept on 26 Feb
    - P6 C-1000  60.00 EUR, made 2 Mar: after the period
    - P7 F-1 (another entity) 70.00 EUR, made 1 Feb for 5 Feb: broken on 9 Feb
    All judged by a review on 20 March.
    """
    ledger_services.fx_rates_import(
        rates=[ledger_services.FxRateIn(date(2025, 12, 31), "USD", "EUR", Decimal("0.9"))],
        source="t",
        now=NOW,
    )
    second = customer_services.customer_create(entity=entity, data=customer_in("C-2000"), actor=None, now=NOW)
    dollars = customer_services.customer_create(
        entity=entity, data=customer_in("C-3000", currency="USD"), actor=None, now=NOW
    )
    french = customer_services.customer_create(
        entity=other_entity, data=customer_in("F-1", country="FR"), actor=None, now=NOW
    )
    p1 = _invoice(customer, "100.00")
    _promise(p1, "100.00", FEB_1, date(2026, 2, 10))
    _paid(p1, 10000, date(2026, 2, 8))
    _promise(_invoice(customer, "250.00"), "250.00", FEB_1, date(2026, 2, 20))
    _promise(_invoice(second, "80.00"), "80.00", date(2026, 2, 15), date(2026, 3, 10))
    _promise(_invoice(second, "40.00"), "40.00", date(2026, 1, 10), date(2026, 1, 20))
    p5 = _invoice(dollars, "500.00", "USD")
    _promise(p5, "500.00", date(2026, 2, 5), date(2026, 2, 25))
    _paid(p5, 50000, date(2026, 2, 26))
    _promise(_invoice(customer, "60.00"), "60.00", date(2026, 3, 2), date(2026, 3, 30))
    _promise(_invoice(french, "70.00"), "70.00", FEB_1, date(2026, 2, 5))
    for reviewed in (entity, other_entity):
        services.promises_review(entity=reviewed, as_of=date(2026, 3, 20), actor=None, now=NOW)
    return {"C-1000": customer, "C-2000": second, "C-3000": dollars}


class TestPromiseFigures:
    def test_per_currency_the_promises_judged_in_the_period_and_open_on_its_last_day(
        self, entity: LegalEntity, customers: dict[str, Customer]
    ) -> None:
        assert selectors.promise_figures(entity_ids=[entity.pk], first=FEB_1, last=FEB_28) == {
            "EUR": PromiseFigures(
                kept_count=1,
                kept_minor=10000,
                broken_count=1,
                broken_minor=25000,
                open_count=1,
                open_minor=8000,
            ),
            "USD": PromiseFigures(
                kept_count=1, kept_minor=50000, broken_count=0, broken_minor=0, open_count=0, open_minor=0
            ),
        }

    def test_the_period_decides_by_the_day_judged_and_open_means_open_on_the_last_day(
        self, entity: LegalEntity, customers: dict[str, Customer]
    ) -> None:
        # 1 January to 14 March: P4 broken 24 Jan, P3 broken 14 Mar join; only P6 is open on 14 March
        assert selectors.promise_figures(
            entity_ids=[entity.pk], first=date(2026, 1, 1), last=date(2026, 3, 14)
        )["EUR"] == PromiseFigures(
            kept_count=1, kept_minor=10000, broken_count=3, broken_minor=37000, open_count=1, open_minor=6000
        )

    def test_limited_to_some_customers(self, entity: LegalEntity, customers: dict[str, Customer]) -> None:
        assert selectors.promise_figures(
            entity_ids=[entity.pk], first=FEB_1, last=FEB_28, customer_ids={customers["C-2000"].pk}
        ) == {
            "EUR": PromiseFigures(
                kept_count=0, kept_minor=0, broken_count=0, broken_minor=0, open_count=1, open_minor=8000
            )
        }
        assert (
            selectors.promise_figures(entity_ids=[entity.pk], first=FEB_1, last=FEB_28, customer_ids=set())
            == {}
        )

    def test_other_entities_count_only_when_asked_for(
        self, entity: LegalEntity, other_entity: LegalEntity, customers: dict[str, Customer]
    ) -> None:
        assert selectors.promise_figures(entity_ids=[other_entity.pk], first=FEB_1, last=FEB_28) == {
            "EUR": PromiseFigures(
                kept_count=0, kept_minor=0, broken_count=1, broken_minor=7000, open_count=0, open_minor=0
            )
        }
        both = selectors.promise_figures(entity_ids=[entity.pk, other_entity.pk], first=FEB_1, last=FEB_28)
        assert (both["EUR"].broken_count, both["EUR"].broken_minor) == (2, 32000)
