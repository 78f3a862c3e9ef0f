"""The billing analyst's pages: subscriptions, runs, and the run review with preview and issue."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from o2c.billing import runs, services
from o2c.billing.models import BillingRun, Subscription
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import JournalEntry, LegalEntity
from o2c.receivables.models import Document
from o2c.workspace.models import UserPreference
from tests.conftest import NOW, customer_in, make_user
from tests.integration.test_billing_runs import product, subscribe

pytestmark = pytest.mark.django_db

MARCH = date(2026, 3, 1)


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def billed(entity: LegalEntity) -> dict[str, Subscription]:
    """C-DE has had a platform (100.00 a month) since January and 5 seats (10.00 each) since February;
    January and February were issued on 1 February. March adds a new contract, and the seats end on
    20 March."""
    customer_services.customer_create(entity=entity, data=customer_in("C-DE"), actor=None, now=NOW)
    customer_services.customer_create(
        entity=entity, data=customer_in("C-AT", name="Alpen GmbH", country="AT"), actor=None, now=NOW
    )
    services.products_import(
        entity=entity,
        products=[product("BASE", "flat", "100.00", name="Platform"), product("SEAT", "per_unit", "10.00")],
        actor=None,
        now=NOW,
    )
    found = {
        "S-1": subscribe(entity, "S-1", "C-DE", "BASE", "1", date(2026, 1, 1)),
        "S-2": subscribe(entity, "S-2", "C-DE", "SEAT", "5", date(2026, 2, 1), end=date(2026, 3, 20)),
    }
    runs.billing_run(entity=entity, as_of=date(2026, 2, 1), issue=True, actor=None, now=NOW)
    found["S-3"] = subscribe(entity, "S-3", "C-AT", "BASE", "1", MARCH)
    return found


def review_of(client: Client, entity: LegalEntity, as_of: date = MARCH) -> Any:
    response = client.get(reverse("billing_review"), {"entity": str(entity.pk), "as_of": as_of.isoformat()})
    assert response.status_code == 200
    return response


def run_post(client: Client, entity: LegalEntity, action: str, **extra: str) -> Any:
    data = {"entity": str(entity.pk), "as_of": MARCH.isoformat(), "action": action, **extra}
    return client.post(reverse("billing_run_start"), data)


class TestReview:
    def test_compares_the_drafts_with_what_runs_issued_the_month_before(
        self, client, billing_user, entity, billed
    ):
        runs.billing_run(entity=entity, as_of=MARCH, issue=False, actor=None, now=NOW)
        client.force_login(billing_user)
        review = review_of(client, entity).context["review"]
        # February (issued 1 February): January and February platform 2 × 100.00 + February seats 50.00
        # = 250.00 net, 47.50 tax = 297.50. March drafts: C-DE platform 100.00 + seats for 20 of 31 days
        # of 50.00 (32.29) = 132.29 net, 25.14 tax = 157.43; C-AT (a consumer in Austria, 20 %)
        # 100.00 + 20.00 = 120.00.
        [eur] = review.comparison
        assert (eur.currency, eur.pending_minor, eur.issued_minor, eur.previous_minor) == (
            "EUR",
            15743 + 12000,
            0,
            29750,
        )
        assert eur.change_minor == 15743 + 12000 - 29750
        assert review.draft_count == 2
        assert [(t.currency, t.count, t.total_minor) for t in review.draft_totals] == [("EUR", 2, 27743)]
        assert [(c.customer_number, c.change_minor) for c in review.changes] == [
            ("C-DE", 15743 - 29750),
            ("C-AT", 12000),
        ]
        assert [c.number for c in review.new_contracts] == ["S-3"]
        assert [c.number for c in review.ended_contracts] == ["S-2"]
        assert review.exceptions == ()

    def test_shows_amounts_and_dates_in_the_readers_language(self, client, billing_user, entity, billed):
        runs.billing_run(entity=entity, as_of=MARCH, issue=False, actor=None, now=NOW)
        UserPreference.objects.create(user=billing_user, language="de")
        client.force_login(billing_user)
        text = review_of(client, entity).content.decode()
        assert "277,43\xa0€" in text  # the drafts' total
        assert "297,50\xa0€" in text  # February
        assert "01.03.2026" in text

    def test_defaults_to_today_in_the_entitys_time_zone(self, client, billing_user, entity, billed):
        client.force_login(billing_user)
        response = client.get(reverse("billing_review"))
        assert response.status_code == 200
        assert response.context["as_of"] == date(2026, 3, 16)
        assert response.context["entity"] == entity

    def test_lists_the_subscriptions_the_latest_run_could_not_bill(
        self, client, billing_user, entity, billed
    ):
        customer = Customer.objects.get(number="C-AT")
        customer_services.customer_update(
            customer_id=customer.pk,
            data=customer_in("C-AT", name="Alpen GmbH", country="AT", status="blocked"),
            actor=None,
            now=NOW,
            reason="test",
        )
        runs.billing_run(entity=entity, as_of=MARCH, issue=False, actor=None, now=NOW)
        client.force_login(billing_user)
        response = review_of(client, entity)
        [error] = response.context["review"].exceptions
        assert (error.subscription_number, error.subscription_id) == ("S-3", billed["S-3"].pk)
        assert reverse("billing_subscription_detail", args=[billed["S-3"].pk]) in response.content.decode()

    def test_a_run_still_running_is_polled_until_it_finishes(self, client, billing_user, entity, billed):
        def crash(stage: str, done: int, total: int) -> None:
            raise RuntimeError("killed")

        with pytest.raises(RuntimeError):
            runs.billing_run(entity=entity, as_of=MARCH, issue=False, actor=None, now=NOW, on_progress=crash)
        client.force_login(billing_user)
        text = review_of(client, entity).content.decode()
        assert 'id="run-running"' in text
        assert 'hx-trigger="every 5s"' in text

    def test_an_auditor_reads_the_review_without_the_run_buttons(self, client, auditor_user, entity, billed):
        client.force_login(auditor_user)
        text = review_of(client, entity).content.decode()
        assert "preview-button" not in text
        assert "issue-button" not in text

    def test_another_entitys_review_is_404(self, client, billing_user, billed, other_entity):
        client.force_login(billing_user)
        response = client.get(reverse("billing_review"), {"entity": other_entity.pk})
        assert response.status_code == 404


class TestRunButtons:
    def test_preview_makes_drafts_and_returns_to_the_review(self, client, billing_user, entity, billed):
        client.force_login(billing_user)
        response = run_post(client, entity, "preview")
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('billing_review')}?entity={entity.pk}&as_of=2026-03-01"
        drafts = Document.objects.filter(status="draft")
        assert drafts.count() == 2
        run = BillingRun.objects.latest("pk")
        assert (run.issue, run.started_by, run.status) == (False, billing_user, "completed")
        page = client.get(response["Location"])
        assert "Preview as of Mar 1, 2026: 2 drafts created." in page.content.decode()

    def test_issue_needs_the_confirmation(self, client, billing_user, entity, billed):
        runs.billing_run(entity=entity, as_of=MARCH, issue=False, actor=None, now=NOW)
        entries = JournalEntry.objects.count()
        client.force_login(billing_user)
        response = run_post(client, entity, "issue")
        assert response.status_code == 422
        assert "Confirm that you have reviewed the drafts before issuing them." in response.content.decode()
        assert Document.objects.filter(status="draft").count() == 2
        assert JournalEntry.objects.count() == entries
        assert BillingRun.objects.filter(issue=True).count() == 1  # only the one of 1 February

    def test_issue_after_confirmation_numbers_and_posts_the_drafts(
        self, client, billing_user, entity, billed
    ):
        runs.billing_run(entity=entity, as_of=MARCH, issue=False, actor=None, now=NOW)
        client.force_login(billing_user)
        response = run_post(client, entity, "issue", confirm="on")
        assert response.status_code == 302
        assert not Document.objects.filter(status="draft").exists()
        numbers = Document.objects.filter(issue_date=MARCH).values_list("number", flat=True)
        assert sorted(str(number) for number in numbers) == [
            "INV-2026-000002",
            "INV-2026-000003",
        ]
        review = client.get(response["Location"]).context["review"]
        [eur] = review.comparison
        assert (eur.pending_minor, eur.issued_minor) == (0, 27743)

    def test_htmx_gets_the_review_partial_with_the_outcome(self, client, billing_user, entity, billed):
        client.force_login(billing_user)
        data = {"entity": str(entity.pk), "as_of": "2026-03-01", "action": "preview"}
        response = client.post(reverse("billing_run_start"), data, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        text = response.content.decode()
        assert "<html" not in text
        assert "2 drafts created" in text
        assert 'id="review-drafts"' in text
        assert response["HX-Push-Url"] == f"{reverse('billing_review')}?entity={entity.pk}&as_of=2026-03-01"

    @pytest.mark.parametrize("action", ["preview", "issue"])
    def test_an_auditor_may_not_run_or_issue(self, client, auditor_user, entity, billed, action):
        runs_before, documents = BillingRun.objects.count(), Document.objects.count()
        client.force_login(auditor_user)
        assert run_post(client, entity, action, confirm="on").status_code == 403
        assert (BillingRun.objects.count(), Document.objects.count()) == (runs_before, documents)

    def test_running_for_another_entity_is_404(self, client, billing_user, billed, other_entity):
        client.force_login(billing_user)
        assert run_post(client, other_entity, "preview").status_code == 404
        assert not BillingRun.objects.filter(entity=other_entity).exists()

    def test_a_get_is_not_allowed(self, client, billing_user, billed):
        client.force_login(billing_user)
        assert client.get(reverse("billing_run_start")).status_code == 405


class TestSubscriptions:
    def test_lists_and_searches_subscriptions(self, client, billing_user, billed):
        client.force_login(billing_user)
        page = client.get(reverse("billing_subscription_list")).context["page"]
        assert [s.number for s in page.object_list] == ["S-1", "S-2", "S-3"]
        found = client.get(reverse("billing_subscription_list"), {"q": "C-AT"}).context["page"]
        assert [s.number for s in found.object_list] == ["S-3"]

    def test_an_htmx_search_returns_only_the_results(self, client, billing_user, billed):
        client.force_login(billing_user)
        response = client.get(reverse("billing_subscription_list"), {"q": "S-2"}, HTTP_HX_REQUEST="true")
        text = response.content.decode()
        assert "<html" not in text
        assert "S-2" in text
        assert "S-1" not in text

    def test_pages_without_a_count(self, client, billing_user, entity, billed, django_assert_max_num_queries):
        for n in range(50):
            subscribe(entity, f"S-X{n:02}", "C-DE", "BASE", "1", date(2026, 4, 1))
        client.force_login(billing_user)
        client.get(reverse("billing_subscription_list"))
        with django_assert_max_num_queries(7) as captured:
            first = client.get(reverse("billing_subscription_list")).context["page"]
        assert not any("COUNT(" in q["sql"].upper() for q in captured.captured_queries)
        assert (len(first.object_list), first.has_next) == (50, True)
        second = client.get(reverse("billing_subscription_list"), {"page": "2"}).context["page"]
        assert ([s.number for s in second.object_list], second.has_next) == (
            ["S-X47", "S-X48", "S-X49"],
            False,
        )

    def test_detail_shows_terms_and_billed_periods_with_their_invoices(
        self, client, billing_user, entity, billed
    ):
        services.subscription_amend(
            subscription_id=billed["S-1"].pk,
            effective_from=date(2026, 3, 1),
            quantity=None,
            product_code="BASE",
            discount_percent=None,
            actor=None,
            now=NOW,
            reason="price review",
        )
        client.force_login(billing_user)
        response = client.get(reverse("billing_subscription_detail", args=[billed["S-1"].pk]))
        assert response.status_code == 200
        detail = response.context["detail"]
        assert [(t.effective_from, t.effective_to, t.reason) for t in detail.terms] == [
            (date(2026, 1, 1), date(2026, 2, 28), ""),
            (date(2026, 3, 1), None, "price review"),
        ]
        invoice = Document.objects.get(number="INV-2026-000001")
        assert [(p.period_start, p.net_minor) for p in detail.periods] == [
            (date(2026, 2, 1), 10000),
            (date(2026, 1, 1), 10000),
        ]
        assert {line.document_number for p in detail.periods for line in p.lines} == {invoice.number}
        assert detail.billed_net_minor == 20000
        text = response.content.decode()
        assert reverse("document_detail", args=[invoice.pk]) in text
        assert "price review" in text

    def test_another_entitys_subscription_is_404(self, client, billing_user, billed, other_entity):
        customer_services.customer_create(
            entity=other_entity, data=customer_in("C-FR", country="FR"), actor=None, now=NOW
        )
        services.products_import(
            entity=other_entity, products=[product("BASE", "flat", "100.00")], actor=None, now=NOW
        )
        foreign = subscribe(other_entity, "S-FR", "C-FR", "BASE", "1", date(2026, 1, 1))
        client.force_login(billing_user)
        assert client.get(reverse("billing_subscription_detail", args=[foreign.pk])).status_code == 404
        listed = client.get(reverse("billing_subscription_list")).context["page"]
        assert "S-FR" not in [s.number for s in listed.object_list]


class TestRunsAndNavigation:
    def test_lists_runs_newest_first(self, client, billing_user, entity, billed):
        runs.billing_run(entity=entity, as_of=MARCH, issue=False, actor=billing_user, now=NOW)
        client.force_login(billing_user)
        response = client.get(reverse("billing_run_list"))
        assert response.status_code == 200
        page = response.context["page"]
        assert [(r.as_of, r.issue) for r in page.object_list] == [(MARCH, False), (date(2026, 2, 1), True)]
        text = response.content.decode()
        assert "bianca" in text
        assert "277.43" in text  # the preview's total, in English

    def test_billing_is_in_the_menu_of_billing_roles_only(self, client, billing_user, entity):
        client.force_login(billing_user)
        assert f'href="{reverse("billing_review")}"' in client.get(reverse("home")).content.decode()
        collector: User = make_user("colette", "collector", entities=[entity])
        client.force_login(collector)
        assert f'href="{reverse("billing_review")}"' not in client.get(reverse("home")).content.decode()

    def test_pages_need_a_login(self, client):
        response = client.get(reverse("billing_review"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
