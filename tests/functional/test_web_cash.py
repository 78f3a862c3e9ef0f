"""The cash application pages: bank files uploaded (summary, progress, the same file again, a bad file),
the exceptions queue, and a payment worked by a person (accept, split, put on account, reverse), with
roles, legal-entity scope and the reader's language."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from o2c.audit.models import AuditEvent
from o2c.cash import services as cash_services
from o2c.cash import workbench
from o2c.cash.models import Application, BankFile, Payment
from o2c.core import checks
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger import services as ledger_services
from o2c.ledger.models import LegalEntity
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from o2c.workspace.models import UserPreference
from tests.camt_builder import Credit, statement_xml
from tests.conftest import NOW, customer_in, issued_invoice, make_user

pytestmark = pytest.mark.django_db

PAYER_IBAN = "DE44500105175407324931"
UPLOAD = "0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture(autouse=True)
def _no_progress_left() -> None:
    """Imports report their progress to the cache, which outlives a test's database."""
    cache.clear()


@pytest.fixture
def clerk_user(entity: LegalEntity) -> User:
    return make_user("carla", "cash_application", entities=[entity])


@pytest.fixture
def clerk(client: Client, clerk_user: User) -> Client:
    client.force_login(clerk_user)
    return client


@pytest.fixture
def invoice(customer: Customer) -> Document:
    return issued_invoice(customer)  # 10 × 100.00 + 19 % = 1,190.00 EUR


def _verify() -> list[str]:
    return [problem for check in checks.all_checks() for problem in check.run()]


def _text(response: Any) -> str:
    return response.content.decode()


def _by_id(html: str, element_id: str) -> str:
    """The text of the element with this id (tags removed, spaces and line breaks collapsed)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match is not None, element_id
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", match[2])).strip()  # keeps no-break spaces


def _upload(client: Client, data: bytes, name: str = "statement.xml", **extra: Any) -> Any:
    return client.post(
        reverse("cash_import"), {"file": SimpleUploadedFile(name, data), "upload": UPLOAD, **extra}
    )


def _import(entity: LegalEntity, credits: list[Credit], name: str = "statement.xml") -> None:
    cash_services.bank_file_import(
        data=statement_xml(credits, statement_id=name, message_id=name),
        file_name=name,
        entity=entity,
        actor=None,
        now=NOW,
    )


def _unidentified(entity: LegalEntity, amount: str, reference: str = "R1", **kw: Any) -> Payment:
    credit = Credit(
        amount, reference, name="Zahlungsdienst Nord", iban=PAYER_IBAN, text="Sammelzahlung", **kw
    )
    _import(entity, [credit], name=f"{reference}.xml")
    return Payment.objects.get(entry_reference=reference)


def _suggested(entity: LegalEntity, invoice: Document) -> Payment:
    """A payment quoting the invoice's number, below an auto-apply confidence of 0.999: suggested."""
    workbench.policy_change(
        entity=entity,
        auto_apply_confidence=Decimal("0.999"),
        write_off_tolerance=Decimal("5.00"),
        discount_grace_days=3,
        actor=None,
        now=NOW,
    )
    _import(entity, [Credit("1190.00", "R1", name="Mueller", text=f"Rechnung {invoice.number}")])
    return Payment.objects.get(entry_reference="R1")


def _detail(payment: Payment) -> str:
    return reverse("cash_payment_detail", args=[payment.pk])


