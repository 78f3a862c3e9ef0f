"""`o2c report rollforward --period YYYY-MM` and `o2c report tie-out --as-of DATE` as a user runs them."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime

import pytest
from django.core.management import call_command

from o2c.customers.models import Customer
from o2c.ledger.models import JournalLine, LegalEntity
from o2c.receivables import services as receivable_services
from tests.conftest import issued_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(entity: LegalEntity, customer: Customer, now: datetime) -> None:
    """1,190.00 invoiced in January, 1,190.00 in February, 500.00 of January's paid in February."""
    january = issued_invoice(customer, issue_date=date(2026, 1, 20))
    issued_invoice(customer, issue_date=date(2026, 2, 5))
    receivable_services.allocation_create(
        document_id=january.pk,
        kind="payment",
        amount_minor=50000,
        posting_date=date(2026, 2, 10),
        actor=None,
        now=now,
    )


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    call_command("report", *args, "--format", "json")
    return json.loads(capsys.readouterr().out)


def test_the_rollforward_in_json_names_every_movement_in_decimal_strings(
    entity: LegalEntity, history: None, capsys: pytest.CaptureFixture[str]
) -> None:
    document = _json(capsys, "rollforward", "--period", "2026-02")

    assert document == {
        "entity": entity.code,
        "period": "2026-02",
        "first": "2026-02-01",
        "last": "2026-02-28",
        "rows": [
            {
                "entity": entity.code,
                "currency": "EUR",
                "opening": "1190.00",
                "invoices": "1190.00",
                "credit_memos": "0.00",
                "cash_applied": "-500.00",
                "discounts": "0.00",
                "write_offs": "0.00",
                "credit_memos_applied": "0.00",
                "migrated": "0.00",
                "other": "0.00",
                "closing": "1880.00",
                "subledger_closing": "1880.00",
                "difference": "0.00",
            }
        ],
        "late_entries": [],
    }


def test_the_rollforward_in_csv_has_a_row_per_currency(
    entity: LegalEntity, history: None, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("report", "rollforward", "--period", "2026-02", "--format", "csv")

    [row] = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert (row["currency"], row["opening"], row["cash_applied"], row["closing"]) == (
        "EUR",
        "1190.00",
        "-500.00",
        "1880.00",
    )


def test_a_movement_drills_down_to_its_journal_lines(
    entity: LegalEntity, customer: Customer, history: None, capsys: pytest.CaptureFixture[str]
) -> None:
    document = _json(capsys, "rollforward", "--period", "2026-02", "--movement", "cash_applied")

    [line] = document["lines"]
    entry_id = JournalLine.objects.get(credit_minor=50000, account__type="receivable").entry_id
    assert line == {
        "entity": entity.code,
        "entry": entry_id,
        "posting_date": "2026-02-10",
        "dated": "",
        "description": line["description"],
        "customer_number": customer.number,
        "document_number": line["document_number"],
        "currency": "EUR",
        "amount": "-500.00",
    }
    assert (document["period"], document["movement"]) == ("2026-02", "cash_applied")


def test_the_tie_out_lists_no_difference_when_open_items_equal_the_ledger(
    entity: LegalEntity, history: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _json(capsys, "tie-out", "--as-of", "2026-02-28") == {
        "entity": entity.code,
        "as_of": "2026-02-28",
        "differences": [],
    }
    call_command("report", "tie-out", "--as-of", "2026-02-28")
    assert capsys.readouterr().out == (
        f"{entity.code} as of Feb 28, 2026: open items equal the receivable accounts for every customer\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("rollforward",), "error: --period: the rollforward needs the month, YYYY-MM"),
        (
            ("rollforward", "--period", "2026-2"),
            "error: --period: period '2026-2' is not a month written YYYY-MM",
        ),
        (("tie-out",), "error: --as-of: the report needs its date, YYYY-MM-DD"),
        (("rollforward", "--period", "2026-02", "--format", "xlsx"), None),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(
    entity: LegalEntity, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str | None
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        call_command("report", *args)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.strip().splitlines()
    assert line == (message or "error: --format: rollforward is written as table, csv, json, not xlsx")
