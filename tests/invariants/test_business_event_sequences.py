"""Random sequences of business events, with every invariant of DESIGN.md checked after each step.

Runs on SQLite and on PostgreSQL (the suite runs on both). Each example runs in a transaction that
is rolled back, so examples do not see each other.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, rule

from o2c.audit.models import AuditEvent
from o2c.core import checks
from o2c.core.money import Money
from o2c.credit import orders as credit_orders
from o2c.credit.errors import UnableToDecideOrder
from o2c.credit.models import SalesOrder
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import AccountType, JournalEntry, JournalLine, LegalEntity
from o2c.ledger.rules import LineIn as PostingLine
from o2c.ledger.services import FxRateIn
from o2c.receivables import migration, selectors, services
from o2c.receivables.calculations import LineIn
from o2c.receivables.errors import UnableToAllocate, UnableToCreateDocument, UnableToIssueDocument
from o2c.receivables.migration import OpenItemIn
from o2c.receivables.models import Allocation, Document
from tests.conftest import NOW, customer_in

START = date(2025, 1, 1)
days = st.integers(min_value=0, max_value=700)
amount_minor = st.integers(min_value=1, max_value=5_000_000)
line_strategy = st.builds(
    LineIn,
    description=st.just("Service"),
    quantity=st.decimals(min_value=Decimal("0.5"), max_value=Decimal(40), places=2),
    unit_price=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(5000), places=3),
    tax_rate=st.sampled_from([Decimal(0), Decimal(7), Decimal(19), Decimal("5.5"), Decimal(20)]),
    discount_percent=st.sampled_from([Decimal(0), Decimal(0), Decimal("2.5"), Decimal(10)]),
)


class ReceivablesMachine(RuleBasedStateMachine):
    customers = Bundle("customers")
    invoices = Bundle("invoices")
    sales_orders = Bundle("sales_orders")

    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.entity = LegalEntity.objects.get(is_default=True)
        self.counter = 0
        self.import_counter = 0
        self.order_counter = 0

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @initialize()
    def fx_rates(self) -> None:
        ledger_services.fx_rates_import(
            rates=[
                FxRateIn(date(2024, 12, 1), "USD", "EUR", Decimal("0.9123")),
                FxRateIn(date(2025, 6, 1), "USD", "EUR", Decimal("0.8771")),
                FxRateIn(date(2024, 12, 1), "GBP", "EUR", Decimal("1.1687")),
            ],
            source="test",
            now=NOW,
        )

    @rule(target=customers, currency=st.sampled_from(["EUR", "EUR", "USD", "GBP"]))
    def create_customer(self, currency: str) -> Customer:
        self.counter += 1
        return customer_services.customer_create(
            entity=self.entity,
            data=customer_in(
                f"H-{self.counter}",
                currency=currency,
                country={"EUR": "DE", "USD": "US", "GBP": "GB"}[currency],
            ),
            actor=None,
            now=NOW,
        )

    @rule(
        target=invoices, customer=customers, lines=st.lists(line_strategy, min_size=1, max_size=4), day=days
    )
    def issue_invoice(self, customer: Customer, lines: list[LineIn], day: int) -> Any:
        draft = services.document_create(
            customer=customer,
            document_type="invoice",
            issue_date=START + timedelta(days=day),
            lines=lines,
            actor=None,
            now=NOW,
        )
        try:
            return services.document_issue(document_id=draft.pk, actor=None, now=NOW)
        except UnableToIssueDocument as error:
            assert error.code == "zero_total"  # half a cent at 0.01 rounds to nothing
            return multiple()

    @rule(invoice=invoices, share=st.integers(min_value=1, max_value=100), later=st.integers(0, 60))
    def issue_credit_memo(self, invoice: Document, share: int, later: int) -> None:
        invoice.refresh_from_db()
        amount = Decimal(invoice.total_minor * share // 100).scaleb(-2)
        if amount <= 0:
            return
        try:
            draft = services.document_create(
                customer=invoice.customer,
                document_type="credit_memo",
                issue_date=invoice.issue_date + timedelta(days=later),
                lines=[LineIn("Credit", Decimal(1), amount)],
                actor=None,
                now=NOW,
                corrects=invoice,
            )
        except UnableToCreateDocument as error:
            assert error.code == "exceeds_invoice"
            return
        services.document_issue(document_id=draft.pk, actor=None, now=NOW)

    @rule(
        invoice=invoices,
        share=st.integers(min_value=1, max_value=120),
        kind=st.sampled_from(["write_off", "payment"]),
    )
    def settle_part(self, invoice: Document, share: int, kind: str) -> None:
        invoice.refresh_from_db()
        amount = invoice.total_minor * share // 100
        if amount <= 0:
            return
        before = invoice.open_minor
        try:
            services.allocation_create(
                document_id=invoice.pk,
                kind=kind,
                amount_minor=amount,
                posting_date=invoice.issue_date + timedelta(days=10),
                actor=None,
                now=NOW,
            )
        except UnableToAllocate as error:
            assert error.code == "over_application"
            assert amount > before
            invoice.refresh_from_db()
            assert invoice.open_minor == before
            return
        if kind == "payment":
            self._bank_receipt(invoice, amount, invoice.issue_date + timedelta(days=10))

    def _bank_receipt(self, invoice: Document, amount: int, on: date) -> None:
        """The cash a payment allocation draws on, received into unapplied cash (as the demo records it)."""
        ledger_services.journal_entry_post(
            entity=self.entity,
            lines=[
                PostingLine(
                    account_id=ledger_selectors.account_id_for(entity=self.entity, type=AccountType.BANK),
                    currency=invoice.currency,
                    debit_minor=amount,
                ),
                PostingLine(
                    account_id=ledger_selectors.account_id_for(
                        entity=self.entity, type=AccountType.UNAPPLIED_CASH
                    ),
                    currency=invoice.currency,
                    credit_minor=amount,
                    customer_id=invoice.customer_id,
                ),
            ],
            posting_date=on,
            description=f"Receipt for {invoice.number}",
            source_type="test_bank_receipt",
            source_id=invoice.pk,
            idempotency_key=f"test-receipt:{JournalEntry.objects.count()}",
            now=NOW,
        )

    @rule(
        customer=customers,
        items=st.lists(
            st.tuples(amount_minor, st.integers(0, 100), days, st.integers(0, 90), st.booleans()),
            min_size=1,
            max_size=6,
        ),
    )
    def import_open_items(self, customer: Customer, items: list[tuple[int, int, int, int, bool]]) -> None:
        self.import_counter += 1
        rows = []
        for index, (amount, open_share, day, paid_after, is_credit) in enumerate(items, start=1):
            sign = -1 if is_credit else 1
            issue = START + timedelta(days=day)
            open_minor = amount * open_share // 100
            rows.append(
                OpenItemIn(
                    row=index,
                    number=f"M{self.import_counter}-{index}",
                    customer_number=customer.number,
                    issue_date=issue,
                    due_date=issue + timedelta(days=30),
                    currency=customer.currency,
                    amount_minor=sign * amount,
                    open_minor=sign * open_minor,
                    paid_date=issue + timedelta(days=paid_after),
                )
            )
        migration.open_items_import(entity=self.entity, items=rows, actor=None, now=NOW, source="hypothesis")
        # the same items again change nothing
        again = migration.open_items_import(
            entity=self.entity, items=rows, actor=None, now=NOW, source="hypothesis"
        )
        assert (again.created, again.unchanged, again.journal_entries) == (0, len(rows), 0)

    # invariants, checked after every step

    # --- credit: orders under credit control (their exposure summary is one of the registered checks) ---

    @rule(
        target=sales_orders,
        customer=customers,
        amount=amount_minor,
        limit_minor=st.sampled_from([None, 1_000_000, 500_000_000]),
    )
    def take_order(self, customer: Customer, amount: int, limit_minor: int | None) -> SalesOrder:
        """An order checked on arrival: held (no limit, or over it) or released."""
        if limit_minor is not None:  # as the customer import loads a limit
            Customer.objects.filter(pk=customer.pk).update(credit_limit_minor=limit_minor)
        self.order_counter += 1
        taken = credit_orders.orders_receive(
            entity=self.entity,
            rows=[
                credit_orders.OrderIn(
                    number=f"SO-{self.order_counter}",
                    customer_number=customer.number,
                    amount=Money.from_minor(amount, customer.currency).amount,
                    currency=customer.currency,
                    requested_date=START,
                )
            ],
            source=SalesOrder.Source.API,
            actor=None,
            now=NOW,
        )
        return SalesOrder.objects.get(pk=taken.created[0].id)

    @rule(order=sales_orders, move=st.sampled_from(["release", "reject", "shipped", "invoiced", "cancelled"]))
    def move_order(self, order: SalesOrder, move: str) -> None:
        try:
            if move == "release":
                credit_orders.order_release(order_id=order.pk, reason="known customer", actor=None, now=NOW)
            elif move == "reject":
                credit_orders.order_reject(order_id=order.pk, reason="too risky", actor=None, now=NOW)
            else:
                credit_orders.order_move(
                    order_id=order.pk, to=move, reason="by the test", actor=None, now=NOW
                )
        except UnableToDecideOrder as error:
            assert error.code in {"not_movable", "not_held"}, error.code

    @rule(order=sales_orders, day=days)
    def bill_order(self, order: SalesOrder, day: int) -> None:
        """An invoice naming the order in its PO number moves a released or shipped order to invoiced."""
        before = SalesOrder.objects.get(pk=order.pk).status
        draft = services.document_create(
            customer=order.customer,
            document_type="invoice",
            issue_date=START + timedelta(days=day),
            lines=[
                LineIn(
                    "Goods",
                    Decimal(1),
                    Money.from_minor(order.amount_minor, order.currency).amount,
                    Decimal(0),
                )
            ],
            actor=None,
            now=NOW,
            po_number=order.number,
        )
        invoice = services.document_issue(document_id=draft.pk, actor=None, now=NOW)
        credit_orders.orders_invoiced_by(document_ids=[invoice.pk], now=NOW)
        after = SalesOrder.objects.get(pk=order.pk).status
        assert after == ("invoiced" if before in {"released", "shipped"} else before)

    @invariant()
    def registered_checks_hold(self) -> None:
        for check in checks.all_checks():
            assert check.run() == [], check.name

    @invariant()
    def receivables_tie_to_open_items_at_every_date(self) -> None:
        documents = list(Document.objects.filter(status="issued"))
        for as_of in (date(2025, 3, 31), date(2025, 9, 30), date(2026, 2, 28), date(2027, 1, 31)):
            expected: dict[tuple[int, int, str], int] = defaultdict(int)
            for document in documents:
                open_minor = selectors.open_amount_as_of(document=document, as_of=as_of)
                if open_minor:
                    expected[(document.entity_id, document.customer_id, document.currency)] += open_minor
            assert ledger_selectors.receivable_balances(as_of=as_of) == {
                k: v for k, v in expected.items() if v
            }

    @invariant()
    def open_amounts_stay_within_zero_and_total(self) -> None:
        for total, open_minor in Document.objects.values_list("total_minor", "open_minor"):
            assert 0 <= open_minor <= total if total >= 0 else total <= open_minor <= 0

    @invariant()
    def every_entry_balances_in_both_currencies_and_is_posted(self) -> None:
        for entry in JournalEntry.objects.prefetch_related("lines"):
            lines = list(entry.lines.all())
            assert entry.status == "posted"
            assert sum(line.debit_minor for line in lines) == sum(line.credit_minor for line in lines)
            assert sum(line.functional_debit_minor - line.functional_credit_minor for line in lines) == 0
        assert not JournalLine.objects.filter(debit_minor__lt=0).exists()

    @invariant()
    def native_numbers_are_gapless_and_unique_per_series(self) -> None:
        numbers = Document.objects.filter(is_migrated=False, status="issued").values_list(
            "series_id", "number"
        )
        by_series: dict[int, list[int]] = defaultdict(list)
        for series_id, number in numbers:
            by_series[series_id].append(int(re.search(r"-(\d+)$", number)[1]))
        for counters in by_series.values():
            assert sorted(counters) == list(range(1, len(counters) + 1))

    @invariant()
    def every_document_and_allocation_is_audited(self) -> None:
        audited = set(
            AuditEvent.objects.filter(action="receivables.document.issued").values_list(
                "object_id", flat=True
            )
        )
        issued = Document.objects.filter(is_migrated=False, status="issued")
        assert set(issued.values_list("pk", flat=True)) <= audited
        allocations = Allocation.objects.exclude(kind="migration").count()
        assert AuditEvent.objects.filter(action="receivables.allocation.created").count() == allocations


ReceivablesMachine.TestCase.settings = settings(
    max_examples=12,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.django_db
def test_random_business_events_keep_every_invariant() -> None:
    ReceivablesMachine.TestCase().runTest()
