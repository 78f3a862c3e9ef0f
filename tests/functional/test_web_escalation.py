"""The escalation and agency pages: the accounts the matrix proposes, a customer's level and history with
escalating and de-escalating it, the matrix's rules, and the agencies with their placements, recalls and
the agency's CSV; with roles, legal-entity scope and the reader's language.

On 16 March 2026, with the standard matrix (team lead at 45 days or 10,000.00 overdue; AR manager at 60
days, 50,000.00 or 2 broken promises; legal 14 days after a level-4 notice), after the dunning run of
3 March:
- C-1000 Müller owes A, 1,190.00 due 1 February (43 days: not proposed), and B, 250.50 due 24 February
- C-2000 Dupont owes 11,900.00 due 3 March: proposed for the team lead (the amount)
- C-3000 Weber owes 59,500.00 due 1 February: proposed for the AR manager (the amount; the team lead's
  rule fires too, the higher level wins)
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from o2c.audit.models import AuditEvent
from o2c.collections import agency, escalation, services
from o2c.collections.models import (
    AgencyPlacement,
    CollectionAgency,
    CustomerEscalation,
    EscalationChange,
    EscalationRule,
    PlacedItem,
)
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.workspace import services as workspace_services
from o2c.workspace.models import UserPreference
from tests.conftest import NOW, customer_in, issued_invoice, make_user

pytestmark = pytest.mark.django_db

PROPOSALS = reverse("collections_escalations")
MATRIX = reverse("collections_escalation_matrix")
AGENCIES = reverse("collections_agencies")


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)  # 16 March 2026, 09:30 UTC


def _lines(quantity: int, price: str = "100.00", tax: int = 19) -> list[LineIn]:
    return [LineIn("Consulting", Decimal(quantity), Decimal(price), Decimal(tax))]


@pytest.fixture
def anna(entity: LegalEntity) -> User:
    return make_user("anna", "collector", entities=[entity])


@pytest.fixture
def martin(entity: LegalEntity) -> User:
    return make_user("martin", "ar_manager", entities=[entity])


@pytest.fixture
def book(entity: LegalEntity) -> dict[str, Any]:
    mueller = customer_services.customer_create(
        entity=entity,
        data=customer_in(address="Industriestraße 12\n70565 Stuttgart", vat_id="DE136695976"),
        actor=None,
        now=NOW,
    )
    dupont = customer_services.customer_create(
        entity=entity, data=customer_in("C-2000", name="Dupont SA", country="FR"), actor=None, now=NOW
    )
    weber = customer_services.customer_create(
        entity=entity, data=customer_in("C-3000", name="Weber AG"), actor=None, now=NOW
    )
    found = {
        "C-1000": mueller,
        "C-2000": dupont,
        "C-3000": weber,
        "A": issued_invoice(mueller, lines=_lines(10), issue_date=date(2026, 1, 2)),
        "B": issued_invoice(mueller, lines=_lines(1, "250.50", 0), issue_date=date(2026, 1, 25)),
        "D": issued_invoice(dupont, lines=_lines(100), issue_date=date(2026, 2, 1)),
        "W": issued_invoice(weber, lines=_lines(500), issue_date=date(2026, 1, 2)),
    }
    services.dunning_run(entity=entity, as_of=date(2026, 3, 3), dry_run=False, actor=None, now=NOW)
    return found


@pytest.fixture
def inkasso(entity: LegalEntity, martin: User) -> CollectionAgency:
    return agency.agency_create(
        entity=entity,
        code="INKA",
        name="Inkasso Adler GmbH",
        email="auftrag@adler.example",
        actor=martin,
        now=NOW,
    )


def _placed(customer: Customer, inkasso: CollectionAgency, martin: User) -> AgencyPlacement:
    return agency.placement_create(
        customer=customer,
        agency=inkasso,
        reason_code="refuses_to_pay",
        reason_text="refuses to pay since January",
        actor=martin,
        now=NOW,
    )


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return response.content.decode()


def clean(html: str) -> str:
    return unescape(re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html)).strip())


def by_id(html: str, element_id: str) -> str:
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match is not None, element_id
    return clean(match[2])


def rows(html: str, attribute: str) -> list[str]:
    return re.findall(rf'<tr {attribute}="([^"]+)">', html)


def row_cells(html: str, attribute: str, value: str) -> list[str]:
    row = re.search(rf'<tr {attribute}="{re.escape(value)}">(.*?)</tr>', html, re.S)
    assert row is not None, value
    return [clean(cell) for cell in row[1].split("</td>")[:-1]]


def account_url(number: str, action: str = "") -> str:
    name = {
        "": "collections_escalation_account",
        "up": "collections_escalation_raise",
        "down": "collections_escalation_lower",
    }[action]
    return reverse(name, args=[number])


def levels() -> dict[str, str]:
    return {
        number: escalation.level_of(customer_id=pk)
        for pk, number in Customer.objects.order_by("number").values_list("pk", "number")
    }


def german(user: User) -> None:
    UserPreference.objects.update_or_create(user=user, defaults={"language": "de"})


# --- proposals ------------------------------------------------------------------------------------------


class TestProposals:
    def test_the_page_lists_each_proposal_with_its_rule_conditions_and_figures(self, anna, book):
        response = login(anna).get(PROPOSALS)

        assert response.status_code == 200
        html = text(response)
        assert rows(html, "data-customer") == ["C-2000", "C-3000"]  # C-1000 is 43 days overdue: not yet
        # customer, current, proposed, rule, conditions, overdue, oldest due, days, broken promises, dunning
        assert row_cells(html, "data-customer", "C-2000") == [
            "C-2000 Dupont SA",
            "Collector",
            "Team lead",
            "Team lead",
            "overdue amount",
            "€11,900.00",
            "Mar 3, 2026",
            "13",
            "0",
            "–",
        ]
        assert row_cells(html, "data-customer", "C-3000") == [
            "C-3000 Weber AG",
            "Collector",
            "AR manager",
            "AR manager",
            "overdue amount",
            "€59,500.00",
            "Feb 1, 2026",
            "43",
            "0",
            "3 · Mar 3, 2026",
        ]
        assert 'href="/collections/escalations/customers/C-2000/"' in html
        assert by_id(html, "escalations-as-of") == "MAIN · Mar 16, 2026"

    def test_an_account_already_at_the_proposed_level_is_not_proposed(self, anna, book):
        escalation.customer_escalate(
            customer=book["C-2000"],
            level="team_lead",
            reason_code="no_response",
            reason_text="no answer",
            actor=anna,
            now=NOW,
        )

        assert rows(text(login(anna).get(PROPOSALS)), "data-customer") == ["C-3000"]

    def test_the_worklist_links_to_the_escalation_pages(self, anna, book):
        html = text(login(anna).get(reverse("collections_worklist")))

        assert by_id(html, "escalation-links") == "Escalations · Escalation matrix · Collection agencies"
        for url in (PROPOSALS, MATRIX, AGENCIES):
            assert f'href="{url}"' in html

    @pytest.mark.parametrize("role", ["ar_manager", "auditor", "admin"])
    def test_managers_auditors_and_admins_read_the_proposals(self, entity, book, role):
        user = make_user("reader", role, entities=[entity])

        assert rows(text(login(user).get(PROPOSALS)), "data-customer") == ["C-2000", "C-3000"]

    @pytest.mark.parametrize("role", ["billing", "cash_application", "disputes", "credit"])
    def test_roles_outside_collections_are_refused(self, entity, book, role):
        user = make_user("someone", role, entities=[entity])

        assert login(user).get(PROPOSALS).status_code == 403

    def test_a_german_reader_sees_german_amounts_and_dates(self, anna, book):
        german(anna)

        html = text(login(anna).get(PROPOSALS))

        assert row_cells(html, "data-customer", "C-3000")[5:8] == ["59.500,00\xa0€", "01.02.2026", "43"]
        assert row_cells(html, "data-customer", "C-3000")[9] == "3 · 03.03.2026"


# --- a customer's level and history ---------------------------------------------------------------------


class TestAccount:
    def test_the_page_shows_the_level_since_when_and_the_history(self, anna, martin, book):
        escalation.customer_escalate(
            customer=book["C-2000"],
            level="team_lead",
            reason_code="no_response",
            reason_text="no answer to three calls",
            actor=anna,
            now=NOW,
        )
        escalation.customer_escalate(
            customer=book["C-2000"],
            level="legal",
            reason_code="refuses_to_pay",
            reason_text="says the invoice will never be paid",
            actor=martin,
            now=NOW,
        )

        html = text(login(anna).get(account_url("C-2000")))

        assert by_id(html, "escalation-level") == "Legal · since Mar 16, 2026"
        changes = EscalationChange.objects.filter(customer=book["C-2000"]).order_by("pk")
        assert [row_cells(html, "data-change", str(change.pk)) for change in changes] == [
            ["Mar 16, 2026", "anna", "Collector", "Team lead", "No response", "no answer to three calls"],
            [
                "Mar 16, 2026",
                "martin",
                "Team lead",
                "Legal",
                "Refuses to pay",
                "says the invoice will never be paid",
            ],
        ]

    def test_an_account_never_moved_is_with_its_collector(self, anna, book):
        html = text(login(anna).get(account_url("C-1000")))

        assert by_id(html, "escalation-level") == "Collector"
        assert by_id(html, "history-empty") == "The account has always been with its collector."

    def test_a_collector_raises_an_account_to_the_team_lead_with_a_reason_audited(self, anna, book):
        response = login(anna).post(
            account_url("C-2000", "up"),
            {
                "up-level": "team_lead",
                "up-reason_code": "no_response",
                "up-reason_text": "no answer to three calls",
            },
        )

        assert response.status_code == 302
        assert response["Location"] == account_url("C-2000")
        assert levels() == {"C-1000": "collector", "C-2000": "team_lead", "C-3000": "collector"}
        event = AuditEvent.objects.get(action="collections.escalation.raised")
        assert (event.object_label, event.changes, event.reason, event.actor_label) == (
            "C-2000",
            {"escalation_level": ["collector", "team_lead"], "reason_code": [None, "no_response"]},
            "no answer to three calls",
            "anna",
        )

    def test_a_collector_is_offered_the_team_lead_only_and_no_de_escalation(self, anna, book):
        response = login(anna).get(account_url("C-2000"))

        assert response.context["up_form"].fields["level"].choices == [("team_lead", "Team lead")]
        assert response.context["down_form"] is None
        assert 'id="deescalate-form"' not in text(response)

    def test_a_collector_cannot_raise_an_account_beyond_the_team_lead(self, anna, book):
        response = login(anna).post(
            account_url("C-2000", "up"),
            {"up-level": "legal", "up-reason_code": "no_response", "up-reason_text": "no answer"},
        )

        assert response.status_code == 422
        assert response.context["up_form"].errors["level"] == [
            "Select a valid choice. legal is not one of the available choices."
        ]
        assert levels()["C-2000"] == "collector"
        assert not EscalationChange.objects.exists()

    def test_a_collector_may_not_de_escalate(self, anna, martin, book):
        escalation.customer_escalate(
            customer=book["C-2000"],
            level="team_lead",
            reason_code="other",
            reason_text="x",
            actor=martin,
            now=NOW,
        )

        response = login(anna).post(
            account_url("C-2000", "down"),
            {"down-level": "collector", "down-reason_code": "other", "down-reason_text": "paid"},
        )

        assert response.status_code == 403
        assert levels()["C-2000"] == "team_lead"

    def test_without_a_reason_text_nothing_moves(self, anna, book):
        response = login(anna).post(
            account_url("C-2000", "up"),
            {"up-level": "team_lead", "up-reason_code": "no_response", "up-reason_text": " "},
        )

        assert response.status_code == 422
        assert response.context["up_form"].errors["reason_text"] == ["This field is required."]
        assert levels()["C-2000"] == "collector"
        assert not EscalationChange.objects.exists()
        assert not AuditEvent.objects.filter(action__startswith="collections.escalation").exists()

    def test_an_ar_manager_de_escalates_to_any_lower_level_audited(self, martin, book):
        escalation.customer_escalate(
            customer=book["C-3000"],
            level="legal",
            reason_code="insolvency",
            reason_text="filed",
            actor=martin,
            now=NOW,
        )
        client = login(martin)
        offered = client.get(account_url("C-3000")).context["down_form"].fields["level"].choices

        response = client.post(
            account_url("C-3000", "down"),
            {
                "down-level": "team_lead",
                "down-reason_code": "other",
                "down-reason_text": "insolvency withdrawn",
            },
        )

        assert offered == [
            ("collector", "Collector"),
            ("team_lead", "Team lead"),
            ("ar_manager", "AR manager"),
        ]
        assert response.status_code == 302
        assert levels()["C-3000"] == "team_lead"
        event = AuditEvent.objects.get(action="collections.escalation.lowered")
        assert (event.changes["escalation_level"], event.reason) == (
            ["legal", "team_lead"],
            "insolvency withdrawn",
        )

    def test_the_services_refusal_is_shown_on_the_form_and_nothing_changes(self, martin, book, inkasso):
        _placed(book["C-1000"], inkasso, martin)

        response = login(martin).post(
            account_url("C-1000", "down"),
            {"down-level": "legal", "down-reason_code": "other", "down-reason_text": "back to legal"},
        )

        assert response.status_code == 422
        assert response.context["down_form"].non_field_errors() == [
            "the account is placed with an agency: recall the placement first"
        ]
        assert levels()["C-1000"] == "agency"
        assert EscalationChange.objects.count() == 1  # the placement's

    def test_an_auditor_reads_the_account_but_may_not_move_it(self, auditor_user, book):
        client = login(auditor_user)
        html = text(client.get(account_url("C-2000")))
        response = client.post(
            account_url("C-2000", "up"),
            {"up-level": "team_lead", "up-reason_code": "no_response", "up-reason_text": "x"},
        )

        assert 'id="escalation-forms"' not in html
        assert response.status_code == 403
        assert levels()["C-2000"] == "collector"

    def test_a_customer_of_another_entity_is_not_found(self, anna, book, other_entity):
        customer_services.customer_create(
            entity=other_entity, data=customer_in("C-9000"), actor=None, now=NOW
        )
        client = login(anna)

        assert client.get(account_url("C-9000")).status_code == 404
        response = client.post(
            account_url("C-9000", "up"),
            {"up-level": "team_lead", "up-reason_code": "no_response", "up-reason_text": "x"},
        )
        assert response.status_code == 404
        assert not CustomerEscalation.objects.exists()

    def test_the_collections_page_shows_the_level_and_links_to_the_escalation_page(self, anna, martin, book):
        escalation.customer_escalate(
            customer=book["C-1000"],
            level="ar_manager",
            reason_code="other",
            reason_text="x",
            actor=martin,
            now=NOW,
        )
        client = login(anna)

        page = text(client.get(reverse("collections_customer", args=["C-1000"])))
        level = text(client.get(reverse("collections_escalation_level", args=["C-1000"])))

        assert 'hx-get="/collections/escalations/customers/C-1000/level/"' in page
        assert 'href="/collections/escalations/customers/C-1000/"' in page
        assert by_id(level, "escalation-level") == "AR manager · since Mar 16, 2026"

    def test_a_german_reader_sees_german_dates(self, anna, book):
        escalation.customer_escalate(
            customer=book["C-2000"],
            level="team_lead",
            reason_code="other",
            reason_text="x",
            actor=anna,
            now=NOW,
        )
        german(anna)

        html = text(login(anna).get(account_url("C-2000")))

        change = EscalationChange.objects.get()
        assert row_cells(html, "data-change", str(change.pk))[:2] == ["16.03.2026", "anna"]


# --- the matrix -----------------------------------------------------------------------------------------


def _rule_post(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Large accounts to legal",
        "level": "legal",
        "min_days_overdue": "",
        "min_overdue_amount": "100,000.00",
        "currency": "EUR",
        "min_broken_promises": "",
        "min_dunning_level": "",
        "min_dunning_days": "",
        "is_active": "on",
    }
    data.update(overrides)
    return data


class TestMatrix:
    def test_the_page_lists_the_entitys_rules_highest_level_first(self, anna, entity):
        html = text(login(anna).get(MATRIX))

        assert rows(html, "data-rule") == ["Legal", "AR manager", "Team lead"]
        # rule, level, days, amount, broken promises, dunning level, active
        assert row_cells(html, "data-rule", "Legal") == [
            "Legal",
            "Legal",
            "–",
            "–",
            "–",
            "4, 14 days after",
            "yes",
        ]
        assert row_cells(html, "data-rule", "AR manager") == [
            "AR manager",
            "AR manager",
            "60",
            "€50,000.00",
            "2",
            "–",
            "yes",
        ]
        assert row_cells(html, "data-rule", "Team lead") == [
            "Team lead",
            "Team lead",
            "45",
            "€10,000.00",
            "–",
            "–",
            "yes",
        ]
        assert 'id="rule-form"' not in html  # a collector reads

    def test_an_ar_manager_adds_a_rule_audited(self, martin, entity):
        response = login(martin).post(MATRIX, _rule_post())

        assert response.status_code == 302
        rule = EscalationRule.objects.get(entity=entity, name="Large accounts to legal")
        assert (rule.level, rule.min_overdue_minor, rule.currency, rule.min_days_overdue, rule.is_active) == (
            "legal",
            10_000_000,
            "EUR",
            None,
            True,
        )
        event = AuditEvent.objects.get(action="collections.escalation_rule.created", object_id=str(rule.pk))
        assert event.actor_label == "martin"
        assert event.changes["min_overdue_minor"] == [None, 10_000_000]

    def test_an_ar_manager_switches_a_rule_off_and_changes_its_amount_audited(self, martin, entity):
        escalation.matrix_ensure(entity=entity, actor=None, now=NOW)
        rule = EscalationRule.objects.get(entity=entity, name="Team lead")
        url = reverse("collections_escalation_rule", args=[rule.pk])
        client = login(martin)
        shown = client.get(url).context["rule_form"].initial

        response = client.post(
            url,
            _rule_post(
                name="Team lead",
                level="team_lead",
                min_days_overdue="45",
                min_overdue_amount="20,000.00",
                is_active="",
            ),
        )

        assert (shown["min_overdue_amount"], shown["currency"]) == (Decimal("10000.00"), "EUR")
        assert response.status_code == 302
        rule.refresh_from_db()
        assert (rule.min_overdue_minor, rule.is_active) == (2_000_000, False)
        event = AuditEvent.objects.get(action="collections.escalation_rule.changed")
        assert event.changes == {"min_overdue_minor": [1_000_000, 2_000_000], "is_active": [True, False]}
        assert row_cells(text(client.get(MATRIX)), "data-rule", "Team lead")[3:] == [
            "€20,000.00",
            "–",
            "–",
            "no",
        ]

    def test_a_rule_without_a_condition_is_refused_with_the_services_sentence(self, martin, entity):
        escalation.matrix_ensure(entity=entity, actor=None, now=NOW)
        audited = AuditEvent.objects.count()

        response = login(martin).post(MATRIX, _rule_post(min_overdue_amount="", currency=""))

        assert response.status_code == 422
        assert response.context["rule_form"].non_field_errors() == ["a rule has at least one condition"]
        assert EscalationRule.objects.filter(entity=entity).count() == 3
        assert AuditEvent.objects.count() == audited

    def test_an_amount_without_its_currency_is_refused(self, martin, entity):
        response = login(martin).post(MATRIX, _rule_post(currency=""))

        assert response.status_code == 422
        assert response.context["rule_form"].errors["currency"] == ["Enter the currency of the amount."]
        assert not EscalationRule.objects.filter(name="Large accounts to legal").exists()

    def test_a_collector_or_auditor_may_not_change_the_matrix(self, anna, auditor_user, entity):
        escalation.matrix_ensure(entity=entity, actor=None, now=NOW)
        rule = EscalationRule.objects.get(entity=entity, name="Team lead")

        for user in (anna, auditor_user):
            client = login(user)
            assert client.post(MATRIX, _rule_post()).status_code == 403
            assert client.get(reverse("collections_escalation_rule", args=[rule.pk])).status_code == 403
        assert EscalationRule.objects.filter(entity=entity).count() == 3

    def test_a_rule_of_another_entity_is_not_found(self, martin, other_entity):
        escalation.matrix_ensure(entity=other_entity, actor=None, now=NOW)
        rule = EscalationRule.objects.get(entity=other_entity, name="Team lead")
        url = reverse("collections_escalation_rule", args=[rule.pk])

        client = login(martin)
        assert client.get(url).status_code == 404
        assert client.post(url, _rule_post(name="Team lead", level="team_lead")).status_code == 404
        rule.refresh_from_db()
        assert rule.level == "team_lead"

    def test_a_german_reader_sees_german_amounts(self, anna, entity):
        german(anna)

        html = text(login(anna).get(MATRIX))

        assert row_cells(html, "data-rule", "AR manager")[3] == "50.000,00\xa0€"


# --- agencies and placements -----------------------------------------------------------------------------


def _place_post(**overrides: str) -> dict[str, str]:
    data = {
        "entity": "MAIN",
        "place-customer": "C-1000",
        "place-reason_code": "refuses_to_pay",
        "place-reason_text": "refuses to pay since January",
    }
    data.update(overrides)
    return data


class TestAgencies:
    def test_the_page_lists_agencies_and_placements_with_placed_open_and_collected(
        self, anna, martin, book, inkasso
    ):
        placement = _placed(book["C-1000"], inkasso, martin)
        receivable_services.allocation_create(
            document_id=book["A"].pk,
            kind="payment",
            amount_minor=19_000,
            posting_date=date(2026, 3, 20),
            actor=None,
            now=NOW,
        )

        html = text(login(anna).get(AGENCIES))

        assert row_cells(html, "data-agency", "INKA") == [
            "INKA",
            "Inkasso Adler GmbH",
            "auftrag@adler.example",
            "yes",
        ]
        # id, customer, agency, state, placed on and by, reason, placed, open, collected
        assert row_cells(html, "data-placement", str(placement.pk)) == [
            str(placement.pk),
            "C-1000 Müller Maschinenbau GmbH",
            "INKA",
            "Placed",
            "Mar 16, 2026 martin",
            "Refuses to pay refuses to pay since January",
            "€1,440.50",
            "€1,250.50",
            "€190.00",
        ]
        assert 'href="/collections/escalations/customers/C-1000/"' in html
        assert 'id="placement-form"' not in html  # a collector reads
        assert "/export/" not in html

    def test_an_ar_manager_adds_an_agency_audited(self, martin, entity):
        response = login(martin).post(
            reverse("collections_agency_create"),
            {"entity": "MAIN", "agency-code": "KOLL", "agency-name": "Kollekt AG", "agency-email": ""},
        )

        assert response.status_code == 302
        assert response["Location"] == f"{AGENCIES}?entity=MAIN"
        assert list(CollectionAgency.objects.values_list("entity__code", "code", "name")) == [
            ("MAIN", "KOLL", "Kollekt AG")
        ]
        event = AuditEvent.objects.get(action="collections.agency.created")
        assert (event.object_label, event.changes, event.actor_label) == (
            "KOLL",
            {"name": [None, "Kollekt AG"]},
            "martin",
        )

    def test_a_second_agency_with_the_same_code_is_refused(self, martin, inkasso):
        response = login(martin).post(
            reverse("collections_agency_create"),
            {"entity": "MAIN", "agency-code": "INKA", "agency-name": "Other"},
        )

        assert response.status_code == 422
        assert response.context["agency_form"].non_field_errors() == ["agency INKA exists already"]
        assert CollectionAgency.objects.count() == 1

    def test_an_ar_manager_places_an_account_audited(self, martin, book, inkasso):
        response = login(martin).post(
            reverse("collections_placement_create"), _place_post(**{"place-agency": str(inkasso.pk)})
        )

        assert response.status_code == 302
        placement = AgencyPlacement.objects.get()
        assert (placement.customer.number, placement.agency.code, placement.state, placement.placed_on) == (
            "C-1000",
            "INKA",
            "placed",
            date(2026, 3, 16),
        )
        assert sorted(PlacedItem.objects.values_list("document__number", "open_minor")) == sorted(
            [(book["A"].number, 119_000), (book["B"].number, 25_050)]
        )
        assert levels()["C-1000"] == "agency"
        event = AuditEvent.objects.get(action="collections.agency_placement.created")
        assert (event.object_label, event.changes["open"], event.reason) == (
            "C-1000",
            [None, "1440.50 EUR"],
            "refuses to pay since January",
        )

    def test_a_placement_without_a_reason_places_nothing(self, martin, book, inkasso):
        response = login(martin).post(
            reverse("collections_placement_create"),
            _place_post(**{"place-agency": str(inkasso.pk), "place-reason_text": ""}),
        )

        assert response.status_code == 422
        assert response.context["placement_form"].errors["reason_text"] == ["This field is required."]
        assert not AgencyPlacement.objects.exists()
        assert levels()["C-1000"] == "collector"

    def test_an_unknown_customer_or_one_with_nothing_open_is_refused(self, martin, book, inkasso, entity):
        customer_services.customer_create(entity=entity, data=customer_in("C-4000"), actor=None, now=NOW)
        client = login(martin)

        unknown = client.post(
            reverse("collections_placement_create"),
            _place_post(**{"place-agency": str(inkasso.pk), "place-customer": "C-9999"}),
        )
        empty = client.post(
            reverse("collections_placement_create"),
            _place_post(**{"place-agency": str(inkasso.pk), "place-customer": "C-4000"}),
        )

        assert unknown.status_code == empty.status_code == 422
        assert unknown.context["placement_form"].errors["customer"] == ["No customer C-9999 in MAIN."]
        assert empty.context["placement_form"].non_field_errors() == [
            "the customer has nothing open to place"
        ]
        assert not AgencyPlacement.objects.exists()

    def test_an_ar_manager_recalls_a_placement_with_a_reason_audited(self, martin, book, inkasso):
        placement = _placed(book["C-1000"], inkasso, martin)
        prefix = f"recall-{placement.pk}"

        response = login(martin).post(
            reverse("collections_placement_recall", args=[placement.pk]),
            {
                "entity": "MAIN",
                f"{prefix}-reason_code": "other",
                f"{prefix}-reason_text": "paid in full to us",
            },
        )

        assert response.status_code == 302
        placement.refresh_from_db()
        assert (placement.state, placement.recalled_on, placement.recall_reason) == (
            "recalled",
            date(2026, 3, 16),
            "paid in full to us",
        )
        assert levels()["C-1000"] == "collector"
        assert not PlacedItem.objects.filter(is_placed=True).exists()
        event = AuditEvent.objects.get(action="collections.agency_placement.recalled")
        assert (event.changes["state"], event.reason) == (["placed", "recalled"], "paid in full to us")

    def test_a_recall_without_a_reason_changes_nothing(self, martin, book, inkasso):
        placement = _placed(book["C-1000"], inkasso, martin)
        prefix = f"recall-{placement.pk}"

        response = login(martin).post(
            reverse("collections_placement_recall", args=[placement.pk]),
            {f"{prefix}-reason_code": "other", f"{prefix}-reason_text": ""},
        )

        assert response.status_code == 422
        assert response.context["recall_forms"][placement.pk].errors["reason_text"] == [
            "This field is required."
        ]
        placement.refresh_from_db()
        assert placement.state == "placed"
        assert levels()["C-1000"] == "agency"
        assert not AuditEvent.objects.filter(action="collections.agency_placement.recalled").exists()

    def test_the_export_link_downloads_the_apis_csv(self, martin, book, inkasso):
        placement = _placed(book["C-1000"], inkasso, martin)
        _, token = workspace_services.api_token_create(user=martin, name="test", now=NOW)
        api = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get(
            "/api/collections/agency-placements/export?agency=INKA"
        )
        client = login(martin)

        page = text(client.get(AGENCIES))
        response = client.get(reverse("collections_agency_export", args=[inkasso.pk]))

        assert f'href="/collections/agencies/{inkasso.pk}/export/"' in page
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"] == 'attachment; filename="agency-INKA.csv"'
        assert response.content == api.content
        lines = response.content.decode("utf-8").splitlines()
        assert len(lines) == 3
        assert lines[1].startswith(
            f"{placement.pk},2026-03-16,INKA,C-1000,Müller Maschinenbau GmbH,"
            "Industriestraße 12,70565 Stuttgart,"
        )
        assert (
            f",{book['A'].number},2026-01-02,2026-02-01,EUR,1190.00,1190.00,43,3,2026-03-03,no," in lines[1]
        )

    def test_a_collector_reads_but_may_not_add_place_recall_or_export(self, anna, martin, book, inkasso):
        placement = _placed(book["C-1000"], inkasso, martin)
        client = login(anna)
        prefix = f"recall-{placement.pk}"

        assert client.get(AGENCIES).status_code == 200
        assert (
            client.post(
                reverse("collections_agency_create"), {"agency-code": "KOLL", "agency-name": "Kollekt AG"}
            ).status_code
            == 403
        )
        assert (
            client.post(
                reverse("collections_placement_create"), _place_post(**{"place-customer": "C-2000"})
            ).status_code
            == 403
        )
        assert (
            client.post(
                reverse("collections_placement_recall", args=[placement.pk]),
                {f"{prefix}-reason_code": "other", f"{prefix}-reason_text": "x"},
            ).status_code
            == 403
        )
        assert client.get(reverse("collections_agency_export", args=[inkasso.pk])).status_code == 403
        assert CollectionAgency.objects.count() == 1
        assert list(AgencyPlacement.objects.values_list("state", flat=True)) == ["placed"]

    def test_another_entitys_agency_and_placement_are_not_found(self, martin, other_entity):
        foreign = agency.agency_create(
            entity=other_entity, code="FRA", name="Recouvrement SA", actor=None, now=NOW
        )
        customer = customer_services.customer_create(
            entity=other_entity, data=customer_in("C-9000"), actor=None, now=NOW
        )
        issued_invoice(customer, issue_date=date(2026, 1, 2))
        placement = agency.placement_create(
            customer=customer, agency=foreign, reason_code="other", reason_text="x", actor=None, now=NOW
        )
        client = login(martin)
        prefix = f"recall-{placement.pk}"

        recall = client.post(
            reverse("collections_placement_recall", args=[placement.pk]),
            {f"{prefix}-reason_code": "other", f"{prefix}-reason_text": "x"},
        )
        export = client.get(reverse("collections_agency_export", args=[foreign.pk]))
        page = text(client.get(AGENCIES))

        assert recall.status_code == export.status_code == 404
        assert "FRA" not in page and "C-9000" not in page
        placement.refresh_from_db()
        assert placement.state == "placed"

    def test_the_page_reads_the_same_number_of_queries_whatever_the_number_of_placements(
        self, martin, book, inkasso
    ):
        _placed(book["C-1000"], inkasso, martin)
        client = login(martin)
        client.get(AGENCIES)
        with CaptureQueriesContext(connection) as one:
            client.get(AGENCIES)
        _placed(book["C-2000"], inkasso, martin)
        _placed(book["C-3000"], inkasso, martin)

        with CaptureQueriesContext(connection) as three:
            html = text(client.get(AGENCIES))

        assert len(rows(html, "data-placement")) == 3
        assert len(three) == len(one)

    def test_a_german_reader_sees_german_amounts_and_dates(self, anna, martin, book, inkasso):
        placement = _placed(book["C-1000"], inkasso, martin)
        german(anna)

        html = text(login(anna).get(AGENCIES))

        cells = row_cells(html, "data-placement", str(placement.pk))
        assert (cells[4], cells[6:]) == ("16.03.2026 martin", ["1.440,50\xa0€", "1.440,50\xa0€", "0,00\xa0€"])
