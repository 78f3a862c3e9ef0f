"""A US customer's page shows its sales tax exemption certificates (state, certificate, validity and
standing today in the entity's time zone) above the link to the page that keeps them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from o2c.billing import services
from o2c.billing.models import TaxExemption
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger import services as ledger_services
from o2c.ledger.models import LegalEntity
from o2c.workspace.models import UserPreference
from tests.conftest import NOW, customer_in, make_user

pytestmark = pytest.mark.django_db

# 22:00 on 16 March in New York, already 17 March in UTC
NEW_YORK_EVENING = datetime(2026, 3, 17, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NEW_YORK_EVENING, tick=False)


@pytest.fixture
def us_entity() -> LegalEntity:
    return ledger_services.entity_create(
        code="US01",
        name="O2C Demo Inc.",
        country="US",
        currency="USD",
        time_zone="America/New_York",
        today=date(2026, 3, 16),
        now=NOW,
    )


def us_customer(entity: LegalEntity, number: str = "U-1", region: str = "NY") -> Customer:
    return customer_services.customer_create(
        entity=entity,
        data=customer_in(
            number, name="Hudson Health Inc.", country="US", currency="USD", language="en", region=region
        ),
        actor=None,
        now=NOW,
    )


@pytest.fixture
def ny_customer(us_entity: LegalEntity) -> Customer:
    return us_customer(us_entity)


@pytest.fixture
def biller(entity: LegalEntity, us_entity: LegalEntity):
    return make_user("bianca", "billing", entities=[entity, us_entity])


def certificate(customer: Customer, region: str, number: str, **kw: Any) -> TaxExemption:
    values: dict[str, Any] = {"valid_from": date(2026, 1, 1), "valid_to": None, "actor": None, "now": NOW}
    values.update(kw)
    return services.tax_exemption_add(customer_id=customer.pk, region=region, certificate=number, **values)


@pytest.fixture
def certificates(ny_customer: Customer) -> dict[str, TaxExemption]:
    """One certificate in each standing on 16 March 2026 (New York)."""
    revoked = certificate(ny_customer, "CA", "CA-1")
    services.tax_exemption_revoke(exemption_id=revoked.pk, actor=None, now=NOW, reason="not signed")
    return {
        "ended": certificate(ny_customer, "NY", "ST-119-1", valid_to=date(2026, 3, 15)),
        "valid": certificate(ny_customer, "NJ", "ST-4-NJ", valid_to=date(2026, 3, 16)),
        "future": certificate(ny_customer, "PA", "REV-1220", valid_from=date(2026, 3, 17)),
        "open": certificate(ny_customer, "TX", "01-339"),
        "revoked": TaxExemption.objects.get(pk=revoked.pk),
    }


def page_of(client: Any, customer: Customer) -> Any:
    response = client.get(reverse("customer_detail", args=[customer.pk]))
    assert response.status_code == 200
    return response


def rows_of(text: str) -> list[list[str]]:
    """The certificate table's rows as the cells' text."""
    table = re.search(r'<table class="o2c-table striped" id="exemptions">(.*?)</table>', text, re.S)
    assert table is not None
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table[1], re.S)
        if "<td" in row
    ]


class TestCustomerPage:
    def test_shows_each_certificate_with_its_validity_and_standing_today_in_new_york(
        self, client, biller, ny_customer, certificates
    ):
        client.force_login(biller)
        text = page_of(client, ny_customer).content.decode()
        assert rows_of(text) == [
            ["CA", "CA-1", "Jan 1, 2026", "–", "revoked"],
            ["NJ", "ST-4-NJ", "Jan 1, 2026", "Mar 16, 2026", "valid"],
            ["NY", "ST-119-1", "Jan 1, 2026", "Mar 15, 2026", "ended"],
            ["PA", "REV-1220", "Mar 17, 2026", "open-ended", "not yet valid"],
            ["TX", "01-339", "Jan 1, 2026", "open-ended", "valid"],
        ]

    def test_the_standing_is_the_one_the_certificates_page_shows(
        self, client, biller, ny_customer, certificates
    ):
        client.force_login(biller)
        here = page_of(client, ny_customer).context["exemptions"]
        there = client.get(reverse("billing_tax_exemptions", args=[ny_customer.pk])).context["rows"]
        assert [(line.exemption.pk, line.status) for line in here] == [
            (row.exemption.pk, row.status) for row in there
        ]
        assert [line.status for line in here] == ["revoked", "valid", "ended", "future", "valid"]

    def test_the_table_comes_before_the_link_to_the_certificates_page(
        self, client, biller, ny_customer, certificates
    ):
        client.force_login(biller)
        text = page_of(client, ny_customer).content.decode()
        link = f'href="{reverse("billing_tax_exemptions", args=[ny_customer.pk])}"'
        assert text.index('id="tax-exemptions"') < text.index('id="exemptions"') < text.index(link)

    def test_a_us_customer_without_certificates_says_so(self, client, biller, ny_customer):
        client.force_login(biller)
        text = page_of(client, ny_customer).content.decode()
        assert rows_of(text) == [["No exemption certificates."]]

    def test_only_this_customers_certificates_are_shown(self, client, biller, us_entity, ny_customer):
        other = us_customer(us_entity, "U-2", region="CA")
        certificate(other, "CA", "CA-OTHER")
        mine = certificate(ny_customer, "NY", "ST-119-1")
        client.force_login(biller)
        response = page_of(client, ny_customer)
        assert [line.exemption.pk for line in response.context["exemptions"]] == [mine.pk]
        assert "CA-OTHER" not in response.content.decode()

    def test_a_customer_outside_the_us_has_no_certificate_table_and_no_query_for_one(
        self, client, biller, customer
    ):
        client.force_login(biller)
        page_of(client, customer)  # warm caches (content types, sessions)
        with CaptureQueriesContext(connection) as captured:
            response = page_of(client, customer)
        text = response.content.decode()
        assert response.context["exemptions"] == []
        assert 'id="tax-exemptions"' not in text
        assert 'id="exemptions"' not in text
        assert not any("billing_taxexemption" in query["sql"] for query in captured.captured_queries)

    @pytest.mark.parametrize("role", ["auditor", "collector", "cash_application"])
    def test_every_role_sees_the_certificates_without_forms(self, client, us_entity, ny_customer, role):
        certificate(ny_customer, "NY", "ST-119-1")
        client.force_login(make_user("someone", role, entities=[us_entity]))
        text = page_of(client, ny_customer).content.decode()
        assert rows_of(text) == [["NY", "ST-119-1", "Jan 1, 2026", "open-ended", "valid"]]
        assert "<form" not in text.split('id="tax-exemptions"')[1].split("</section>")[0]

    def test_another_entitys_customer_stays_404(self, client, entity, ny_customer):
        certificate(ny_customer, "NY", "ST-119-1")
        client.force_login(make_user("bernd", "billing", entities=[entity]))  # not granted US01
        response = client.get(reverse("customer_detail", args=[ny_customer.pk]))
        assert response.status_code == 404
        assert "ST-119-1" not in response.content.decode()

    def test_a_german_reader_sees_the_table_in_german(self, client, biller, ny_customer, certificates):
        UserPreference.objects.create(user=biller, language="de")
        client.force_login(biller)
        text = page_of(client, ny_customer).content.decode()
        assert rows_of(text)[1:4] == [
            ["NJ", "ST-4-NJ", "01.01.2026", "16.03.2026", "gültig"],
            ["NY", "ST-119-1", "01.01.2026", "15.03.2026", "beendet"],
            ["PA", "REV-1220", "17.03.2026", "unbefristet", "noch nicht gültig"],
        ]
