"""Corrections over the API: credit memos by lines, amount or in full, credit-and-rebill, and the
maker-checker approval of credit memos above the entity's threshold."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from o2c.audit.models import AuditEvent
from o2c.customers import services as customer_services
from o2c.ledger.models import JournalEntry, LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from o2c.workspace import services as workspace_services
from tests.conftest import NOW, customer_in, issued_invoice, make_user

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def client_for(user: User) -> Client:
    _, token = workspace_services.api_token_create(user=user, name="test", now=NOW)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def body(response: Any) -> Any:
    return json.loads(response.content)


def problem(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == PROBLEM
    return body(response)


def post(client: Client, path: str, payload: dict[str, Any]) -> Any:
    return client.post(path, payload, content_type="application/json")


REASON = {"reason_code": "returned_goods", "reason": "3 units came back", "issue_date": "2026-03-10"}


@pytest.fixture
def billing(billing_user: User) -> Client:
    return client_for(billing_user)


@pytest.fixture
def manager(entity: LegalEntity) -> User:
    return make_user("marta", "ar_manager", entities=[entity])


@pytest.fixture
def invoice(customer: Any) -> Document:
    return issued_invoice(customer, po_number="PO-4711")  # 10 x 100.00 at 19 %: 1190.00


class TestCreditMemos:
    def test_lines_by_quantity_are_credited_and_issued_at_once(self, billing, invoice):
        response = post(
            billing,
            f"/api/invoices/{invoice.pk}/credit-memos",
            {**REASON, "lines": [{"position": 1, "quantity": "3"}]},
        )
        assert response.status_code == 201
        memo = body(response)
        assert {key: memo[key] for key in ("number", "type", "status", "net", "tax", "total", "open")} == {
            "number": "CM-2026-000001",
            "type": "credit_memo",
            "status": "issued",
            "net": "-300.00",
            "tax": "-57.00",
            "total": "-357.00",
            "open": "0.00",
        }
        assert (
            memo["corrects"],
            memo["reason_code"],
            memo["approval_state"],
            memo["created_by"],
            memo["po_number"],
            memo["rebills"],
        ) == (invoice.number, "returned_goods", "not_required", "bianca", "PO-4711", None)
        assert memo["lines"] == [
            {
                "position": 1,
                "description": "Consulting",
                "quantity": "3",
                "unit_price": "100.00",
                "discount_percent": "0",
                "tax_rate": "19",
                "net": "300.00",
            }
        ]
        assert body(billing.get(f"/api/invoices/{invoice.pk}"))["open"] == "833.00"

    def test_an_amount_is_spread_over_the_tax_rates(self, billing, customer):
        two_rates = issued_invoice(
            customer,
            lines=[
                LineIn("Software licence", Decimal(1), Decimal("200.00"), Decimal(19)),
                LineIn("Handbook", Decimal(1), Decimal("100.00"), Decimal(7)),
            ],
        )
        response = post(
            billing,
            f"/api/invoices/{two_rates.pk}/credit-memos",
            {**REASON, "reason_code": "pricing_error", "amount": "100.00"},
        )
        assert response.status_code == 201
        memo = body(response)
        # lines and tax lines are positive, as entered; the totals carry the credit memo's sign
        assert memo["tax_lines"] == [
            {"rate": "7", "base": "33.33", "tax": "2.33"},
            {"rate": "19", "base": "66.67", "tax": "12.67"},
        ]
        assert (memo["net"], memo["tax"], memo["total"]) == ("-100.00", "-15.00", "-115.00")

    def test_a_full_credit_settles_the_invoice(self, billing, invoice):
        response = post(billing, f"/api/invoices/{invoice.pk}/credit-memos", {**REASON, "full": True})
        assert (response.status_code, body(response)["total"]) == (201, "-1190.00")
        found = body(billing.get(f"/api/invoices/{invoice.pk}"))
        assert (found["open"], found["settlement"]) == ("0.00", "credited")

    @pytest.mark.parametrize(
        "basis",
        [{}, {"full": True, "amount": "10.00"}, {"lines": [{"position": 1, "quantity": "1"}], "amount": "1"}],
    )
    def test_exactly_one_basis_is_given(self, billing, invoice, basis):
        response = post(billing, f"/api/invoices/{invoice.pk}/credit-memos", {**REASON, **basis})
        assert (response.status_code, problem(response)["code"]) == (422, "credit_basis")
        assert Document.objects.count() == 1

    def test_more_than_is_left_of_a_line_is_422_and_writes_nothing(self, billing, invoice):
        post(
            billing,
            f"/api/invoices/{invoice.pk}/credit-memos",
            {**REASON, "lines": [{"position": 1, "quantity": "7"}]},
        )
        entries, events = JournalEntry.objects.count(), AuditEvent.objects.count()
        response = post(
            billing,
            f"/api/invoices/{invoice.pk}/credit-memos",
            {**REASON, "lines": [{"position": 1, "quantity": "4"}]},
        )
        assert response.status_code == 422
        assert problem(response) == {
            "type": "urn:o2c:problem:exceeds_line",
            "title": "Unable to create document",
            "status": 422,
            "detail": "line 1: 4 is more than the 3 left to credit",
            "code": "exceeds_line",
        }
        assert (JournalEntry.objects.count(), AuditEvent.objects.count()) == (entries, events)

    def test_an_unknown_line_position_is_422(self, billing, invoice):
        response = post(
            billing,
            f"/api/invoices/{invoice.pk}/credit-memos",
            {**REASON, "lines": [{"position": 2, "quantity": "1"}]},
        )
        assert (response.status_code, problem(response)["code"]) == (422, "unknown_line")

    def test_an_unknown_reason_code_is_a_validation_error(self, billing, invoice):
        response = post(
            billing,
            f"/api/invoices/{invoice.pk}/credit-memos",
            {**REASON, "reason_code": "oops", "full": True},
        )
        assert (response.status_code, problem(response)["code"]) == (422, "validation_error")
        assert Document.objects.count() == 1

    def test_an_auditor_may_not_credit(self, auditor_user, invoice):
        response = post(
            client_for(auditor_user), f"/api/invoices/{invoice.pk}/credit-memos", {**REASON, "full": True}
        )
        assert (response.status_code, problem(response)["code"]) == (403, "forbidden")
        assert Document.objects.count() == 1

    def test_another_entitys_invoice_is_404(self, billing, other_entity):
        foreign_customer = customer_services.customer_create(
            entity=other_entity, data=customer_in("F-1", country="FR", vat_id=""), actor=None, now=NOW
        )
        foreign = issued_invoice(foreign_customer)
        response = post(billing, f"/api/invoices/{foreign.pk}/credit-memos", {**REASON, "full": True})
        assert (response.status_code, problem(response)["code"]) == (404, "not_found")


class TestCreditAndRebill:
    def test_credits_in_full_and_drafts_the_replacement(self, billing, invoice):
        response = post(
            billing,
            f"/api/invoices/{invoice.pk}/credit-and-rebill",
            {
                **REASON,
                "reason_code": "pricing_error",
                "reason": "contract rate is 90.00",
                "lines": [
                    {"description": "Consulting", "quantity": "10", "unit_price": "90.00", "tax_rate": "19"}
                ],
            },
        )
        assert response.status_code == 201
        found = body(response)
        memo, rebill = found["credit_memo"], found["rebill"]
        assert (memo["number"], memo["total"], memo["corrects"], memo["reason_code"]) == (
            "CM-2026-000001",
            "-1190.00",
            invoice.number,
            "pricing_error",
        )
        assert (
            rebill["number"],
            rebill["status"],
            rebill["total"],
            rebill["rebills"],
            rebill["po_number"],
        ) == (
            None,
            "draft",
            "1071.00",
            invoice.number,
            "PO-4711",
        )
        issued = billing.post(f"/api/invoices/{rebill['id']}/issue")
        assert (issued.status_code, body(issued)["number"]) == (200, "INV-2026-000002")


class TestApproval:
    @pytest.fixture(autouse=True)
    def _threshold(self, entity: LegalEntity) -> None:
        receivable_services.approval_policy_set(
            entity_id=entity.pk, currency="EUR", threshold=Decimal("1000.00"), actor=None, now=NOW, reason="t"
        )

    def test_a_large_credit_memo_waits_and_a_second_person_approves_it(
        self, billing, manager, entity, invoice
    ):
        maker = make_user("max", "ar_manager", entities=[entity])
        created = post(
            client_for(maker), f"/api/invoices/{invoice.pk}/credit-memos", {**REASON, "full": True}
        )
        assert created.status_code == 201
        memo = body(created)
        assert (memo["status"], memo["number"], memo["approval_state"], memo["open"]) == (
            "draft",
            None,
            "pending",
            None,
        )
        blocked = billing.post(f"/api/invoices/{memo['id']}/issue")
        assert (blocked.status_code, problem(blocked)["code"]) == (422, "approval_pending")

        not_a_checker = post(billing, f"/api/invoices/{memo['id']}/approve", {"reason": "ok"})
        assert (not_a_checker.status_code, problem(not_a_checker)["code"]) == (403, "forbidden")
        own = post(client_for(maker), f"/api/invoices/{memo['id']}/approve", {"reason": "ok"})
        assert own.status_code == 422
        assert problem(own)["code"] == "same_person"

        approved = post(client_for(manager), f"/api/invoices/{memo['id']}/approve", {"reason": "checked"})
        assert approved.status_code == 200
        decided = body(approved)
        assert (
            decided["approval_state"],
            decided["approval_decided_by"],
            decided["approval_decided_at"],
        ) == (
            "approved",
            "marta",
            "2026-03-16T09:30:00Z",
        )
        issued = billing.post(f"/api/invoices/{memo['id']}/issue")
        assert (issued.status_code, body(issued)["number"]) == (200, "CM-2026-000001")
        event = AuditEvent.objects.get(action="receivables.credit_memo.approved")
        assert (event.actor, event.reason) == (manager, "checked")

    def test_a_rejection_needs_a_reason_and_the_credit_memo_is_never_issued(self, billing, manager, invoice):
        memo = body(post(billing, f"/api/invoices/{invoice.pk}/credit-memos", {**REASON, "full": True}))
        checker = client_for(manager)
        reasonless = post(checker, f"/api/invoices/{memo['id']}/reject", {})
        assert (reasonless.status_code, problem(reasonless)["code"]) == (422, "reason_required")
        rejected = post(checker, f"/api/invoices/{memo['id']}/reject", {"reason": "no return note"})
        assert (rejected.status_code, body(rejected)["approval_state"]) == (200, "rejected")
        refused = billing.post(f"/api/invoices/{memo['id']}/issue")
        assert (refused.status_code, problem(refused)["code"]) == (422, "approval_rejected")
        again = post(checker, f"/api/invoices/{memo['id']}/approve", {})
        assert (again.status_code, problem(again)["code"]) == (409, "not_pending")

    def test_a_credit_memo_up_to_the_threshold_is_issued_at_once(self, billing, invoice):
        response = post(
            billing,
            f"/api/invoices/{invoice.pk}/credit-memos",
            {**REASON, "lines": [{"position": 1, "quantity": "8"}]},
        )
        memo = body(response)
        assert (memo["total"], memo["status"], memo["approval_state"]) == (
            "-952.00",
            "issued",
            "not_required",
        )
