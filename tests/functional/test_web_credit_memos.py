"""The credit memo page (lines, amount or everything, with a reason code), credit-and-rebill, and the
approvals queue of maker-checker; who may do what."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from o2c.audit.models import AuditEvent
from o2c.ledger.models import LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from tests.conftest import NOW, issued_invoice, make_user

pytestmark = pytest.mark.django_db


def credit_form(
    invoice: Document, lines: dict[int, dict[str, str]] | None = None, **head: str
) -> dict[str, str]:
    """The credit memo page as a browser posts it: the head, and one row per invoice line."""
    data = {
        "reason_code": "returned_goods",
        "reason": "3 units came back",
        "issue_date": "2026-03-10",
        "description": "Credit",
        "net_amount": "",
        "tax_rate": "",
    }
    data.update(head)
    invoice_lines = list(invoice.lines.order_by("position"))
    data.update(
        {
            "credit-TOTAL_FORMS": str(len(invoice_lines)),
            "credit-INITIAL_FORMS": str(len(invoice_lines)),
            "credit-MIN_NUM_FORMS": "0",
            "credit-MAX_NUM_FORMS": "1000",
        }
    )
    for i, line in enumerate(invoice_lines):
        data[f"credit-{i}-line_id"] = str(line.pk)
        for key, value in (lines or {}).get(line.position, {}).items():
            data[f"credit-{i}-{key}"] = value
    return data


def set_threshold(entity: LegalEntity, amount: str) -> None:
    receivable_services.approval_policy_set(
        entity_id=entity.pk, currency="EUR", threshold=Decimal(amount), actor=None, now=NOW, reason="t"
    )


@pytest.fixture
def invoice(customer: Any) -> Document:
    return issued_invoice(
        customer,
        lines=[
            LineIn("Consulting", Decimal(10), Decimal("100.00"), Decimal(19)),
            LineIn("Handbook", Decimal(2), Decimal("50.00"), Decimal(7)),
        ],
    )  # 1000.00 at 19 % (190.00) and 100.00 at 7 % (7.00): 1297.00


@pytest.fixture
def manager(entity: LegalEntity) -> User:
    return make_user("marta", "ar_manager", entities=[entity])


class TestCreditMemoPage:
    def test_the_page_lists_each_line_with_what_is_left_of_it(self, client, billing_user, invoice):
        client.force_login(billing_user)
        page = client.get(reverse("credit_memo_create", args=[invoice.pk]))
        assert page.status_code == 200
        rows = page.context["rows"]
        assert [(left.line.description, left.quantity_left, left.net_left_minor) for _, left in rows] == [
            ("Consulting", Decimal(10), 100000),
            ("Handbook", Decimal(2), 10000),
        ]
        text = page.content.decode()
        assert 'name="credit-0-quantity"' in text
        assert '<option value="returned_goods">Returned goods</option>' in text

    def test_chosen_lines_are_credited_and_issued(self, client, billing_user, invoice):
        client.force_login(billing_user)
        response = client.post(
            reverse("credit_memo_create", args=[invoice.pk]),
            credit_form(invoice, {1: {"quantity": "3"}, 2: {"amount": "20.00"}}),
            follow=True,
        )
        memo = Document.objects.get(document_type="credit_memo")
        # 300.00 at 19 % (57.00) and 20.00 at 7 % (1.40): 378.40
        assert (memo.number, memo.total_minor, memo.reason_code, memo.notes) == (
            "CM-2026-000001",
            -37840,
            "returned_goods",
            "3 units came back",
        )
        assert f"Credit memo CM-2026-000001 issued for {invoice.number}." in response.content.decode()
        assert "Returned goods" in response.content.decode()  # the credit memo's page shows its reason code
        invoice.refresh_from_db()
        assert invoice.open_minor == 129700 - 37840

    def test_an_amount_is_spread_over_the_rates(self, client, billing_user, invoice):
        client.force_login(billing_user)
        client.post(
            reverse("credit_memo_create", args=[invoice.pk]),
            credit_form(invoice, net_amount="110.00", reason_code="pricing_error"),
        )
        memo = Document.objects.get(document_type="credit_memo")
        # 110.00 over bases 1000:100 = 100.00 at 19 % (19.00) and 10.00 at 7 % (0.70)
        assert (memo.net_minor, memo.tax_minor, memo.total_minor) == (-11000, -1970, -12970)

    def test_everything_left_is_credited(self, client, billing_user, invoice):
        client.force_login(billing_user)
        client.post(reverse("credit_memo_create", args=[invoice.pk]), credit_form(invoice, full="on"))
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.settlement) == (0, "credited")

    def test_lines_and_an_amount_together_are_refused(self, client, billing_user, invoice):
        client.force_login(billing_user)
        response = client.post(
            reverse("credit_memo_create", args=[invoice.pk]),
            credit_form(invoice, {1: {"quantity": "1"}}, net_amount="10"),
        )
        assert response.status_code == 422
        assert "one of them" in response.content.decode()
        assert not Document.objects.filter(document_type="credit_memo").exists()

    def test_nothing_chosen_is_refused(self, client, billing_user, invoice):
        client.force_login(billing_user)
        response = client.post(reverse("credit_memo_create", args=[invoice.pk]), credit_form(invoice))
        assert response.status_code == 422
        assert (
            "Choose lines to credit, enter a net amount, or credit all that is left."
            in response.content.decode()
        )

    def test_more_than_is_left_of_a_line_is_refused_and_nothing_is_written(
        self, client, billing_user, invoice
    ):
        client.force_login(billing_user)
        events = AuditEvent.objects.count()
        response = client.post(
            reverse("credit_memo_create", args=[invoice.pk]), credit_form(invoice, {2: {"quantity": "3"}})
        )
        assert response.status_code == 422
        assert "A line cannot be credited beyond what is left of it." in response.content.decode()
        assert not Document.objects.filter(document_type="credit_memo").exists()
        assert AuditEvent.objects.count() == events

    def test_a_quantity_and_an_amount_on_one_line_are_refused(self, client, billing_user, invoice):
        client.force_login(billing_user)
        response = client.post(
            reverse("credit_memo_create", args=[invoice.pk]),
            credit_form(invoice, {1: {"quantity": "1", "amount": "5"}}),
        )
        assert response.status_code == 422
        assert "Credit a quantity or an amount of a line, not both." in response.content.decode()

    def test_german_numbers_are_read_as_germans_write_them(self, client, billing_user, invoice):
        client.force_login(billing_user)
        client.post(reverse("language_set"), {"language": "de", "next": "/"})
        client.post(
            reverse("credit_memo_create", args=[invoice.pk]),
            credit_form(invoice, {1: {"quantity": "2,5"}}),
        )
        memo = Document.objects.get(document_type="credit_memo")
        assert memo.total_minor == -29750  # 250.00 + 47.50

    def test_above_the_threshold_it_waits_for_approval(self, client, billing_user, entity, invoice):
        set_threshold(entity, "100.00")
        client.force_login(billing_user)
        response = client.post(
            reverse("credit_memo_create", args=[invoice.pk]),
            credit_form(invoice, {1: {"quantity": "3"}}),
            follow=True,
        )
        memo = Document.objects.get(document_type="credit_memo")
        assert (memo.status, memo.approval_state) == ("draft", "pending")
        text = response.content.decode()
        assert "waits for a second person&#x27;s approval" in text
        assert 'id="issue-button"' not in text  # a pending draft shows no issue button
        assert 'id="approvals-link"' in text


class TestCreditAndRebill:
    def test_the_page_starts_with_the_invoices_lines(self, client, billing_user, invoice):
        client.force_login(billing_user)
        page = client.get(reverse("credit_and_rebill", args=[invoice.pk]))
        assert page.status_code == 200
        lines = page.context["lines"]
        assert [(form.initial["description"], form.initial["quantity"]) for form in lines.initial_forms] == [
            ("Consulting", Decimal(10)),
            ("Handbook", Decimal(2)),
        ]
        assert 'value="Consulting"' in page.content.decode()

    def test_credits_the_invoice_and_drafts_the_replacement(self, client, billing_user, invoice):
        client.force_login(billing_user)
        data = {
            "reason_code": "pricing_error",
            "reason": "contract rate is 90.00",
            "issue_date": "2026-03-10",
            "lines-TOTAL_FORMS": "4",
            "lines-INITIAL_FORMS": "2",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "200",
        }
        for i, (description, quantity, price, rate) in enumerate(
            [("Consulting", "10", "90.00", "19"), ("Handbook", "2", "50.00", "7")]
        ):
            data.update(
                {
                    f"lines-{i}-description": description,
                    f"lines-{i}-quantity": quantity,
                    f"lines-{i}-unit_price": price,
                    f"lines-{i}-discount_percent": "0",
                    f"lines-{i}-tax_rate": rate,
                    f"lines-{i}-tax_category": "S",
                }
            )
        response = client.post(reverse("credit_and_rebill", args=[invoice.pk]), data, follow=True)
        rebill = Document.objects.get(rebills=invoice)
        assert (rebill.status, rebill.total_minor) == ("draft", 107100 + 10700)  # 900 + 171 + 100 + 7
        assert response.redirect_chain[-1][0] == reverse("document_detail", args=[rebill.pk])
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.settlement) == (0, "credited")
        text = response.content.decode()
        assert "The replacement invoice is a draft: check it and issue it." in text
        assert invoice.number in text  # "Replaces INV-..."

    def test_a_reason_code_must_be_chosen(self, client, billing_user, invoice):
        client.force_login(billing_user)
        response = client.post(
            reverse("credit_and_rebill", args=[invoice.pk]),
            {
                "reason_code": "",
                "reason": "x",
                "issue_date": "2026-03-10",
                "lines-TOTAL_FORMS": "0",
                "lines-INITIAL_FORMS": "0",
            },
        )
        assert response.status_code == 422
        assert Document.objects.count() == 1


class TestApprovals:
    @pytest.fixture
    def pending(self, entity, invoice, billing_user) -> Document:
        set_threshold(entity, "100.00")
        return receivable_services.credit_memo_full(
            invoice_id=invoice.pk,
            reason_code="duplicate_billing",
            reason="billed twice",
            actor=billing_user,
            now=NOW,
            issue_date=invoice.issue_date,
        )

    def test_the_maker_sees_it_waiting_without_buttons(self, client, billing_user, pending):
        client.force_login(billing_user)
        page = client.get(reverse("approval_list"))
        assert page.status_code == 200
        assert [doc.pk for doc in page.context["page"].object_list] == [pending.pk]
        text = page.content.decode()
        assert "Waiting for a second person" in text
        assert "approve-button" not in text

    def test_a_checker_sees_buttons_and_approves(self, client, manager, pending):
        client.force_login(manager)
        text = client.get(reverse("approval_list")).content.decode()
        assert "approve-button" in text and "reject-button" in text
        response = client.post(
            reverse("credit_memo_approve", args=[pending.pk]), {"reason": "checked"}, follow=True
        )
        assert "is approved: it can be issued now." in response.content.decode()
        pending.refresh_from_db()
        assert (pending.approval_state, pending.approval_decided_by) == ("approved", manager)
        client.post(reverse("document_issue", args=[pending.pk]))
        pending.refresh_from_db()
        assert (pending.status, pending.number) == ("issued", "CM-2026-000001")

    def test_a_checker_cannot_approve_their_own_credit_memo(self, client, entity, invoice):
        set_threshold(entity, "100.00")
        checker = make_user("max", "ar_manager", entities=[entity])
        client.force_login(checker)
        client.post(reverse("credit_memo_create", args=[invoice.pk]), credit_form(invoice, full="on"))
        memo = Document.objects.get(document_type="credit_memo")
        assert memo.approval_state == "pending"
        assert "approve-button" not in client.get(reverse("approval_list")).content.decode()
        response = client.post(
            reverse("credit_memo_approve", args=[memo.pk]), {"reason": "mine"}, follow=True
        )
        assert (
            "You made this credit memo: a second person approves or rejects it." in response.content.decode()
        )
        memo.refresh_from_db()
        assert memo.approval_state == "pending"

    def test_a_checker_rejects_with_a_reason(self, client, manager, pending):
        client.force_login(manager)
        reasonless = client.post(
            reverse("credit_memo_reject", args=[pending.pk]), {"reason": ""}, follow=True
        )
        assert "Say why." in reasonless.content.decode()
        client.post(reverse("credit_memo_reject", args=[pending.pk]), {"reason": "not a duplicate"})
        pending.refresh_from_db()
        assert pending.approval_state == "rejected"
        assert client.get(reverse("approval_list")).context["page"].object_list == []

    def test_billing_may_not_approve(self, client, billing_user, pending):
        other_biller = make_user("bert", "billing", entities=[pending.entity])
        client.force_login(other_biller)
        assert (
            client.post(reverse("credit_memo_approve", args=[pending.pk]), {"reason": "x"}).status_code == 403
        )
        pending.refresh_from_db()
        assert pending.approval_state == "pending"


class TestApprovalThresholds:
    def test_a_manager_sets_changes_and_removes_a_threshold_with_an_audit_trail(
        self, client, manager, entity
    ):
        client.force_login(manager)
        page = client.get(reverse("approval_list")).content.decode()
        assert "No approval threshold is set" in page and 'id="threshold-form"' in page
        form = {"entity": entity.pk, "currency": "eur", "threshold": "1000.00", "reason": "policy 2026"}
        response = client.post(reverse("approval_threshold_set"), form, follow=True)
        text = response.content.decode()
        assert "The approval threshold is saved." in text
        assert [(p.currency, p.threshold_minor) for p in response.context["policies"]] == [("EUR", 100000)]
        client.post(reverse("approval_threshold_set"), {**form, "threshold": "250.50"})
        client.post(reverse("approval_threshold_set"), {**form, "threshold": "", "reason": "no approvals"})
        assert list(client.get(reverse("approval_list")).context["policies"]) == []
        changes = [
            (event.changes["threshold"], event.reason)
            for event in AuditEvent.objects.filter(action="receivables.approval_policy.changed").order_by(
                "pk"
            )
        ]
        assert changes == [
            ([None, "1000.00 EUR"], "policy 2026"),
            (["1000.00 EUR", "250.50 EUR"], "policy 2026"),
            (["250.50 EUR", None], "no approvals"),
        ]

    def test_a_german_manager_writes_the_amount_as_germans_do(self, client, manager, entity):
        client.force_login(manager)
        client.post(reverse("language_set"), {"language": "de", "next": "/"})
        form = {"entity": entity.pk, "currency": "EUR", "threshold": "1.234,50", "reason": "Richtlinie"}
        response = client.post(reverse("approval_threshold_set"), form, follow=True)
        assert "Die Freigabegrenze ist gespeichert." in response.content.decode()
        assert [p.threshold_minor for p in response.context["policies"]] == [123450]

    def test_a_bad_currency_or_a_missing_reason_is_refused(self, client, manager, entity):
        client.force_login(manager)
        form = {"entity": entity.pk, "currency": "XYZ", "threshold": "10", "reason": "x"}
        refused = client.post(reverse("approval_threshold_set"), form, follow=True).content.decode()
        assert "This is not an ISO 4217 currency code." in refused
        reasonless = client.post(
            reverse("approval_threshold_set"), {**form, "currency": "EUR", "reason": ""}, follow=True
        )
        assert "Reason: This field is required." in reasonless.content.decode()
        assert list(reasonless.context["policies"]) == []

    def test_billing_may_not_set_a_threshold_nor_for_another_entity(
        self, client, billing_user, manager, entity, other_entity
    ):
        client.force_login(billing_user)
        form = {"entity": entity.pk, "currency": "EUR", "threshold": "1", "reason": "x"}
        assert client.post(reverse("approval_threshold_set"), form).status_code == 403
        client.force_login(manager)
        client.post(reverse("approval_threshold_set"), {**form, "entity": other_entity.pk})
        assert not other_entity.approval_policies.exists()


class TestRoles:
    def test_an_auditor_gets_403_everywhere(self, client, auditor_user, invoice, billing_user, entity):
        set_threshold(entity, "0")
        memo = receivable_services.credit_memo_full(
            invoice_id=invoice.pk,
            reason_code="other",
            reason="x",
            actor=billing_user,
            now=NOW,
            issue_date=invoice.issue_date,
        )
        client.force_login(auditor_user)
        for url in (
            reverse("credit_memo_create", args=[invoice.pk]),
            reverse("credit_and_rebill", args=[invoice.pk]),
            reverse("approval_list"),
        ):
            assert client.get(url).status_code == 403, url
        assert (
            client.post(
                reverse("credit_memo_create", args=[invoice.pk]), credit_form(invoice, full="on")
            ).status_code
            == 403
        )
        for name in ("credit_memo_approve", "credit_memo_reject"):
            assert client.post(reverse(name, args=[memo.pk]), {"reason": "x"}).status_code == 403
        memo.refresh_from_db()
        assert memo.approval_state == "pending"

    def test_anonymous_visitors_log_in_first(self, client, invoice):
        for url in (reverse("credit_and_rebill", args=[invoice.pk]), reverse("approval_list")):
            response = client.get(url)
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("login"))

    def test_another_entitys_credit_memo_is_404(self, client, other_entity, entity, invoice, billing_user):
        set_threshold(entity, "0")
        memo = receivable_services.credit_memo_full(
            invoice_id=invoice.pk,
            reason_code="other",
            reason="x",
            actor=billing_user,
            now=NOW,
            issue_date=invoice.issue_date,
        )
        foreign_manager = make_user("fred", "ar_manager", entities=[other_entity])
        client.force_login(foreign_manager)
        assert client.post(reverse("credit_memo_approve", args=[memo.pk]), {"reason": "x"}).status_code == 404
        assert client.get(reverse("approval_list")).context["page"].object_list == []
