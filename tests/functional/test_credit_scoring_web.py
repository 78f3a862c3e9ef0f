"""The credit analyst's application pages: a new account's application entered by hand, scored on its
statements and bureau report (each factor with its value, band, points and weight, amounts and numbers in
the reader's locale), approved for its customer or declined; auditors read, others are refused
(docs/credit-scoring.md)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from o2c.credit import applications, scoring
from o2c.credit.models import CreditApplication, CreditLimit
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.workspace.models import UserPreference
from tests.conftest import NOW, make_user

pytestmark = pytest.mark.django_db

FORM = {
    "company_name": "Müller Maschinenbau GmbH",
    "country": "DE",
    "vat_id": "DE123456789",
    "registration_number": "HRB 12345",
    "address": "Hauptstraße 1\n70173 Stuttgart",
    "requested_limit": "100000.00",
    "currency": "EUR",
    "reference-TOTAL_FORMS": "3",
    "reference-INITIAL_FORMS": "0",
    "reference-0-name": "Schmidt AG",
    "reference-0-contact": "Frau Schmidt",
    "reference-0-years_known": "5",
    "reference-0-highest_credit": "50000",
    "reference-0-payment_experience": "prompt",
    "statement_date": "2025-12-31",
    "current_assets": "400000",
    "current_liabilities": "250000",
    "total_assets": "1000000",
    "total_liabilities": "600000",
    "retained_earnings": "200000",
    "ebit": "100000",
    "sales": "2000000",
    "equity": "400000",
}
# the same as a German reader types it
GERMAN = {
    **FORM,
    "requested_limit": "100.000,00",
    "reference-0-highest_credit": "50.000",
    "current_assets": "400.000",
    "current_liabilities": "250.000",
    "total_assets": "1.000.000",
    "total_liabilities": "600.000",
    "retained_earnings": "200.000",
    "ebit": "100.000",
    "sales": "2.000.000",
    "equity": "400.000",
    "statement_date": "31.12.2025",
}
BUREAU = (
    b"registration_number,bureau,score,failure_class,payment_index,as_of\n"
    b"HRB12345,creditsafe,72,2,80,2026-01-10\n"
)


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)  # 16 March 2026, 09:30 UTC


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def analyst_user(entity: LegalEntity) -> User:
    return make_user("cora", "credit", entities=[entity])


def _submitted(client: Client, form: dict[str, str] = FORM) -> CreditApplication:
    response = client.post("/credit/applications/new/", form)
    assert response.status_code == 302, response.content.decode()
    return CreditApplication.objects.get()


class TestApplicationPages:
    def test_an_application_entered_in_german_is_scored_and_approved(
        self, entity: LegalEntity, customer: Customer, analyst_user: User
    ) -> None:
        UserPreference.objects.create(user=analyst_user, language="de")
        client = login(analyst_user)
        application = _submitted(client, GERMAN)
        assert application.requested_limit_minor == 10000000
        assert application.trade_references.get().highest_credit_minor == 5000000
        assert application.financial_statements.get().sales_minor == 200000000
        applications.bureau_import(data=BUREAU, file_name="b.csv", entity=entity, actor=None, now=NOW)

        scored = client.post(f"/credit/applications/{application.pk}/score/")
        assert scored.status_code == 302
        page = client.get(f"/credit/applications/{application.pk}/").content.decode()
        # as of today, 16 March 2026: 88,33 points, class A, 80.000,00 € recommended (German reader)
        assert "88,33" in page and "80.000,00" in page
        assert "3,01" in page  # the Z''-score

        approved = client.post(
            f"/credit/applications/{application.pk}/approve/",
            {"customer_number": "C-1000", "limit": "40.000", "note": "gut"},
        )
        assert approved.status_code == 302
        application.refresh_from_db()
        assert (application.state, application.decided_limit_minor, application.customer) == (
            "approved",
            4000000,
            customer,
        )
        assert CreditLimit.objects.get(pk=application.limit_request_id).status == "active"

    def test_the_detail_shows_each_factor_and_the_missing_ones(
        self, entity: LegalEntity, analyst_user: User
    ) -> None:
        client = login(analyst_user)
        application = _submitted(client)
        client.post(f"/credit/applications/{application.pk}/score/")
        page = client.get(f"/credit/applications/{application.pk}/").content.decode()
        assert "Altman Z&#x27;&#x27;-score" in page
        assert "Days beyond terms (12 months)" in page and "missing" in page
        # only the financials: Z'' 100 × 20, current ratio 100 × 10, leverage 60 × 10 = 3600 / 40 = 90.00
        assert "90 points as of Mar 16, 2026: risk class A" in page
        listing = client.get("/credit/applications/").content.decode()
        assert "Müller Maschinenbau GmbH" in listing

    def test_a_bad_form_shows_the_errors_and_saves_nothing(self, analyst_user: User) -> None:
        client = login(analyst_user)
        response = client.post("/credit/applications/new/", {**FORM, "ebit": "", "currency": "EURO"})
        assert response.status_code == 422
        assert CreditApplication.objects.count() == 0

    def test_up_to_three_trade_references_are_taken_and_empty_rows_left_out(self, analyst_user: User) -> None:
        application = _submitted(
            login(analyst_user),
            {
                **FORM,
                "reference-1-name": "Weber KG",
                "reference-1-years_known": "2",
                "reference-1-highest_credit": "12000.50",
                "reference-1-payment_experience": "slow",
            },
        )

        assert list(
            application.trade_references.order_by("pk").values_list(
                "name", "contact", "years_known", "highest_credit_minor", "currency", "payment_experience"
            )
        ) == [
            ("Schmidt AG", "Frau Schmidt", 5, 5000000, "EUR", "prompt"),
            ("Weber KG", "", 2, 1200050, "EUR", "slow"),
        ]

    def test_a_reference_without_its_payment_experience_is_refused(self, analyst_user: User) -> None:
        response = login(analyst_user).post(
            "/credit/applications/new/", {**FORM, "reference-2-name": "Becker GmbH"}
        )

        assert response.status_code == 422
        assert response.context["references"].forms[2].errors["payment_experience"] == [
            "Say how the reference was paid."
        ]
        assert CreditApplication.objects.count() == 0

    def test_a_bureau_file_uploaded_on_the_page_is_imported_once(self, analyst_user: User) -> None:
        client = login(analyst_user)
        application = _submitted(client)
        url = "/credit/applications/bureau/"

        first = client.post(url, {"file": SimpleUploadedFile("creditsafe.csv", BUREAU)}, follow=True)
        again = client.post(url, {"file": SimpleUploadedFile("creditsafe.csv", BUREAU)}, follow=True)

        report = application.bureau_reports.get()
        assert (report.bureau, report.score, report.failure_class, report.payment_index) == (
            "creditsafe",
            72,
            2,
            80,
        )
        assert "creditsafe.csv: 1 report read: 1 new, 0 changed, 0 unchanged." in first.content.decode()
        assert "creditsafe.csv: 1 report read: 0 new, 0 changed, 1 unchanged." in again.content.decode()

    def test_a_bad_bureau_row_imports_nothing_and_names_where(self, analyst_user: User) -> None:
        client = login(analyst_user)
        application = _submitted(client)
        bad = BUREAU + b"HRB999,creditsafe,abc,2,80,2026-01-10\n"

        response = client.post(
            "/credit/applications/bureau/", {"file": SimpleUploadedFile("bad.csv", bad)}, follow=True
        )

        page = response.content.decode()
        assert "bad.csv: row 2: score:" in page
        assert not application.bureau_reports.exists()

    def test_an_auditor_may_not_import_bureau_files(self, entity: LegalEntity, analyst_user: User) -> None:
        auditor = login(make_user("audrey", "auditor", entities=[entity]))
        response = auditor.post("/credit/applications/bureau/", {"file": SimpleUploadedFile("b.csv", BUREAU)})
        assert response.status_code == 403

    def test_the_list_reads_the_same_queries_for_one_application_or_three(
        self, entity: LegalEntity, analyst_user: User
    ) -> None:
        client = login(analyst_user)

        def queries() -> int:
            with CaptureQueriesContext(connection) as captured:
                assert client.get("/credit/applications/").status_code == 200
            return len(captured)

        first = _submitted(client)
        scoring.application_score(application_id=first.pk, as_of=NOW.date(), actor=None, now=NOW)
        one = queries()
        for name in ("Zwei GmbH", "Drei AG"):
            client.post("/credit/applications/new/", {**FORM, "company_name": name})
        for application in CreditApplication.objects.exclude(pk=first.pk):
            scoring.application_score(application_id=application.pk, as_of=NOW.date(), actor=None, now=NOW)

        assert CreditApplication.objects.count() == 3
        assert queries() == one

    def test_declining_needs_a_reason(self, entity: LegalEntity, analyst_user: User) -> None:
        client = login(analyst_user)
        application = _submitted(client)
        client.post(f"/credit/applications/{application.pk}/score/")
        assert client.post(f"/credit/applications/{application.pk}/decline/", {"note": ""}).status_code == 422
        client.post(f"/credit/applications/{application.pk}/decline/", {"note": "too risky"})
        application.refresh_from_db()
        assert (application.state, application.decision_note) == ("declined", "too risky")

    def test_auditors_read_others_are_refused(self, entity: LegalEntity, analyst_user: User) -> None:
        application = _submitted(login(analyst_user))
        auditor = login(make_user("aude", "auditor", entities=[entity]))
        assert auditor.get(f"/credit/applications/{application.pk}/").status_code == 200
        assert auditor.post(f"/credit/applications/{application.pk}/score/").status_code == 403
        collector = login(make_user("carla", "collector", entities=[entity]))
        assert collector.get("/credit/applications/").status_code == 403
        application.refresh_from_db()
        assert application.state == "submitted"
