"""The dashboard, the trial balance, the audit trail and the language switch."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from o2c.receivables.calculations import LineIn
from o2c.workspace.models import UserPreference
from tests.conftest import issued_credit_memo, issued_invoice, make_user

pytestmark = pytest.mark.django_db


class TestHome:
    def test_shows_open_receivables_items_and_overdue_per_currency(self, client, billing_user, customer):
        issued_invoice(customer, issue_date=date(2024, 1, 2))  # long overdue: 1,190.00
        issued_invoice(
            customer,
            lines=[LineIn("Fee", Decimal(1), Decimal("10.00"), Decimal(0))],
            issue_date=date(2028, 6, 1),
        )  # not yet due
        client.force_login(billing_user)
        response = client.get(reverse("home"))
        [summary] = response.context["summaries"]
        [row] = summary.rows
        assert (row.currency, row.open_minor, row.items, row.overdue_minor) == ("EUR", 120000, 2, 119000)
        text = response.content.decode()
        assert "€1,200.00" in text
        assert "2 open items" in text
        assert "€1,190.00" in text

    def test_an_entity_without_open_items_says_so(self, client, billing_user):
        client.force_login(billing_user)
        assert "No open items." in client.get(reverse("home")).content.decode()


class TestTrialBalance:
    def test_shows_the_balances_as_of_a_date(self, client, auditor_user, customer):
        issued_invoice(customer)
        client.force_login(auditor_user)
        response = client.get(reverse("trial_balance"), {"as_of": "2026-03-31"})
        rows = response.context["rows"]
        assert sorted((r.account_type, r.debit_minor, r.credit_minor) for r in rows) == [
            ("receivable", 119000, 0),
            ("revenue", 0, 100000),
            ("tax", 0, 19000),
        ]
        text = response.content.decode()
        assert "1,190.00" in text and "Receivable" in text

    def test_before_the_first_posting_it_is_empty(self, client, auditor_user, customer):
        issued_invoice(customer)
        client.force_login(auditor_user)
        response = client.get(reverse("trial_balance"), {"as_of": "2026-03-01"})
        assert response.context["rows"] == []
        assert "Nothing posted up to this date." in response.content.decode()


class TestAuditTrail:
    def test_lists_every_change_newest_first_with_who_and_why(self, client, auditor_user, customer):
        invoice = issued_invoice(customer)
        issued_credit_memo(invoice, amount=Decimal("10.00"))
        client.force_login(auditor_user)
        response = client.get(reverse("audit_list"))
        actions = [e.action for e in response.context["page"].object_list]
        assert actions[0] == "receivables.allocation.created"
        assert "customers.customer.created" in actions
        text = response.content.decode()
        assert "Customer created" in text
        assert "credit memo CM-2026-000001" in text

    def test_an_ar_manager_reads_it_too(self, client, entity):
        client.force_login(make_user("manon", "ar_manager", entities=[entity]))
        assert client.get(reverse("audit_list")).status_code == 200


class TestLanguage:
    def test_the_switch_remembers_the_language_and_the_pages_follow(self, client, billing_user):
        client.force_login(billing_user)
        response = client.post(reverse("language_set"), {"language": "fr", "next": reverse("customer_list")})
        assert response.status_code == 302
        assert response["Location"] == reverse("customer_list")
        assert UserPreference.objects.get(user=billing_user).language == "fr"
        text = client.get(reverse("customer_list")).content.decode()
        assert '<html lang="fr"' in text
        assert "Clients" in text

    def test_an_outside_next_address_is_not_followed(self, client, billing_user):
        client.force_login(billing_user)
        response = client.post(reverse("language_set"), {"language": "de", "next": "https://evil.example/"})
        assert response["Location"] == reverse("home")

    def test_an_unknown_language_is_ignored(self, client, billing_user):
        client.force_login(billing_user)
        client.post(reverse("language_set"), {"language": "xx"})
        assert not UserPreference.objects.filter(user=billing_user).exists()

    def test_without_a_preference_the_browser_language_is_used(self, client, billing_user):
        client.force_login(billing_user)
        text = client.get(reverse("home"), headers={"accept-language": "es"}).content.decode()
        assert '<html lang="es"' in text
        assert "Clientes" in text
