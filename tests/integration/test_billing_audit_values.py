"""The audit trail records a subscription's quantities, percentages and amounts, and a product's unit
price, as plain decimal text ("10", "2.5"): never in exponent form ("1E+1")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from o2c.audit.models import AuditEvent
from o2c.billing import services
from o2c.billing.models import Subscription
from o2c.billing.services import SubscriptionIn
from o2c.customers import services as customer_services
from o2c.ledger.models import LegalEntity
from tests.conftest import NOW, customer_in
from tests.integration.test_billing_runs import product, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def seats(entity: LegalEntity) -> Subscription:
    """S-1: 10 seats at 10.00 a month for C-DE since 1 January 2026."""
    customer_services.customer_create(entity=entity, data=customer_in("C-DE"), actor=None, now=NOW)
    services.products_import(
        entity=entity, products=[product("SEAT", "per_unit", "10.00", name="Seats")], actor=None, now=NOW
    )
    return subscribe(entity, "S-1", "C-DE", "SEAT", "10", date(2026, 1, 1))


def reimport(entity: LegalEntity, **changed: Decimal) -> None:
    values = {"quantity": Decimal(10), "discount_percent": Decimal(0), "discount_amount": Decimal(0)}
    services.subscriptions_import(
        entity=entity,
        subscriptions=[
            SubscriptionIn(
                "S-1",
                "C-DE",
                "",
                "SEAT",
                start_date=date(2026, 1, 1),
                **(values | changed),
            )
        ],
        actor=None,
        now=NOW,
    )


class TestAmendment:
    def test_an_amendment_from_10_to_12_seats_records_10_and_12(self, seats):
        services.subscription_amend(
            subscription_id=seats.pk,
            effective_from=date(2026, 2, 1),
            quantity=Decimal("12.0000"),
            actor=None,
            now=NOW,
            reason="two more users",
        )
        [event] = AuditEvent.objects.filter(action="billing.subscription.amended")
        assert (event.object_id, event.reason, event.changes) == (
            seats.pk,
            "two more users",
            {
                "product": ["SEAT", "SEAT"],
                "quantity": ["10", "12"],
                "discount_percent": ["0", "0"],
                "effective_from": [None, "2026-02-01"],
            },
        )

    def test_fractions_keep_their_digits_without_trailing_zeros(self, seats):
        services.subscription_amend(
            subscription_id=seats.pk,
            effective_from=date(2026, 2, 1),
            quantity=Decimal("2.50"),
            discount_percent=Decimal("12.50"),
            actor=None,
            now=NOW,
        )
        [event] = AuditEvent.objects.filter(action="billing.subscription.amended")
        assert (event.changes["quantity"], event.changes["discount_percent"]) == (
            ["10", "2.5"],
            ["0", "12.5"],
        )


class TestImport:
    def test_a_new_subscription_records_its_quantity_as_10(self, seats):
        [event] = AuditEvent.objects.filter(action="billing.subscription.imported")
        assert {
            name: event.changes[name] for name in ("quantity", "discount_percent", "discount_amount")
        } == {
            "quantity": [None, "10"],
            "discount_percent": [None, "0"],
            "discount_amount": [None, "0"],
        }

    def test_a_changed_subscription_records_plain_old_and_new_values(self, entity, seats):
        reimport(
            entity, quantity=Decimal("20"), discount_percent=Decimal("2.5"), discount_amount=Decimal("100")
        )
        event = AuditEvent.objects.filter(action="billing.subscription.imported").latest("pk")
        assert event.changes == {
            "quantity": ["10", "20"],
            "discount_percent": ["0", "2.5"],
            "discount_amount": ["0", "100"],
        }

    def test_the_same_values_written_differently_change_nothing(self, entity, seats):
        reimport(entity, quantity=Decimal("10.000"), discount_percent=Decimal("0.00"))
        assert AuditEvent.objects.filter(action="billing.subscription.imported").count() == 1

    def test_a_product_records_its_unit_price_as_plain_text(self, entity, seats):
        services.products_import(
            entity=entity, products=[product("SEAT", "per_unit", "100", name="Seats")], actor=None, now=NOW
        )
        [created, updated] = AuditEvent.objects.filter(object_type="product").order_by("pk")
        assert (created.action, created.changes["unit_price"]) == ("billing.product.created", [None, "10"])
        assert (updated.action, updated.changes) == ("billing.product.updated", {"unit_price": ["10", "100"]})
