"""The aging summed by parent (a whole group in one row), by collector and by currency."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.reporting import selectors
from tests.conftest import customer_in, issued_invoice

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 4, 15)


@pytest.fixture
def group(entity: LegalEntity, customer: Customer, now: datetime) -> tuple[Customer, Customer, Customer]:
    """A parent (the default customer) with a subsidiary, and an unrelated customer; 1,190.00 each,
    issued 2026-03-02, due 04-01 (14 days past due on the report date); the parent's collector claire."""
    subsidiary = customer_services.customer_create(
        entity=entity, data=customer_in("C-1001"), actor=None, now=now
    )
    other = customer_services.customer_create(entity=entity, data=customer_in("C-2000"), actor=None, now=now)
    Customer.objects.filter(pk=subsidiary.pk).update(parent=customer)
    Customer.objects.filter(pk=customer.pk).update(collector=User.objects.create_user("claire"))
    for owner in (customer, subsidiary, other):
        issued_invoice(owner)
    return customer, subsidiary, other


def _rows(entity: LegalEntity, by: str) -> list[tuple[str, str, int]]:
    report = selectors.aging_grouped(selectors.aging(entity_ids=[entity.pk], as_of=AS_OF), by)
    return [(row.customer_number, row.currency, row.by_bucket()["1_30"]) for row in report.rows]


def test_a_parent_row_sums_its_subsidiaries(entity: LegalEntity, group: tuple[Customer, ...]) -> None:
    parent, _, other = group
    assert _rows(entity, "parent") == [(parent.number, "EUR", 238000), (other.number, "EUR", 119000)]


def test_a_collector_row_sums_the_customers_assigned_and_the_rest_has_no_collector(
    entity: LegalEntity, group: tuple[Customer, ...]
) -> None:
    assert _rows(entity, "collector") == [("", "EUR", 238000), ("claire", "EUR", 119000)]


def test_a_currency_row_sums_every_customer(entity: LegalEntity, group: tuple[Customer, ...]) -> None:
    assert _rows(entity, "currency") == [("", "EUR", 357000)]


def test_the_command_names_the_group_column(
    entity: LegalEntity, group: tuple[Customer, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    parent = group[0]
    call_command("report", "aging", "--as-of", "2026-04-15", "--group-by", "parent", "--format", "json")

    document = json.loads(capsys.readouterr().out)
    assert document["group_by"] == "parent"
    assert document["rows"][0] == {
        "entity": entity.code,
        "parent_number": parent.number,
        "currency": "EUR",
        "current": "0.00",
        "1_30": "2380.00",
        "31_60": "0.00",
        "61_90": "0.00",
        "91_120": "0.00",
        "over_120": "0.00",
        "unapplied": "0.00",
        "total": "2380.00",
    }
    call_command("report", "aging", "--as-of", "2026-04-15", "--format", "json")
    assert "group_by" not in json.loads(capsys.readouterr().out)  # the contract's document as it was
