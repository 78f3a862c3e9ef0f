"""Dunning letters: the `letter` channel's notices as printable PDF letters for a window envelope (DIN 5008
form B), written by `o2c dunning letters` (one file each, or one merged file) and recorded as sent, and
read through GET /api/collections/notices/{id}/letter.pdf.

Here the standard plan's level 2 (15 days past due) is a letter. C-1000 (German, in Germany) owes an
invoice of 1,234.50 EUR due 1 February 2026; on 16 February it is 15 days past due."""

from __future__ import annotations

import json
import re
import zlib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from o2c.audit.models import AuditEvent
from o2c.billing.models import InvoiceProfile
from o2c.collections import letters, services
from o2c.collections.models import DunningNotice, DunningStep
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from o2c.workspace import services as workspace_services
from tests.conftest import NOW, customer_in, issued_invoice, make_user
from tests.functional.test_import_commands import run_failing

pytestmark = pytest.mark.django_db

MM = 96 / 25.4  # WeasyPrint lays out in CSS pixels


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)  # 16 March 2026, 09:30 UTC


@pytest.fixture(autouse=True)
def _letters(entity: LegalEntity) -> None:
    InvoiceProfile.objects.create(
        entity=entity, address="Hauptstraße 1\n10115 Berlin", email="forderungen@o2c-demo.example"
    )
    DunningStep.objects.filter(plan__entity=entity, level=2).update(channel="letter")


def _customer(entity: LegalEntity, number: str, **overrides: Any) -> Customer:
    return customer_services.customer_create(
        entity=entity, data=customer_in(number, **overrides), actor=None, now=NOW
    )


def _invoice(customer: Customer, amount: str = "1234.50") -> Document:
    return issued_invoice(
        customer,
        issue_date=date(2026, 1, 2),
        lines=[LineIn("Service", Decimal(1), Decimal(amount), Decimal(0))],
    )


@pytest.fixture
def stuttgart(entity: LegalEntity) -> Customer:
    return _customer(entity, "C-1000", address="Industriestraße 5\n70565 Stuttgart")


def _run(entity: LegalEntity) -> None:
    services.dunning_run(entity=entity, as_of=date(2026, 2, 16), dry_run=False, actor=None, now=NOW)


def _text(html: str) -> str:
    body = html[html.index("<body>") :]
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


