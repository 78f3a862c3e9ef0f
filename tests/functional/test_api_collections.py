"""The collections API (`/api/collections`): promises to pay, payment plans, activities, the day's tasks
and targets, changed by collectors and AR managers, read by auditors, within the caller's legal
entities. The invoice is 1,190.00 EUR (1,000.00 net, 19 % tax), issued 2 March 2026, due 1 April."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from o2c.audit.models import AuditEvent
from o2c.collections.models import Activity, CollectionTarget, PaymentPlan, PromiseToPay
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables.models import Document
from o2c.workspace import services as workspace_services
from tests.conftest import NOW, customer_in, issued_invoice, make_user

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)  # 16 March 2026, 09:30 UTC


def client_for(user: User) -> Client:
    _, token = workspace_services.api_token_create(user=user, name="test", now=NOW)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def body(response: Any) -> Any:
    return json.loads(response.content)


def send(client: Client, method: str, path: str, data: dict[str, Any]) -> Any:
    return getattr(client, method)(path, data=json.dumps(data), content_type="application/json")


@pytest.fixture
def invoice(customer: Customer) -> Document:
    return issued_invoice(customer)


@pytest.fixture
def collector_user(entity: LegalEntity) -> User:
    return make_user("carla", "collector", entities=[entity])


@pytest.fixture
def collector(collector_user: User) -> Client:
    return client_for(collector_user)


@pytest.fixture
def manager_user(entity: LegalEntity) -> User:
    return make_user("martin", "ar_manager", entities=[entity])


@pytest.fixture
def manager(manager_user: User) -> Client:
    return client_for(manager_user)


@pytest.fixture
def auditor(auditor_user: User) -> Client:
    return client_for(auditor_user)


def _promise(client: Client, customer: Customer, invoice: Document, **extra: Any) -> Any:
    return send(
        client,
        "post",
        "/api/collections/promises",
        {
            "customer_id": customer.pk,
            "document_ids": [invoice.pk],
            "amount": "1190.00",
            "currency": "EUR",
            "promised_date": "2026-03-27",
            "contact": "Frau Keller",
            **extra,
        },
    )


def _plan(client: Client, customer: Customer, invoice: Document) -> Any:
    return send(
        client,
        "post",
        "/api/collections/plans",
        {
            "customer_id": customer.pk,
            "document_ids": [invoice.pk],
            "currency": "EUR",
            "instalments": [
                {"due_date": "2026-04-15", "amount": "595.00"},
                {"due_date": "2026-05-15", "amount": "595.00"},
            ],
            "note": "two halves",
        },
    )


class TestPromises:
    def test_a_collector_records_a_promise_and_lists_it_by_state(
        self, collector: Client, collector_user: User, customer: Customer, invoice: Document
    ) -> None:
        response = _promise(collector, customer, invoice)

        assert response.status_code == 201
        promise = PromiseToPay.objects.get()
        assert body(response) == {
            "id": promise.pk,
            "entity": "MAIN",
            "customer_id": customer.pk,
            "customer_number": "C-1000",
            "document_ids": [invoice.pk],
            "amount": "1190.00",
            "currency": "EUR",
            "promised_date": "2026-03-27",
            "made_on": "2026-03-16",
            "grace_until": "2026-03-30",
            "state": "open",
            "judged_on": None,
            "paid": "0.00",
            "contact": "Frau Keller",
            "note": "",
            "created_at": "2026-03-16T09:30:00Z",
            "created_by": "carla",
        }
        assert [p["id"] for p in body(collector.get("/api/collections/promises?state=open"))["items"]] == [
            promise.pk
        ]
        assert body(collector.get("/api/collections/promises?state=kept"))["items"] == []
        assert AuditEvent.objects.get(action="collections.promise.recorded").actor == collector_user

    def test_a_refused_promise_is_422_with_its_code(
        self, collector: Client, customer: Customer, invoice: Document
    ) -> None:
        response = _promise(collector, customer, invoice, promised_date="2026-03-01")

        assert (response.status_code, response["Content-Type"], body(response)["code"]) == (
            422,
            PROBLEM,
            "date_passed",
        )
        assert not PromiseToPay.objects.exists()

    def test_an_auditor_reads_but_does_not_record(
        self, collector: Client, auditor: Client, customer: Customer, invoice: Document
    ) -> None:
        _promise(collector, customer, invoice)

        assert len(body(auditor.get("/api/collections/promises"))["items"]) == 1
        refused = _promise(auditor, customer, invoice)
        assert (refused.status_code, body(refused)["code"]) == (403, "forbidden")
        assert PromiseToPay.objects.count() == 1

    def test_the_billing_role_does_not_see_collections(self, billing_user: User) -> None:
        response = client_for(billing_user).get("/api/collections/promises")
        assert (response.status_code, body(response)["code"]) == (403, "forbidden")

    def test_another_entitys_customer_is_not_found(
        self, collector: Client, other_entity: LegalEntity, customer: Customer, invoice: Document
    ) -> None:
        french = customer_services.customer_create(
            entity=other_entity, data=customer_in("F-1", country="FR"), actor=None, now=NOW
        )
        french_invoice = issued_invoice(french)

        for customer_id, document_id in ((french.pk, french_invoice.pk), (customer.pk, french_invoice.pk)):
            response = send(
                collector,
                "post",
                "/api/collections/promises",
                {
                    "customer_id": customer_id,
                    "document_ids": [document_id],
                    "amount": "10.00",
                    "currency": "EUR",
                    "promised_date": "2026-03-27",
                },
            )
            assert (response.status_code, body(response)["code"]) == (404, "not_found")
        assert not PromiseToPay.objects.exists()


class TestPlans:
    def test_a_collector_proposes_and_an_ar_manager_approves(
        self, collector: Client, manager: Client, customer: Customer, invoice: Document
    ) -> None:
        proposed = _plan(collector, customer, invoice)
        assert proposed.status_code == 201
        plan_id = body(proposed)["id"]
        assert {
            key: body(proposed)[key] for key in ("state", "total", "instalments", "proposed_by", "grace_days")
        } == {
            "state": "proposed",
            "total": "1190.00",
            "instalments": [
                {"due_date": "2026-04-15", "amount": "595.00"},
                {"due_date": "2026-05-15", "amount": "595.00"},
            ],
            "proposed_by": "carla",
            "grace_days": 10,
        }

        refused = send(collector, "post", f"/api/collections/plans/{plan_id}/approve", {})
        assert (refused.status_code, body(refused)["code"]) == (403, "forbidden")
        approved = send(manager, "post", f"/api/collections/plans/{plan_id}/approve", {"reason": "fine"})
        assert approved.status_code == 200
        assert {
            key: body(approved)[key] for key in ("state", "decided_by", "approved_on", "decision_reason")
        } == {
            "state": "approved",
            "decided_by": "martin",
            "approved_on": "2026-03-16",
            "decision_reason": "fine",
        }
        again = send(manager, "post", f"/api/collections/plans/{plan_id}/approve", {})
        assert (again.status_code, body(again)["code"]) == (409, "not_pending")
        assert [p["state"] for p in body(manager.get("/api/collections/plans?state=approved"))["items"]] == [
            "approved"
        ]

    def test_the_manager_who_proposed_cannot_approve_and_a_rejection_needs_a_reason(
        self, manager: Client, customer: Customer, invoice: Document
    ) -> None:
        plan_id = body(_plan(manager, customer, invoice))["id"]

        same = send(manager, "post", f"/api/collections/plans/{plan_id}/approve", {})
        assert (same.status_code, body(same)["code"]) == (422, "same_person")
        other = client_for(make_user("anna", "admin", entities=[customer.entity]))
        no_reason = send(other, "post", f"/api/collections/plans/{plan_id}/reject", {})
        assert (no_reason.status_code, body(no_reason)["code"]) == (422, "reason_required")
        rejected = send(other, "post", f"/api/collections/plans/{plan_id}/reject", {"reason": "too slow"})
        assert (rejected.status_code, body(rejected)["state"]) == (200, "rejected")
        assert PaymentPlan.objects.get().state == "rejected"

    def test_instalments_above_the_open_amount_are_refused(
        self, collector: Client, customer: Customer, invoice: Document
    ) -> None:
        response = send(
            collector,
            "post",
            "/api/collections/plans",
            {
                "customer_id": customer.pk,
                "document_ids": [invoice.pk],
                "currency": "EUR",
                "instalments": [{"due_date": "2026-04-15", "amount": "1190.01"}],
            },
        )
        assert (response.status_code, body(response)["code"]) == (422, "exceeds_open_amount")
        assert not PaymentPlan.objects.exists()


class TestActivitiesAndTasks:
    def test_a_collector_logs_a_call_and_finds_it_among_the_customers_activities_and_her_tasks(
        self, collector: Client, collector_user: User, customer: Customer, invoice: Document
    ) -> None:
        customer.collector = collector_user
        customer.save(update_fields=["collector"])

        response = send(
            collector,
            "post",
            "/api/collections/activities",
            {
                "customer_id": customer.pk,
                "kind": "call",
                "outcome": "left_message",
                "text": "Voicemail, calls back Monday",
                "next_action_date": "2026-03-16",
                "document_ids": [invoice.pk],
            },
        )

        assert response.status_code == 201
        activity = Activity.objects.get()
        expected = {
            "id": activity.pk,
            "customer_id": customer.pk,
            "customer_number": "C-1000",
            "kind": "call",
            "outcome": "left_message",
            "text": "Voicemail, calls back Monday",
            "next_action_date": "2026-03-16",
            "document_ids": [invoice.pk],
            "created_at": "2026-03-16T09:30:00Z",
            "created_by": "carla",
        }
        assert body(response) == expected
        assert body(collector.get(f"/api/collections/activities?customer_id={customer.pk}"))["items"] == [
            expected
        ]
        tasks = body(collector.get("/api/collections/tasks"))
        assert (tasks["today"], [a["id"] for a in tasks["activities"]], tasks["promises"]) == (
            "2026-03-16",
            [activity.pk],
            [],
        )

    def test_a_note_without_text_is_refused_and_a_bad_outcome_does_not_fit_the_schema(
        self, collector: Client, customer: Customer
    ) -> None:
        note = send(
            collector,
            "post",
            "/api/collections/activities",
            {"customer_id": customer.pk, "kind": "note", "outcome": "other"},
        )
        assert (note.status_code, body(note)["code"]) == (422, "text_required")
        bad = send(
            collector,
            "post",
            "/api/collections/activities",
            {"customer_id": customer.pk, "kind": "call", "outcome": "maybe"},
        )
        assert (bad.status_code, body(bad)["code"]) == (422, "validation_error")
        assert not Activity.objects.exists()

    def test_another_entitys_customer_has_no_activities_to_show(
        self, collector: Client, other_entity: LegalEntity
    ) -> None:
        french = customer_services.customer_create(
            entity=other_entity, data=customer_in("F-1", country="FR"), actor=None, now=NOW
        )
        response = collector.get(f"/api/collections/activities?customer_id={french.pk}")
        assert (response.status_code, body(response)["code"]) == (404, "not_found")


class TestTargets:
    def test_an_ar_manager_sets_a_target_and_everyone_who_reads_sees_it(
        self, manager: Client, auditor: Client, collector_user: User, manager_user: User
    ) -> None:
        response = send(
            manager,
            "put",
            "/api/collections/targets",
            {"collector": "carla", "month": "2026-04-01", "amount": "50000.00", "currency": "EUR"},
        )

        assert response.status_code == 200
        target = CollectionTarget.objects.get()
        assert body(response) == {
            "id": target.pk,
            "entity": "MAIN",
            "collector": "carla",
            "month": "2026-04-01",
            "amount": "50000.00",
            "currency": "EUR",
            "updated_at": "2026-03-16T09:30:00Z",
            "updated_by": "martin",
        }
        assert body(auditor.get("/api/collections/targets?month=2026-04-01")) == [body(response)]
        assert body(auditor.get("/api/collections/targets?collector=nobody")) == []
        refused = send(
            auditor,
            "put",
            "/api/collections/targets",
            {"collector": "carla", "month": "2026-04-01", "amount": "1.00", "currency": "EUR"},
        )
        assert (refused.status_code, body(refused)["code"]) == (403, "forbidden")

    def test_a_target_for_a_day_not_the_first_or_an_entity_not_granted_is_refused(
        self, manager: Client, collector_user: User, other_entity: LegalEntity
    ) -> None:
        not_a_month = send(
            manager,
            "put",
            "/api/collections/targets",
            {"collector": "carla", "month": "2026-04-02", "amount": "1.00", "currency": "EUR"},
        )
        assert (not_a_month.status_code, body(not_a_month)["code"]) == (422, "not_a_month")
        not_granted = send(
            manager,
            "put",
            "/api/collections/targets",
            {
                "entity": "FR01",
                "collector": "carla",
                "month": "2026-04-01",
                "amount": "1.00",
                "currency": "EUR",
            },
        )
        assert (not_granted.status_code, body(not_granted)["code"]) == (404, "not_found")
        assert not CollectionTarget.objects.exists()


class TestWorklist:
    def test_a_collector_reads_her_worklist_with_each_priority_s_parts(
        self, collector, collector_user, customer
    ):
        Customer.objects.filter(pk=customer.pk).update(collector=collector_user)
        issued_invoice(customer, issue_date=date(2026, 1, 2))  # 1,190.00 due 02-01: 43 days overdue

        response = collector.get("/api/collections/worklist")

        assert response.status_code == 200
        assert body(response) == {
            "entity": "MAIN",
            "collector": "carla",
            "today": "2026-03-16",
            "lines": [
                {
                    "customer_number": "C-1000",
                    "customer_name": customer.name,
                    "currency": "EUR",
                    "overdue": "1190.00",
                    "items": 1,
                    "oldest_due_date": "2026-02-01",
                    "days_overdue": 43,
                    "broken_promises": 0,
                    "promised": False,
                    "risk_class": "",
                    "priority": {
                        "score": 15,
                        "amount_points": 1,
                        "days_points": 14,
                        "promise_points": 0,
                        "risk_points": 0,
                    },
                }
            ],
        }

    def test_another_collector_s_worklist_is_for_those_who_review_portfolios(
        self, collector, collector_user, manager, entity
    ):
        make_user("dora", "collector", entities=[entity])
        assert collector.get("/api/collections/worklist?collector=dora").status_code == 403
        assert collector.get("/api/collections/worklist?collector=carla").status_code == 200
        review = manager.get("/api/collections/worklist?collector=carla")
        assert (review.status_code, body(review)["collector"], body(review)["lines"]) == (200, "carla", [])
        assert manager.get("/api/collections/worklist?collector=nobody").status_code == 404


class TestAssignments:
    def test_a_manager_moves_customers_to_a_collector_in_bulk_with_the_reason_audited(
        self, manager, manager_user, collector_user, customer, entity
    ):
        second = customer_services.customer_create(
            entity=entity, data=customer_in("C-2000", name="Schmidt Logistik AG"), actor=None, now=NOW
        )
        Customer.objects.filter(pk=second.pk).update(collector=collector_user)

        response = send(
            manager,
            "post",
            "/api/collections/assignments",
            {"collector": "carla", "customers": ["C-2000", "C-1000"], "reason": "portfolio review"},
        )

        assert response.status_code == 200
        assert body(response) == {
            "entity": "MAIN",
            "collector": "carla",
            "customers": ["C-1000", "C-2000"],
            "moved": 1,  # C-2000 was hers already
        }
        assert set(Customer.objects.filter(collector=collector_user).values_list("number", flat=True)) == {
            "C-1000",
            "C-2000",
        }
        event = AuditEvent.objects.get(action="customers.customer.changed", object_id=customer.pk)
        assert (event.actor, event.changes, event.reason) == (
            manager_user,
            {"collector": [None, "carla"]},
            "portfolio review",
        )
        out = send(
            manager,
            "post",
            "/api/collections/assignments",
            {"collector": None, "customers": ["C-1000"], "reason": "x"},
        )
        assert (out.status_code, body(out)["moved"]) == (200, 1)
        assert Customer.objects.get(pk=customer.pk).collector_id is None

    def test_an_unknown_customer_or_user_moves_nothing_and_collectors_may_not_assign(
        self, manager, collector, customer
    ):
        unknown = send(
            manager,
            "post",
            "/api/collections/assignments",
            {"collector": "carla", "customers": ["C-1000", "C-404"], "reason": "x"},
        )
        assert unknown.status_code == 422
        assert "C-404" in unknown.content.decode()
        nobody = send(
            manager,
            "post",
            "/api/collections/assignments",
            {"collector": "nobody", "customers": ["C-1000"], "reason": "x"},
        )
        assert nobody.status_code == 422
        assert Customer.objects.get(pk=customer.pk).collector_id is None
        refused = send(
            collector,
            "post",
            "/api/collections/assignments",
            {"collector": "carla", "customers": ["C-1000"], "reason": "x"},
        )
        assert refused.status_code == 403
