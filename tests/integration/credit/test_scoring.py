"""Scoring on the database: a new account's application (statements, bureau report from a CSV, scored
without payment history, approved for its customer), then the customer scored with its payment behaviour
(days beyond terms weighted by amount and their trend, broken promises, dispute cases, returned payments),
kept with every factor, setting the risk class and the next review (docs/credit-scoring.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from o2c.audit.models import AuditEvent
from o2c.cash import services as cash_services
from o2c.cash.models import Payment
from o2c.cash.returns import payment_return
from o2c.collections import services as collection_services
from o2c.core.exceptions import DomainError, InputError
from o2c.core.money import Money
from o2c.credit import applications, scoring
from o2c.credit.applications import ApplicationIn, StatementIn, TradeReferenceIn
from o2c.credit.models import (
    BureauReport,
    CreditApplication,
    CreditLimit,
    CreditReview,
    CreditScore,
    ScorecardVersion,
)
from o2c.customers.models import Customer
from o2c.disputes import services as dispute_services
from o2c.ledger.models import LegalEntity
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from tests.camt_builder import Credit, statement_xml
from tests.conftest import NOW, issued_invoice

pytestmark = pytest.mark.django_db
D = Decimal


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 15, 0, tzinfo=UTC)


def statement_in(**changes: Any) -> StatementIn:
    values: dict[str, Any] = {
        "statement_date": date(2025, 12, 31),
        "currency": "EUR",
        "current_assets": D("400000"),
        "current_liabilities": D("250000"),
        "total_assets": D("1000000"),
        "total_liabilities": D("600000"),
        "retained_earnings": D("200000"),
        "ebit": D("100000"),
        "sales": D("2000000"),
        "equity": D("400000"),
    }
    values.update(changes)
    return StatementIn(**values)


def application_in(**changes: Any) -> ApplicationIn:
    values: dict[str, Any] = {
        "company_name": "Müller Maschinenbau GmbH",
        "country": "DE",
        "requested_limit": D("100000"),
        "currency": "EUR",
        "vat_id": "DE 123 456 789",
        "registration_number": "HRB 12345",
        "address": "Hauptstraße 1, 70173 Stuttgart",
        "trade_references": [
            TradeReferenceIn("Schmidt AG", "Frau Schmidt", 5, D("50000"), "EUR", "prompt"),
        ],
        "statements": [statement_in()],
    }
    values.update(changes)
    return ApplicationIn(**values)


BUREAU_CSV = (
    b"registration_number;vat_id;bureau;score;failure_class;payment_index;as_of\n"
    b"HRB12345;;creditsafe;72;2;80;2026-01-10\n"
)


def scored_application(entity: LegalEntity) -> CreditApplication:
    application = applications.application_submit(entity=entity, data=application_in(), actor=None, now=NOW)
    applications.bureau_import(data=BUREAU_CSV, file_name="bureau.csv", entity=entity, actor=None, now=NOW)
    scoring.application_score(application_id=application.pk, as_of=date(2026, 1, 15), actor=None, now=NOW)
    application.refresh_from_db()
    return application


class TestApplications:
    def test_submitting_keeps_the_company_its_references_and_statements(self, entity: LegalEntity) -> None:
        application = applications.application_submit(
            entity=entity, data=application_in(), actor=None, now=NOW
        )
        assert (application.state, application.vat_id, application.registration_number) == (
            "submitted",
            "DE123456789",
            "HRB12345",
        )
        assert application.requested_limit_minor == 10000000
        reference = application.trade_references.get()
        assert (reference.name, reference.years_known, reference.highest_credit_minor) == (
            "Schmidt AG",
            5,
            5000000,
        )
        statement = application.financial_statements.get()
        assert (statement.total_assets_minor, statement.equity_minor) == (100000000, 40000000)
        assert AuditEvent.objects.filter(action="credit.application.submitted").count() == 1

    def test_a_bad_amount_submits_nothing(self, entity: LegalEntity) -> None:
        with pytest.raises(InputError) as refused:
            applications.application_submit(
                entity=entity,
                data=application_in(statements=[statement_in(ebit=D("1.234"))]),
                actor=None,
                now=NOW,
            )
        assert refused.value.column == "statements[0].ebit"
        assert CreditApplication.objects.count() == 0

    def test_an_application_is_scored_without_payment_history_the_weights_renormalised(
        self, entity: LegalEntity
    ) -> None:
        application = scored_application(entity)
        assert application.state == "scored"
        score = CreditScore.objects.get(application=application)
        # present: Z'' 3.01 (100 × 20), current ratio 1.60 (100 × 10), leverage 0.60 (60 × 10),
        # bureau 72 (80 × 15), payment index 80 (100 × 5): 5300 / 60 = 88.33, class A
        assert (score.total, score.risk_class) == (D("88.33"), "A")
        # A: min(2,000,000 × 0.10, 400,000 × 0.20) = 80,000.00 EUR
        assert (score.recommended_limit_minor, score.currency, score.limit_basis) == (
            8000000,
            "EUR",
            "equity",
        )
        missing = [f["code"] for f in score.factors["factors"] if f["missing"]]
        assert missing == [
            "days_beyond_terms",
            "dbt_trend",
            "broken_promises",
            "disputes",
            "returned_payments",
        ]

    def test_approval_records_the_decided_limit_and_the_customer(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        application = scored_application(entity)
        applications.application_approve(
            application_id=application.pk, limit=D("75000"), customer=customer, note="ok", actor=None, now=NOW
        )
        application.refresh_from_db()
        assert (application.state, application.customer, application.decided_limit_minor) == (
            "approved",
            customer,
            7500000,
        )
        event = AuditEvent.objects.get(action="credit.application.approved")
        assert event.changes["decided_limit"] == [None, "75000.00 EUR"]
        # above the approval threshold of 50,000 EUR: the limit waits for a second person
        asked = CreditLimit.objects.get(pk=application.limit_request_id)
        assert (asked.customer, asked.amount_minor, asked.currency, asked.status) == (
            customer,
            7500000,
            "EUR",
            "pending",
        )
        # the application's score (88.33, A, scored 2026-01-15) is the customer's: reviewed a year later
        customer.refresh_from_db()
        assert (customer.risk_class, customer.risk_scored_on) == ("A", date(2026, 1, 15))
        assert asked.next_review_date == date(2027, 1, 15)
        assert [s.total for s in scoring.customer_scores(customer=customer)] == [D("88.33")]

    def test_an_approved_limit_up_to_the_threshold_takes_effect_at_once(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        application = scored_application(entity)
        applications.application_approve(
            application_id=application.pk, limit=D("40000"), customer=customer, note="", actor=None, now=NOW
        )
        application.refresh_from_db()
        asked = CreditLimit.objects.get(pk=application.limit_request_id)
        assert (asked.amount_minor, asked.status) == (4000000, "active")

    def test_only_a_scored_application_is_decided(self, entity: LegalEntity) -> None:
        application = applications.application_submit(
            entity=entity, data=application_in(), actor=None, now=NOW
        )
        with pytest.raises(DomainError) as refused:
            applications.application_decline(application_id=application.pk, note="no", actor=None, now=NOW)
        assert refused.value.code == "not_scored"
        application.refresh_from_db()
        assert application.state == "submitted"

    def test_declining_needs_a_reason(self, entity: LegalEntity) -> None:
        application = scored_application(entity)
        with pytest.raises(InputError):
            applications.application_decline(application_id=application.pk, note=" ", actor=None, now=NOW)
        applications.application_decline(application_id=application.pk, note="distress", actor=None, now=NOW)
        application.refresh_from_db()
        assert (application.state, application.decision_note) == ("declined", "distress")


class TestBureauImport:
    def test_rows_match_an_application_by_registration_number_or_vat_id_and_a_second_import_changes_nothing(
        self, entity: LegalEntity
    ) -> None:
        application = applications.application_submit(
            entity=entity, data=application_in(), actor=None, now=NOW
        )
        data = (
            "\ufeffvat_id,bureau,score,failure_class,payment_index,as_of,extra\n"
            "de123456789,dnb,55,3,,2026-01-10,x\n"
            "DE 123 456 789,creditsafe,72,,80,2026-01-12,\n"
        ).encode()
        first = applications.bureau_import(data=data, file_name="b.csv", entity=entity, actor=None, now=NOW)
        second = applications.bureau_import(data=data, file_name="b.csv", entity=entity, actor=None, now=NOW)
        assert first.as_json() == {"file": "b.csv", "rows": 2, "created": 2, "updated": 0, "unchanged": 0}
        assert second.as_json() == {"file": "b.csv", "rows": 2, "created": 0, "updated": 0, "unchanged": 2}
        reports = list(
            BureauReport.objects.order_by("as_of").values_list(
                "application", "bureau", "score", "failure_class", "payment_index"
            )
        )
        assert reports == [(application.pk, "dnb", 55, 3, None), (application.pk, "creditsafe", 72, None, 80)]
        assert AuditEvent.objects.filter(action="credit.bureau_report.imported").count() == 2

    def test_other_figures_for_the_same_company_and_date_replace_the_old_ones(
        self, entity: LegalEntity
    ) -> None:
        applications.application_submit(entity=entity, data=application_in(), actor=None, now=NOW)
        applications.bureau_import(data=BUREAU_CSV, file_name="b.csv", entity=entity, actor=None, now=NOW)
        corrected = BUREAU_CSV.replace(b";72;", b";70;")
        result = applications.bureau_import(
            data=corrected, file_name="b.csv", entity=entity, actor=None, now=NOW
        )
        assert (result.created, result.updated) == (0, 1)
        assert BureauReport.objects.get().score == 70

    @pytest.mark.parametrize(
        ("row", "message"),
        [
            (
                "HRB12345;creditsafe;101;2026-01-10",
                "b.csv: row 2: score: '101' is not a whole number from 0 to 100",
            ),
            (
                "HRB12345;creditsafe;72;10.01.2026",
                "b.csv: row 2: as_of: '10.01.2026' is not an ISO 8601 date",
            ),
            (
                "HRB99999;creditsafe;72;2026-01-10",
                "b.csv: row 2: registration_number: no open application or customer",
            ),
            (
                ";creditsafe;72;2026-01-10",
                "b.csv: row 2: registration_number: give registration_number or vat_id",
            ),
        ],
    )
    def test_a_bad_row_imports_nothing_and_names_row_and_column(
        self, entity: LegalEntity, row: str, message: str
    ) -> None:
        applications.application_submit(entity=entity, data=application_in(), actor=None, now=NOW)
        data = f"registration_number;bureau;score;as_of\nHRB12345;dnb;50;2026-01-01\n{row}\n".encode()
        with pytest.raises(InputError) as refused:
            applications.bureau_import(data=data, file_name="b.csv", entity=entity, actor=None, now=NOW)
        assert refused.value.message.startswith(message)
        assert BureauReport.objects.count() == 0


# --- an existing customer's payment behaviour --------------------------------------------------------


def _invoice(customer: Customer, amount: str, issue_date: date) -> Document:
    return issued_invoice(customer, issue_date=issue_date, lines=[LineIn("Service", D(1), D(amount), D(0))])


def _pay(
    entity: LegalEntity, invoice: Document, amount: str, day: date, reference: str, hooks: Any
) -> Payment:
    statement = statement_xml(
        [
            Credit(
                amount, reference, name="Müller Maschinenbau GmbH", text=f"Rechnung {invoice.number}", day=day
            )
        ],
        statement_id=reference,
        message_id=reference,
    )
    with hooks(execute=True):
        cash_services.bank_file_import(
            data=statement, file_name=f"{reference}.xml", entity=entity, actor=None, now=at(day)
        )
    return Payment.objects.get(entry_reference=reference)


def customer_with_history(entity: LegalEntity, customer: Customer, hooks: Any) -> None:
    """NET30 invoices paid 30, 10 and 2 days late and 3 days early; a payment returned; a promise broken;
    a dispute opened."""
    first = _invoice(customer, "1000.00", date(2025, 11, 3))  # due 2025-12-03
    second = _invoice(customer, "1000.00", date(2026, 1, 2))  # due 2026-02-01
    third = _invoice(customer, "3000.00", date(2026, 2, 2))  # due 2026-03-04
    fourth = _invoice(customer, "1000.00", date(2026, 3, 2))  # due 2026-04-01
    bounced = _invoice(customer, "500.00", date(2026, 3, 2))
    promised = _invoice(customer, "200.00", date(2026, 3, 2))
    disputed = _invoice(customer, "100.00", date(2026, 3, 2))
    _pay(entity, first, "1000.00", date(2026, 1, 2), "P1", hooks)  # 30 days late
    _pay(entity, second, "1000.00", date(2026, 2, 11), "P2", hooks)  # 10 days late
    _pay(entity, third, "3000.00", date(2026, 3, 6), "P3", hooks)  # 2 days late
    _pay(entity, fourth, "1000.00", date(2026, 3, 29), "P4", hooks)  # 3 days early
    returned = _pay(entity, bounced, "500.00", date(2026, 4, 5), "P5", hooks)
    with hooks(execute=True), transaction.atomic():
        payment_return(
            payment=Payment.objects.select_for_update().get(pk=returned.pk),
            reason="AC04",
            day=date(2026, 4, 8),
            bank_reference="RET-P5",
            entity=entity,
            actor=None,
            now=at(date(2026, 4, 8)),
        )
    collection_services.promise_record(
        customer=customer,
        documents=[promised],
        amount=Money(D("200.00"), "EUR"),
        promised_date=date(2026, 3, 20),
        contact="Frau Keller",
        actor=None,
        now=NOW,
        made_on=date(2026, 3, 10),
    )
    collection_services.promises_review(
        entity=entity, as_of=date(2026, 3, 31), actor=None, now=at(date(2026, 3, 31))
    )
    dispute_services.case_open(
        document_id=disputed.pk,
        amount=D("100.00"),
        reason_code="pricing",
        actor=None,
        now=at(date(2026, 3, 25)),
    )


class TestScoringACustomer:
    def test_payment_behaviour_over_the_last_twelve_months(
        self, entity: LegalEntity, customer: Customer, django_capture_on_commit_callbacks: Any
    ) -> None:
        customer_with_history(entity, customer, django_capture_on_commit_callbacks)
        behaviour = scoring.payment_behaviour(customer=customer, as_of=date(2026, 4, 15))
        # 12 months: (1,000 × 30 + 1,000 × 10 + 3,000 × 2 + 1,000 × 0) / 6,000 = 46,000 / 6,000 = 7.67
        # (the returned payment's application was reversed: neither counts)
        assert behaviour.days_beyond_terms == D("7.67")
        # 3 months (after 2026-01-15): (1,000 × 10 + 3,000 × 2 + 1,000 × 0) / 5,000 = 3.20; trend −4.47
        assert (behaviour.days_beyond_terms_3m, behaviour.trend) == (D("3.20"), D("-4.47"))
        assert (behaviour.broken_promises, behaviour.disputes, behaviour.returned_payments) == (1, 1, 1)

    def test_a_customer_without_invoices_has_no_history(self, customer: Customer) -> None:
        behaviour = scoring.payment_behaviour(customer=customer, as_of=date(2026, 4, 15))
        assert behaviour.values() == dict.fromkeys(
            ("days_beyond_terms", "dbt_trend", "broken_promises", "disputes", "returned_payments")
        )

    def test_the_score_is_kept_with_its_factors_and_sets_the_class_and_the_next_review(
        self, entity: LegalEntity, customer: Customer, django_capture_on_commit_callbacks: Any
    ) -> None:
        application = scored_application(entity)
        applications.application_approve(
            application_id=application.pk, limit=D("60000"), customer=customer, note="", actor=None, now=NOW
        )
        customer_with_history(entity, customer, django_capture_on_commit_callbacks)

        score = scoring.customer_score(customer_id=customer.pk, as_of=date(2026, 4, 15), actor=None, now=NOW)

        # Z'' 100 × 20 + current 100 × 10 + leverage 60 × 10 + days 7.67 → 70 × 15 + trend −4.47 → 100 × 5
        # + promises 1 → 50 × 10 + disputes 1 → 70 × 5 + returns 1 → 40 × 5 + bureau 72 → 80 × 15
        # + payment index 80 → 100 × 5 = 2000 + 1000 + 600 + 1050 + 500 + 500 + 350 + 200 + 1200 + 500
        # = 7900; / 100 = 79.00: class B
        assert (score.total, score.risk_class) == (D("79.00"), "B")
        # B: min(2,000,000 × 0.08 = 160,000, 400,000 × 0.15 = 60,000) = 60,000.00 EUR
        assert (score.recommended_limit_minor, score.currency) == (6000000, "EUR")
        record = scoring.score_record(score)
        assert record["factors"][3] == {
            "code": "days_beyond_terms",
            "value": "7.67",
            "missing": False,
            "band": "above 5 days",
            "points": 70,
            "weight": "15",
            "effective_weight": "15.00",
            "contribution": "10.50",
        }
        assert record["inputs"]["bureau_report"]["failure_class"] == 2
        customer.refresh_from_db()
        assert (customer.risk_class, customer.risk_scored_on) == ("B", date(2026, 4, 15))
        review = CreditReview.objects.get(customer=customer)
        # B is reviewed every 9 months
        assert (review.state, review.due_date, review.risk_class) == ("open", date(2027, 1, 15), "B")
        # the approval gave it the application's A; its own history makes it B
        event = AuditEvent.objects.filter(action="credit.customer.scored").latest("pk")
        assert event.changes["risk_class"] == ["A", "B"]
        assert event.changes["next_review"] == [None, "2027-01-15"]

    def test_rescoring_moves_the_open_review_rather_than_adding_one(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        application = scored_application(entity)
        applications.application_approve(
            application_id=application.pk, limit=D("60000"), customer=customer, note="", actor=None, now=NOW
        )
        scoring.customer_score(customer_id=customer.pk, as_of=date(2026, 4, 15), actor=None, now=NOW)
        scoring.customer_score(customer_id=customer.pk, as_of=date(2026, 5, 31), actor=None, now=NOW)
        # no history: as the application, 88.33, A: reviewed yearly
        assert list(CreditReview.objects.values_list("state", "due_date")) == [("open", date(2027, 5, 31))]
        # the application's score of 2026-01-15, then the two
        scores = [(s.as_of, s.total) for s in scoring.customer_scores(customer=customer)]
        assert scores == [
            (date(2026, 5, 31), D("88.33")),
            (date(2026, 4, 15), D("88.33")),
            (date(2026, 1, 15), D("88.33")),
        ]

    def test_nothing_known_is_refused_and_nothing_changes(self, customer: Customer) -> None:
        with pytest.raises(DomainError) as refused:
            scoring.customer_score(customer_id=customer.pk, as_of=date(2026, 4, 15), actor=None, now=NOW)
        assert refused.value.code == "no_factors"
        customer.refresh_from_db()
        assert customer.risk_class == ""
        assert (CreditScore.objects.count(), CreditReview.objects.count()) == (0, 0)


class TestScorecardChanges:
    def test_a_change_adds_a_version_that_scores_from_then_on_audited(self, entity: LegalEntity) -> None:
        from o2c.credit.scorecard import DEFAULT_DEFINITION

        changed = {**DEFAULT_DEFINITION, "limit_step": "5000"}
        version = scoring.scorecard_change(definition=changed, note="coarser limits", actor=None, now=NOW)
        assert version.version == 2
        assert scoring.scorecard_current()[1].limit_step == D(5000)
        event = AuditEvent.objects.get(action="credit.scorecard.changed")
        assert event.changes == {"version": [1, 2], "limit_step": ["1000", "5000"]}
        assert event.reason == "coarser limits"

    def test_a_bad_definition_adds_nothing(self) -> None:
        with pytest.raises(InputError):
            scoring.scorecard_change(definition={"factors": []}, note="", actor=None, now=NOW)
        assert list(ScorecardVersion.objects.values_list("version", flat=True)) == [1]
