"""The matching policy through the API: GET /api/cash/policy for every role, PUT /api/cash/policy for
cash application, AR managers and admins, values validated by `workbench.policy_change` and audited."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from o2c.audit.models import AuditEvent
from o2c.cash import services as cash_services
from o2c.cash.models import MatchingPolicy
from o2c.ledger.models import LegalEntity
from o2c.workspace import services as workspace_services
from tests.conftest import NOW, make_user

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
DEFAULTS = {
    "entity": "MAIN",
    "currency": "EUR",
    "auto_apply_confidence": "0.900",
    "write_off_tolerance": "5.00",
    "discount_grace_days": 3,
    "return_fee_charge": "none",
    "return_fee": "0.00",
    "fx_tolerance_percent": "1.00",
    "changed_at": None,
}
CHANGE = {
    "auto_apply_confidence": "0.950",
    "write_off_tolerance": "2.50",
    "discount_grace_days": 5,
    "fx_tolerance_percent": "0.25",
    "reason": "tighter after the audit",
}


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


def _put(client: Client, payload: dict[str, Any]) -> Any:
    return client.put("/api/cash/policy", payload, content_type="application/json")


@pytest.fixture
def clerk(entity: LegalEntity) -> Client:
    return client_for(make_user("carla", "cash_application", entities=[entity]))


class TestRead:
    def test_before_any_change_the_defaults_the_matcher_applies(self, clerk, entity):
        response = clerk.get("/api/cash/policy")

        assert response.status_code == 200
        assert body(response) == DEFAULTS

    @pytest.mark.parametrize("role", ["billing", "auditor", "collector", "credit", "disputes"])
    def test_every_role_may_read_it(self, entity, role):
        reader = client_for(make_user("rita", role, entities=[entity]))

        response = reader.get("/api/cash/policy?entity=MAIN")

        assert (response.status_code, body(response)["fx_tolerance_percent"]) == (200, "1.00")

    def test_without_a_role_it_is_403_and_an_entity_not_granted_is_refused(self, clerk, entity, other_entity):
        nobody = client_for(make_user("nora", entities=[entity]))

        response = nobody.get("/api/cash/policy")
        foreign = clerk.get("/api/cash/policy?entity=FR01")

        assert (response.status_code, problem(response)["code"]) == (403, "forbidden")
        assert (foreign.status_code, problem(foreign)["code"]) == (422, "unknown_entity")


class TestChange:
    @pytest.mark.parametrize("role", ["cash_application", "ar_manager", "admin"])
    def test_a_permitted_role_changes_it_and_the_change_is_audited(self, entity, role):
        manager = client_for(make_user("mia", role, entities=[entity]))

        response = _put(manager, {**CHANGE, "entity": "MAIN"})

        assert response.status_code == 200
        assert body(response) == {
            **DEFAULTS,
            "auto_apply_confidence": "0.950",
            "write_off_tolerance": "2.50",
            "discount_grace_days": 5,
            "fx_tolerance_percent": "0.25",
            "changed_at": "2026-03-16T09:30:00Z",
        }
        assert body(manager.get("/api/cash/policy")) == body(response)
        assert cash_services.policy_for(entity).fx_tolerance_percent == Decimal("0.25")
        (audit,) = AuditEvent.objects.filter(action="cash.policy.changed")
        assert (audit.actor.username, audit.reason, audit.changes) == (
            "mia",
            "tighter after the audit",
            {
                "auto_apply_confidence": ["0.900", "0.950"],
                "write_off_tolerance": ["5.00 EUR", "2.50 EUR"],
                "discount_grace_days": [3, 5],
                "fx_tolerance_percent": ["1.00", "0.25"],
            },
        )

    def test_return_fees_and_fx_tolerance_left_out_keep_what_is_stored(self, clerk, entity):
        _put(clerk, {**CHANGE, "return_fee_charge": "bank_fee_plus_fixed", "return_fee": "5.00"})

        response = _put(
            clerk, {"auto_apply_confidence": "0.900", "write_off_tolerance": "5.00", "discount_grace_days": 3}
        )

        assert response.status_code == 200
        assert {
            key: body(response)[key] for key in ("return_fee_charge", "return_fee", "fx_tolerance_percent")
        } == {
            "return_fee_charge": "bank_fee_plus_fixed",
            "return_fee": "5.00",
            "fx_tolerance_percent": "0.25",
        }

    @pytest.mark.parametrize("role", ["billing", "auditor", "collector", "credit", "disputes"])
    def test_other_roles_may_not_change_it(self, entity, role):
        reader = client_for(make_user("rita", role, entities=[entity]))

        response = _put(reader, CHANGE)

        assert (response.status_code, problem(response)["code"]) == (403, "forbidden")
        assert not MatchingPolicy.objects.exists()
        assert not AuditEvent.objects.filter(action="cash.policy.changed").exists()

    @pytest.mark.parametrize(
        ("values", "code", "detail"),
        [
            (
                {"fx_tolerance_percent": "10.01"},
                "bad_fx_tolerance",
                "the FX tolerance of 10.01 % is not between 0 and 10 % with at most two decimals",
            ),
            (
                {"fx_tolerance_percent": "0.125"},
                "bad_fx_tolerance",
                "the FX tolerance of 0.125 % is not between 0 and 10 % with at most two decimals",
            ),
            (
                {"auto_apply_confidence": "1.5"},
                "bad_confidence",
                "the auto-apply confidence 1.5 is not between 0 and 1 with at most three decimals",
            ),
            (
                {"write_off_tolerance": "0.001"},
                "bad_tolerance",
                "the write-off tolerance 0.001 has more decimals than EUR allows",
            ),
            (
                {"discount_grace_days": 61},
                "bad_grace_days",
                "the discount grace of 61 days is not between 0 and 60",
            ),
        ],
    )
    def test_a_bad_value_is_refused_with_its_code_and_one_line_and_changes_nothing(
        self, clerk, values, code, detail
    ):
        response = _put(clerk, {**CHANGE, **values})

        assert response.status_code == 422
        assert {key: problem(response)[key] for key in ("code", "detail", "status")} == {
            "code": code,
            "detail": detail,
            "status": 422,
        }
        assert not MatchingPolicy.objects.exists()

    @pytest.mark.parametrize(
        "values",
        [{"fx_tolerance_percent": 1.5}, {"fx_tolerance_percent": "1,5"}, {"return_fee_charge": "always"}],
    )
    def test_what_does_not_fit_the_schema_is_a_validation_error(self, clerk, values):
        response = _put(clerk, {**CHANGE, **values})

        assert (response.status_code, problem(response)["code"]) == (422, "validation_error")
        assert not MatchingPolicy.objects.exists()

    def test_the_openapi_document_lists_the_policy_endpoint(self, clerk):
        paths = body(clerk.get("/api/openapi.json"))["paths"]

        assert set(paths["/api/cash/policy"]) == {"get", "put"}
