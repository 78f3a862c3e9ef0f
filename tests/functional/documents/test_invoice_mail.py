"""The invoice e-mail, sent through Django's real SMTP backend to an SMTP server on loopback."""

from __future__ import annotations

import pytest
from django.core.mail import get_connection

from o2c.documents.invoice_pdf import render_invoice_pdf
from o2c.documents.mail import invoice_message
from tests.functional.documents.conftest import sample_credit_memo, sample_invoice

FROM = "billing@o2c.example"


class TestInvoiceMessage:
    def test_a_german_invoice_arrives_in_german_with_its_pdf(self, smtp_settings):
        invoice = sample_invoice()
        pdf = render_invoice_pdf(invoice)
        message = invoice_message(invoice, to=["ap@dupont.example"], from_email=FROM, pdf=pdf)

        with get_connection() as connection:
            sent = connection.send_messages([message])

        assert sent == 1
        [mail] = smtp_settings.received
        assert mail.mail_from == FROM
        assert mail.rcpt_tos == ("ap@dupont.example",)
        received = mail.message
        assert received["Subject"] == "Rechnung RE-2026-000042 von O2C Deutschland GmbH"
        assert received["To"] == "ap@dupont.example"
        assert received["Content-Language"] == "de"
        body = received.get_body(preferencelist=("plain",))
        assert body is not None
        text = body.get_content().replace("\r\n", "\n")  # SMTP carries CRLF line ends
        assert text.startswith("Sehr geehrte Damen und Herren,\n\nanbei erhalten Sie unsere Rechnung")
        assert "RE-2026-000042 vom 22.11.2026 über 1.234,56\xa0€." in text
        assert "unter Angabe der Zahlungsreferenz RF29 RE20 2600 0042." in text
        assert text.endswith("Mit freundlichen Grüßen\nO2C Deutschland GmbH\n")
        [attachment] = list(received.iter_attachments())
        assert attachment.get_filename() == "RE-2026-000042.pdf"
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_content() == pdf
        assert attachment.get_content().startswith(b"%PDF-")

    @pytest.mark.parametrize(
        ("language", "subject"),
        [
            ("fr", "Avoir GS-2026-000007 de O2C Deutschland GmbH"),
            ("es", "Factura rectificativa GS-2026-000007 de O2C Deutschland GmbH"),
            ("en", "Credit memo GS-2026-000007 from O2C Deutschland GmbH"),
        ],
    )
    def test_a_credit_memo_is_announced_in_the_customers_language(self, smtp_settings, language, subject):
        memo = sample_credit_memo(language=language)
        message = invoice_message(
            memo,
            to=["ap@dupont.example", "cfo@dupont.example"],
            from_email=FROM,
            pdf=render_invoice_pdf(memo),
        )

        message.send()

        [mail] = smtp_settings.received
        assert mail.rcpt_tos == ("ap@dupont.example", "cfo@dupont.example")
        assert mail.message["Subject"] == subject
        [attachment] = list(mail.message.iter_attachments())
        assert attachment.get_filename() == "GS-2026-000007.pdf"

    def test_a_number_with_a_slash_makes_a_safe_file_name(self):
        invoice = sample_invoice(number="2026/0042", payment_reference="")

        message = invoice_message(invoice, to=["ap@dupont.example"], from_email=FROM, pdf=b"%PDF-1.7\n")

        assert [name for name, _, _ in message.attachments] == ["2026-0042.pdf"]

    def test_without_a_billing_contact_nothing_is_built_or_sent(self, smtp_settings):
        with pytest.raises(ValueError, match="RE-2026-000042 has no billing contact"):
            invoice_message(sample_invoice(), to=[" "], from_email=FROM, pdf=b"%PDF-1.7\n")

        assert smtp_settings.received == []

    def test_an_attachment_that_is_not_a_pdf_is_refused(self):
        with pytest.raises(ValueError, match="is not a PDF"):
            invoice_message(sample_invoice(), to=["ap@dupont.example"], from_email=FROM, pdf=b"<html>")
