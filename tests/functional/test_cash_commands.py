"""`o2c cash import` and `o2c cash applications` as a user runs them: a bank file in, a summary and the
applications out, one-line errors for bad files."""

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from o2c.cash.models import Payment
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from tests.camt_builder import Credit, statement_xml
from tests.conftest import issued_invoice
from tests.functional.test_import_commands import run_failing

pytestmark = pytest.mark.django_db

HEADER = "entry_reference,invoice_number,amount,discount,deduction,write_off,status,confidence"


def _statement(tmp_path: Path, invoice_number: str) -> Path:
    path = tmp_path / "statement.xml"
    path.write_bytes(
        statement_xml(
            [
                Credit(
                    "1190.00", "BANKREF-1", name="Mueller Maschinenbau", text=f"Rechnung {invoice_number}"
                ),
                Credit("55.00", "BANKREF-2", name="Zahlungsdienst Nord", text="Danke"),
            ]
        )
    )
    return path


def test_import_prints_its_summary_as_json_and_applications_lists_every_line(
    entity: LegalEntity, customer: Customer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    invoice = issued_invoice(customer)  # 1,190.00
    path = _statement(tmp_path, invoice.number)

    call_command("cash", "import", str(path), "--format", "json")

    summary = json.loads(capsys.readouterr().out)
    assert {key: summary[key] for key in ("format", "payments", "applied", "unidentified", "suggested")} == {
        "format": "camt.053",
        "payments": 2,
        "applied": 1,
        "unidentified": 1,
        "suggested": 0,
    }
    assert (summary["amounts"], summary["applied_amounts"]) == ({"EUR": "1245.00"}, {"EUR": "1190.00"})

    call_command("cash", "applications", "--format", "csv")

    assert capsys.readouterr().out.splitlines() == [
        HEADER,
        f"BANKREF-1,{invoice.number},1190.00,0.00,0.00,0.00,applied,0.980",
        "BANKREF-2,,55.00,0.00,0.00,0.00,suggested,0.000",
    ]


def test_the_same_file_twice_imports_nothing_the_second_time(
    entity: LegalEntity, customer: Customer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _statement(tmp_path, issued_invoice(customer).number)
    call_command("cash", "import", str(path), "--format", "json")
    capsys.readouterr()

    call_command("cash", "import", str(path), "--format", "json")

    summary = json.loads(capsys.readouterr().out)
    assert (summary["already_imported"], summary["payments"]) == (True, 0)
    assert Payment.objects.count() == 2


def test_the_table_summary_names_the_file_and_its_counts(
    entity: LegalEntity, customer: Customer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _statement(tmp_path, issued_invoice(customer).number)

    call_command("cash", "import", str(path))

    out = capsys.readouterr().out
    assert "statement.xml (camt.053)" in out
    assert "unidentified" in out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b"<?xml version='1.0'?><Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.08'><BkToCs",
            "bad.xml",
        ),
        (b"just some text, not a bank file\n", "bad.xml"),
        (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><Document>&a;</Document>',
            "bad.xml",
        ),
    ],
    ids=["truncated", "unknown format", "entities"],
)
def test_a_bad_file_is_refused_in_one_line_naming_it_and_nothing_is_written(
    entity: LegalEntity, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, expected: str
) -> None:
    path = tmp_path / "bad.xml"
    path.write_bytes(content)

    line = run_failing(capsys, "cash", "import", str(path))

    assert expected in line
    assert Payment.objects.count() == 0


def test_a_missing_file_and_a_wrong_format_option_are_one_line_errors(
    entity: LegalEntity, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "cannot be read" in run_failing(capsys, "cash", "import", str(tmp_path / "missing.xml"))
    assert "--format" in run_failing(capsys, "cash", "applications", "--format", "json")


def test_a_bai2_file_is_detected_and_its_16_record_reference_is_the_entry_reference(
    entity: LegalEntity, customer: Customer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    invoice = issued_invoice(customer)
    records = [
        "01,SENDER,RECEIVER,260320,0930,FILE7,80,10,2/",
        "02,RECEIVER,BANKID,1,260320,2400,EUR,2/",
        "03,DE89370400440532013000,EUR,010,100000,,,015,219000,,/",
        f"16,195,119000,0,BR778899,CUST55,PAYMENT {invoice.number}/",
        "49,438000,3/",
        "98,438000,1,5/",
        "99,438000,1,7/",
    ]
    path = tmp_path / "lockbox.bai"
    path.write_text("\n".join(records) + "\n")

    call_command("cash", "import", str(path), "--format", "json")
    assert json.loads(capsys.readouterr().out)["format"] == "bai2"

    call_command("cash", "applications", "--format", "csv")
    assert capsys.readouterr().out.splitlines()[1].startswith(f"BR778899,{invoice.number},1190.00,")


def test_an_mt940_file_is_detected_and_the_reference_after_the_slashes_is_the_entry_reference(
    entity: LegalEntity, customer: Customer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    invoice = issued_invoice(customer)
    text = "\n".join(
        [
            ":20:STMT-1",
            ":25:DE89370400440532013000",
            ":28C:00001/001",
            ":60F:C260319EUR1000,00",
            ":61:2603200320C1190,00NTRFNONREF//BK4711",
            f":86:166?00GUTSCHRIFT?20{invoice.number}?32MUELLER MASCHINENBAU",
            ":62F:C260320EUR2190,00",
            "-",
        ]
    )
    path = tmp_path / "statement.sta"
    path.write_text(text + "\n")

    call_command("cash", "import", str(path), "--format", "json")
    assert json.loads(capsys.readouterr().out)["format"] == "mt940"

    call_command("cash", "applications", "--format", "csv")
    assert capsys.readouterr().out.splitlines()[1].startswith(f"BK4711,{invoice.number},1190.00,")
