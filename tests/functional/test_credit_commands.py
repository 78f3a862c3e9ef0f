"""`o2c credit`: the what-if check's exact JSON (a hold is a result, exit 0; nothing written), orders from
CSV (atomic, idempotent, one-line errors naming row and column), and a held order released by a payment
from a bank file (cash's `cash.payment_applied`), with sales and the customer told by e-mail."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from o2c.audit.models import AuditEvent
from o2c.cash import services as cash_services
from o2c.credit import limits, rules, selectors
from o2c.credit.models import CreditPolicy, CustomerExposure, SalesOrder
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables.calculations import LineIn
from tests.camt_builder import Credit, statement_xml
from tests.conftest import NOW, issued_invoice
from tests.functional.test_import_commands import run_failing
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)  # Monday 16 March 2026, 10:30 in Berlin


def _limit(customer: Customer, amount: str) -> None:
    limits.limit_request(
        customer_id=customer.pk,
        amount=Decimal(amount),
        currency="EUR",
        valid_until=None,
        next_review_date=None,
        reason="set up",
        actor=None,
        now=NOW,
    )


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    call_command("credit", "check", *args, "--as-of", "2026-03-16", "--format", "json")
    out = capsys.readouterr().out
    return json.loads(out)  # type: ignore[no-any-return]


class TestWhatIf:
    def test_a_release_prints_the_exposure_the_limit_and_what_is_left(
        self, customer: Customer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _limit(customer, "5000.00")
        issued_invoice(customer, lines=[LineIn("Goods", Decimal(1), Decimal("1200.00"), Decimal(19))])

        result = _check(capsys, "--customer", "C-1000", "--amount", "800", "--currency", "EUR")

        assert result == {
            "decision": "release",
            "reasons": [],
            "exposure": "1428.00",
            "limit": "5000.00",
            "available": "3572.00",
            "currency": "EUR",
        }

    def test_a_hold_is_a_result_with_its_reasons_and_exit_status_0(
        self, customer: Customer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _limit(customer, "1000.00")
        issued_invoice(customer, lines=[LineIn("Goods", Decimal(1), Decimal("900.00"), Decimal(0))])
        events_before = AuditEvent.objects.count()

        result = _check(capsys, "--customer", "C-1000", "--amount", "250.00", "--currency", "EUR")

        assert result == {
            "decision": "hold",
            "reasons": [
                {
                    "code": "over_customer_limit",
                    "text": "over the customer's credit limit: exposure 900.00 plus the order 250.00 is more"
                    " than the limit 1000.00 by 150.00 EUR",
                    "customer": "C-1000",
                    "currency": "EUR",
                    "limit": "1000.00",
                    "exposure": "900.00",
                    "order": "250.00",
                    "excess": "150.00",
                }
            ],
            "exposure": "900.00",
            "limit": "1000.00",
            "available": "100.00",
            "currency": "EUR",
        }
        # a what-if writes nothing
        assert (SalesOrder.objects.count(), AuditEvent.objects.count()) == (0, events_before)

    def test_an_unknown_customer_or_a_bad_amount_is_a_one_line_error(
        self, customer: Customer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        base = ("credit", "check", "--currency", "EUR", "--format", "json")
        assert run_failing(capsys, *base, "--customer", "C-404", "--amount", "1") == (
            "error: --customer: unknown customer 'C-404'"
        )
        assert run_failing(capsys, *base, "--customer", "C-1000", "--amount", "1,5") == (
            "error: --amount: '1,5' is not an amount"
        )
        assert run_failing(capsys, *base, "--customer", "C-1000", "--amount", "-5") == (
            "error: the amount must be more than zero"
        )
        assert run_failing(capsys, *base, "--customer", "C-1000", "--amount", "1.005") == (
            "error: --amount: '1.005' has more decimals than EUR allows (2)"
        )


def _csv(tmp_path: Path, *rows: str) -> str:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_number,customer_number,amount,currency,requested_date\n" + "".join(r + "\n" for r in rows)
    )
    return str(path)


class TestOrdersImport:
    def test_orders_are_taken_checked_and_taken_once(
        self, customer: Customer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _limit(customer, "1000.00")
        name = _csv(tmp_path, "SO-1,C-1000,600.00,EUR,2026-03-20", "SO-2,C-1000,600.00,EUR,2026-03-21")

        call_command("credit", "orders-import", name)
        call_command("credit", "orders-import", name)

        assert list(SalesOrder.objects.order_by("number").values_list("number", "status", "source")) == [
            ("SO-1", "released", "csv"),
            ("SO-2", "held", "csv"),
        ]
        assert capsys.readouterr().err.splitlines() == [
            "2 orders taken: 1 released, 1 held; 0 known already",
            "0 orders taken: 0 released, 0 held; 2 known already",
        ]

    @pytest.mark.parametrize(
        ("row", "error"),
        [
            ("SO-2,C-404,1.00,EUR,2026-03-20", "row 2: customer_number: customer C-404 does not exist"),
            ("SO-2,C-1000,abc,EUR,2026-03-20", "row 2: amount: 'abc' is not a positive amount"),
            (
                "SO-2,C-1000,1.00,EUR,20.03.2026",
                "row 2: requested_date: '20.03.2026' is not an ISO 8601 date",
            ),
            ("SO-2,C-1000,1.00,,2026-03-20", "row 2: currency: empty"),
            ("SO-1,C-1000,1.00,EUR,2026-03-20", "row 2: order_number: order SO-1 appears twice"),
        ],
    )
    def test_a_bad_row_is_one_line_naming_row_and_column_and_nothing_is_written(
        self, customer: Customer, tmp_path: Path, capsys: pytest.CaptureFixture[str], row: str, error: str
    ) -> None:
        name = _csv(tmp_path, "SO-1,C-1000,1.00,EUR,2026-03-20", row)

        line = run_failing(capsys, "credit", "orders-import", name)

        assert line.startswith(f"error: {name}: {error}")
        assert SalesOrder.objects.count() == 0


class TestReleasedByAPayment:
    def test_a_bank_file_paying_the_invoice_releases_the_held_order_and_mails_sales_and_the_customer(
        self,
        entity: LegalEntity,
        customer: Customer,
        smtp_settings: SmtpServer,
        django_capture_on_commit_callbacks: Any,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        CreditPolicy.objects.filter(entity=entity).update(sales_email="sales@o2c-demo.example")
        Customer.objects.filter(pk=customer.pk).update(language="en")  # the texts before translation
        _limit(customer, "1000.00")
        invoice = issued_invoice(
            customer,
            issue_date=date(2026, 3, 2),
            lines=[LineIn("Goods", Decimal(1), Decimal("900.00"), Decimal(0))],
        )
        with django_capture_on_commit_callbacks(execute=True):
            call_command("credit", "orders-import", _csv(tmp_path, "SO-1,C-1000,500.00,EUR,2026-03-20"))
        order = SalesOrder.objects.get()
        assert order.status == "held"
        held_mails = [(m.rcpt_tos, m.message["Subject"]) for m in smtp_settings.received]
        assert held_mails == [
            (("sales@o2c-demo.example",), "Order SO-1 is on credit hold"),
            (("ap@mueller.example",), "Order SO-1 is on credit hold"),
        ]
        assert smtp_settings.received[1].message.get_content().replace("\r\n", "\n") == (
            "Order SO-1 of Müller Maschinenbau GmbH over 500.00 EUR is on credit hold:\n"
            "- over the customer's credit limit: exposure 900.00 plus the order 500.00 is more than the limit"
            " 1000.00 by 400.00 EUR\n"
        )
        statement = statement_xml(
            [
                Credit(
                    "900.00",
                    "S1-1",
                    name="Müller Maschinenbau GmbH",
                    text=f"Rechnung {invoice.number}",
                    day=date(2026, 3, 16),
                )
            ],
            statement_id="S1",
            message_id="S1",
        )

        with django_capture_on_commit_callbacks(execute=True):
            cash_services.bank_file_import(
                data=statement,
                file_name="S1.xml",
                entity=entity,
                actor=None,
                now=datetime(2026, 3, 16, 10, 0, tzinfo=UTC),
            )

        order.refresh_from_db()
        assert (order.status, order.release_date, order.decision_reason) == (
            "released",
            date(2026, 3, 16),
            "rechecked after a payment",
        )
        assert CustomerExposure.objects.get(customer=customer, currency="EUR").orders_minor == 50_000
        released = smtp_settings.received[2]
        assert released.rcpt_tos == ("sales@o2c-demo.example",)
        assert released.message["Subject"] == "Order SO-1 is released"
        assert released.message.get_content().replace("\r\n", "\n") == (
            "Order SO-1 of Müller Maschinenbau GmbH over 500.00 EUR is released for 2026-03-16.\n"
            "Reason: rechecked after a payment\n"
        )
        assert AuditEvent.objects.filter(action="credit.order.rechecked", object_label="SO-1").count() == 1


class TestPolicy:
    def test_the_default_policy_is_shown_and_changed_with_an_audit_event(
        self, entity: LegalEntity, capsys: pytest.CaptureFixture[str]
    ) -> None:
        call_command("credit", "policy")
        assert json.loads(capsys.readouterr().out) == {
            "entity": entity.code,
            "past_due_days": 60,
            "cutoff_time": "17:00",
            "sales_email": "",
            "approval_threshold": "50000.00",
            "currency": "EUR",
        }

        call_command("credit", "policy", "--past-due-days", "45", "--cutoff", "15:30", "--threshold", "20000")

        assert json.loads(capsys.readouterr().out) == {
            "entity": entity.code,
            "past_due_days": 45,
            "cutoff_time": "15:30",
            "sales_email": "",
            "approval_threshold": "20000.00",
            "currency": "EUR",
        }
        assert CreditPolicy.objects.filter(entity=entity).values_list(
            "past_due_days", "cutoff_time"
        ).get() == (
            45,
            time(15, 30),
        )
        assert (
            AuditEvent.objects.filter(
                action__in=["credit.policy.changed", "credit.threshold.changed"]
            ).count()
            == 2
        )

    def test_an_entity_created_later_reads_the_default_policy(self, other_entity: LegalEntity) -> None:
        assert not CreditPolicy.objects.filter(entity=other_entity).exists()

        assert selectors.policy_of(other_entity.pk) == rules.Policy(60, time(17, 0), "")
        assert selectors.threshold_minor(other_entity, "EUR") == 5_000_000
        assert selectors.threshold_minor(other_entity, "USD") is None
