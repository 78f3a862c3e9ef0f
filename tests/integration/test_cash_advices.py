"""Remittance advices: a customer's list of what a payment pays, kept until the payment arrives and then
read by the matcher like a bank's own remittance data; or linked to a payment already waiting."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from o2c.cash import services as cash_services
from o2c.cash import workbench
from o2c.cash.models import Payment, RemittanceAdvice
from o2c.core import checks
from o2c.core.models import DomainEvent
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables.models import Allocation
from tests.camt_builder import Credit, statement_xml
from tests.conftest import issued_invoice

pytestmark = pytest.mark.django_db


def _advice(invoices: list[tuple[str, str, str]]) -> bytes:
    rows = "".join(
        f";;{number};{amount};{deduction};{'Transportschaden' if deduction else ''}\n"
        for number, amount, deduction in invoices
    )
    return (
        "Zahlungsreferenz;Datum;Rechnungsnummer;Betrag;Abzug;Grund\nZA-77;20.03.2026;;;;\n" + rows
    ).encode()


@pytest.fixture
def strict_policy(entity: LegalEntity, now: datetime) -> None:
    """A policy that applies nothing on its own."""
    workbench.policy_change(
        entity=entity,
        auto_apply_confidence=Decimal("0.999"),
        write_off_tolerance=Decimal("5.00"),
        discount_grace_days=3,
        actor=None,
        now=now,
    )


def _verify() -> list[str]:
    return [problem for check in checks.all_checks() for problem in check.run()]


def test_an_advice_received_first_tells_the_matcher_what_the_payment_pays_and_what_it_deducts(
    entity: LegalEntity, customer: Customer, now: datetime
) -> None:
    first, second = issued_invoice(customer), issued_invoice(customer)  # 1,190.00 each
    advice = cash_services.advice_import(
        data=_advice([(first.number, "1190,00", ""), (second.number, "1090,00", "100,00")]),
        file_name="avis.csv",
        entity=entity,
        actor=None,
        now=now,
    )
    assert (advice.lines, advice.total, advice.payment) == (2, "2280.00", None)

    cash_services.bank_file_import(
        data=statement_xml([Credit("2280.00", "BANKREF-9", name="Unbekannt", text="Zahlung ZA-77")]),
        file_name="statement.xml",
        entity=entity,
        actor=None,
        now=now,
    )

    payment = Payment.objects.get()
    assert (payment.status, payment.unapplied_minor) == ("applied", 0)
    assert sorted(Allocation.objects.values_list("document__number", "amount_minor")) == [
        (first.number, 119000),
        (second.number, 109000),
    ]
    second.refresh_from_db()
    assert second.open_minor == 10000  # the deduction stays open for the disputes work
    assert RemittanceAdvice.objects.get().payment_id == payment.pk
    assert _verify() == []


def test_an_advice_for_a_payment_waiting_for_a_person_is_linked_to_it(
    entity: LegalEntity, customer: Customer, now: datetime
) -> None:
    invoice = issued_invoice(customer)
    cash_services.bank_file_import(
        data=statement_xml([Credit("1190.00", "BANKREF-9", name="Unbekannt", text="ZA-77")]),
        file_name="statement.xml",
        entity=entity,
        actor=None,
        now=now,
    )
    payment = Payment.objects.get()
    assert payment.status == "unidentified"

    advice = cash_services.advice_import(
        data=_advice([(invoice.number, "1190,00", "")]),
        file_name="avis.csv",
        entity=entity,
        actor=None,
        now=now,
    )

    payment.refresh_from_db()
    assert advice.payment == "BANKREF-9"
    assert payment.remitted == [
        {"number": invoice.number, "amount": "1190.00", "discount": None, "deduction": None, "reason": ""}
    ]
    assert payment.reasons[-1] == "remittance advice avis.csv names its invoices"


def test_an_advice_after_its_payment_has_the_matcher_read_the_payment_again_and_apply_it(
    entity: LegalEntity, customer: Customer, now: datetime
) -> None:
    first, second = issued_invoice(customer), issued_invoice(customer)  # 1,190.00 each
    cash_services.bank_file_import(
        data=statement_xml([Credit("2280.00", "BANKREF-9", name="Unbekannt", text="Zahlung ZA-77")]),
        file_name="statement.xml",
        entity=entity,
        actor=None,
        now=now,
    )
    payment = Payment.objects.get()
    assert (payment.status, payment.customer_id) == ("unidentified", None)

    advice = workbench.advice_receive(
        data=_advice([(first.number, "1190,00", ""), (second.number, "1090,00", "100,00")]),
        file_name="avis.csv",
        entity=entity,
        actor=None,
        now=now,
    )

    payment.refresh_from_db()
    assert (advice.payment, advice.payment_status) == ("BANKREF-9", "applied")
    assert (payment.status, payment.unapplied_minor, payment.customer_id) == ("applied", 0, customer.pk)
    assert sorted(Allocation.objects.values_list("document__number", "amount_minor")) == [
        (first.number, 119000),
        (second.number, 109000),
    ]
    second.refresh_from_db()
    assert second.open_minor == 10000  # the deduction stays open
    applications = list(
        payment.applications.order_by("pk").values_list("state", "is_automatic", "deduction_minor")
    )
    assert applications == [("applied", True, 0), ("applied", True, 10000)]
    assert payment.reasons[-1] == "matched again on remittance advice avis.csv"
    assert DomainEvent.objects.filter(name="cash.deduction_taken").count() == 1
    assert _verify() == []


def test_an_advice_that_leaves_the_payment_unsure_only_renews_its_suggestions(
    entity: LegalEntity, customer: Customer, now: datetime, strict_policy: None
) -> None:
    invoice = issued_invoice(customer)
    cash_services.bank_file_import(
        data=statement_xml([Credit("1190.00", "BANKREF-9", name="Unbekannt", text="ZA-77")]),
        file_name="statement.xml",
        entity=entity,
        actor=None,
        now=now,
    )

    workbench.advice_receive(
        data=_advice([(invoice.number, "1190,00", "")]),
        file_name="avis.csv",
        entity=entity,
        actor=None,
        now=now,
    )

    payment = Payment.objects.get()
    assert payment.status == "unidentified"
    assert list(payment.applications.values_list("state", "document_id", "amount_minor")) == [
        ("suggested", invoice.pk, 119000)
    ]
    assert not Allocation.objects.exists()
    assert _verify() == []


def test_the_same_advice_twice_is_kept_once_and_the_command_prints_json(
    entity: LegalEntity, customer: Customer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    invoice = issued_invoice(customer)
    path = tmp_path / "avis.csv"
    path.write_bytes(_advice([(invoice.number, "1190,00", "")]))

    call_command("cash", "advice", str(path), "--format", "json")
    call_command("cash", "advice", str(path), "--format", "json")

    first, second = (
        json.loads(chunk) for chunk in capsys.readouterr().out.replace("}\n{", "}\n\n{").split("\n\n")
    )
    assert (first["already_imported"], first["lines"], first["total"], first["currency"]) == (
        False,
        1,
        "1190.00",
        "EUR",
    )
    assert second["already_imported"] is True
    assert RemittanceAdvice.objects.count() == 1
