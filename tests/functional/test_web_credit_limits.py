"""The credit analyst's limit pages: the limits with their exposure and use (filtered, paged, a fixed
number of queries), a customer's credit page (limits in force, exposure breakdown, group, held orders,
asking for a limit, blocking and unblocking) and the limit approvals (maker-checker); auditors read,
others are refused, another entity's objects are not found (docs/credit.md, "Back-office pages: limits,
approvals and the customer's credit page")."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from o2c.audit.models import AuditEvent
from o2c.config.api import CAPABILITY_ROLES
from o2c.credit import api as credit_api
from o2c.credit import limits, orders
from o2c.credit.models import CreditLimit, SalesOrder
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger import services as ledger_services
from o2c.ledger.models import LegalEntity
from o2c.receivables.calculations import LineIn
from o2c.workspace import credit_limit_views
from o2c.workspace.models import UserPreference
from tests.conftest import NOW, customer_in, issued_invoice, make_user
from tests.functional.test_browser import SCREENSHOTS, live_server, page  # noqa: F401 - fixtures

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


def _limit(customer: Customer, amount: str, **kw: Any) -> CreditLimit:
    limit = limits.limit_request(
        customer_id=customer.pk,
        amount=Decimal(amount),
        currency="EUR",
        valid_until=kw.get("valid_until"),
        next_review_date=kw.get("next_review_date"),
        reason="set up",
        actor=kw.get("actor"),
        now=NOW,
    )
    if limit.status == CreditLimit.Status.PENDING and not kw.get("keep_pending"):
        limits.limit_approve(limit_id=limit.pk, actor=make_user(f"checker-{limit.pk}"), reason="ok", now=NOW)
    return limit


def _order(entity: LegalEntity, number: str, customer: Customer, amount: str) -> SalesOrder:
    return orders.order_receive(
        entity=entity,
        data=orders.OrderIn(number, customer.number, Decimal(amount), "EUR", date(2026, 3, 20)),
        source="api",
        actor=None,
        now=NOW,
    )


@pytest.fixture
def book(entity: LegalEntity) -> dict[str, Customer]:
    return _book(entity)


def _book(entity: LegalEntity) -> dict[str, Customer]:
    """docs/credit.md's worked example (a group limit of 100,000.00 EUR on Holding AG, 30,000.00 on Werk
    Nord with an order of 5,000.00 released and one of 16,000.00 held, Works Inc. in USD at 0.90), a
    customer with a limit loaded by the customer import using 90 %, and one over its limit whose review
    was due on 10 March 2026; a customer without a limit is not listed."""
    ledger_services.fx_rates_import(
        rates=[ledger_services.FxRateIn(date(2026, 3, 1), "USD", "EUR", Decimal("0.9"))],
        source="test",
        now=NOW,
    )
    parent = _customer(entity, "C-100", name="Holding AG")
    s1 = _customer(entity, "C-101", name="Werk Nord GmbH", parent_number="C-100")
    s2 = _customer(entity, "C-102", name="Works Inc.", parent_number="C-100", currency="USD", country="US")
    south = _customer(entity, "C-200", name="Kunde Süd KG", credit_limit=Decimal("10000.00"))
    late = _customer(entity, "C-300", name="Spät GmbH")
    _customer(entity, "C-400", name="Ohne Limit AG")
    _limit(parent, "100000.00")
    _limit(s1, "30000.00", valid_until=date(2026, 12, 31), next_review_date=date(2026, 9, 30))
    _limit(late, "5000.00", next_review_date=date(2026, 3, 10))
    _invoice(parent, "20000.00")
    _invoice(s1, "10000.00")
    _invoice(s2, "11000.00")
    _invoice(south, "9000.00")
    _invoice(late, "6000.00")
    _order(entity, "SO-1", s1, "5000.00")
    _order(entity, "SO-2", s1, "16000.00")  # held: 15,000.00 + 16,000.00 > 30,000.00
    Customer.objects.filter(pk=late.pk).update(risk_class="D")
    Customer.objects.filter(pk=s1.pk).update(risk_class="B")
    return {"parent": parent, "s1": s1, "s2": s2, "south": south, "late": late}


@pytest.fixture
def analyst(entity: LegalEntity) -> User:
    return make_user("clara", "credit", entities=[entity])


@pytest.fixture
def manager(entity: LegalEntity) -> User:
    return make_user("martin", "ar_manager", entities=[entity])


def _rows(html: str, table: str = "limits") -> list[list[str]]:
    """The table's body as text cells (tags dropped, white space folded)."""
    body = html.split(f'id="{table}"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        rows.append([" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in cells])
    return rows


class TestRoles:
    def test_the_pages_use_the_apis_role_sets(self) -> None:
        assert CAPABILITY_ROLES[credit_api.VIEW_CREDIT] == credit_limit_views.VIEW_CREDIT
        assert CAPABILITY_ROLES[credit_api.MANAGE_CREDIT] == credit_limit_views.MANAGE_CREDIT
        assert CAPABILITY_ROLES[credit_api.APPROVE_LIMITS] == credit_limit_views.APPROVE_LIMITS


class TestLimitList:
    def test_each_limit_shows_its_exposure_use_available_dates_and_risk_class(
        self, book: dict[str, Customer], analyst: User
    ) -> None:
        html = login(analyst).get("/credit/limits/").content.decode()

        assert _rows(html) == [
            # the group: 20,000.00 + (10,000.00 + 5,000.00) + 11,000.00 USD x 0.90 = 44,900.00
            ["C-100 Holding AG", "Group", "€100,000.00", "€44,900.00", "44.9 %", "€55,100.00", "", "", ""],
            [
                "C-101 Werk Nord GmbH",
                "Customer",
                "€30,000.00",
                "€15,000.00",
                "50 %",
                "€15,000.00",
                "Dec 31, 2026",
                "Sep 30, 2026",
                "B",
            ],
            [
                "C-200 Kunde Süd KG",
                "Customer imported",
                "€10,000.00",
                "€9,000.00",
                "90 %",
                "€1,000.00",
                "",
                "",
                "",
            ],
            [
                "C-300 Spät GmbH",
                "Customer",
                "€5,000.00",
                "€6,000.00",
                "120 %",
                "-€1,000.00",
                "",
                "Mar 10, 2026",
                "D",
            ],
        ]
        assert f'href="/credit/customers/{book["s1"].pk}/"' in html

    @pytest.mark.parametrize(
        ("query", "numbers"),
        [
            ("show=over", ["C-300"]),
            ("show=high", ["C-200", "C-300"]),
            ("show=review", ["C-300"]),
            ("q=werk", ["C-101"]),
            ("q=C-1&show=high", []),
        ],
    )
    def test_the_filters_pick_over_limit_high_use_review_due_and_the_search(
        self, book: dict[str, Customer], analyst: User, query: str, numbers: list[str]
    ) -> None:
        html = login(analyst).get(f"/credit/limits/?{query}").content.decode()

        assert re.findall(r'data-customer="([^"]+)"', html) == numbers
        if not numbers:
            assert "No limit matches these filters." in html

    def test_fifty_limits_a_page_read_with_the_same_queries_on_every_page(
        self, entity: LegalEntity, analyst: User
    ) -> None:
        for n in range(1, 61):
            customer = _customer(entity, f"K-{n:03d}", credit_limit=Decimal("1000.00"))
            if n % 10:
                _invoice(customer, "900.00")  # 90 % used; K-010, K-020, ... K-060 nothing
        client = login(analyst)
        client.get("/credit/limits/")  # sessions and roles cached like any page after the first

        counts = []
        for query in ("", "page=2", "show=high", "show=high&page=2"):
            with CaptureQueriesContext(connection) as queries:
                html = client.get(f"/credit/limits/?{query}").content.decode()
            counts.append(len(queries))
            numbers = re.findall(r'data-customer="([^"]+)"', html)
            if query == "":
                assert (len(numbers), numbers[0], numbers[-1]) == (50, "K-001", "K-050")
                assert "page=2" in html
            elif query == "page=2":
                assert numbers == [f"K-{n:03d}" for n in range(51, 61)]
            elif query == "show=high":
                assert (len(numbers), numbers[0], numbers[-1]) == (50, "K-001", "K-055")
                assert "54 limits" in html and "show=high&amp;page=2" in html
            else:
                assert numbers == ["K-056", "K-057", "K-058", "K-059"]
        assert counts[0] == counts[1]
        assert counts[2] == counts[3]

    def test_an_auditor_reads_the_list_and_a_collector_is_refused(
        self, entity: LegalEntity, book: dict[str, Customer]
    ) -> None:
        auditor = login(make_user("aude", "auditor", entities=[entity]))
        collector = login(make_user("colin", "collector", entities=[entity]))

        assert auditor.get("/credit/limits/").status_code == 200
        assert collector.get("/credit/limits/").status_code == 403

    def test_another_entitys_limits_are_not_listed(
        self, other_entity: LegalEntity, book: dict[str, Customer], analyst: User
    ) -> None:
        _customer(other_entity, "F-1", name="Client Paris", credit_limit=Decimal("7000.00"))

        html = login(analyst).get("/credit/limits/").content.decode()

        assert "F-1" not in html and "C-300" in html

    def test_a_german_reader_sees_german_amounts_dates_and_labels(
        self, book: dict[str, Customer], analyst: User
    ) -> None:
        UserPreference.objects.create(user=analyst, language="de")

        html = login(analyst).get("/credit/limits/").content.decode()

        assert _rows(html)[0][2:6] == [
            "100.000,00 €",
            "44.900,00 €",
            "44,9 %",
            "55.100,00 €",
        ]  # white space folded
        assert _rows(html)[3][7] == "10.03.2026"
        assert "Risikoklasse" in html


class TestCustomerCreditPage:
    def test_the_page_shows_the_limits_in_force_the_exposure_the_group_and_the_held_orders(
        self, book: dict[str, Customer], analyst: User
    ) -> None:
        html = login(analyst).get(f"/credit/customers/{book['s1'].pk}/").content.decode()

        limits_in_force = html.split('id="limits-in-force"', 1)[1].split("</section>", 1)[0]
        assert re.findall(r'data-holder="([^"]+)"', limits_in_force) == ["C-101", "C-100"]
        assert "€30,000.00" in limits_in_force and "€15,000.00" in limits_in_force
        assert "€100,000.00" in limits_in_force and "€44,900.00" in limits_in_force
        assert "€55,100.00" in limits_in_force
        # the binding limit is the own one: 15,000.00 left against the group's 55,100.00
        assert (
            "exposure €15,000.00 of €30,000.00, available €15,000.00"
            in html.split('id="binding-limit"', 1)[1]
        )
        exposure = html.split('id="exposure"', 1)[1].split("</section>", 1)[0]
        # open receivables 10,000.00, the released order 5,000.00, nothing shipped or unbilled
        assert re.findall(r"€[\d,.]+", exposure) == [
            "€10,000.00",
            "€5,000.00",
            "€0.00",
            "€0.00",
            "€15,000.00",
        ]
        # each member's own exposure in the group limit's currency, its own limit
        assert _rows(html, "group-members") == [
            ["C-100 Holding AG", "€20,000.00", "€100,000.00", "Active"],
            ["C-101 Werk Nord GmbH", "€15,000.00", "€30,000.00", "Active"],
            ["C-102 Works Inc.", "€9,900.00", "–", "Active"],
        ]
        held = html.split('id="held-orders"', 1)[1].split("</section>", 1)[0]
        assert "SO-2" in held and "€16,000.00" in held and "SO-1" not in held
        assert "exposure 15000.00 plus the order 16000.00 is more than the limit 30000.00" in held
        assert '<strong id="risk-class">B</strong>' in html and "Not scored yet." in html
        assert 'id="limit-form"' in html and 'id="block-form"' in html

    def test_a_limit_up_to_the_threshold_is_in_force_at_once_and_audited(
        self, book: dict[str, Customer], analyst: User
    ) -> None:
        client = login(analyst)
        customer = book["s1"]

        response = client.post(
            f"/credit/customers/{customer.pk}/limit/",
            {
                "amount": "40,000.00",
                "currency": "eur",
                "next_review_date": "2026-09-30",
                "reason": "more orders",
            },
            follow=True,
        )

        assert response.status_code == 200
        assert "The limit of €40,000.00 for C-101 is in force." in response.content.decode()
        active = CreditLimit.objects.get(customer=customer, status="active")
        assert (active.amount_minor, active.currency, active.next_review_date, active.reason) == (
            4_000_000,
            "EUR",
            date(2026, 9, 30),
            "more orders",
        )
        assert list(
            AuditEvent.objects.filter(object_id=customer.pk, action__startswith="credit.limit.")
            .filter(actor__username="clara")
            .order_by("pk")
            .values_list("action", "reason")
        ) == [("credit.limit.requested", "more orders"), ("credit.limit.changed", "more orders")]
        # the held order fits now (15,000.00 + 16,000.00 within 40,000.00): released on the recheck
        assert SalesOrder.objects.get(number="SO-2").status == "released"
        assert (
            AuditEvent.objects.filter(action="credit.order.rechecked", actor__username="clara").count() == 1
        )

    def test_a_limit_above_the_threshold_waits_for_a_second_person(
        self, book: dict[str, Customer], analyst: User
    ) -> None:
        customer = book["s1"]

        response = login(analyst).post(
            f"/credit/customers/{customer.pk}/limit/",
            {"amount": "75000", "currency": "EUR", "reason": "big project"},
            follow=True,
        )

        html = response.content.decode()
        assert "The limit of €75,000.00 for C-101 waits for a second person&#x27;s approval." in html
        assert "A limit of €75,000.00 asked for by clara waits for approval." in html
        assert CreditLimit.objects.get(customer=customer, status="pending").amount_minor == 7_500_000
        assert CreditLimit.objects.get(customer=customer, status="active").amount_minor == 3_000_000

    def test_a_limit_without_a_reason_is_refused_and_changes_nothing(
        self, book: dict[str, Customer], analyst: User
    ) -> None:
        customer = book["s1"]
        before = (CreditLimit.objects.count(), AuditEvent.objects.count())

        response = login(analyst).post(
            f"/credit/customers/{customer.pk}/limit/", {"amount": "40000", "currency": "EUR", "reason": " "}
        )

        assert response.status_code == 422
        form = response.content.decode().split('id="limit-form"', 1)[1].split("</form>", 1)[0]
        assert "This field is required." in form
        assert (CreditLimit.objects.count(), AuditEvent.objects.count()) == before

    def test_a_second_limit_while_one_waits_is_the_services_refusal_on_the_form(
        self, book: dict[str, Customer], analyst: User
    ) -> None:
        customer = book["s1"]
        client = login(analyst)
        client.post(
            f"/credit/customers/{customer.pk}/limit/", {"amount": "75000", "currency": "EUR", "reason": "a"}
        )
        before = (CreditLimit.objects.count(), AuditEvent.objects.count())

        response = client.post(
            f"/credit/customers/{customer.pk}/limit/", {"amount": "76000", "currency": "EUR", "reason": "b"}
        )

        assert response.status_code == 422
        assert "customer C-101 has a limit waiting for approval" in response.content.decode()
        assert (CreditLimit.objects.count(), AuditEvent.objects.count()) == before

    def test_blocking_and_unblocking_need_a_reason_and_are_audited(
        self, book: dict[str, Customer], analyst: User
    ) -> None:
        customer = book["south"]
        client = login(analyst)

        refused = client.post(f"/credit/customers/{customer.pk}/block/", {"reason": ""})
        assert refused.status_code == 422
        assert "This field is required." in refused.content.decode().split('id="block-form"', 1)[1]
        customer.refresh_from_db()
        assert customer.status == "active"
        assert not AuditEvent.objects.filter(action="credit.customer.blocked").exists()

        blocked = client.post(
            f"/credit/customers/{customer.pk}/block/", {"reason": "insolvency"}, follow=True
        )
        html = blocked.content.decode()
        assert "Customer C-200 blocked." in html and 'id="unblock-form"' in html
        customer.refresh_from_db()
        assert customer.status == "blocked"

        unblocked = client.post(f"/credit/customers/{customer.pk}/unblock/", {"reason": "paid"}, follow=True)
        assert "Customer C-200 unblocked." in unblocked.content.decode()
        customer.refresh_from_db()
        assert customer.status == "active"
        assert list(
            AuditEvent.objects.filter(object_id=customer.pk, action__startswith="credit.customer.")
            .order_by("pk")
            .values_list("action", "reason", "actor__username")
        ) == [
            ("credit.customer.blocked", "insolvency", "clara"),
            ("credit.customer.unblocked", "paid", "clara"),
        ]

    def test_an_auditor_reads_the_page_without_its_forms_and_may_not_act(
        self, entity: LegalEntity, book: dict[str, Customer]
    ) -> None:
        auditor = login(make_user("aude", "auditor", entities=[entity]))
        customer = book["s1"]

        html = auditor.get(f"/credit/customers/{customer.pk}/").content.decode()

        assert "Werk Nord GmbH" in html and 'id="limit-form"' not in html and 'id="block-form"' not in html
        assert auditor.post(f"/credit/customers/{customer.pk}/block/", {"reason": "x"}).status_code == 403
        posted = auditor.post(
            f"/credit/customers/{customer.pk}/limit/", {"amount": "1", "currency": "EUR", "reason": "x"}
        )
        assert posted.status_code == 403
        billing = login(make_user("bert", "billing", entities=[entity]))
        assert billing.get(f"/credit/customers/{customer.pk}/").status_code == 403

    def test_another_entitys_customer_is_not_found(self, other_entity: LegalEntity, analyst: User) -> None:
        foreign = _customer(other_entity, "F-1", name="Client Paris")
        client = login(analyst)

        assert client.get(f"/credit/customers/{foreign.pk}/").status_code == 404
        assert client.post(f"/credit/customers/{foreign.pk}/block/", {"reason": "x"}).status_code == 404
        foreign.refresh_from_db()
        assert foreign.status == "active"

    def test_a_german_reader_sees_german_amounts_and_dates(
        self, book: dict[str, Customer], analyst: User
    ) -> None:
        UserPreference.objects.create(user=analyst, language="de")

        html = login(analyst).get(f"/credit/customers/{book['s1'].pk}/").content.decode()

        assert "30.000,00\xa0€" in html and "44.900,00\xa0€" in html and "31.12.2026" in html
        assert "Offene Forderungen" in html and "Risikoklasse" in html


class TestLimitApprovals:
    @pytest.fixture
    def pending(self, book: dict[str, Customer], analyst: User) -> CreditLimit:
        """Clara asks for 75,000.00 EUR for Werk Nord (30,000.00 in force, exposure 15,000.00)."""
        return _limit(
            book["s1"], "75000.00", actor=analyst, keep_pending=True, next_review_date=date(2027, 3, 1)
        )

    def test_the_pending_limits_show_the_maker_the_old_and_new_limit_the_exposure_and_risk_class(
        self, pending: CreditLimit, analyst: User
    ) -> None:
        html = login(analyst).get("/credit/limits/approvals/").content.decode()

        [row] = _rows(html, "pending-limits")
        assert row == [
            "C-101 Werk Nord GmbH",
            "clara Mar 16, 2026",
            "€30,000.00",
            "€75,000.00 review Mar 1, 2027",
            "€15,000.00 20 % of the new limit",
            "B",
            "set up",
        ]
        assert 'id="decide-' not in html  # a credit analyst sees, an AR manager decides

    def test_a_manager_approves_anothers_request_and_it_is_in_force(
        self, pending: CreditLimit, manager: User
    ) -> None:
        response = login(manager).post(
            f"/credit/limits/{pending.pk}/approve/", {f"limit-{pending.pk}-reason": "fine"}, follow=True
        )

        html = response.content.decode()
        assert "The limit of €75,000.00 for C-101 is approved and in force." in html
        assert "No limit waits for approval." in html
        pending.refresh_from_db()
        assert (pending.status, pending.decided_by, pending.decision_reason) == ("active", manager, "fine")
        assert AuditEvent.objects.filter(
            action="credit.limit.approved", actor=manager, object_id=pending.customer_id, reason="fine"
        ).exists()

    def test_the_maker_cannot_approve_her_own_request(
        self, entity: LegalEntity, book: dict[str, Customer]
    ) -> None:
        mia = make_user("mia", "ar_manager", entities=[entity])
        asked = _limit(book["south"], "90000.00", actor=mia, keep_pending=True)
        audited = AuditEvent.objects.count()

        response = login(mia).post(f"/credit/limits/{asked.pk}/approve/", {f"limit-{asked.pk}-reason": "me"})

        assert response.status_code == 422
        form = response.content.decode().split(f'id="decide-{asked.pk}"', 1)[1].split("</form>", 1)[0]
        assert "the limit was asked for by you: a second person approves it" in form
        asked.refresh_from_db()
        assert (asked.status, asked.decided_by) == ("pending", None)
        assert AuditEvent.objects.count() == audited

    def test_a_rejection_needs_a_reason_and_is_audited_with_it(
        self, pending: CreditLimit, manager: User
    ) -> None:
        client = login(manager)
        audited = AuditEvent.objects.count()

        refused = client.post(f"/credit/limits/{pending.pk}/reject/", {f"limit-{pending.pk}-reason": ""})
        assert refused.status_code == 422
        assert "a reason is required" in refused.content.decode().split(f'id="decide-{pending.pk}"', 1)[1]
        pending.refresh_from_db()
        assert pending.status == "pending" and AuditEvent.objects.count() == audited

        rejected = client.post(
            f"/credit/limits/{pending.pk}/reject/", {f"limit-{pending.pk}-reason": "too risky"}, follow=True
        )
        assert "The limit of €75,000.00 for C-101 is rejected." in rejected.content.decode()
        pending.refresh_from_db()
        assert (pending.status, pending.decision_reason) == ("rejected", "too risky")
        assert CreditLimit.objects.get(customer=pending.customer, status="active").amount_minor == 3_000_000
        assert AuditEvent.objects.filter(
            action="credit.limit.rejected", actor=manager, reason="too risky"
        ).exists()

    def test_a_credit_analyst_may_not_decide_and_another_entitys_limit_is_not_found(
        self, pending: CreditLimit, analyst: User, other_entity: LegalEntity
    ) -> None:
        assert login(analyst).post(f"/credit/limits/{pending.pk}/approve/", {}).status_code == 403
        outsider = login(make_user("olga", "ar_manager", entities=[other_entity]))
        assert outsider.post(f"/credit/limits/{pending.pk}/approve/", {}).status_code == 404
        assert "No limit waits for approval." in outsider.get("/credit/limits/approvals/").content.decode()
        pending.refresh_from_db()
        assert pending.status == "pending"

    def test_a_german_reader_sees_german_amounts_and_dates(self, pending: CreditLimit, manager: User) -> None:
        UserPreference.objects.create(user=manager, language="de")

        html = login(manager).get("/credit/limits/approvals/").content.decode()

        [row] = _rows(html, "pending-limits")
        assert row[1:4] == ["clara 16.03.2026", "30.000,00 €", "75.000,00 € Überprüfung 01.03.2027"]
        assert "Freigeben" in html and "Ablehnen" in html


class TestCreditSettings:
    def test_the_page_shows_the_default_policy_and_threshold_of_a_fresh_entity(
        self, entity: LegalEntity, analyst: User
    ) -> None:
        html = login(analyst).get("/credit/settings/").content.decode()

        assert '<dd id="policy-days">60</dd>' in html and '<dd id="policy-cutoff">17:00</dd>' in html
        assert _rows(html, "threshold-table") == [["EUR", "€50,000.00"]]
        assert 'id="policy-form"' not in html and 'id="threshold-form"' not in html  # analysts read

    def test_an_ar_manager_changes_the_policy_and_it_is_audited(
        self, entity: LegalEntity, manager: User
    ) -> None:
        response = login(manager).post(
            "/credit/settings/policy/",
            {
                "entity": entity.code,
                "past_due_days": "45",
                "cutoff_time": "15:30",
                "sales_email": "sales@o2c.example",
            },
            follow=True,
        )

        html = response.content.decode()
        assert f"The credit policy of {entity.code} is saved." in html
        assert '<dd id="policy-days">45</dd>' in html and '<dd id="policy-cutoff">15:30</dd>' in html
        event = AuditEvent.objects.get(action="credit.policy.changed")
        assert (event.actor, event.changes) == (
            manager,
            {
                "past_due_days": [60, 45],
                "cutoff_time": ["17:00:00", "15:30:00"],
                "sales_email": ["", "sales@o2c.example"],
            },
        )

    def test_a_threshold_typed_in_german_is_set_and_audited(self, entity: LegalEntity, manager: User) -> None:
        UserPreference.objects.create(user=manager, language="de")

        response = login(manager).post(
            "/credit/settings/threshold/",
            {"entity": entity.code, "currency": "usd", "amount": "20.000,00"},
            follow=True,
        )

        assert response.status_code == 200
        assert _rows(response.content.decode(), "threshold-table") == [
            ["EUR", "50.000,00 €"],
            ["USD", "20.000,00 $"],
        ]
        event = AuditEvent.objects.get(action="credit.threshold.changed")
        assert (event.actor, event.changes) == (manager, {"approval_threshold": [None, "20000.00 USD"]})

    def test_a_bad_policy_is_refused_with_the_form_errors_and_changes_nothing(
        self, entity: LegalEntity, manager: User
    ) -> None:
        response = login(manager).post(
            "/credit/settings/policy/", {"entity": entity.code, "past_due_days": "-1", "cutoff_time": "25:00"}
        )

        assert response.status_code == 422
        form = response.content.decode().split('id="policy-form"', 1)[1].split("</form>", 1)[0]
        assert form.count('class="o2c-error"') == 2
        assert not AuditEvent.objects.filter(action="credit.policy.changed").exists()
        assert '<dd id="policy-days">60</dd>' in login(manager).get("/credit/settings/").content.decode()

    def test_an_analyst_may_not_change_and_another_entity_is_not_found(
        self, entity: LegalEntity, analyst: User, manager: User, other_entity: LegalEntity
    ) -> None:
        refused = login(analyst).post(
            "/credit/settings/threshold/", {"entity": entity.code, "currency": "EUR", "amount": "1"}
        )
        foreign = login(manager).post(
            "/credit/settings/threshold/", {"entity": other_entity.code, "currency": "EUR", "amount": "1"}
        )

        assert (refused.status_code, foreign.status_code) == (403, 404)
        assert login(manager).get(f"/credit/settings/?entity={other_entity.code}").status_code == 404
        assert not AuditEvent.objects.filter(action="credit.threshold.changed").exists()


@pytest.fixture
def browser_book(ledger_purgeable: None, entity: LegalEntity) -> dict[str, Customer]:
    """Built before the browser starts (see test_browser.invoice): the book above, Clara the analyst and
    Martin the AR manager."""
    make_user("clara", "credit", entities=[entity])
    make_user("martin", "ar_manager", entities=[entity])
    return _book(entity)


def _browser_login(tab: Any, url: str, username: str) -> None:
    tab.goto(url)
    tab.fill("#id_username", username)
    tab.fill("#id_password", "correct-horse-battery")
    tab.click("button[type=submit]")


def _fits(tab: Any) -> bool:
    return bool(tab.evaluate("document.documentElement.scrollWidth <= 1280"))


@pytest.mark.browser
def test_in_a_browser_the_analyst_asks_for_a_raise_and_the_manager_approves_it(
    live_server: Any,  # noqa: F811
    browser_book: dict[str, Customer],
    page: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    _browser_login(page, f"{live_server.url}/credit/limits/", "clara")
    expect(page.locator("#limits tbody tr")).to_have_count(4)
    expect(page.locator("tr[data-customer='C-300']")).to_contain_text("120 %")
    assert _fits(page)
    page.screenshot(path=str(SCREENSHOTS / "o2c-credit-limits.png"), full_page=True)

    page.select_option("#id_show", "over")
    page.click("#limit-filters button[type=submit]")
    expect(page.locator("#limits tbody tr")).to_have_count(1)
    page.goto(f"{live_server.url}/credit/limits/")
    page.click("tr[data-customer='C-101'] a")
    expect(page.locator("h1")).to_have_text("Werk Nord GmbH")
    page.fill("#id_amount", "75,000.00")
    page.fill("#id_reason", "framework contract")
    page.click("#limit-button")
    expect(page.locator(".o2c-messages")).to_contain_text("waits for a second person's approval")
    assert _fits(page)
    page.screenshot(path=str(SCREENSHOTS / "o2c-credit-customer.png"), full_page=True)

    page.context.clear_cookies()
    _browser_login(page, f"{live_server.url}/credit/limits/approvals/", "martin")
    row = page.locator("#pending-limits tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("€75,000.00")
    assert _fits(page)
    page.screenshot(path=str(SCREENSHOTS / "o2c-credit-approvals.png"), full_page=True)
    row.locator("textarea, input[type=text]").first.fill("contract seen")
    row.locator("button[id^=approve-]").click()
    expect(page.locator(".o2c-messages")).to_contain_text("is approved and in force")
    # read back through the page: a query from the test itself would run on a second connection of
    # this thread (Playwright's event loop), left open when the test database is dropped
    page.goto(f"{live_server.url}/credit/customers/{browser_book['s1'].pk}/")
    expect(page.locator("#limits-in-force tr[data-holder='C-101']")).to_contain_text("€75,000.00")
