"""The matching policy page (/cash/policy/): every role sees the policy in force, cash application, AR
managers and admins change it with a reason (audited), others are refused; in the reader's language."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from o2c.audit.models import AuditEvent
from o2c.cash import services as cash_services
from o2c.cash.models import MatchingPolicy
from o2c.ledger.models import LegalEntity
from o2c.workspace.models import UserPreference
from tests.conftest import NOW, make_user

pytestmark = pytest.mark.django_db

FORM = {
    "auto_apply_confidence": "0.950",
    "write_off_tolerance": "2.50",
    "discount_grace_days": "5",
    "fx_tolerance_percent": "0.25",
    "return_fee_charge": "fixed",
    "return_fee": "7.50",
    "reason": "tighter after the audit",
}


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def clerk_user(entity: LegalEntity) -> User:
    return make_user("carla", "cash_application", entities=[entity])


@pytest.fixture
def clerk(client: Client, clerk_user: User) -> Client:
    client.force_login(clerk_user)
    return client


def _text(response: Any) -> str:
    return response.content.decode()


def _by_id(html: str, element_id: str) -> str:
    """The text of the element with this id (tags removed, spaces and line breaks collapsed)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match is not None, element_id
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", match[2])).strip()


def _url(entity: LegalEntity) -> str:
    return reverse("cash_policy", args=[entity.pk])


class TestPage:
    def test_the_cash_navigation_leads_to_the_default_entitys_policy_with_the_defaults(self, clerk, entity):
        queue = _text(clerk.get(reverse("cash_payment_list")))
        assert f'href="{reverse("cash_policy_default")}"' in queue

        response = clerk.get(reverse("cash_policy_default"), follow=True)

        assert response.redirect_chain == [(_url(entity), 302)]
        html = _text(response)
        assert (
            _by_id(html, "policy-confidence"),
            _by_id(html, "policy-tolerance"),
            _by_id(html, "policy-grace-days"),
            _by_id(html, "policy-fx-tolerance"),
            _by_id(html, "policy-return-fee-charge"),
            _by_id(html, "policy-return-fee"),
            _by_id(html, "policy-changed"),
        ) == ("0.9", "€5.00", "3", "1 %", "No return fee", "€0.00", "Never changed: the defaults apply.")
        assert 'id="policy-form"' in html
        assert response.context["form"].initial["fx_tolerance_percent"] == Decimal("1.00")

    def test_a_change_is_saved_audited_with_its_reason_and_shown(self, clerk, clerk_user, entity):
        response = clerk.post(_url(entity), FORM, follow=True)

        assert response.redirect_chain == [(_url(entity), 302)]
        html = _text(response)
        assert "The matching policy of MAIN is saved: payments matched from now on follow it." in html
        assert (
            _by_id(html, "policy-confidence"),
            _by_id(html, "policy-tolerance"),
            _by_id(html, "policy-grace-days"),
            _by_id(html, "policy-fx-tolerance"),
            _by_id(html, "policy-return-fee-charge"),
            _by_id(html, "policy-return-fee"),
        ) == ("0.95", "€2.50", "5", "0.25 %", "A fixed return fee", "€7.50")
        policy = MatchingPolicy.objects.get(entity=entity)
        assert (
            policy.auto_apply_confidence,
            policy.write_off_tolerance_minor,
            policy.discount_grace_days,
            policy.fx_tolerance_percent,
            policy.return_fee_charge,
            policy.return_fee_minor,
        ) == (Decimal("0.950"), 250, 5, Decimal("0.25"), "fixed", 750)
        assert cash_services.policy_for(entity).fx_tolerance_percent == Decimal("0.25")
        (audit,) = AuditEvent.objects.filter(action="cash.policy.changed")
        assert (audit.actor_id, audit.reason, audit.changes) == (
            clerk_user.pk,
            "tighter after the audit",
            {
                "auto_apply_confidence": ["0.900", "0.950"],
                "write_off_tolerance": ["5.00 EUR", "2.50 EUR"],
                "discount_grace_days": [3, 5],
                "return_fee_charge": ["none", "fixed"],
                "return_fee": ["0.00 EUR", "7.50 EUR"],
                "fx_tolerance_percent": ["1.00", "0.25"],
            },
        )
        assert "tighter after the audit" in _by_id(html, "audit-history")

    @pytest.mark.parametrize(
        ("values", "field", "error"),
        [
            (
                {"fx_tolerance_percent": "10.5"},
                "fx_tolerance_percent",
                "Enter a percentage between 0 and 10 with at most two decimals.",
            ),
            (
                {"fx_tolerance_percent": "0.125"},
                "fx_tolerance_percent",
                "Enter a percentage between 0 and 10 with at most two decimals.",
            ),
            (
                {"auto_apply_confidence": "1.2"},
                "auto_apply_confidence",
                "Enter a confidence between 0 and 1 with at most three decimals.",
            ),
            ({"discount_grace_days": "90"}, "discount_grace_days", "Enter between 0 and 60 days."),
            (
                {"return_fee": "-1"},
                "return_fee",
                "Enter an amount that is not negative, with no more decimals than the currency has.",
            ),
            ({"reason": ""}, "reason", "Say why the matching policy changes."),
            ({"fx_tolerance_percent": "abc"}, "fx_tolerance_percent", "Enter a number."),
        ],
    )
    def test_a_bad_value_is_refused_on_its_field_and_nothing_changes(
        self, clerk, entity, values, field, error
    ):
        response = clerk.post(_url(entity), {**FORM, **values})

        assert response.status_code == 422
        assert response.context["form"].errors == {field: [error]}
        assert error in _text(response)
        assert not MatchingPolicy.objects.exists()
        assert not AuditEvent.objects.filter(action="cash.policy.changed").exists()

    def test_the_page_speaks_german_and_reads_german_numbers(self, clerk, clerk_user, entity):
        UserPreference.objects.create(user=clerk_user, language="de")

        response = clerk.post(_url(entity), {**FORM, "fx_tolerance_percent": "0,5"}, follow=True)

        html = _text(response)
        assert "<h1>Zuordnungsregeln</h1>" in html
        assert "Die Zuordnungsregeln von MAIN sind gespeichert" in html
        assert _by_id(html, "policy-fx-tolerance") == "0,5 %"
        assert _by_id(html, "policy-tolerance") == "2,50\xa0€"
        assert "Währungstoleranz (%)" in html
        assert MatchingPolicy.objects.get().fx_tolerance_percent == Decimal("0.50")


