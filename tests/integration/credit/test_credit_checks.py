"""Credit limits, exposure and the order credit check on the database: the group exposure worked example
(docs/credit.md), maker-checker approvals, holds with their reasons, the cut-off, blocking, and the
exposure summary that `o2c ledger verify` checks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from o2c.audit.models import AuditEvent
from o2c.core import checks
from o2c.credit import limits, orders, selectors, triggers
from o2c.credit.checks import exposure_summary_equals_truth
from o2c.credit.errors import UnableToDecideOrder, UnableToSetLimit, UnableToTakeOrder
from o2c.credit.models import CreditLimit, CreditPolicy, CustomerExposure, SalesOrder
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger import services as ledger_services
from o2c.ledger.models import LegalEntity
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from tests.conftest import NOW, customer_in, issued_invoice, make_user

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 3, 16)


def _customer(entity: LegalEntity, number: str, **overrides: Any) -> Customer:
    return customer_services.customer_create(
        entity=entity, data=customer_in(number, **overrides), actor=None, now=NOW
    )


def _invoice(customer: Customer, amount: str, issue_date: date = date(2026, 3, 2)) -> Document:
    return issued_invoice(
        customer, issue_date=issue_date, lines=[LineIn("Goods", Decimal(1), Decimal(amount), Decimal(0))]
    )


def _limit(customer: Customer, amount: str, currency: str = "EUR", **kw: Any) -> CreditLimit:
    return limits.limit_request(
        customer_id=customer.pk,
        amount=Decimal(amount),
        currency=currency,
        valid_until=kw.get("valid_until"),
        next_review_date=kw.get("next_review_date"),
        reason=kw.get("reason", "set up"),
        actor=kw.get("actor"),
        now=NOW,
    )


def _order(
    entity: LegalEntity,
    number: str,
    customer: Customer,
    amount: str,
    currency: str = "EUR",
    now: datetime = NOW,
) -> SalesOrder:
    return orders.order_receive(
        entity=entity,
        data=orders.OrderIn(number, customer.number, Decimal(amount), currency, date(2026, 3, 20)),
        source="api",
        actor=None,
        now=now,
    )


@pytest.fixture
def group(entity: LegalEntity) -> dict[str, Customer]:
    """The worked example: a parent with a group limit of 100,000.00 EUR, a subsidiary with its own limit
    of 30,000.00 EUR and a US subsidiary billed in USD without one (1 USD = 0.90 EUR)."""
    ledger_services.fx_rates_import(
        rates=[ledger_services.FxRateIn(date(2026, 3, 1), "USD", "EUR", Decimal("0.9"))],
        source="test",
        now=NOW,
    )
    parent = _customer(entity, "C-100", name="Holding AG")
    s1 = _customer(entity, "C-101", name="Werk Nord GmbH", parent_number="C-100")
    s2 = _customer(entity, "C-102", name="Works Inc.", parent_number="C-100", currency="USD", country="US")
    for customer, amount in ((parent, "100000.00"), (s1, "30000.00")):
        limit = _limit(customer, amount)
        if limit.status == CreditLimit.Status.PENDING:
            limits.limit_approve(
                limit_id=limit.pk, actor=make_user(f"checker-{customer.number}"), reason="ok", now=NOW
            )
    _invoice(parent, "20000.00")
    _invoice(s1, "10000.00")
    _invoice(s2, "11000.00")
    return {"parent": parent, "s1": s1, "s2": s2}


class TestGroupExposure:
    def test_the_group_exposure_adds_the_members_in_the_group_limits_currency(
        self, entity: LegalEntity, group: dict[str, Customer]
    ) -> None:
        _order(entity, "SO-1", group["s1"], "5000.00")  # released: counts as an open order

        members = orders.group_members(group["s1"].pk)
        # 20,000.00 + (10,000.00 + 5,000.00) + 11,000.00 USD x 0.90 = 9,900.00
        assert selectors.exposure_in(members, "EUR", AS_OF) == 4_490_000
        assert selectors.exposure_in([group["s1"].pk], "EUR", AS_OF) == 1_500_000

    def test_an_order_within_both_limits_is_released_and_reports_the_binding_limit(
        self, entity: LegalEntity, group: dict[str, Customer]
    ) -> None:
        _order(entity, "SO-1", group["s1"], "5000.00")

        decision = orders.what_if(
            customer=group["s1"], amount=Decimal("12000.00"), currency="EUR", as_of=AS_OF
        )

        # the subsidiary's own limit leaves 15,000.00, the group's 55,100.00: the own one binds
        assert (decision.decision, decision.reasons) == ("release", [])
        assert (decision.exposure_minor, decision.limit_minor, decision.available_minor) == (
            1_500_000,
            3_000_000,
            1_500_000,
        )

    def test_an_order_over_the_customers_limit_is_held_with_its_figures(
        self, entity: LegalEntity, group: dict[str, Customer]
    ) -> None:
        _order(entity, "SO-1", group["s1"], "5000.00")

        held = _order(entity, "SO-2", group["s1"], "16000.00")

        assert held.status == "held"
        [reason] = held.hold_reasons
        assert reason == {
            "code": "over_customer_limit",
            "text": "over the customer's credit limit: exposure 15000.00 plus the order 16000.00 is more than"
            " the limit 30000.00 by 1000.00 EUR",
            "customer": "C-101",
            "currency": "EUR",
            "limit": "30000.00",
            "exposure": "15000.00",
            "order": "16000.00",
            "excess": "1000.00",
        }
        assert held.held_at == NOW and held.release_date is None
        assert CustomerExposure.objects.get(customer=group["s1"], currency="EUR").orders_minor == 500_000

    def test_an_order_in_another_currency_over_the_groups_limit_is_held(
        self, entity: LegalEntity, group: dict[str, Customer]
    ) -> None:
        limits.limit_request(
            customer_id=group["parent"].pk,
            amount=Decimal("50000.00"),
            currency="EUR",
            valid_until=None,
            next_review_date=None,
            reason="lower",
            actor=None,
            now=NOW,
        )

        held = _order(entity, "SO-3", group["s2"], "6000.00", currency="USD")

        # 44,900.00 - 5,000.00 (no open order here) = 39,900.00; + 6,000.00 USD = 5,400.00 EUR
        assert held.status == "released"
        held = _order(entity, "SO-4", group["s2"], "6000.00", currency="USD")
        # 39,900.00 + 5,400.00 (SO-3) + 5,400.00 = 50,700.00 > 50,000.00
        assert held.status == "held"
        assert [
            (r["code"], r["customer"], r["exposure"], r["order"], r["excess"]) for r in held.hold_reasons
        ] == [("over_group_limit", "C-100", "45300.00", "5400.00", "700.00")]


class TestLimitApprovals:
    def test_a_limit_up_to_the_threshold_takes_effect_at_once_and_is_audited(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        maker = make_user("anna", "credit")

        limit = _limit(customer, "50000.00", actor=maker, next_review_date=date(2026, 9, 30))

        assert (limit.status, limit.needs_approval) == ("active", False)
        customer.refresh_from_db()
        assert customer.credit_limit_minor == 5_000_000
        assert selectors.limit_of(customer) == selectors.rules.Limit(
            5_000_000, "EUR", None, date(2026, 9, 30), "request"
        )
        assert list(
            AuditEvent.objects.filter(object_id=customer.pk, action__startswith="credit.")
            .values_list("action", flat=True)
            .order_by("pk")
        ) == [
            "credit.limit.requested",
            "credit.limit.changed",
        ]

    def test_a_raise_above_the_threshold_waits_and_the_maker_cannot_approve_it(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        maker = make_user("anna", "credit")
        checker = make_user("max", "ar_manager")
        _limit(customer, "40000.00", actor=maker)

        raise_ = _limit(customer, "80000.00", actor=maker, reason="bigger orders")

        assert (raise_.status, raise_.needs_approval) == ("pending", True)
        customer.refresh_from_db()
        assert customer.credit_limit_minor == 4_000_000
        with pytest.raises(UnableToSetLimit) as refused:
            limits.limit_approve(limit_id=raise_.pk, actor=maker, reason="me", now=NOW)
        assert refused.value.code == "maker_cannot_approve"
        assert CreditLimit.objects.get(pk=raise_.pk).status == "pending"

        limits.limit_approve(limit_id=raise_.pk, actor=checker, reason="financials fine", now=NOW)

        customer.refresh_from_db()
        assert customer.credit_limit_minor == 8_000_000
        assert list(
            CreditLimit.objects.filter(customer=customer)
            .order_by("pk")
            .values_list("amount_minor", "status", "decided_by__username")
        ) == [
            (4_000_000, "superseded", None),
            (8_000_000, "active", "max"),
        ]

    def test_lowering_a_limit_takes_effect_at_once_whatever_the_amount(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        big = _limit(customer, "900000.00")
        limits.limit_approve(limit_id=big.pk, actor=make_user("max"), reason="ok", now=NOW)

        lower = _limit(customer, "700000.00")

        assert lower.status == "active"

    def test_a_rejection_needs_a_reason_and_leaves_the_limit(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        pending = _limit(customer, "60000.00")
        with pytest.raises(UnableToSetLimit):
            limits.limit_reject(limit_id=pending.pk, actor=None, reason=" ", now=NOW)

        limits.limit_reject(limit_id=pending.pk, actor=None, reason="no financials", now=NOW)

        assert CreditLimit.objects.get(pk=pending.pk).status == "rejected"
        assert selectors.limit_of(customer) is None

    def test_the_customer_imports_limit_is_effective_and_kept_as_history_when_replaced(
        self, entity: LegalEntity
    ) -> None:
        imported = _customer(entity, "C-200", credit_limit=Decimal("25000.00"))
        assert selectors.limit_of(imported) == selectors.rules.Limit(2_500_000, "EUR", source="migrated")

        _limit(imported, "20000.00")

        assert list(
            CreditLimit.objects.filter(customer=imported)
            .order_by("pk")
            .values_list("amount_minor", "source", "status")
        ) == [
            (2_000_000, "request", "active"),
            (2_500_000, "migrated", "superseded"),
        ]
        # a later import of the customer with another limit takes effect at once again
        customer_services.customer_update(
            customer_id=imported.pk,
            data=customer_in("C-200", credit_limit=Decimal("30000.00")),
            actor=None,
            now=NOW,
        )
        imported.refresh_from_db()
        assert selectors.limit_of(imported) == selectors.rules.Limit(3_000_000, "EUR", source="migrated")


class TestHolds:
    def test_a_customer_without_any_limit_gets_its_orders_held(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        order = _order(entity, "SO-1", customer, "10.00")

        assert [r["code"] for r in order.hold_reasons] == ["no_limit"]

    def test_items_past_due_beyond_the_policys_days_hold_the_order(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        _limit(customer, "10000.00")
        _invoice(customer, "300.00", issue_date=date(2025, 12, 1))  # due 31 December: 75 days past due
        _invoice(customer, "200.00", issue_date=date(2026, 1, 20))  # due 19 February: 25 days

        decision = orders.what_if(customer=customer, amount=Decimal("100.00"), currency="EUR", as_of=AS_OF)

        assert decision.decision == "hold"
        assert decision.reasons == [
            {
                "code": "past_due",
                "text": "items more than 60 days past due: 1 (300.00 EUR), the oldest 75 days",
                "items": 1,
                "days_allowed": 60,
                "oldest_days": 75,
                "oldest_due_date": "2025-12-31",
                "amounts": {"EUR": "300.00"},
            }
        ]
        CreditPolicy.objects.filter(entity=entity).update(past_due_days=90)
        assert (
            orders.what_if(customer=customer, amount=Decimal("100.00"), currency="EUR", as_of=AS_OF).decision
            == "release"
        )

    def test_an_expired_limit_and_a_passed_review_date_hold_the_order(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        _limit(customer, "10000.00", valid_until=date(2026, 3, 15), next_review_date=date(2026, 3, 1))

        decision = orders.what_if(customer=customer, amount=Decimal("100.00"), currency="EUR", as_of=AS_OF)

        assert [(r["code"], r.get("valid_until"), r.get("review_date")) for r in decision.reasons] == [
            ("limit_expired", "2026-03-15", None),
            ("review_overdue", None, "2026-03-01"),
        ]

    def test_a_blocked_customers_orders_are_held_and_unblocking_rechecks_them(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        _limit(customer, "10000.00")
        with pytest.raises(orders.UnableToBlockCustomer):
            orders.customer_block(customer_id=customer.pk, reason="", actor=None, now=NOW)
        orders.customer_block(customer_id=customer.pk, reason="insolvency rumours", actor=None, now=NOW)

        order = _order(entity, "SO-1", customer, "100.00")
        assert [r["code"] for r in order.hold_reasons] == ["customer_blocked"]

        orders.customer_unblock(customer_id=customer.pk, reason="rumours denied", actor=None, now=NOW)

        order.refresh_from_db()
        assert (order.status, order.hold_reasons, order.release_date) == ("released", [], date(2026, 3, 16))
        assert (
            AuditEvent.objects.filter(action="credit.customer.blocked", reason="insolvency rumours").count()
            == 1
        )

    def test_an_analyst_releases_or_rejects_a_hold_with_a_reason(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        first = _order(entity, "SO-1", customer, "100.00")
        second = _order(entity, "SO-2", customer, "100.00")
        with pytest.raises(UnableToDecideOrder) as refused:
            orders.order_release(order_id=first.pk, reason="", actor=None, now=NOW)
        assert refused.value.code == "reason_required"

        orders.order_release(order_id=first.pk, reason="prepaid", actor=None, now=NOW)
        orders.order_reject(order_id=second.pk, reason="no limit", actor=None, now=NOW)

        assert list(SalesOrder.objects.order_by("pk").values_list("status", "decision_reason")) == [
            ("released", "prepaid"),
            ("rejected", "no limit"),
        ]
        assert CustomerExposure.objects.get(customer=customer, currency="EUR").orders_minor == 10_000
        with pytest.raises(UnableToDecideOrder):
            orders.order_release(order_id=second.pk, reason="changed my mind", actor=None, now=NOW)

    def test_a_limit_raise_rechecks_the_groups_held_orders(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        _limit(customer, "100.00")
        held = _order(entity, "SO-1", customer, "500.00")
        assert held.status == "held"

        _limit(customer, "1000.00")

        held.refresh_from_db()
        assert held.status == "released"


class TestCutOff:
    @pytest.mark.parametrize(
        ("moment", "release_date"),
        [
            (datetime(2026, 3, 16, 15, 59, tzinfo=UTC), date(2026, 3, 16)),  # 16:59 in Berlin
            (datetime(2026, 3, 16, 16, 0, tzinfo=UTC), date(2026, 3, 16)),  # 17:00: the cut-off itself
            (datetime(2026, 3, 16, 16, 1, tzinfo=UTC), date(2026, 3, 17)),  # 17:01: the next day
            (datetime(2026, 3, 20, 16, 30, tzinfo=UTC), date(2026, 3, 23)),  # Friday evening: Monday
            (datetime(2026, 3, 21, 10, 0, tzinfo=UTC), date(2026, 3, 23)),  # Saturday: Monday
            # Maundy Thursday evening: Good Friday and Easter Monday are German public holidays
            (datetime(2026, 4, 2, 16, 30, tzinfo=UTC), date(2026, 4, 7)),
            (datetime(2026, 4, 30, 16, 30, tzinfo=UTC), date(2026, 5, 4)),  # 1 May (a Friday): Monday
        ],
    )
    def test_a_release_after_the_entitys_cut_off_counts_for_the_next_business_day(
        self, entity: LegalEntity, customer: Customer, moment: datetime, release_date: date
    ) -> None:
        _limit(customer, "1000.00")

        order = _order(entity, "SO-1", customer, "10.00", now=moment)

        assert (order.status, order.release_date) == ("released", release_date)


class TestOrderArrival:
    def test_a_batch_is_idempotent_by_order_number(self, entity: LegalEntity, customer: Customer) -> None:
        _limit(customer, "1000.00")
        rows = [
            orders.OrderIn(f"SO-{i}", customer.number, Decimal("300.00"), "EUR", AS_OF) for i in range(1, 5)
        ]

        first = orders.orders_receive(entity=entity, rows=rows, source="csv", actor=None, now=NOW)
        again = orders.orders_receive(entity=entity, rows=rows, source="csv", actor=None, now=NOW)

        # each release counts towards the next: 300 + 300 + 300 = 900, the fourth would make 1,200
        assert [o.status for o in first.created] == ["released", "released", "released", "held"]
        assert (len(again.created), again.unchanged) == (0, 4)
        assert SalesOrder.objects.count() == 4

    def test_a_bad_row_refuses_the_batch_and_writes_nothing(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        rows = [
            orders.OrderIn("SO-1", customer.number, Decimal("300.00"), "EUR", AS_OF),
            orders.OrderIn("SO-2", "C-404", Decimal("300.00"), "EUR", AS_OF),
        ]

        with pytest.raises(UnableToTakeOrder) as refused:
            orders.orders_receive(entity=entity, rows=rows, source="csv", actor=None, now=NOW)

        assert refused.value.message == "row 2: customer_number: customer C-404 does not exist"
        assert SalesOrder.objects.count() == 0


class TestExposureSummary:
    def test_the_triggers_are_installed_after_migrate(self) -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'credit_exposure%%'")
            else:
                cursor.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'credit_exposure%'"
                )
            assert sorted(row[0] for row in cursor.fetchall()) == sorted(triggers.TRIGGER_NAMES)

    def test_the_summary_follows_issue_payment_and_credit_memo(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        invoice = _invoice(customer, "1000.00")
        assert CustomerExposure.objects.get(customer=customer).receivables_minor == 100_000

        from o2c.receivables import services as receivable_services

        receivable_services.allocation_create(
            document_id=invoice.pk,
            kind="write_off",
            amount_minor=40_000,
            posting_date=AS_OF,
            actor=None,
            now=NOW,
            reason="small balance",
        )

        assert CustomerExposure.objects.get(customer=customer).receivables_minor == 60_000
        assert exposure_summary_equals_truth() == []

    def test_verify_catches_a_wrong_summary(self, entity: LegalEntity, customer: Customer) -> None:
        _invoice(customer, "1000.00")
        CustomerExposure.objects.filter(customer=customer).update(receivables_minor=99_999)

        [check] = [c for c in checks.all_checks() if c.name == "credit.exposure_summary"]

        assert check.run() == [
            f"customer {customer.pk} EUR: exposure summary (receivables, orders, shipped) (99999, 0, 0)"
            " != (100000, 0, 0) from the documents and orders (minor units)"
        ]


class TestOrdersShippedInvoicedCancelled:
    def test_an_order_moves_through_the_exposure_from_open_to_shipped_and_out_when_invoiced(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        _limit(customer, "10000.00")
        first = _order(entity, "SO-1", customer, "3000.00")
        second = _order(entity, "SO-2", customer, "2000.00")

        def summary() -> tuple[int, int, int]:
            row = CustomerExposure.objects.get(customer=customer, currency="EUR")
            return row.receivables_minor, row.orders_minor, row.shipped_minor

        assert (first.status, second.status, summary()) == ("released", "released", (0, 500_000, 0))
        orders.order_move(order_id=first.pk, to="shipped", reason="", actor=None, now=NOW)
        assert summary() == (0, 200_000, 300_000)
        orders.order_move(order_id=first.pk, to="invoiced", reason="", actor=None, now=NOW)
        _invoice(customer, "3000.00")  # its invoice: an open item from now on
        assert summary() == (300_000, 200_000, 0)
        orders.order_move(order_id=second.pk, to="cancelled", reason="customer withdrew", actor=None, now=NOW)
        assert summary() == (300_000, 0, 0)
        assert exposure_summary_equals_truth() == []
        assert list(
            AuditEvent.objects.filter(
                object_type="sales_order",
                action__in=["credit.order.shipped", "credit.order.invoiced", "credit.order.cancelled"],
            )
            .order_by("pk")
            .values_list("object_label", "action", "changes")
        ) == [
            ("SO-1", "credit.order.shipped", {"status": ["released", "shipped"]}),
            ("SO-1", "credit.order.invoiced", {"status": ["shipped", "invoiced"]}),
            ("SO-2", "credit.order.cancelled", {"status": ["released", "cancelled"]}),
        ]

    def test_a_held_order_is_not_shipped_and_a_cancellation_needs_a_reason(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        held = _order(entity, "SO-9", customer, "100.00")  # no limit: held
        assert held.status == "held"

        with pytest.raises(UnableToDecideOrder) as not_movable:
            orders.order_move(order_id=held.pk, to="shipped", reason="", actor=None, now=NOW)
        with pytest.raises(UnableToDecideOrder) as no_reason:
            orders.order_move(order_id=held.pk, to="cancelled", reason=" ", actor=None, now=NOW)

        assert (not_movable.value.code, not_movable.value.message) == (
            "not_movable",
            "order SO-9 cannot become shipped: it is held",
        )
        assert no_reason.value.code == "reason_required"
        orders.order_move(order_id=held.pk, to="cancelled", reason="duplicate", actor=None, now=NOW)
        held.refresh_from_db()
        assert held.status == "cancelled"
        assert exposure_summary_equals_truth() == []


class TestOrdersInvoicedByTheirInvoice:
    def test_an_invoice_naming_the_order_in_its_po_number_moves_it_to_invoiced(
        self, entity: LegalEntity, customer: Customer, django_capture_on_commit_callbacks: Any
    ) -> None:
        _limit(customer, "10000.00")
        shipped = _order(entity, "SO-1", customer, "3000.00")
        _order(entity, "SO-2", customer, "500.00")  # released, nothing to ship
        _order(entity, "SO-3", customer, "700.00")
        orders.order_move(order_id=shipped.pk, to="shipped", reason="", actor=None, now=NOW)
        other = _customer(entity, "C-2000")

        with django_capture_on_commit_callbacks(execute=True):
            first = issued_invoice(
                customer,
                lines=[LineIn("Goods", Decimal(1), Decimal("3000.00"), Decimal(0))],
                po_number="SO-1",
            )
            second = issued_invoice(
                customer,
                lines=[LineIn("Work", Decimal(1), Decimal("500.00"), Decimal(0))],
                po_number=" SO-2 ",
            )
            issued_invoice(other, po_number="SO-3")  # another customer's invoice: not SO-3's

        assert dict(SalesOrder.objects.values_list("number", "status")) == {
            "SO-1": "invoiced",
            "SO-2": "invoiced",
            "SO-3": "released",
        }
        row = CustomerExposure.objects.get(customer=customer, currency="EUR")
        # the two invoices are open items now; only SO-3 is still an open order
        assert (row.receivables_minor, row.orders_minor, row.shipped_minor) == (350_000, 70_000, 0)
        assert exposure_summary_equals_truth() == []
        assert list(
            AuditEvent.objects.filter(
                object_type="sales_order", action__in=["credit.order.shipped", "credit.order.invoiced"]
            )
            .order_by("pk")
            .values_list("object_label", "action", "reason", "actor_label")
        ) == [
            ("SO-1", "credit.order.shipped", "", "system"),
            ("SO-1", "credit.order.invoiced", f"invoice {first.number} issued", "system"),
            ("SO-2", "credit.order.shipped", f"invoice {second.number} issued", "system"),
            ("SO-2", "credit.order.invoiced", f"invoice {second.number} issued", "system"),
        ]
