"""The escalation matrix over time: the standard matrix proposes team lead at 45 days overdue or
10,000.00, AR manager at 60 days, 50,000.00 or two broken promises, legal 14 days after the final notice
(level 4); people escalate with a reason, a collector only to her team lead; the API and
`o2c collections escalations` show the proposals with the rule and its figures.

C-1000 owes invoice A, 1,190.00 issued 2 January 2026, due 1 February; C-2000 60,000.00 issued 20 February,
due 22 March; C-3000 500.00 issued 15 February, due 17 March, and breaks two promises to pay it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from o2c.audit.models import AuditEvent
from o2c.collections import escalation, services
from o2c.collections.models import CustomerEscalation, EscalationChange, EscalationRule
from o2c.core.money import Money
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from o2c.workspace import services as workspace_services
from tests.conftest import NOW, customer_in, issued_invoice, make_user
from tests.functional.test_import_commands import run_failing

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)  # 16 March 2026, 09:30 UTC


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)


@pytest.fixture
def accounts(entity: LegalEntity, customer: Customer) -> dict[str, Any]:
    dupont = customer_services.customer_create(
        entity=entity,
        data=customer_in("C-2000", name="Dupont SA", country="FR", language="fr"),
        actor=None,
        now=NOW,
    )
    keller = customer_services.customer_create(
        entity=entity, data=customer_in("C-3000", name="Keller AG"), actor=None, now=NOW
    )
    return {
        "C-1000": customer,
        "C-2000": dupont,
        "C-3000": keller,
        "A": issued_invoice(customer, issue_date=date(2026, 1, 2)),
        "B": issued_invoice(
            dupont,
            issue_date=date(2026, 2, 20),
            lines=[LineIn("Machines", Decimal(1), Decimal("60000.00"), Decimal(0))],
        ),
        "C": issued_invoice(
            keller,
            issue_date=date(2026, 2, 15),
            lines=[LineIn("Parts", Decimal(1), Decimal("500.00"), Decimal(0))],
        ),
    }


def proposals(entity: LegalEntity, day: date) -> list[tuple[str, str, str, list[str], int]]:
    return [
        (p.customer_number, p.current_level, p.proposed_level, p.conditions, p.days_overdue)
        for p in escalation.escalation_proposals(entity=entity, as_of=day, actor=None, now=at(day))
    ]


def promise_broken(
    entity: LegalEntity, customer: Customer, invoice: Document, made: date, promised: date
) -> None:
    services.promise_record(
        customer=customer,
        documents=[invoice],
        amount=Money(Decimal("500.00"), "EUR"),
        promised_date=promised,
        contact="Herr Keller",
        actor=None,
        now=at(made),
        made_on=made,
    )


class TestTheMatrixOverTime:
    def test_an_account_moves_up_the_matrix_at_the_right_days_and_amounts(
        self, entity: LegalEntity, accounts: dict[str, Any]
    ) -> None:
        collector = make_user("carla", "collector", entities=[entity])
        assert proposals(entity, date(2026, 3, 17)) == []  # A 44 days overdue

        assert proposals(entity, date(2026, 3, 18)) == [
            ("C-1000", "collector", "team_lead", ["days_overdue"], 45),
        ]
        escalation.customer_escalate(
            customer=accounts["C-1000"],
            level="team_lead",
            reason_code="no_response",
            reason_text="three calls, no answer",
            actor=collector,
            now=at(date(2026, 3, 18)),
        )
        services.dunning_run(
            entity=entity, as_of=date(2026, 3, 18), dry_run=False, actor=None, now=at(date(2026, 3, 18))
        )
        assert proposals(entity, date(2026, 3, 18)) == []

        # B is 1 day overdue with 60,000.00: AR manager at once (the team lead's rule fires too)
        assert proposals(entity, date(2026, 3, 23)) == [
            ("C-2000", "collector", "ar_manager", ["overdue_amount"], 1),
        ]
        # A was dunned at level 4 on 18 March: legal 14 days later, not 13
        assert proposals(entity, date(2026, 3, 31)) == [
            ("C-2000", "collector", "ar_manager", ["overdue_amount"], 9),
        ]
        assert proposals(entity, date(2026, 4, 1)) == [
            ("C-1000", "team_lead", "legal", ["dunning_level"], 59),
            ("C-2000", "collector", "ar_manager", ["overdue_amount"], 10),
        ]

    def test_two_broken_promises_in_90_days_call_for_the_ar_manager(
        self, entity: LegalEntity, accounts: dict[str, Any]
    ) -> None:
        keller, invoice = accounts["C-3000"], accounts["C"]
        promise_broken(entity, keller, invoice, date(2026, 3, 18), date(2026, 3, 20))
        services.promises_review(
            entity=entity, as_of=date(2026, 3, 24), actor=None, now=at(date(2026, 3, 24))
        )
        promise_broken(entity, keller, invoice, date(2026, 3, 24), date(2026, 3, 25))
        assert [p for p in proposals(entity, date(2026, 3, 28)) if p[0] == "C-3000"] == []  # one broken

        services.promises_review(
            entity=entity, as_of=date(2026, 3, 29), actor=None, now=at(date(2026, 3, 29))
        )

        assert [p for p in proposals(entity, date(2026, 3, 29)) if p[0] == "C-3000"] == [
            ("C-3000", "collector", "ar_manager", ["broken_promises"], 12),
        ]
        # the first broke on 24 March: it counts through 21 June (the last 90 days), not on 22 June
        assert [p for p in proposals(entity, date(2026, 6, 21)) if p[0] == "C-3000"] == [
            ("C-3000", "collector", "ar_manager", ["days_overdue", "broken_promises"], 96),
        ]
        assert [p for p in proposals(entity, date(2026, 6, 22)) if p[0] == "C-3000"] == [
            ("C-3000", "collector", "ar_manager", ["days_overdue"], 97),
        ]

    def test_disputed_items_and_paid_ones_do_not_count(
        self, entity: LegalEntity, accounts: dict[str, Any]
    ) -> None:
        from o2c.receivables import services as receivable_services

        receivable_services.disputed_flag_set(
            document_id=accounts["B"].pk, is_disputed=True, reason="wrong machines", actor=None, now=NOW
        )
        receivable_services.allocation_create(
            document_id=accounts["A"].pk,
            kind="payment",
            amount_minor=119_000,
            posting_date=date(2026, 3, 10),
            actor=None,
            now=NOW,
        )

        assert proposals(entity, date(2026, 4, 1)) == []

    def test_the_command_prints_the_proposals_with_their_figures(
        self, entity: LegalEntity, accounts: dict[str, Any], capsys: pytest.CaptureFixture[str]
    ) -> None:
        services.dunning_run(
            entity=entity, as_of=date(2026, 3, 18), dry_run=False, actor=None, now=at(date(2026, 3, 18))
        )

        call_command("collections", "escalations", "--as-of", "2026-04-01", "--format", "json")

        captured = capsys.readouterr()
        assert json.loads(captured.out) == {
            "entity": entity.code,
            "as_of": "2026-04-01",
            "proposals": [
                {
                    "customer_number": "C-1000",
                    "customer_name": "Müller Maschinenbau GmbH",
                    "current_level": "collector",
                    "proposed_level": "legal",
                    "rule": "Legal",
                    "conditions": ["dunning_level"],
                    "oldest_due_date": "2026-02-01",
                    "days_overdue": 59,
                    "overdue": [{"currency": "EUR", "amount": "1190.00"}],
                    "broken_promises": 0,
                    "dunning_level": 4,
                    "dunning_level_since": "2026-03-18",
                },
                {
                    "customer_number": "C-2000",
                    "customer_name": "Dupont SA",
                    "current_level": "collector",
                    "proposed_level": "ar_manager",
                    "rule": "AR manager",
                    "conditions": ["overdue_amount"],
                    "oldest_due_date": "2026-03-22",
                    "days_overdue": 10,
                    "overdue": [{"currency": "EUR", "amount": "60000.00"}],
                    "broken_promises": 0,
                    "dunning_level": 0,
                    "dunning_level_since": None,
                },
            ],
        }

    def test_the_table_is_for_people(
        self, entity: LegalEntity, accounts: dict[str, Any], capsys: pytest.CaptureFixture[str]
    ) -> None:
        call_command("collections", "escalations", "--as-of", "2026-03-18")

        captured = capsys.readouterr()
        assert "C-1000" in captured.out
        assert "Team lead" in captured.out
        assert "1,190.00 EUR" in captured.out
        assert captured.err == "1 account to escalate\n"

    def test_a_bad_date_or_entity_is_one_line(
        self, entity: LegalEntity, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert (
            run_failing(capsys, "collections", "escalations", "--as-of", "2026-13-01")
            == "error: --as-of: '2026-13-01' is not an ISO 8601 date (YYYY-MM-DD)"
        )
        assert (
            run_failing(capsys, "collections", "escalations", "--as-of", "2026-03-01", "--entity", "NOPE")
            == "error: --entity: unknown legal entity 'NOPE'"
        )

    def test_an_entity_created_later_gets_the_standard_matrix(self, other_entity: LegalEntity) -> None:
        assert not EscalationRule.objects.filter(entity=other_entity).exists()

        escalation.escalation_proposals(entity=other_entity, as_of=date(2026, 3, 16), actor=None, now=NOW)

        assert [
            (rule.name, rule.level, rule.min_days_overdue, rule.min_overdue_minor, rule.currency)
            for rule in escalation.rule_list(entity_id=other_entity.pk)
        ] == [
            ("Legal", "legal", None, None, ""),
            ("AR manager", "ar_manager", 60, 5_000_000, "EUR"),
            ("Team lead", "team_lead", 45, 1_000_000, "EUR"),
        ]


# --- the API ---------------------------------------------------------------------------------------


def client_for(user: User) -> Client:
    _, token = workspace_services.api_token_create(user=user, name="test", now=NOW)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def send(client: Client, method: str, path: str, data: dict[str, Any]) -> Any:
    return getattr(client, method)(path, data=json.dumps(data), content_type="application/json")


@pytest.fixture
def collector(entity: LegalEntity) -> Client:
    return client_for(make_user("carla", "collector", entities=[entity]))


@pytest.fixture
def manager(entity: LegalEntity) -> Client:
    return client_for(make_user("martin", "ar_manager", entities=[entity]))


def move(
    client: Client, customer: Customer, level: str, direction: str = "escalate", text: str = "no answer"
) -> Any:
    return send(
        client,
        "post",
        f"/api/collections/escalations/{direction}",
        {"customer_id": customer.pk, "level": level, "reason_code": "no_response", "reason_text": text},
    )


class TestWhoMovesAnAccount:
    def test_a_collector_raises_an_account_to_her_team_lead(
        self, collector: Client, customer: Customer
    ) -> None:
        response = move(collector, customer, "team_lead")

        assert response.status_code == 200
        record = json.loads(response.content)
        assert record["level"] == "team_lead"
        assert record["since"] == "2026-03-16"
        assert [
            (c["from_level"], c["to_level"], c["reason_code"], c["reason_text"], c["changed_by"])
            for c in record["history"]
        ] == [("collector", "team_lead", "no_response", "no answer", "carla")]
        event = AuditEvent.objects.get(action="collections.escalation.raised")
        assert (event.object_label, event.reason) == ("C-1000", "no answer")

    def test_a_collector_cannot_raise_further_nor_lower(self, collector: Client, customer: Customer) -> None:
        assert move(collector, customer, "legal").status_code == 403
        assert move(collector, customer, "ar_manager").status_code == 403
        move(collector, customer, "team_lead")

        assert move(collector, customer, "ar_manager").status_code == 403
        assert move(collector, customer, "collector", "de-escalate").status_code == 403
        assert escalation.level_of(customer_id=customer.pk) == "team_lead"
        assert EscalationChange.objects.count() == 1

    def test_an_ar_manager_moves_an_account_to_legal_and_back(
        self, manager: Client, customer: Customer
    ) -> None:
        assert move(manager, customer, "legal", text="refuses to pay: lawyer").status_code == 200
        response = move(manager, customer, "team_lead", "de-escalate", text="paid half, promised the rest")

        assert response.status_code == 200
        assert [(c["from_level"], c["to_level"]) for c in json.loads(response.content)["history"]] == [
            ("collector", "legal"),
            ("legal", "team_lead"),
        ]
        assert CustomerEscalation.objects.get(customer=customer).level == "team_lead"
        assert AuditEvent.objects.filter(action="collections.escalation.lowered").count() == 1

    def test_moves_are_refused_without_reason_or_in_the_wrong_direction(
        self, manager: Client, customer: Customer
    ) -> None:
        no_reason = move(manager, customer, "legal", text=" ")
        assert no_reason.status_code == 422
        assert json.loads(no_reason.content)["code"] == "reason_required"
        lower = move(manager, customer, "collector", "de-escalate")
        assert (lower.status_code, json.loads(lower.content)["code"]) == (422, "not_lower")
        agency = move(manager, customer, "agency")
        assert (agency.status_code, json.loads(agency.content)["code"]) == (422, "use_placement")
        assert not EscalationChange.objects.exists()

    def test_another_entitys_customer_is_not_found(self, manager: Client, other_entity: LegalEntity) -> None:
        stranger = customer_services.customer_create(
            entity=other_entity, data=customer_in("F-1"), actor=None, now=NOW
        )

        assert move(manager, stranger, "legal").status_code == 404
        assert manager.get(f"/api/collections/escalations/{stranger.pk}").status_code == 404


class TestTheMatrixThroughTheApi:
    def test_everyone_in_collections_reads_the_standard_matrix(self, collector: Client) -> None:
        response = collector.get("/api/collections/escalation-rules")

        assert response.status_code == 200
        assert [
            (
                r["name"],
                r["level"],
                r["min_days_overdue"],
                r["min_overdue_amount"],
                r["currency"],
                r["min_broken_promises"],
                r["min_dunning_level"],
                r["min_dunning_days"],
            )
            for r in json.loads(response.content)
        ] == [
            ("Legal", "legal", None, None, "", None, 4, 14),
            ("AR manager", "ar_manager", 60, "50000.00", "EUR", 2, None, 0),
            ("Team lead", "team_lead", 45, "10000.00", "EUR", None, None, 0),
        ]

    def test_an_ar_manager_adds_and_changes_a_rule(self, manager: Client, entity: LegalEntity) -> None:
        rule = {
            "name": "Team lead USD",
            "level": "team_lead",
            "min_overdue_amount": "12000.00",
            "currency": "USD",
        }
        created = send(manager, "post", "/api/collections/escalation-rules", rule)
        assert created.status_code == 201
        record = json.loads(created.content)
        assert (record["min_overdue_amount"], record["currency"], record["is_active"]) == (
            "12000.00",
            "USD",
            True,
        )

        changed = send(
            manager, "put", f"/api/collections/escalation-rules/{record['id']}", {**rule, "is_active": False}
        )

        assert changed.status_code == 200
        assert json.loads(changed.content)["is_active"] is False
        event = AuditEvent.objects.get(action="collections.escalation_rule.changed")
        assert event.changes == {"is_active": [True, False]}

    def test_a_rule_without_condition_is_refused(self, manager: Client) -> None:
        response = send(
            manager, "post", "/api/collections/escalation-rules", {"name": "Empty", "level": "legal"}
        )

        assert (response.status_code, json.loads(response.content)["code"]) == (422, "no_condition")
        assert not EscalationRule.objects.filter(name="Empty").exists()

    def test_a_collector_cannot_change_the_matrix(self, collector: Client) -> None:
        response = send(
            collector,
            "post",
            "/api/collections/escalation-rules",
            {"name": "Soon", "level": "legal", "min_days_overdue": 1},
        )

        assert response.status_code == 403
        assert not EscalationRule.objects.filter(name="Soon").exists()

    def test_the_proposals_as_the_api_gives_them(self, collector: Client, accounts: dict[str, Any]) -> None:
        response = collector.get("/api/collections/escalations?as_of=2026-03-23")

        assert response.status_code == 200
        assert json.loads(response.content) == {
            "entity": "MAIN",
            "as_of": "2026-03-23",
            "proposals": [
                {
                    "customer_number": "C-1000",
                    "customer_name": "Müller Maschinenbau GmbH",
                    "current_level": "collector",
                    "proposed_level": "team_lead",
                    "rule": "Team lead",
                    "conditions": ["days_overdue"],
                    "oldest_due_date": "2026-02-01",
                    "days_overdue": 50,
                    "overdue": [{"currency": "EUR", "amount": "1190.00"}],
                    "broken_promises": 0,
                    "dunning_level": 0,
                    "dunning_level_since": None,
                },
                {
                    "customer_number": "C-2000",
                    "customer_name": "Dupont SA",
                    "current_level": "collector",
                    "proposed_level": "ar_manager",
                    "rule": "AR manager",
                    "conditions": ["overdue_amount"],
                    "oldest_due_date": "2026-03-22",
                    "days_overdue": 1,
                    "overdue": [{"currency": "EUR", "amount": "60000.00"}],
                    "broken_promises": 0,
                    "dunning_level": 0,
                    "dunning_level_since": None,
                },
            ],
        }
