"""Amending, cancelling and renewing a subscription from its page: the forms, who may use them, what
the success message promises, and that the next billing run does exactly that."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from o2c.audit.models import AuditEvent
from o2c.billing import runs, selectors, services
from o2c.billing.models import Product, Subscription, SubscriptionTerm
from o2c.billing.services import ProductIn
from o2c.customers import services as customer_services
from o2c.ledger.models import LegalEntity
from o2c.workspace.models import UserPreference
from tests.conftest import NOW, customer_in, make_user
from tests.integration.test_billing_runs import product, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def subscriptions(entity: LegalEntity) -> dict[str, Subscription]:
    """C-DE (Germany, 19 %) has 10 seats at 10.00 a month since January (S-1, open-ended) and a
    platform at 100.00 a month for January only (S-2); January was billed in advance on 1 January."""
    customer_services.customer_create(entity=entity, data=customer_in("C-DE"), actor=None, now=NOW)
    services.products_import(
        entity=entity,
        products=[
            product("BASE", "flat", "100.00", name="Platform"),
            product("SEAT", "per_unit", "10.00", name="Seats"),
            product("SEAT-LITE", "per_unit", "8.00", name="Lite seats"),
            product("SUPPORT", "flat", "1200.00", period="year"),
            product("API", "tiered", tiers="1000:0.10|*:0.05", timing="arrears", metric="api_calls"),
            ProductIn("USD-ONLY", "Dollar seats", "per_unit", "USD", Decimal(12), "", "month", "advance"),
        ],
        actor=None,
        now=NOW,
    )
    found = {
        "S-1": subscribe(entity, "S-1", "C-DE", "SEAT", "10", date(2026, 1, 1)),
        "S-2": subscribe(entity, "S-2", "C-DE", "BASE", "1", date(2026, 1, 1), end=date(2026, 1, 31)),
    }
    runs.billing_run(entity=entity, as_of=date(2026, 1, 1), issue=True, actor=None, now=NOW)
    return {number: Subscription.objects.get(pk=s.pk) for number, s in found.items()}


def detail_url(subscription: Subscription) -> str:
    return reverse("billing_subscription_detail", args=[subscription.pk])


def post(client: Client, name: str, subscription: Subscription, **data: str) -> Any:
    return client.post(reverse(name, args=[subscription.pk]), data)


def message_after(client: Client, response: Any) -> str:
    assert response.status_code == 302, response.content.decode()[:3000]
    page = client.get(response["Location"])
    return " ".join(str(m) for m in page.context["messages"])


def next_run(entity: LegalEntity, as_of: date = date(2026, 2, 1)) -> list[tuple[str, int, int, int]]:
    result = runs.billing_run(entity=entity, as_of=as_of, issue=True, actor=None, now=NOW)
    return [(d.document_type, d.net_minor, d.tax_minor, d.total_minor) for d in result.documents]


def terms_of(subscription: Subscription) -> list[tuple[date, str, Decimal, Decimal, str]]:
    return [
        (t.effective_from, t.product.code, t.quantity.normalize(), t.discount_percent.normalize(), t.reason)
        for t in SubscriptionTerm.objects.filter(subscription=subscription)
        .select_related("product")
        .order_by("effective_from")
    ]


class TestPage:
    def test_a_billing_analyst_gets_the_amend_cancel_and_renew_forms(
        self, client, billing_user, subscriptions
    ):
        client.force_login(billing_user)
        text = client.get(detail_url(subscriptions["S-2"])).content.decode()
        for marker in ('id="amend-form"', 'id="cancel-form"', 'id="renew-form"', 'href="#amend"'):
            assert marker in text
        assert "Billed through Jan 31, 2026" in text

    def test_an_open_ended_subscription_has_nothing_to_renew(self, client, billing_user, subscriptions):
        client.force_login(billing_user)
        text = client.get(detail_url(subscriptions["S-1"])).content.decode()
        assert 'id="amend-form"' in text
        assert 'id="renew-form"' not in text

    def test_the_product_choice_offers_products_on_the_same_schedule_priced_in_the_currency(
        self, client, billing_user, subscriptions
    ):
        client.force_login(billing_user)
        form = client.get(detail_url(subscriptions["S-1"])).context["amend_form"]
        assert [code for code, _label in form.fields["product_code"].choices] == [
            "",
            "BASE",
            "SEAT",
            "SEAT-LITE",
        ]

    @pytest.mark.parametrize("role", ["auditor", "collector", "cash_application"])
    def test_other_roles_see_the_subscription_without_the_forms(self, client, entity, subscriptions, role):
        client.force_login(make_user("someone", role, entities=[entity]))
        response = client.get(detail_url(subscriptions["S-2"]))
        assert response.status_code == 200
        text = response.content.decode()
        assert 'id="subscription-changes"' not in text
        assert "amend-form" not in text


class TestAmend:
    def test_an_upgrade_into_billed_days_is_charged_on_the_next_invoice_as_promised(
        self, client, entity, billing_user, subscriptions
    ):
        subscription = subscriptions["S-1"]
        client.force_login(billing_user)
        response = post(
            client,
            "billing_subscription_amend",
            subscription,
            effective_from="2026-01-16",
            quantity="20",
            reason="ten more users",
        )
        assert message_after(client, response) == (
            "Subscription S-1 amended from Jan 16, 2026. Jan 16, 2026 to Jan 31, 2026 were billed already: "
            "the next billing run charges the prorated difference on an invoice."
        )
        assert response["Location"] == detail_url(subscription)
        assert terms_of(subscription) == [
            (date(2026, 1, 1), "SEAT", Decimal(10), Decimal(0), ""),
            (date(2026, 1, 16), "SEAT", Decimal(20), Decimal(0), "ten more users"),
        ]
        [event] = AuditEvent.objects.filter(action="billing.subscription.amended")
        assert (event.actor, event.object_id, event.reason) == (
            billing_user,
            subscription.pk,
            "ten more users",
        )
        changes = dict(event.changes)
        assert [Decimal(value) for value in changes.pop("quantity")] == [10, 20]
        assert changes == {
            "product": ["SEAT", "SEAT"],
            "discount_percent": ["0", "0"],
            "effective_from": [None, "2026-01-16"],
        }
        # January re-rated: days 1-15 of 100.00 = 48.45, days 16-31 of 200.00 = 103.20; 151.65 − 100.00
        # = 51.65, and February 200.00: 251.65 net, 47.81 tax
        assert next_run(entity) == [("invoice", 25165, 4781, 29946)]

    def test_a_downgrade_to_a_cheaper_product_is_credited_on_a_credit_memo_as_promised(
        self, client, entity, billing_user, subscriptions
    ):
        client.force_login(billing_user)
        response = post(
            client,
            "billing_subscription_amend",
            subscriptions["S-1"],
            effective_from="2026-01-16",
            product_code="SEAT-LITE",
            reason="moves to the lite plan",
        )
        assert message_after(client, response).endswith(
            "Jan 16, 2026 to Jan 31, 2026 were billed already: the next billing run credits the prorated "
            "difference on a credit memo."
        )
        # days 16-31 of January were 51.55 at 100.00 a month and are 41.28 at 80.00: 10.27 credited
        # (1.95 tax); February is billed at 80.00 (15.20 tax)
        assert sorted(next_run(entity)) == [
            ("credit_memo", -1027, -195, -1222),
            ("invoice", 8000, 1520, 9520),
        ]

    def test_a_change_of_days_not_yet_billed_applies_as_the_periods_fall_due(
        self, client, entity, billing_user, subscriptions
    ):
        subscription = subscriptions["S-1"]
        client.force_login(billing_user)
        response = post(
            client,
            "billing_subscription_amend",
            subscription,
            effective_from="2026-03-01",
            discount_percent="12.5",
            reason="loyalty discount",
        )
        assert message_after(client, response) == (
            "Subscription S-1 amended from Mar 1, 2026. Billing runs bill the new terms for the periods "
            "from that day as they fall due."
        )
        assert Subscription.objects.get(pk=subscription.pk).rerate_from is None
        assert terms_of(subscription)[-1] == (
            date(2026, 3, 1),
            "SEAT",
            Decimal(10),
            Decimal("12.5"),
            "loyalty discount",
        )
        assert next_run(entity, date(2026, 3, 1)) == [("invoice", 10000 + 8750, 1900 + 1663, 22313)]

    def test_the_same_price_per_period_is_neither_charged_nor_credited(
        self, client, entity, billing_user, subscriptions
    ):
        client.force_login(billing_user)
        response = post(
            client,
            "billing_subscription_amend",
            subscriptions["S-2"],
            effective_from="2026-01-10",
            quantity="3",
            reason="flat price: seats do not count",
        )
        assert message_after(client, response).endswith(
            "Jan 10, 2026 to Jan 31, 2026 were billed already at the same price per period: the next "
            "billing run charges or credits nothing for them."
        )
        assert next_run(entity) == [("invoice", 10000, 1900, 11900)]  # the seats' February alone

    def test_an_amendment_that_changes_nothing_is_refused(self, client, billing_user, subscriptions):
        client.force_login(billing_user)
        response = post(
            client,
            "billing_subscription_amend",
            subscriptions["S-1"],
            effective_from="2026-02-01",
            quantity="10",
            product_code="SEAT",
            reason="typo",
        )
        assert response.status_code == 422
        assert "Nothing changes from this day: give another quantity, product or discount." in (
            response.content.decode()
        )
        assert len(terms_of(subscriptions["S-1"])) == 1
        assert not AuditEvent.objects.filter(action="billing.subscription.amended").exists()

    def test_a_day_outside_the_subscription_is_refused_in_the_readers_language(
        self, client, billing_user, subscriptions
    ):
        UserPreference.objects.create(user=billing_user, language="de")
        client.force_login(billing_user)
        response = post(
            client,
            "billing_subscription_amend",
            subscriptions["S-2"],
            effective_from="2026-02-01",
            quantity="2",
            reason="zu spät",
        )
        assert response.status_code == 422
        text = response.content.decode()
        assert "Wählen Sie einen Tag vom 01.01.2026 bis 31.01.2026, der Laufzeit des Abonnements." in text
        assert '<details id="amend" open>' in text
        assert len(terms_of(subscriptions["S-2"])) == 1

    def test_a_product_on_another_schedule_cannot_be_chosen(self, client, billing_user, subscriptions):
        client.force_login(billing_user)
        response = post(
            client,
            "billing_subscription_amend",
            subscriptions["S-1"],
            effective_from="2026-02-01",
            product_code="SUPPORT",
            reason="upgrade",
        )
        assert response.status_code == 422
        assert response.context["amend_form"].errors["product_code"] == [
            "Select a valid choice. SUPPORT is not one of the available choices."
        ]
        assert len(terms_of(subscriptions["S-1"])) == 1

    def test_the_services_refusal_shows_on_the_field_it_names(
        self, client, billing_user, subscriptions, monkeypatch
    ):
        """A product list gone stale: the service still refuses a product on another schedule."""
        every_product = list(Product.objects.order_by("code"))
        monkeypatch.setattr(selectors, "products_for_amendment", lambda **kw: every_product)
        client.force_login(billing_user)
        response = post(
            client,
            "billing_subscription_amend",
            subscriptions["S-1"],
            effective_from="2026-02-01",
            product_code="SUPPORT",
            reason="upgrade",
        )
        assert response.status_code == 422
        assert response.context["amend_form"].errors["product_code"] == [
            "The product bills on another schedule: choose one billed like the current one."
        ]
        assert len(terms_of(subscriptions["S-1"])) == 1


class TestCancel:
    def test_a_cancellation_inside_billed_days_is_credited_on_a_credit_memo_as_promised(
        self, client, entity, billing_user, subscriptions
    ):
        subscription = subscriptions["S-1"]
        client.force_login(billing_user)
        response = post(
            client, "billing_subscription_cancel", subscription, end_date="2026-01-20", reason="customer left"
        )
        assert message_after(client, response) == (
            "Subscription S-1 ends on Jan 20, 2026. The next billing run credits the days billed after it "
            "(Jan 21, 2026 to Jan 31, 2026) on a credit memo."
        )
        assert Subscription.objects.get(pk=subscription.pk).end_date == date(2026, 1, 20)
        [event] = AuditEvent.objects.filter(action="billing.subscription.cancelled")
        assert (event.actor, event.changes, event.reason) == (
            billing_user,
            {"end_date": [None, "2026-01-20"]},
            "customer left",
        )
        # days 21-31 of 100.00: 11 × 3.22 = 35.42 credited, 6.73 tax
        assert next_run(entity) == [("credit_memo", -3542, -673, -4215)]

    def test_a_cancellation_after_the_billed_days_credits_nothing(
        self, client, entity, billing_user, subscriptions
    ):
        client.force_login(billing_user)
        response = post(
            client,
            "billing_subscription_cancel",
            subscriptions["S-1"],
            end_date="2026-02-28",
            reason="notice",
        )
        assert message_after(client, response) == (
            "Subscription S-1 ends on Feb 28, 2026. Billing runs bill it up to that day and no further."
        )
        assert next_run(entity, date(2026, 3, 1)) == [("invoice", 10000, 1900, 11900)]

    @pytest.mark.parametrize(
        ("end_date", "message"),
        [
            (
                "2026-01-31",
                "The subscription ends on Jan 31, 2026 already: choose an earlier day, or renew it.",
            ),
            (
                "2026-03-31",
                "The subscription ends on Jan 31, 2026 already: choose an earlier day, or renew it.",
            ),
            ("2025-12-31", "The last day cannot be before the start date Jan 1, 2026."),
        ],
    )
    def test_a_day_that_does_not_cancel_is_refused_and_nothing_changes(
        self, client, billing_user, subscriptions, end_date, message
    ):
        client.force_login(billing_user)
        response = post(
            client, "billing_subscription_cancel", subscriptions["S-2"], end_date=end_date, reason="r"
        )
        assert response.status_code == 422
        assert response.context["cancel_form"].errors["end_date"] == [message]
        assert Subscription.objects.get(pk=subscriptions["S-2"].pk).end_date == date(2026, 1, 31)
        assert not AuditEvent.objects.filter(action__startswith="billing.subscription.c").exists()

    def test_a_reason_is_required(self, client, billing_user, subscriptions):
        client.force_login(billing_user)
        response = post(client, "billing_subscription_cancel", subscriptions["S-1"], end_date="2026-01-20")
        assert response.status_code == 422
        assert response.context["cancel_form"].errors["reason"] == ["This field is required."]
        assert Subscription.objects.get(pk=subscriptions["S-1"].pk).end_date is None


class TestRenew:
    def test_a_renewal_bills_the_added_days_as_their_periods_fall_due(
        self, client, entity, billing_user, subscriptions
    ):
        subscription = subscriptions["S-2"]
        client.force_login(billing_user)
        response = post(
            client, "billing_subscription_renew", subscription, end_date="2026-06-30", reason="renewed for H1"
        )
        assert message_after(client, response) == (
            "Subscription S-2 renewed until Jun 30, 2026. Billing runs bill the days from Feb 1, 2026 as "
            "their periods fall due."
        )
        [event] = AuditEvent.objects.filter(action="billing.subscription.renewed")
        assert (event.actor, event.changes) == (billing_user, {"end_date": ["2026-01-31", "2026-06-30"]})
        # February: the platform 100.00 and the seats 100.00
        assert next_run(entity) == [("invoice", 20000, 3800, 23800)]

    def test_a_renewal_without_an_end_date_makes_it_open_ended(self, client, billing_user, subscriptions):
        client.force_login(billing_user)
        response = post(
            client, "billing_subscription_renew", subscriptions["S-2"], open_ended="on", reason="r"
        )
        assert message_after(client, response).startswith("Subscription S-2 renewed with no end date.")
        assert Subscription.objects.get(pk=subscriptions["S-2"].pk).end_date is None

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            (
                {"end_date": "2026-01-31"},
                "Choose a day after the current last day Jan 31, 2026; an earlier one is a cancellation.",
            ),
            (
                {"end_date": "2026-06-30", "open_ended": "on"},
                "Give the new last day or tick “No end date”: one of the two.",
            ),
            ({}, "Give the new last day or tick “No end date”: one of the two."),
        ],
    )
    def test_a_day_that_does_not_renew_is_refused(self, client, billing_user, subscriptions, data, message):
        client.force_login(billing_user)
        response = post(client, "billing_subscription_renew", subscriptions["S-2"], reason="r", **data)
        assert response.status_code == 422
        assert response.context["renew_form"].errors["end_date"] == [message]
        assert Subscription.objects.get(pk=subscriptions["S-2"].pk).end_date == date(2026, 1, 31)

    def test_an_open_ended_subscription_cannot_be_renewed(self, client, billing_user, subscriptions):
        client.force_login(billing_user)
        response = post(
            client, "billing_subscription_renew", subscriptions["S-1"], end_date="2026-12-31", reason="r"
        )
        assert response.status_code == 422
        assert "The subscription has no end date: there is nothing to renew." in response.content.decode()
        assert Subscription.objects.get(pk=subscriptions["S-1"].pk).end_date is None


class TestAccess:
    CHANGES = [
        ("billing_subscription_amend", {"effective_from": "2026-01-16", "quantity": "20", "reason": "r"}),
        ("billing_subscription_cancel", {"end_date": "2026-01-20", "reason": "r"}),
        ("billing_subscription_renew", {"end_date": "2026-06-30", "reason": "r"}),
    ]

    @pytest.mark.parametrize(("name", "data"), CHANGES)
    @pytest.mark.parametrize("role", ["auditor", "collector", "cash_application", "credit", "disputes"])
    def test_roles_that_only_see_may_not_change(self, client, entity, subscriptions, name, data, role):
        client.force_login(make_user("someone", role, entities=[entity]))
        response = client.post(reverse(name, args=[subscriptions["S-2"].pk]), data)
        assert response.status_code == 403
        assert len(terms_of(subscriptions["S-2"])) == 1
        assert Subscription.objects.get(pk=subscriptions["S-2"].pk).end_date == date(2026, 1, 31)
        assert not AuditEvent.objects.filter(object_type="subscription", actor__isnull=False).exists()

    @pytest.mark.parametrize(("name", "data"), CHANGES)
    def test_an_ar_manager_may_change(self, client, entity, subscriptions, name, data):
        client.force_login(make_user("manon", "ar_manager", entities=[entity]))
        assert client.post(reverse(name, args=[subscriptions["S-2"].pk]), data).status_code == 302

    @pytest.mark.parametrize(("name", "data"), CHANGES)
    def test_another_entitys_subscription_is_404_and_unchanged(
        self, client, billing_user, other_entity, name, data
    ):
        customer_services.customer_create(
            entity=other_entity, data=customer_in("C-FR", country="FR"), actor=None, now=NOW
        )
        services.products_import(
            entity=other_entity, products=[product("SEAT", "per_unit", "10.00")], actor=None, now=NOW
        )
        foreign = subscribe(
            other_entity, "S-FR", "C-FR", "SEAT", "10", date(2026, 1, 1), end=date(2026, 1, 31)
        )
        client.force_login(billing_user)
        assert client.post(reverse(name, args=[foreign.pk]), data).status_code == 404
        assert len(terms_of(foreign)) == 1
        assert Subscription.objects.get(pk=foreign.pk).end_date == date(2026, 1, 31)

    @pytest.mark.parametrize(("name", "data"), CHANGES)
    def test_a_get_is_not_allowed_and_anonymous_people_log_in_first(
        self, client, billing_user, subscriptions, name, data
    ):
        url = reverse(name, args=[subscriptions["S-2"].pk])
        assert client.post(url, data)["Location"].startswith(reverse("login"))
        client.force_login(billing_user)
        assert client.get(url).status_code == 405
