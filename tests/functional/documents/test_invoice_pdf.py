"""Invoice HTML and PDF in the customer's language, read back as a reader would see them."""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal

import pytest

from o2c.documents.invoice_pdf import (
    BankPrint,
    ExternalResourceRefused,
    LinePrint,
    TaxPrint,
    html_to_pdf,
    render_invoice_html,
    render_invoice_pdf,
)
from tests.functional.documents.conftest import sample_credit_memo, sample_invoice

RF = "RF29 RE20 2600 0042"


def plain(text: str) -> str:
    """No-break and narrow no-break spaces as plain spaces, runs of white space as one."""
    return re.sub(r"\s+", " ", text.replace("\xa0", " ").replace("\u202f", " "))


def pdf_text(pdf: bytes) -> str:
    """The PDF's text as poppler's pdftotext extracts it (what a reader or an archive indexer sees)."""
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True, timeout=60
    )
    return plain(result.stdout.decode("utf-8"))


needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (Debian poppler-utils) is not installed"
)


class TestRenderInvoiceHtml:
    def test_a_german_invoice_shows_amounts_dates_and_reference_in_german(self):
        html = plain(render_invoice_html(sample_invoice()))

        assert '<html lang="de">' in html
        assert "<title>Rechnung RE-2026-000042</title>" in html
        assert "Rechnungsnummer</th><td>RE-2026-000042" in html
        assert "Ausstellungsdatum</th><td>22.11.2026" in html
        assert "Leistungsdatum</th><td>30.11.2026" in html
        assert "Fällig am</th><td>22.12.2026" in html
        assert "Zeitraum 01.11.2026 – 30.11.2026" in html
        assert "1.000,00 €" in html
        assert 'Gesamtbetrag</td><td class="num">1.234,56 €' in html
        assert "USt. 0 % auf 1.234,56 €" in html
        assert "10 %" in html  # the licence line's discount
        assert "Steuerschuldnerschaft des Leistungsempfängers" in html
        assert (
            f"Bitte überweisen Sie 1.234,56 € bis zum 22.12.2026 unter Angabe der Zahlungsreferenz {RF}."
            in html
        )
        assert "FRANKREICH" in html  # the buyer abroad gets the country line
        assert "USt-IdNr.: FR40303265045" in html
        assert "DE89 3704 0044 0532 0130 00" in html
        assert "Handelsregister: Amtsgericht München HRB 123456" in html
        assert "Geschäftsführung: Erika Mustermann" in html

    @pytest.mark.parametrize(
        ("language", "title", "total", "due"),
        [
            ("de", "Rechnung", "1.234,56 €", "22.12.2026"),
            ("fr", "Facture", "1 234,56 €", "22 déc. 2026"),
            ("es", "Factura", "1.234,56 €", "22 dic 2026"),
            ("en", "Invoice", "€1,234.56", "Dec 22, 2026"),
        ],
    )
    def test_each_language_has_its_title_amount_and_date_formats(self, language, title, total, due):
        html = plain(render_invoice_html(sample_invoice(language=language)))

        assert f"<h1>{title} RE-2026-000042</h1>" in html
        assert total in html
        assert due in html

    @pytest.mark.parametrize(
        ("language", "note"),
        [
            ("de", "Steuerschuldnerschaft des Leistungsempfängers"),
            ("fr", "Autoliquidation"),
            ("es", "Inversión del sujeto pasivo"),
            ("en", "Reverse charge: the recipient is liable for the VAT."),
        ],
    )
    def test_reverse_charge_carries_the_legal_mention_of_the_language(self, language, note):
        html = render_invoice_html(sample_invoice(language=language))

        assert f'<div class="tax-notes"><p>{note}</p></div>' in html

    def test_a_tax_note_given_by_the_caller_replaces_the_standard_mention(self):
        exempt = TaxPrint(
            Decimal(0), Decimal("1234.56"), Decimal("0.00"), "E", "Steuerfrei nach § 4 Nr. 14 UStG"
        )

        html = render_invoice_html(sample_invoice(taxes=(exempt,)))

        assert "Steuerfrei nach § 4 Nr. 14 UStG" in html
        assert "Steuerschuldnerschaft" not in html

    @pytest.mark.parametrize(
        ("language", "title", "corrects"),
        [
            ("de", "Rechnungskorrektur", "Korrektur der Rechnung RE-2026-000042"),
            ("fr", "Avoir", "Rectifie la facture RE-2026-000042"),
            ("es", "Factura rectificativa", "Rectifica la factura RE-2026-000042"),
            ("en", "Credit memo", "Corrects invoice RE-2026-000042"),
        ],
    )
    def test_a_credit_memo_shows_positive_amounts_and_the_invoice_it_corrects(
        self, language, title, corrects
    ):
        html = plain(render_invoice_html(sample_credit_memo(language=language)))

        assert f"<h1>{title} GS-2026-000007</h1>" in html
        assert f'<p class="corrects">{corrects}</p>' in html
        assert "119,00 €" in html or "€119.00" in html
        assert "-119" not in html
        assert "Zahlungsreferenz" not in html

    @pytest.mark.parametrize(
        ("language", "account", "routing"),
        [
            ("en", "Account number", "Routing number (ABA)"),
            ("de", "Kontonummer", "Bankleitzahl (ABA-Routing-Nummer)"),
            ("es", "Número de cuenta", "Número de ruta (ABA)"),
        ],
    )
    def test_a_us_account_without_iban_is_printed_with_account_and_routing_number(
        self, language, account, routing
    ):
        bank = BankPrint(
            bic="CHASUS33",
            bank_name="JPMorgan Chase Bank, N.A.",
            account_number="482019374601",
            routing_number="021000021",
        )
        html = plain(render_invoice_html(sample_invoice(language=language, bank=bank)))
        assert "IBAN" not in html
        assert f"{account}</th><td>482019374601" in html
        assert f"{routing}</th><td>021000021" in html
        assert f"{account} 482019374601 · {routing} 021000021 · BIC CHASUS33" in html

    def test_a_reference_given_without_spaces_is_printed_in_groups_of_four(self):
        html = render_invoice_html(sample_invoice(payment_reference=RF.replace(" ", "")))

        assert f"Zahlungsreferenz</th><td>{RF}</td>" in html

    def test_the_page_is_self_contained(self):
        html = render_invoice_html(sample_invoice())

        assert "http:" not in html
        assert "https:" not in html
        assert "url(" not in html
        assert "@import" not in html
        assert "<link" not in html

    def test_text_from_the_data_is_escaped(self):
        html = render_invoice_html(sample_invoice(notes=("<script>alert(1)</script>",)))

        assert "<script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


