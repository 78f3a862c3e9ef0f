"""A customer's statement of account: its facts (open items, unapplied cash, aging, balance per
currency), the PDF in the customer's language and locale, sending it through a real SMTP server, the
`o2c statement` command and the API.

The customer C-1000 (German, NET30) of the default entity (Berlin), as of 16 March 2026:
- INV-1 issued 2026-01-02, due 2026-02-01, 1,190.00: 500.00 paid by P1, 690.00 open (43 days overdue)
- INV-2 issued 2026-03-02, due 2026-04-01, 1,190.00: open, not due yet
- a credit memo of 50.00 issued 2026-02-20, applied to nothing: open (its due date is its issue date)
- P1 800.00 received 2026-02-05: 500.00 applied to INV-1, the other 300.00 put on C-1000's account
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from o2c.audit.models import AuditEvent
from o2c.billing.models import InvoiceProfile
from o2c.cash import workbench
from o2c.cash.workbench import ApplyLine
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.documents import services, statement
from o2c.documents.errors import UnableToSendStatement
from o2c.documents.statement import CurrencySection, StatementItem
from o2c.ledger.models import LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from o2c.workspace import services as workspace_services
from tests.conftest import NOW, customer_in, issued_invoice, make_user
from tests.integration.reporting.history import at, received
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 3, 16)


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def account(entity: LegalEntity) -> tuple[Customer, Document, Document, Document]:
    InvoiceProfile.objects.create(
        entity=entity, address="Leopoldstraße 1\n80802 München", email="forderungen@o2c-demo.example"
    )
    customer = customer_services.customer_create(
        entity=entity,
        data=customer_in(address="Hafenstraße 5\n20457 Hamburg"),
        actor=None,
        now=NOW,
    )
    first = issued_invoice(customer, issue_date=date(2026, 1, 2))
    second = issued_invoice(customer, issue_date=date(2026, 3, 2))
    draft = receivable_services.document_create(
        customer=customer,
        document_type="credit_memo",
        issue_date=date(2026, 2, 20),
        lines=[LineIn("Goodwill", Decimal(1), Decimal("50.00"), Decimal(0))],
        actor=None,
        now=NOW,
    )
    credit = receivable_services.document_issue(document_id=draft.pk, actor=None, now=NOW)
    payment = received(
        entity, "800.00", "P1", date(2026, 2, 5), "Zahlungsdienst Nord", "DE44500105175407324931"
    )
    workbench.payment_apply(
        payment_id=payment.pk,
        lines=[ApplyLine(first.pk, Decimal("500.00"))],
        actor=None,
        now=at(date(2026, 2, 5)),
    )
    workbench.payment_put_on_account(
        payment_id=payment.pk, customer_id=customer.pk, actor=None, now=at(date(2026, 2, 10))
    )
    return customer, first, second, credit


class TestStatementFacts:
    def test_the_statement_lists_open_items_cash_on_account_aging_and_balance(
        self, account, django_assert_max_num_queries
    ):
        customer, first, second, credit = account

        with django_assert_max_num_queries(4):
            facts = statement.statement_facts(customer=customer, as_of=AS_OF)

        assert (facts.as_of, facts.language, facts.locale) == (AS_OF, "de", "de_DE")
        assert (facts.customer_number, facts.customer_name) == ("C-1000", "Müller Maschinenbau GmbH")
        assert facts.customer_address_lines == ("Hafenstraße 5", "20457 Hamburg")
        assert (facts.seller.name, facts.seller.address_lines, facts.seller.email) == (
            "O2C Demo GmbH",
            ("Leopoldstraße 1", "80802 München"),
            "forderungen@o2c-demo.example",
        )
        assert facts.sections == (
            CurrencySection(
                currency="EUR",
                items=(
                    StatementItem("invoice", first.number, date(2026, 1, 2), date(2026, 2, 1), 43, 69000),
                    StatementItem(
                        "credit_memo", credit.number, date(2026, 2, 20), date(2026, 2, 20), 24, -5000
                    ),
                    StatementItem("invoice", second.number, date(2026, 3, 2), date(2026, 4, 1), 0, 119000),
                ),
                open_items_minor=183000,
                unapplied_minor=30000,
                aging=(119000, -5000, 69000, 0, 0, 0),
                balance_minor=153000,
            ),
        )

    def test_a_customer_with_nothing_open_has_an_empty_statement(self, entity):
        customer = customer_services.customer_create(
            entity=entity, data=customer_in("C-2000", language="it"), actor=None, now=NOW
        )

        facts = statement.statement_facts(customer=customer, as_of=AS_OF)

        assert (facts.sections, facts.language) == ((), "en")
        assert "Nothing is open on your account." in statement.render_statement_html(facts)

    def test_the_aging_buckets_are_the_contracts(self):
        assert [statement.aging_bucket(days) for days in (-5, 0, 1, 30, 31, 60, 61, 90, 91, 120, 121)] == [
            0,
            0,
            1,
            1,
            2,
            2,
            3,
            3,
            4,
            4,
            5,
        ]


class TestStatementPdf:
    def test_the_statement_is_printed_in_german_with_german_amounts_and_dates(self, account):
        customer, first, _second, credit = account
        facts = statement.statement_facts(customer=customer, as_of=AS_OF)

        html = statement.render_statement_html(facts)

        assert '<html lang="de">' in html
        assert "Kontoauszug C-1000" in html
        assert "<th>Stichtag</th><td>16.03.2026</td>" in html
        assert f"<td>Rechnung</td>\n      <td>{first.number}</td>\n      <td>02.01.2026</td>" in html
        assert (
            '<td>01.02.2026</td>\n      <td class="num">43</td>\n      <td class="num">690,00\xa0€</td>'
            in html
        )
        assert f"<td>Rechnungskorrektur</td>\n      <td>{credit.number}</td>" in html
        assert "-50,00\xa0€" in html
        assert "1.190,00\xa0€" in html
        assert '<td class="num">1.830,00\xa0€</td>' in html  # open items
        assert '<td class="num">-300,00\xa0€</td>' in html  # unapplied cash on account
        assert '<td class="num">1.530,00\xa0€</td>' in html  # balance
        assert "Leopoldstraße 1" in html and "Hafenstraße 5" in html
        assert "http" not in html  # nothing to fetch

    def test_the_pdf_renders(self, account):
        customer, *_ = account

        pdf = statement.statement_pdf(customer=customer, as_of=AS_OF)

        assert pdf.startswith(b"%PDF-")
        assert len(pdf) > 5000


class TestStatementSend:
    def test_the_statement_is_mailed_to_the_billing_contacts_in_the_customers_language(
        self, account, smtp_settings: SmtpServer
    ):
        customer, *_ = account
        customer_services.contact_add(
            customer_id=customer.pk,
            name="Petra Kreditor",
            email="kreditoren@mueller.example",
            phone="",
            role="AP",
            is_billing=True,
            actor=None,
            now=NOW,
        )
        collector = make_user("carla", "collector")

        sent = services.statement_send(customer_id=customer.pk, actor=collector, now=NOW)

        assert sent == services.StatementSent("C-1000", AS_OF, "de", ("kreditoren@mueller.example",))
        [mail] = smtp_settings.received
        assert mail.rcpt_tos == ("kreditoren@mueller.example",)
        assert mail.message["From"] == "forderungen@o2c-demo.example"
        assert mail.message["Subject"] == "Kontoauszug C-1000 von O2C Demo GmbH"
        assert mail.message["Content-Language"] == "de"
        body = mail.message.get_body(("plain",)).get_content().replace("\r\n", "\n")
        assert body.startswith(
            "Sehr geehrte Damen und Herren,\n\nanbei erhalten Sie den Auszug Ihres Kontos C-1000 bei uns "
            "zum 16.03.2026."
        )
        [attachment] = list(mail.message.iter_attachments())
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_filename() == "statement-C-1000-2026-03-16.pdf"
        assert attachment.get_content().startswith(b"%PDF-")
        event = AuditEvent.objects.get(action="documents.statement.sent")
        assert (event.actor, event.object_id, event.entity_id) == (collector, customer.pk, customer.entity_id)
        assert event.changes == {
            "as_of": [None, "2026-03-16"],
            "recipients": [None, "kreditoren@mueller.example"],
        }

    def test_without_billing_contacts_it_goes_to_the_customers_own_address(self, account, smtp_settings):
        customer, *_ = account

        services.statement_send(customer_id=customer.pk, actor=None, now=NOW)

        assert [mail.rcpt_tos for mail in smtp_settings.received] == [("ap@mueller.example",)]

    def test_a_customer_without_an_address_is_refused_and_nothing_is_audited(self, entity, smtp_settings):
        customer = customer_services.customer_create(
            entity=entity, data=customer_in("C-2000", email=""), actor=None, now=NOW
        )

        with pytest.raises(UnableToSendStatement) as refused:
            services.statement_send(customer_id=customer.pk, actor=None, now=NOW)

        assert refused.value.code == "no_recipient"
        assert smtp_settings.received == []
        assert not AuditEvent.objects.filter(action="documents.statement.sent").exists()

    def test_a_mail_server_that_cannot_be_reached_is_a_clear_error(self, account, settings):
        customer, *_ = account
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2

        with pytest.raises(UnableToSendStatement) as refused:
            services.statement_send(customer_id=customer.pk, actor=None, now=NOW)

        assert refused.value.code == "mail_failed"
        assert refused.value.message.startswith(
            "the statement of customer C-1000 was not sent: mail server: "
        )
        assert not AuditEvent.objects.filter(action="documents.statement.sent").exists()


class TestStatementCommand:
    def test_the_command_writes_the_pdf(self, account, tmp_path: Path, capsys):
        output = tmp_path / "c-1000.pdf"

        call_command("statement", "--customer", "C-1000", "--output", str(output))

        assert output.read_bytes().startswith(b"%PDF-")
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err == f"statement of C-1000 written to {output}\n"

    def test_send_mails_it_as_well_rendered_once(
        self, account, tmp_path: Path, smtp_settings, capsys, monkeypatch
    ):
        renders = []
        render = statement.render_statement_pdf
        monkeypatch.setattr(
            statement, "render_statement_pdf", lambda facts: renders.append(facts) or render(facts)
        )

        call_command("statement", "--customer", "C-1000", "--output", str(tmp_path / "s.pdf"), "--send")

        assert len(renders) == 1
        [mail] = smtp_settings.received
        assert mail.rcpt_tos == ("ap@mueller.example",)
        [attachment] = list(mail.message.iter_attachments())
        assert attachment.get_content() == (tmp_path / "s.pdf").read_bytes()
        assert capsys.readouterr().err.endswith("statement of C-1000 sent to ap@mueller.example\n")

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            (["--customer", "C-9999"], "error: --customer: no customer 'C-9999' in MAIN\n"),
            (["--customer", "C-1000", "--entity", "XX"], "error: --entity: unknown legal entity 'XX'\n"),
        ],
    )
    def test_bad_input_is_one_line_and_exit_status_2(self, account, tmp_path, capsys, arguments, message):
        with pytest.raises(SystemExit) as exited:
            call_command("statement", *arguments, "--output", str(tmp_path / "s.pdf"))

        assert exited.value.code == 2
        assert capsys.readouterr().err == message
        assert not (tmp_path / "s.pdf").exists()

    def test_a_failed_send_is_exit_status_2_with_the_reason(self, entity, tmp_path, capsys):
        customer_services.customer_create(
            entity=entity, data=customer_in("C-2000", email=""), actor=None, now=NOW
        )

        with pytest.raises(SystemExit) as exited:
            call_command("statement", "--customer", "C-2000", "--output", str(tmp_path / "s.pdf"), "--send")

        assert exited.value.code == 2
        assert capsys.readouterr().err.endswith(
            "error: customer C-2000 has no billing contact and no e-mail address\n"
        )


def _client(username: str, *roles: str, entities: list[LegalEntity]) -> Client:
    user = make_user(username, *roles, entities=entities)
    _, token = workspace_services.api_token_create(user=user, name="test", now=NOW)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


class TestStatementApi:
    def test_every_role_that_sees_customers_gets_the_pdf(self, account, entity):
        response = _client("aude", "auditor", entities=[entity]).get("/api/customers/C-1000/statement")

        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == 'inline; filename="statement-C-1000-2026-03-16.pdf"'
        assert response.content.startswith(b"%PDF-")

    def test_another_entitys_customer_is_404(self, account, other_entity):
        client = _client("francois", "ar_manager", entities=[other_entity])

        assert client.get("/api/customers/C-1000/statement").status_code == 404
        assert client.post("/api/customers/C-1000/statement/send").status_code == 404
        assert client.get("/api/customers/C-1000/statement?entity=MAIN").status_code == 404

    def test_a_collector_sends_it(self, account, entity, smtp_settings):
        response = _client("carla", "collector", entities=[entity]).post(
            "/api/customers/C-1000/statement/send"
        )

        assert response.status_code == 200
        assert response.json() == {
            "customer_number": "C-1000",
            "as_of": "2026-03-16",
            "language": "de",
            "recipients": ["ap@mueller.example"],
        }
        assert len(smtp_settings.received) == 1

    def test_an_auditor_may_not_send_it(self, account, entity, smtp_settings):
        response = _client("aude", "auditor", entities=[entity]).post("/api/customers/C-1000/statement/send")

        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
        assert smtp_settings.received == []

    def test_a_refused_send_is_422_with_its_code(self, entity, smtp_settings):
        customer_services.customer_create(
            entity=entity, data=customer_in("C-2000", email=""), actor=None, now=NOW
        )

        response = _client("carla", "collector", entities=[entity]).post(
            "/api/customers/C-2000/statement/send"
        )

        assert response.status_code == 422
        assert response.json()["code"] == "no_recipient"
