"""Who may open which page: anonymous people log in first, a missing role is a 403, and another legal
entity's customers and documents do not exist (404) and never appear in lists."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from o2c.receivables.calculations import LineIn
from tests.conftest import customer_in, issued_credit_memo, issued_invoice, make_user

pytestmark = pytest.mark.django_db

LIST_PAGES = ["home", "customer_list", "document_list", "document_create", "trial_balance", "audit_list"]


@pytest.fixture
def foreign(other_entity, now):
    """A customer and an issued invoice of the French entity, which the test users are not granted."""
    from o2c.customers import services as customer_services

    customer = customer_services.customer_create(
        entity=other_entity,
        data=customer_in("F-777", name="Fromagerie Secrète SARL", country="FR", language="fr", vat_id=""),
        actor=None,
        now=now,
    )
    invoice = issued_invoice(customer, lines=[LineIn("Brie", Decimal(3), Decimal("77.70"), Decimal(20))])
    return customer, invoice


def object_urls(customer, invoice):
    return [
        reverse("customer_detail", args=[customer.pk]),
        reverse("customer_edit", args=[customer.pk]),
        reverse("document_detail", args=[invoice.pk]),
        reverse("credit_memo_create", args=[invoice.pk]),
    ]


class TestAnonymous:
    @pytest.mark.parametrize("name", LIST_PAGES)
    def test_an_anonymous_visitor_is_sent_to_the_login_page(self, client, name):
        url = reverse(name)
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={url}"

    def test_object_pages_also_ask_for_a_login(self, client, customer):
        invoice = issued_invoice(customer)
        for url in object_urls(customer, invoice):
            response = client.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("login"))

    def test_the_login_page_logs_a_person_in(self, client, billing_user):
        page = client.get(reverse("login"))
        assert page.status_code == 200
        assert b'name="username"' in page.content
        response = client.post(reverse("login"), {"username": "bianca", "password": "correct-horse-battery"})
        assert response.status_code == 302
        assert response["Location"] == reverse("home")
        assert client.get(reverse("home")).status_code == 200

    def test_a_wrong_password_is_refused_with_a_message(self, client, billing_user):
        response = client.post(reverse("login"), {"username": "bianca", "password": "nope"})
        assert response.status_code == 200
        assert b"did not match" in response.content

    def test_logout_ends_the_session(self, client, billing_user):
        client.force_login(billing_user)
        response = client.post(reverse("logout"))
        assert response.status_code == 302
        assert client.get(reverse("home")).status_code == 302


class TestRoles:
    @pytest.mark.parametrize("name", LIST_PAGES)
    def test_a_person_without_any_role_gets_403(self, client, entity, name):
        client.force_login(make_user("nobody", entities=[entity]))
        assert client.get(reverse(name)).status_code == 403

    def test_a_collector_reads_but_does_not_edit_or_issue(self, client, entity, customer):
        invoice = issued_invoice(customer)
        client.force_login(make_user("colette", "collector", entities=[entity]))
        assert client.get(reverse("customer_detail", args=[customer.pk])).status_code == 200
        assert client.get(reverse("document_detail", args=[invoice.pk])).status_code == 200
        assert client.get(reverse("customer_edit", args=[customer.pk])).status_code == 403
        assert client.post(reverse("contact_add", args=[customer.pk]), {"name": "X"}).status_code == 403
        assert client.post(reverse("bank_account_add", args=[customer.pk]), {"iban": "X"}).status_code == 403
        assert client.get(reverse("document_create")).status_code == 403
        assert client.post(reverse("document_issue", args=[invoice.pk])).status_code == 403
        assert client.get(reverse("credit_memo_create", args=[invoice.pk])).status_code == 403
        assert client.get(reverse("trial_balance")).status_code == 403
        assert client.get(reverse("audit_list")).status_code == 403

    def test_the_menu_follows_the_roles(self, client, entity):
        client.force_login(make_user("colette", "collector", entities=[entity]))
        page = client.get(reverse("home")).content.decode()
        assert reverse("customer_list") in page
        assert reverse("document_create") not in page
        assert reverse("audit_list") not in page

    def test_an_auditor_reads_the_audit_trail_and_the_ledger_but_cannot_issue(
        self, client, auditor_user, customer
    ):
        client.force_login(auditor_user)
        assert client.get(reverse("audit_list")).status_code == 200
        assert client.get(reverse("trial_balance")).status_code == 200
        assert client.get(reverse("document_create")).status_code == 403
        assert client.get(reverse("customer_edit", args=[customer.pk])).status_code == 403

    def test_a_billing_analyst_does_not_read_the_audit_trail(self, client, billing_user):
        client.force_login(billing_user)
        assert client.get(reverse("audit_list")).status_code == 403


class TestEntityIsolation:
    def test_another_entitys_customer_and_documents_are_404_for_every_page(
        self, client, billing_user, foreign
    ):
        client.force_login(billing_user)
        customer, invoice = foreign
        for url in object_urls(customer, invoice):
            assert client.get(url).status_code == 404, url
        assert client.post(reverse("document_issue", args=[invoice.pk])).status_code == 404
        assert client.post(reverse("contact_add", args=[customer.pk]), {"name": "Spy"}).status_code == 404
        assert (
            client.post(
                reverse("bank_account_add", args=[customer.pk]), {"iban": "DE89370400440532013000"}
            ).status_code
            == 404
        )
        assert customer.contacts.count() == 0
        assert customer.bank_accounts.count() == 0

    def test_lists_dashboard_ledger_and_audit_show_nothing_of_another_entity(
        self, client, entity, customer, foreign
    ):
        issued_invoice(customer)
        manager = make_user("manon", "ar_manager", entities=[entity])
        client.force_login(manager)
        pages = {
            "customers": client.get(reverse("customer_list"), {"q": "F-777"}),
            "customers_all": client.get(reverse("customer_list")),
            "documents": client.get(reverse("document_list")),
            "search": client.get(reverse("document_list"), {"q": foreign[1].number}),
            "home": client.get(reverse("home")),
            "trial_balance": client.get(reverse("trial_balance"), {"as_of": "2026-12-31"}),
            "audit": client.get(reverse("audit_list")),
        }
        foreign_customer, foreign_invoice = foreign
        for name, response in pages.items():
            text = response.content.decode()
            assert response.status_code == 200, name
            assert "Fromagerie" not in text, name
            assert reverse("customer_detail", args=[foreign_customer.pk]) not in text, name
            assert reverse("document_detail", args=[foreign_invoice.pk]) not in text, name
            assert "FR01" not in text, name
            assert "699,30" not in text and "699.30" not in text, name  # 3 × 77.70 + 20 % tax
        assert "No customers found" in pages["customers"].content.decode()
        assert "C-1000" in pages["customers_all"].content.decode()
        assert "INV-2026-000001" in pages["documents"].content.decode()

    def test_a_person_granted_both_entities_sees_both(self, client, entity, other_entity, customer, foreign):
        client.force_login(make_user("manon", "ar_manager", entities=[entity, other_entity]))
        text = client.get(reverse("customer_list")).content.decode()
        assert "C-1000" in text
        assert "F-777" in text


class TestCreditMemoAccess:
    def test_a_credit_memo_page_of_another_entity_is_404_even_for_managers(self, client, entity, foreign):
        client.force_login(make_user("manon", "ar_manager", entities=[entity]))
        _, invoice = foreign
        response = client.post(
            reverse("credit_memo_create", args=[invoice.pk]),
            {
                "description": "x",
                "net_amount": "1",
                "tax_rate": "20",
                "issue_date": "2026-03-16",
                "reason": "x",
            },
        )
        assert response.status_code == 404
        assert invoice.corrections.count() == 0

    def test_a_credit_memo_cannot_be_credited(self, client, billing_user, customer):
        memo = issued_credit_memo(issued_invoice(customer), amount=Decimal("10.00"))
        client.force_login(billing_user)
        response = client.get(reverse("credit_memo_create", args=[memo.pk]))
        assert response.status_code == 302
        assert response["Location"] == reverse("document_detail", args=[memo.pk])
