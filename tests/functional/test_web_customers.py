"""Customer search, the customer page, and changes to master data, contacts and bank accounts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from o2c.audit.models import AuditEvent
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.workspace.models import UserPreference
from tests.conftest import NOW, customer_in, issued_invoice, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers(entity, customer):
    """C-1000 Müller plus a group parent and a French customer with a VAT id."""
    parent = customer_services.customer_create(
        entity=entity, data=customer_in("G-1", name="Müller Holding AG"), actor=None, now=NOW
    )
    french = customer_services.customer_create(
        entity=entity,
        data=customer_in(
            "C-2000", name="Boulangerie Dupont", country="FR", language="fr", vat_id="FR40303265045"
        ),
        actor=None,
        now=NOW,
    )
    customer_services.customer_update(
        customer_id=customer.pk, data=customer_in(parent_number="G-1"), actor=None, now=NOW, reason="group"
    )
    return {"parent": parent, "child": customer, "french": french}


class TestCustomerSearch:
    def test_search_finds_a_customer_by_number(self, client, billing_user, customers):
        client.force_login(billing_user)
        text = client.get(reverse("customer_list"), {"q": "C-20"}).content.decode()
        assert "Boulangerie Dupont" in text
        assert "Müller Maschinenbau" not in text

    def test_search_finds_customers_by_part_of_the_name(self, client, billing_user, customers):
        client.force_login(billing_user)
        text = client.get(reverse("customer_list"), {"q": "müller"}).content.decode()
        assert "Müller Maschinenbau GmbH" in text
        assert "Müller Holding AG" in text
        assert "Boulangerie" not in text

    def test_search_finds_a_customer_by_vat_id(self, client, billing_user, customers):
        client.force_login(billing_user)
        text = client.get(reverse("customer_list"), {"q": "FR403"}).content.decode()
        assert "Boulangerie Dupont" in text
        assert "Müller" not in text

    def test_an_htmx_search_returns_only_the_results(self, client, billing_user, customers):
        client.force_login(billing_user)
        response = client.get(reverse("customer_list"), {"q": "Boul"}, headers={"HX-Request": "true"})
        text = response.content.decode()
        assert "Boulangerie Dupont" in text
        assert "<html" not in text
        assert "<table" in text

    def test_the_list_shows_fifty_a_page_and_pages_on(self, client, billing_user, entity):
        for i in range(51):
            customer_services.customer_create(
                entity=entity, data=customer_in(f"K-{i:03d}", name=f"Kunde {i:03d}"), actor=None, now=NOW
            )
        client.force_login(billing_user)
        first = client.get(reverse("customer_list"))
        assert len(first.context["page"].object_list) == 50
        assert first.context["page"].has_next is True
        assert "Page 1" in first.content.decode()
        second = client.get(reverse("customer_list"), {"page": 2})
        assert [c.number for c in second.context["page"].object_list] == ["K-050"]
        assert second.context["page"].has_next is False

    def test_the_list_page_runs_a_fixed_number_of_queries_and_never_touches_documents(
        self, client, billing_user, entity, customer, django_assert_max_num_queries
    ):
        for i in range(30):
            c = customer_services.customer_create(
                entity=entity, data=customer_in(f"K-{i:03d}", name=f"Kunde {i:03d}"), actor=None, now=NOW
            )
            if i % 10 == 0:
                issued_invoice(c)
        client.force_login(billing_user)
        client.get(reverse("customer_list"))  # warm caches (content types, sessions)
        with django_assert_max_num_queries(8) as captured:
            response = client.get(reverse("customer_list"), {"q": "Kunde"})
        assert response.status_code == 200
        assert not any("receivables_document" in q["sql"] for q in captured.captured_queries)


class TestCustomerPage:
    def test_shows_master_data_hierarchy_balance_open_items_and_history(
        self, client, billing_user, customers
    ):
        child = customers["child"]
        issued_invoice(child)
        client.force_login(billing_user)
        response = client.get(reverse("customer_detail", args=[child.pk]))
        text = response.content.decode()
        assert response.status_code == 200
        assert "Müller Maschinenbau GmbH" in text
        assert "G-1 Müller Holding AG" in text  # parent
        assert "INV-2026-000001" in text  # open item
        assert "€1,190.00" in text  # balance and open item in the English format
        assert "Customer changed" in text  # audit history
        assert "group" in text  # the reason
        parent_page = client.get(reverse("customer_detail", args=[customers["parent"].pk])).content.decode()
        assert "C-1000 Müller Maschinenbau GmbH" in parent_page  # child

    def test_a_german_reader_sees_german_amounts_and_labels(self, client, billing_user, customer):
        issued_invoice(customer)
        UserPreference.objects.create(user=billing_user, language="de")
        client.force_login(billing_user)
        text = client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
        assert "1.190,00\xa0€" in text
        assert "Offene Posten" in text


class TestCustomerEdit:
    def form_data(self, **overrides):
        data = {
            "name": "Müller Maschinenbau GmbH & Co. KG",
            "country": "DE",
            "currency": "EUR",
            "language": "de",
            "payment_terms": "NET14",
            "email": "ap@mueller.example",
            "vat_id": "",
            "parent_number": "",
            "status": "active",
            "address": "",
            "crm_id": "",
            "erp_id": "",
            "reason": "new legal form",
        }
        data.update(overrides)
        return data

    def test_saving_changes_the_customer_and_audits_the_reason(self, client, billing_user, customer):
        client.force_login(billing_user)
        response = client.post(reverse("customer_edit", args=[customer.pk]), self.form_data())
        assert response.status_code == 302
        customer.refresh_from_db()
        assert (customer.name, customer.payment_terms) == ("Müller Maschinenbau GmbH & Co. KG", "NET14")
        event = AuditEvent.objects.get(
            object_type="customer", object_id=customer.pk, action="customers.customer.changed"
        )
        assert event.reason == "new legal form"
        assert event.actor_label == "bianca"

    def test_the_type_is_set_and_the_sales_tax_region_kept(self, client, billing_user, customer):
        Customer.objects.filter(pk=customer.pk).update(region="CA")
        client.force_login(billing_user)
        response = client.post(
            reverse("customer_edit", args=[customer.pk]), self.form_data(customer_type="Public sector")
        )
        assert response.status_code == 302
        customer.refresh_from_db()
        assert (customer.customer_type, customer.region) == ("public_sector", "CA")
        page = client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
        assert "<dt>Customer type</dt><dd>public_sector</dd>" in page

    def test_a_customer_type_with_other_signs_is_shown_on_its_field(self, client, billing_user, customer):
        client.force_login(billing_user)
        response = client.post(
            reverse("customer_edit", args=[customer.pk]), self.form_data(customer_type="key.account")
        )
        assert response.status_code == 422
        assert response.context["form"].errors["customer_type"] == [
            "Use letters, digits and underscores, at most 30 (examples: key_account, sme)."
        ]

    def test_a_reason_is_required(self, client, billing_user, customer):
        client.force_login(billing_user)
        response = client.post(reverse("customer_edit", args=[customer.pk]), self.form_data(reason=""))
        assert response.status_code == 422
        customer.refresh_from_db()
        assert customer.payment_terms == "NET30"

    def test_a_refusal_of_the_service_is_shown_on_the_field_and_changes_nothing(
        self, client, billing_user, customer
    ):
        client.force_login(billing_user)
        events = AuditEvent.objects.count()
        response = client.post(
            reverse("customer_edit", args=[customer.pk]), self.form_data(parent_number="NOPE")
        )
        assert response.status_code == 422
        assert "There is no customer with this parent number." in response.content.decode()
        assert AuditEvent.objects.count() == events
        customer.refresh_from_db()
        assert customer.name == "Müller Maschinenbau GmbH"

    def test_the_refusal_is_translated(self, client, billing_user, customer):
        UserPreference.objects.create(user=billing_user, language="fr")
        client.force_login(billing_user)
        response = client.post(reverse("customer_edit", args=[customer.pk]), self.form_data(country="XX"))
        assert "Ce n’est pas un code pays ISO 3166." in response.content.decode()


class TestContactsAndBankAccounts:
    def test_adding_a_contact(self, client, billing_user, customer):
        client.force_login(billing_user)
        response = client.post(
            reverse("contact_add", args=[customer.pk]),
            {
                "name": "Petra Schulz",
                "email": "petra@mueller.example",
                "phone": "+49 30 1234",
                "role": "AP",
                "is_billing": "on",
            },
        )
        assert response.status_code == 302
        contact = customer.contacts.get()
        assert (contact.name, contact.is_billing) == ("Petra Schulz", True)
        assert "Petra Schulz" in client.get(reverse("customer_detail", args=[customer.pk])).content.decode()

    def test_adding_a_bank_account(self, client, billing_user, customer):
        client.force_login(billing_user)
        response = client.post(
            reverse("bank_account_add", args=[customer.pk]),
            {"iban": "DE89 3704 0044 0532 0130 00", "bic": "", "holder": "Müller"},
        )
        assert response.status_code == 302
        assert customer.bank_accounts.get().iban == "DE89370400440532013000"

    def test_a_bad_iban_shows_the_error_and_adds_nothing(self, client, billing_user, customer):
        client.force_login(billing_user)
        events = AuditEvent.objects.count()
        response = client.post(
            reverse("bank_account_add", args=[customer.pk]),
            {"iban": "DE89 3704 0044 0532 0130 01", "holder": ""},
        )
        assert response.status_code == 422
        assert "This is not a valid IBAN." in response.content.decode()
        assert customer.bank_accounts.count() == 0
        assert AuditEvent.objects.count() == events

    def test_a_contact_needs_a_name(self, client, billing_user, customer):
        client.force_login(billing_user)
        response = client.post(reverse("contact_add", args=[customer.pk]), {"name": ""})
        assert response.status_code == 422
        assert customer.contacts.count() == 0


def test_a_customer_of_the_list_links_to_its_page(client, billing_user, customer):
    client.force_login(billing_user)
    text = client.get(reverse("customer_list")).content.decode()
    assert reverse("customer_detail", args=[customer.pk]) in text
    assert Customer.objects.count() == 1


def test_the_customer_page_links_its_credit_page_for_who_reads_credit(client, entity, customer):
    client.force_login(make_user("carmen", "credit", entities=[entity]))
    page = client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    client.force_login(make_user("bianca2", "billing", entities=[entity]))
    other = client.get(reverse("customer_detail", args=[customer.pk])).content.decode()

    assert f'<a href="/credit/customers/{customer.pk}/" id="credit-page-link">Credit page</a>' in page
    assert 'id="credit-page-link"' not in other
    assert '<a href="/credit/holds/" aria-current="page">Credit</a>' not in page  # not the current section
    assert '<a href="/credit/holds/">Credit</a>' in page
