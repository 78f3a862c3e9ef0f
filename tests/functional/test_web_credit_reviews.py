"""The credit analyst's review pages: the task list of periodic reviews due (customer, risk class, current
limit, exposure, last scored) and a review scored now, each factor shown, completed with a decision and a
note; raise requests asked for by sales, their due-diligence checklist, evidence uploaded and downloaded,
approved or declined with a reason; the scorecard with its versions, changed by a credit manager through
the weights and thresholds or the whole JSON definition; a customer's score history. Readers without the
role get a 403, another legal entity's objects a 404, a German reader German amounts and dates
(docs/credit.md, "Back-office pages: reviews, raise requests and the scorecard")."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from o2c.audit.models import AuditEvent
from o2c.config.api import CAPABILITY_ROLES
from o2c.credit import reviews, scoring, scoring_api
from o2c.credit.models import (
    CreditLimit,
    CreditReview,
    CreditScore,
    RaiseEvidence,
    RaiseRequest,
    ScorecardVersion,
)
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.workspace import credit_review_views
from o2c.workspace.models import UserPreference
from tests.conftest import NOW, customer_in, issued_invoice, make_user
from tests.integration.credit.test_scoring_reviews import approved_customer

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = datetime(2027, 1, 20, 9, 30, tzinfo=UTC)  # the 20th in Berlin too
PDF = b"%PDF-1.4\n% bureau report\n"


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(TODAY, tick=False)


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def analyst(entity: LegalEntity) -> User:
    return make_user("cora", "credit", entities=[entity])


@pytest.fixture
def reviewed(entity: LegalEntity, customer: Customer) -> Customer:
    """C-1000: approved from its application with 40,000.00 EUR (class A scored 2026-01-15, review due
    2027-01-15), one invoice of 1,190.00 EUR open (issued 2026-03-02, so it has a payment history)."""
    approved_customer(entity, customer)
    issued_invoice(customer)
    customer.refresh_from_db()
    return customer


@pytest.fixture
def not_due(entity: LegalEntity) -> Customer:
    """C-2000: scored on its payment history alone as of 2026-06-01, class A, review due 2027-06-01."""
    other = customer_services.customer_create(
        entity=entity, data=customer_in("C-2000", name="Schmidt AG"), actor=None, now=NOW
    )
    issued_invoice(other)
    scoring.customer_score(customer_id=other.pk, as_of=date(2026, 6, 1), actor=None, now=NOW)
    return other


def foreign_customer(other_entity: LegalEntity) -> Customer:
    found = customer_services.customer_create(
        entity=other_entity, data=customer_in("F-1", name="Dupont SA"), actor=None, now=NOW
    )
    issued_invoice(found)
    scoring.customer_score(customer_id=found.pk, as_of=date(2026, 3, 2), actor=None, now=NOW)
    return found


def events(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


class TestRoles:
    def test_the_pages_use_the_apis_role_sets(self) -> None:
        views = credit_review_views
        pairs = [
            (views.VIEW_SCORING, scoring_api.VIEW_SCORING),
            (views.SCORE_CREDIT, scoring_api.SCORE_CREDIT),
            (views.REQUEST_RAISES, scoring_api.REQUEST_RAISES),
            (views.MANAGE_SCORECARD, scoring_api.MANAGE_SCORECARD),
        ]
        for roles, capability in pairs:
            assert roles == CAPABILITY_ROLES[capability], capability


class TestReviewList:
    def test_the_task_list_shows_the_reviews_due_today_with_limit_exposure_and_last_score(
        self, reviewed: Customer, not_due: Customer, analyst: User
    ) -> None:
        page = login(analyst).get("/credit/reviews/")
        assert page.status_code == 200
        rows = page.context["rows"]
        assert [(row.review.customer.number, row.review.due_date) for row in rows] == [
            ("C-1000", date(2027, 1, 15))
        ]
        html = page.content.decode()
        assert "Open reviews due by Jan 20, 2027, the oldest first." in html
        assert "Jan 15, 2027" in html  # due
        assert "€40,000.00" in html  # the current limit
        assert "€1,190.00" in html  # the exposure: the open invoice
        assert "Jan 15, 2026" in html  # last scored (the application's score)
        assert "C-2000" not in html
        assert 'href="/credit/reviews/"' in html and 'aria-current="page"' in html  # the tab

    def test_a_german_reader_sees_german_amounts_and_dates(self, reviewed: Customer, analyst: User) -> None:
        UserPreference.objects.create(user=analyst, language="de")
        html = login(analyst).get("/credit/reviews/").content.decode()
        assert "15.01.2027" in html and "15.01.2026" in html
        assert "40.000,00\xa0€" in html and "1.190,00\xa0€" in html
        assert "<th>Risikoklasse</th>" in html and "<th>Kunde</th>" in html

    def test_an_auditor_reads_a_collector_and_a_salesperson_are_refused(
        self, entity: LegalEntity, reviewed: Customer
    ) -> None:
        assert (
            login(make_user("aude", "auditor", entities=[entity])).get("/credit/reviews/").status_code == 200
        )
        assert (
            login(make_user("carla", "collector", entities=[entity])).get("/credit/reviews/").status_code
            == 403
        )
        assert (
            login(make_user("bianca", "billing", entities=[entity])).get("/credit/reviews/").status_code
            == 403
        )

    def test_another_entitys_reviews_are_not_listed_and_their_pages_are_404(
        self, reviewed: Customer, other_entity: LegalEntity, analyst: User
    ) -> None:
        foreign = foreign_customer(other_entity)
        review = CreditReview.objects.get(customer=foreign)
        client = login(analyst)
        assert client.get(f"/credit/reviews/{review.pk}/").status_code == 404
        assert client.post(f"/credit/reviews/{review.pk}/score/").status_code == 404
        assert client.get(f"/credit/customers/{foreign.pk}/scores/").status_code == 404
        assert "F-1" not in client.get("/credit/reviews/").content.decode()


class TestReviewDetail:
    def test_scoring_now_shows_each_factor_the_class_and_the_recommended_limit(
        self, reviewed: Customer, analyst: User
    ) -> None:
        review = CreditReview.objects.get(customer=reviewed)
        client = login(analyst)
        before = client.get(f"/credit/reviews/{review.pk}/").content.decode()
        # the application's score, without a payment history: 88.33
        assert "88.33 points as of Jan 15, 2026: risk class A" in before

        response = client.post(f"/credit/reviews/{review.pk}/score/")

        assert response.status_code == 302
        score = CreditScore.objects.filter(customer=reviewed).order_by("-pk").first()
        assert score is not None and (score.as_of, score.total, score.risk_class) == (
            date(2027, 1, 20),
            D("91.25"),
            "A",
        )
        html = client.get(f"/credit/reviews/{review.pk}/").content.decode()
        # 7300 points of weight 80: the financials, the bureau, no promise broken, no dispute, no return
        assert "91.25 points as of Jan 20, 2027: risk class A" in html
        assert "recommended limit €80,000.00" in html
        assert "Customer C-1000 scored: risk class A." in html
        factors = {
            f["code"]: f for f in client.get(f"/credit/reviews/{review.pk}/").context["score"]["factors"]
        }
        assert (factors["leverage"]["value"], factors["leverage"]["band"], factors["leverage"]["points"]) == (
            "0.60",
            "above 0.50",
            60,
        )
        assert (factors["leverage"]["weight"], factors["leverage"]["effective_weight"]) == ("10", "12.50")
        assert factors["days_beyond_terms"]["missing"] is True
        assert "Leverage (liabilities / assets)" in html and "missing" in html
        assert events("credit.customer.scored") == 2  # the application's adoption, then now

    def test_completing_the_review_records_the_decision_and_schedules_the_next(
        self, reviewed: Customer, analyst: User
    ) -> None:
        review = CreditReview.objects.get(customer=reviewed)
        client = login(analyst)

        response = client.post(
            f"/credit/reviews/{review.pk}/complete/", {"decision": "keep", "note": "accounts 2025 fine"}
        )

        assert response.status_code == 302
        review.refresh_from_db()
        assert (review.state, review.decision, review.note, review.completed_on, review.completed_by) == (
            "completed",
            "keep",
            "accounts 2025 fine",
            date(2027, 1, 20),
            analyst,
        )
        assert review.score is not None and review.score.total == D("91.25")
        following = CreditReview.objects.get(customer=reviewed, state="open")
        assert (following.due_date, following.risk_class) == (date(2028, 1, 20), "A")
        event = AuditEvent.objects.get(action="credit.review.completed")
        assert (event.actor_id, event.reason, event.changes["decision"]) == (
            analyst.pk,
            "accounts 2025 fine",
            [None, "keep"],
        )
        html = client.get(f"/credit/reviews/{review.pk}/").content.decode()
        assert "Keep the limit" in html and "accounts 2025 fine" in html
        assert 'id="complete-form"' not in html
        assert "C-1000" not in client.get("/credit/reviews/").content.decode()

    def test_a_review_without_a_note_is_refused_and_nothing_changes(
        self, reviewed: Customer, analyst: User
    ) -> None:
        review = CreditReview.objects.get(customer=reviewed)
        scores = CreditScore.objects.count()

        response = login(analyst).post(
            f"/credit/reviews/{review.pk}/complete/", {"decision": "keep", "note": " "}
        )

        assert response.status_code == 422
        assert response.context["form"].errors["note"] == ["This field is required."]
        review.refresh_from_db()
        assert (review.state, review.decision) == ("open", "")
        assert CreditScore.objects.count() == scores
        assert events("credit.review.completed") == 0

    def test_an_auditor_reads_the_review_but_may_not_score_or_complete_it(
        self, entity: LegalEntity, reviewed: Customer
    ) -> None:
        review = CreditReview.objects.get(customer=reviewed)
        auditor = login(make_user("aude", "auditor", entities=[entity]))
        page = auditor.get(f"/credit/reviews/{review.pk}/")
        assert page.status_code == 200 and 'id="complete-form"' not in page.content.decode()
        assert auditor.post(f"/credit/reviews/{review.pk}/score/").status_code == 403
        refused = auditor.post(f"/credit/reviews/{review.pk}/complete/", {"decision": "keep", "note": "x"})
        assert refused.status_code == 403
        review.refresh_from_db()
        assert review.state == "open"
        assert CreditScore.objects.filter(customer=reviewed).count() == 1


class TestCustomerScores:
    def test_the_history_lists_each_score_with_its_factors_newest_first(
        self, reviewed: Customer, analyst: User
    ) -> None:
        client = login(analyst)
        assert client.post(f"/credit/customers/{reviewed.pk}/scores/score/").status_code == 302
        page = client.get(f"/credit/customers/{reviewed.pk}/scores/")
        assert [(s["as_of"], s["total"]) for s in page.context["scores"]] == [
            ("2027-01-20", "91.25"),
            ("2026-01-15", "88.33"),
        ]
        html = page.content.decode()
        assert "91.25 points as of Jan 20, 2027: risk class A" in html
        assert "88.33 points as of Jan 15, 2026: risk class A" in html
        assert "Jan 20, 2028" in html  # the next review, a year on for class A

    def test_a_customer_with_nothing_known_is_not_scored_and_the_reason_is_shown(
        self, entity: LegalEntity, analyst: User
    ) -> None:
        bare = customer_services.customer_create(
            entity=entity, data=customer_in("C-3000", name="Neu GmbH"), actor=None, now=NOW
        )
        client = login(analyst)
        response = client.post(f"/credit/customers/{bare.pk}/scores/score/", follow=True)
        assert "nothing is known about customer C-3000 to score it" in response.content.decode()
        assert CreditScore.objects.filter(customer=bare).count() == 0
        assert "Not scored yet." in response.content.decode()

    def test_an_auditor_sees_no_score_button_and_may_not_score(
        self, entity: LegalEntity, reviewed: Customer
    ) -> None:
        auditor = login(make_user("aude", "auditor", entities=[entity]))
        assert (
            'id="score-button"'
            not in auditor.get(f"/credit/customers/{reviewed.pk}/scores/").content.decode()
        )
        assert auditor.post(f"/credit/customers/{reviewed.pk}/scores/score/").status_code == 403


RAISE = {
    "customer_number": "C-1000",
    "requested_limit": "90,000.00",
    "currency": "EUR",
    "reason": "new contract",
}


def open_raise(customer: Customer) -> RaiseRequest:
    return reviews.raise_request_create(
        customer=customer, requested_limit=D("90000"), reason="new framework contract", actor=None, now=NOW
    )


def tick_all(client: Client, request: RaiseRequest) -> None:
    for code in reviews.CHECKLIST_CODES:
        response = client.post(
            f"/credit/raise-requests/{request.pk}/checklist/", {"item": code, "checked": "on", "note": "seen"}
        )
        assert response.status_code == 302


class TestRaiseCreate:
    def test_sales_asks_for_a_raise_in_the_limits_currency(
        self, reviewed: Customer, billing_user: User
    ) -> None:
        client = login(billing_user)
        assert client.get("/credit/raise-requests/new/").status_code == 200

        response = client.post("/credit/raise-requests/new/", RAISE)

        assert response.status_code == 302
        assert response["Location"] == "/credit/raise-requests/new/"  # sales does not read the requests
        request = RaiseRequest.objects.get()
        assert (
            request.customer,
            request.current_limit_minor,
            request.requested_limit_minor,
            request.currency,
            request.reason,
            request.state,
            request.requested_by,
        ) == (reviewed, 4000000, 9000000, "EUR", "new contract", "open", billing_user)
        assert events("credit.raise_request.created") == 1
        assert login(billing_user).get(f"/credit/raise-requests/{request.pk}/").status_code == 403

    def test_an_analyst_who_asks_goes_to_the_request(self, reviewed: Customer, analyst: User) -> None:
        review = CreditReview.objects.get(customer=reviewed)
        client = login(analyst)
        assert (
            'href="/credit/raise-requests/new/?customer=C-1000"'
            in client.get(f"/credit/reviews/{review.pk}/").content.decode()
        )
        assert 'value="C-1000"' in client.get("/credit/raise-requests/new/?customer=C-1000").content.decode()
        response = login(analyst).post("/credit/raise-requests/new/", RAISE)
        assert response["Location"] == f"/credit/raise-requests/{RaiseRequest.objects.get().pk}/"

    @pytest.mark.parametrize(
        ("change", "field", "error"),
        [
            ({"reason": ""}, "reason", "This field is required."),
            ({"currency": "USD"}, "currency", "The limit of customer C-1000 is kept in EUR."),
            ({"customer_number": "C-9999"}, "customer_number", "No customer with this number."),
            (
                {"requested_limit": "40,000"},
                "__all__",
                "requested_limit: the requested limit must be above the current 40000.00 EUR",
            ),
        ],
    )
    def test_a_bad_request_is_refused_with_the_form_error_and_nothing_is_asked(
        self, reviewed: Customer, billing_user: User, change: dict[str, str], field: str, error: str
    ) -> None:
        response = login(billing_user).post("/credit/raise-requests/new/", {**RAISE, **change})
        assert response.status_code == 422
        assert response.context["form"].errors[field] == [error]
        assert RaiseRequest.objects.count() == 0
        assert events("credit.raise_request.created") == 0

    def test_a_german_salesperson_types_german_amounts(self, reviewed: Customer, billing_user: User) -> None:
        UserPreference.objects.create(user=billing_user, language="de")
        login(billing_user).post("/credit/raise-requests/new/", {**RAISE, "requested_limit": "90.000,50"})
        assert RaiseRequest.objects.get().requested_limit_minor == 9000050

    def test_a_collector_may_not_ask(self, entity: LegalEntity, reviewed: Customer) -> None:
        collector = login(make_user("carla", "collector", entities=[entity]))
        assert collector.post("/credit/raise-requests/new/", RAISE).status_code == 403
        assert RaiseRequest.objects.count() == 0

    def test_another_entitys_customer_cannot_be_named(
        self, reviewed: Customer, other_entity: LegalEntity, billing_user: User
    ) -> None:
        foreign_customer(other_entity)
        response = login(billing_user).post(
            "/credit/raise-requests/new/", {**RAISE, "customer_number": "F-1"}
        )
        assert response.status_code == 422
        assert RaiseRequest.objects.count() == 0


class TestRaiseList:
    def test_the_list_filters_by_state(self, reviewed: Customer, not_due: Customer, analyst: User) -> None:
        first = open_raise(reviewed)
        second = reviews.raise_request_create(
            customer=not_due, requested_limit=D("5000"), reason="x", actor=None, now=NOW
        )
        reviews.raise_request_decide(
            request_id=second.pk, approve=False, limit=None, note="no", actor=None, now=NOW
        )
        client = login(analyst)
        assert [r.pk for r in client.get("/credit/raise-requests/").context["requests"]] == [
            second.pk,
            first.pk,
        ]
        assert [r.pk for r in client.get("/credit/raise-requests/?state=open").context["requests"]] == [
            first.pk
        ]
        declined = client.get("/credit/raise-requests/?state=declined")
        assert [r.pk for r in declined.context["requests"]] == [second.pk]
        html = client.get("/credit/raise-requests/?state=open").content.decode()
        assert "€40,000.00" in html and "€90,000.00" in html

    def test_the_list_reads_the_same_number_of_queries_for_one_request_or_many(
        self, reviewed: Customer, not_due: Customer, analyst: User
    ) -> None:
        open_raise(reviewed)
        client = login(analyst)
        client.get("/credit/raise-requests/")
        with CaptureQueriesContext(connection) as one:
            client.get("/credit/raise-requests/")
        for amount in ("5000", "6000"):
            reviews.raise_request_create(
                customer=not_due, requested_limit=D(amount), reason="x", actor=None, now=NOW
            )
        with CaptureQueriesContext(connection) as three:
            page = client.get("/credit/raise-requests/")
        assert page.context["requests"].count() == 3
        assert len(three) == len(one)

    def test_a_german_reader_sees_german_amounts(self, reviewed: Customer, analyst: User) -> None:
        open_raise(reviewed)
        UserPreference.objects.create(user=analyst, language="de")
        html = login(analyst).get("/credit/raise-requests/").content.decode()
        assert "40.000,00\xa0€" in html and "90.000,00\xa0€" in html and "16.03.2026" in html
        assert ">Beantragtes Limit</th>" in html


class TestRaiseDetail:
    def test_the_checklist_is_ticked_item_by_item_and_audited(
        self, reviewed: Customer, analyst: User
    ) -> None:
        request = open_raise(reviewed)
        client = login(analyst)
        tick_all(client, request)
        request.refresh_from_db()
        assert all(request.checklist[code]["checked"] for code in reviews.CHECKLIST_CODES)
        assert request.checklist["financials_received"]["by"] == "cora"
        assert events("credit.raise_request.checked") == 5
        html = client.get(f"/credit/raise-requests/{request.pk}/").content.decode()
        assert '<small class="o2c-muted" id="checklist-count">5/5</small>' in html
        # unticking again
        client.post(f"/credit/raise-requests/{request.pk}/checklist/", {"item": "financials_received"})
        request.refresh_from_db()
        assert request.checklist["financials_received"]["checked"] is False

    def test_evidence_is_uploaded_and_downloaded_as_an_attachment(
        self, entity: LegalEntity, reviewed: Customer, analyst: User
    ) -> None:
        request = open_raise(reviewed)
        client = login(analyst)
        upload = SimpleUploadedFile("creditsafe.pdf", PDF, content_type="application/pdf")
        response = client.post(
            f"/credit/raise-requests/{request.pk}/evidence/",
            {"file": upload, "item": "bureau_report_checked", "description": "Creditsafe report"},
        )
        assert response.status_code == 302
        evidence = RaiseEvidence.objects.get()
        assert (evidence.file_name, evidence.size, evidence.checklist_item) == (
            "creditsafe.pdf",
            25,
            "bureau_report_checked",
        )
        assert events("credit.raise_request.evidence_added") == 1
        html = client.get(f"/credit/raise-requests/{request.pk}/").content.decode()
        assert "creditsafe.pdf" in html and "Creditsafe report" in html and "Bureau report checked" in html

        download = client.get(f"/credit/raise-requests/{request.pk}/evidence/{evidence.pk}/")

        assert download.status_code == 200
        assert download["Content-Type"] == "application/pdf"
        assert download["Content-Disposition"] == 'attachment; filename="creditsafe.pdf"'
        assert download.content == PDF
        auditor = login(make_user("aude", "auditor", entities=[entity]))
        assert auditor.get(f"/credit/raise-requests/{request.pk}/evidence/{evidence.pk}/").status_code == 200
        billing = login(make_user("bianca", "billing", entities=[entity]))
        assert billing.get(f"/credit/raise-requests/{request.pk}/evidence/{evidence.pk}/").status_code == 403

    def test_a_file_of_a_type_not_allowed_is_refused_on_the_form(
        self, reviewed: Customer, analyst: User
    ) -> None:
        request = open_raise(reviewed)
        upload = SimpleUploadedFile("run.exe", b"MZ\x90\x00", content_type="application/x-msdownload")
        response = login(analyst).post(f"/credit/raise-requests/{request.pk}/evidence/", {"file": upload})
        assert response.status_code == 422
        assert response.context["evidence_form"].errors["file"]
        assert RaiseEvidence.objects.count() == 0
        assert events("credit.raise_request.evidence_added") == 0

    def test_approving_before_the_checklist_is_ticked_is_refused_and_nothing_changes(
        self, reviewed: Customer, analyst: User
    ) -> None:
        request = open_raise(reviewed)
        limits_before = CreditLimit.objects.count()

        response = login(analyst).post(
            f"/credit/raise-requests/{request.pk}/decide/",
            {"decision": "approve", "limit": "", "note": "fine"},
        )

        assert response.status_code == 422
        assert response.context["decide_form"].non_field_errors() == [
            "tick the checklist first: financials_received, bureau_report_checked, trade_references_checked,"
            " payment_behaviour_reviewed, group_exposure_reviewed"
        ]
        request.refresh_from_db()
        assert (request.state, request.decided_limit_minor) == ("open", None)
        assert CreditLimit.objects.count() == limits_before
        assert events("credit.raise_request.approved") == 0

    def test_an_approval_asks_the_limit_service_for_the_decided_limit(
        self, reviewed: Customer, analyst: User
    ) -> None:
        request = open_raise(reviewed)
        client = login(analyst)
        tick_all(client, request)

        response = client.post(
            f"/credit/raise-requests/{request.pk}/decide/",
            {"decision": "approve", "limit": "80,000", "note": "accounts support 80k"},
        )

        assert response.status_code == 302
        request.refresh_from_db()
        assert (request.state, request.decided_limit_minor, request.decision_note, request.decided_by) == (
            "approved",
            8000000,
            "accounts support 80k",
            analyst,
        )
        asked = CreditLimit.objects.get(pk=request.limit_request_id)
        # above the 50,000.00 EUR approval threshold: pending for a second person
        assert (asked.amount_minor, asked.currency, asked.status) == (8000000, "EUR", "pending")
        event = AuditEvent.objects.get(action="credit.raise_request.approved")
        assert (event.actor_id, event.reason) == (analyst.pk, "accounts support 80k")
        html = client.get(f"/credit/raise-requests/{request.pk}/").content.decode()
        assert "€80,000.00" in html and 'id="decide-form"' not in html

    def test_declining_needs_a_reason(self, reviewed: Customer, analyst: User) -> None:
        request = open_raise(reviewed)
        client = login(analyst)
        refused = client.post(
            f"/credit/raise-requests/{request.pk}/decide/", {"decision": "decline", "note": ""}
        )
        assert refused.status_code == 422
        assert refused.context["decide_form"].errors["note"] == ["This field is required."]
        request.refresh_from_db()
        assert request.state == "open"
        assert events("credit.raise_request.declined") == 0

        client.post(
            f"/credit/raise-requests/{request.pk}/decide/", {"decision": "decline", "note": "class D"}
        )

        request.refresh_from_db()
        assert (request.state, request.decision_note, request.limit_request_id) == (
            "declined",
            "class D",
            None,
        )
        assert events("credit.raise_request.declined") == 1

    def test_a_decided_request_refuses_further_ticks(self, reviewed: Customer, analyst: User) -> None:
        request = open_raise(reviewed)
        reviews.raise_request_decide(
            request_id=request.pk, approve=False, limit=None, note="no", actor=None, now=NOW
        )
        response = login(analyst).post(
            f"/credit/raise-requests/{request.pk}/checklist/",
            {"item": "financials_received", "checked": "on"},
        )
        assert response.status_code == 422
        assert f"raise request {request.pk} is declined already" in response.content.decode()
        assert events("credit.raise_request.checked") == 0

    def test_an_auditor_reads_but_may_not_tick_attach_or_decide(
        self, entity: LegalEntity, reviewed: Customer
    ) -> None:
        request = open_raise(reviewed)
        auditor = login(make_user("aude", "auditor", entities=[entity]))
        page = auditor.get(f"/credit/raise-requests/{request.pk}/")
        assert page.status_code == 200 and 'id="decide-form"' not in page.content.decode()
        assert (
            auditor.post(
                f"/credit/raise-requests/{request.pk}/checklist/",
                {"item": "financials_received", "checked": "on"},
            ).status_code
            == 403
        )
        assert (
            auditor.post(
                f"/credit/raise-requests/{request.pk}/decide/", {"decision": "decline", "note": "x"}
            ).status_code
            == 403
        )
        request.refresh_from_db()
        assert (request.state, request.checklist["financials_received"]["checked"]) == ("open", False)

    def test_another_entitys_request_and_evidence_are_404(
        self, other_entity: LegalEntity, analyst: User
    ) -> None:
        request = open_raise(foreign_customer(other_entity))
        evidence = reviews.raise_evidence_add(
            request_id=request.pk,
            file_name="a.pdf",
            content_type="application/pdf",
            content=PDF,
            item="",
            description="",
            actor=None,
            now=NOW,
        )
        client = login(analyst)
        assert client.get(f"/credit/raise-requests/{request.pk}/").status_code == 404
        assert client.get(f"/credit/raise-requests/{request.pk}/evidence/{evidence.pk}/").status_code == 404
        assert (
            client.post(
                f"/credit/raise-requests/{request.pk}/decide/", {"decision": "decline", "note": "x"}
            ).status_code
            == 404
        )
        assert client.get("/credit/raise-requests/").context["requests"].count() == 0


@pytest.fixture
def manager(entity: LegalEntity) -> User:
    return make_user("maria", "ar_manager", entities=[entity])


def scorecard_form(**changes: str) -> dict[str, str]:
    """The structured form as the page fills it for version 1 (the default scorecard)."""
    version, _card = scoring.scorecard_current()
    values = {f"weight_{f['code']}": str(f["weight"]) for f in version.definition["factors"]}
    for rule in version.definition["classes"]:
        values[f"min_score_{rule['class']}"] = str(rule["min_score"])
        values[f"max_limit_{rule['class']}"] = str(rule["max_limit"])
        values[f"review_months_{rule['class']}"] = str(rule["review_months"])
    values["note"] = "yearly calibration"
    values.update(changes)
    return values


class TestScorecard:
    def test_the_page_shows_the_factors_the_classes_and_the_versions(self, analyst: User) -> None:
        page = login(analyst).get("/credit/scorecard/")
        assert page.status_code == 200
        html = page.content.decode()
        assert "Version 1 in force since" in html
        assert "Altman Z&#x27;&#x27;-score" in html and "&gt; 2.6: safe → 100</li>" in html
        assert '<th class="o2c-num" id="weight-sum">100</th>' in html
        assert (
            '<tr data-class="B"><td>B</td><td class="o2c-num">65</td><td class="o2c-num">8</td>'
            '<td class="o2c-num">15</td><td class="o2c-num o2c-nowrap">€500,000.00</td>'
            '<td class="o2c-num">9</td></tr>' in html
        )
        assert "Recommended limits are rounded down to €1,000.00." in html
        assert 'id="scorecard-form"' not in html  # an analyst reads, a credit manager changes

    def test_a_german_reader_sees_german_amounts(self, analyst: User) -> None:
        UserPreference.objects.create(user=analyst, language="de")
        html = login(analyst).get("/credit/scorecard/").content.decode()
        assert "1.000.000,00\xa0€" in html and "&gt; 2,6" in html
        assert ">Gewicht</th>" in html

    def test_a_credit_manager_changes_weights_and_thresholds_as_a_new_version(self, manager: User) -> None:
        client = login(manager)

        response = client.post(
            "/credit/scorecard/change/",
            scorecard_form(weight_disputes="10", min_score_B="70", review_months_C="4"),
        )

        assert response.status_code == 302
        version, card = scoring.scorecard_current()
        assert (version.version, version.note, version.created_by) == (2, "yearly calibration", manager)
        assert card.factor("disputes").weight == D("10")  # type: ignore[union-attr]
        assert (card.class_rule("B").min_score, card.class_rule("C").review_months) == (D("70"), 4)
        assert card.class_rule("A").max_limit == D("1000000")  # untouched
        event = AuditEvent.objects.get(action="credit.scorecard.changed")
        assert (event.actor_id, event.reason, event.changes["version"]) == (
            manager.pk,
            "yearly calibration",
            [1, 2],
        )
        html = client.get("/credit/scorecard/").content.decode()
        assert "Version 2 in force since" in html and 'data-version="1"' in html

    def test_a_threshold_the_service_refuses_is_shown_and_no_version_is_made(self, manager: User) -> None:
        response = login(manager).post("/credit/scorecard/change/", scorecard_form(min_score_B="85"))
        assert response.status_code == 422
        assert response.context["form"].non_field_errors() == [
            "classes[B].min_score: must be below the class above"
        ]
        assert ScorecardVersion.objects.count() == 1
        assert events("credit.scorecard.changed") == 0

    def test_a_change_without_a_note_is_refused(self, manager: User) -> None:
        response = login(manager).post("/credit/scorecard/change/", scorecard_form(note=""))
        assert response.status_code == 422
        assert ScorecardVersion.objects.count() == 1

    def test_the_whole_definition_is_changed_as_json(self, manager: User) -> None:
        version, _card = scoring.scorecard_current()
        definition = {**version.definition, "limit_step": "500"}
        client = login(manager)

        response = client.post(
            "/credit/scorecard/change-json/", {"definition": json.dumps(definition), "note": "finer steps"}
        )

        assert response.status_code == 302
        assert scoring.scorecard_current()[1].limit_step == D("500")
        assert AuditEvent.objects.get(action="credit.scorecard.changed").changes["limit_step"] == [
            "1000",
            "500",
        ]

    @pytest.mark.parametrize(
        ("text", "error"),
        [
            (
                "{not json",
                "This is not JSON: Expecting property name enclosed in double quotes:"
                " line 1 column 2 (char 1)",
            ),
            ("[]", "The definition must be a JSON object."),
            ('{"factors": [], "classes": []}', "factors: give at least one factor"),
        ],
    )
    def test_a_bad_json_definition_is_shown_with_the_error_and_no_version_is_made(
        self, manager: User, text: str, error: str
    ) -> None:
        response = login(manager).post("/credit/scorecard/change-json/", {"definition": text, "note": "x"})
        assert response.status_code == 422
        assert response.context["json_form"].errors["definition"] == [error]
        assert ScorecardVersion.objects.count() == 1

    def test_an_analyst_may_not_change_the_scorecard(self, analyst: User) -> None:
        client = login(analyst)
        assert (
            client.post("/credit/scorecard/change/", scorecard_form(weight_disputes="10")).status_code == 403
        )
        version, _card = scoring.scorecard_current()
        assert (
            client.post(
                "/credit/scorecard/change-json/", {"definition": json.dumps(version.definition), "note": "x"}
            ).status_code
            == 403
        )
        assert ScorecardVersion.objects.count() == 1
        assert login(make_user("bianca", "billing")).get("/credit/scorecard/").status_code == 403
