"""The collector's pages: the worklist by priority with its parts and the day's tasks, and a customer's
collections page where a call is logged, a promise recorded and a payment plan proposed and decided by
a second person; with roles, legal-entity scope and the reader's language.

Anna collects C-1000 and C-2000, Ben C-3000 (as in tests/integration/collections/test_worklist.py), on
16 March 2026:
- C-1000: 1,190.00 due 1 February (43 days overdue), 595.00 due 9 April (not yet due)
- C-2000: 11,900.00 due 3 March (13 days), 2,380.00 due 9 February but disputed; a promise of 500.00
  for 1 March broken (judged 5 March)
- C-3000: 1,190.00 due 1 February
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
from o2c.collections import activities, plans, services
from o2c.collections.models import Activity, PaymentPlan, PromiseToPay
from o2c.core.money import Money
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.workspace import collection_views
from o2c.workspace.models import UserPreference
from tests.conftest import NOW, customer_in, issued_invoice, make_user

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 16)


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)  # 16 March 2026, 09:30 UTC: the 16th in Berlin


def _lines(quantity: int) -> list[LineIn]:
    return [LineIn("Consulting", Decimal(quantity), Decimal("100.00"), Decimal("19"))]


@pytest.fixture
def anna(entity: LegalEntity) -> User:
    return make_user("anna", "collector", entities=[entity])


@pytest.fixture
def manager_user(entity: LegalEntity) -> User:
    return make_user("martin", "ar_manager", entities=[entity])


@pytest.fixture
def portfolio(entity: LegalEntity, customer: Customer, anna: User) -> dict[str, Any]:
    ben = make_user("ben", "collector", entities=[entity])
    second = customer_services.customer_create(
        entity=entity, data=customer_in("C-2000", name="Schmidt Logistik AG"), actor=None, now=NOW
    )
    third = customer_services.customer_create(
        entity=entity, data=customer_in("C-3000", name="Weber GmbH"), actor=None, now=NOW
    )
    Customer.objects.filter(pk__in=[customer.pk, second.pk]).update(collector=anna)
    Customer.objects.filter(pk=third.pk).update(collector=ben)
    overdue = issued_invoice(customer, issue_date=date(2026, 1, 2))
    later = issued_invoice(customer, lines=_lines(5), issue_date=date(2026, 3, 10))
    large = issued_invoice(second, lines=_lines(100), issue_date=date(2026, 2, 1))
    disputed = issued_invoice(second, lines=_lines(20), issue_date=date(2026, 1, 10))
    receivable_services.disputed_flag_set(
        document_id=disputed.pk, is_disputed=True, reason="pricing", actor=None, now=NOW
    )
    services.promise_record(
        customer=second,
        documents=[large],
        amount=Money(Decimal("500.00"), "EUR"),
        promised_date=date(2026, 3, 1),
        contact="Herr Schmidt",
        actor=None,
        now=NOW,
        made_on=date(2026, 2, 20),
    )
    services.promises_review(entity=entity, as_of=date(2026, 3, 10), actor=None, now=NOW)
    issued_invoice(third, issue_date=date(2026, 1, 2))
    return {
        "ben": ben,
        "second": second,
        "overdue": overdue,
        "later": later,
        "large": large,
        "disputed": disputed,
    }


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return response.content.decode()


def clean(html: str) -> str:
    """The text (tags removed, entities read, spaces collapsed; no-break spaces kept)."""
    return unescape(re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html)).strip())


def by_id(html: str, element_id: str) -> str:
    """The text of the element with this id (tags removed, spaces collapsed)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match is not None, element_id
    return clean(match[2])


def row_cells(html: str, attribute: str, value: str) -> list[str]:
    row = re.search(rf'<tr {attribute}="{re.escape(value)}">(.*?)</tr>', html, re.S)
    assert row is not None, value
    return [clean(cell) for cell in row[1].split("</td>")[:-1]]


