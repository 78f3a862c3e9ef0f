"""The disputes settings page of a legal entity: routing and SLA per reason, customers' own codes and
write-off thresholds, read by the roles that read cases and changed by AR managers and admins through
the disputes services (audited); a refusal shows on the form and changes nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from o2c.audit.models import AuditEvent
from o2c.disputes.models import ReasonMapping, ReasonPolicy, WriteOffPolicy
from o2c.ledger.models import LegalEntity
from o2c.workspace.models import UserPreference
from tests.conftest import NOW, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return response.content.decode()


def cells(html: str, table_id: str) -> list[list[str]]:
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S)
    assert table is not None, table_id
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", re.sub(r"<thead>.*?</thead>", "", table[0], flags=re.S), re.S)
    return [
        [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in rows
    ]


@pytest.fixture
def manager(entity: LegalEntity) -> Client:
    return login(make_user("martin", "ar_manager", entities=[entity]))


def page(entity: LegalEntity) -> str:
    return reverse("dispute_settings", args=[entity.pk])


def change(entity: LegalEntity, what: str) -> str:
    return reverse("dispute_settings_change", args=[entity.pk, what])


class TestRead:
    def test_the_list_links_to_the_default_entitys_settings_with_every_reasons_routing(self, entity, manager):
        assert 'id="settings-link"' in text(manager.get(reverse("dispute_case_list")))
        response = manager.get(reverse("dispute_settings_default"), follow=True)

        html = text(response)
        assert response.redirect_chain[-1][0] == page(entity)
        assert cells(html, "policy-table")[:2] == [
            ["Pricing", "Sales", "10", "default"],
            ["Quantity", "Logistics", "10", "default"],
        ]
        assert "No threshold: write-offs need no approval." in html
        for form in ("policy-form", "mapping-form", "threshold-form"):
            assert f'id="{form}"' in html

    def test_an_analyst_reads_without_the_forms_and_may_not_change(self, entity):
        analyst = login(make_user("dora", "disputes", entities=[entity]))

        html = text(analyst.get(page(entity)))

        assert "policy-table" in html and 'id="policy-form"' not in html
        refused = analyst.post(
            change(entity, "policy"),
            {"policy-reason_code": "pricing", "policy-team": "billing", "policy-sla_days": "5"},
        )
        assert refused.status_code == 403
        assert not ReasonPolicy.objects.exists()

    def test_another_entity_is_404(self, other_entity, manager):
        assert manager.get(page(other_entity)).status_code == 404
        assert manager.post(change(other_entity, "threshold"), {}).status_code == 404


class TestChange:
    def test_a_manager_sets_the_routing_of_a_reason(self, entity, manager):
        response = manager.post(
            change(entity, "policy"),
            {
                "policy-reason_code": "pricing",
                "policy-team": "billing",
                "policy-sla_days": "5",
                "policy-reason": "new SLA",
            },
            follow=True,
        )

        html = text(response)
        assert "New cases of Pricing go to Billing within 5 business days." in html
        assert cells(html, "policy-table")[0] == ["Pricing", "Billing", "5", ""]
        assert AuditEvent.objects.get(action="disputes.reason_policy.set").reason == "new SLA"

    def test_a_manager_maps_a_customers_code_and_an_unknown_customer_is_refused(
        self, entity, manager, customer
    ):
        done = manager.post(
            change(entity, "mapping"),
            {
                "mapping-customer_code": "dmg-01",
                "mapping-customer_number": "C-1000",
                "mapping-reason_code": "damaged_goods",
            },
            follow=True,
        )
        refused = manager.post(
            change(entity, "mapping"),
            {
                "mapping-customer_code": "X",
                "mapping-customer_number": "C-9999",
                "mapping-reason_code": "pricing",
            },
        )

        assert "The code DMG-01 now means: Damaged goods." in text(done)
        assert cells(text(done), "mapping-table") == [["DMG-01", "C-1000", "Damaged goods"]]
        assert refused.status_code == 422
        assert "no customer C-9999" in text(refused)
        assert list(ReasonMapping.objects.values_list("customer_code", flat=True)) == ["DMG-01"]

    def test_a_german_manager_types_the_threshold_in_her_format_and_an_empty_one_removes_it(
        self, entity, manager
    ):
        user = User.objects.get(username="martin")
        UserPreference.objects.create(user=user, language="de")

        manager.post(
            change(entity, "threshold"),
            {
                "threshold-currency": "EUR",
                "threshold-threshold": "1.500,00",
                "threshold-reason": "Richtlinie",
            },
        )
        html = text(manager.get(page(entity)))

        assert list(WriteOffPolicy.objects.values_list("currency", "threshold_minor")) == [("EUR", 150000)]
        assert cells(html, "threshold-table")[0][:2] == ["EUR", "1.500,00 €"]  # no-break space collapsed

        manager.post(
            change(entity, "threshold"),
            {"threshold-currency": "EUR", "threshold-threshold": "", "threshold-reason": "keine"},
        )
        assert not WriteOffPolicy.objects.exists()
        assert AuditEvent.objects.filter(action="disputes.write_off_policy.changed").count() == 2

    def test_a_refused_threshold_shows_the_services_sentence_and_changes_nothing(self, entity, manager):
        response = manager.post(
            change(entity, "threshold"),
            {"threshold-currency": "EUR", "threshold-threshold": "1.001", "threshold-reason": "x"},
        )

        assert response.status_code == 422
        assert "is not a positive amount in EUR" in text(response)
        assert not WriteOffPolicy.objects.exists()
        assert not AuditEvent.objects.filter(action="disputes.write_off_policy.changed").exists()
