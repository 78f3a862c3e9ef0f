"""Regressions found by the billing state machine (tests/invariants/test_billing_sequences.py), worked
by hand. Amounts in cents; each comment shows the arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db.models import Sum

from o2c.billing import runs, services
from o2c.billing.models import BilledLine, Subscription
from o2c.billing.services import ProductIn, SubscriptionIn, UsageIn
from o2c.customers import services as customer_services
from o2c.ledger.models import LegalEntity
from o2c.receivables.models import Document
from tests.conftest import NOW, customer_in

pytestmark = pytest.mark.django_db


def test_a_fixed_discount_comes_off_a_metered_period_for_the_days_served(entity: LegalEntity) -> None:
    services.products_import(
        entity=entity,
        products=[
            ProductIn(
                code="API",
                name="API calls",
                price_model="tiered",
                currency="EUR",
                unit_price=Decimal(0),
                tiers="1000:0.10|*:0.05",
                billing_period="month",
                timing="arrears",
                metric="api_calls",
                minimum=Decimal("5.00"),
            )
        ],
        actor=None,
        now=NOW,
    )
    customer_services.customer_create(entity=entity, data=customer_in("C-DE"), actor=None, now=NOW)
    services.subscriptions_import(
        entity=entity,
        subscriptions=[
            SubscriptionIn(
                "S-1",
                "C-DE",
                "",
                "API",
                Decimal(1),
                date(2026, 1, 11),
                discount_amount=Decimal("20.00"),
                discount_until=date(2026, 2, 28),
            )
        ],
        actor=None,
        now=NOW,
    )
    services.usage_import(
        entity=entity,
        events=[
            UsageIn("e1", "S-1", "api_calls", Decimal(1500), datetime(2026, 1, 20, 12, tzinfo=UTC)),
            UsageIn("e2", "S-1", "api_calls", Decimal(100), datetime(2026, 2, 10, 12, tzinfo=UTC)),
            UsageIn("e3", "S-1", "api_calls", Decimal(30), datetime(2026, 3, 10, 12, tzinfo=UTC)),
        ],
        now=NOW,
    )
    runs.billing_run(entity=entity, as_of=date(2026, 4, 1), issue=True, actor=None, now=NOW)
    billed = dict(BilledLine.objects.values_list("period_start", "amount_minor"))
    # January, 11-31: 1,500 calls = 1,000 × 0.10 + 500 × 0.05 = 125.00, less the fixed 20.00 for the
    # 21 days served: 2000 = 31 × 64 + 16, days 1-16 take 65, days 11-31 hold 6 × 65 + 15 × 64 = 13.50
    # (the run took nothing off: 125.00). February: 100 calls = 10.00, less 20.00: nothing to bill
    # (the run billed 10.00). March starts after `discount_until`: 30 calls = 3.00, raised to the 5.00
    # minimum, at the list price.
    assert billed == {date(2026, 1, 1): 11150, date(2026, 3, 1): 500}


def test_usage_before_an_upgrade_is_aggregated_as_the_product_it_is_rated_at(entity: LegalEntity) -> None:
    def users_product(
        code: str, model: str, aggregation: str, unit: str, tiers: str, minimum: str
    ) -> ProductIn:
        return ProductIn(
            code=code,
            name=code.title(),
            price_model=model,
            currency="EUR",
            unit_price=Decimal(unit),
            tiers=tiers,
            billing_period="quarter",
            timing="arrears",
            metric="users",
            aggregation=aggregation,
            minimum=Decimal(minimum),
        )

    services.products_import(
        entity=entity,
        products=[
            # per distinct user a quarter, at least 10.00; or per started pack of 5 peak users
            users_product("USERS", "per_unit", "unique_count", "3.50", "", "10.00"),
            users_product("PEAK", "package", "max", "0", "5:12.00", "0"),
        ],
        actor=None,
        now=NOW,
    )
    customer_services.customer_create(entity=entity, data=customer_in("C-DE"), actor=None, now=NOW)
    services.subscriptions_import(
        entity=entity,
        subscriptions=[SubscriptionIn("S-1", "C-DE", "", "USERS", Decimal(1), date(2026, 1, 1))],
        actor=None,
        now=NOW,
    )

    def seen(event_id: str, day: date, quantity: int, user: str = "") -> UsageIn:
        return UsageIn(
            event_id,
            "S-1",
            "users",
            Decimal(quantity),
            datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
            user,
        )

    services.usage_import(
        entity=entity,
        events=[
            seen("e1", date(2026, 1, 5), 1, "u1"),
            seen("e2", date(2026, 1, 6), 1, "u2"),
            seen("e3", date(2026, 2, 6), 1, "u3"),
            seen("e4", date(2026, 3, 9), 1, "u3"),
            seen("e5", date(2026, 4, 20), 4),
            seen("e6", date(2026, 5, 20), 7),
        ],
        now=NOW,
    )
    services.subscription_amend(
        subscription_id=Subscription.objects.get(number="S-1").pk,
        effective_from=date(2026, 4, 1),
        product_code="PEAK",
        actor=None,
        now=NOW,
    )
    runs.billing_run(entity=entity, as_of=date(2026, 7, 1), issue=True, actor=None, now=NOW)
    billed = dict(BilledLine.objects.values_list("period_start", "amount_minor"))
    # the first quarter is rated at USERS: 3 distinct users × 3.50 = 10.50 (the run counted the peak
    # of the events' quantities, as PEAK does, 1 user: 3.50, raised to the 10.00 minimum); the second
    # at PEAK: a peak of 7 users = 2 started packs of 5 × 12.00 = 24.00
    assert billed == {date(2026, 1, 1): 1050, date(2026, 4, 1): 2400}


def seats(entity: LegalEntity, quantity: int) -> Subscription:
    """Seats at 12.345 each a month from 1 January, billed in advance."""
    services.products_import(
        entity=entity,
        products=[
            ProductIn(
                code="SEAT",
                name="Seats",
                price_model="per_unit",
                currency="EUR",
                unit_price=Decimal("12.345"),
                tiers="",
                billing_period="month",
                timing="advance",
            )
        ],
        actor=None,
        now=NOW,
    )
    customer_services.customer_create(entity=entity, data=customer_in("C-DE"), actor=None, now=NOW)
    services.subscriptions_import(
        entity=entity,
        subscriptions=[SubscriptionIn("S-1", "C-DE", "", "SEAT", Decimal(quantity), date(2026, 1, 1))],
        actor=None,
        now=NOW,
    )
    return Subscription.objects.get(number="S-1")


def run(entity: LegalEntity, as_of: date) -> runs.RunResult:
    return runs.billing_run(entity=entity, as_of=as_of, issue=True, actor=None, now=NOW)


def test_a_cancellation_credits_the_periods_after_one_that_billed_nothing(entity: LegalEntity) -> None:
    subscription = seats(entity, 10)
    for effective_from, quantity in ((date(2026, 2, 1), 0), (date(2026, 3, 1), 10)):
        services.subscription_amend(
            subscription_id=subscription.pk,
            effective_from=effective_from,
            quantity=Decimal(quantity),
            actor=None,
            now=NOW,
        )
    # January 123.45, February no seats (nothing billed), March 123.45
    [invoice] = run(entity, date(2026, 3, 1)).documents
    assert invoice.net_minor == 24690
    services.subscription_end_set(
        subscription_id=subscription.pk, end_date=date(2026, 1, 31), actor=None, now=NOW
    )
    result = run(entity, date(2026, 3, 2))
    # March is no longer served: 123.45 credited, 19 % = 23.4555 -> 23.46 (the run stopped at
    # February, which billed nothing, and credited nothing)
    [credit] = result.documents
    assert (credit.document_type, credit.net_minor, credit.tax_minor) == ("credit_memo", -12345, -2346)
    assert Document.objects.get(pk=credit.document_id).corrects_id == invoice.document_id


def test_a_credit_larger_than_the_latest_charge_also_corrects_the_invoice_before_it(
    entity: LegalEntity,
) -> None:
    subscription = seats(entity, 10)
    [first] = run(entity, date(2026, 1, 1)).documents
    assert first.net_minor == 12345
    services.subscription_amend(
        subscription_id=subscription.pk,
        effective_from=date(2026, 1, 20),
        quantity=Decimal(11),
        actor=None,
        now=NOW,
    )
    # 123.45 over 31 days: 3.98 a day, days 1-7 a cent more; days 1-19: 19 × 3.98 + 0.07 = 75.69.
    # 11 seats: 135.795 -> 135.80, 4.38 a day, days 1-2 a cent more; days 20-31: 12 × 4.38 = 52.56.
    # January is now 128.25, billed 123.45: 4.80 more
    [second] = run(entity, date(2026, 1, 2)).documents
    assert second.net_minor == 480
    services.subscription_end_set(
        subscription_id=subscription.pk, end_date=date(2026, 1, 5), actor=None, now=NOW
    )
    result = run(entity, date(2026, 1, 3))
    # January 1-5: 5 × 3.99 = 19.95; 128.25 - 19.95 = 108.30 to credit. The second invoice holds 4.80
    # of it, the first the other 103.50, each credited at its line's 19 % (4.80: 0.912 -> 0.91;
    # 103.50: 19.665 -> 19.67). The run put all 108.30 on the second invoice, which refused it (the
    # credit memo exceeds what is left to credit) and reported the subscription as an error.
    assert result.errors == []
    credits = {
        Document.objects.get(pk=d.document_id).corrects_id: (d.net_minor, d.tax_minor)
        for d in result.documents
    }
    assert credits == {first.document_id: (-10350, -1967), second.document_id: (-480, -91)}
    billed = BilledLine.objects.filter(subscription=subscription).aggregate(total=Sum("amount_minor"))
    assert billed["total"] == 1995
