"""`o2c cash mandates`: SEPA direct-debit mandates imported from a CSV file (atomic, idempotent, one-line
errors naming the row and column) and listed; collections then use them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command

from o2c.audit.models import AuditEvent
from o2c.customers import services as customer_services
from o2c.customers.models import Customer, Mandate
from o2c.ledger.models import LegalEntity
from tests.conftest import NOW, customer_in
from tests.functional.test_import_commands import run_failing

pytestmark = pytest.mark.django_db

HEADER = "customer_number;reference;iban;bic;signature_date;sequence_type;holder\n"
ROWS = (
    "C-1000;MDT-1000-01;DE89 3704 0044 0532 0130 00;COBADEFFXXX;2026-01-15;;Müller Maschinenbau GmbH\n"
    "C-2000;MDT-2000-01;FR1420041010050500013M02606;;2026-02-01;OOFF;\n"
)


@pytest.fixture
def customers(entity: LegalEntity, customer: Customer) -> list[Customer]:
    other = customer_services.customer_create(
        entity=entity, data=customer_in("C-2000", name="Dupont SARL", country="FR"), actor=None, now=NOW
    )
    return [customer, other]


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mandates.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_mandate_file_is_imported_and_listed(
    customers: list[Customer], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path, HEADER + ROWS)

    call_command("cash", "mandates", str(path), "--format", "json")

    assert json.loads(capsys.readouterr().out) == {
        "file": "mandates.csv",
        "rows": 2,
        "created": 2,
        "already_known": 0,
    }
    assert list(
        Mandate.objects.order_by("reference").values_list(
            "customer__number", "reference", "iban", "bic", "signature_date", "sequence_type", "holder"
        )
    ) == [
        (
            "C-1000",
            "MDT-1000-01",
            "DE89370400440532013000",
            "COBADEFFXXX",
            date(2026, 1, 15),
            "FRST",
            "Müller Maschinenbau GmbH",
        ),
        ("C-2000", "MDT-2000-01", "FR1420041010050500013M02606", "", date(2026, 2, 1), "OOFF", ""),
    ]
    assert AuditEvent.objects.filter(action="cash.mandate.created").count() == 2

    call_command("cash", "mandates", "--format", "json")
    listed = json.loads(capsys.readouterr().out)
    assert listed["entity"] == "MAIN"
    assert [(row["customer_number"], row["reference"], row["active"]) for row in listed["mandates"]] == [
        ("C-1000", "MDT-1000-01", True),
        ("C-2000", "MDT-2000-01", True),
    ]


def test_the_same_file_again_changes_nothing(
    customers: list[Customer], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path, HEADER + ROWS)
    call_command("cash", "mandates", str(path))
    capsys.readouterr()

    call_command("cash", "mandates", str(path))

    assert "2 mandates, 0 created, 2 known already" in capsys.readouterr().err
    assert Mandate.objects.count() == 2
    assert AuditEvent.objects.filter(action="cash.mandate.created").count() == 2


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            "C-9999;MDT-9;DE89370400440532013000;;2026-01-15;;\n",
            "row 3, customer_number: no customer 'C-9999'",
        ),
        ("C-2000;MDT-9;DE89370400440532013000;;15.01.2026;;\n", "row 3, signature_date: '15.01.2026' is not"),
        (
            "C-2000;MDT-9;DE00370400440532013000;;2026-01-15;;\n",
            "row 3: mandate MDT-9: 'DE00370400440532013000'",
        ),
        (
            "C-2000;MDT-1000-01;DE89370400440532013000;;2026-01-15;;\n",
            "row 3, reference: mandate MDT-1000-01",
        ),
        ("C-2000;MDT-9;DE89370400440532013000;;2026-01-15;RCUR;\n", "row 3: mandate MDT-9: a new mandate"),
        ("C-2000;MDT-9;DE89370400440532013000;;2027-01-15;;\n", "row 3, signature_date: 2027-01-15 is in"),
    ],
    ids=["customer", "date", "iban", "reference taken", "sequence", "future"],
)
def test_a_bad_row_refuses_the_whole_file_in_one_line(
    customers: list[Customer], tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: str, expected: str
) -> None:
    path = _file(tmp_path, HEADER + ROWS.splitlines(keepends=True)[0] + rows)

    line = run_failing(capsys, "cash", "mandates", str(path))

    assert line.startswith("error: mandates.csv: ")
    assert expected in line
    assert Mandate.objects.count() == 0


def test_a_header_without_the_required_columns_is_refused(
    customers: list[Customer], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path, "customer_number,iban\nC-1000,DE89370400440532013000\n")

    line = run_failing(capsys, "cash", "mandates", str(path))

    assert line == "error: mandates.csv: header: missing column(s) reference, signature_date"
