"""The set-based write helpers of `o2c.core.db`, on SQLite and PostgreSQL: the rows they touch hold
exactly the values given, and no other row changes."""

from __future__ import annotations

from datetime import date

import pytest

from o2c.billing.models import Subscription
from o2c.core.db import update_rows
from o2c.core.models import DomainEvent
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from tests.conftest import NOW, customer_in

pytestmark = pytest.mark.django_db


def test_update_rows_sets_each_row_its_own_values_and_leaves_the_others(entity: LegalEntity) -> None:
    customers = [
        customer_services.customer_create(entity=entity, data=customer_in(f"C-{n}"), actor=None, now=NOW)
        for n in range(4)
    ]
    subscriptions = [
        Subscription.objects.create(
            entity=entity,
            number=f"S-{n}",
            customer=customer,
            bill_to=customer,
            currency="EUR",
            start_date=date(2026, 1, 1),
            billed_through=date(2026, 1, 31),
            rerate_from=date(2026, 1, 15),
            created_at=NOW,
            updated_at=NOW,
        )
        for n, customer in enumerate(customers)
    ]
    update_rows(
        Subscription,
        ["billed_through", "rerate_from", "po_number"],
        [
            (subscriptions[0].pk, date(2026, 2, 28), None, "PO-7"),
            (subscriptions[2].pk, None, date(2026, 3, 1), 'it\'s "quoted"\ttab'),
        ],
        batch=1,  # one statement per row: the batching too
    )
    found = {
        s.number: (s.billed_through, s.rerate_from, s.po_number)
        for s in Subscription.objects.order_by("number")
    }
    assert found == {
        "S-0": (date(2026, 2, 28), None, "PO-7"),
        "S-1": (date(2026, 1, 31), date(2026, 1, 15), ""),
        "S-2": (None, date(2026, 3, 1), 'it\'s "quoted"\ttab'),
        "S-3": (date(2026, 1, 31), date(2026, 1, 15), ""),
    }
    update_rows(Customer, ["credit_limit_minor", "region"], [(customers[1].pk, 1_234_567_89, "BY")])
    assert list(Customer.objects.order_by("number").values_list("credit_limit_minor", "region")) == [
        (customers[0].credit_limit_minor, customers[0].region),
        (123456789, "BY"),
        (customers[2].credit_limit_minor, customers[2].region),
        (customers[3].credit_limit_minor, customers[3].region),
    ]


def test_update_rows_writes_json_through_the_field(db: None) -> None:
    events = [DomainEvent.objects.create(name="test.event", payload={"n": n}) for n in range(2)]
    update_rows(DomainEvent, ["payload", "is_processed"], [(events[1].pk, {"n": 1, "note": "Müller"}, True)])
    assert list(DomainEvent.objects.order_by("pk").values_list("payload", "is_processed")) == [
        ({"n": 0}, False),
        ({"n": 1, "note": "Müller"}, True),
    ]
