"""The disputes settings through the API: customers' own reason codes, routing and SLA per reason, and
write-off approval thresholds per currency. AR managers and admins change them (validated, audited);
every role that reads cases reads them; another legal entity is out of reach."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from o2c.audit.models import AuditEvent
from o2c.disputes import selectors, services
from o2c.disputes.models import ReasonMapping, ReasonPolicy, WriteOffPolicy
from o2c.ledger.models import LegalEntity
from o2c.workspace import services as workspace_services
from tests.conftest import NOW, issued_invoice, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def client_for(user: User) -> Client:
    _, token = workspace_services.api_token_create(user=user, name="test", now=NOW)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def body(response: Any) -> Any:
    return json.loads(response.content)


def put(client: Client, path: str, data: dict[str, Any]) -> Any:
    return client.put(path, data=json.dumps(data), content_type="application/json")


@pytest.fixture
def manager(entity: LegalEntity) -> Client:
    return client_for(make_user("martin", "ar_manager", entities=[entity]))


@pytest.fixture
def analyst(entity: LegalEntity) -> Client:
    return client_for(make_user("dora", "disputes", entities=[entity]))


def audit_actions() -> list[str]:
    return list(AuditEvent.objects.filter(action__startswith="disputes.").values_list("action", flat=True))


class TestReasonMappings:
    def test_a_manager_maps_an_entity_code_and_a_customer_code_and_a_deduction_uses_them(
        self, entity, manager, analyst, customer
    ):
        entity_wide = put(
            manager,
            "/api/disputes/reason-mappings",
            {"customer_code": " dmg-01 ", "reason_code": "damaged_goods", "reason": "carrier claims"},
        )
        own = put(
            manager,
            "/api/disputes/reason-mappings",
            {"customer_number": "C-1000", "customer_code": "DMG-01", "reason_code": "quantity"},
        )

        assert (entity_wide.status_code, body(entity_wide)["customer_code"]) == (200, "DMG-01")
        assert (own.status_code, body(own)["customer_number"]) == (200, "C-1000")
        listed = body(analyst.get("/api/disputes/reason-mappings"))
        assert listed["entity"] == entity.code
        assert [(m["customer_code"], m["customer_number"], m["reason_code"]) for m in listed["items"]] == [
            ("DMG-01", None, "damaged_goods"),
            ("DMG-01", "C-1000", "quantity"),
        ]
        assert audit_actions() == ["disputes.reason_mapping.set", "disputes.reason_mapping.set"]
        # the customer's own mapping wins for its deductions
        assert (
            selectors.reason_for_customer_code(entity_id=entity.pk, customer_id=customer.pk, text="DMG-01")
            == "quantity"
        )

    def test_a_second_put_changes_the_mapping(self, manager):
        put(manager, "/api/disputes/reason-mappings", {"customer_code": "PRC", "reason_code": "pricing"})

        changed = put(
            manager, "/api/disputes/reason-mappings", {"customer_code": "prc", "reason_code": "promotion"}
        )

        assert (changed.status_code, body(changed)["reason_code"]) == (200, "promotion")
        assert list(ReasonMapping.objects.values_list("customer_code", "reason_code")) == [
            ("PRC", "promotion")
        ]

    @pytest.mark.parametrize(
        ("payload", "code"),
        [
            ({"customer_code": "X", "reason_code": "weather"}, "bad_reason_code"),
            ({"customer_code": "   ", "reason_code": "pricing"}, "bad_code"),
            ({"customer_code": "X" * 61, "reason_code": "pricing"}, "bad_code"),
            (
                {"customer_number": "C-9999", "customer_code": "X", "reason_code": "pricing"},
                "unknown_customer",
            ),
        ],
    )
    def test_bad_input_is_refused_and_changes_nothing(self, manager, payload, code):
        response = put(manager, "/api/disputes/reason-mappings", payload)

        assert (response.status_code, body(response)["code"]) == (422, code)
        assert not ReasonMapping.objects.exists()
        assert audit_actions() == []


class TestReasonPolicies:
    def test_every_reason_is_listed_with_its_defaults_until_a_policy_is_set(self, manager, analyst, customer):
        before = body(analyst.get("/api/disputes/reason-policies"))["items"]
        assert [(p["reason_code"], p["team"], p["sla_days"], p["is_default"]) for p in before][:3] == [
            ("pricing", "sales", 10, True),
            ("quantity", "logistics", 10, True),
            ("damaged_goods", "logistics", 10, True),
        ]
        assert len(before) == 8

        response = put(
            manager,
            "/api/disputes/reason-policies/pricing",
            {"team": "billing", "sla_days": 5, "reason": "new SLA"},
        )

        assert body(response) == {
            "reason_code": "pricing",
            "team": "billing",
            "sla_days": 5,
            "is_default": False,
        }
        after = {p["reason_code"]: p for p in body(analyst.get("/api/disputes/reason-policies"))["items"]}
        assert (after["pricing"]["team"], after["quantity"]["is_default"]) == ("billing", True)
        # a case opened on Monday 16 March 2026 now goes to billing, due 5 business days later
        case = services.case_open(
            document_id=issued_invoice(customer).pk,
            amount=Decimal("10.00"),
            reason_code="pricing",
            actor=None,
            now=NOW,
        )
        assert (case.team, case.due_date) == ("billing", date(2026, 3, 23))
        event = AuditEvent.objects.get(action="disputes.reason_policy.set")
        assert (event.reason, event.changes["pricing SLA days"]) == ("new SLA", [None, 5])

    @pytest.mark.parametrize(
        ("path", "payload", "code"),
        [
            ("weather", {"team": "sales", "sla_days": 5}, "bad_reason_code"),
            ("pricing", {"team": "marketing", "sla_days": 5}, "bad_team"),
            ("pricing", {"team": "sales", "sla_days": 0}, "bad_sla"),
            ("pricing", {"team": "sales", "sla_days": 366}, "bad_sla"),
        ],
    )
    def test_bad_input_is_refused_and_changes_nothing(self, manager, path, payload, code):
        response = put(manager, f"/api/disputes/reason-policies/{path}", payload)

        assert (response.status_code, body(response)["code"]) == (422, code)
        assert not ReasonPolicy.objects.exists()
        assert audit_actions() == []


class TestWriteOffThresholds:
    def test_a_manager_sets_changes_and_removes_a_threshold(self, manager, analyst):
        first = put(
            manager, "/api/disputes/write-off-thresholds/eur", {"threshold": "500.00", "reason": "policy"}
        )
        second = put(
            manager, "/api/disputes/write-off-thresholds/EUR", {"threshold": "250", "reason": "tighter"}
        )
        put(manager, "/api/disputes/write-off-thresholds/JPY", {"threshold": "10000", "reason": "policy"})

        assert (first.status_code, body(first)["threshold"], body(first)["changed_by"]) == (
            200,
            "500.00",
            "martin",
        )
        assert body(second)["threshold"] == "250.00"
        listed = body(analyst.get("/api/disputes/write-off-thresholds"))["items"]
        assert [(t["currency"], t["threshold"]) for t in listed] == [("EUR", "250.00"), ("JPY", "10000")]

        removed = put(
            manager, "/api/disputes/write-off-thresholds/JPY", {"threshold": None, "reason": "none"}
        )

        assert body(removed) == {"currency": "JPY", "threshold": None, "changed_at": None, "changed_by": None}
        assert list(WriteOffPolicy.objects.values_list("currency", "threshold_minor")) == [("EUR", 25000)]
        changes = [
            event.changes
            for event in AuditEvent.objects.filter(action="disputes.write_off_policy.changed").order_by("pk")
        ]
        assert changes[1] == {"write-off threshold EUR": ["500.00 EUR", "250.00 EUR"]}
        assert changes[3] == {"write-off threshold JPY": ["10000 JPY", None]}

    @pytest.mark.parametrize(
        ("currency", "payload", "code"),
        [
            ("EUR", {"threshold": "100.00", "reason": " "}, "reason_required"),
            ("EUR", {"threshold": "-1.00", "reason": "x"}, "bad_threshold"),
            ("EUR", {"threshold": "1.001", "reason": "x"}, "bad_threshold"),
            ("JPY", {"threshold": "1.5", "reason": "x"}, "bad_threshold"),
            ("XXY", {"threshold": "1.00", "reason": "x"}, "bad_currency"),
        ],
    )
    def test_bad_input_is_refused_and_changes_nothing(self, manager, currency, payload, code):
        response = put(manager, f"/api/disputes/write-off-thresholds/{currency}", payload)

        assert (response.status_code, body(response)["code"]) == (422, code)
        assert not WriteOffPolicy.objects.exists()
        assert audit_actions() == []


class TestRolesAndEntities:
    @pytest.mark.parametrize("role", ["disputes", "collector", "auditor"])
    def test_the_roles_that_read_cases_read_the_settings_but_may_not_change_them(self, entity, role):
        reader = client_for(make_user("rita", role, entities=[entity]))

        for path in ("reason-mappings", "reason-policies", "write-off-thresholds"):
            assert reader.get(f"/api/disputes/{path}").status_code == 200
        for path, payload in (
            ("reason-mappings", {"customer_code": "X", "reason_code": "pricing"}),
            ("reason-policies/pricing", {"team": "sales", "sla_days": 5}),
            ("write-off-thresholds/EUR", {"threshold": "1.00", "reason": "x"}),
        ):
            response = put(reader, f"/api/disputes/{path}", payload)
            assert (response.status_code, body(response)["code"]) == (403, "forbidden")
        assert (
            ReasonMapping.objects.count(),
            ReasonPolicy.objects.count(),
            WriteOffPolicy.objects.count(),
        ) == (
            0,
            0,
            0,
        )

    def test_billing_may_not_read_them(self, entity):
        billing = client_for(make_user("bianca", "billing", entities=[entity]))

        assert billing.get("/api/disputes/reason-policies").status_code == 403

    def test_an_admin_sets_them_and_another_entity_is_out_of_reach(self, entity, other_entity, manager):
        admin = client_for(make_user("ada", "admin", entities=[entity, other_entity]))

        done = put(
            admin,
            "/api/disputes/write-off-thresholds/EUR",
            {"entity": "FR01", "threshold": "5", "reason": "x"},
        )

        assert done.status_code == 200
        assert list(WriteOffPolicy.objects.values_list("entity__code", "threshold_minor")) == [("FR01", 500)]
        assert manager.get("/api/disputes/write-off-thresholds?entity=FR01").status_code == 404
        refused = put(
            manager,
            "/api/disputes/write-off-thresholds/EUR",
            {"entity": "FR01", "threshold": "1", "reason": "x"},
        )
        assert (refused.status_code, body(refused)["code"]) == (422, "unknown_entity")
        assert WriteOffPolicy.objects.count() == 1
