"""The disputes API (`/api/disputes`): cases opened, worked and resolved by the roles that may change
them, read by collectors and auditors, within the caller's legal entities. The invoice is 1,190.00 EUR
(1,000.00 net, 19 % tax)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from o2c.customers import services as customer_services
from o2c.disputes import services
from o2c.disputes.models import Case
from o2c.ledger.models import LegalEntity
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


def post(client: Client, path: str, data: dict[str, Any]) -> Any:
    return client.post(path, data=json.dumps(data), content_type="application/json")


@pytest.fixture
def invoice(customer) -> Document:
    return issued_invoice(customer)


@pytest.fixture
def analyst_user(entity: LegalEntity) -> User:
    return make_user("dora", "disputes", entities=[entity])


@pytest.fixture
def analyst(analyst_user: User) -> Client:
    return client_for(analyst_user)


@pytest.fixture
def manager_user(entity: LegalEntity) -> User:
    return make_user("martin", "ar_manager", entities=[entity])


def _open(client: Client, invoice: Document, amount: str = "238.00", **extra: Any) -> Any:
    return post(
        client,
        "/api/disputes",
        {"document_id": invoice.pk, "amount": amount, "reason_code": "pricing", **extra},
    )


class TestOpenAndRead:
    def test_a_disputes_analyst_opens_a_case_and_reads_it_with_its_notes(
        self, analyst, analyst_user, invoice
    ):
        response = _open(
            analyst, invoice, customer_reason_code="PR-7", note="Price list of 2025", owner="dora"
        )

        assert response.status_code == 201
        case = body(response)
        assert {key: case[key] for key in ("kind", "state", "amount", "currency", "reason_code", "team")} == {
            "kind": "dispute",
            "state": "open",
            "amount": "238.00",
            "currency": "EUR",
            "reason_code": "pricing",
            "team": "sales",
        }
        assert (case["owner"], case["opened_on"], case["due_date"], case["document_number"]) == (
            "dora",
            "2026-03-16",
            "2026-03-30",
            invoice.number,
        )
        assert [(note["author"], note["text"]) for note in case["notes"]] == [("dora", "Price list of 2025")]
        invoice.refresh_from_db()
        assert invoice.is_disputed is True
        found = body(analyst.get(f"/api/disputes/{case['id']}"))
        assert (found["id"], found["pending"]) == (case["id"], "")

    def test_a_case_on_an_invoice_number(self, analyst, invoice):
        response = post(
            analyst,
            "/api/disputes",
            {"invoice_number": invoice.number, "amount": "10.00", "reason_code": "tax"},
        )

        assert (response.status_code, body(response)["team"]) == (201, "billing")

    def test_more_than_is_open_is_a_problem_with_its_code(self, analyst, invoice):
        response = _open(analyst, invoice, amount="1190.01")

        assert (response.status_code, response["Content-Type"]) == (422, PROBLEM)
        assert body(response)["code"] == "exceeds_open_amount"
        assert Case.objects.count() == 0

    def test_the_list_filters_by_state_customer_owner_and_reason(
        self, entity, analyst, analyst_user, invoice, now
    ):
        other_customer = customer_services.customer_create(
            entity=entity, data=customer_in("C-2000"), actor=None, now=now
        )
        first = body(_open(analyst, invoice, owner="dora"))
        second = body(_open(analyst, issued_invoice(other_customer), amount="50.00", reason_code="quantity"))
        post(analyst, f"/api/disputes/{second['id']}/transition", {"state": "in_review"})

        def ids(query: str) -> list[int]:
            return [item["id"] for item in body(analyst.get(f"/api/disputes{query}"))["items"]]

        assert ids("") == [second["id"], first["id"]]
        assert ids("?state=in_review") == [second["id"]]
        assert ids("?open=true") == [second["id"], first["id"]]
        assert ids(f"?customer_id={invoice.customer_id}") == [first["id"]]
        assert ids("?customer_number=C-2000") == [second["id"]]
        assert ids("?owner=dora") == [first["id"]]
        assert ids("?reason_code=quantity") == [second["id"]]


class TestRoles:
    @pytest.mark.parametrize("role", ["collector", "auditor"])
    def test_collectors_and_auditors_read_but_may_not_change(self, entity, analyst, invoice, role):
        case = body(_open(analyst, invoice))
        reader = client_for(make_user("rita", role, entities=[entity]))

        assert reader.get("/api/disputes").status_code == 200
        assert reader.get(f"/api/disputes/{case['id']}").status_code == 200
        for response in (
            _open(reader, invoice, amount="1.00"),
            post(reader, f"/api/disputes/{case['id']}/notes", {"text": "hi"}),
            post(
                reader,
                f"/api/disputes/{case['id']}/resolve",
                {"outcome": "rejected_invalid", "resolution": "x"},
            ),
        ):
            assert (response.status_code, body(response)["code"]) == (403, "forbidden")
        assert (Case.objects.count(), Case.objects.get().state, Case.objects.get().notes.count()) == (
            1,
            "open",
            0,
        )

    def test_billing_may_not_see_cases(self, entity, analyst, invoice):
        billing = client_for(make_user("bianca", "billing", entities=[entity]))

        assert billing.get("/api/disputes").status_code == 403

    def test_another_entitys_case_and_document_are_not_found(
        self, entity, other_entity, analyst, invoice, now
    ):
        foreign_customer = customer_services.customer_create(
            entity=other_entity, data=customer_in("F-1", country="FR", language="fr"), actor=None, now=now
        )
        foreign_invoice = issued_invoice(foreign_customer)
        foreign_case = services.case_open(
            document_id=foreign_invoice.pk, amount=Decimal("10.00"), reason_code="tax", actor=None, now=now
        )

        assert analyst.get(f"/api/disputes/{foreign_case.pk}").status_code == 404
        response = post(analyst, f"/api/disputes/{foreign_case.pk}/transition", {"state": "in_review"})
        assert (response.status_code, body(response)["code"]) == (404, "not_found")
        assert _open(analyst, foreign_invoice, amount="1.00").status_code == 404
        assert body(analyst.get("/api/disputes"))["items"] == []
        foreign_case.refresh_from_db()
        assert (foreign_case.state, Case.objects.count()) == ("open", 1)


class TestWorkAndResolve:
    def test_a_case_is_moved_noted_and_rejected(self, analyst, invoice):
        case = body(_open(analyst, invoice))

        moved = post(analyst, f"/api/disputes/{case['id']}/transition", {"state": "waiting_on_customer"})
        noted = post(analyst, f"/api/disputes/{case['id']}/notes", {"text": "asked for the contract"})
        assigned = post(analyst, f"/api/disputes/{case['id']}/assign", {"owner": "dora", "team": "billing"})
        resolved = post(
            analyst,
            f"/api/disputes/{case['id']}/resolve",
            {"outcome": "rejected_invalid", "resolution": "contract price applies"},
        )

        assert [r.status_code for r in (moved, noted, assigned, resolved)] == [200, 201, 200, 200]
        done = body(resolved)
        assert (
            done["state"],
            done["root_cause"],
            done["resolved_on"],
            done["resolved_by"],
            done["owner"],
        ) == (
            "rejected_invalid",
            "pricing",
            "2026-03-16",
            "dora",
            "dora",
        )
        assert [note["text"] for note in done["notes"]] == ["asked for the contract"]
        invoice.refresh_from_db()
        assert (invoice.is_disputed, invoice.open_minor) == (False, 119000)
        again = post(analyst, f"/api/disputes/{case['id']}/transition", {"state": "open"})
        assert (again.status_code, body(again)["code"]) == (422, "case_closed")

    def test_a_credit_memo_resolves_a_case(self, analyst, invoice):
        case = body(_open(analyst, invoice))

        response = post(
            analyst,
            f"/api/disputes/{case['id']}/resolve",
            {"outcome": "resolved_credit", "resolution": "agreed", "root_cause": "promotion"},
        )

        done = body(response)
        assert (response.status_code, done["state"], done["root_cause"]) == (
            200,
            "resolved_credit",
            "promotion",
        )
        credit_memo = Document.objects.get(pk=done["credit_memo_id"])
        assert (credit_memo.total_minor, credit_memo.reason_code) == (-23800, "goodwill")
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.is_disputed) == (95200, False)

    def test_a_write_off_above_the_threshold_is_approved_by_an_ar_manager(
        self, entity, analyst, analyst_user, manager_user, invoice
    ):
        services.write_off_policy_set(
            entity_id=entity.pk,
            currency="EUR",
            threshold=Decimal("100.00"),
            actor=manager_user,
            now=NOW,
            reason="t",
        )
        case = body(_open(analyst, invoice, amount="150.00"))

        asked = body(
            post(
                analyst,
                f"/api/disputes/{case['id']}/resolve",
                {"outcome": "written_off", "resolution": "small"},
            )
        )
        refused = post(analyst, f"/api/disputes/{case['id']}/approve-write-off", {})
        approved = post(
            client_for(manager_user), f"/api/disputes/{case['id']}/approve-write-off", {"reason": "ok"}
        )

        assert (asked["state"], asked["pending"], asked["requested_by"]) == ("open", "written_off", "dora")
        assert (refused.status_code, body(refused)["code"]) == (403, "forbidden")
        done = body(approved)
        assert (approved.status_code, done["state"], done["approved_by"], done["resolved_by"]) == (
            200,
            "written_off",
            "martin",
            "dora",
        )
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.is_disputed) == (104000, False)


class TestRootCauses:
    def test_the_cases_that_ended_in_the_range_by_cause_team_and_customer(
        self, entity, analyst, invoice, now
    ):
        other_customer = customer_services.customer_create(
            entity=entity, data=customer_in("C-2000"), actor=None, now=now
        )
        other_invoice = issued_invoice(other_customer)
        for document, amount, reason, outcome in (
            (invoice, "238.00", "pricing", "rejected_invalid"),
            (invoice, "100.00", "quantity", "rejected_invalid"),
            (other_invoice, "50.00", "pricing", "written_off"),
            (other_invoice, "20.00", "pricing", None),  # still open: not counted
        ):
            case = body(_open(analyst, document, amount=amount, reason_code=reason))
            if outcome:
                post(
                    analyst, f"/api/disputes/{case['id']}/resolve", {"outcome": outcome, "resolution": "done"}
                )

        response = analyst.get("/api/disputes/root-causes?date_from=2026-03-01&date_to=2026-03-31")

        report = body(response)
        assert (response.status_code, report["entity"], report["date_from"]) == (
            200,
            entity.code,
            "2026-03-01",
        )
        assert [(c["root_cause"], c["cases"], c["amount"]) for c in report["causes"]] == [
            ("pricing", 2, "288.00"),
            ("quantity", 1, "100.00"),
        ]
        assert [
            (r["root_cause"], r["team"], r["customer_number"], r["cases"], r["amount"])
            for r in report["rows"]
        ] == [
            ("pricing", "sales", "C-1000", 1, "238.00"),
            ("quantity", "logistics", "C-1000", 1, "100.00"),
            ("pricing", "sales", "C-2000", 1, "50.00"),
        ]
        # the invoices' lines have no item code: one product, ""
        assert [(p["root_cause"], p["product"], p["cases"], p["amount"]) for p in report["products"]] == [
            ("pricing", "", 2, "288.00"),
            ("quantity", "", 1, "100.00"),
        ]
        assert [(m["month"], m["root_cause"], m["cases"], m["amount"]) for m in report["months"]] == [
            ("2026-03", "pricing", 2, "288.00"),
            ("2026-03", "quantity", 1, "100.00"),
        ]
        empty = body(analyst.get("/api/disputes/root-causes?date_from=2026-04-01&date_to=2026-04-30"))
        assert (empty["causes"], empty["rows"], empty["products"], empty["months"]) == ([], [], [], [])
        assert (
            analyst.get(
                "/api/disputes/root-causes?date_from=2026-03-01&date_to=2026-03-31&entity=FR01"
            ).status_code
            == 404
        )
