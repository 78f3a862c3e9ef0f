"""Shared fixtures. Transactional state is built by calling the services, never by writing rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.utils import translation

from o2c.audit import triggers as audit_triggers
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.customers.services import CustomerIn
from o2c.ledger import services as ledger_services
from o2c.ledger import triggers
from o2c.ledger.models import LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document

pytest_plugins = ["tests.smtp_server"]

NOW = datetime(2026, 3, 16, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    """Open fiscal periods 2023-2028 once, so tests with fixed dates keep working in later years."""
    with django_db_blocker.unblock():
        for entity in LegalEntity.objects.all():
            ledger_services.periods_open(
                entity=entity, first=date(2023, 1, 1), last=date(2028, 12, 31), now=NOW, reason="test setup"
            )


_guards_dropped: list[bool] = []


@pytest.fixture
def ledger_purgeable(django_db_serialized_rollback: None, transactional_db: None) -> Iterator[None]:
    """For tests that commit (live server): SQLite's flush deletes rows, which the ledger's and the
    audit trail's triggers refuse, so the guards come off before the flush and go back before the
    next test."""
    yield
    if connection.vendor == "sqlite":
        triggers.drop(connection)
        audit_triggers.drop(connection)
        _guards_dropped.append(True)


@pytest.fixture(autouse=True)
def _ledger_guards_back(django_db_blocker: Any) -> None:
    if _guards_dropped:
        with django_db_blocker.unblock():
            triggers.install(connection)
            audit_triggers.install(connection)
        _guards_dropped.clear()


@pytest.fixture(autouse=True)
def _english_first() -> Iterator[None]:
    """Each test starts in the default language: a request handled by an earlier test in the same worker
    leaves its language active (LocaleMiddleware activates, nothing deactivates)."""
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _no_invoice_delivery(settings: Any) -> None:
    """Billing runs render and mail invoices after commit; only the delivery tests turn that on."""
    settings.O2C_DELIVER_INVOICES = False


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def entity(db: None) -> LegalEntity:
    return LegalEntity.objects.get(is_default=True)


@pytest.fixture
def other_entity(db: None, now: datetime) -> LegalEntity:
    entity = ledger_services.entity_create(
        code="FR01",
        name="O2C France SAS",
        country="FR",
        currency="EUR",
        time_zone="Europe/Paris",
        today=date(2026, 3, 16),
        now=now,
    )
    ledger_services.periods_open(
        entity=entity, first=date(2023, 1, 1), last=date(2028, 12, 31), now=now, reason="t"
    )
    return entity


def make_user(username: str, *roles: str, entities: list[LegalEntity] | None = None, **extra: Any) -> User:
    user = User.objects.create_user(username=username, password="correct-horse-battery", **extra)
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    for granted in entities or []:
        ledger_services.entity_grant(user=user, entity=granted, now=NOW, actor=None)
    return user


@pytest.fixture
def billing_user(entity: LegalEntity) -> User:
    return make_user("bianca", "billing", entities=[entity])


@pytest.fixture
def auditor_user(entity: LegalEntity) -> User:
    return make_user("aude", "auditor", entities=[entity])


def customer_in(number: str = "C-1000", **overrides: Any) -> CustomerIn:
    values: dict[str, Any] = {
        "number": number,
        "name": "Müller Maschinenbau GmbH",
        "country": "DE",
        "currency": "EUR",
        "language": "de",
        "payment_terms": "NET30",
        "email": "ap@mueller.example",
    }
    values.update(overrides)
    return CustomerIn(**values)


@pytest.fixture
def customer(entity: LegalEntity, now: datetime) -> Customer:
    return customer_services.customer_create(entity=entity, data=customer_in(), actor=None, now=now)


def issued_invoice(
    customer: Customer, *, lines: list[LineIn] | None = None, issue_date: date = date(2026, 3, 2), **kw: Any
) -> Document:
    draft = receivable_services.document_create(
        customer=customer,
        document_type="invoice",
        issue_date=issue_date,
        lines=lines or [LineIn("Consulting", Decimal("10"), Decimal("100.00"), Decimal("19"))],
        actor=None,
        now=NOW,
        **kw,
    )
    return receivable_services.document_issue(document_id=draft.pk, actor=None, now=NOW)


def issued_credit_memo(
    invoice: Document, *, amount: Decimal, issue_date: date = date(2026, 3, 10)
) -> Document:
    draft = receivable_services.document_create(
        customer=invoice.customer,
        document_type="credit_memo",
        issue_date=issue_date,
        lines=[LineIn("Credit", Decimal(1), amount, Decimal(0))],
        actor=None,
        now=NOW,
        corrects=invoice,
    )
    return receivable_services.document_issue(document_id=draft.pk, actor=None, now=NOW)