def worklist_rows(html: str) -> list[str]:
    return re.findall(r'<tr data-customer="([^"]+)">', html)


def customer_url(number: str) -> str:
    return reverse("collections_customer", args=[number])


class TestWorklist:
    def test_the_portfolio_is_listed_by_priority_with_the_parts_of_its_score(self, anna, portfolio):
        Customer.objects.filter(number="C-1000").update(risk_class="B")  # scored by credit: 5 points
        response = login(anna).get(reverse("collections_worklist"))

        assert response.status_code == 200
        html = text(response)
        assert worklist_rows(html) == ["C-2000", "C-1000"]  # Ben's C-3000 is not Anna's
        # rank, customer, overdue, items, oldest due, days, broken promises, promised, score = parts
        assert row_cells(html, "data-customer", "C-2000") == [
            "1",
            "C-2000 Schmidt Logistik AG",
            "€11,900.00",  # the disputed 2,380.00 left out
            "1",
            "Mar 3, 2026",
            "13",
            "1",
            "",
            "25",
            "11",
            "4",
            "10",
            "–",  # not scored by credit: no risk points
        ]
        assert row_cells(html, "data-customer", "C-1000") == [
            "2",
            "C-1000 Müller Maschinenbau GmbH",
            "€1,190.00",
            "1",
            "Feb 1, 2026",
            "43",
            "0",
            "",
            "20",
            "1",
            "14",
            "0",
            "5 (B)",
        ]
        assert 'href="/collections/customers/C-2000/"' in html

    def test_amounts_and_dates_follow_the_readers_language(self, anna, portfolio):
        UserPreference.objects.update_or_create(user=anna, defaults={"language": "de"})

        html = text(login(anna).get(reverse("collections_worklist")))

        assert row_cells(html, "data-customer", "C-2000")[2:5] == ["11.900,00\xa0€", "1", "03.03.2026"]
        assert by_id(html, "worklist-who") == "anna · MAIN · 16.03.2026"

    def test_an_open_promise_marks_its_line(self, anna, portfolio, customer):
        services.promise_record(
            customer=customer,
            documents=[portfolio["overdue"]],
            amount=Money(Decimal("1190.00"), "EUR"),
            promised_date=date(2026, 3, 20),
            contact="Frau Müller",
            actor=anna,
            now=NOW,
        )

        html = text(login(anna).get(reverse("collections_worklist")))

        assert row_cells(html, "data-customer", "C-1000")[7] == "promised"
        assert row_cells(html, "data-customer", "C-2000")[7] == ""

    def test_the_page_reads_the_same_number_of_queries_whatever_the_portfolio_size(
        self, anna, entity, portfolio, customer
    ):
        client = login(anna)
        activities.activity_log(
            customer=customer,
            kind="call",
            outcome="no_answer",
            text="",
            next_action_date=TODAY,
            actor=anna,
            now=NOW,
            documents=[portfolio["overdue"]],
        )
        with CaptureQueriesContext(connection) as small:
            assert client.get(reverse("collections_worklist")).status_code == 200
        with CaptureQueriesContext(connection) as small_tasks:
            assert client.get(reverse("collections_tasks")).status_code == 200
        for number in range(4000, 4010):
            more = customer_services.customer_create(
                entity=entity, data=customer_in(f"C-{number}"), actor=None, now=NOW
            )
            Customer.objects.filter(pk=more.pk).update(collector=anna)
            activities.activity_log(
                customer=more,
                kind="call",
                outcome="no_answer",
                text="",
                next_action_date=TODAY,
                actor=anna,
                now=NOW,
                documents=[issued_invoice(more, issue_date=date(2026, 1, 20))],
            )
        with CaptureQueriesContext(connection) as large:
            response = client.get(reverse("collections_worklist"))
        with CaptureQueriesContext(connection) as large_tasks:
            tasks = client.get(reverse("collections_tasks"))

        assert len(worklist_rows(text(response))) == 12
        assert len(re.findall(r"<tr data-follow-up=", text(tasks))) == 11
        assert len(large.captured_queries) == len(small.captured_queries)
        assert len(large_tasks.captured_queries) == len(small_tasks.captured_queries)

    def test_the_tasks_show_the_oldest_and_count_the_rest(self, anna, customer, portfolio, monkeypatch):
        for number in range(4000, 4003):
            more = customer_services.customer_create(
                entity=customer.entity, data=customer_in(f"C-{number}"), actor=None, now=NOW
            )
            Customer.objects.filter(pk=more.pk).update(collector=anna)
            activities.activity_log(
                customer=more,
                kind="note",
                outcome="other",
                text="check",
                next_action_date=date(2026, 3, number - 3990),  # the 10th, 11th and 12th
                actor=anna,
                now=NOW,
            )
        monkeypatch.setattr(collection_views, "TASKS_SHOWN", 2)

        html = text(login(anna).get(reverse("collections_tasks")))

        assert re.findall(r'<tr data-follow-up="([^"]+)">', html) == ["C-4000", "C-4001"]
        assert by_id(html, "more-follow-ups") == "And 1 more, after these."

    def test_todays_tasks_list_the_follow_ups_due_and_the_promises_falling_due(
        self, anna, portfolio, customer, time_machine
    ):
        activities.activity_log(
            customer=customer,
            kind="call",
            outcome="left_message",
            text="Call back about the February invoice",
            next_action_date=date(2026, 3, 18),
            actor=anna,
            now=NOW,
        )
        services.promise_record(
            customer=portfolio["second"],
            documents=[portfolio["large"]],
            amount=Money(Decimal("11900.00"), "EUR"),
            promised_date=date(2026, 3, 18),
            contact="Herr Schmidt",
            actor=anna,
            now=NOW,
        )
        client = login(anna)
        page = text(client.get(reverse("collections_worklist")))
        assert (
            'hx-get="/collections/tasks/?entity=MAIN" hx-trigger="load"' in page
        )  # the tasks come in by htmx
        html = text(client.get(reverse("collections_tasks")))
        assert by_id(html, "follow-ups") == "Follow-ups due No follow-ups due."
        assert by_id(html, "promises-due") == "Promises falling due No promises falling due."

        time_machine.move_to(NOW.replace(day=18), tick=False)
        client.force_login(anna)
        html = text(client.get(reverse("collections_tasks")))

        assert row_cells(html, "data-follow-up", "C-1000") == [
            "Mar 18, 2026",
            "C-1000 Müller Maschinenbau GmbH",
            "Call · Left a message Call back about the February invoice",
        ]
        promise = PromiseToPay.objects.get(promised_date=date(2026, 3, 18))
        assert row_cells(html, "data-promise", str(promise.pk)) == [
            "Mar 18, 2026",
            "C-2000 Schmidt Logistik AG",
            "€11,900.00",
        ]

    def test_a_manager_reads_another_collectors_worklist(self, manager_user, portfolio):
        html = text(login(manager_user).get(reverse("collections_worklist"), {"collector": "ben"}))

        assert worklist_rows(html) == ["C-3000"]
        assert by_id(html, "worklist-who") == "ben · MAIN · Mar 16, 2026"
        assert re.search(r'<option value="anna">anna</option>\s*<option value="ben" selected>', html)

    def test_an_auditor_reads_another_collectors_worklist(self, auditor_user, portfolio):
        response = login(auditor_user).get(reverse("collections_worklist"), {"collector": "anna"})

        assert worklist_rows(text(response)) == ["C-2000", "C-1000"]

    def test_a_collector_may_not_read_another_collectors_worklist(self, anna, portfolio):
        response = login(anna).get(reverse("collections_worklist"), {"collector": "ben"})
        tasks = login(anna).get(reverse("collections_tasks"), {"collector": "ben"})

        assert response.status_code == tasks.status_code == 403

    @pytest.mark.parametrize("role", ["billing", "disputes", "cash_application", "credit"])
    def test_roles_outside_collections_are_refused(self, entity, role):
        user = make_user("someone", role, entities=[entity])

        assert login(user).get(reverse("collections_worklist")).status_code == 403

    def test_the_navigation_shows_collections_to_collectors_only(self, anna, billing_user):
        assert '<a href="/collections/"' in text(login(anna).get(reverse("home")))
        assert '<a href="/collections/"' not in text(login(billing_user).get(reverse("home")))


