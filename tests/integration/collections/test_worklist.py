"""A collector's worklist: her portfolio's customers with anything overdue, highest priority first, each
priority shown with its parts (amount overdue, days, promises broken lately)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from o2c.collections import agency, calculations, selectors, services
from o2c.core.money import Money
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from tests.conftest import NOW, customer_in, issued_invoice, make_user

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 16)


def _lines(quantity: int) -> list[LineIn]:
    return [LineIn("Consulting", Decimal(quantity), Decimal("100.00"), Decimal("19"))]


@pytest.fixture
def portfolio(entity: LegalEntity, customer: Customer) -> int:
    """Anna collects C-1000 and C-2000, Ben C-3000.

    - C-1000: 1,190.00 due 2026-02-01 (43 days overdue today), 595.00 due 2026-04-09 (not yet due)
    - C-2000: 11,900.00 due 2026-03-03 (13 days), 2,380.00 due 2026-02-09 but disputed; a promise of
      500.00 for 2026-03-01 broken (judged 2026-03-05)
    - C-3000: 1,190.00 due 2026-02-01
    """
    anna = make_user("anna", "collector", entities=[entity])
    ben = make_user("ben", "collector", entities=[entity])
    second = customer_services.customer_create(
        entity=entity, data=customer_in("C-2000", name="Schmidt Logistik AG"), actor=None, now=NOW
    )
    third = customer_services.customer_create(
        entity=entity, data=customer_in("C-3000", name="Weber GmbH"), actor=None, now=NOW
    )
    Customer.objects.filter(pk__in=[customer.pk, second.pk]).update(collector=anna)
    Customer.objects.filter(pk=third.pk).update(collector=ben)
    issued_invoice(customer, issue_date=date(2026, 1, 2))
    issued_invoice(customer, lines=_lines(5), issue_date=date(2026, 3, 10))
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
    return anna.pk


def test_the_portfolio_is_listed_by_priority_with_its_parts(entity, portfolio):
    lines = selectors.worklist(entity_ids=[entity.pk], collector_id=portfolio, today=TODAY)
    assert [
        (
            line.customer_number,
            line.overdue_minor,
            line.items,
            line.oldest_due_date,
            line.days_overdue,
            line.broken_promises,
            line.promised,
            line.priority,
            line.priority.score,
        )
        for line in lines
    ] == [
        # 11 points for 11,900.00, 4 for 13 days, 10 for the broken promise; the disputed 2,380.00 out
        ("C-2000", 1190000, 1, date(2026, 3, 3), 13, 1, False, calculations.Priority(11, 4, 10), 25),
        # 1 point for 1,190.00, 14 for 43 days; the invoice not yet due is not on the list
        ("C-1000", 119000, 1, date(2026, 2, 1), 43, 0, False, calculations.Priority(1, 14, 0), 15),
    ]


def test_an_open_promise_is_shown_on_its_line(entity, portfolio, customer):
    invoice = customer.documents.filter(due_date=date(2026, 2, 1)).get()
    services.promise_record(
        customer=customer,
        documents=[invoice],
        amount=Money(Decimal("1190.00"), "EUR"),
        promised_date=date(2026, 3, 20),
        contact="Frau Müller",
        actor=None,
        now=NOW,
        made_on=TODAY,
    )
    lines = selectors.worklist(entity_ids=[entity.pk], collector_id=portfolio, today=TODAY)
    assert [(line.customer_number, line.promised) for line in lines] == [("C-2000", False), ("C-1000", True)]


@pytest.mark.parametrize(
    ("overdue_minor", "decimals", "days", "broken", "parts"),
    [
        (299999, 2, 2, 0, (2, 0, 0)),  # 2,999.99 is 2 points; 2 days no point yet
        (100_000_000, 2, 400, 5, (50, 30, 20)),  # every part at its cap
        (5000, 0, 9, 1, (5, 3, 10)),  # yen: no minor units
        (0, 2, -3, 0, (0, 0, 0)),
    ],
)
def test_each_part_of_the_priority_is_whole_points_up_to_its_cap(
    overdue_minor, decimals, days, broken, parts
):
    assert calculations.priority(
        overdue_minor=overdue_minor, decimals=decimals, days_overdue=days, broken_promises=broken
    ) == calculations.Priority(*parts)


def test_the_credit_risk_class_adds_its_points_and_can_reorder_the_list(entity, portfolio, customer):
    # C-1000 scored E by credit: 15 + 20 = 35 puts it above C-2000's 25; C-2000 scored A adds nothing
    Customer.objects.filter(pk=customer.pk).update(risk_class="E")
    Customer.objects.filter(number="C-2000").update(risk_class="A")

    lines = selectors.worklist(entity_ids=[entity.pk], collector_id=portfolio, today=TODAY)

    assert [
        (line.customer_number, line.risk_class, line.priority, line.priority.score) for line in lines
    ] == [
        ("C-1000", "E", calculations.Priority(1, 14, 0, 20), 35),
        ("C-2000", "A", calculations.Priority(11, 4, 10, 0), 25),
    ]


@pytest.mark.parametrize(
    ("risk_class", "points"), [("", 0), ("A", 0), ("B", 5), ("C", 10), ("D", 15), ("E", 20)]
)
def test_the_risk_part_follows_the_class(risk_class, points):
    assert (
        calculations.priority(
            overdue_minor=0, decimals=2, days_overdue=0, broken_promises=0, risk_class=risk_class
        ).risk_points
        == points
    )


def _credit_memo(customer: Customer) -> None:
    draft = receivable_services.document_create(
        customer=customer,
        document_type="credit_memo",
        issue_date=date(2026, 1, 2),
        lines=_lines(1),
        actor=None,
        now=NOW,
    )
    receivable_services.document_issue(document_id=draft.pk, actor=None, now=NOW)


def test_an_open_credit_memo_neither_counts_nor_makes_a_line(entity, portfolio, customer):
    # a standalone credit memo of -119.00 issued 2026-01-02 (due 2026-02-01) on Anna's C-1000, and one on
    # C-3000 moved to Anna: C-1000 stays at 1,190.00, C-3000's line is its invoice alone
    _credit_memo(customer)
    third = Customer.objects.get(number="C-3000")
    Customer.objects.filter(pk=third.pk).update(collector_id=portfolio)
    _credit_memo(third)

    lines = selectors.worklist(entity_ids=[entity.pk], collector_id=portfolio, today=TODAY)

    assert [(line.customer_number, line.overdue_minor, line.items) for line in lines] == [
        ("C-2000", 1190000, 1),
        ("C-1000", 119000, 1),
        ("C-3000", 119000, 1),
    ]


def test_items_placed_with_a_collection_agency_leave_the_worklist(entity, portfolio, customer):
    manager = make_user("martin", "ar_manager", entities=[entity])
    inkasso = agency.agency_create(
        entity=entity,
        code="INKA",
        name="Inkasso Adler GmbH",
        email="auftrag@adler.example",
        actor=manager,
        now=NOW,
    )
    placed = customer.documents.filter(due_date=date(2026, 2, 1)).get()
    later = issued_invoice(customer, lines=_lines(2), issue_date=date(2026, 2, 10))  # due 12 March
    agency.placement_create(
        customer=customer,
        agency=inkasso,
        reason_code="refuses_to_pay",
        reason_text="no answer to three notices",
        actor=manager,
        now=NOW,
        documents=[placed],
    )

    lines = selectors.worklist(entity_ids=[entity.pk], collector_id=portfolio, today=TODAY)

    # C-1000 keeps the 238.00 issued after the placement, 4 days overdue; the placed 1,190.00 is the agency's
    assert [
        (line.customer_number, line.overdue_minor, line.items, line.oldest_due_date, line.days_overdue)
        for line in lines
    ] == [("C-2000", 1190000, 1, date(2026, 3, 3), 13), ("C-1000", 23800, 1, later.due_date, 4)]
    assert later.due_date == date(2026, 3, 12)
