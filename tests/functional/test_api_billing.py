"""The billing API: usage batches, subscriptions, runs; roles, legal-entity scope, problem details."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from django.test import Client

from o2c.billing import runs, services
from o2c.billing.models import BillingRun, Subscription, UsageEvent
from o2c.customers import services as customer_services
from o2c.ledger.models import JournalEntry, LegalEntity
from o2c.receivables.models import Document
from tests.conftest import NOW, customer_in
from tests.functional.test_api import PROBLEM, body, client_for, problem
from tests.integration.test_billing_runs import product, subscribe

pytestmark = pytest.mark.django_db

JSON = "application/json"


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def billing(billing_user: Any) -> Client:
    return client_for(billing_user)


@pytest.fixture
def auditor(auditor_user: Any) -> Client:
    return client_for(auditor_user)


@pytest.fixture
def contracts(entity: LegalEntity) -> dict[str, Subscription]:
    """C-DE: a platform (100.00 a month in advance, PO-77) since January, and metered API calls."""
    customer_services.customer_create(entity=entity, data=customer_in("C-DE"), actor=None, now=NOW)
    services.products_import(
        entity=entity,
        products=[
            product("BASE", "flat", "100.00", name="Platform"),
            product(
                "API",
                "tiered",
                tiers="1000:0.10|*:0.05",
                timing="arrears",
                metric="api_calls",
                name="API calls",
            ),
        ],
        actor=None,
        now=NOW,
    )
    return {
        "S-1": subscribe(entity, "S-1", "C-DE", "BASE", "1", date(2026, 1, 1), po="PO-77"),
        "S-3": subscribe(entity, "S-3", "C-DE", "API", "1", date(2026, 1, 1)),
    }


def event(
    event_id: str, quantity: str = "900", timestamp: str = "2026-01-05T10:00:00+01:00", **kw: Any
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "subscription_number": "S-3",
        "metric": "api_calls",
        "quantity": quantity,
        "timestamp": timestamp,
        **kw,
    }


def post(client: Client, path: str, payload: dict[str, Any]) -> Any:
    return client.post(path, json.dumps(payload), content_type=JSON)


class TestUsage:
    def test_a_batch_sent_twice_is_recorded_once(self, billing, contracts):
        batch = {"events": [event("e1"), event("e2", "600", "2026-01-31T22:59:00Z")]}
        first = post(billing, "/api/billing/usage", batch)
        assert (first.status_code, body(first)) == (200, {"created": 2, "ignored": 0, "late": 0})
        again = post(billing, "/api/billing/usage", batch)
        assert (again.status_code, body(again)) == (200, {"created": 0, "ignored": 2, "late": 0})
        assert sorted(UsageEvent.objects.values_list("event_id", "quantity_micro")) == [
            ("e1", 900_000_000),
            ("e2", 600_000_000),
        ]

    def test_a_bad_timestamp_refuses_the_batch_and_names_the_event(self, billing, contracts):
        response = post(
            billing, "/api/billing/usage", {"events": [event("e1"), event("e2", timestamp="5 Jan")]}
        )
        assert response.status_code == 422
        assert response["Content-Type"] == PROBLEM
        assert problem(response) == {
            "type": "urn:o2c:problem:bad_timestamp",
            "title": "Input error",
            "status": 422,
            "detail": "events[1].timestamp: '5 Jan' is not an ISO 8601 timestamp",
            "code": "bad_timestamp",
        }
        assert UsageEvent.objects.count() == 0

    def test_a_timestamp_without_offset_is_refused(self, billing, contracts):
        response = post(
            billing, "/api/billing/usage", {"events": [event("e1", timestamp="2026-01-05T10:00:00")]}
        )
        assert response.status_code == 422
        assert problem(response)["detail"] == (
            "events[0].timestamp: '2026-01-05T10:00:00' has no time zone offset (add Z or +01:00)"
        )

    def test_the_services_refusals_name_the_event_and_field(self, billing, contracts):
        batch = {"events": [event("e1"), event("e2"), event("e3", subscription_number="S-9")]}
        response = post(billing, "/api/billing/usage", batch)
        assert response.status_code == 422
        found = problem(response)
        assert (found["code"], found["detail"]) == (
            "unknown_subscription",
            "events[2].subscription_number: unknown subscription 'S-9'",
        )
        outside = post(
            billing, "/api/billing/usage", {"events": [event("e4", timestamp="2025-12-31T10:00:00Z")]}
        )
        assert problem(outside)["detail"] == (
            "events[0].timestamp: 2025-12-31 is outside the subscription's dates"
        )
        assert UsageEvent.objects.count() == 0

    def test_a_quantity_must_be_a_decimal_string(self, billing, contracts):
        response = post(
            billing, "/api/billing/usage", {"events": [event("e1"), {**event("e2"), "quantity": 1.5}]}
        )
        assert response.status_code == 422
        found = problem(response)
        assert found["code"] == "validation_error"
        assert found["errors"][0]["loc"][-3:] == ["events", "1", "quantity"]
        assert UsageEvent.objects.count() == 0

    def test_usage_for_a_billed_period_is_late(self, billing, entity, contracts):
        runs.billing_run(entity=entity, as_of=date(2026, 2, 1), issue=True, actor=None, now=NOW)
        response = post(billing, "/api/billing/usage", {"events": [event("late-1")]})
        assert body(response) == {"created": 1, "ignored": 0, "late": 1}
        assert Subscription.objects.get(number="S-3").rerate_from == date(2026, 1, 1)

    def test_an_auditor_may_not_load_usage(self, auditor, contracts):
        response = post(auditor, "/api/billing/usage", {"events": [event("e1")]})
        assert (response.status_code, problem(response)["code"]) == (403, "forbidden")
        assert UsageEvent.objects.count() == 0


class TestSubscriptions:
    def test_lists_with_filters_and_a_cursor(self, billing, contracts):
        first = body(billing.get("/api/billing/subscriptions?limit=1"))
        assert [item["number"] for item in first["items"]] == ["S-1"]
        assert first["items"][0] | {"id": 0} == {
            "id": 0,
            "entity": "MAIN",
            "number": "S-1",
            "customer": {
                "id": contracts["S-1"].customer_id,
                "number": "C-DE",
                "name": "Müller Maschinenbau GmbH",
            },
            "bill_to": {
                "id": contracts["S-1"].customer_id,
                "number": "C-DE",
                "name": "Müller Maschinenbau GmbH",
            },
            "currency": "EUR",
            "start_date": "2026-01-01",
            "end_date": None,
            "po_number": "PO-77",
            "product_code": "BASE",
            "quantity": "1",
            "billed_through": None,
            "rerate_from": None,
        }
        second = body(billing.get(f"/api/billing/subscriptions?limit=1&cursor={first['next_cursor']}"))
        assert ([item["number"] for item in second["items"]], second["next_cursor"]) == (["S-3"], None)
        assert body(billing.get("/api/billing/subscriptions?search=C-XX"))["items"] == []
        active = body(billing.get("/api/billing/subscriptions?customer_number=C-DE&active_on=2026-03-01"))
        assert [item["number"] for item in active["items"]] == ["S-1", "S-3"]

    def test_gets_one_with_its_terms_and_billed_periods(self, billing, entity, contracts):
        runs.billing_run(entity=entity, as_of=date(2026, 2, 1), issue=True, actor=None, now=NOW)
        response = billing.get("/api/billing/subscriptions/S-1")
        assert response.status_code == 200
        found = body(response)
        assert found["billed_through"] == "2026-02-28"
        assert found["terms"] == [
            {
                "effective_from": "2026-01-01",
                "effective_to": None,
                "product_code": "BASE",
                "product_name": "Platform",
                "billing_period": "month",
                "timing": "advance",
                "metric": "",
                "quantity": "1",
                "discount_percent": "0",
                "reason": "",
            }
        ]
        assert [(b["period_start"], b["amount"], b["document_number"]) for b in found["billed"]] == [
            ("2026-02-01", "100.00", "INV-2026-000001"),
            ("2026-01-01", "100.00", "INV-2026-000001"),
        ]
        assert found["billed_net"] == "200.00"

    def test_another_entitys_subscription_is_not_listed_and_is_404(self, billing, contracts, other_entity):
        customer_services.customer_create(entity=other_entity, data=customer_in("C-FR"), actor=None, now=NOW)
        services.products_import(
            entity=other_entity, products=[product("BASE", "flat", "1.00")], actor=None, now=NOW
        )
        subscribe(other_entity, "S-FR", "C-FR", "BASE", "1", date(2026, 1, 1))
        numbers = [item["number"] for item in body(billing.get("/api/billing/subscriptions"))["items"]]
        assert numbers == ["S-1", "S-3"]
        response = billing.get("/api/billing/subscriptions/S-FR")
        assert (response.status_code, problem(response)["code"]) == (404, "not_found")


class TestRuns:
    def test_a_preview_answers_the_drafts_in_the_commands_json_shape(self, billing, billing_user, contracts):
        response = post(billing, "/api/billing/runs", {"as_of": "2026-02-01"})
        assert response.status_code == 201
        found = body(response)
        run = BillingRun.objects.get()
        assert (run.issue, run.started_by) == (False, billing_user)
        assert found == {
            "run_id": run.pk,
            "as_of": "2026-02-01",
            "invoices": [
                {
                    "invoice_number": None,
                    "document_type": "invoice",
                    "customer_number": "C-DE",
                    "currency": "EUR",
                    # January and February of the platform; no API calls in January: nothing metered
                    "net": "200.00",
                    "tax": "38.00",
                    "gross": "238.00",
                    "lines": [
                        {
                            "product_code": "BASE",
                            "description": "Platform · Bestellnr. PO-77",
                            "quantity": "1",
                            "unit_price": "100.00",
                            "amount": "100.00",
                            "period_start": "2026-01-01",
                            "period_end": "2026-01-31",
                        },
                        {
                            "product_code": "BASE",
                            "description": "Platform · Bestellnr. PO-77",
                            "quantity": "1",
                            "unit_price": "100.00",
                            "amount": "100.00",
                            "period_start": "2026-02-01",
                            "period_end": "2026-02-28",
                        },
                    ],
                }
            ],
            "errors": [],
        }
        assert Document.objects.get().status == "draft"

    def test_an_issuing_run_numbers_and_posts_and_is_listed(self, billing, contracts):
        post(billing, "/api/billing/runs", {"as_of": "2026-02-01"})
        issued = body(post(billing, "/api/billing/runs", {"as_of": "2026-02-01", "issue": True}))
        assert [(i["invoice_number"], i["gross"]) for i in issued["invoices"]] == [
            ("INV-2026-000001", "238.00")
        ]
        assert JournalEntry.objects.count() == 1
        listed = body(billing.get("/api/billing/runs"))
        assert [
            (r["issue"], r["status"], r["invoices_created"], r["invoices_issued"]) for r in listed["items"]
        ] == [
            (True, "completed", 0, 1),
            (False, "completed", 1, 0),
        ]
        assert listed["items"][0]["totals"] == {"EUR": "238.00"}
        assert listed["items"][0]["started_by"] == "bianca"
        assert listed["items"][0]["entity"] == "MAIN"

    def test_runs_are_paged_newest_first(self, billing, entity, contracts):
        for day in (1, 2, 3):
            runs.billing_run(entity=entity, as_of=date(2026, 2, day), issue=False, actor=None, now=NOW)
        first = body(billing.get("/api/billing/runs?limit=2"))
        second = body(billing.get(f"/api/billing/runs?limit=2&cursor={first['next_cursor']}"))
        assert [r["as_of"] for r in first["items"] + second["items"]] == [
            "2026-02-03",
            "2026-02-02",
            "2026-02-01",
        ]
        assert second["next_cursor"] is None

    def test_an_auditor_reads_runs_but_may_not_start_one(self, auditor, entity, contracts):
        runs.billing_run(entity=entity, as_of=date(2026, 2, 1), issue=False, actor=None, now=NOW)
        assert len(body(auditor.get("/api/billing/runs"))["items"]) == 1
        for payload in ({"as_of": "2026-02-01"}, {"as_of": "2026-02-01", "issue": True}):
            response = post(auditor, "/api/billing/runs", payload)
            assert (response.status_code, problem(response)["code"]) == (403, "forbidden")
        assert BillingRun.objects.count() == 1
        assert Document.objects.get().status == "draft"

    def test_another_entitys_runs_are_not_listed_and_cannot_be_started(
        self, billing, contracts, other_entity
    ):
        runs.billing_run(entity=other_entity, as_of=date(2026, 2, 1), issue=False, actor=None, now=NOW)
        assert body(billing.get("/api/billing/runs")) == {"items": [], "next_cursor": None}
        response = post(billing, "/api/billing/runs", {"as_of": "2026-02-01", "entity": "FR01"})
        assert (response.status_code, problem(response)["code"]) == (422, "unknown_entity")
        assert BillingRun.objects.filter(entity=other_entity).count() == 1


class TestOpenApi:
    def test_the_billing_paths_are_in_the_openapi_document(self, db):
        paths = body(Client().get("/api/openapi.json"))["paths"]
        assert {
            path: sorted(methods) for path, methods in paths.items() if path.startswith("/api/billing")
        } == {
            "/api/billing/usage": ["post"],
            "/api/billing/subscriptions": ["get"],
            "/api/billing/subscriptions/{number}": ["get"],
            "/api/billing/subscriptions/{number}/amend": ["post"],
            "/api/billing/subscriptions/{number}/end": ["post"],
            "/api/billing/runs": ["get", "post"],
        }
        assert paths["/api/billing/runs"]["post"]["operationId"] == "run_start"


class TestAmendAndEnd:
    def test_a_cancellation_by_api_is_credited_by_the_next_run(self, entity, contracts, billing) -> None:
        runs.billing_run(entity=entity, as_of=date(2026, 2, 1), issue=True, actor=None, now=NOW)
        response = billing.post(
            "/api/billing/subscriptions/S-1/end",
            data=json.dumps({"end_date": "2026-02-14", "reason": "customer moved to another provider"}),
            content_type="application/json",
        )
        assert response.status_code == 200
        assert body(response)["end_date"] == "2026-02-14"
        [credit] = runs.billing_run(
            entity=entity, as_of=date(2026, 2, 20), issue=True, actor=None, now=NOW
        ).documents
        # February kept for 14 days: 14 × 3.57 + 0.04 = 50.02, so 49.98 net comes back
        assert (credit.document_type, credit.net_minor) == ("credit_memo", -4998)

    def test_an_amendment_takes_effect_from_its_day(self, entity, contracts, billing) -> None:
        response = billing.post(
            "/api/billing/subscriptions/S-1/amend",
            data=json.dumps({"effective_from": "2026-03-01", "quantity": "2", "reason": "second site"}),
            content_type="application/json",
        )
        assert response.status_code == 200
        assert [(t["effective_from"], t["quantity"]) for t in body(response)["terms"]] == [
            ("2026-01-01", "1"),
            ("2026-03-01", "2"),
        ]

    def test_an_auditor_may_not_amend_and_unknown_subscriptions_are_404(
        self, contracts, auditor, billing
    ) -> None:
        payload = json.dumps({"effective_from": "2026-03-01", "quantity": "2", "reason": "x"})
        assert (
            auditor.post(
                "/api/billing/subscriptions/S-1/amend", data=payload, content_type="application/json"
            ).status_code
            == 403
        )
        assert (
            billing.post(
                "/api/billing/subscriptions/S-9/amend", data=payload, content_type="application/json"
            ).status_code
            == 404
        )

    def test_an_amendment_outside_the_dates_is_refused_naming_the_field(self, contracts, billing) -> None:
        response = billing.post(
            "/api/billing/subscriptions/S-1/amend",
            data=json.dumps({"effective_from": "2025-12-01", "quantity": "2", "reason": "x"}),
            content_type="application/json",
        )
        assert response.status_code == 422
        assert problem(response)["code"] == "bad_dates"
