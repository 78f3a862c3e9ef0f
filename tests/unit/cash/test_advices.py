"""Remittance advices read from a customer's CSV or XLSX list and from e-mails: invoice numbers, amounts,
deductions and the payment's own facts, or one line saying what is wrong."""

import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import Workbook

from o2c.cash.advices import AdviceLine, parse_amount, read_advice
from o2c.cash.errors import UnableToReadAdvice
from o2c.cash.rules import matching_text


def test_a_german_csv_list_with_a_deduction_the_payment_facts_and_a_totals_row_left_out():
    data = (
        "Zahlungsreferenz;Kunde;Datum;Währung;Rechnungsnummer;Betrag;Abzug;Grund\n"
        "ZA-2026-77;Müller GmbH;03.11.2026;EUR;RE2026/00123;1.190,00;;\n"
        ";;;;RE2026/00124;450,50;49,50;Transportschaden\n"
        ";;;;Summe;1.640,50;;\n"
    ).encode("cp1252")

    advice = read_advice(data, source="avis.csv")

    assert (advice.kind, advice.reference, advice.payer, advice.payment_date, advice.currency) == (
        "csv",
        "ZA-2026-77",
        "Müller GmbH",
        date(2026, 11, 3),
        "EUR",
    )
    assert advice.lines == (
        AdviceLine("RE2026/00123", Decimal("1190.00")),
        AdviceLine("RE2026/00124", Decimal("450.50"), Decimal("49.50"), "Transportschaden"),
    )


def test_an_english_csv_with_commas_and_thousands_separators():
    data = b'invoice_number,amount\nINV-2026-000001,"1,190.00"\nINV-2026-000002,55.10\n'

    advice = read_advice(data, source="remit.csv")

    assert [(line.invoice_number, line.amount) for line in advice.lines] == [
        ("INV-2026-000001", Decimal("1190.00")),
        ("INV-2026-000002", Decimal("55.10")),
    ]
    assert advice.total == Decimal("1245.10")


def test_an_xlsx_list_from_a_spanish_customer_after_a_title_row():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Aviso de pago ACME"])
    sheet.append(["Factura", "Importe", "Deducción", "Motivo"])
    sheet.append(["F-26-0042", 980.4, 19.6, "mercancía dañada"])
    sheet.append(["F-26-0043", 1500, None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)

    advice = read_advice(buffer.getvalue(), source="aviso.xlsx")

    assert advice.kind == "xlsx"
    assert advice.lines == (
        AdviceLine("F-26-0042", Decimal("980.40"), Decimal("19.60"), "mercancía dañada"),
        AdviceLine("F-26-0043", Decimal("1500.00")),
    )


def test_an_email_with_invoice_numbers_and_amounts_in_its_text():
    data = (
        b"From: ap@acme.example\r\nTo: ar@o2c.example\r\nSubject: Payment advice 2026-11-03\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Hello,\r\nwe paid today:\r\nINV-2026-000001  1,190.00\r\nINV-2026-000002: 55.10\r\nRegards\r\n"
    )

    advice = read_advice(data, source="advice.eml")

    assert (advice.kind, advice.payer) == ("eml", "ap@acme.example")
    assert [(line.invoice_number, line.amount) for line in advice.lines] == [
        ("INV-2026-000001", Decimal("1190.00")),
        ("INV-2026-000002", Decimal("55.10")),
    ]
    assert "Payment advice 2026-11-03" in advice.text


def test_an_email_with_a_csv_attached_reads_the_attachment():
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "compta@client.example"
    message["Subject"] = "Avis de paiement"
    message.set_content("Veuillez trouver l'avis ci-joint.")
    message.add_attachment(
        b"facture;montant\nFA-2026-0007;2 400,00\n",
        maintype="text",
        subtype="csv",
        filename="avis.csv",
    )

    advice = read_advice(message.as_bytes(), source="avis.eml")

    assert advice.lines == (AdviceLine("FA-2026-0007", Decimal("2400.00")),)
    assert advice.payer == "compta@client.example"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "avis.csv: the file is empty"),
        (
            b"foo;bar\n1;2\n",
            "avis.csv: no header row naming an invoice column (invoice, rechnung, facture, factura)",
        ),
        (b"invoice;amount\nINV-1;12,x0\n", "avis.csv: row 2, amount: '12,x0' is not an amount"),
        (b"invoice;amount\nINV-1;12.345\n", "avis.csv: row 2, amount: '12.345' is not an amount"),
        (b"invoice;comment\nINV-1;x\n", "avis.csv: row 1: no amount column"),
    ],
)
def test_a_bad_advice_is_refused_in_one_line(data, message):
    with pytest.raises(UnableToReadAdvice) as refused:
        read_advice(data, source="avis.csv")

    assert refused.value.message == message


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("1 234,56", "1234.56"),
        ("-12,00", "-12.00"),
        ("7", "7"),
    ],
)
def test_amounts_in_either_decimal_convention(text, amount):
    assert parse_amount(text, where="x") == Decimal(amount)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (
            "ORIG CO NAME:CARASYS DISTRIBU  ORIG ID:1829550760  ENTRY DESCR:PAYMENT  SEC:CCD  "
            "IND NAME:O2C DEMO GMBH  PMT DET:INV2026331733",
            "INV2026331733",
        ),
        (
            "ORIGINATOR:HILL & TURNER LLC  BNF:O2C DEMO GMBH  OBI:INV-2026-758572 2/10 discount taken",
            "INV-2026-758572 2/10 discount taken",
        ),
        ("ORIG CO NAME:ACME CORP ORIG ID:12345, PAID INV 1001, 1002", "PAID INV 1001, 1002"),
        ("ORIGINATOR:PLURITEX PRINTING LLC  BNF:O2C DEMO GMBH", ""),
        ("Rechnung RE2026/00123 Kunde: C100", "Rechnung RE2026/00123 Kunde: C100"),
    ],
)
def test_the_matcher_reads_only_the_remittance_parts_of_a_labelled_us_bank_text(text, kept):
    """Party names and ids (ORIG ID 1829550760) would otherwise read as references."""
    assert matching_text(text) == kept
