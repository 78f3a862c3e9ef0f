"""SEPA files to the bank: an overpayment's unapplied cash refunded as a pain.001 credit transfer (posted
Dr unapplied cash / Cr bank), and open invoices collected under mandates as a pain.008 direct debit
(FRST on a mandate's first use, RCUR after it; nothing posted). Every file validates against the
official XSD that sepaxml bundles."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from lxml import etree
from sepaxml.validation import try_valid_xml

from o2c.audit.models import AuditEvent
from o2c.cash import sepa
from o2c.cash import services as cash_services
from o2c.cash.models import DirectDebit, Payment, Refund
from o2c.core import checks
from o2c.customers import services as customer_services
from o2c.customers.models import Customer, Mandate
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import AccountType, EntityBankAccount, JournalEntry, LegalEntity
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from tests.camt_builder import OWN_IBAN, Credit, statement_xml
from tests.conftest import customer_in, issued_invoice
from tests.functional.test_import_commands import run_failing

pytestmark = pytest.mark.django_db

PAYER_IBAN = "DE02120300000000202051"
SECOND_IBAN = "DE02500105170137075030"
CREDITOR_ID = "DE98ZZZ09999999999"
OWN_BIC = "COBADEFFXXX"


def _verify() -> list[str]:
    return [problem for check in checks.all_checks() for problem in check.run()]


def _tree(xml: bytes) -> tuple[etree._Element, dict[str, str]]:
    root = etree.fromstring(xml)
    return root, {"p": etree.QName(root).namespace or ""}


def _texts(xml: bytes, path: str) -> list[str]:
    root, namespace = _tree(xml)
    return [node.text or "" for node in root.findall(path, namespaces=namespace)]


def _unapplied(entity: LegalEntity) -> dict[tuple[int, int | None, str], int]:
    return ledger_selectors.credit_balances_by_customer(
        account_type=AccountType.UNAPPLIED_CASH, entity_ids=[entity.pk]
    )


def _bank(entity: LegalEntity) -> int:
    balances = ledger_selectors.credit_balances_by_customer(
        account_type=AccountType.BANK, entity_ids=[entity.pk]
    )
    return sum(balances.values())


def _overpaid(entity: LegalEntity, customer: Customer, now: datetime, *, iban: str = PAYER_IBAN) -> Payment:
    """The customer pays its 1,190.00 invoice with 1,235.50: 45.50 are left on its account."""
    invoice = issued_invoice(customer)
    cash_services.bank_file_import(
        data=statement_xml(
            [
                Credit(
                    "1235.50",
                    "BANKREF-1",
                    name="Mueller Maschinenbau",
                    iban=iban,
                    text=f"Rechnung {invoice.number}",
                    end_to_end="E2E-4711",
                )
            ]
        ),
        file_name="day1.xml",
        entity=entity,
        actor=None,
        now=now,
    )
    payment = Payment.objects.get()
    assert (payment.customer_id, payment.unapplied_minor) == (customer.pk, 4550)
    return payment


class TestRefunds:
    def test_an_overpayment_is_refunded_to_the_payers_iban_and_leaves_unapplied_cash(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        payment = _overpaid(entity, customer, now)
        assert _unapplied(entity) == {(entity.pk, customer.pk, "EUR"): 4550}
        bank_before = _bank(entity)

        result = sepa.refund_file_create(
            entity=entity, payment_ids=[payment.pk], execution_date=date(2026, 3, 23), actor=None, now=now
        )

        try_valid_xml(result.xml, "pain.001.001.03")  # the official XSD, through sepaxml's own check
        assert sepa.xsd_errors(result.xml, scheme="pain.001.001.03") == []
        refund = Refund.objects.get()
        assert (refund.end_to_end_id, refund.amount_minor, refund.payee_iban, refund.message_id) == (
            f"RFD-{payment.pk}-1",
            4550,
            PAYER_IBAN,
            result.message_id,
        )
        tx = "./p:CstmrCdtTrfInitn/p:PmtInf/p:CdtTrfTxInf"
        assert _texts(result.xml, f"{tx}/p:CdtrAcct/p:Id/p:IBAN") == [PAYER_IBAN]
        assert _texts(result.xml, f"{tx}/p:Amt/p:InstdAmt") == ["45.50"]
        assert _texts(result.xml, f"{tx}/p:PmtId/p:EndToEndId") == [f"RFD-{payment.pk}-1"]
        assert _texts(result.xml, f"{tx}/p:RmtInf/p:Ustrd") == ["Refund BANKREF-1"]
        assert _texts(result.xml, f"{tx}/p:Cdtr/p:Nm") == ["Mueller Maschinenbau"]
        pmt = "./p:CstmrCdtTrfInitn/p:PmtInf"
        assert _texts(result.xml, f"{pmt}/p:DbtrAcct/p:Id/p:IBAN") == [OWN_IBAN]
        assert _texts(result.xml, f"{pmt}/p:ReqdExctnDt") == ["2026-03-23"]
        assert _texts(result.xml, "./p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum") == ["45.50"]
        assert _texts(result.xml, "./p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId") == [result.message_id]
        # the creation time is `now` in the entity's time zone (09:30 UTC is 10:30 in Berlin)
        assert _texts(result.xml, "./p:CstmrCdtTrfInitn/p:GrpHdr/p:CreDtTm") == ["2026-03-16T10:30:00"]
        assert (result.transactions, result.total_minor, result.skipped) == (1, 4550, [])

        payment.refresh_from_db()
        assert (payment.unapplied_minor, payment.status) == (0, "applied")
        assert _unapplied(entity) == {}  # the customer's unapplied cash is back to 0
        assert _bank(entity) - bank_before == 4550  # the bank account is credited with 45.50
        entry = JournalEntry.objects.get(idempotency_key=f"refund:{refund.pk}")
        assert (entry.posting_date, entry.source_type) == (date(2026, 3, 23), "refund")
        assert sorted(
            (line.account.type, line.debit_minor, line.credit_minor, line.customer_id)
            for line in entry.lines.all()
        ) == [("bank", 0, 4550, None), ("unapplied_cash", 4550, 0, customer.pk)]
        event = AuditEvent.objects.get(action="cash.refund_file.created")
        assert (event.object_label, event.entity_id) == (result.message_id, entity.pk)
        assert _verify() == []

    def test_pain_001_001_09_can_be_chosen_and_validates(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        payment = _overpaid(entity, customer, now)

        result = sepa.refund_file_create(
            entity=entity,
            payment_ids=None,
            execution_date=None,
            actor=None,
            now=now,
            scheme="pain.001.001.09",
        )

        try_valid_xml(result.xml, "pain.001.001.09")
        root, _ = _tree(result.xml)
        assert etree.QName(root).namespace == "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"
        pmt = "./p:CstmrCdtTrfInitn/p:PmtInf"
        assert _texts(result.xml, f"{pmt}/p:ReqdExctnDt/p:Dt") == ["2026-03-16"]  # today in Berlin
        assert _texts(result.xml, f"{pmt}/p:CdtTrfTxInf/p:PmtId/p:EndToEndId") == [f"RFD-{payment.pk}-1"]
        # posted on the payment's booking date: a refund never goes back before the cash came in
        refund = Refund.objects.get()
        entry = JournalEntry.objects.get(idempotency_key=f"refund:{refund.pk}")
        assert entry.posting_date == date(2026, 3, 20)
        assert _verify() == []

    def test_a_payment_without_an_iban_is_refused_and_nothing_changes(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        payment = _overpaid(entity, customer, now, iban="")
        entries = JournalEntry.objects.count()
        audits = AuditEvent.objects.count()

        with pytest.raises(sepa.UnableToCreateSepaFile) as refusal:
            sepa.refund_file_create(
                entity=entity, payment_ids=[payment.pk], execution_date=None, actor=None, now=now
            )

        assert refusal.value.code == "no_iban"
        assert refusal.value.message == (
            "payment BANKREF-1: no IBAN to refund to (none in the payment, none on file for the customer)"
        )
        payment.refresh_from_db()
        assert (payment.unapplied_minor, payment.status) == (4550, "partially_applied")
        assert (Refund.objects.count(), JournalEntry.objects.count(), AuditEvent.objects.count()) == (
            0,
            entries,
            audits,
        )
        assert _unapplied(entity) == {(entity.pk, customer.pk, "EUR"): 4550}

    def test_the_customers_bank_account_on_file_is_used_when_the_payment_has_no_iban(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        payment = _overpaid(entity, customer, now, iban="")
        customer_services.bank_account_add(
            customer_id=customer.pk,
            iban=SECOND_IBAN,
            bic="INGDDEFFXXX",
            holder="Müller GmbH",
            actor=None,
            now=now,
        )

        result = sepa.refund_file_create(
            entity=entity, payment_ids=[payment.pk], execution_date=None, actor=None, now=now
        )

        tx = "./p:CstmrCdtTrfInitn/p:PmtInf/p:CdtTrfTxInf"
        assert _texts(result.xml, f"{tx}/p:CdtrAcct/p:Id/p:IBAN") == [SECOND_IBAN]
        assert _texts(result.xml, f"{tx}/p:CdtrAgt/p:FinInstnId/p:BIC") == ["INGDDEFFXXX"]
        assert _verify() == []

    def test_all_refundable_leaves_out_what_cannot_be_refunded_and_a_second_run_finds_nothing(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        _overpaid(entity, customer, now)
        sepa.refund_file_create(entity=entity, payment_ids=None, execution_date=None, actor=None, now=now)

        with pytest.raises(sepa.UnableToCreateSepaFile) as refusal:
            sepa.refund_file_create(entity=entity, payment_ids=None, execution_date=None, actor=None, now=now)

        assert refusal.value.code == "nothing_to_refund"
        assert Refund.objects.count() == 1

    def test_a_payment_with_nothing_unapplied_is_refused(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        payment = _overpaid(entity, customer, now)
        sepa.refund_file_create(
            entity=entity, payment_ids=[payment.pk], execution_date=None, actor=None, now=now
        )

        with pytest.raises(sepa.UnableToCreateSepaFile) as refusal:
            sepa.refund_file_create(
                entity=entity, payment_ids=[payment.pk], execution_date=None, actor=None, now=now
            )

        assert (refusal.value.code, refusal.value.message) == (
            "nothing_unapplied",
            "payment BANKREF-1: nothing unapplied to refund",
        )

    def test_the_command_writes_the_file_and_refuses_an_unknown_payment_in_one_line(
        self,
        entity: LegalEntity,
        customer: Customer,
        now: datetime,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        _overpaid(entity, customer, now)
        output = tmp_path / "refunds.xml"

        assert run_failing(capsys, "cash", "refunds", "--payment", "NOPE", "--output", str(output)) == (
            "error: payment NOPE: no such payment"
        )
        call_command("cash", "refunds", "--payment", "BANKREF-1", "--output", str(output))

        assert sepa.xsd_errors(output.read_bytes(), scheme="pain.001.001.03") == []
        assert _texts(
            output.read_bytes(), "./p:CstmrCdtTrfInitn/p:PmtInf/p:CdtTrfTxInf/p:Amt/p:InstdAmt"
        ) == ["45.50"]
        assert capsys.readouterr().err.endswith(": 1 refund, 45.50 EUR\n")
        assert _verify() == []


def _collecting(entity: LegalEntity, now: datetime) -> None:
    """The entity's creditor identifier and its account's BIC, as an admin sets them."""
    LegalEntity.objects.filter(pk=entity.pk).update(sepa_creditor_id=CREDITOR_ID)
    entity.refresh_from_db()
    account = ledger_services.own_bank_account_register(
        entity=entity,
        iban=OWN_IBAN,
        account_number=None,
        currency="EUR",
        name="Commerzbank",
        now=now,
        actor=None,
        reason="test",
    )
    EntityBankAccount.objects.filter(pk=account.pk).update(bic=OWN_BIC)


def _mandate(customer: Customer, reference: str, iban: str, now: datetime) -> Mandate:
    return sepa.mandate_create(
        customer_id=customer.pk,
        reference=reference,
        iban=iban,
        bic="",
        signature_date=date(2025, 11, 3),
        actor=None,
        now=now,
    )


def _invoice(customer: Customer, issue_date: date, price: str = "100.00") -> Document:
    return issued_invoice(
        customer, issue_date=issue_date, lines=[LineIn("Wartung", Decimal(10), Decimal(price), Decimal(19))]
    )


class TestCollections:
    def test_a_collection_file_carries_frst_for_a_new_mandate_and_rcur_for_a_used_one(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        _collecting(entity, now)
        second = customer_services.customer_create(
            entity=entity, data=customer_in("C-2000", name="Schmidt Logistik AG"), actor=None, now=now
        )
        first_mandate = _mandate(customer, "MNDT-C1000-01", PAYER_IBAN, now)
        second_mandate = _mandate(second, "MNDT-C2000-01", SECOND_IBAN, now)
        earlier = _invoice(second, date(2026, 1, 5))  # due 4 February: collected first
        sepa.collection_file_create(
            entity=entity, due_until=date(2026, 2, 28), collection_date=None, actor=None, now=now
        )
        second_mandate.refresh_from_db()
        assert second_mandate.sequence_type == "RCUR"
        first_invoice = _invoice(customer, date(2026, 2, 2))  # 1,190.00 due 4 March
        second_invoice = _invoice(second, date(2026, 2, 10), price="50.00")  # 595.00 due 12 March
        _invoice(customer, date(2026, 3, 2))  # due 1 April: not yet
        entries = JournalEntry.objects.count()

        result = sepa.collection_file_create(
            entity=entity,
            due_until=date(2026, 3, 16),
            collection_date=date(2026, 3, 19),
            actor=None,
            now=now,
        )

        try_valid_xml(result.xml, "pain.008.001.02")
        assert sepa.xsd_errors(result.xml, scheme="pain.008.001.02") == []
        assert (result.transactions, result.total_minor) == (2, 178500)
        batches = {}
        root, namespace = _tree(result.xml)
        for batch in root.findall("./p:CstmrDrctDbtInitn/p:PmtInf", namespaces=namespace):
            sequence = batch.findtext("./p:PmtTpInf/p:SeqTp", namespaces=namespace)
            batches[sequence] = [
                (
                    tx.findtext("./p:PmtId/p:EndToEndId", namespaces=namespace),
                    tx.findtext("./p:InstdAmt", namespaces=namespace),
                    tx.findtext("./p:DrctDbtTx/p:MndtRltdInf/p:MndtId", namespaces=namespace),
                    tx.findtext("./p:DrctDbtTx/p:MndtRltdInf/p:DtOfSgntr", namespaces=namespace),
                    tx.findtext("./p:DbtrAcct/p:Id/p:IBAN", namespaces=namespace),
                    tx.findtext("./p:RmtInf/p:Ustrd", namespaces=namespace),
                )
                for tx in batch.findall("./p:DrctDbtTxInf", namespaces=namespace)
            ]
            assert batch.findtext("./p:ReqdColltnDt", namespaces=namespace) == "2026-03-19"
            assert batch.findtext("./p:PmtTpInf/p:LclInstrm/p:Cd", namespaces=namespace) == "CORE"
            assert batch.findtext("./p:CdtrAcct/p:Id/p:IBAN", namespaces=namespace) == OWN_IBAN
            assert batch.findtext("./p:CdtrAgt/p:FinInstnId/p:BIC", namespaces=namespace) == OWN_BIC
            assert (
                batch.findtext("./p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id", namespaces=namespace)
                == CREDITOR_ID
            )
        assert batches == {
            "FRST": [
                (
                    first_invoice.number,
                    "1190.00",
                    "MNDT-C1000-01",
                    "2025-11-03",
                    PAYER_IBAN,
                    first_invoice.number,
                )
            ],
            "RCUR": [
                (
                    second_invoice.number,
                    "595.00",
                    "MNDT-C2000-01",
                    "2025-11-03",
                    SECOND_IBAN,
                    second_invoice.number,
                )
            ],
        }
        first_mandate.refresh_from_db()
        second_mandate.refresh_from_db()
        assert (first_mandate.sequence_type, first_mandate.last_collection_date) == (
            "RCUR",
            date(2026, 3, 19),
        )
        assert (second_mandate.sequence_type, second_mandate.is_active) == ("RCUR", True)
        assert sorted(DirectDebit.objects.values_list("document__number", "sequence_type")) == sorted(
            [(earlier.number, "FRST"), (first_invoice.number, "FRST"), (second_invoice.number, "RCUR")]
        )
        assert JournalEntry.objects.count() == entries  # nothing posted: the cash comes in a statement
        assert AuditEvent.objects.filter(action="cash.collection_file.created").count() == 2
        assert _verify() == []

        with pytest.raises(sepa.UnableToCreateSepaFile) as again:
            sepa.collection_file_create(
                entity=entity, due_until=date(2026, 3, 16), collection_date=None, actor=None, now=now
            )
        assert again.value.code == "nothing_to_collect"  # an invoice is collected once

    def test_pain_008_001_08_validates_and_a_one_off_mandate_is_used_up(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        _collecting(entity, now)
        mandate = sepa.mandate_create(
            customer_id=customer.pk,
            reference="OOFF-1",
            iban=PAYER_IBAN,
            bic="COBADEFFXXX",
            signature_date=date(2026, 3, 1),
            sequence_type="OOFF",
            actor=None,
            now=now,
        )
        invoice = _invoice(customer, date(2026, 2, 2))
        _invoice(customer, date(2026, 2, 3))

        result = sepa.collection_file_create(
            entity=entity,
            due_until=date(2026, 3, 16),
            collection_date=None,
            actor=None,
            now=now,
            scheme="pain.008.001.08",
        )

        try_valid_xml(result.xml, "pain.008.001.08")
        pmt = "./p:CstmrDrctDbtInitn/p:PmtInf"
        assert _texts(result.xml, f"{pmt}/p:PmtTpInf/p:SeqTp") == ["OOFF"]
        assert _texts(result.xml, f"{pmt}/p:ReqdColltnDt") == ["2026-03-17"]  # the next weekday
        assert _texts(result.xml, f"{pmt}/p:DrctDbtTxInf/p:PmtId/p:EndToEndId") == [invoice.number]
        assert _texts(result.xml, f"{pmt}/p:DrctDbtTxInf/p:DbtrAgt/p:FinInstnId/p:BICFI") == ["COBADEFFXXX"]
        assert len(result.skipped) == 1
        mandate.refresh_from_db()
        assert (mandate.is_active, mandate.sequence_type) == (False, "OOFF")

    def test_without_a_creditor_identifier_nothing_is_collected(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        mandate = _mandate(customer, "MNDT-C1000-01", PAYER_IBAN, now)
        _invoice(customer, date(2026, 2, 2))

        with pytest.raises(sepa.UnableToCreateSepaFile) as refusal:
            sepa.collection_file_create(
                entity=entity, due_until=date(2026, 3, 16), collection_date=None, actor=None, now=now
            )

        assert refusal.value.code == "no_creditor_id"
        mandate.refresh_from_db()
        assert mandate.sequence_type == "FRST"
        assert DirectDebit.objects.count() == 0

    def test_a_mandate_reference_is_unique_per_creditor_and_its_iban_is_checked(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        _mandate(customer, "MNDT-1", PAYER_IBAN, now)

        with pytest.raises(sepa.UnableToSaveMandate) as duplicate:
            _mandate(customer, "MNDT-1", SECOND_IBAN, now)
        with pytest.raises(sepa.UnableToSaveMandate) as bad_iban:
            _mandate(customer, "MNDT-2", "DE00123", now)

        assert (duplicate.value.code, bad_iban.value.code) == ("duplicate_reference", "bad_iban")
        assert Mandate.objects.count() == 1

    def test_the_command_writes_the_collection_file(
        self,
        entity: LegalEntity,
        customer: Customer,
        now: datetime,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        _collecting(entity, now)
        _mandate(customer, "MNDT-C1000-01", PAYER_IBAN, now)
        invoice = _invoice(customer, date(2026, 2, 2))
        output = tmp_path / "collections.xml"

        assert run_failing(capsys, "cash", "collections", "--output", str(output)) == (
            "error: collections needs --due-until DATE"
        )
        call_command(
            "cash", "collections", "--due-until", "2026-03-16", "--output", str(output), "--format", "json"
        )

        summary = capsys.readouterr().out
        assert '"transactions": 1' in summary
        assert '"total": "1190.00"' in summary
        assert sepa.xsd_errors(output.read_bytes(), scheme="pain.008.001.02") == []
        assert _texts(
            output.read_bytes(), "./p:CstmrDrctDbtInitn/p:PmtInf/p:DrctDbtTxInf/p:PmtId/p:EndToEndId"
        ) == [invoice.number]
