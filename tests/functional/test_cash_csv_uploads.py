"""A bank's CSV uploaded through the API and the back office with a saved mapping: named or found by the
header, refused in one line when none or several fit, with the roles as for any bank file."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from o2c.cash import csvmappings
from o2c.cash.models import BankCsvMapping, BankFile, Payment
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables.models import Allocation, Document
from tests.conftest import NOW, issued_invoice, make_user
from tests.functional.test_api_cash import body, client_for, problem
from tests.integration.test_cash_csv_mappings import GERMAN_MAPPING, german_csv

pytestmark = pytest.mark.django_db

UPLOAD = "0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture(autouse=True)
def _no_progress_left() -> None:
    cache.clear()


@pytest.fixture
def mappings(entity: LegalEntity) -> list[BankCsvMapping]:
    return [
        csvmappings.csv_mapping_save(
            entity=entity,
            name=name,
            definition=definition,
            bank_account="DE89370400440532013000",
            currency=None,
            actor=None,
            now=NOW,
        )
        for name, definition in (
            ("Sparkasse", GERMAN_MAPPING),
            ("Sparkasse kurz", GERMAN_MAPPING | {"text": None, "payer_account": None}),
        )
    ]


@pytest.fixture
def clerk_user(entity: LegalEntity) -> User:
    return make_user("carla", "cash_application", entities=[entity])


@pytest.fixture
def invoice(customer: Customer) -> Document:
    return issued_invoice(customer)  # 1,190.00 EUR


def _csv(invoice: Document) -> bytes:
    return german_csv(
        f"20.03.2026;20.03.2026;Müller Maschinenbau GmbH;;Rechnung {invoice.number};;;1.190,00;EUR;R-1",
        "23.03.2026;23.03.2026;Zoë Weiß;;Spende;Gutschrift;;50,00;EUR;",
    )


class TestApi:
    def _upload(self, client: Client, data: bytes, **extra: str) -> Any:
        return client.post(
            "/api/cash/statements", {"file": SimpleUploadedFile("umsaetze.csv", data), **extra}
        )

    def test_a_bank_csv_is_imported_through_the_mapping_named(self, entity, clerk_user, invoice, mappings):
        response = self._upload(client_for(clerk_user), _csv(invoice), mapping="Sparkasse")

        assert response.status_code == 201
        summary = body(response)
        assert {
            key: summary[key] for key in ("format", "entries", "payments", "applied", "unidentified")
        } == {
            "format": "csv",
            "entries": 2,
            "payments": 2,
            "applied": 1,
            "unidentified": 1,
        }
        assert (summary["amounts"], summary["applied_amounts"]) == ({"EUR": "1240.00"}, {"EUR": "1190.00"})
        assert set(Payment.objects.values_list("bank_account_id", flat=True)) == {mappings[0].bank_account_id}
        assert Allocation.objects.get().amount_minor == 119000

    def test_several_fitting_mappings_are_a_400_naming_them_and_an_unknown_name_a_422(
        self, entity, clerk_user, invoice, mappings
    ):
        client = client_for(clerk_user)

        ambiguous = self._upload(client, _csv(invoice))
        unknown = self._upload(client, _csv(invoice), mapping="Postbank")

        assert ambiguous.status_code == 400
        assert problem(ambiguous) | {"detail": ""} == {
            "type": "urn:o2c:problem:ambiguous_csv_mapping",
            "title": "Bad Request",
            "status": 400,
            "detail": "",
            "code": "ambiguous_csv_mapping",
        }
        assert problem(ambiguous)["detail"] == (
            "umsaetze.csv: its header fits several saved CSV mappings ('Sparkasse', 'Sparkasse kurz'): "
            "choose one with --mapping NAME"
        )
        assert unknown.status_code == 422
        assert (problem(unknown)["code"], problem(unknown)["detail"]) == (
            "unknown_csv_mapping",
            "no CSV mapping 'Postbank' is saved for MAIN (saved: 'Sparkasse', 'Sparkasse kurz')",
        )
        assert (Payment.objects.count(), BankFile.objects.count()) == (0, 0)

    def test_only_those_who_apply_cash_may_upload(self, entity, auditor_user, invoice, mappings):
        response = self._upload(client_for(auditor_user), _csv(invoice), mapping="Sparkasse")

        assert response.status_code == 403
        assert Payment.objects.count() == 0


class TestBackOffice:
    def _upload(self, client: Client, data: bytes, **extra: str) -> Any:
        return client.post(
            reverse("cash_import"),
            {"file": SimpleUploadedFile("umsaetze.csv", data), "upload": UPLOAD, **extra},
        )

    def test_the_form_offers_the_saved_mappings_and_imports_through_the_one_chosen(
        self, client, entity, clerk_user, invoice, mappings
    ):
        client.force_login(clerk_user)

        page = client.get(reverse("cash_import"))
        response = self._upload(client, _csv(invoice), mapping="Sparkasse kurz")

        html = page.content.decode()
        assert '<select name="mapping"' in html
        assert '<option value="Sparkasse">Sparkasse (DE89370400440532013000)</option>' in html
        assert '<option value="Sparkasse kurz">Sparkasse kurz (DE89370400440532013000)</option>' in html
        assert response.status_code == 200
        assert "umsaetze.csv imported (csv)." in response.content.decode()
        assert sorted(Payment.objects.values_list("amount_minor", "remittance")) == [
            (5000, ""),
            (119000, ""),
        ]

    def test_without_a_choice_several_fitting_mappings_are_one_line_on_the_form(
        self, client, entity, clerk_user, invoice, mappings
    ):
        client.force_login(clerk_user)

        response = self._upload(client, _csv(invoice))

        assert response.status_code == 422
        assert (
            "umsaetze.csv: its header fits several saved CSV mappings (&#x27;Sparkasse&#x27;, "
            "&#x27;Sparkasse kurz&#x27;): choose one with --mapping NAME"
        ) in response.content.decode()
        assert Payment.objects.count() == 0

    def test_without_saved_mappings_the_form_has_no_mapping_choice(self, client, entity, clerk_user):
        client.force_login(clerk_user)

        page = client.get(reverse("cash_import"))

        assert 'name="mapping"' not in page.content.decode()
