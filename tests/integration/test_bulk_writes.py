"""The set-based write helpers of `o2c.core.db`, on SQLite and PostgreSQL: the rows they touch hold
exactly the values given, and no other row changes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from o2c.audit import services as audit_services
from o2c.billing.models import Subscription
from o2c.core.db import insert_new_rows, update_rows
from o2c.core.keychecks import KeyChecks
from o2c.core.models import DomainEvent
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables import bulk
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document, TaxLine
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


@pytest.mark.skipif(connection.vendor != "postgresql", reason="replica mode is PostgreSQL's")
class TestKeyChecks:
    """A billing chunk's rows skip the per-row foreign-key triggers; leaving the block checks them."""

    def test_a_missing_referenced_row_fails_the_block_naming_table_key_and_value(self, entity) -> None:
        checks = KeyChecks(connection, [TaxLine])

        def write_a_line_of_a_missing_document() -> None:
            with transaction.atomic(), checks:
                insert_new_rows(
                    TaxLine,
                    ("document", "rate", "category", "base_minor", "tax_minor"),
                    [(999999, Decimal("19"), "S", 100, 19)],
                )

        with pytest.raises(IntegrityError, match=r'"receivables_taxline".*\(document_id\)=\(999999\)'):
            write_a_line_of_a_missing_document()
        assert TaxLine._meta.db_table in checks.written  # written without the per-row check

    def test_rows_with_their_keys_present_are_written_and_the_session_is_left_as_it_was(self, entity) -> None:
        customer = customer_services.customer_create(
            entity=entity, data=customer_in("C-KEY"), actor=None, now=NOW
        )
        with transaction.atomic(), KeyChecks(connection, [Document, TaxLine]) as checks:
            [document] = bulk.invoices_create_bulk(
                [
                    bulk.DraftIn(
                        customer=customer,
                        issue_date=date(2026, 3, 2),
                        lines=[LineIn("Consulting", Decimal(1), Decimal("100.00"), Decimal(19))],
                        currency="EUR",
                    )
                ],
                actor=None,
                now=NOW,
            )
        assert {Document._meta.db_table, TaxLine._meta.db_table} <= checks.written
        assert list(TaxLine.objects.filter(document=document).values_list("base_minor", "tax_minor")) == [
            (10000, 1900)
        ]
        with connection.cursor() as cursor:
            cursor.execute("SHOW session_replication_role")
            assert cursor.fetchone()[0] == "origin"

    def test_the_audit_guard_fires_also_in_replica_mode(self, entity) -> None:
        event = audit_services.record(
            actor=None, action="test.action", object_type="test", object_id=1, now=NOW
        )

        def change_it_in_replica_mode() -> None:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
                cursor.execute("UPDATE audit_auditevent SET reason = 'changed' WHERE id = %s", [event.pk])

        with pytest.raises(DatabaseError, match="append-only"):
            change_it_in_replica_mode()
