"""The audit trail page names the billing and tax set-up actions in the reader's language, never by
their codes, and shows a subscription's old and new quantity as plain numbers."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from o2c.billing import services
from o2c.billing.services import InvoiceProfileIn
from o2c.customers import services as customer_services
from o2c.ledger import services as ledger_services
from o2c.ledger.models import LegalEntity
from o2c.workspace.models import UserPreference
from tests.conftest import NOW, customer_in
from tests.integration.test_billing_runs import product, subscribe

pytestmark = pytest.mark.django_db

CODE = re.compile(r"^[a-z_]+(\.[a-z_]+){2}$")


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def billing_changes(entity: LegalEntity) -> None:
    """A seller profile, a tax registration, and S-1 amended from 10 to 12 seats."""
    services.invoice_profile_set(
        entity=entity, data=InvoiceProfileIn(address="Hauptstraße 1\n10115 Berlin"), actor=None, now=NOW
    )
    ledger_services.tax_registration_set(
        entity=entity, country="AT", scheme="vat", number="ATU13585627", actor=None, now=NOW
    )
    customer_services.customer_create(entity=entity, data=customer_in("C-DE"), actor=None, now=NOW)
    services.products_import(
        entity=entity, products=[product("SEAT", "per_unit", "10.00", name="Seats")], actor=None, now=NOW
    )
    subscription = subscribe(entity, "S-1", "C-DE", "SEAT", "10", date(2026, 1, 1))
    services.subscription_amend(
        subscription_id=subscription.pk,
        effective_from=date(2026, 2, 1),
        quantity=Decimal(12),
        actor=None,
        now=NOW,
        reason="two more users",
    )


def what_column(text: str) -> list[str]:
    """The third cell ("What") of each row of the audit table."""
    rows = re.findall(r"<tr>\s*<td[^>]*>.*?</td>\s*<td>.*?</td>\s*<td>(.*?)</td>", text, re.S)
    return [row.strip() for row in rows]


class TestAuditTrailLabels:
    def test_billing_and_tax_set_up_actions_are_named_in_words(self, client, auditor_user, billing_changes):
        client.force_login(auditor_user)
        text = client.get(reverse("audit_list")).content.decode()
        actions = what_column(text)
        assert [action for action in actions if CODE.match(action)] == []
        for label in ("Invoice profile created", "Tax registration added", "Subscription amended"):
            assert label in actions

    def test_the_amended_quantity_reads_10_to_12(self, client, auditor_user, billing_changes):
        client.force_login(auditor_user)
        text = client.get(reverse("audit_list")).content.decode()
        assert "<code>quantity</code>: <del>10</del> &rarr; 12</div>" in text
        assert "E+" not in text

    def test_a_german_reader_reads_them_in_german(self, client, auditor_user, billing_changes):
        UserPreference.objects.create(user=auditor_user, language="de")
        client.force_login(auditor_user)
        actions = what_column(client.get(reverse("audit_list")).content.decode())
        for label in ("Rechnungsprofil angelegt", "Steuerregistrierung erfasst", "Abonnement geändert"):
            assert label in actions
