"""The credit API (`/api/credit`): limits with maker-checker approval, orders checked on arrival, the hold
queue's decisions, blocking, the what-if check and the reports; worked by credit analysts, approved by AR
managers, read by auditors, within the caller's legal entities."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from o2c.audit.models import AuditEvent
from o2c.credit.models import CreditLimit, SalesOrder
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from tests.conftest import NOW, make_user
from tests.functional.test_api_collections import PROBLEM, body, client_for, send

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)  # Monday 16 March 2026, 10:30 in Berlin


@pytest.fixture
def analyst(entity: LegalEntity) -> Client:
    return client_for(make_user("clara", "credit", entities=[entity]))


@pytest.fixture
def manager(entity: LegalEntity) -> Client:
    return client_for(make_user("martin", "ar_manager", entities=[entity]))


@pytest.fixture
def auditor(entity: LegalEntity) -> Client:
    return client_for(make_user("aude", "auditor", entities=[entity]))


LIMITS = "/api/credit/customers/C-1000/limits"


class TestLimits:
    def test_a_raise_above_the_threshold_waits_for_a_second_person(
        self, customer: Customer, analyst: Client, manager: Client
    ) -> None:
        small = send(
            analyst, "post", LIMITS, {"amount": "20000.00", "currency": "EUR", "reason": "new account"}
        )
        assert (small.status_code, body(small)["status"], body(small)["needs_approval"]) == (
            201,
            "active",
            False,
        )

        big = send(
            analyst, "post", LIMITS, {"amount": "75000.00", "currency": "EUR", "reason": "more business"}
        )
        assert (big.status_code, body(big)["status"]) == (201, "pending")
        again = send(analyst, "post", LIMITS, {"amount": "76000.00", "currency": "EUR"})
        assert (again.status_code, body(again)["code"]) == (409, "pending_exists")

        own = send(analyst, "post", f"/api/credit/limits/{body(big)['id']}/approve", {"reason": "mine"})
        assert own.status_code == 403  # a credit analyst does not approve limits
        approved = send(manager, "post", f"/api/credit/limits/{body(big)['id']}/approve", {"reason": "ok"})

        assert (approved.status_code, body(approved)["status"], body(approved)["decided_by"]) == (
            200,
            "active",
            "martin",
        )
        read = body(analyst.get(LIMITS))
        assert read["effective"] == {
            "amount": "75000.00",
            "currency": "EUR",
            "valid_until": None,
            "next_review_date": None,
            "source": "request",
            "scope": "customer",
        }
        assert [(v["amount"], v["status"]) for v in read["history"]] == [
            ("75000.00", "active"),
            ("20000.00", "superseded"),
        ]

    def test_the_maker_cannot_approve_her_own_request(self, customer: Customer, entity: LegalEntity) -> None:
        maker = client_for(make_user("mia", "ar_manager", entities=[entity]))
        asked = body(send(maker, "post", LIMITS, {"amount": "90000.00", "currency": "EUR"}))

        refused = send(maker, "post", f"/api/credit/limits/{asked['id']}/approve", {"reason": "me"})

        assert (refused.status_code, refused["Content-Type"], body(refused)["code"]) == (
            422,
            PROBLEM,
            "maker_cannot_approve",
        )
        assert CreditLimit.objects.get(pk=asked["id"]).status == "pending"


class TestOrders:
    def test_an_order_is_shipped_invoiced_or_cancelled_by_who_takes_orders(
        self, customer: Customer, analyst: Client, auditor: Client, entity: LegalEntity
    ) -> None:
        billing = client_for(make_user("berta", "billing", entities=[entity]))
        send(analyst, "post", LIMITS, {"amount": "5000.00", "currency": "EUR"})
        for number in ("SO-1", "SO-2"):
            order = {
                "order_number": number,
                "customer_number": "C-1000",
                "amount": "1000.00",
                "currency": "EUR",
                "requested_date": "2026-03-20",
            }
            assert send(billing, "post", "/api/credit/orders", order).status_code == 201

        assert send(auditor, "post", "/api/credit/orders/SO-1/ship", {}).status_code == 403
        shipped = send(billing, "post", "/api/credit/orders/SO-1/ship", {})
        twice = send(billing, "post", "/api/credit/orders/SO-1/ship", {})
        invoiced = send(billing, "post", "/api/credit/orders/SO-1/invoice", {})
        no_reason = send(billing, "post", "/api/credit/orders/SO-2/cancel", {"reason": ""})
        cancelled = send(billing, "post", "/api/credit/orders/SO-2/cancel", {"reason": "withdrawn"})

        assert (shipped.status_code, body(shipped)["status"]) == (200, "shipped")
        assert (twice.status_code, body(twice)["code"]) == (422, "not_movable")
        assert body(invoiced)["status"] == "invoiced"
        assert (no_reason.status_code, body(no_reason)["code"]) == (422, "reason_required")
        assert body(cancelled)["status"] == "cancelled"

    def test_an_order_is_held_then_released_by_the_analyst_with_a_reason(
        self, customer: Customer, analyst: Client, auditor: Client
    ) -> None:
        send(analyst, "post", LIMITS, {"amount": "1000.00", "currency": "EUR"})
        order = {
            "order_number": "SO-1",
            "customer_number": "C-1000",
            "amount": "1500.00",
            "currency": "EUR",
            "requested_date": "2026-03-20",
        }

        created = send(analyst, "post", "/api/credit/orders", order)

        assert created.status_code == 201
        assert body(created)["status"] == "held"
        assert [r["code"] for r in body(created)["reasons"]] == ["over_customer_limit"]
        assert send(analyst, "post", "/api/credit/orders", order).status_code == 409
        holds = body(auditor.get("/api/credit/holds"))
        assert [(h["order_number"], h["age_days"]) for h in holds] == [("SO-1", 0)]
        assert send(auditor, "post", "/api/credit/orders/SO-1/release", {"reason": "x"}).status_code == 403
        no_reason = send(analyst, "post", "/api/credit/orders/SO-1/release", {"reason": ""})
        assert (no_reason.status_code, body(no_reason)["code"]) == (422, "reason_required")

        released = send(analyst, "post", "/api/credit/orders/SO-1/release", {"reason": "paid in advance"})

        assert (body(released)["status"], body(released)["release_date"], body(released)["decided_by"]) == (
            "released",
            "2026-03-16",
            "clara",
        )
        assert body(auditor.get("/api/credit/reports/limits")) == [
            {
                "customer": "C-1000",
                "name": "Müller Maschinenbau GmbH",
                "scope": "customer",
                "currency": "EUR",
                "limit": "1000.00",
                "exposure": "1500.00",
                "available": "-500.00",
            }
        ]
        assert (
            AuditEvent.objects.filter(action="credit.order.released", reason="paid in advance").count() == 1
        )

    def test_the_holds_report_counts_by_reason_and_age(self, customer: Customer, analyst: Client) -> None:
        send(analyst, "post", "/api/credit/customers/C-1000/block", {"reason": "fraud check"})
        for number in ("SO-1", "SO-2"):
            send(
                analyst,
                "post",
                "/api/credit/orders",
                {
                    "order_number": number,
                    "customer_number": "C-1000",
                    "amount": "10.00",
                    "currency": "EUR",
                    "requested_date": "2026-03-20",
                },
            )

        report = body(analyst.get("/api/credit/reports/holds"))

        assert report == [
            {"reason": "customer_blocked", "age": "0-1", "orders": 2, "amounts": {"EUR": "20.00"}},
            {"reason": "no_limit", "age": "0-1", "orders": 2, "amounts": {"EUR": "20.00"}},
        ]
        assert SalesOrder.objects.filter(status="held").count() == 2


class TestWhatIf:
    def test_the_check_answers_without_writing(self, customer: Customer, analyst: Client) -> None:
        send(analyst, "post", LIMITS, {"amount": "1000.00", "currency": "EUR"})

        answer = analyst.get(
            "/api/credit/check", {"customer": "C-1000", "amount": "400.00", "currency": "EUR"}
        )

        assert body(answer) == {
            "decision": "release",
            "reasons": [],
            "exposure": "0.00",
            "limit": "1000.00",
            "available": "1000.00",
            "currency": "EUR",
        }
        assert SalesOrder.objects.count() == 0