class TestInvoicePrintRefusesWhatCannotBeSent:
    def test_a_document_that_does_not_add_up_is_refused(self):
        with pytest.raises(
            ValueError, match=re.escape("does not add up: net plus tax make 1234.56, not 1234.57")
        ):
            sample_invoice(total=Decimal("1234.57"))

    def test_lines_that_do_not_make_the_net_total_are_refused(self):
        line = LinePrint("Beratung", Decimal(1), Decimal(1000), Decimal("1000.00"), Decimal(0))

        with pytest.raises(ValueError, match=re.escape("the lines' net amounts make 1000.00, not 1234.56")):
            sample_invoice(lines=(line,))

    def test_an_amount_not_rounded_to_the_currency_is_refused(self):
        with pytest.raises(ValueError, match=re.escape("is not a EUR amount rounded to 0.01")):
            sample_invoice(tax=Decimal("0.001"), total=Decimal("1234.561"))

    def test_an_invalid_payment_reference_is_refused(self):
        with pytest.raises(ValueError, match="not a valid ISO 11649 reference"):
            sample_invoice(payment_reference="RF28 RE20 2600 0042")

    def test_an_unsupported_language_is_refused(self):
        with pytest.raises(ValueError, match="unsupported language 'it'"):
            sample_invoice(language="it")


class TestRenderInvoicePdf:
    def test_the_pdf_is_a_pdf(self):
        pdf = render_invoice_pdf(sample_invoice())

        assert pdf.startswith(b"%PDF-")
        assert pdf.rstrip().endswith(b"%%EOF")

    @needs_pdftotext
    def test_the_german_pdf_reads_as_a_german_invoice(self):
        text = pdf_text(render_invoice_pdf(sample_invoice()))

        assert "Rechnung RE-2026-000042" in text
        assert "1.234,56 €" in text
        assert "22.11.2026" in text
        assert RF in text
        assert "Steuerschuldnerschaft des Leistungsempfängers" in text
        assert "DE89 3704 0044 0532 0130 00" in text
        assert "Seite 1 / 1" in text

    @needs_pdftotext
    @pytest.mark.parametrize(
        ("language", "title"),
        [("de", "Rechnung"), ("fr", "Facture"), ("es", "Factura"), ("en", "Invoice")],
    )
    def test_the_pdf_title_is_in_the_customers_language(self, language, title):
        text = pdf_text(render_invoice_pdf(sample_invoice(language=language)))

        assert f"{title} RE-2026-000042" in text

    @needs_pdftotext
    def test_a_long_invoice_continues_on_further_pages(self):
        lines = tuple(
            LinePrint(f"Position {n}", Decimal(1), Decimal("10.00"), Decimal("10.00"), Decimal(0))
            for n in range(1, 81)
        )
        taxes = (TaxPrint(Decimal(0), Decimal("800.00"), Decimal("0.00"), "AE"),)
        invoice = sample_invoice(
            lines=lines, taxes=taxes, net=Decimal("800.00"), tax=Decimal("0.00"), total=Decimal("800.00")
        )

        text = pdf_text(render_invoice_pdf(invoice))

        assert "Position 80" in text
        pages = int(re.findall(r"Seite 1 / (\d+)", text)[0])
        assert pages >= 2
        assert f"Seite {pages} / {pages}" in text
        assert text.count("Handelsregister: Amtsgericht München HRB 123456") == pages  # footer on each page
        assert text.count("Beschreibung Menge Einzelpreis") >= 2  # the table head repeats

    def test_nothing_outside_the_document_is_fetched(self):
        with pytest.raises(
            ExternalResourceRefused, match=re.escape("disallowed protocol: http://127.0.0.1:9/logo.png")
        ):
            html_to_pdf('<img src="http://127.0.0.1:9/logo.png">')

    def test_a_local_file_is_not_read_either(self):
        with pytest.raises(
            ExternalResourceRefused, match=re.escape("disallowed protocol: file:///etc/hostname")
        ):
            html_to_pdf('<link rel="stylesheet" href="file:///etc/hostname">')
