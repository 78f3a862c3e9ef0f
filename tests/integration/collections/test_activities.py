"""A collector's activities (docs/collections.md, "Activities") and the day's tasks: the follow-ups due
for the customers of her portfolio and their promises to pay falling due."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from o2c.audit.models import AuditEvent
from o2c.collections import activities, selectors, services
from o2c.collections.errors import UnableToLogActivity
from o2c.collections.models import Activity
from o2c.core.money import Money
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables.models import Document
from tests.conftest import NOW, customer_in, issued_invoice, make_user

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 16)


@pytest.fixture
def collector(entity: LegalEntity) -> User:
    return make_user("carla", "collector", entities=[entity])


def _customer(entity: LegalEntity, number: str, collector: User | None) -> Customer:
    customer = customer_services.customer_create(entity=entity, data=customer_in(number), actor=None, now=NOW)
    customer.collector = collector
    customer.save(update_fields=["collector"])
    return customer


def _log(
    customer: Customer, actor: User, next_action: date | None, outcome: str = "no_answer", **extra: object
) -> Activity:
    return activities.activity_log(
        customer=customer,
        kind=str(extra.pop("kind", "call")),
        outcome=outcome,
        text=str(extra.pop("text", "")),
        next_action_date=next_action,
        actor=actor,
        now=NOW,
        **extra,  # type: ignore[arg-type]
    )


class TestLogging:
    def test_a_collector_logs_a_call_about_an_invoice_and_it_is_audited(
        self, customer: Customer, collector: User
    ) -> None:
        invoice = issued_invoice(customer)

        activity = _log(
            customer,
            collector,
            date(2026, 3, 20),
            "promised",
            text="Frau Keller pays on Friday",
            documents=[invoice],
        )

        assert (
            activity.kind,
            activity.outcome,
            activity.text,
            activity.next_action_date,
            activity.created_by,
        ) == (
            "call",
            "promised",
            "Frau Keller pays on Friday",
            date(2026, 3, 20),
            collector,
        )
        assert [link.document_id for link in activity.documents.all()] == [invoice.pk]
        audit = AuditEvent.objects.get(action="collections.activity.logged")
        assert (audit.actor, audit.object_label, audit.changes["outcome"], audit.changes["documents"]) == (
            collector,
            "C-1000",
            [None, "promised"],
            [None, invoice.number],
        )

    @pytest.mark.parametrize(
        ("kind", "outcome", "text", "code"),
        [
            ("visit", "reached", "", "bad_kind"),
            ("call", "maybe", "", "bad_outcome"),
            ("note", "other", "  ", "text_required"),
        ],
    )
    def test_an_activity_that_does_not_fit_is_refused_and_nothing_is_written(
        self, customer: Customer, collector: User, kind: str, outcome: str, text: str, code: str
    ) -> None:
        with pytest.raises(UnableToLogActivity) as refused:
            _log(customer, collector, None, outcome, kind=kind, text=text)
        assert refused.value.code == code
        assert (
            Activity.objects.count(),
            AuditEvent.objects.filter(action__startswith="collections.").count(),
        ) == (
            0,
            0,
        )

    def test_an_activity_is_about_documents_of_its_customer_only(
        self, entity: LegalEntity, customer: Customer, collector: User
    ) -> None:
        other: Document = issued_invoice(_customer(entity, "C-2000", None))
        with pytest.raises(UnableToLogActivity) as refused:
            _log(customer, collector, None, documents=[other])
        assert refused.value.code == "other_customer"


class TestTodaysTasks:
    def test_the_follow_ups_due_and_the_promises_falling_due_in_the_collectors_portfolio(
        self, entity: LegalEntity, collector: User
    ) -> None:
        mine_a = _customer(entity, "C-1000", collector)
        mine_b = _customer(entity, "C-2000", collector)
        mine_c = _customer(entity, "C-3000", collector)
        someone_elses = _customer(entity, "C-4000", make_user("colin", "collector", entities=[entity]))
        _log(mine_a, collector, date(2026, 3, 10))  # followed up below: no longer a task
        later = _log(mine_a, collector, date(2026, 3, 16), "left_message")
        overdue = _log(mine_b, collector, date(2026, 3, 12), "reached")
        _log(mine_c, collector, date(2026, 3, 17))  # tomorrow
        _log(someone_elses, collector, date(2026, 3, 1))
        promises = {}
        for customer, promised in (
            (mine_a, date(2026, 3, 16)),
            (mine_c, date(2026, 3, 13)),
            (someone_elses, TODAY),
        ):
            promises[customer.number] = services.promise_record(
                customer=customer,
                documents=[issued_invoice(customer)],
                amount=Money(Decimal("100.00"), "EUR"),
                promised_date=promised,
                contact="",
                actor=collector,
                now=NOW,
                made_on=date(2026, 3, 2),
            )
        services.promise_record(
            customer=mine_b,
            documents=[issued_invoice(mine_b)],
            amount=Money(Decimal("100.00"), "EUR"),
            promised_date=date(2026, 3, 30),  # not yet
            contact="",
            actor=collector,
            now=NOW,
        )

        tasks = selectors.collector_tasks(entity_ids=[entity.pk], collector_id=collector.pk, today=TODAY)

        assert [(a.pk, a.customer.number, a.next_action_date) for a in tasks.activities] == [
            (overdue.pk, "C-2000", date(2026, 3, 12)),
            (later.pk, "C-1000", date(2026, 3, 16)),
        ]
        assert [(p.customer.number, p.promised_date) for p in tasks.promises] == [
            ("C-3000", date(2026, 3, 13)),
            ("C-1000", date(2026, 3, 16)),
        ]

    def test_another_entitys_portfolio_is_not_seen(
        self, entity: LegalEntity, other_entity: LegalEntity, collector: User
    ) -> None:
        french = customer_services.customer_create(
            entity=other_entity, data=customer_in("F-1", country="FR"), actor=None, now=NOW
        )
        french.collector = collector
        french.save(update_fields=["collector"])
        _log(french, collector, date(2026, 3, 1))

        assert (
            selectors.collector_tasks(
                entity_ids=[entity.pk], collector_id=collector.pk, today=TODAY
            ).activities
            == []
        )
        assert (
            len(
                selectors.collector_tasks(
                    entity_ids=[other_entity.pk], collector_id=collector.pk, today=TODAY
                ).activities
            )
            == 1
        )
