"""The portfolio review: per collector and currency, the portfolio's open items at the month's end and the
cash collected in the month against the collector's target.

Entity MAIN (EUR). Anna collects C-1000, Ben C-2000; C-3000 has no collector.

- INV-1 C-1000 issued 2026-01-02 (due 2026-02-01), 1,190.00: 190.00 paid 2026-02-20, 1,000.00 on
  2026-03-10 (paid in full)
- INV-2 C-1000 issued 2026-03-01 (due 2026-03-31), 595.00: open
- INV-3 C-2000 issued 2026-01-10 (due 2026-02-09), 2,380.00, disputed: 380.00 paid 2026-03-15, the
  application undone 2026-03-20 (the 380.00 stays with C-2000 as unapplied cash)
- INV-4 C-3000 issued 2026-03-05 (due 2026-04-04), 119.00: open
- targets for March: Anna 2,000.00 EUR, Ben 1,000.00 EUR
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from o2c.audit.models import AuditEvent
from o2c.cash import workbench
from o2c.cash.models import Application
from o2c.cash.workbench import ApplyLine
from o2c.collections import services as collection_services
from o2c.collections.errors import UnableToSetTarget
from o2c.collections.models import CollectionTarget
from o2c.core.money import Money
from o2c.customers import selectors as customer_selectors
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.reporting import collectors, selectors, snapshots
from o2c.reporting.models import MonthEndKpis
from tests.conftest import NOW, customer_in, issued_invoice, make_user
from tests.integration.reporting.history import at, received

pytestmark = pytest.mark.django_db

MARCH = date(2026, 3, 1)
# a payer account of its own for each payment, so that none is matched by a payer already seen
IBANS = {"P1": "DE44500105175407324931", "P2": "DE02120300000000202051", "P3": "DE02500105170137075030"}


def _lines(quantity: int) -> list[LineIn]:
    return [LineIn("Consulting", Decimal(quantity), Decimal("100.00"), Decimal("19"))]


def _pay(entity: LegalEntity, document_id: int, amount: str, day: date, reference: str) -> None:
    """A payment received on the day and applied to the document by a person."""
    payment = received(entity, amount, reference, day, f"Zahler {reference}", IBANS[reference])
    workbench.payment_apply(
        payment_id=payment.pk, lines=[ApplyLine(document_id, Decimal(amount))], actor=None, now=at(day)
    )


@pytest.fixture
def portfolios(entity: LegalEntity, customer: Customer) -> None:
    build_portfolios(entity, customer)


def build_portfolios(entity: LegalEntity, customer: Customer) -> None:
    anna = make_user("anna", "collector", entities=[entity])
    ben = make_user("ben", "collector", entities=[entity])
    second = customer_services.customer_create(
        entity=entity, data=customer_in("C-2000", name="Schmidt Logistik AG"), actor=None, now=NOW
    )
    third = customer_services.customer_create(
        entity=entity, data=customer_in("C-3000", name="Weber GmbH"), actor=None, now=NOW
    )
    Customer.objects.filter(pk=customer.pk).update(collector=anna)
    Customer.objects.filter(pk=second.pk).update(collector=ben)
    first_invoice = issued_invoice(customer, lines=_lines(10), issue_date=date(2026, 1, 2))
    _pay(entity, first_invoice.pk, "190.00", date(2026, 2, 20), "P1")
    _pay(entity, first_invoice.pk, "1000.00", date(2026, 3, 10), "P2")
    issued_invoice(customer, lines=_lines(5), issue_date=date(2026, 3, 1))
    disputed = issued_invoice(second, lines=_lines(20), issue_date=date(2026, 1, 10))
    receivable_services.disputed_flag_set(
        document_id=disputed.pk, is_disputed=True, reason="quantity", actor=None, now=NOW
    )
    _pay(entity, disputed.pk, "380.00", date(2026, 3, 15), "P3")
    workbench.application_reverse(
        application_id=Application.objects.get(payment__entry_reference="P3", state="applied").pk,
        reason="misapplied",
        actor=None,
        now=at(date(2026, 3, 20)),
    )
    issued_invoice(third, lines=_lines(1), issue_date=date(2026, 3, 5))
    for user, amount in ((anna, "2000.00"), (ben, "1000.00")):
        collection_services.collection_target_set(
            entity=entity,
            collector=user,
            month=MARCH,
            amount=Money(Decimal(amount), "EUR"),
            actor=None,
            now=NOW,
        )


def _figures(rows: list[collectors.PortfolioRow]) -> list[tuple[object, ...]]:
    return [
        (
            row.collector,
            row.currency,
            row.customers,
            row.receivable_minor,
            row.past_due_minor,
            row.over_90_minor,
            row.disputed_minor,
            row.unapplied_minor,
            row.collected_minor,
            row.target_minor,
            row.percent_of_target,
        )
        for row in rows
    ]


class TestPortfolioReview:
    def test_each_collector_s_portfolio_at_the_month_end_and_what_it_collected_against_the_target(
        self, entity, portfolios
    ):
        rows = collectors.portfolio_review(entity_ids=[entity.pk], month=MARCH)
        assert _figures(rows) == [
            # INV-2 open, due on the 31st (current); INV-1's 1,000.00 of March collected: half the target
            ("anna", "EUR", 1, 59500, 0, 0, 0, 0, 100000, 200000, Decimal("50.00")),
            # INV-3 50 days past due and disputed; the 380.00 of the 15th undone on the 20th
            ("ben", "EUR", 1, 238000, 238000, 0, 238000, 38000, 0, 100000, Decimal("0.00")),
            # no collector, no target
            ("", "EUR", 1, 11900, 0, 0, 0, 0, 0, None, None),
        ]

    def test_a_month_not_over_is_reviewed_as_of_the_day_given(self, entity, portfolios):
        rows = collectors.portfolio_review(entity_ids=[entity.pk], month=MARCH, as_of=date(2026, 3, 16))
        assert _figures(rows)[:2] == [
            # INV-2 issued on the 1st, INV-1's 1,000.00 paid on the 10th
            ("anna", "EUR", 1, 59500, 0, 0, 0, 0, 100000, 200000, Decimal("50.00")),
            # the 380.00 of the 15th not undone yet: collected, and INV-3 open for the rest
            ("ben", "EUR", 1, 200000, 200000, 0, 200000, 0, 38000, 100000, Decimal("38.00")),
        ]

    def test_february_collected_the_first_part_and_has_no_targets(self, entity, portfolios):
        rows = collectors.portfolio_review(entity_ids=[entity.pk], month=date(2026, 2, 1))
        assert _figures(rows) == [
            # INV-1 1,000.00 open on 28 February, 27 days past due
            ("anna", "EUR", 1, 100000, 100000, 0, 0, 0, 19000, None, None),
            ("ben", "EUR", 1, 238000, 238000, 0, 238000, 0, 0, None, None),
        ]

    def test_a_target_without_activity_still_has_its_row(self, entity, other_entity):
        carla = make_user("carla", "collector", entities=[entity])
        collection_services.collection_target_set(
            entity=entity,
            collector=carla,
            month=MARCH,
            amount=Money(Decimal("500.00"), "EUR"),
            actor=None,
            now=NOW,
        )
        assert _figures(collectors.portfolio_review(entity_ids=[entity.pk], month=MARCH)) == [
            ("carla", "EUR", 0, 0, 0, 0, 0, 0, 0, 50000, Decimal("0.00"))
        ]
        assert collectors.portfolio_review(entity_ids=[other_entity.pk], month=MARCH) == []


class TestTargets:
    def test_setting_a_month_s_target_again_replaces_it_and_is_audited(self, entity):
        anna = make_user("anna", "collector", entities=[entity])
        for amount in ("2000.00", "2500.00"):
            collection_services.collection_target_set(
                entity=entity,
                collector=anna,
                month=MARCH,
                amount=Money(Decimal(amount), "EUR"),
                actor=None,
                now=NOW,
            )
        assert list(CollectionTarget.objects.values_list("month", "currency", "amount_minor")) == [
            (MARCH, "EUR", 250000)
        ]
        assert list(
            AuditEvent.objects.filter(action="collections.target.set")
            .order_by("pk")
            .values_list("changes", flat=True)
        ) == [
            {"target 2026-03": [None, "2000.00 EUR"]},
            {"target 2026-03": ["2000.00 EUR", "2500.00 EUR"]},
        ]

    @pytest.mark.parametrize(
        ("month", "amount", "code"),
        [(date(2026, 3, 2), "100.00", "not_a_month"), (MARCH, "-1.00", "negative")],
    )
    def test_a_target_is_for_a_whole_month_and_not_negative(self, entity, month, amount, code):
        anna = make_user("anna", "collector", entities=[entity])
        with pytest.raises(UnableToSetTarget) as refused:
            collection_services.collection_target_set(
                entity=entity,
                collector=anna,
                month=month,
                amount=Money(Decimal(amount), "EUR"),
                actor=None,
                now=NOW,
            )
        assert refused.value.code == code
        assert not CollectionTarget.objects.exists()


class TestPortfolioKpis:
    """The KPIs of a collector's portfolio: its customers' sales, open items and cash alone."""

    def test_each_portfolio_has_its_own_dso_and_cei(self, entity, portfolios):
        anna = _portfolio(entity, "anna")
        ben = _portfolio(entity, "ben")
        annas = selectors.kpis(entity=entity, as_of=date(2026, 3, 31), customer_ids=anna).kpis
        # sales of the 90 days 1,785.00 (INV-1, INV-2); AR 595.00, all current: 595 / 1,785 x 90 = 30
        # CEI over March: (1,000 + 595 - 595) / (1,000 + 595 - 595) x 100 = 100
        assert (annas.dso, annas.best_possible_dso, annas.cei, annas.percent_current) == (
            Decimal(30),
            Decimal(30),
            Decimal(100),
            Decimal(100),
        )
        bens = selectors.kpis(entity=entity, as_of=date(2026, 3, 31), customer_ids=ben).kpis
        # 2,380 / 2,380 x 90 = 90 days, none current; CEI (2,380 + 0 - 2,380) / (2,380 + 0 - 0) = 0
        assert (bens.dso, bens.best_possible_dso, bens.cei, bens.unapplied_minor, bens.disputed_minor) == (
            Decimal(90),
            Decimal(0),
            Decimal(0),
            38000,
            238000,
        )
        whole = selectors.kpis(entity=entity, as_of=date(2026, 3, 31)).kpis
        # and the entity's: every customer, C-3000's 119.00 too
        assert whole.unapplied_minor == 38000
        assert whole.dso == (Decimal(59500 + 238000 + 11900) / Decimal(119000 + 59500 + 238000 + 11900) * 90)

    def test_month_end_kpis_are_kept_per_collector_beside_the_entity_s(self, entity, portfolios):
        ben = User.objects.get(username="ben")
        kept = snapshots.month_end_kpis(
            entity=entity, month_ends=[date(2026, 3, 31)], now=NOW, collector_id=ben.pk
        )
        whole = snapshots.month_end_kpis(entity=entity, month_ends=[date(2026, 3, 31)], now=NOW)
        assert [(row.collector_id, row.dso, row.cei) for row in (*kept, *whole)] == [
            (ben.pk, Decimal("90.00"), Decimal("0.00")),
            # the entity: 3,094 / 4,284 x 90 = 65.00; CEI (3,380 + 714 - 3,094) / (3,380 + 714 - 714) = 29.59
            (None, Decimal("65.00"), Decimal("29.59")),
        ]
        assert MonthEndKpis.objects.count() == 2
        again = snapshots.month_end_kpis(
            entity=entity, month_ends=[date(2026, 3, 31)], now=NOW, collector_id=ben.pk
        )
        assert (again[0].collector_id, again[0].dso, MonthEndKpis.objects.count()) == (
            ben.pk,
            Decimal("90.00"),
            2,
        )


def _portfolio(entity: LegalEntity, username: str) -> frozenset[int]:
    return frozenset(
        customer_selectors.portfolio_of(
            entity_id=entity.pk, collector_id=User.objects.get(username=username).pk
        )
    )
