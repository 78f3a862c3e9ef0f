"""Periodic reviews (the task list of reviews due, completing one with a rescore, a decision and a note),
credit raise requests (the due-diligence checklist, evidence, approval through the limit service and its
second person, declining) and the distribution by risk class (docs/credit-scoring.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from o2c.audit.models import AuditEvent
from o2c.core.exceptions import DomainError, InputError
from o2c.credit import applications, limits, reviews
from o2c.credit.models import CreditLimit, CreditReview, RaiseEvidence, RaiseRequest
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from tests.conftest import NOW, customer_in, issued_invoice
from tests.integration.credit.test_scoring import scored_application

pytestmark = pytest.mark.django_db
D = Decimal
PDF = b"%PDF-1.4\n% bureau report\n"


def approved_customer(entity: LegalEntity, customer: Customer, limit: str = "40000") -> Customer:
    """A customer from an approved application: class A scored 2026-01-15, review due 2027-01-15."""
    application = scored_application(entity)
    applications.application_approve(
        application_id=application.pk, limit=D(limit), customer=customer, note="", actor=None, now=NOW
    )
    customer.refresh_from_db()
    return customer


class TestReviews:
    def test_the_task_list_holds_the_open_reviews_due_by_the_date(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        approved_customer(entity, customer)
        assert list(reviews.reviews_due(entity_ids=[entity.pk], as_of=date(2027, 1, 14))) == []
        due = list(reviews.reviews_due(entity_ids=[entity.pk], as_of=date(2027, 1, 15)))
        assert [(r.customer.number, r.due_date, r.risk_class) for r in due] == [
            ("C-1000", date(2027, 1, 15), "A")
        ]

    def test_completing_a_review_rescores_and_schedules_the_next_one(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        approved_customer(entity, customer)
        review = CreditReview.objects.get()
        reviews.review_complete(
            review_id=review.pk,
            decision="keep",
            note="accounts 2025 fine",
            as_of=date(2027, 1, 20),
            actor=None,
            now=NOW,
        )
        review.refresh_from_db()
        assert (review.state, review.decision, review.completed_on) == (
            "completed",
            "keep",
            date(2027, 1, 20),
        )
        assert review.score is not None and review.score.as_of == date(2027, 1, 20)
        # no invoices yet: scored as the application was, A, next review a year on
        following = CreditReview.objects.get(state="open")
        assert (following.due_date, following.risk_class) == (date(2028, 1, 20), "A")
        event = AuditEvent.objects.get(action="credit.review.completed")
        assert event.changes["decision"] == [None, "keep"]
        assert event.reason == "accounts 2025 fine"

    def test_a_review_needs_a_known_decision_and_a_note(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        approved_customer(entity, customer)
        review = CreditReview.objects.get()
        with pytest.raises(InputError):
            reviews.review_complete(
                review_id=review.pk, decision="maybe", note="x", as_of=date(2027, 1, 20), actor=None, now=NOW
            )
        with pytest.raises(InputError):
            reviews.review_complete(
                review_id=review.pk, decision="keep", note=" ", as_of=date(2027, 1, 20), actor=None, now=NOW
            )
        review.refresh_from_db()
        assert review.state == "open"


class TestRaiseRequests:
    def test_a_raise_is_approved_once_the_checklist_is_ticked_and_waits_for_the_second_person(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        approved_customer(entity, customer)  # 40,000.00 EUR active
        request = reviews.raise_request_create(
            customer=customer,
            requested_limit=D("90000"),
            reason="new framework contract",
            actor=None,
            now=NOW,
        )
        assert (request.current_limit_minor, request.requested_limit_minor, request.currency) == (
            4000000,
            9000000,
            "EUR",
        )
        with pytest.raises(DomainError) as refused:
            reviews.raise_request_decide(
                request_id=request.pk, approve=True, limit=None, note="", actor=None, now=NOW
            )
        assert refused.value.code == "checklist_open"
        for item in reviews.CHECKLIST_CODES:
            reviews.raise_request_check(
                request_id=request.pk, item=item, checked=True, note="seen", actor=None, now=NOW
            )
        evidence = reviews.raise_evidence_add(
            request_id=request.pk,
            file_name="C:\\reports\\creditsafe.pdf",
            content_type="application/pdf",
            content=PDF,
            item="bureau_report_checked",
            description="Creditsafe report",
            actor=None,
            now=NOW,
        )
        assert (evidence.file_name, evidence.size, evidence.content_type) == (
            "creditsafe.pdf",
            25,
            "application/pdf",
        )

        reviews.raise_request_decide(
            request_id=request.pk, approve=True, limit=D("80000"), note="80k", actor=None, now=NOW
        )

        request.refresh_from_db()
        assert (request.state, request.decided_limit_minor) == ("approved", 8000000)
        asked = CreditLimit.objects.get(pk=request.limit_request_id)
        # above the 50,000 EUR threshold: pending for the second person, with the next review date
        assert (asked.amount_minor, asked.status, asked.next_review_date) == (
            8000000,
            "pending",
            date(2027, 1, 15),
        )
        limits.limit_approve(limit_id=asked.pk, actor=None, reason="ok", now=NOW)
        asked.refresh_from_db()
        assert asked.status == "active"
        actions = list(
            AuditEvent.objects.filter(action__startswith="credit.raise_request")
            .order_by("pk")
            .values_list("action", flat=True)
        )
        assert actions == [
            "credit.raise_request.created",
            *["credit.raise_request.checked"] * 5,
            "credit.raise_request.evidence_added",
            "credit.raise_request.approved",
        ]

    def test_a_raise_must_be_above_the_current_limit(self, entity: LegalEntity, customer: Customer) -> None:
        approved_customer(entity, customer)
        with pytest.raises(InputError) as refused:
            reviews.raise_request_create(
                customer=customer, requested_limit=D("40000"), reason="x", actor=None, now=NOW
            )
        assert refused.value.code == "not_a_raise"
        assert RaiseRequest.objects.count() == 0

    def test_declining_needs_a_reason_and_asks_for_no_limit(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        request = reviews.raise_request_create(
            customer=customer, requested_limit=D("10000"), reason="x", actor=None, now=NOW
        )
        with pytest.raises(InputError):
            reviews.raise_request_decide(
                request_id=request.pk, approve=False, limit=None, note="", actor=None, now=NOW
            )
        reviews.raise_request_decide(
            request_id=request.pk, approve=False, limit=None, note="class D", actor=None, now=NOW
        )
        request.refresh_from_db()
        assert (request.state, request.limit_request_id) == ("declined", None)
        assert CreditLimit.objects.count() == 0
        with pytest.raises(DomainError) as refused:
            reviews.raise_request_check(
                request_id=request.pk, item="financials_received", checked=True, note="", actor=None, now=NOW
            )
        assert refused.value.code == "request_decided"

    def test_evidence_of_a_type_not_allowed_is_refused(self, customer: Customer) -> None:
        request = reviews.raise_request_create(
            customer=customer, requested_limit=D("10000"), reason="x", actor=None, now=NOW
        )
        with pytest.raises(DomainError):
            reviews.raise_evidence_add(
                request_id=request.pk,
                file_name="run.exe",
                content_type="application/octet-stream",
                content=b"MZ\x90\x00",
                item="",
                description="",
                actor=None,
                now=NOW,
            )
        assert RaiseEvidence.objects.count() == 0


class TestRiskClassReports:
    def test_customers_receivables_and_exposure_by_risk_class(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        approved_customer(entity, customer)  # A
        issued_invoice(customer)  # 10 × 100.00 + 19 % = 1,190.00 EUR
        customer_services.customer_create(entity=entity, data=customer_in("C-2000"), actor=None, now=NOW)
        customer_services.customer_create(
            entity=entity, data=customer_in("C-3000", currency="USD"), actor=None, now=NOW
        )
        rows = reviews.risk_class_distribution(entity_ids=[entity.pk])
        assert [
            (r.risk_class, r.currency, r.customers, r.receivables_minor, r.exposure_minor) for r in rows
        ] == [
            ("A", "EUR", 1, 119000, 119000),
            ("", "EUR", 1, 0, 0),
            ("", "USD", 1, 0, 0),
        ]

    def test_limit_use_by_risk_class(self, entity: LegalEntity, customer: Customer) -> None:
        approved_customer(entity, customer)  # A, 40,000.00 EUR in force
        issued_invoice(customer)  # 1,190.00 EUR
        rows = reviews.risk_class_limit_use(entity_ids=[entity.pk], as_of=date(2026, 3, 16))
        assert [(r.risk_class, r.currency, r.limits, r.limit_minor, r.exposure_minor) for r in rows] == [
            ("A", "EUR", 1, 4000000, 119000)
        ]
        # 1,190.00 / 40,000.00 = 2.975 % → 2.98
        assert rows[0].limit_use == D("2.98")

    def test_limits_due_for_review(self, entity: LegalEntity, customer: Customer) -> None:
        approved_customer(entity, customer)
        assert list(reviews.limits_due_for_review(entity_ids=[entity.pk], as_of=date(2027, 1, 14))) == []
        due = reviews.limits_due_for_review(entity_ids=[entity.pk], as_of=date(2027, 1, 15))
        assert [(limit.customer.number, limit.amount_minor, limit.next_review_date) for limit in due] == [
            ("C-1000", 4000000, date(2027, 1, 15))
        ]
