"""The portfolios page: how many customers each collector has, the customers a filter finds, and an AR
manager moving the ticked ones, or every one the filter finds, to another collector with a reason."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from o2c.audit.models import AuditEvent
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from tests.conftest import NOW, customer_in, make_user

pytestmark = pytest.mark.django_db

URL = reverse("collections_portfolios")


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def people(entity: LegalEntity) -> dict[str, User]:
    return {
        "anna": make_user("anna", "collector", entities=[entity]),
        "ben": make_user("ben", "collector", entities=[entity]),
        "martin": make_user("martin", "ar_manager", entities=[entity]),
        "audrey": make_user("audrey", "auditor", entities=[entity]),
    }


@pytest.fixture
def customers(entity: LegalEntity, people: dict[str, User]) -> dict[str, Customer]:
    made = {}
    for number, name, country, kind, collector in (
        ("C-1000", "Müller GmbH", "DE", "sme", "anna"),
        ("C-2000", "Stadtwerke Köln", "DE", "public_sector", "anna"),
        ("C-3000", "Dupont SA", "FR", "key_account", "anna"),
        ("C-4000", "García SL", "ES", "sme", "ben"),
        ("C-5000", "Weber AG", "DE", "", None),
    ):
        customer = customer_services.customer_create(
            entity=entity, data=customer_in(number, name=name, country=country), actor=None, now=NOW
        )
        Customer.objects.filter(pk=customer.pk).update(
            customer_type=kind, collector=people[collector] if collector else None
        )
        made[number] = customer
    return made


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _rows(page: str, marker: str) -> list[str]:
    return [part.split('"', 1)[0] for part in page.split(f'{marker}="')[1:]]


def _collectors(*numbers: str) -> list[str | None]:
    return [
        (c.collector.username if c.collector else None)
        for c in Customer.objects.filter(number__in=numbers).select_related("collector").order_by("number")
    ]


def test_the_page_counts_each_portfolio_and_filters_the_customers(people, customers):
    page = _client(people["martin"]).get(URL, {"collector": "anna", "customer_type": "sme"}).content.decode()

    assert _rows(page, "data-collector") == ["anna", "ben", "-"]
    assert '<td class="o2c-num">3</td>' in page  # anna's three
    assert _rows(page, "data-customer") == ["C-1000"]


def test_nobody_lists_the_customers_outside_every_portfolio(people, customers):
    page = _client(people["martin"]).get(URL, {"collector": "-"}).content.decode()

    assert _rows(page, "data-customer") == ["C-5000"]


def test_a_manager_moves_the_ticked_customers_with_a_reason_audited_each(people, customers):
    response = _client(people["martin"]).post(
        f"{URL}?collector=anna",
        {
            "customers": [customers["C-1000"].pk, customers["C-3000"].pk],
            "to_collector": "ben",
            "reason": "Anna moves to key accounts",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"{URL}?collector=anna"
    assert _collectors("C-1000", "C-2000", "C-3000") == ["ben", "anna", "ben"]
    events = AuditEvent.objects.filter(action="customers.customer.changed").order_by("object_label")
    assert [(e.object_label, e.changes, e.reason, e.actor_label) for e in events] == [
        ("C-1000 Müller GmbH", {"collector": ["anna", "ben"]}, "Anna moves to key accounts", "martin"),
        ("C-3000 Dupont SA", {"collector": ["anna", "ben"]}, "Anna moves to key accounts", "martin"),
    ]


def test_every_customer_the_filter_finds_moves_at_once_even_beyond_the_page(people, customers):
    response = _client(people["martin"]).post(
        f"{URL}?country=DE",
        {"all_matching": "on", "to_collector": "-", "reason": "German customers to the new team"},
    )

    assert response.status_code == 302
    assert _collectors("C-1000", "C-2000", "C-3000", "C-4000", "C-5000") == [None, None, "anna", "ben", None]
    assert AuditEvent.objects.filter(action="customers.customer.changed").count() == 2  # C-5000 had none


def test_without_a_reason_or_a_choice_nothing_moves(people, customers):
    response = _client(people["martin"]).post(URL, {"to_collector": "ben", "reason": ""})

    assert response.status_code == 422
    errors = response.context["form"].errors
    assert errors["reason"] == ["This field is required."]
    assert errors["customers"] == ["Tick the customers to move, or choose every customer the filter finds."]
    assert _collectors("C-1000") == ["anna"]


def test_an_auditor_reads_the_page_but_may_not_move_anyone(people, customers):
    auditor = _client(people["audrey"])
    page = auditor.get(URL).content.decode()
    response = auditor.post(
        URL, {"customers": [customers["C-1000"].pk], "to_collector": "ben", "reason": "x"}
    )

    assert 'id="reassign"' not in page
    assert response.status_code == 403
    assert _collectors("C-1000") == ["anna"]


def test_a_collector_may_not_open_the_page(people, customers):
    assert _client(people["anna"]).get(URL).status_code == 403


def test_another_entitys_customers_are_neither_listed_nor_moved(people, customers, other_entity):
    foreign = customer_services.customer_create(
        entity=other_entity, data=customer_in("C-9000", name="Étranger SA", country="FR"), actor=None, now=NOW
    )
    manager = _client(people["martin"])
    page = manager.get(URL).content.decode()
    response = manager.post(URL, {"customers": [foreign.pk], "to_collector": "ben", "reason": "x"})

    assert "C-9000" not in page
    assert response.status_code == 422  # not a choice of the page
    assert Customer.objects.get(pk=foreign.pk).collector_id is None
