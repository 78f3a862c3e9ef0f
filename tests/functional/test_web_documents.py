"""Invoice list and page, manual invoices, issuing, credit memos; amounts in the reader's locale."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from o2c.audit.models import AuditEvent
from o2c.ledger.models import JournalEntry
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document, DocumentLine
from o2c.workspace.models import UserPreference
from tests.conftest import issued_credit_memo, issued_invoice

pytestmark = pytest.mark.django_db


def invoice_form(customer_number="C-1000", lines=(), **head):
    data = {
        "customer_number": customer_number,
        "issue_date": "2026-03-02",
        "po_number": "PO-4711",
        "lines-TOTAL_FORMS": "4",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    data.update(head)
    for i, line in enumerate(lines):
        for key, value in line.items():
            data[f"lines-{i}-{key}"] = value
    return data


GOOD_LINE = {
    "description": "Consulting",
    "quantity": "10",
    "unit_price": "100.00",
    "discount_percent": "0",
    "tax_rate": "19",
}


class TestDocumentList:
    def test_lists_documents_newest_first_with_filters(self, client, billing_user, customer):
        invoice = issued_invoice(customer)
        memo = issued_credit_memo(invoice, amount=Decimal("100.00"))
        later = issued_invoice(customer, issue_date=invoice.issue_date.replace(day=20))
        client.force_login(billing_user)
        page = client.get(reverse("document_list")).context["page"]
        assert [d.number for d in page.object_list] == [later.number, memo.number, invoice.number]
        memos = client.get(reverse("document_list"), {"type": "credit_memo"}).context["page"]
        assert [d.number for d in memos.object_list] == [memo.number]
        by_number = client.get(reverse("document_list"), {"q": "INV-2026-000002"}).context["page"]
        assert [d.number for d in by_number.object_list] == [later.number]
        by_po = client.get(reverse("document_list"), {"q": "PO-9"}).context["page"]
        assert by_po.object_list == []

    def test_open_only_leaves_out_settled_documents(self, client, billing_user, customer):
        credited = issued_invoice(customer)
        issued_credit_memo(credited, amount=Decimal("1190.00"))  # settles the invoice fully
        still_open = issued_invoice(customer)
        client.force_login(billing_user)
        page = client.get(reverse("document_list"), {"open": "on"}).context["page"]
        assert [d.number for d in page.object_list] == [still_open.number]

    def test_pages_by_next_and_previous_without_a_count(
        self, client, billing_user, customer, django_assert_max_num_queries
    ):
        for _ in range(52):
            issued_invoice(customer, lines=[LineIn("X", Decimal(1), Decimal(1), Decimal(0))])
        client.force_login(billing_user)
        client.get(reverse("document_list"))
        with django_assert_max_num_queries(7) as captured:
            first = client.get(reverse("document_list"))
        assert not any("COUNT(" in q["sql"].upper() for q in captured.captured_queries)
        page = first.context["page"]
        assert (len(page.object_list), page.has_next, page.has_previous) == (50, True, False)
        last = client.get(reverse("document_list"), {"page": 2}).context["page"]
        assert (len(last.object_list), last.has_next, last.has_previous) == (2, False, True)

    def test_an_htmx_filter_returns_only_the_results(self, client, billing_user, customer):
        issued_invoice(customer)
        client.force_login(billing_user)
        text = client.get(
            reverse("document_list"), {"q": "INV"}, headers={"HX-Request": "true"}
        ).content.decode()
        assert "INV-2026-000001" in text
        assert "<html" not in text


class TestDocumentPage:
    def test_shows_lines_taxes_totals_settlement_postings_and_history(self, client, billing_user, customer):
        invoice = issued_invoice(customer)
        memo = issued_credit_memo(invoice, amount=Decimal("100.00"))
        client.force_login(billing_user)
        response = client.get(reverse("document_detail", args=[invoice.pk]))
        text = response.content.decode()
        assert response.status_code == 200
        assert "Consulting" in text
        assert "€1,000.00" in text  # net
        assert "€190.00" in text  # tax at 19 %
        assert "€1,190.00" in text  # total
        assert "€1,090.00" in text  # open after the credit memo of 100.00
        assert "Partially paid" in text
        assert memo.number in text  # settled by, and corrected by
        assert "Apr 1, 2026" in text  # due date NET30
        assert "Document issued" in text  # history
        assert len(response.context["entries"]) == 2  # issue and credit memo allocation

    def test_a_german_user_sees_german_amounts_and_dates(self, client, billing_user, customer):
        invoice = issued_invoice(customer)
        UserPreference.objects.create(user=billing_user, language="de")
        client.force_login(billing_user)
        text = client.get(reverse("document_detail", args=[invoice.pk])).content.decode()
        assert "1.190,00\xa0€" in text
        assert "01.04.2026" in text
        assert "Rechnung" in text

    def test_a_french_and_a_spanish_user_see_their_formats(self, client, billing_user, customer):
        invoice = issued_invoice(customer)
        preference = UserPreference.objects.create(user=billing_user, language="fr")
        client.force_login(billing_user)
        assert (
            "1\u202f190,00\xa0€" in client.get(reverse("document_detail", args=[invoice.pk])).content.decode()
        )
        preference.language = "es"
        preference.save()
        assert "1.190,00\xa0€" in client.get(reverse("document_detail", args=[invoice.pk])).content.decode()


class TestCreateInvoice:
    def test_saving_a_draft_then_issuing_it_shows_the_number(self, client, billing_user, customer):
        client.force_login(billing_user)
        response = client.post(reverse("document_create"), invoice_form(lines=[GOOD_LINE]))
        assert response.status_code == 302
        draft = Document.objects.get()
        assert response["Location"] == reverse("document_detail", args=[draft.pk])
        assert (draft.status, draft.total_minor, draft.po_number, draft.created_by) == (
            "draft",
            119000,
            "PO-4711",
            billing_user,
        )
        page = client.get(response["Location"]).content.decode()
        assert "Save draft" not in page and 'id="issue-button"' in page
        issued = client.post(reverse("document_issue", args=[draft.pk]), follow=True)
        text = issued.content.decode()
        assert "Issued as INV-2026-000001." in text
        assert '<span id="document-number">INV-2026-000001</span>' in text
        draft.refresh_from_db()
        assert draft.status == "issued"
        assert JournalEntry.objects.filter(source_type="document", source_id=draft.pk).count() == 1

    def test_lines_in_the_german_format_are_understood(self, client, billing_user, customer):
        UserPreference.objects.create(user=billing_user, language="de")
        client.force_login(billing_user)
        line = {**GOOD_LINE, "quantity": "2,5", "unit_price": "1.000,10", "discount_percent": "2,5"}
        response = client.post(reverse("document_create"), invoice_form(lines=[line]))
        assert response.status_code == 302
        assert DocumentLine.objects.get().quantity == Decimal("2.5")
        assert DocumentLine.objects.get().unit_price == Decimal("1000.10")

    def test_a_bad_line_shows_a_translated_error_and_writes_nothing(self, client, billing_user, customer):
        UserPreference.objects.create(user=billing_user, language="de")
        client.force_login(billing_user)
        events = AuditEvent.objects.count()
        bad = {**GOOD_LINE, "quantity": "0"}
        response = client.post(reverse("document_create"), invoice_form(lines=[GOOD_LINE, bad]))
        assert response.status_code == 422
        assert "Die Menge muss positiv sein." in response.content.decode()
        assert Document.objects.count() == 0
        assert AuditEvent.objects.count() == events

    def test_a_percentage_above_100_is_refused(self, client, billing_user, customer):
        client.force_login(billing_user)
        response = client.post(
            reverse("document_create"), invoice_form(lines=[{**GOOD_LINE, "tax_rate": "119"}])
        )
        assert response.status_code == 422
        assert "Percentages run from 0 to 100." in response.content.decode()
        assert Document.objects.count() == 0

    def test_an_invoice_without_lines_is_refused(self, client, billing_user, customer):
        client.force_login(billing_user)
        response = client.post(reverse("document_create"), invoice_form())
        assert response.status_code == 422
        assert "A document needs at least one line." in response.content.decode()
        assert Document.objects.count() == 0

    def test_an_unknown_customer_number_is_refused(self, client, billing_user, customer):
        client.force_login(billing_user)
        response = client.post(reverse("document_create"), invoice_form("C-9999", lines=[GOOD_LINE]))
        assert response.status_code == 422
        assert "There is no customer with this number in the legal entity." in response.content.decode()
        assert Document.objects.count() == 0

    def test_a_customer_of_another_entity_cannot_be_invoiced(
        self, client, billing_user, customer, other_entity
    ):
        client.force_login(billing_user)
        response = client.post(
            reverse("document_create"), invoice_form(lines=[GOOD_LINE], entity=str(other_entity.pk))
        )
        assert response.status_code == 422
        assert Document.objects.count() == 0

    def test_a_blocked_customer_is_refused_by_the_service_with_a_message(
        self, client, billing_user, customer
    ):
        customer.status = "blocked"
        customer.save()
        client.force_login(billing_user)
        response = client.post(reverse("document_create"), invoice_form(lines=[GOOD_LINE]))
        assert response.status_code == 422
        assert "The customer is blocked: no new invoices." in response.content.decode()
        assert Document.objects.count() == 0

    def test_issuing_twice_shows_a_message_and_posts_once(self, client, billing_user, customer):
        invoice = issued_invoice(customer)
        client.force_login(billing_user)
        response = client.post(reverse("document_issue", args=[invoice.pk]), follow=True)
        assert "The document is issued already." in response.content.decode()
        assert JournalEntry.objects.filter(source_type="document").count() == 1


class TestCreditMemo:
    def test_a_credit_memo_is_issued_and_settles_the_invoice(self, client, billing_user, customer):
        invoice = issued_invoice(customer)
        client.force_login(billing_user)
        assert client.get(reverse("credit_memo_create", args=[invoice.pk])).status_code == 200
        response = client.post(
            reverse("credit_memo_create", args=[invoice.pk]),
            {
                "description": "Goodwill",
                "net_amount": "100.00",
                "tax_rate": "19",
                "issue_date": "2026-03-10",
                "reason": "late delivery",
            },
            follow=True,
        )
        text = response.content.decode()
        memo = Document.objects.get(document_type="credit_memo")
        assert (memo.number, memo.total_minor, memo.open_minor, memo.notes) == (
            "CM-2026-000001",
            -11900,
            0,
            "late delivery",
        )
        assert f"Credit memo CM-2026-000001 issued for {invoice.number}." in text
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.settlement) == (107100, "partially_paid")
        history = client.get(reverse("document_detail", args=[invoice.pk])).content.decode()
        assert "Allocation posted" in history
        assert "credit memo CM-2026-000001" in history

    def test_more_than_the_invoice_is_refused_and_nothing_is_written(self, client, billing_user, customer):
        invoice = issued_invoice(customer)
        client.force_login(billing_user)
        response = client.post(
            reverse("credit_memo_create", args=[invoice.pk]),
            {
                "description": "Too much",
                "net_amount": "1000.01",
                "tax_rate": "19",
                "issue_date": "2026-03-10",
                "reason": "x",
            },
        )
        assert response.status_code == 422
        assert "The credit memo exceeds what is left to credit on the invoice." in response.content.decode()
        assert Document.objects.filter(document_type="credit_memo").count() == 0

    def test_a_reason_is_required(self, client, billing_user, customer):
        invoice = issued_invoice(customer)
        client.force_login(billing_user)
        response = client.post(
            reverse("credit_memo_create", args=[invoice.pk]),
            {
                "description": "x",
                "net_amount": "10",
                "tax_rate": "19",
                "issue_date": "2026-03-10",
                "reason": "",
            },
        )
        assert response.status_code == 422
        assert Document.objects.filter(document_type="credit_memo").count() == 0
