"""The credit analyst's order pages: the hold queue (the held orders, the oldest first, with their age and
reasons, filtered by reason and customer; release and reject with a reason, recheck one or every order
shown), the orders (filtered, paged) with an order's facts, its check as of today, its history and the
moves its state allows, and the credit reports; auditors read, others are refused, another entity's
order is not found (docs/credit.md, "Back-office pages: orders, holds and reports")."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from o2c.audit.models import AuditEvent
from o2c.config.api import CAPABILITY_ROLES
from o2c.credit import api as credit_api
from o2c.credit import limits, orders
from o2c.credit import scoring_api as credit_scoring_api
from o2c.credit.models import CreditLimit, CustomerExposure, SalesOrder
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger import services as ledger_services
from o2c.ledger.models import LegalEntity
from o2c.receivables.calculations import LineIn
from o2c.workspace import credit_order_views
from o2c.workspace.models import UserPreference
from tests.conftest import NOW, customer_in, issued_invoice, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)  # Monday 16 March 2026, 10:30 in Berlin


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _customer(entity: LegalEntity, number: str, **overrides: Any) -> Customer:
    return customer_services.customer_create(
        entity=entity, data=customer_in(number, **overrides), actor=None, now=NOW
    )


def _invoice(customer: Customer, amount: str) -> None:
    issued_invoice(
        customer,
        issue_date=date(2026, 3, 2),
        lines=[LineIn("Goods", Decimal(1), Decimal(amount), Decimal(0))],
    )


def _limit(customer: Customer, amount: str, **kw: Any) -> None:
    limit = limits.limit_request(
        customer_id=customer.pk,
        amount=Decimal(amount),
        currency="EUR",
        valid_until=kw.get("valid_until"),
        next_review_date=kw.get("next_review_date"),
        reason="set up",
        actor=None,
        now=NOW,
    )
    if limit.status == CreditLimit.Status.PENDING:  # above the approval threshold: a second person
        limits.limit_approve(limit_id=limit.pk, actor=make_user(f"checker-{limit.pk}"), reason="ok", now=NOW)


def _order(
    entity: LegalEntity, number: str, customer: Customer, amount: str, *, at: datetime = NOW
) -> SalesOrder:
    return orders.order_receive(
        entity=entity,
        data=orders.OrderIn(number, customer.number, Decimal(amount), "EUR", date(2026, 3, 20)),
        source="api",
        actor=None,
        now=at,
    )


@pytest.fixture
def book(entity: LegalEntity) -> dict[str, Any]:
    """docs/credit.md's worked example: Holding AG (C-100, a group limit of 100,000.00 EUR) with Werk Nord
    (C-101, 30,000.00 of its own: SO-1 of 5,000.00 released, SO-2 of 16,000.00 held three days ago) and
    Works Inc. (C-102, USD at 0.90); Spät GmbH (C-300, 5,000.00, its review due on 10 March, owing
    6,000.00: SO-4 of 1,000.00 held an hour ago for two reasons); Ohne Limit AG (C-400, no limit: SO-3 of
    800.00 held ten days ago)."""
    ledger_services.fx_rates_import(
        rates=[ledger_services.FxRateIn(date(2026, 2, 1), "USD", "EUR", Decimal("0.9"))],
        source="test",
        now=NOW,
    )
    parent = _customer(entity, "C-100", name="Holding AG")
    s1 = _customer(entity, "C-101", name="Werk Nord GmbH", parent_number="C-100")
    s2 = _customer(entity, "C-102", name="Works Inc.", parent_number="C-100", currency="USD", country="US")
    late = _customer(entity, "C-300", name="Spät GmbH")
    none = _customer(entity, "C-400", name="Ohne Limit AG")
    _limit(parent, "100000.00")
    _limit(s1, "30000.00", valid_until=date(2026, 12, 31), next_review_date=date(2026, 9, 30))
    _limit(late, "5000.00", next_review_date=date(2026, 3, 10))
    _invoice(parent, "20000.00")
    _invoice(s1, "10000.00")
    _invoice(s2, "11000.00")
    _invoice(late, "6000.00")
    so1 = _order(entity, "SO-1", s1, "5000.00", at=NOW - timedelta(days=20))
    so3 = _order(entity, "SO-3", none, "800.00", at=NOW - timedelta(days=10))
    so2 = _order(entity, "SO-2", s1, "16000.00", at=NOW - timedelta(days=3))
    so4 = _order(entity, "SO-4", late, "1000.00", at=NOW - timedelta(hours=1))
    assert [o.status for o in (so1, so2, so3, so4)] == ["released", "held", "held", "held"]
    Customer.objects.filter(pk=late.pk).update(risk_class="D")
    Customer.objects.filter(pk=s1.pk).update(risk_class="B")
    return {"parent": parent, "s1": s1, "s2": s2, "late": late, "none": none}


@pytest.fixture
def analyst(entity: LegalEntity) -> User:
    return make_user("clara", "credit", entities=[entity])


def _rows(page: str, table: str) -> list[list[str]]:
    """The table's body as text cells (tags dropped, white space folded, forms left out)."""
    body = page.split(f'id="{table}"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    body = re.sub(r"<form.*?</form>", "", body, flags=re.S)
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        rows.append([_text(cell) for cell in cells])
    return rows


def _text(markup: str) -> str:
    """Text as read: lines (br, div) apart by a space, inline tags dropped, spaces but not the no-break
    ones folded."""
    spaced = re.sub(r"<(br|/div|/li|/p)[^>]*>", " ", markup)
    return html.unescape(re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", "", spaced)).strip())


def _section(page: str, section: str, end: str = "</section>") -> str:
    """The inside of the element with this id, up to `end`."""
    return page.split(f'id="{section}"', 1)[1].split(">", 1)[1].split(end, 1)[0]


def _held(number: str) -> SalesOrder:
    return SalesOrder.objects.get(number=number)


def _message(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


SO2_REASON = (
    "Over the customer's credit limit: over the customer's credit limit: exposure 15000.00 plus the order"
    " 16000.00 is more than the limit 30000.00 by 1000.00 EUR"
)
SO3_REASON = "No credit limit: no credit limit is set for the customer or its group"
SO4_REASONS = (
    "Over the customer's credit limit: over the customer's credit limit: exposure 6000.00 plus the order"
    " 1000.00 is more than the limit 5000.00 by 2000.00 EUR"
    " Credit review overdue: the credit review of C-300 was due on 2026-03-10"
)


class TestRoles:
    def test_the_pages_use_the_apis_role_sets(self) -> None:
        assert CAPABILITY_ROLES[credit_api.VIEW_CREDIT] == credit_order_views.VIEW_CREDIT
        assert CAPABILITY_ROLES[credit_api.MANAGE_CREDIT] == credit_order_views.MANAGE_CREDIT
        assert CAPABILITY_ROLES[credit_api.TAKE_ORDERS] == credit_order_views.TAKE_ORDERS
        assert CAPABILITY_ROLES[credit_scoring_api.VIEW_SCORING] == credit_order_views.VIEW_SCORING

    @pytest.mark.parametrize(
        "path", ["/credit/holds/", "/credit/orders/", "/credit/orders/SO-2/", "/credit/reports/"]
    )
    def test_a_collector_may_not_read_the_pages(
        self, book: dict[str, Any], entity: LegalEntity, path: str
    ) -> None:
        collector = make_user("colin", "collector", entities=[entity])
        assert login(collector).get(path).status_code == 403

    @pytest.mark.parametrize(
        "path",
        [
            "/credit/orders/SO-2/release/",
            "/credit/orders/SO-2/reject/",
            "/credit/orders/SO-2/recheck/",
            "/credit/holds/recheck/",
        ],
    )
    def test_an_auditor_or_a_billing_clerk_may_not_decide_holds(
        self, book: dict[str, Any], entity: LegalEntity, auditor_user: User, billing_user: User, path: str
    ) -> None:
        for user in (auditor_user, billing_user):
            assert login(user).post(path, {"reason": "ok"}).status_code == 403
        assert _held("SO-2").status == "held"
        assert not AuditEvent.objects.filter(
            action__in=["credit.order.released", "credit.order.rejected", "credit.order.rechecked"],
            actor__isnull=False,
        )

    def test_an_auditor_may_not_move_orders(self, book: dict[str, Any], auditor_user: User) -> None:
        response = login(auditor_user).post("/credit/orders/SO-1/ship/")
        assert response.status_code == 403
        assert _held("SO-1").status == "released"

    def test_another_entitys_order_is_not_found(
        self, book: dict[str, Any], analyst: User, other_entity: LegalEntity
    ) -> None:
        french = _customer(other_entity, "F-1", name="Client SARL")
        _order(other_entity, "SO-FR", french, "100.00")
        client = login(analyst)
        assert client.get("/credit/orders/SO-FR/").status_code == 404
        assert client.post("/credit/orders/SO-FR/release/", {"reason": "ok"}).status_code == 404
        assert client.post("/credit/orders/SO-FR/recheck/").status_code == 404
        assert _held("SO-FR").status == "held"
        assert "SO-FR" not in client.get("/credit/holds/").content.decode()
        assert "SO-FR" not in client.get("/credit/orders/").content.decode()


class TestHoldQueue:
    def test_the_held_orders_are_listed_oldest_first_with_age_and_reasons(
        self, book: dict[str, Any], analyst: User
    ) -> None:
        page = login(analyst).get("/credit/holds/").content.decode()

        assert _rows(page, "holds") == [
            ["C-400 Ohne Limit AG", "SO-3", "€800.00", "Mar 20, 2026", "10", SO3_REASON, ""],
            ["C-101 Werk Nord GmbH", "SO-2", "€16,000.00", "Mar 20, 2026", "3", SO2_REASON, ""],
            ["C-300 Spät GmbH", "SO-4", "€1,000.00", "Mar 20, 2026", "0", SO4_REASONS, ""],
        ]
        assert f'href="/customers/{book["s1"].pk}/"' in page
        assert 'href="/credit/orders/SO-2/"' in page
        assert "3 orders on hold" in page
        assert 'id="recheck-all"' in page and 'data-action="release"' in page

    @pytest.mark.parametrize(
        ("query", "numbers"),
        [
            ("reason=over_customer_limit", ["SO-2", "SO-4"]),
            ("reason=review_overdue", ["SO-4"]),
            ("reason=no_limit", ["SO-3"]),
            ("reason=customer_blocked", []),
            ("customer=c-101", ["SO-2"]),
            ("customer=gmbh", ["SO-2", "SO-4"]),
            ("customer=gmbh&reason=review_overdue", ["SO-4"]),
        ],
    )
    def test_the_queue_filters_by_reason_and_customer(
        self, book: dict[str, Any], analyst: User, query: str, numbers: list[str]
    ) -> None:
        page = login(analyst).get(f"/credit/holds/?{query}").content.decode()
        assert re.findall(r'<tr data-order="([^"]+)"', page) == numbers
        if not numbers:
            assert "No held order matches these filters." in page

    def test_an_auditor_reads_the_queue_without_the_actions(
        self, book: dict[str, Any], auditor_user: User
    ) -> None:
        page = login(auditor_user).get("/credit/holds/").content.decode()
        assert re.findall(r'<tr data-order="([^"]+)"', page) == ["SO-3", "SO-2", "SO-4"]
        assert 'data-action="release"' not in page and 'id="recheck-all"' not in page

    def test_a_german_reader_sees_german_amounts_and_dates(self, book: dict[str, Any], analyst: User) -> None:
        UserPreference.objects.create(user=analyst, language="de")
        page = login(analyst).get("/credit/holds/").content.decode()
        assert _rows(page, "holds")[1][:4] == [
            "C-101 Werk Nord GmbH",
            "SO-2",
            "16.000,00\u00a0€",
            "20.03.2026",
        ]
        assert "Sperrliste" in page  # the page's title, in German

    def test_the_queue_reads_the_same_number_of_queries_for_more_orders(
        self,
        book: dict[str, Any],
        entity: LegalEntity,
        analyst: User,
        django_assert_max_num_queries: Any,
    ) -> None:
        client = login(analyst)
        client.get("/credit/holds/")
        with django_assert_max_num_queries(12) as few:
            client.get("/credit/holds/")
        for n in range(10):
            _order(entity, f"SO-X{n}", book["none"], "10.00")
        with django_assert_max_num_queries(len(few.captured_queries)):
            page = client.get("/credit/holds/").content.decode()
        assert len(re.findall(r"<tr data-order=", page)) == 13


class TestDecisions:
    def test_a_release_with_a_reason_leaves_the_queue_and_is_audited(
        self, book: dict[str, Any], analyst: User
    ) -> None:
        client = login(analyst)
        response = client.post(
            "/credit/orders/SO-2/release/?back=holds&customer=gmbh", {"reason": "paid in advance by wire"}
        )

        assert response.status_code == 302
        assert response["Location"] == "/credit/holds/?customer=gmbh"
        order = _held("SO-2")
        assert (order.status, order.decision_reason, order.decided_by, order.release_date) == (
            "released",
            "paid in advance by wire",
            analyst,
            date(2026, 3, 16),  # 10:30 in Berlin, before the 17:00 cut-off
        )
        event = AuditEvent.objects.get(action="credit.order.released", object_id=order.pk, actor=analyst)
        assert event.reason == "paid in advance by wire"
        assert event.changes["status"] == ["held", "released"]
        assert CustomerExposure.objects.get(customer=book["s1"], currency="EUR").orders_minor == 2100000
        page = client.get(response["Location"])
        assert _message(page) == ["Order SO-2 released."]
        assert re.findall(r'<tr data-order="([^"]+)"', page.content.decode()) == ["SO-4"]

    def test_a_release_without_a_reason_is_refused_and_changes_nothing(
        self, book: dict[str, Any], analyst: User
    ) -> None:
        before = AuditEvent.objects.count()
        response = login(analyst).post("/credit/orders/SO-2/release/?back=holds", {"reason": "  "})

        assert response.status_code == 422
        page = response.content.decode()
        assert "Reason: This field is required." in page
        assert re.findall(r'<tr data-order="([^"]+)"', page) == ["SO-3", "SO-2", "SO-4"]  # the queue again
        assert _held("SO-2").status == "held"
        assert AuditEvent.objects.count() == before
        assert CustomerExposure.objects.get(customer=book["s1"], currency="EUR").orders_minor == 500000

    def test_a_release_from_the_order_page_without_a_reason_shows_the_form_error(
        self, book: dict[str, Any], analyst: User
    ) -> None:
        response = login(analyst).post("/credit/orders/SO-2/release/", {"reason": ""})
        assert response.status_code == 422
        assert "This field is required." in _section(response.content.decode(), "decide")
        assert _held("SO-2").status == "held"

    def test_a_rejection_with_a_reason_is_audited(self, book: dict[str, Any], analyst: User) -> None:
        response = login(analyst).post(
            "/credit/orders/SO-3/reject/", {"reason": "unknown buyer"}, follow=True
        )

        assert _message(response) == ["Order SO-3 rejected."]
        order = _held("SO-3")
        assert (order.status, order.decision_reason) == ("rejected", "unknown buyer")
        event = AuditEvent.objects.get(action="credit.order.rejected", object_id=order.pk)
        assert (event.actor, event.reason) == (analyst, "unknown buyer")

    def test_a_rejection_without_a_reason_is_refused(self, book: dict[str, Any], analyst: User) -> None:
        before = AuditEvent.objects.count()
        response = login(analyst).post("/credit/orders/SO-3/reject/?back=holds", {})
        assert response.status_code == 422
        assert "Reason: This field is required." in response.content.decode()
        assert _held("SO-3").status == "held"
        assert AuditEvent.objects.count() == before

    def test_an_order_no_longer_held_is_refused_with_the_services_sentence(
        self, book: dict[str, Any], analyst: User
    ) -> None:
        client = login(analyst)
        response = client.post("/credit/orders/SO-1/release/", {"reason": "again"})
        assert response.status_code == 422
        assert _text(_section(response.content.decode(), "refusal", "</div>")) == (
            "order SO-1 is not on hold (it is released)"
        )
        from_queue = client.post("/credit/orders/SO-1/reject/?back=holds", {"reason": "again"})
        assert from_queue.status_code == 422
        assert "SO-1: order SO-1 is not on hold (it is released)" in _text(from_queue.content.decode())
        assert _held("SO-1").status == "released"
        assert not AuditEvent.objects.filter(object_id=_held("SO-1").pk, actor=analyst)

    def test_a_recheck_that_still_fails_says_why(self, book: dict[str, Any], analyst: User) -> None:
        response = login(analyst).post("/credit/orders/SO-2/recheck/?back=holds", follow=True)

        assert _message(response) == [
            "Order SO-2 is still held: over the customer's credit limit: exposure 15000.00 plus the order"
            " 16000.00 is more than the limit 30000.00 by 1000.00 EUR."
        ]
        assert response.redirect_chain == [("/credit/holds/", 302)]
        order = _held("SO-2")
        assert (order.status, order.checked_at) == ("held", NOW)

    def test_a_recheck_releases_the_order_once_it_passes(
        self, book: dict[str, Any], entity: LegalEntity, analyst: User
    ) -> None:
        customer_services.customer_update(  # a limit loaded by the customer import: no recheck by itself
            customer_id=book["none"].pk,
            data=customer_in("C-400", name="Ohne Limit AG", credit_limit=Decimal("10000.00")),
            actor=None,
            now=NOW,
        )
        response = login(analyst).post("/credit/orders/SO-3/recheck/", follow=True)

        assert _message(response) == ["Order SO-3 passed the check and is released."]
        assert response.redirect_chain == [("/credit/orders/SO-3/", 302)]
        order = _held("SO-3")
        assert (order.status, order.hold_reasons, order.decision_reason) == (
            "released",
            [],
            "rechecked by an analyst",
        )
        assert AuditEvent.objects.get(action="credit.order.rechecked", object_id=order.pk).actor == analyst

    def test_recheck_all_rechecks_every_order_shown_and_counts_the_releases(
        self, book: dict[str, Any], analyst: User
    ) -> None:
        customer_services.customer_update(
            customer_id=book["none"].pk,
            data=customer_in("C-400", name="Ohne Limit AG", credit_limit=Decimal("10000.00")),
            actor=None,
            now=NOW,
        )
        response = login(analyst).post("/credit/holds/recheck/", follow=True)

        assert _message(response) == ["3 held orders rechecked: 1 released."]
        assert {o.number: o.status for o in SalesOrder.objects.all()} == {
            "SO-1": "released",
            "SO-2": "held",
            "SO-3": "released",
            "SO-4": "held",
        }
        assert SalesOrder.objects.filter(status="held", checked_at=NOW).count() == 2

    def test_recheck_all_keeps_to_the_filtered_orders(self, book: dict[str, Any], analyst: User) -> None:
        response = login(analyst).post("/credit/holds/recheck/?reason=review_overdue", follow=True)
        assert _message(response) == ["1 held order rechecked: 0 released."]
        assert response.redirect_chain == [("/credit/holds/?reason=review_overdue", 302)]
        assert list(SalesOrder.objects.filter(checked_at=NOW).values_list("number", flat=True)) == ["SO-4"]


class TestOrders:
    def test_the_orders_are_listed_newest_first_and_filtered(
        self, book: dict[str, Any], analyst: User
    ) -> None:
        client = login(analyst)
        page = client.get("/credit/orders/").content.decode()
        assert _rows(page, "orders") == [
            ["SO-4", "C-300 Spät GmbH", "€1,000.00", "Mar 20, 2026", "Held", "3/16/26, 8:30\u202fAM", ""],
            [
                "SO-2",
                "C-101 Werk Nord GmbH",
                "€16,000.00",
                "Mar 20, 2026",
                "Held",
                "3/13/26, 9:30\u202fAM",
                "",
            ],
            ["SO-3", "C-400 Ohne Limit AG", "€800.00", "Mar 20, 2026", "Held", "3/6/26, 9:30\u202fAM", ""],
            [
                "SO-1",
                "C-101 Werk Nord GmbH",
                "€5,000.00",
                "Mar 20, 2026",
                "Released",
                "2/24/26, 9:30\u202fAM",
                "Feb 24, 2026",
            ],
        ]
        released = client.get("/credit/orders/?status=released").content.decode()
        assert re.findall(r'<tr data-order="([^"]+)"', released) == ["SO-1"]
        werk = client.get("/credit/orders/?customer=werk").content.decode()
        assert re.findall(r'<tr data-order="([^"]+)"', werk) == ["SO-2", "SO-1"]
        assert (
            "No order matches these filters." in client.get("/credit/orders/?status=shipped").content.decode()
        )

    def test_the_orders_come_fifty_a_page(
        self, book: dict[str, Any], entity: LegalEntity, analyst: User
    ) -> None:
        orders.orders_receive(
            entity=entity,
            rows=[
                orders.OrderIn(f"SO-B{n:02}", "C-400", Decimal("10.00"), "EUR", date(2026, 3, 20))
                for n in range(48)
            ],
            source="csv",
            actor=None,
            now=NOW + timedelta(minutes=1),
        )
        client = login(analyst)
        first = client.get("/credit/orders/?customer=&status=").content.decode()
        assert len(re.findall(r"<tr data-order=", first)) == 50
        assert 'href="?customer=&amp;status=&amp;page=2"' in first
        second = client.get("/credit/orders/?page=2").content.decode()
        assert re.findall(r'<tr data-order="([^"]+)"', second) == ["SO-3", "SO-1"]

    def test_the_list_reads_the_same_number_of_queries_for_more_orders(
        self,
        book: dict[str, Any],
        entity: LegalEntity,
        analyst: User,
        django_assert_max_num_queries: Any,
    ) -> None:
        client = login(analyst)
        client.get("/credit/orders/")
        with django_assert_max_num_queries(12) as few:
            client.get("/credit/orders/")
        for n in range(10):
            _order(entity, f"SO-X{n}", book["none"], "10.00")
        with django_assert_max_num_queries(len(few.captured_queries)):
            page = client.get("/credit/orders/").content.decode()
        assert len(re.findall(r"<tr data-order=", page)) == 14

    def test_a_held_order_shows_its_facts_reasons_check_and_history(
        self, book: dict[str, Any], analyst: User
    ) -> None:
        page = login(analyst).get("/credit/orders/SO-2/").content.decode()

        assert 'data-status="held">Held<' in page
        facts = _section(page, "order-facts").split("</dl>")[0]
        assert "€16,000.00" in facts and "Mar 20, 2026" in facts and "3 days on hold" in facts
        assert _text(_section(page, "hold-reasons")) == f"Hold reasons {SO2_REASON}"
        check = _section(page, "current-check")
        assert "It is still held now." in check
        assert re.search(r'id="check-exposure">€15,000.00<', check)
        assert re.search(r'id="check-limit">€30,000.00<', check)
        assert re.search(r'id="check-available">€15,000.00<', check)
        assert "Order held for credit" in _section(page, "order-history")
        assert 'id="release-button"' in page and 'id="recheck-button"' in page
        assert 'id="cancel-button"' in page and 'id="ship-button"' not in page

    def test_the_history_is_the_newest_first(self, book: dict[str, Any], analyst: User) -> None:
        client = login(analyst)
        client.post("/credit/orders/SO-2/release/", {"reason": "paid in advance"})
        page = client.get("/credit/orders/SO-2/").content.decode()
        history = _section(page, "order-history")
        assert history.index("Order released") < history.index("Order held for credit")
        assert "paid in advance" in history and "clara" in history
        assert 'data-status="released">Released<' in page
        assert 'id="release-date">Mar 16, 2026<' in page
        assert "current-check" not in page and 'id="release-button"' not in page
        assert 'id="ship-button"' in page

    def test_a_billing_clerk_ships_invoices_and_a_cancel_needs_a_reason(
        self, book: dict[str, Any], billing_user: User
    ) -> None:
        client = login(billing_user)
        assert _message(client.post("/credit/orders/SO-1/ship/", follow=True)) == [
            "Order SO-1 marked shipped."
        ]
        exposure = CustomerExposure.objects.get(customer=book["s1"], currency="EUR")
        assert (exposure.orders_minor, exposure.shipped_minor) == (0, 500000)

        refused = client.post("/credit/orders/SO-1/cancel/", {"cancel-reason": ""})
        assert refused.status_code == 422
        assert "This field is required." in _section(refused.content.decode(), "moves")
        assert _held("SO-1").status == "shipped"
        assert not AuditEvent.objects.filter(action="credit.order.cancelled")

        done = client.post("/credit/orders/SO-1/cancel/", {"cancel-reason": "customer withdrew"}, follow=True)
        assert _message(done) == ["Order SO-1 cancelled."]
        event = AuditEvent.objects.get(action="credit.order.cancelled")
        assert (event.actor, event.reason, event.changes["status"]) == (
            billing_user,
            "customer withdrew",
            ["shipped", "cancelled"],
        )
        exposure.refresh_from_db()
        assert (exposure.orders_minor, exposure.shipped_minor) == (0, 0)

    def test_a_shipped_order_is_invoiced_and_a_wrong_move_is_refused(
        self, book: dict[str, Any], analyst: User
    ) -> None:
        client = login(analyst)
        refused = client.post("/credit/orders/SO-1/invoice/", follow=True)
        assert _message(refused) == ["order SO-1 cannot become invoiced: it is released"]
        assert _message(client.post("/credit/orders/SO-1/ship/", follow=True)) == [
            "Order SO-1 marked shipped."
        ]
        assert _message(client.post("/credit/orders/SO-1/invoice/", follow=True)) == [
            "Order SO-1 marked invoiced."
        ]
        assert _held("SO-1").status == "invoiced"
        assert AuditEvent.objects.filter(action="credit.order.invoiced", actor=analyst).count() == 1

    def test_a_german_reader_sees_the_check_in_german_formats(
        self, book: dict[str, Any], analyst: User
    ) -> None:
        UserPreference.objects.create(user=analyst, language="de")
        page = login(analyst).get("/credit/orders/SO-2/").content.decode()
        assert re.search(r'id="check-exposure">15.000,00\u00a0€<', page)
        assert re.search(r'id="order-amount">16.000,00\u00a0€<', page)
        assert "20.03.2026" in page


class TestReports:
    def test_the_reports_show_holds_limit_use_risk_classes_and_reviews_due(
        self, book: dict[str, Any], analyst: User
    ) -> None:
        page = login(analyst).get("/credit/reports/").content.decode()

        assert "As of Mar 16, 2026" in page
        assert _rows(page, "report-holds-table") == [
            ["No credit limit", "8+", "1", "€800.00"],
            ["Over the customer's credit limit", "0-1", "1", "€1,000.00"],
            ["Over the customer's credit limit", "2-3", "1", "€16,000.00"],
            ["Credit review overdue", "0-1", "1", "€1,000.00"],
        ]
        assert _rows(page, "report-limit-use") == [
            ["C-100 Holding AG", "Group", "€100,000.00", "€44,900.00", "€55,100.00"],
            ["C-101 Werk Nord GmbH", "Customer", "€30,000.00", "€15,000.00", "€15,000.00"],
            ["C-300 Spät GmbH", "Customer", "€5,000.00", "€6,000.00", "-€1,000.00"],
        ]
        assert _rows(page, "risk-class-exposure") == [
            ["B", "EUR", "1", "€10,000.00", "€15,000.00"],
            ["D", "EUR", "1", "€6,000.00", "€6,000.00"],
            ["not scored", "EUR", "2", "€20,000.00", "€20,000.00"],
            ["not scored", "USD", "1", "$11,000.00", "$11,000.00"],
        ]
        assert _rows(page, "risk-class-limits") == [
            ["B", "EUR", "1", "€30,000.00", "€15,000.00", "50 %"],
            ["D", "EUR", "1", "€5,000.00", "€6,000.00", "120 %"],
            ["not scored", "EUR", "1", "€100,000.00", "€44,900.00", "44.9 %"],
        ]
        assert _rows(page, "report-review-due-table") == [
            ["C-300 Spät GmbH", "D", "€5,000.00", "Mar 10, 2026", ""]
        ]

    def test_an_earlier_or_later_date_changes_the_reviews_due(
        self, book: dict[str, Any], analyst: User
    ) -> None:
        client = login(analyst)
        earlier = client.get("/credit/reports/?as_of=2026-03-09").content.decode()
        assert "As of Mar 9, 2026" in earlier
        assert "No limit is due for review." in earlier
        later = client.get("/credit/reports/?as_of=2026-09-30").content.decode()
        assert [row[0] for row in _rows(later, "report-review-due-table")] == [
            "C-300 Spät GmbH",
            "C-101 Werk Nord GmbH",
        ]

    def test_a_bad_date_is_refused_with_the_form_error(self, book: dict[str, Any], analyst: User) -> None:
        response = login(analyst).get("/credit/reports/?as_of=2026-02-30")
        assert response.status_code == 422
        assert "Enter a valid date." in response.content.decode()

    def test_an_auditor_reads_the_reports_and_a_billing_clerk_may_not(
        self, book: dict[str, Any], auditor_user: User, billing_user: User
    ) -> None:
        assert login(auditor_user).get("/credit/reports/").status_code == 200
        assert login(billing_user).get("/credit/reports/").status_code == 403

    def test_a_german_reader_sees_german_amounts(self, book: dict[str, Any], analyst: User) -> None:
        UserPreference.objects.create(user=analyst, language="de")
        page = login(analyst).get("/credit/reports/").content.decode()
        assert _rows(page, "report-limit-use")[0][2:] == [
            "100.000,00\u00a0€",
            "44.900,00\u00a0€",
            "55.100,00\u00a0€",
        ]
        assert "16.03.2026" in page
        assert _rows(page, "risk-class-limits")[2][-1] == "44,9 %"
