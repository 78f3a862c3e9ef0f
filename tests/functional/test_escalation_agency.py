"""Placing an account with a collection agency: AR managers place (a collector cannot), the account moves
to the agency level, its items leave the dunning run until the placement is recalled, the cash applied
since shows on the placement, and the agency gets its items as CSV (`o2c collections agency-export`,
GET /api/collections/agency-placements/export).

C-1000 (Stuttgart) owes A, 1,190.00 due 1 February 2026, and B, 250.50 due 24 February; both were on the
notice of 3 March (A at level 3, B at level 1). C-2000 owes 595.00 due 1 February. Today is 16 March."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from o2c.audit.models import AuditEvent
from o2c.collections import agency, escalation, services
from o2c.collections.models import AgencyPlacement, CollectionAgency, PlacedItem
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from o2c.workspace import services as workspace_services
from tests.conftest import NOW, customer_in, issued_invoice, make_user
from tests.functional.test_import_commands import run_failing

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)  # 16 March 2026, 09:30 UTC


def client_for(user: User) -> Client:
    _, token = workspace_services.api_token_create(user=user, name="test", now=NOW)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def send(client: Client, method: str, path: str, data: dict[str, Any]) -> Any:
    return getattr(client, method)(path, data=json.dumps(data), content_type="application/json")


@pytest.fixture
def manager_user(entity: LegalEntity) -> User:
    return make_user("martin", "ar_manager", entities=[entity])


@pytest.fixture
def manager(manager_user: User) -> Client:
    return client_for(manager_user)


@pytest.fixture
def collector(entity: LegalEntity) -> Client:
    return client_for(make_user("carla", "collector", entities=[entity]))


@pytest.fixture
def items(entity: LegalEntity) -> dict[str, Any]:
    mueller = customer_services.customer_create(
        entity=entity,
        data=customer_in(
            address="Industriestraße 12\n70565 Stuttgart",
            vat_id="DE136695976",
        ),
        actor=None,
        now=NOW,
    )
    customer_services.contact_add(
        customer_id=mueller.pk,
        name="Frau Keller",
        email="buchhaltung@mueller.example",
        phone="+49 711 123456",
        role="Buchhaltung",
        is_billing=True,
        actor=None,
        now=NOW,
    )
    dupont = customer_services.customer_create(
        entity=entity,
        data=customer_in("C-2000", name="Dupont SA", country="FR", language="fr"),
        actor=None,
        now=NOW,
    )
    found = {
        "C-1000": mueller,
        "C-2000": dupont,
        "A": issued_invoice(mueller, issue_date=date(2026, 1, 2)),
        "B": issued_invoice(
            mueller,
            issue_date=date(2026, 1, 25),
            lines=[LineIn("Support", Decimal(1), Decimal("250.50"), Decimal(0))],
        ),
        "D": issued_invoice(
            dupont,
            issue_date=date(2026, 1, 2),
            lines=[LineIn("Parts", Decimal(1), Decimal("595.00"), Decimal(0))],
        ),
    }
    services.dunning_run(entity=entity, as_of=date(2026, 3, 3), dry_run=False, actor=None, now=NOW)
    return found


@pytest.fixture
def inkasso(entity: LegalEntity, manager_user: User) -> CollectionAgency:
    return agency.agency_create(
        entity=entity,
        code="INKA",
        name="Inkasso Adler GmbH",
        email="auftrag@adler.example",
        actor=manager_user,
        now=NOW,
    )


def place(client: Client, customer: Customer, **extra: Any) -> Any:
    return send(
        client,
        "post",
        "/api/collections/agency-placements",
        {
            "customer_id": customer.pk,
            "agency": "INKA",
            "reason_code": "refuses_to_pay",
            "reason_text": "refuses to pay since January",
            **extra,
        },
    )


def dunned(entity: LegalEntity, day: date) -> list[tuple[str, int, list[str]]]:
    result = services.dunning_run(entity=entity, as_of=day, dry_run=True, actor=None, now=NOW)
    return [
        (notice.customer_number, notice.level, [item.number for item in notice.items])
        for notice in result.notices
        if notice.level > 0
    ]


class TestPlacing:
    def test_an_ar_manager_places_an_account_with_an_agency(
        self, manager: Client, items: dict[str, Any], inkasso: CollectionAgency
    ) -> None:
        response = place(manager, items["C-1000"])

        assert response.status_code == 201
        placement = AgencyPlacement.objects.get()
        assert json.loads(response.content) == {
            "id": placement.pk,
            "entity": "MAIN",
            "agency": "INKA",
            "customer_id": items["C-1000"].pk,
            "customer_number": "C-1000",
            "state": "placed",
            "placed_on": "2026-03-16",
            "reason_code": "refuses_to_pay",
            "reason_text": "refuses to pay since January",
            "placed_by": "martin",
            "recalled_on": None,
            "recall_reason": "",
            "document_ids": sorted([items["A"].pk, items["B"].pk]),
            "amounts": [{"currency": "EUR", "placed": "1440.50", "open": "1440.50", "collected": "0.00"}],
        }
        assert escalation.level_of(customer_id=items["C-1000"].pk) == "agency"
        assert [
            (c.from_level, c.to_level, c.reason_code)
            for c in escalation.history(customer_id=items["C-1000"].pk)
        ] == [("collector", "agency", "refuses_to_pay")]
        event = AuditEvent.objects.get(action="collections.agency_placement.created")
        assert event.changes["open"] == [None, "1440.50 EUR"]

    def test_a_collector_cannot_place_an_account_nor_add_an_agency(
        self, collector: Client, items: dict[str, Any], inkasso: CollectionAgency
    ) -> None:
        assert place(collector, items["C-1000"]).status_code == 403
        assert (
            send(collector, "post", "/api/collections/agencies", {"code": "X", "name": "X"}).status_code
            == 403
        )

        assert not AgencyPlacement.objects.exists()
        assert not PlacedItem.objects.exists()
        assert CollectionAgency.objects.count() == 1
        assert escalation.level_of(customer_id=items["C-1000"].pk) == "collector"

    def test_a_placed_item_cannot_be_placed_twice(
        self, manager: Client, items: dict[str, Any], inkasso: CollectionAgency
    ) -> None:
        place(manager, items["C-1000"], document_ids=[items["A"].pk])

        again = place(manager, items["C-1000"], document_ids=[items["A"].pk])

        assert (again.status_code, json.loads(again.content)["code"]) == (422, "already_placed")
        assert PlacedItem.objects.count() == 1

    def test_an_unknown_agency_is_refused(self, manager: Client, items: dict[str, Any]) -> None:
        response = send(
            manager,
            "post",
            "/api/collections/agency-placements",
            {"customer_id": items["C-1000"].pk, "agency": "NOPE", "reason_code": "other", "reason_text": "x"},
        )

        assert (response.status_code, json.loads(response.content)["code"]) == (422, "unknown_agency")
        assert not AgencyPlacement.objects.exists()


class TestPlacementAndDunning:
    def test_placed_items_leave_the_dunning_run_and_a_recall_brings_them_back(
        self, manager: Client, entity: LegalEntity, items: dict[str, Any], inkasso: CollectionAgency
    ) -> None:
        a, b, d = items["A"].number, items["B"].number, items["D"].number
        assert dunned(entity, date(2026, 3, 18)) == [("C-1000", 4, [a, b]), ("C-2000", 4, [d])]
        placement_id = json.loads(place(manager, items["C-1000"]).content)["id"]

        assert dunned(entity, date(2026, 3, 18)) == [("C-2000", 4, [d])]

        recalled = send(
            manager,
            "post",
            f"/api/collections/agency-placements/{placement_id}/recall",
            {"reason_text": "the customer paid the agency's first instalment to us"},
        )
        assert recalled.status_code == 200
        record = json.loads(recalled.content)
        assert (record["state"], record["recalled_on"]) == ("recalled", "2026-03-16")
        assert dunned(entity, date(2026, 3, 18)) == [("C-1000", 4, [a, b]), ("C-2000", 4, [d])]
        assert escalation.level_of(customer_id=items["C-1000"].pk) == "collector"
        assert [(c.from_level, c.to_level) for c in escalation.history(customer_id=items["C-1000"].pk)] == [
            ("collector", "agency"),
            ("agency", "collector"),
        ]
        assert AuditEvent.objects.filter(action="collections.agency_placement.recalled").count() == 1

    def test_a_recall_needs_a_reason_and_happens_once(
        self, manager: Client, items: dict[str, Any], inkasso: CollectionAgency
    ) -> None:
        placement_id = json.loads(place(manager, items["C-1000"]).content)["id"]
        path = f"/api/collections/agency-placements/{placement_id}/recall"

        no_reason = send(manager, "post", path, {"reason_text": " "})
        assert (no_reason.status_code, json.loads(no_reason.content)["code"]) == (422, "reason_required")
        assert send(manager, "post", path, {"reason_text": "settled"}).status_code == 200
        twice = send(manager, "post", path, {"reason_text": "settled"})
        assert (twice.status_code, json.loads(twice.content)["code"]) == (422, "not_placed")

    def test_an_account_at_the_agency_is_not_de_escalated_while_placed(
        self, manager: Client, items: dict[str, Any], inkasso: CollectionAgency
    ) -> None:
        place(manager, items["C-1000"])

        response = send(
            manager,
            "post",
            "/api/collections/escalations/de-escalate",
            {"customer_id": items["C-1000"].pk, "level": "legal", "reason_code": "other", "reason_text": "x"},
        )

        assert (response.status_code, json.loads(response.content)["code"]) == (422, "placed_with_agency")

    def test_cash_applied_after_placement_shows_as_collected(
        self, manager: Client, items: dict[str, Any], inkasso: CollectionAgency
    ) -> None:
        place(manager, items["C-1000"])
        receivable_services.allocation_create(
            document_id=items["A"].pk,
            kind="payment",
            amount_minor=19_000,
            posting_date=date(2026, 3, 20),
            actor=None,
            now=NOW,
        )

        response = manager.get("/api/collections/agency-placements?agency=INKA")

        assert [placement["amounts"] for placement in json.loads(response.content)] == [
            [{"currency": "EUR", "placed": "1440.50", "open": "1250.50", "collected": "190.00"}]
        ]


HEADER = (
    "placement_id,placed_on,agency_code,customer_number,customer_name,address_line_1,address_line_2,"
    "address_line_3,country,vat_id,contact_name,email,phone,invoice_number,issue_date,due_date,currency,"
    "original_amount,open_amount,days_overdue,last_dunning_level,last_dunning_date,disputed,placement_reason,"
    "placement_reason_text\n"
)


class TestTheAgencyExport:
    @pytest.fixture
    def placed(self, manager_user: User, items: dict[str, Any], inkasso: CollectionAgency) -> AgencyPlacement:
        placement = agency.placement_create(
            customer=items["C-1000"],
            agency=inkasso,
            reason_code="refuses_to_pay",
            reason_text='refuses to pay, "no money"',
            actor=manager_user,
            now=NOW,
        )
        receivable_services.allocation_create(
            document_id=items["A"].pk,
            kind="payment",
            amount_minor=19_000,
            posting_date=date(2026, 3, 16),
            actor=None,
            now=NOW,
        )
        receivable_services.disputed_flag_set(
            document_id=items["B"].pk, is_disputed=True, reason="hours not agreed", actor=None, now=NOW
        )
        return placement

    def expected(self, placement: AgencyPlacement, items: dict[str, Any]) -> str:
        common = (
            f"{placement.pk},2026-03-16,INKA,C-1000,Müller Maschinenbau GmbH,"
            "Industriestraße 12,70565 Stuttgart,,DE,DE136695976,"
            "Frau Keller,buchhaltung@mueller.example,+49 711 123456,"
        )
        reason = 'refuses_to_pay,"refuses to pay, ""no money"""\n'
        return (
            HEADER
            + common
            + f"{items['A'].number},2026-01-02,2026-02-01,EUR,1190.00,1000.00,43,3,2026-03-03,no,"
            + reason
            + common
            + f"{items['B'].number},2026-01-25,2026-02-24,EUR,250.50,250.50,20,1,2026-03-03,yes,"
            + reason
        )

    def test_the_command_writes_each_placed_item_still_open(
        self,
        placed: AgencyPlacement,
        items: dict[str, Any],
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        output = tmp_path / "inka.csv"

        call_command("collections", "agency-export", "--agency", "INKA", "--output", str(output))

        assert output.read_bytes().decode("utf-8") == self.expected(placed, items)
        assert capsys.readouterr().err == f"2 items written to {output}\n"

    def test_a_paid_item_leaves_the_export(
        self, placed: AgencyPlacement, items: dict[str, Any], tmp_path: Path
    ) -> None:
        receivable_services.allocation_create(
            document_id=items["B"].pk,
            kind="payment",
            amount_minor=25_050,
            posting_date=date(2026, 3, 16),
            actor=None,
            now=NOW,
        )
        output = tmp_path / "inka.csv"

        call_command("collections", "agency-export", "--agency", "INKA", "--output", str(output))

        assert output.read_text(encoding="utf-8").count("\n") == 2  # the header and A

    def test_placements_outside_the_dates_are_left_out(self, placed: AgencyPlacement, tmp_path: Path) -> None:
        output = tmp_path / "inka.csv"

        call_command(
            "collections",
            "agency-export",
            "--agency",
            "INKA",
            "--placed-from",
            "2026-03-17",
            "--output",
            str(output),
        )

        assert output.read_text(encoding="utf-8") == HEADER

    def test_the_api_gives_the_same_csv(
        self, placed: AgencyPlacement, items: dict[str, Any], manager: Client, collector: Client
    ) -> None:
        response = manager.get("/api/collections/agency-placements/export?agency=INKA")

        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response.content.decode("utf-8") == self.expected(placed, items)
        assert collector.get("/api/collections/agency-placements/export?agency=INKA").status_code == 403
        unknown = manager.get("/api/collections/agency-placements/export?agency=NOPE")
        assert (unknown.status_code, json.loads(unknown.content)["code"]) == (422, "unknown_agency")

    def test_an_unknown_agency_is_one_line_and_no_file(
        self, placed: AgencyPlacement, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        output = tmp_path / "nope.csv"

        line = run_failing(
            capsys, "collections", "agency-export", "--agency", "NOPE", "--output", str(output)
        )

        assert line == "error: --agency: unknown agency 'NOPE'"
        assert not output.exists()

    def test_a_bad_date_is_one_line_and_no_file(
        self, entity: LegalEntity, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        output = tmp_path / "x.csv"

        line = run_failing(
            capsys,
            "collections",
            "agency-export",
            "--agency",
            "INKA",
            "--placed-to",
            "16.03.2026",
            "--output",
            str(output),
        )

        assert line == "error: --placed-to: '16.03.2026' is not an ISO 8601 date (YYYY-MM-DD)"
        assert not output.exists()


def test_placed_items_are_documents_of_the_customer(
    manager_user: User, items: dict[str, Any], inkasso: CollectionAgency
) -> None:
    other: Document = items["D"]

    with pytest.raises(agency.UnableToPlace) as refused:
        agency.placement_create(
            customer=items["C-1000"],
            agency=inkasso,
            documents=[other],
            reason_code="other",
            reason_text="x",
            actor=manager_user,
            now=NOW,
        )

    assert refused.value.code == "other_customer"
    assert not PlacedItem.objects.exists()
