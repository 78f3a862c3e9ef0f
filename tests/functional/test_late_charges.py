"""Late-payment interest and recovery fees as users meet them (docs/late-charges.md): shown on the dunning
e-mail in the customer's language and locale, charged by `o2c dunning charge` as one debit memo per
customer and currency that posts to 4830 and is never charged twice, and the policy set through the API.

The worked example throughout: C-1000 owes 1,190.00 EUR issued 2 January 2026, due 1 February (NET30);
the entity's policy for EUR is the German B2B rate (base rate 1.27 % from 1 January 2026 + 9 points =
10.27 %, act/365) and the EU's 40.00 EUR recovery fee. On 20 March (47 days past due) the interest is
1,190.00 × 10.27 % × 47 / 365 = 15.7370... -> 15.74, with the fee 55.74."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from o2c.audit.models import AuditEvent
from o2c.collections import late_charges, services
from o2c.collections.models import LateCharge, LateChargeItem, LatePaymentPolicy, PromisedDocument
from o2c.core.money import Money
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import JournalEntry, JournalLine, LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from tests.conftest import NOW, customer_in, issued_invoice, make_user
from tests.functional.test_api_collections import body, client_for, send
from tests.functional.test_dunning_delivery import _text
from tests.functional.test_import_commands import run_failing
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.django_db

MARCH_20 = date(2026, 3, 20)


def _policy(entity: LegalEntity, **overrides: Any) -> LatePaymentPolicy:
    values: dict[str, Any] = {
        "currency": "EUR",
        "reference_rate": "de_base",
        "annual_percent": Decimal(9),
        "day_count": "act_365",
        "grace_days": 0,
        "fee": Money(Decimal("40.00"), "EUR"),
        "minimum": Money(Decimal(0), "EUR"),
        "charge_interest": False,
        "charge_fee": False,
    }
    values.update(overrides)
    return late_charges.late_payment_policy_set(entity=entity, actor=None, now=NOW, **values)


def _invoice(customer: Customer, amount: str = "1190.00") -> Document:
    return issued_invoice(
        customer,
        issue_date=date(2026, 1, 2),
        lines=[LineIn("Service", Decimal(1), Decimal(amount), Decimal(0))],
    )


def _mail(entity: LegalEntity, as_of: date, smtp: SmtpServer, capture: Any) -> str:
    with capture(execute=True):
        services.dunning_run(entity=entity, as_of=as_of, dry_run=False, actor=None, now=NOW)
    [mail] = smtp.received
    return _text(mail.message)


def _charge(entity: LegalEntity, as_of: date, *, dry_run: bool = False) -> late_charges.ChargeRun:
    return late_charges.late_charges_run(entity=entity, as_of=as_of, dry_run=dry_run, actor=None, now=NOW)


class TestOnTheNotice:
    def test_the_german_notice_shows_interest_fee_and_total_as_information(
        self,
        entity: LegalEntity,
        customer: Customer,
        smtp_settings: SmtpServer,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        _policy(entity)
        invoice = _invoice(customer)

        text = _mail(entity, MARCH_20, smtp_settings, django_capture_on_commit_callbacks)

        assert (
            "\nVerzugskosten zum 20.03.2026 (Verzugszinsen von 10,27\xa0% jährlich, auf Grundlage des "
            "Referenzzinssatzes vom 01.01.2026):\n"
            f"- {invoice.number}: Verzugszinsen 15,74\xa0€, Verzugspauschale 40,00\xa0€\n"
            "Verzugskosten gesamt: 55,74\xa0€. Zu Ihrer Information: Wir berechnen sie derzeit nicht.\n"
            "\nMit freundlichen Grüßen\n"
        ) in text
        assert "Gesamtbetrag: 1.190,00\xa0€." in text  # what is owed is unchanged

    def test_the_english_notice_formats_in_the_customers_locale_and_says_when_they_are_charged(
        self, entity: LegalEntity, smtp_settings: SmtpServer, django_capture_on_commit_callbacks: Any
    ) -> None:
        _policy(entity, charge_interest=True, charge_fee=True)
        customer = customer_services.customer_create(
            entity=entity,
            data=customer_in("C-US", name="Acme Inc.", country="US", language="en", email="ap@acme.example"),
            actor=None,
            now=NOW,
        )
        invoice = _invoice(customer)

        text = _mail(entity, MARCH_20, smtp_settings, django_capture_on_commit_callbacks)

        assert (
            "\nLate-payment charges as of Mar 20, 2026 (interest at 10.27% a year, on the reference rate of "
            "Jan 1, 2026):\n"
            f"- {invoice.number}: interest €15.74, recovery fee €40.00\n"
            "Late charges: €55.74. We will invoice them separately.\n"
            "\nKind regards\n"
        ) in text

    def test_nothing_is_shown_without_a_policy_or_below_the_minimum(
        self,
        entity: LegalEntity,
        customer: Customer,
        smtp_settings: SmtpServer,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        _policy(entity, fee=Money(Decimal(0), "EUR"), minimum=Money(Decimal("20.00"), "EUR"))
        _invoice(customer)

        text = _mail(entity, MARCH_20, smtp_settings, django_capture_on_commit_callbacks)

        assert "Verzug" not in text  # 15.74 of interest is below the minimum of 20.00
        assert "dem Inkasso.\n\nMit freundlichen Grüßen" in text

    def test_after_a_charge_the_notice_shows_only_what_accrued_since(
        self,
        entity: LegalEntity,
        customer: Customer,
        smtp_settings: SmtpServer,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        _policy(entity, charge_interest=True, charge_fee=True)
        invoice = _invoice(customer)
        _charge(entity, date(2026, 3, 10))  # 2 February to 10 March: 37 days, and the fee

        text = _mail(entity, MARCH_20, smtp_settings, django_capture_on_commit_callbacks)

        # 11 to 20 March: 10 days, 1,190.00 × 10.27 % × 10 / 365 = 3.3483... -> 3.35; the debit memo of 10
        # March earns no interest (no interest on interest) and is not yet due
        assert f"- {invoice.number}: Verzugszinsen 3,35\xa0€\nVerzugskosten gesamt: 3,35\xa0€." in text


class TestCharging:
    def test_one_debit_memo_per_customer_posts_the_interest_and_fee_to_4830(
        self, entity: LegalEntity
    ) -> None:
        customer = customer_services.customer_create(
            entity=entity,
            data=customer_in("C-1000", name="Acme Ltd", country="GB", language="en", email="ap@acme.example"),
            actor=None,
            now=NOW,
        )
        _policy(entity, charge_interest=True, charge_fee=True)
        invoice = _invoice(customer)
        second = issued_invoice(
            customer,
            issue_date=date(2026, 2, 1),
            lines=[LineIn("More", Decimal(1), Decimal("500.00"), Decimal(0))],
        )  # due 3 March: 17 days, 500.00 × 10.27 % × 17 / 365 = 2.3916... -> 2.39

        run = _charge(entity, MARCH_20)

        [charge] = run.charges
        assert (charge.customer_number, charge.currency, charge.interest_minor, charge.fee_minor) == (
            "C-1000",
            "EUR",
            1574 + 239,
            8000,
        )
        memo = Document.objects.get(number=charge.document_number)
        assert (memo.document_type, memo.total_minor, memo.tax_minor, memo.issue_date) == (
            "debit_memo",
            9813,
            0,
            MARCH_20,
        )
        assert [(line.description, line.net_minor) for line in memo.lines.order_by("position")] == [
            (f"Late-payment interest on {invoice.number}, Feb 2, 2026 to Mar 20, 2026", 1574),
            (f"Recovery fee for the late payment of {invoice.number}", 4000),
            (f"Late-payment interest on {second.number}, Mar 4, 2026 to Mar 20, 2026", 239),
            (f"Recovery fee for the late payment of {second.number}", 4000),
        ]
        entry = JournalEntry.objects.get(source_type="document", source_id=memo.pk)
        lines = sorted(
            (line.account.code, line.debit_minor, line.credit_minor, line.functional_debit_minor)
            for line in JournalLine.objects.filter(entry=entry).select_related("account")
        )
        assert lines == [("1200", 9813, 0, 9813), ("4830", 0, 9813, 0)]
        assert sorted(
            LateChargeItem.objects.filter(charge__document=memo).values_list(
                "document__number", "interest_from", "interest_through", "interest_minor", "fee_minor"
            )
        ) == sorted(
            [
                (invoice.number, date(2026, 2, 2), MARCH_20, 1574, 4000),
                (second.number, date(2026, 3, 4), MARCH_20, 239, 4000),
            ]
        )
        [event] = AuditEvent.objects.filter(action="collections.late_charge.issued")
        assert event.object_label == "C-1000"
        call_command("ledger", "verify")  # the receivables still equal the open items, the ledger balances

    def test_running_again_charges_nothing_twice_and_the_next_day_only_its_interest(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        _policy(entity, charge_interest=True, charge_fee=True)
        _invoice(customer)
        _charge(entity, MARCH_20)

        assert _charge(entity, MARCH_20).charges == ()
        [next_day] = _charge(entity, date(2026, 3, 21)).charges
        # one day: 1,190.00 × 10.27 % / 365 = 0.3348... -> 0.33, and no second fee; the first debit memo
        # (due 19 April) earns nothing
        assert (next_day.interest_minor, next_day.fee_minor) == (33, 0)
        assert LateCharge.objects.count() == 2
        assert _charge(entity, date(2026, 3, 21)).charges == ()

    def test_only_what_the_policy_charges_is_charged(self, entity: LegalEntity, customer: Customer) -> None:
        _policy(entity, charge_fee=True)  # the interest stays information
        _invoice(customer)

        [charge] = _charge(entity, MARCH_20).charges

        assert (charge.interest_minor, charge.fee_minor) == (0, 4000)
        assert Document.objects.get(number=charge.document_number).total_minor == 4000

    def test_nothing_is_charged_by_default_or_for_disputed_or_promised_items(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        _policy(entity)
        invoice = _invoice(customer)
        assert _charge(entity, MARCH_20).charges == ()  # charging is off by default

        _policy(entity, charge_interest=True, charge_fee=True)
        receivable_services.disputed_flag_set(
            document_id=invoice.pk, is_disputed=True, reason="t", actor=None, now=NOW
        )
        assert _charge(entity, MARCH_20).charges == ()
        receivable_services.disputed_flag_set(
            document_id=invoice.pk, is_disputed=False, reason="t", actor=None, now=NOW
        )
        services.promise_record(
            customer=customer,
            documents=[invoice],
            amount=Money(Decimal("1190.00"), "EUR"),
            promised_date=date(2026, 3, 25),
            made_on=date(2026, 3, 16),
            contact="AP",
            actor=None,
            now=NOW,
        )
        assert PromisedDocument.objects.count() == 1
        assert _charge(entity, MARCH_20).charges == ()
        assert LateCharge.objects.count() == 0

    def test_a_dry_run_shows_the_same_and_writes_nothing(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        _policy(entity, charge_interest=True, charge_fee=True)
        _invoice(customer)
        documents, events = Document.objects.count(), AuditEvent.objects.count()

        [charge] = _charge(entity, MARCH_20, dry_run=True).charges

        assert (charge.interest_minor, charge.fee_minor, charge.document_number) == (1574, 4000, "")
        assert (Document.objects.count(), AuditEvent.objects.count(), LateCharge.objects.count()) == (
            documents,
            events,
            0,
        )


class TestCommand:
    def test_charge_prints_json_as_documented(
        self, entity: LegalEntity, customer: Customer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _policy(entity, charge_interest=True, charge_fee=True)
        invoice = _invoice(customer)

        call_command("dunning", "charge", "--as-of", "2026-03-20", "--format", "json")

        memo = LateCharge.objects.get().document
        assert json.loads(capsys.readouterr().out) == {
            "as_of": "2026-03-20",
            "entity": entity.code,
            "dry_run": False,
            "charges": [
                {
                    "customer_number": "C-1000",
                    "currency": "EUR",
                    "debit_memo": memo.number,
                    "interest": "15.74",
                    "fee": "40.00",
                    "total": "55.74",
                    "items": [
                        {
                            "invoice_number": invoice.number,
                            "interest_from": "2026-02-02",
                            "interest_through": "2026-03-20",
                            "interest": "15.74",
                            "fee": "40.00",
                        }
                    ],
                }
            ],
        }

    def test_the_table_and_a_dry_run_and_a_warning_when_the_rate_may_be_out_of_date(
        self, entity: LegalEntity, customer: Customer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _policy(entity, charge_interest=True, charge_fee=True)
        invoice = _invoice(customer)

        call_command("dunning", "charge", "--as-of", "2026-07-15", "--dry-run")

        captured = capsys.readouterr()
        # 2 February to 15 July 2026: 164 days at 10.27 % (the base rate of 1 January still applied):
        # 1,190.00 × 10.27 % × 164 / 365 = 54.9124... -> 54.91
        row = next(line for line in captured.out.splitlines() if invoice.number in line)
        assert ["C-1000", invoice.number, "Feb 2, 2026", "Jul 15, 2026", "54.91", "40.00", "EUR"] == [
            cell.strip() for cell in row.strip("│ ").split("│") if cell.strip()
        ]
        assert captured.out.endswith("1 debit memo would be issued\n")
        assert captured.err == (
            "warning: de_base: the latest rate recorded is of 2026-01-01 and was applied after it; record a "
            "newer one with o2c dunning rate-add\n"
        )
        assert LateCharge.objects.count() == 0

    def test_a_bad_date_is_one_line_and_exit_status_2(
        self, entity: LegalEntity, capsys: pytest.CaptureFixture[str]
    ) -> None:
        line = run_failing(capsys, "dunning", "charge", "--as-of", "2026-02-30")
        assert line == "error: --as-of: '2026-02-30' is not an ISO 8601 date (YYYY-MM-DD)"

    def test_rate_add_records_the_next_base_rate_audited(
        self, entity: LegalEntity, capsys: pytest.CaptureFixture[str]
    ) -> None:
        call_command(
            "dunning", "rate-add", "--name", "de_base", "--valid-from", "2026-07-01", "--percent", "1.52"
        )
        call_command("dunning", "rates", "--name", "de_base", "--format", "json")

        rates = json.loads(capsys.readouterr().out)["rates"]
        assert rates[-2:] == [
            {"name": "de_base", "valid_from": "2026-01-01", "percent": "1.27"},
            {"name": "de_base", "valid_from": "2026-07-01", "percent": "1.52"},
        ]
        assert AuditEvent.objects.filter(action="collections.reference_rate.added").count() == 1
        line = run_failing(
            capsys,
            "dunning",
            "rate-add",
            "--name",
            "de_base",
            "--valid-from",
            "2026-07-01",
            "--percent",
            "1.62",
        )
        assert line == "error: de_base from 2026-07-01 is recorded already at 1.52"


class TestApi:
    @pytest.fixture
    def manager(self, entity: LegalEntity) -> Client:
        return client_for(make_user("mara", "ar_manager", entities=[entity]))

    def test_an_ar_manager_sets_and_reads_the_policy_audited(
        self, manager: Client, entity: LegalEntity
    ) -> None:
        payload = {
            "currency": "EUR",
            "reference_rate": "de_base",
            "annual_percent": "9",
            "fee": "40.00",
            "charge_fee": True,
        }
        response = send(manager, "put", "/api/collections/late-payment-policy", payload)

        assert response.status_code == 200, response.content
        expected = {
            "entity": entity.code,
            "currency": "EUR",
            "reference_rate": "de_base",
            "annual_percent": "9.00",
            "day_count": "act_365",
            "grace_days": 0,
            "fee": "40.00",
            "minimum": "0.00",
            "charge_interest": False,
            "charge_fee": True,
            "updated_by": "mara",
        }
        assert {key: value for key, value in body(response).items() if key != "updated_at"} == expected
        [listed] = body(manager.get("/api/collections/late-payment-policy"))
        assert {key: value for key, value in listed.items() if key != "updated_at"} == expected
        [event] = AuditEvent.objects.filter(action="collections.late_payment_policy.set")
        assert event.changes["fee"] == [None, "40.00 EUR"]

    def test_an_unknown_reference_rate_is_refused_and_nothing_changes(self, manager: Client) -> None:
        payload = {"currency": "EUR", "reference_rate": "ecb_mro", "annual_percent": "8"}
        response = send(manager, "put", "/api/collections/late-payment-policy", payload)

        assert response.status_code == 422
        assert body(response)["code"] == "unknown_reference_rate"
        assert LatePaymentPolicy.objects.count() == 0

    def test_a_collector_may_not(self, entity: LegalEntity) -> None:
        collector = client_for(make_user("carla", "collector", entities=[entity]))
        assert collector.get("/api/collections/late-payment-policy").status_code == 403

    def test_an_ar_manager_records_a_reference_rate(self, manager: Client) -> None:
        payload = {"name": "ecb_mro", "valid_from": "2025-06-11", "annual_percent": "2.15", "source": "ECB"}
        response = send(manager, "post", "/api/collections/reference-rates", payload)

        assert response.status_code == 201
        assert body(response) == {
            "name": "ecb_mro",
            "valid_from": "2025-06-11",
            "annual_percent": "2.15",
            "source": "ECB",
        }
        assert [
            rate["valid_from"] for rate in body(manager.get("/api/collections/reference-rates?name=ecb_mro"))
        ] == ["2025-06-11"]
