"""Closing and reopening fiscal periods: a closed period takes no postings, a late document posts in the
first open period after it, and only an AR manager reopens one, with a reason, audited."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User

from o2c.audit.models import AuditEvent
from o2c.close import services
from o2c.close.errors import UnableToClosePeriod
from o2c.core.exceptions import InputError
from o2c.customers.models import Customer
from o2c.ledger.errors import UnableToChangePeriod
from o2c.ledger.models import FiscalPeriod, JournalEntry, LegalEntity
from o2c.receivables import migration
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.migration import OpenItemIn
from o2c.receivables.models import Document
from o2c.reporting import rollforward
from o2c.reporting import selectors as reporting_selectors
from o2c.reporting.errors import UnableToReadPeriod
from o2c.workspace import roles
from tests.conftest import NOW, issued_invoice

pytestmark = pytest.mark.django_db

FEBRUARY = date(2026, 2, 1)


def _status(entity: LegalEntity, start: date) -> str:
    return FiscalPeriod.objects.get(entity=entity, start_date=start).status


def _user(name: str, *role_names: str) -> User:
    user = User.objects.create_user(name, password="x")
    for role in role_names:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def test_closing_a_period_closes_it_once_and_audits_it(entity: LegalEntity, now: datetime) -> None:
    first = services.period_close(entity=entity, start=FEBRUARY, actor=None, now=now)
    again = services.period_close(entity=entity, start=FEBRUARY, actor=None, now=now)

    assert (first.status, first.changed, again.changed) == ("closed", True, False)
    assert _status(entity, FEBRUARY) == "closed"
    event = AuditEvent.objects.get(action="ledger.period.closed")
    assert (event.object_label, event.changes) == (f"{entity.code} 2026-02", {"status": ["open", "closed"]})


def test_a_document_issued_late_for_a_closed_month_posts_on_the_first_day_of_the_next_open_one(
    entity: LegalEntity, customer: Customer, now: datetime
) -> None:
    services.period_close(entity=entity, start=FEBRUARY, actor=None, now=now)

    invoice = issued_invoice(customer, issue_date=date(2026, 2, 25))

    entry = JournalEntry.objects.get(source_type="document", source_id=invoice.pk)
    assert (invoice.issue_date, entry.posting_date, entry.dated) == (
        date(2026, 2, 25),
        date(2026, 3, 1),
        date(2026, 2, 25),
    )


def test_the_close_warns_of_drafts_dated_in_the_month_and_of_earlier_open_months(
    entity: LegalEntity, customer: Customer, now: datetime
) -> None:
    receivable_services.document_create(
        customer=customer,
        document_type="invoice",
        issue_date=date(2026, 2, 20),
        lines=[LineIn("Consulting", Decimal(1), Decimal(100), Decimal(19))],
        actor=None,
        now=NOW,
    )
    FiscalPeriod.objects.filter(entity=entity, start_date__lt=date(2026, 1, 1)).update(status="closed")

    result = services.period_close(entity=entity, start=FEBRUARY, actor=None, now=now)

    assert result.warnings == [
        "1 draft documents are dated in 2026-02: issued later, they post in the next open period",
        "earlier periods are still open: 2026-01",
    ]


def test_only_an_ar_manager_reopens_a_period_and_only_with_a_reason(
    entity: LegalEntity, now: datetime
) -> None:
    services.period_close(entity=entity, start=FEBRUARY, actor=None, now=now)
    collector = _user("colin", roles.COLLECTOR)
    manager = _user("martin", roles.AR_MANAGER)

    with pytest.raises(UnableToClosePeriod, match="needs an AR manager"):
        services.period_reopen(entity=entity, start=FEBRUARY, actor=collector, reason="late invoice", now=now)
    with pytest.raises(UnableToClosePeriod, match="needs an AR manager"):
        services.period_reopen(entity=entity, start=FEBRUARY, actor=None, reason="late invoice", now=now)
    with pytest.raises(UnableToClosePeriod, match="needs a reason"):
        services.period_reopen(entity=entity, start=FEBRUARY, actor=manager, reason="  ", now=now)
    assert _status(entity, FEBRUARY) == "closed"

    result = services.period_reopen(
        entity=entity, start=FEBRUARY, actor=manager, reason="supplier invoice booked late", now=now
    )

    assert (result.status, result.changed) == ("open", True)
    assert _status(entity, FEBRUARY) == "open"
    event = AuditEvent.objects.get(action="ledger.period.reopened")
    assert (event.actor_id, event.reason, event.changes) == (
        manager.pk,
        "supplier invoice booked late",
        {"status": ["closed", "open"]},
    )


def test_the_roles_that_reopen_periods_are_the_workspaces(entity: LegalEntity) -> None:
    assert services.REOPEN_ROLES == roles.REOPEN_PERIODS


def test_a_month_without_a_period_is_refused_with_its_name(entity: LegalEntity, now: datetime) -> None:
    with pytest.raises(UnableToChangePeriod, match="has no fiscal period 2031-05"):
        services.period_close(entity=entity, start=date(2031, 5, 1), actor=None, now=now)


@pytest.mark.parametrize("text", ["2026-2", "26-02", "2026-13", "February", "2026-02-01"])
def test_a_period_not_written_yyyy_mm_is_refused(text: str) -> None:
    with pytest.raises(UnableToReadPeriod, match=f"period '{text}' is not a month written YYYY-MM"):
        rollforward.month_start(text)


def test_a_late_invoice_is_in_the_subledger_from_the_day_it_posted_so_aging_and_ledger_agree(
    entity: LegalEntity, customer: Customer, now: datetime
) -> None:
    services.period_close(entity=entity, start=FEBRUARY, actor=None, now=now)

    invoice = issued_invoice(customer, issue_date=date(2026, 2, 25))  # 1,190.00 EUR

    assert (invoice.issue_date, invoice.posting_date) == (date(2026, 2, 25), date(2026, 3, 1))
    assert reporting_selectors.aging(entity_ids=[entity.pk], as_of=date(2026, 2, 28)).rows == []
    [row] = reporting_selectors.aging(entity_ids=[entity.pk], as_of=date(2026, 3, 1)).rows
    assert (row.customer_number, row.receivable_minor) == (customer.number, 119000)
    for day in (date(2026, 2, 28), date(2026, 3, 1)):
        assert rollforward.tie_out(entity=entity, as_of=day) == []


def test_a_payment_applied_late_settles_as_of_the_day_it_posted(
    entity: LegalEntity, customer: Customer, now: datetime
) -> None:
    invoice = issued_invoice(customer, issue_date=date(2026, 1, 20))
    services.period_close(entity=entity, start=FEBRUARY, actor=None, now=now)

    allocation = receivable_services.allocation_create(
        document_id=invoice.pk,
        kind="payment",
        amount_minor=50000,
        posting_date=date(2026, 2, 26),
        actor=None,
        now=now,
    )

    assert allocation.posting_date == date(2026, 3, 1)
    for day, open_minor in ((date(2026, 2, 28), 119000), (date(2026, 3, 1), 69000)):
        [row] = reporting_selectors.aging(entity_ids=[entity.pk], as_of=day).rows
        assert row.receivable_minor == open_minor
        assert rollforward.tie_out(entity=entity, as_of=day) == []


def test_a_migration_into_a_closed_period_is_refused_naming_the_first_date(
    entity: LegalEntity, customer: Customer, now: datetime
) -> None:
    services.period_close(entity=entity, start=FEBRUARY, actor=None, now=now)
    item = OpenItemIn(
        1, "OLD-1", customer.number, date(2026, 1, 5), date(2026, 2, 4), "EUR", 5000, 0, "", date(2026, 2, 3)
    )

    with pytest.raises(
        InputError, match=r"the period of 2026-02-03 is closed: reopen it .* \(1 dates in closed"
    ):
        migration.open_items_import(entity=entity, items=[item], actor=None, now=now, source="old.csv")
    assert not Document.objects.exists()
