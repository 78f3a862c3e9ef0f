"""`o2c cash csv-mapping`, `o2c cash csv-mappings` and `o2c cash import --mapping` as a user runs them:
a mapping saved from JSON, listed, used for a bank's CSV and deleted; bad input one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from o2c.audit.models import AuditEvent
from o2c.cash.models import BankCsvMapping, Payment
from o2c.customers.models import Customer
from o2c.ledger.models import EntityBankAccount, LegalEntity
from o2c.receivables.models import Allocation
from tests.conftest import issued_invoice
from tests.functional.test_import_commands import run_failing
from tests.integration.test_cash_csv_mappings import GERMAN_MAPPING, german_csv

pytestmark = pytest.mark.django_db

IBAN = "DE89 3704 0044 0532 0130 00"


def _json(tmp_path: Path, content: Any, name: str = "sparkasse.json") -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def _saved(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str = "Sparkasse") -> str:
    path = _json(tmp_path, GERMAN_MAPPING)
    call_command("cash", "csv-mapping", name, "--from", str(path), "--account", IBAN)
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


def _state() -> tuple[int, int, int]:
    return (BankCsvMapping.objects.count(), EntityBankAccount.objects.count(), AuditEvent.objects.count())


def test_a_mapping_is_saved_from_json_and_listed_as_json_that_saves_again(
    entity: LegalEntity, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _saved(tmp_path, capsys)

    call_command("cash", "csv-mappings", "--format", "json")

    assert err == "CSV mapping 'Sparkasse' saved: entries booked on DE89370400440532013000 (EUR)\n"
    listing = json.loads(capsys.readouterr().out)
    (saved,) = listing["mappings"]
    assert listing["entity"] == "MAIN"
    assert (saved["name"], saved["bank_account"], saved["currency"]) == (
        "Sparkasse",
        "DE89370400440532013000",
        "EUR",
    )
    assert saved["mapping"] == GERMAN_MAPPING | {"amount": None}
    # the listed mapping, saved again under its name, changes nothing
    again = _json(tmp_path, saved["mapping"], "again.json")
    call_command("cash", "csv-mapping", "Sparkasse", "--from", str(again), "--account", IBAN)
    assert capsys.readouterr().err == (
        "CSV mapping 'Sparkasse' unchanged: entries booked on DE89370400440532013000 (EUR)\n"
    )
    assert AuditEvent.objects.filter(action__startswith="cash.csv_mapping.").count() == 1


def test_the_table_lists_each_mapping_with_its_account_and_columns(
    entity: LegalEntity, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _saved(tmp_path, capsys)

    call_command("cash", "csv-mappings")

    out = capsys.readouterr().out
    assert "Saved CSV mappings of MAIN" in out
    assert "Sparkasse" in out
    assert "DE89370400440532013000" in out
    assert "date: Buchungstag" in out


def test_a_bank_csv_is_imported_through_the_mapping_named_and_the_summary_says_csv(
    entity: LegalEntity, customer: Customer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    invoice = issued_invoice(customer)  # 1,190.00 EUR
    _saved(tmp_path, capsys)
    path = tmp_path / "umsaetze.csv"
    path.write_bytes(
        german_csv(
            f"20.03.2026;20.03.2026;Müller Maschinenbau GmbH;;Rechnung {invoice.number};;;1.190,00;EUR;R-1",
            "21.03.2026;21.03.2026;Stadtwerke Köln;;Abschlag;Lastschrift;-89,90;;EUR;",
        )
    )

    call_command("cash", "import", str(path), "--mapping", "Sparkasse", "--format", "json")
    summary = json.loads(capsys.readouterr().out)
    call_command("cash", "import", str(path), "--format", "json")
    again = json.loads(capsys.readouterr().out)

    assert {key: summary[key] for key in ("format", "entries", "payments", "applied", "ignored")} == {
        "format": "csv",
        "entries": 2,
        "payments": 1,
        "applied": 1,
        "ignored": 1,
    }
    assert (summary["amounts"], summary["applied_amounts"]) == ({"EUR": "1190.00"}, {"EUR": "1190.00"})
    assert (again["already_imported"], again["payments"], again["duplicates"]) == (True, 0, 1)
    payment = Payment.objects.get()
    assert (payment.bank_account.iban, payment.amount_minor) == ("DE89370400440532013000", 119000)
    assert Allocation.objects.get().amount_minor == 119000


def test_a_mapping_is_deleted_and_an_unknown_name_is_one_line(
    entity: LegalEntity, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _saved(tmp_path, capsys)

    call_command("cash", "csv-mapping", "Sparkasse", "--delete")

    assert capsys.readouterr().err == "CSV mapping 'Sparkasse' deleted\n"
    assert BankCsvMapping.objects.count() == 0
    assert run_failing(capsys, "cash", "csv-mapping", "Sparkasse", "--delete") == (
        "error: no CSV mapping 'Sparkasse' is saved for MAIN (saved: none)"
    )


def test_importing_with_an_unknown_mapping_is_one_line_and_imports_nothing(
    entity: LegalEntity, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "umsaetze.csv"
    path.write_bytes(german_csv("20.03.2026;20.03.2026;X;;Spende;;;10,00;EUR;R-1"))

    line = run_failing(capsys, "cash", "import", str(path), "--mapping", "Postbank")

    assert line == "error: no CSV mapping 'Postbank' is saved for MAIN (saved: none)"
    assert Payment.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            GERMAN_MAPPING | {"skip_rows": "4"},
            "error: sparkasse.json: field 'skip_rows': \"4\" is not a whole number",
        ),
        (
            GERMAN_MAPPING | {"decimal_separator": ";"},
            "error: sparkasse.json: decimal separator ';' is neither '.' nor ','",
        ),
        (
            '{"date": "Buchungstag",\n "amount": }',
            "error: sparkasse.json: line 2, column 12: not valid JSON (Expecting value)",
        ),
        (["date", "amount"], "error: sparkasse.json: a JSON object with the mapping's fields is expected"),
    ],
    ids=["field type", "field value", "syntax", "not an object"],
)
def test_a_bad_mapping_file_is_one_line_naming_the_file_and_nothing_is_written(
    entity: LegalEntity, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: Any, expected: str
) -> None:
    path = _json(tmp_path, content)
    before = _state()

    line = run_failing(capsys, "cash", "csv-mapping", "Sparkasse", "--from", str(path), "--account", IBAN)

    assert line == expected
    assert _state() == before


def test_missing_arguments_are_one_line(
    entity: LegalEntity, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _json(tmp_path, GERMAN_MAPPING)

    assert run_failing(capsys, "cash", "csv-mapping", "Sparkasse", "--from", str(path)) == (
        "error: csv-mapping needs --account IBAN_OR_NUMBER: the bank account the file's entries are booked on"
    )
    assert run_failing(capsys, "cash", "csv-mapping", "Sparkasse") == (
        "error: csv-mapping NAME needs --from MAPPING.json and --account IBAN_OR_NUMBER (or --delete)"
    )
    assert run_failing(capsys, "cash", "csv-mapping", "--from", str(path), "--account", IBAN) == (
        "error: csv-mapping needs a NAME"
    )
    assert "cannot be read" in run_failing(
        capsys, "cash", "csv-mapping", "S", "--from", str(tmp_path / "missing.json"), "--account", IBAN
    )
    assert run_failing(capsys, "cash", "csv-mappings", "--format", "csv") == (
        "error: --format: csv-mappings prints table or json"
    )
    assert _state()[0] == 0


def test_a_new_account_is_registered_in_the_currency_given(
    entity: LegalEntity, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = {"date": "Date", "amount": "Amount", "currency": "Currency"}
    path = _json(tmp_path, mapping, "wise.json")

    call_command(
        "cash", "csv-mapping", "Wise", "--from", str(path), "--account", "WISE-USD-1", "--currency", "usd"
    )

    assert capsys.readouterr().err == "CSV mapping 'Wise' saved: entries booked on WISE-USD-1 (USD)\n"
    account = BankCsvMapping.objects.get().bank_account
    assert (account.account_number, account.iban, account.currency) == ("WISE-USD-1", "", "USD")