class TestUpload:
    def test_a_statement_is_imported_and_summarised_with_amounts_in_the_readers_format(
        self, clerk, entity, customer, invoice
    ):
        data = statement_xml(
            [
                Credit("1190.00", "BANKREF-1", name="Mueller", text=f"Rechnung {invoice.number}"),
                Credit("77.70", "BANKREF-2", name="Unknown Trading Ltd", text="thanks"),
            ]
        )

        response = _upload(clerk, data)

        assert response.status_code == 200
        html = _text(response)
        result = response.context["result"]
        assert (
            result.file_format,
            result.payments,
            result.applied,
            result.suggested,
            result.unidentified,
        ) == (
            "camt.053",
            2,
            1,
            0,
            1,
        )
        assert _by_id(html, "summary-payments") == "2"
        assert _by_id(html, "summary-applied") == "1"
        assert _by_id(html, "summary-suggested") == "0"
        assert _by_id(html, "summary-unidentified") == "1"
        assert '<td>EUR</td><td class="o2c-num">€1,267.70</td><td class="o2c-num">€1,190.00</td>' in html
        assert "bank account DE89370400440532013000 (EUR) was not known: registered for MAIN" in html
        assert "statement.xml imported (camt.053)." in html
        # the recent files: name, format, entries, payments, duplicates
        bank_file = BankFile.objects.get()
        assert (bank_file.file_name, bank_file.entries_read, bank_file.payments_created) == (
            "statement.xml",
            2,
            2,
        )
        row = re.search(r"<td>statement\.xml.*?</tr>", html, re.S)
        assert row is not None
        cells = re.findall(r'<td class="o2c-num">([^<]*)</td>', row[0])
        assert cells == ["2", "2", "0"]
        assert "camt.053" in row[0] and "carla" in row[0]
        invoice.refresh_from_db()
        assert invoice.open_minor == 0
        assert _verify() == []

    def test_the_import_reports_its_progress_to_the_page_that_polls_it(self, clerk, entity):
        page = _text(clerk.get(reverse("cash_import")))
        assert "hx-trigger=\"every 1s [this.parentElement.classList.contains('htmx-request')]\"" in page
        before = clerk.get(reverse("cash_import_progress"), {"upload": UPLOAD})
        assert "<progress></progress>" in _text(before)  # nothing known yet: indeterminate

        _upload(clerk, statement_xml([Credit("10.00", "R1"), Credit("20.00", "R2"), Credit("30.00", "R3")]))

        after = _text(clerk.get(reverse("cash_import_progress"), {"upload": UPLOAD}))
        assert '<progress value="3" max="3" id="import-progress-bar"></progress>' in after
        assert "3 of 3 payments matched and posted" in after

    def test_the_same_file_again_is_imported_before_and_changes_nothing(self, clerk, entity):
        data = statement_xml([Credit("10.00", "R1")])
        _upload(clerk, data)

        again = _upload(clerk, data, name="copy.xml")

        assert again.status_code == 200
        assert _by_id(_text(again), "import-before") == (
            "copy.xml was imported before: nothing was imported again."
        )
        assert (Payment.objects.count(), BankFile.objects.count()) == (1, 1)

    def test_a_bad_file_is_one_line_on_the_form_and_imports_nothing(self, clerk, entity):
        data = statement_xml([Credit("10.00", "R1")]).replace(
            b'<Amt Ccy="EUR">10.00</Amt>', b"<Amt>10.00</Amt>", 1
        )

        response = _upload(clerk, data)

        assert response.status_code == 422
        assert _by_id(_text(response), "file-error") == "statement.xml: entry 1: Amt has no Ccy"
        assert (Payment.objects.count(), BankFile.objects.count()) == (0, 0)

    def test_htmx_gets_the_panel_alone_errors_included(self, clerk, entity):
        data = b"<Document>not a statement</Document>"
        response = clerk.post(
            reverse("cash_import"),
            {"file": SimpleUploadedFile("junk.xml", data), "upload": UPLOAD},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 200
        html = _text(response)
        assert "<html" not in html
        assert 'id="file-error"' in html
        assert Payment.objects.count() == 0

    def test_readers_see_the_files_but_not_the_form_and_may_not_upload(self, client, auditor_user, entity):
        _import(entity, [Credit("10.00", "R1")])
        client.force_login(auditor_user)

        page = client.get(reverse("cash_import"))
        refused = _upload(client, statement_xml([Credit("20.00", "R2")], statement_id="S2"))

        assert page.status_code == 200
        assert "statement.xml" in _text(page)
        assert 'id="import-form"' not in _text(page)
        assert refused.status_code == 403
        assert Payment.objects.count() == 1


class TestQueue:
    def test_lists_only_payments_to_work_the_largest_then_the_oldest_first(
        self, clerk, entity, customer, invoice
    ):
        _import(
            entity,
            [
                Credit("1190.00", "R1", name="Mueller", text=f"Rechnung {invoice.number}"),  # applied
                Credit("1190.00", "R2", name="Zahlungsdienst Nord", text="Sammelzahlung"),
                Credit("500.00", "R3", name="Nord GmbH", text="Sammelzahlung März"),
                Credit("500.00", "R4", name="Nord GmbH", text="Sammelzahlung Februar", day=NOW.date()),
            ],
        )

        response = clerk.get(reverse("cash_payment_list"))

        assert response.status_code == 200
        assert [p.entry_reference for p in response.context["page"].object_list] == ["R2", "R4", "R3"]
        html = _text(response)
        assert "no known account, reference, customer number or payer name" in html
        assert "€1,190.00" in html and "Mar 20, 2026" in html and "Unidentified" in html

    def test_filters_by_status_and_searches_payer_reference_and_amount(self, clerk, entity, customer):
        for n, amount in ((1, "10.00"), (2, "1234.50"), (3, "30.00")):
            _unidentified(entity, amount, reference=f"R{n}")
        workbench.payment_put_on_account(
            payment_id=Payment.objects.get(entry_reference="R1").pk,
            customer_id=customer.pk,
            actor=None,
            now=NOW,
        )

        def listed(**query: str) -> list[str]:
            response = clerk.get(reverse("cash_payment_list"), query)
            return [p.entry_reference for p in response.context["page"].object_list]

        assert listed() == ["R2", "R3"]
        assert listed(status="on_account") == ["R1"]
        assert listed(q="zahlungsdienst") == ["R2", "R3"]
        assert listed(q="R3") == ["R3"]
        assert listed(q="1,234.50") == ["R2"]
        assert listed(q="30") == ["R3"]
        assert listed(q="nobody") == []

    def test_htmx_gets_the_results_alone(self, clerk, entity):
        _unidentified(entity, "10.00")
        response = clerk.get(reverse("cash_payment_list"), {"q": "R1"}, HTTP_HX_REQUEST="true")
        assert "<html" not in _text(response)
        assert 'id="payment-queue"' in _text(response)

    def test_reads_a_fixed_number_of_queries_however_long_it_is(self, clerk, entity):
        _unidentified(entity, "10.00", reference="R1")
        clerk.get(reverse("cash_payment_list"))  # the session and the user's roles are read once
        with CaptureQueriesContext(connection) as one:
            clerk.get(reverse("cash_payment_list"))
        for n in range(2, 6):
            _unidentified(entity, f"{n}0.00", reference=f"R{n}")
        with CaptureQueriesContext(connection) as five:
            response = clerk.get(reverse("cash_payment_list"))
        assert len(response.context["page"].object_list) == 5
        assert len(five.captured_queries) == len(one.captured_queries)

    def test_the_page_carries_the_keyboard_shortcuts_and_their_hint(self, clerk, entity):
        _unidentified(entity, "10.00")
        html = _text(clerk.get(reverse("cash_payment_list")))
        assert 'id="shortcuts-hint"' in html
        assert "data-row-link" in html
        assert 'data-shortcut="/"' in html


class TestPayment:
    def test_shows_the_payment_its_suggestions_and_reasons(self, clerk, entity, customer, invoice):
        payment = _suggested(entity, invoice)

        response = clerk.get(_detail(payment))

        assert response.status_code == 200
        html = _text(response)
        assert _by_id(html, "payment-amount") == "€1,190.00"
        assert _by_id(html, "payment-status") == "Suggested"
        assert f"reference {invoice.number} found" in html
        assert 'id="accept-button" accesskey="a" data-shortcut="a"' in html
        assert 'accesskey="s" data-shortcut="s"' in html
        assert 'accesskey="o" data-shortcut="o"' in html

    def test_euros_applied_to_a_dollar_invoice_show_the_lines_in_dollars(
        self, clerk, clerk_user, entity, customer
    ):
        ledger_services.fx_rates_import(
            rates=[ledger_services.FxRateIn(date(2026, 3, 1), "USD", "EUR", Decimal("0.95"))],
            source="test",
            now=NOW,
        )
        dollar_invoice = issued_invoice(customer, currency="USD")  # 1,190.00 USD
        payment = _unidentified(entity, "2000.00", reference="E1")
        workbench.payment_apply(
            payment_id=payment.pk,
            lines=[workbench.ApplyLine(dollar_invoice.pk, Decimal("1190.00"))],
            actor=clerk_user,
            now=NOW,
        )

        html = _text(clerk.get(_detail(payment)))

        assert _by_id(html, "payment-amount") == "€2,000.00"
        assert _by_id(html, "payment-unapplied") == "€869.50"  # 1,190.00 USD at 1/0.95 took 1,130.50 EUR
        row = _by_id(html, f"application-{payment.applications.get().pk}")
        assert "$1,190.00" in row
        assert "€1,190.00" not in row

    def test_accept_applies_the_suggestion_and_pays_the_invoice(self, clerk, entity, customer, invoice):
        payment = _suggested(entity, invoice)

        response = clerk.post(reverse("cash_payment_accept", args=[payment.pk]))

        assert response.status_code == 302
        assert response["Location"] == _detail(payment)
        invoice.refresh_from_db()
        payment.refresh_from_db()
        assert (invoice.open_minor, invoice.settlement) == (0, "paid")
        assert (payment.status, payment.unapplied_minor) == ("applied", 0)
        application = Application.objects.get(payment=payment)
        assert (application.state, application.reasons[-1]) == ("applied", "accepted by carla")
        page = _text(clerk.get(response["Location"]))
        assert "Payment R1 is now: Applied. Unapplied: €0.00." in page
        assert _verify() == []

    def test_accept_without_suggestions_is_one_line_and_changes_nothing(self, clerk, entity, customer):
        payment = _unidentified(entity, "77.70")

        response = clerk.post(reverse("cash_payment_accept", args=[payment.pk]))

        assert response.status_code == 422
        assert _by_id(_text(response), "action-error") == (
            "There are no suggestions to accept: apply the payment or put it on account. "
            "(payment R1 has no suggested invoices to accept: apply it or put it on account)"
        )
        payment.refresh_from_db()
        assert payment.status == "unidentified"

    def test_split_across_two_invoices_with_an_early_payment_discount(self, clerk, entity, customer, invoice):
        parts = issued_invoice(
            customer, lines=[LineIn("Parts", Decimal(5), Decimal("100.00"), Decimal("19"))]
        )
        # 1,190.00 less a 2 % discount of 23.80 = 1,166.20, and 595.00 in full: 1,761.20
        payment = _unidentified(entity, "1761.20")

        response = clerk.post(
            reverse("cash_payment_apply", args=[payment.pk]),
            {
                "lines-TOTAL_FORMS": "3",
                "lines-INITIAL_FORMS": "0",
                "lines-0-invoice": invoice.number,
                "lines-0-amount": "1,166.20",
                "lines-0-discount": "23.80",
                "lines-1-invoice": parts.number,
                "lines-1-amount": "595.00",
            },
        )

        assert response.status_code == 302
        payment.refresh_from_db()
        invoice.refresh_from_db()
        parts.refresh_from_db()
        assert (payment.status, payment.unapplied_minor, payment.customer_id) == ("applied", 0, customer.pk)
        assert (invoice.open_minor, parts.open_minor) == (0, 0)
        assert list(
            Application.objects.filter(payment=payment)
            .order_by("pk")
            .values_list("document_id", "amount_minor", "discount_minor", "state", "created_by__username")
        ) == [(invoice.pk, 116620, 2380, "applied", "carla"), (parts.pk, 59500, 0, "applied", "carla")]
        assert AuditEvent.objects.filter(action="cash.payment.applied", actor_label="carla").count() == 1
        assert _verify() == []

    def test_adding_an_open_item_fills_in_what_the_payment_has_left(self, clerk, entity, customer, invoice):
        parts = issued_invoice(
            customer, lines=[LineIn("Parts", Decimal(5), Decimal("100.00"), Decimal("19"))]
        )
        payment = _unidentified(entity, "1500.00")
        search = clerk.get(
            reverse("cash_open_items", args=[payment.pk]), {"item_q": "C-1000"}, HTTP_HX_REQUEST="true"
        )
        assert [item.number for item in search.context["items"]] == [invoice.number, parts.number]

        response = clerk.post(
            reverse("cash_payment_apply", args=[payment.pk]),
            {
                "lines-TOTAL_FORMS": "2",
                "lines-INITIAL_FORMS": "0",
                "lines-0-invoice": invoice.number,
                "lines-0-amount": "1190.00",
                "add": str(parts.pk),
            },
            HTTP_HX_REQUEST="true",
        )

        assert response.status_code == 200
        html = _text(response)
        assert html.lstrip().startswith('<div id="split-lines">')
        assert f'name="lines-1-invoice" value="{parts.number}"' in html
        assert 'name="lines-1-amount" value="310.00"' in html  # 1,500.00 less 1,190.00
        assert 'name="lines-TOTAL_FORMS" value="3"' in html
        assert Application.objects.filter(payment=payment).count() == 0

    def test_a_refused_split_is_one_line_and_changes_nothing(self, clerk, entity, customer, invoice):
        payment = _unidentified(entity, "100.00")

        response = clerk.post(
            reverse("cash_payment_apply", args=[payment.pk]),
            {
                "lines-TOTAL_FORMS": "1",
                "lines-INITIAL_FORMS": "0",
                "lines-0-invoice": invoice.number,
                "lines-0-amount": "150.00",
            },
        )

        assert response.status_code == 422
        assert _by_id(_text(response), "action-error") == (
            "That is more than the payment has unapplied or the invoice has open. "
            "(payment R1: 150.00 EUR is more than its unapplied 100.00 EUR)"
        )
        assert 'value="150.00"' in _text(response)  # the split as typed stays on the page
        payment.refresh_from_db()
        assert (payment.status, payment.unapplied_minor) == ("unidentified", 10000)
        assert Application.objects.count() == 0

    def test_an_unknown_invoice_number_is_shown_on_its_line(self, clerk, entity, customer):
        payment = _unidentified(entity, "100.00")
        response = clerk.post(
            reverse("cash_payment_apply", args=[payment.pk]),
            {
                "lines-TOTAL_FORMS": "1",
                "lines-INITIAL_FORMS": "0",
                "lines-0-invoice": "INV-X",
                "lines-0-amount": "1",
            },
        )
        assert response.status_code == 422
        assert "There is no invoice with this number in MAIN." in _text(response)

    def test_put_on_account_leaves_the_cash_on_the_customers_account(self, clerk, entity, customer):
        payment = _unidentified(entity, "77.70")
        options = clerk.get(reverse("cash_customer_options", args=[payment.pk]), {"customer": "Müller"})
        assert _text(options).strip() == '<option value="C-1000">Müller Maschinenbau GmbH</option>'

        unknown = clerk.post(reverse("cash_payment_on_account", args=[payment.pk]), {"customer": "C-9"})
        response = clerk.post(reverse("cash_payment_on_account", args=[payment.pk]), {"customer": "C-1000"})

        assert unknown.status_code == 422
        assert _by_id(_text(unknown), "on-account-error") == "There is no customer with this number in MAIN."
        assert response.status_code == 302
        payment.refresh_from_db()
        assert (payment.status, payment.unapplied_minor, payment.customer_id) == (
            "on_account",
            7770,
            customer.pk,
        )
        assert _verify() == []

    def test_reverse_needs_a_reason_and_opens_the_invoice_again(self, clerk, entity, customer, invoice):
        _import(entity, [Credit("1190.00", "R1", text=f"Rechnung {invoice.number}")])
        payment = Payment.objects.get()
        application = Application.objects.get()
        url = reverse("cash_application_reverse", args=[application.pk])

        refused = clerk.post(url, {"reason": "  "})

        assert refused.status_code == 422
        assert "Say why the application is reversed." in _text(refused)
        application.refresh_from_db()
        assert application.state == "applied"

        response = clerk.post(url, {"reason": "wrong invoice"})

        assert response.status_code == 302
        assert response["Location"] == _detail(payment)
        application.refresh_from_db()
        payment.refresh_from_db()
        invoice.refresh_from_db()
        assert (application.state, application.reversed_at) == ("reversed", NOW)
        assert (payment.status, payment.unapplied_minor) == ("suggested", 119000)
        assert invoice.open_minor == 119000
        history = _by_id(_text(clerk.get(_detail(payment))), "audit-history")
        assert "Payment application reversed" in history and "wrong invoice" in history
        again = clerk.post(url, {"reason": "again"})
        assert again.status_code == 422
        assert "Only an applied application can be reversed." in _text(again)
        assert _verify() == []

    def test_the_queue_neighbours_are_linked_for_j_and_k(self, clerk, entity):
        for n, amount in ((1, "30.00"), (2, "20.00"), (3, "10.00")):
            _unidentified(entity, amount, reference=f"R{n}")
        middle = Payment.objects.get(entry_reference="R2")

        response = clerk.get(_detail(middle))

        ids = dict(Payment.objects.values_list("entry_reference", "pk"))
        assert (response.context["previous_id"], response.context["next_id"]) == (ids["R1"], ids["R3"])
        assert f'href="{reverse("cash_payment_detail", args=[ids["R3"]])}" data-shortcut="j"' in _text(
            response
        )


class TestAccess:
    def test_readers_may_look_but_not_change(self, client, billing_user, entity, customer, invoice):
        payment = _unidentified(entity, "1190.00")
        _import(entity, [Credit("1190.00", "R9", text=f"Rechnung {invoice.number}")], name="R9.xml")
        application = Application.objects.get(state="applied")
        client.force_login(billing_user)

        pages = [client.get(reverse("cash_payment_list")), client.get(_detail(payment))]
        actions = [
            client.post(reverse("cash_payment_accept", args=[payment.pk])),
            client.post(
                reverse("cash_payment_apply", args=[payment.pk]),
                {
                    "lines-TOTAL_FORMS": "1",
                    "lines-INITIAL_FORMS": "0",
                    "lines-0-invoice": "x",
                    "lines-0-amount": "1",
                },
            ),
            client.post(reverse("cash_payment_on_account", args=[payment.pk]), {"customer": "C-1000"}),
            client.post(reverse("cash_application_reverse", args=[application.pk]), {"reason": "x"}),
            client.get(reverse("cash_import_progress"), {"upload": UPLOAD}),
        ]

        assert [response.status_code for response in pages] == [200, 200]
        assert 'id="accept-form"' not in _text(pages[1]) and 'id="split-form"' not in _text(pages[1])
        assert [response.status_code for response in actions] == [403] * 5
        payment.refresh_from_db()
        application.refresh_from_db()
        assert (payment.status, application.state) == ("unidentified", "applied")

    def test_a_user_without_a_role_may_not_look(self, client, entity):
        client.force_login(make_user("nora", entities=[entity]))
        for name in ("cash_payment_list", "cash_import"):
            assert client.get(reverse(name)).status_code == 403

    def test_another_entitys_payment_and_application_are_404(self, clerk, entity, other_entity):
        foreign_customer = customer_services.customer_create(
            entity=other_entity,
            data=customer_in("C-9", name="Dupont SARL", country="FR"),
            actor=None,
            now=NOW,
        )
        foreign_invoice = issued_invoice(foreign_customer)
        cash_services.bank_file_import(
            data=statement_xml(
                [Credit("1190.00", "F1", text=f"Facture {foreign_invoice.number}")],
                iban="FR7630006000011234567890189",
            ),
            file_name="fr.xml",
            entity=other_entity,
            actor=None,
            now=NOW,
        )
        foreign = Payment.objects.get(entry_reference="F1")
        application = Application.objects.get(payment=foreign)

        responses = [
            clerk.get(_detail(foreign)),
            clerk.get(reverse("cash_open_items", args=[foreign.pk])),
            clerk.post(reverse("cash_payment_accept", args=[foreign.pk])),
            clerk.post(reverse("cash_payment_on_account", args=[foreign.pk]), {"customer": "C-9"}),
            clerk.post(reverse("cash_application_reverse", args=[application.pk]), {"reason": "x"}),
        ]

        assert [response.status_code for response in responses] == [404] * 5
        assert (
            clerk.get(reverse("cash_payment_list"), {"status": "applied"}).context["page"].object_list == []
        )
        assert "fr.xml" not in _text(clerk.get(reverse("cash_import")))
        application.refresh_from_db()
        assert application.state == "applied"


class TestLanguage:
    def test_the_pages_speak_german_with_german_amounts_and_dates(self, clerk, clerk_user, entity, invoice):
        payment = _suggested(entity, invoice)
        _unidentified(entity, "1234.50", reference="R2")
        UserPreference.objects.create(user=clerk_user, language="de")

        queue = _text(clerk.get(reverse("cash_payment_list")))
        detail = _text(clerk.get(_detail(payment)))
        bank_files = _text(clerk.get(reverse("cash_import")))

        assert "<h1>Ausnahmen-Warteschlange</h1>" in queue
        assert "1.234,50\xa0€" in queue and "20.03.2026" in queue
        assert "Nicht identifiziert" in queue
        assert _by_id(detail, "payment-amount") == "1.190,00\xa0€"
        assert _by_id(detail, "payment-status") == "Vorgeschlagen"
        assert "Vorschläge übernehmen" in detail
        assert "<h1>Bankdateien</h1>" in bank_files
        assert "Zuletzt importierte Bankdateien" in bank_files
        search = clerk.get(reverse("cash_payment_list"), {"q": "1.234,50"})
        assert [p.entry_reference for p in search.context["page"].object_list] == ["R2"]
