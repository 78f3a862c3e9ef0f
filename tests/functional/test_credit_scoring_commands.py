"""`o2c credit` (scoring): scoring a customer (JSON with every factor, or a table), the reviews due, a
bureau CSV import (a bad row: one line naming file, row and column, exit 2, nothing written) and the
report by risk class (docs/credit-scoring.md)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from o2c.credit import applications
from o2c.credit.models import BureauReport, CreditScore
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from tests.conftest import NOW
from tests.functional.test_import_commands import run_failing
from tests.integration.credit.test_scoring import scored_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(entity: LegalEntity, customer: Customer) -> Customer:
    application = scored_application(entity)
    applications.application_approve(
        application_id=application.pk, limit=Decimal("40000"), customer=customer, note="", actor=None, now=NOW
    )
    return customer


def test_score_prints_the_score_with_every_factor_as_json(approved: Customer, capsys: Any) -> None:
    call_command("credit", "score", "--customer", "C-1000", "--as-of", "2026-03-16", "--format", "json")
    out = json.loads(capsys.readouterr().out)
    assert (out["customer"], out["as_of"], out["total"], out["risk_class"]) == (
        "C-1000",
        "2026-03-16",
        "88.33",
        "A",
    )
    assert (out["recommended_limit"], out["currency"], out["limit_basis"]) == ("80000.00", "EUR", "equity")
    assert out["next_review"] == "2027-03-16"
    assert [f["code"] for f in out["factors"] if not f["missing"]] == [
        "z_score",
        "current_ratio",
        "leverage",
        "bureau_score",
        "bureau_payment_index",
    ]
    assert CreditScore.objects.filter(customer=approved).count() == 2


def test_score_as_a_table_in_the_readers_locale(approved: Customer, capsys: Any) -> None:
    call_command("credit", "score", "--customer", "C-1000", "--as-of", "2026-03-16")
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "C-1000 scored 88.33 as of Mar 16, 2026: class A"
    assert "recommended limit: €80,000.00" in out
    assert "days_beyond_terms      missing" in out


def test_an_unknown_customer_is_one_line_and_exit_2(entity: LegalEntity, capsys: Any) -> None:
    line = run_failing(capsys, "credit", "score", "--customer", "NOPE")
    assert line == "error: --customer: unknown customer 'NOPE'"


def test_reviews_due_as_json(approved: Customer, capsys: Any) -> None:
    call_command("credit", "reviews", "--as-of", "2027-01-15", "--format", "json")
    out = json.loads(capsys.readouterr().out)
    assert out["as_of"] == "2027-01-15"
    assert [(r["customer"], r["risk_class"], r["due_date"]) for r in out["reviews"]] == [
        ("C-1000", "A", "2027-01-15")
    ]
    call_command("credit", "reviews", "--as-of", "2027-01-14", "--format", "json")
    assert json.loads(capsys.readouterr().out)["reviews"] == []


def test_a_bad_bureau_row_imports_nothing(entity: LegalEntity, tmp_path: Path, capsys: Any) -> None:
    scored_application(entity)
    before = BureauReport.objects.count()
    path = tmp_path / "bureau.csv"
    path.write_text(
        "registration_number,bureau,score,as_of\nHRB12345,dnb,55,2026-02-01\nHRB12345,dnb,55,2026-02-31\n",
        encoding="utf-8",
    )
    line = run_failing(capsys, "credit", "bureau-import", str(path))
    assert line == f"error: {path}: row 2: as_of: '2026-02-31' is not an ISO 8601 date (YYYY-MM-DD)"
    assert BureauReport.objects.count() == before


def test_bureau_import_twice_changes_nothing_the_second_time(
    entity: LegalEntity, tmp_path: Path, capsys: Any
) -> None:
    scored_application(entity)
    path = tmp_path / "bureau.csv"
    path.write_text("registration_number,bureau,score,as_of\nHRB12345,dnb,55,2026-02-01\n", encoding="utf-8")
    call_command("credit", "bureau-import", str(path), "--format", "json")
    assert json.loads(capsys.readouterr().out)["created"] == 1
    call_command("credit", "bureau-import", str(path), "--format", "json")
    assert json.loads(capsys.readouterr().out) == {
        "file": str(path),
        "rows": 1,
        "created": 0,
        "updated": 0,
        "unchanged": 1,
    }


def test_the_report_by_risk_class(approved: Customer, capsys: Any) -> None:
    call_command("credit", "report", "risk-classes", "--as-of", "2026-03-16", "--format", "json")
    out = json.loads(capsys.readouterr().out)
    assert out["customers"] == [
        {"risk_class": "A", "currency": "EUR", "customers": 1, "receivables": "0.00", "exposure": "0.00"}
    ]
    assert out["limits"][0]["limit"] == "40000.00"