class TestAccess:
    @pytest.mark.parametrize("role", ["ar_manager", "admin"])
    def test_ar_managers_and_admins_may_change_it(self, client, entity, role):
        client.force_login(make_user("mia", role, entities=[entity]))

        response = client.post(_url(entity), FORM)

        assert response.status_code == 302
        assert MatchingPolicy.objects.get().fx_tolerance_percent == Decimal("0.25")

    @pytest.mark.parametrize("role", ["billing", "auditor", "collector", "credit", "disputes"])
    def test_readers_see_it_read_only_and_may_not_change_it(self, client, entity, role):
        client.force_login(make_user("rita", role, entities=[entity]))

        page = client.get(_url(entity))
        refused = client.post(_url(entity), FORM)

        assert page.status_code == 200
        assert _by_id(_text(page), "policy-fx-tolerance") == "1 %"
        assert 'id="policy-form"' not in _text(page)
        assert refused.status_code == 403
        assert not MatchingPolicy.objects.exists()

    def test_a_user_without_a_role_may_not_look(self, client, entity):
        client.force_login(make_user("nora", entities=[entity]))

        assert client.get(reverse("cash_policy_default")).status_code == 403
        assert client.get(_url(entity)).status_code == 403
        assert client.post(_url(entity), FORM).status_code == 403

    def test_another_entitys_policy_is_404(self, clerk, other_entity):
        assert clerk.get(_url(other_entity)).status_code == 404
        assert clerk.post(_url(other_entity), FORM).status_code == 404
        assert not MatchingPolicy.objects.exists()