def page_count(pdf: bytes) -> int:
    """The pages of a PDF (its page objects, in compressed object streams too)."""
    texts = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            texts.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return sum(len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", text)) for text in texts)


def _positions_mm(html: str, texts: set[str]) -> dict[str, tuple[float, float]]:
    """Where these texts start on the first page, in mm from the sheet's left and top edges."""
    from weasyprint import HTML

    page = HTML(string=html).render().pages[0]
    found: dict[str, tuple[float, float]] = {}

    def walk(box: Any) -> None:
        if type(box).__name__ == "TextBox" and box.text in texts and box.text not in found:
            found[box.text] = (round(box.position_x / MM, 1), round(box.position_y / MM, 1))
        for child in getattr(box, "children", None) or []:
            walk(child)

    walk(page._page_box)
    return found


class TestLetter:
    def test_the_letter_has_sender_window_address_date_in_the_customers_locale_text_items_and_total(
        self, entity: LegalEntity, stuttgart: Customer
    ) -> None:
        invoice = _invoice(stuttgart)
        _run(entity)
        notice = DunningNotice.objects.get()
        assert (notice.channel, notice.level, notice.status) == ("letter", 2, "pending")

        letter = letters.letter_html(notice)

        text = _text(letter.html)
        assert text.startswith(
            "O2C Demo GmbH Hauptstraße 1 10115 Berlin Deutschland forderungen@o2c-demo.example "
            "O2C Demo GmbH · Hauptstraße 1 · 10115 Berlin "
            "Müller Maschinenbau GmbH Industriestraße 5 70565 Stuttgart "
            "Kundennummer C-1000 Datum 16.02.2026 "
            "Zweite Mahnung: überfällige Rechnungen, Kunde C-1000 Sehr geehrte Damen und Herren, trotz "
        ), text
        assert text.endswith(
            "Mit freundlichen Grüßen O2C Demo GmbH "
            "Rechnung Fällig am Tage überfällig Offener Betrag "
            f"{invoice.number} 01.02.2026 15 1.234,50 € Gesamt 1.234,50 €"
        ), text
        assert letter.filename == "letter-C-1000-2026-02-16-2.pdf"
        # the text's own list of the items gives way to the table: each item is listed once
        assert text.count(invoice.number) == 1
        assert (
            "trotz unserer Erinnerung sind die folgenden Rechnungen noch nicht bezahlt: Gesamtbetrag" in text
        )
        assert invoice.number in letter.body  # the text as printed (recorded on the notice) keeps its list

    def test_the_address_sits_in_the_window_of_a_din_5008_form_b_envelope(
        self, entity: LegalEntity, stuttgart: Customer
    ) -> None:
        _invoice(stuttgart)
        _run(entity)

        html = letters.letter_html(DunningNotice.objects.get()).html

        positions = _positions_mm(html, {"Müller Maschinenbau GmbH", "C-1000", "Kundennummer"})
        # the address field: 20 mm from the left, its 27.3 mm address zone from 62.7 mm (45 + 17.7)
        assert positions["Müller Maschinenbau GmbH"] == (20.0, 62.7)
        # the information block from 125 mm, 50 mm down
        assert positions["Kundennummer"][0] == 125.0
        assert positions["Kundennummer"][1] == pytest.approx(50.8, abs=0.5)

    def test_a_foreign_customer_reads_its_language_and_country_in_its_locale(
        self, entity: LegalEntity
    ) -> None:
        french = _customer(
            entity, "C-FR", language="fr", country="FR", address="12 rue de la Paix\n75002 Paris", email=""
        )
        invoice = _invoice(french)
        _run(entity)

        text = _text(letters.letter_html(DunningNotice.objects.get()).html)

        assert "12 rue de la Paix 75002 Paris FRANCE" in text
        assert "Numéro client C-FR Date 16 févr. 2026" in text
        assert text.endswith(
            f"Montant ouvert {invoice.number} 1 févr. 2026 15 1 234,50 € Total 1 234,50 €"
        ), text


class TestLettersCommand:
    def test_one_pdf_per_letter_is_written_and_the_letters_are_recorded_sent(
        self, entity: LegalEntity, stuttgart: Customer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _invoice(stuttgart)
        _run(entity)
        folder = tmp_path / "letters"

        call_command("dunning", "letters", "--as-of", "2026-02-16", "--output", str(folder))

        assert capsys.readouterr().out == f"1 letter written to {folder}\n"
        [written] = sorted(folder.iterdir())
        assert written.name == "letter-C-1000-2026-02-16-2.pdf"
        pdf = written.read_bytes()
        assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
        assert page_count(pdf) == 1
        notice = DunningNotice.objects.get()
        assert (notice.status, notice.sent_at) == ("sent", NOW)
        assert notice.subject == "Zweite Mahnung: überfällige Rechnungen, Kunde C-1000"
        assert notice.body.startswith("Sehr geehrte Damen und Herren,")
        event = AuditEvent.objects.get(action="collections.letter.printed")
        assert (event.object_id, event.changes) == (
            stuttgart.pk,
            {"notice": [None, notice.pk], "status": ["pending", "sent"]},
        )

        call_command("dunning", "letters", "--as-of", "2026-02-16", "--output", str(folder))

        assert capsys.readouterr().out == f"0 letters written to {folder}\n"
        assert AuditEvent.objects.filter(action="collections.letter.printed").count() == 1

    def test_merged_the_days_letters_are_one_pdf_for_printing(
        self, entity: LegalEntity, stuttgart: Customer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _invoice(stuttgart)
        _invoice(_customer(entity, "C-2000", address="Am Markt 2\n04109 Leipzig"), "99.90")
        _run(entity)
        merged = tmp_path / "print.pdf"

        call_command("dunning", "letters", "--as-of", "2026-02-16", "--merged", str(merged))

        assert capsys.readouterr().out == f"2 letters written to {merged}\n"
        assert page_count(merged.read_bytes()) == 2
        assert sorted(DunningNotice.objects.values_list("customer__number", "status")) == [
            ("C-1000", "sent"),
            ("C-2000", "sent"),
        ]

    def test_without_an_output_nothing_is_written_or_recorded(
        self, entity: LegalEntity, stuttgart: Customer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _invoice(stuttgart)
        _run(entity)

        line = run_failing(capsys, "dunning", "letters", "--as-of", "2026-02-16")

        assert line == "error: letters: give either --output DIR or --merged FILE.pdf"
        assert DunningNotice.objects.get().status == "pending"


class TestLetterApi:
    @pytest.fixture
    def collector(self, entity: LegalEntity) -> Client:
        user: User = make_user("carla", "collector", entities=[entity])
        _, token = workspace_services.api_token_create(user=user, name="test", now=NOW)
        return Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def test_a_letter_notice_reads_as_pdf_and_stays_pending(
        self, entity: LegalEntity, stuttgart: Customer, collector: Client
    ) -> None:
        _invoice(stuttgart)
        _run(entity)
        notice = DunningNotice.objects.get()

        response = collector.get(f"/api/collections/notices/{notice.pk}/letter.pdf")

        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == 'inline; filename="letter-C-1000-2026-02-16-2.pdf"'
        assert response.content.startswith(b"%PDF-")
        assert page_count(response.content) == 1
        notice.refresh_from_db()
        assert notice.status == "pending"

    def test_an_email_notice_has_no_letter(
        self, entity: LegalEntity, stuttgart: Customer, collector: Client
    ) -> None:
        _invoice(stuttgart)
        services.dunning_run(entity=entity, as_of=date(2026, 2, 2), dry_run=False, actor=None, now=NOW)
        notice = DunningNotice.objects.get()

        response = collector.get(f"/api/collections/notices/{notice.pk}/letter.pdf")

        assert response.status_code == 404
        assert json.loads(response.content)["code"] == "not_found"