def htmx_post(client: Client, url: str, data: dict[str, Any]) -> Any:
    return client.post(url, data, HTTP_HX_REQUEST="true")


class TestCustomerPage:
    def test_open_items_show_days_overdue_and_their_disputed_promised_and_plan_marks(
        self, anna, portfolio, manager_user
    ):
        second = portfolio["second"]
        extra = issued_invoice(second, lines=_lines(1), issue_date=date(2026, 1, 20))
        services.promise_record(
            customer=second,
            documents=[portfolio["large"]],
            amount=Money(Decimal("11900.00"), "EUR"),
            promised_date=date(2026, 3, 25),
            contact="Herr Schmidt",
            actor=anna,
            now=NOW,
        )
        plans.payment_plan_propose(
            customer=second,
            documents=[extra],
            instalments=[plans.InstalmentIn(date(2026, 4, 1), Money(Decimal("119.00"), "EUR"))],
            actor=anna,
            now=NOW,
        )

        html = text(login(anna).get(customer_url("C-2000")))

        assert row_cells(html, "data-item", portfolio["disputed"].number) == [
            f"{portfolio['disputed'].number} Invoice",
            "Feb 9, 2026",
            "35",
            "€2,380.00",
            "disputed",
        ]
        assert row_cells(html, "data-item", extra.number) == [
            f"{extra.number} Invoice",
            "Feb 19, 2026",
            "25",
            "€119.00",
            "in a payment plan",
        ]
        assert row_cells(html, "data-item", portfolio["large"].number) == [
            f"{portfolio['large'].number} Invoice",
            "Mar 3, 2026",
            "13",
            "€11,900.00",
            "promised",
        ]
        # the promises: the open one and the broken one, newest first
        assert [clean(row) for row in re.findall(r'<tr data-promise="\d+">(.*?)</tr>', html, re.S)] == [
            f"Mar 16, 2026 Mar 25, 2026 €11,900.00 {portfolio['large'].number} Herr Schmidt Open",
            f"Feb 20, 2026 Mar 1, 2026 €500.00 {portfolio['large'].number} Herr Schmidt Broken "
            "Mar 5, 2026 · paid €0.00",
        ]

    def test_a_call_is_logged_with_its_outcome_note_documents_and_next_action_date(
        self, anna, portfolio, customer
    ):
        invoice = portfolio["overdue"]

        response = htmx_post(
            login(anna),
            reverse("collections_activity_log", args=["C-1000"]),
            {
                "activity-kind": "call",
                "activity-outcome": "reached",
                "activity-text": "Spoke to Frau Müller: pays after the audit",
                "activity-next_action_date": "2026-03-23",
                "activity-documents": [str(invoice.pk)],
            },
        )

        assert response.status_code == 200
        html = text(response)
        assert html.lstrip().startswith('<div id="collections-work">')  # the part htmx swaps in
        assert by_id(html, "work-done") == "Activity logged."
        activity = Activity.objects.get()
        assert (
            activity.customer_id,
            activity.kind,
            activity.outcome,
            activity.text,
            activity.next_action_date,
            activity.created_by,
            [link.document_id for link in activity.documents.all()],
        ) == (
            customer.pk,
            "call",
            "reached",
            "Spoke to Frau Müller: pays after the audit",
            date(2026, 3, 23),
            anna,
            [invoice.pk],
        )
        entry = re.search(
            rf'<article class="o2c-note" data-activity="{activity.pk}">(.*?)</article>', html, re.S
        )
        assert entry is not None
        assert clean(entry[1]) == (
            "Call · Reached · anna · 3/16/26, 9:30\u202fAM Spoke to Frau Müller: pays after the audit "
            f"Next action on Mar 23, 2026 · {invoice.number}"
        )
        assert (
            AuditEvent.objects.filter(action="collections.activity.logged", object_id=customer.pk).count()
            == 1
        )

    def test_a_note_without_text_is_refused_with_the_services_sentence(self, anna, portfolio):
        response = login(anna).post(
            reverse("collections_activity_log", args=["C-1000"]),
            {"activity-kind": "note", "activity-outcome": "other", "activity-text": ""},
        )

        assert response.status_code == 422
        assert "a note has a text" in text(response)
        assert Activity.objects.count() == 0

    def test_a_promise_to_pay_is_recorded_for_the_chosen_items(self, anna, portfolio, customer):
        invoice = portfolio["overdue"]
        client = login(anna)

        response = client.post(
            reverse("collections_promise_record", args=["C-1000"]),
            {
                "promise-documents": [str(invoice.pk)],
                "promise-amount": "1,190.00",
                "promise-promised_date": "2026-03-27",
                "promise-contact": "Frau Müller",
            },
        )

        assert response.status_code == 302
        assert response["Location"] == "/collections/customers/C-1000/"
        promise = PromiseToPay.objects.get(customer=customer)
        assert (
            promise.amount_minor,
            promise.currency,
            promise.promised_date,
            promise.made_on,
            promise.grace_until,
            promise.state,
            promise.contact,
            promise.created_by,
        ) == (119000, "EUR", date(2026, 3, 27), TODAY, date(2026, 3, 30), "open", "Frau Müller", anna)
        html = text(client.get(customer_url("C-1000")))
        assert row_cells(html, "data-item", invoice.number)[-1] == "promised"
        assert "Promise to pay recorded." in html

    def test_a_promise_for_a_date_already_past_is_refused_and_nothing_is_recorded(self, anna, portfolio):
        response = htmx_post(
            login(anna),
            reverse("collections_promise_record", args=["C-1000"]),
            {
                "promise-documents": [str(portfolio["overdue"].pk)],
                "promise-amount": "100.00",
                "promise-promised_date": "2026-03-10",
            },
        )

        assert response.status_code == 200  # htmx swaps the part with the refusal in it
        assert "a promise to pay is for a date on or after the day it is made" in text(response)
        assert PromiseToPay.objects.filter(customer__number="C-1000").count() == 0

    def test_a_payment_plan_proposed_by_the_collector_is_approved_by_a_second_person(
        self, anna, manager_user, portfolio, customer
    ):
        invoice = portfolio["overdue"]
        proposed = htmx_post(
            login(anna),
            reverse("collections_plan_propose", args=["C-1000"]),
            {
                "plan-documents": [str(invoice.pk)],
                "plan-due_1": "2026-04-01",
                "plan-amount_1": "595.00",
                "plan-due_2": "2026-05-01",
                "plan-amount_2": "595.00",
                "plan-note": "Two halves",
            },
        )
        assert by_id(text(proposed), "work-done") == (
            "Payment plan proposed: it waits for a second person's approval."
        )
        plan = PaymentPlan.objects.get(customer=customer)
        assert (plan.state, plan.total_minor, plan.proposed_by) == ("proposed", 119000, anna)
        assert [(i.due_date, i.amount_minor) for i in plan.instalments.order_by("due_date")] == [
            (date(2026, 4, 1), 59500),
            (date(2026, 5, 1), 59500),
        ]
        assert f'id="approve-plan-{plan.pk}"' not in text(proposed)  # a collector does not decide

        manager = login(manager_user)
        page = text(manager.get(customer_url("C-1000")))
        assert f'id="approve-plan-{plan.pk}"' in page
        response = htmx_post(
            manager, reverse("collections_plan_approve", args=[plan.pk]), {"decision-reason": "fine"}
        )

        assert by_id(text(response), "work-done") == f"Payment plan {plan.pk} approved."
        plan.refresh_from_db()
        assert (plan.state, plan.decided_by, plan.approved_on, plan.decision_reason) == (
            "approved",
            manager_user,
            TODAY,
            "fine",
        )
        assert row_cells(text(response), "data-item", invoice.number)[-1] == "in a payment plan"

    def test_the_person_who_proposed_a_plan_cannot_approve_it(self, manager_user, portfolio, customer):
        plan = plans.payment_plan_propose(
            customer=customer,
            documents=[portfolio["overdue"]],
            instalments=[plans.InstalmentIn(date(2026, 4, 1), Money(Decimal("1190.00"), "EUR"))],
            actor=manager_user,
            now=NOW,
        )

        response = login(manager_user).post(reverse("collections_plan_approve", args=[plan.pk]), {})

        assert response.status_code == 422
        assert by_id(text(response), "work-error") == (
            "the person who proposed a payment plan cannot decide it: a second person must"
        )
        plan.refresh_from_db()
        assert (plan.state, plan.decided_by) == ("proposed", None)
        assert not AuditEvent.objects.filter(action="collections.payment_plan.approved").exists()

    def test_a_plan_is_rejected_with_a_reason_only(self, anna, manager_user, portfolio, customer):
        plan = plans.payment_plan_propose(
            customer=customer,
            documents=[portfolio["overdue"]],
            instalments=[plans.InstalmentIn(date(2026, 4, 1), Money(Decimal("1190.00"), "EUR"))],
            actor=anna,
            now=NOW,
        )
        manager = login(manager_user)

        refused = manager.post(reverse("collections_plan_reject", args=[plan.pk]), {"decision-reason": ""})
        assert refused.status_code == 422
        assert by_id(text(refused), "work-error") == "say why the payment plan is rejected"

        manager.post(reverse("collections_plan_reject", args=[plan.pk]), {"decision-reason": "too long"})
        plan.refresh_from_db()
        assert (plan.state, plan.decision_reason) == ("rejected", "too long")

    def test_a_collector_cannot_decide_a_plan_and_an_auditor_cannot_log(
        self, anna, auditor_user, portfolio, customer
    ):
        plan = plans.payment_plan_propose(
            customer=customer,
            documents=[portfolio["overdue"]],
            instalments=[plans.InstalmentIn(date(2026, 4, 1), Money(Decimal("1190.00"), "EUR"))],
            actor=None,
            now=NOW,
        )
        assert login(anna).post(reverse("collections_plan_approve", args=[plan.pk])).status_code == 403
        auditor = login(auditor_user)
        page = auditor.get(customer_url("C-1000"))
        assert page.status_code == 200
        assert 'id="activity-form"' not in text(page)
        response = auditor.post(
            reverse("collections_activity_log", args=["C-1000"]),
            {"activity-kind": "call", "activity-outcome": "reached"},
        )
        assert response.status_code == 403
        assert Activity.objects.count() == 0

    def test_a_customer_of_another_entity_is_not_found(self, anna, other_entity, portfolio):
        customer_services.customer_create(
            entity=other_entity, data=customer_in("C-9000"), actor=None, now=NOW
        )

        client = login(anna)
        assert client.get(customer_url("C-9000")).status_code == 404
        response = client.post(
            reverse("collections_activity_log", args=["C-9000"]),
            {"activity-kind": "call", "activity-outcome": "reached"},
        )
        assert response.status_code == 404
        assert Activity.objects.count() == 0
