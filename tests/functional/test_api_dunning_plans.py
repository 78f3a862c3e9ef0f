"""The dunning plans API (`/api/collections/dunning-plans`): plans with their segment and steps, a
step changed, a text per language read, set and previewed; AR managers and admins change, collectors
and auditors read, another entity's plan is 404."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from o2c.audit.models import AuditEvent
from o2c.collections.models import DunningPlan, DunningStep, DunningTemplate
from o2c.ledger.models import LegalEntity
from o2c.workspace import services as workspace_services
from tests.conftest import NOW, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)  # 16 March 2026, 09:30 UTC


def client_for(user: User) -> Client:
    _, token = workspace_services.api_token_create(user=user, name="test", now=NOW)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def body(response: Any) -> Any:
    return json.loads(response.content)


def put(client: Client, path: str, data: dict[str, Any]) -> Any:
    return client.put(path, data=json.dumps(data), content_type="application/json")


def post(client: Client, path: str, data: dict[str, Any]) -> Any:
    return client.post(path, data=json.dumps(data), content_type="application/json")


@pytest.fixture
def manager(entity: LegalEntity) -> Client:
    return client_for(make_user("martin", "ar_manager", entities=[entity]))


@pytest.fixture
def collector(entity: LegalEntity) -> Client:
    return client_for(make_user("carla", "collector", entities=[entity]))


@pytest.fixture
def plan(entity: LegalEntity) -> DunningPlan:
    return DunningPlan.objects.get(entity=entity, is_default=True)


def test_a_collector_reads_the_plans_with_their_steps(collector, plan):
    response = collector.get("/api/collections/dunning-plans")

    assert response.status_code == 200
    assert body(response) == [
        {
            "id": plan.pk,
            "entity": "MAIN",
            "name": "Standard",
            "is_default": True,
            "priority": 100,
            "countries": [],
            "payment_terms": [],
            "risk_classes": [],
            "customer_types": [],
            "min_open": None,
            "currency": None,
            "steps": [
                {
                    "level": level,
                    "days": days,
                    "channel": channel,
                    "tone": tone,
                    "languages": ["de", "en", "es", "fr"],
                }
                for level, days, channel, tone in [
                    (0, -5, "email", "friendly"),
                    (1, 1, "email", "friendly"),
                    (2, 15, "email", "firm"),
                    (3, 30, "call_task", "firm"),
                    (4, 45, "email", "final"),
                ]
            ],
        }
    ]
    assert body(collector.get(f"/api/collections/dunning-plans/{plan.pk}")) == body(response)[0]


def test_a_manager_sets_a_segment_a_step_and_a_text(manager, entity):
    plan = DunningPlan.objects.create(entity=entity, name="Key accounts", created_at=NOW)  # master data
    DunningStep.objects.create(plan=plan, level=1, days=10, channel="email", tone="firm")

    segment = put(
        manager,
        f"/api/collections/dunning-plans/{plan.pk}",
        {
            "priority": 10,
            "countries": ["de", "AT"],
            "payment_terms": ["NET60"],
            "risk_classes": ["e", "D"],
            "customer_types": ["Public-Sector", "key_account"],
            "min_open": "10000.00",
            "currency": "EUR",
        },
    )
    step = put(
        manager,
        f"/api/collections/dunning-plans/{plan.pk}/steps/1",
        {"days": 7, "channel": "letter", "tone": "final"},
    )
    text = put(
        manager,
        f"/api/collections/dunning-plans/{plan.pk}/steps/1/templates/de",
        {"subject": "Mahnung {{ customer_number }}", "body": "Offen: {{ total }}\n"},
    )

    assert segment.status_code == step.status_code == text.status_code == 200
    assert {
        key: body(segment)[key]
        for key in (
            "priority",
            "countries",
            "payment_terms",
            "risk_classes",
            "customer_types",
            "min_open",
            "currency",
        )
    } == {
        "priority": 10,
        "countries": ["AT", "DE"],
        "payment_terms": ["NET60"],
        "risk_classes": ["D", "E"],
        "customer_types": ["key_account", "public_sector"],
        "min_open": "10000.00",
        "currency": "EUR",
    }
    assert body(step) == {"level": 1, "days": 7, "channel": "letter", "tone": "final", "languages": []}
    assert body(text) == {
        "level": 1,
        "language": "de",
        "subject": "Mahnung {{ customer_number }}",
        "body": "Offen: {{ total }}\n",
    }
    assert body(manager.get(f"/api/collections/dunning-plans/{plan.pk}/steps/1/templates/de")) == body(text)
    assert sorted(
        AuditEvent.objects.filter(object_type="dunning_plan", object_id=plan.pk).values_list(
            "action", flat=True
        )
    ) == ["collections.plan.changed", "collections.step.changed", "collections.template.changed"]


def test_a_text_that_does_not_compile_is_refused_and_its_preview_says_why(manager, plan):
    before = DunningTemplate.objects.get(step__plan=plan, step__level=2, language="en")
    path = f"/api/collections/dunning-plans/{plan.pk}/steps/2/templates/en"

    refused = put(manager, path, {"subject": "Notice", "body": "{% if items %}open"})
    preview = post(manager, f"{path}/preview", {"subject": "Notice", "body": "{% if items %}open"})

    assert refused.status_code == 422
    assert body(refused)["code"] == "template_syntax"
    assert (
        body(refused)["detail"]
        == "Body: Unclosed tag on line 1: 'if'. Looking for one of: elif, else, endif."
    )
    assert body(preview) == {"subject": "", "body": "", "error": body(refused)["detail"]}
    after = DunningTemplate.objects.get(pk=before.pk)
    assert (after.subject, after.body) == (before.subject, before.body)


def test_the_preview_renders_a_sample_customer_in_the_language(collector, plan):
    response = post(
        collector,
        f"/api/collections/dunning-plans/{plan.pk}/steps/1/templates/es/preview",
        {"subject": "Aviso {{ customer_name }}", "body": "{{ items.0.due_date }}: {{ total }}"},
    )

    # level 1 starts a day after the due date: the older sample item is 13 days past due on 16 March
    assert body(response) == {
        "subject": "Aviso Cliente Ejemplo S.L.",
        "body": "3 mar 2026: 1.666,00\xa0€",
        "error": "",
    }


def test_a_risk_class_outside_a_to_e_is_refused(manager, entity):
    plan = DunningPlan.objects.create(entity=entity, name="Risky", created_at=NOW)

    response = put(
        manager,
        f"/api/collections/dunning-plans/{plan.pk}",
        {"priority": 10, "risk_classes": ["E", "F"]},
    )

    assert response.status_code == 422
    assert (body(response)["code"], body(response)["detail"]) == (
        "bad_risk_class",
        "not a credit risk class (A to E): F",
    )
    plan.refresh_from_db()
    assert plan.risk_classes == ""


def test_a_customer_type_with_other_signs_is_refused(manager, entity):
    plan = DunningPlan.objects.create(entity=entity, name="Typed", created_at=NOW)

    response = put(
        manager,
        f"/api/collections/dunning-plans/{plan.pk}",
        {"priority": 10, "customer_types": ["sme", "key.account"]},
    )

    assert response.status_code == 422
    assert (body(response)["code"], body(response)["detail"]) == (
        "bad_customer_type",
        "not a customer type (letters, digits and underscores, at most 30): key.account",
    )
    plan.refresh_from_db()
    assert plan.customer_types == ""


def test_days_out_of_order_are_refused(manager, plan):
    response = put(
        manager,
        f"/api/collections/dunning-plans/{plan.pk}/steps/4",
        {"days": 30, "channel": "email", "tone": "final"},
    )

    assert response.status_code == 422
    assert body(response)["code"] == "days_out_of_order"
    assert DunningStep.objects.get(plan=plan, level=4).days == 45


def test_collectors_may_not_change_and_another_entitys_plan_is_not_found(
    collector, manager, plan, other_entity
):
    foreign = DunningPlan.objects.create(entity=other_entity, name="Standard", created_at=NOW)

    assert put(collector, f"/api/collections/dunning-plans/{plan.pk}", {"priority": 5}).status_code == 403
    assert manager.get(f"/api/collections/dunning-plans/{foreign.pk}").status_code == 404
    assert manager.get(f"/api/collections/dunning-plans/{plan.pk}/steps/9/templates/en").status_code == 404
    assert manager.get(f"/api/collections/dunning-plans/{plan.pk}/steps/1/templates/it").status_code == 404
    plan.refresh_from_db()
    assert plan.priority == 100


def test_a_manager_makes_a_plan_adds_and_removes_a_level_and_deletes_it(manager, plan):
    made = post(manager, "/api/collections/dunning-plans", {"name": "Key accounts", "copy_from": plan.pk})
    new_id = body(made)["id"]
    added = post(
        manager,
        f"/api/collections/dunning-plans/{new_id}/steps",
        {"days": 60, "channel": "call_task", "tone": "final"},
    )
    removed = manager.delete(f"/api/collections/dunning-plans/{new_id}/steps/5")
    deleted = manager.delete(f"/api/collections/dunning-plans/{new_id}")

    assert made.status_code == added.status_code == 201
    assert (body(made)["name"], body(made)["priority"], [s["level"] for s in body(made)["steps"]]) == (
        "Key accounts",
        100,
        [0, 1, 2, 3, 4],
    )
    assert body(added) == {
        "level": 5,
        "days": 60,
        "channel": "call_task",
        "tone": "final",
        "languages": ["de", "en", "es", "fr"],
    }
    assert removed.status_code == deleted.status_code == 204
    assert not DunningPlan.objects.filter(pk=new_id).exists()
    assert [
        e.action
        for e in AuditEvent.objects.filter(object_type="dunning_plan", object_id=new_id).order_by("pk")
    ] == [
        "collections.plan.created",
        "collections.step.added",
        "collections.step.removed",
        "collections.plan.deleted",
    ]


def test_the_default_plan_is_not_deleted_and_a_collector_may_not_try(manager, collector, plan):
    refused = manager.delete(f"/api/collections/dunning-plans/{plan.pk}")
    forbidden = collector.delete(f"/api/collections/dunning-plans/{plan.pk}")
    middle = manager.delete(f"/api/collections/dunning-plans/{plan.pk}/steps/2")

    assert (refused.status_code, body(refused)["code"]) == (422, "default_plan_kept")
    assert forbidden.status_code == 403
    assert (middle.status_code, body(middle)["code"]) == (422, "not_top_level")
    assert DunningStep.objects.filter(plan=plan).count() == 5
