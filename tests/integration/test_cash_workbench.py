"""The exceptions workbench: a person applies, accepts, puts on account and reverses payments; the
ledger, the open items and the payments' caches tie after every step, and the matcher learns."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User

from o2c.audit.models import AuditEvent
from o2c.cash import selectors as cash_selectors
from o2c.cash import services as cash_services
from o2c.cash import workbench
from o2c.cash.errors import UnableToApplyPayment, UnableToChangeMatchingPolicy
from o2c.cash.models import Application, MatchingPolicy, PayerAccount, PayerName, Payment
from o2c.cash.workbench import ApplyLine
from o2c.core import checks
from o2c.core.models import DomainEvent
from o2c.customers import services as customer_services
from o2c.customers.models import BankAccount, Customer
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import AccountType, FxRate, JournalEntry, JournalLine, LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Allocation, Document
from tests.camt_builder import Credit, statement_xml
from tests.conftest import customer_in, issued_invoice, make_user

pytestmark = pytest.mark.django_db

PAYER_IBAN = "DE44500105175407324931"
BOOKED = date(2026, 3, 20)


def _import(entity: LegalEntity, credits: list[Credit], now: datetime, name: str = "statement.xml") -> Any:
    return cash_services.bank_file_import(
        data=statement_xml(credits, statement_id=name, message_id=name),
        file_name=name,
        entity=entity,
        actor=None,
        now=now,
    )


def _verify() -> list[str]:
    """What `o2c ledger verify` runs: trial balance, receivables = open items, cash caches and tie-out."""
    return [problem for check in checks.all_checks() for problem in check.run()]


def _balances(entity: LegalEntity, account_type: AccountType) -> dict[tuple[int | None, str], int]:
    """Credit balance (credits - debits) per customer and currency; zero balances left out."""
    balances = ledger_selectors.credit_balances_by_customer(account_type=account_type, entity_ids=[entity.pk])
    return {(customer, currency): amount for (_, customer, currency), amount in balances.items()}


def _rows(entity: LegalEntity) -> list[tuple[str, ...]]:
    return [row.values() for row in cash_selectors.application_rows(entity_ids=[entity.pk])]


def _audits(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def _snapshot() -> tuple[Any, ...]:
    """Everything a refused action must leave as it was."""
    return (
        list(Payment.objects.order_by("pk").values_list("status", "unapplied_minor", "customer_id")),
        list(Application.objects.order_by("pk").values_list("state", "amount_minor")),
        Allocation.objects.count(),
        JournalEntry.objects.count(),
        list(Document.objects.order_by("pk").values_list("open_minor", flat=True)),
        AuditEvent.objects.count(),
        DomainEvent.objects.count(),
        PayerAccount.objects.count(),
    )


@pytest.fixture
def carla(entity: LegalEntity) -> User:
    return make_user("carla", "cash_application", entities=[entity])


@pytest.fixture
def invoice(customer: Customer) -> Document:
    return issued_invoice(customer)  # 1,190.00 EUR


def _unidentified(entity: LegalEntity, amount: str, now: datetime, reference: str = "R1") -> Payment:
    """A payment from an account and a name nobody knows, with no reference: the matcher leaves it."""
    _import(
        entity,
        [Credit(amount, reference, name="Zahlungsdienst Nord", iban=PAYER_IBAN, text="Sammelzahlung")],
        now,
        name=f"{reference}.xml",
    )
    payment = Payment.objects.get(entry_reference=reference)
    assert (payment.status, payment.customer_id) == ("unidentified", None)
    return payment


class TestApply:
    def test_a_payment_split_across_two_invoices_with_a_discount_and_a_write_off_posts_exactly(
        self, entity: LegalEntity, carla: User, now: datetime
    ) -> None:
        customer = customer_services.customer_create(
            entity=entity, data=customer_in("C-2000", payment_terms="2/10NET30"), actor=None, now=now
        )
        first = issued_invoice(customer, issue_date=date(2026, 3, 12))  # 1,190.00, 2 % until 2026-03-22
        second = issued_invoice(
            customer, lines=[LineIn("Parts", Decimal(5), Decimal("100.00"), Decimal("19"))]
        )  # 595.00
        payment = _unidentified(entity, "1750.00", now)
        assert _balances(entity, AccountType.UNAPPLIED_CASH) == {(None, "EUR"): 175000}

        workbench.payment_apply(
            payment_id=payment.pk,
            lines=[
                ApplyLine(first.pk, Decimal("1166.20"), discount=Decimal("23.80")),
                ApplyLine(second.pk, Decimal("583.80"), write_off=Decimal("11.20")),
            ],
            actor=carla,
            now=now,
        )

        payment.refresh_from_db()
        assert (payment.status, payment.unapplied_minor, payment.customer_id) == ("applied", 0, customer.pk)
        first.refresh_from_db()
        second.refresh_from_db()
        assert (first.open_minor, first.settlement) == (0, "paid")
        assert (second.open_minor, second.settlement) == (0, "paid")
        assert sorted(
            Allocation.objects.values_list(
                "document_id", "kind", "amount_minor", "posting_date", "payment_id"
            )
        ) == sorted(
            [
                (first.pk, "payment", 116620, BOOKED, payment.pk),
                (first.pk, "discount", 2380, BOOKED, None),
                (second.pk, "payment", 58380, BOOKED, payment.pk),
                (second.pk, "write_off", 1120, BOOKED, None),
            ]
        )
        # unapplied cash: received under nobody, moved to the customer, used up by the two invoices
        assert _balances(entity, AccountType.UNAPPLIED_CASH) == {}
        assert _balances(entity, AccountType.RECEIVABLE) == {}
        # the 23.80 discount on a 19 % invoice is 20.00 net; its 3.80 VAT corrects the output VAT (DE)
        assert _balances(entity, AccountType.DISCOUNT) == {(customer.pk, "EUR"): -2000}
        assert list(
            JournalLine.objects.filter(
                account__type=AccountType.TAX, memo="VAT on early-payment discount"
            ).values_list("document_id", "debit_minor", "credit_minor")
        ) == [(first.pk, 380, 0)]
        assert _balances(entity, AccountType.WRITE_OFF) == {(customer.pk, "EUR"): -1120}
        assert _balances(entity, AccountType.BANK) == {(None, "EUR"): -175000}
        applications = list(Application.objects.order_by("pk"))
        assert [
            (a.document_id, a.state, a.amount_minor, a.discount_minor, a.write_off_minor, a.is_automatic)
            for a in applications
        ] == [
            (first.pk, "applied", 116620, 2380, 0, False),
            (second.pk, "applied", 58380, 0, 1120, False),
        ]
        assert all(a.created_by_id == carla.pk and a.reasons == ["applied by carla"] for a in applications)
        assert [len(a.allocation_ids) for a in applications] == [2, 2]
        assert _rows(entity) == [
            ("R1", first.number, "1166.20", "23.80", "0.00", "0.00", "applied", "1.000"),
            ("R1", second.number, "583.80", "0.00", "0.00", "11.20", "applied", "1.000"),
        ]
        event = DomainEvent.objects.get(name=workbench.PAYMENT_APPLIED)
        assert event.payload == {
            "payment_id": payment.pk,
            "customer_id": customer.pk,
            "document_ids": [first.pk, second.pk],
        }
        (audit,) = _audits("cash.payment.applied")
        assert (audit.actor_id, audit.object_type, audit.object_id, audit.object_label) == (
            carla.pk,
            "payment",
            payment.pk,
            "payment R1",
        )
        assert audit.changes == {
            "status": ["unidentified", "applied"],
            "unapplied": ["1750.00 EUR", "0.00 EUR"],
            "applied_to": [
                None,
                f"{first.number} 1166.20 EUR + discount 23.80 EUR, "
                f"{second.number} 583.80 EUR + write-off 11.20 EUR",
            ],
            "customer": [None, "C-2000"],
        }
        assert _verify() == []

    def test_the_event_names_are_the_imports(self) -> None:
        assert (workbench.PAYMENT_APPLIED, workbench.DEDUCTION_TAKEN) == (
            cash_services.PAYMENT_APPLIED,
            cash_services.DEDUCTION_TAKEN,
        )

    def test_a_part_applied_leaves_the_rest_unapplied_under_the_customer(
        self, entity: LegalEntity, customer: Customer, invoice: Document, carla: User, now: datetime
    ) -> None:
        payment = _unidentified(entity, "2000.00", now)

        workbench.payment_apply(
            payment_id=payment.pk, lines=[ApplyLine(invoice.pk, Decimal("1190.00"))], actor=carla, now=now
        )

        payment.refresh_from_db()
        assert (payment.status, payment.unapplied_minor) == ("partially_applied", 81000)
        assert _balances(entity, AccountType.UNAPPLIED_CASH) == {(customer.pk, "EUR"): 81000}
        assert _verify() == []

    def test_a_deduction_is_left_open_on_the_invoice_and_tells_disputes(
        self, entity: LegalEntity, customer: Customer, invoice: Document, carla: User, now: datetime
    ) -> None:
        payment = _unidentified(entity, "1000.00", now)

        workbench.payment_apply(
            payment_id=payment.pk,
            lines=[ApplyLine(invoice.pk, Decimal("1000.00"), deduction=Decimal("190.00"))],
            actor=carla,
            now=now,
        )

        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.settlement) == (19000, "partially_paid")
        event = DomainEvent.objects.get(name=workbench.DEDUCTION_TAKEN)
        assert event.payload == {
            "payment_id": payment.pk,
            "document_id": invoice.pk,
            "amount_minor": 19000,
            "currency": "EUR",
            "reason": "Sammelzahlung",
        }
        assert _rows(entity) == [
            ("R1", invoice.number, "1000.00", "0.00", "190.00", "0.00", "applied", "1.000")
        ]
        assert _verify() == []

    def test_the_suggestions_a_person_did_not_take_are_rejected(
        self, entity: LegalEntity, customer: Customer, invoice: Document, carla: User, now: datetime
    ) -> None:
        twin = issued_invoice(customer)
        BankAccount.objects.create(customer=customer, iban=PAYER_IBAN)
        _import(entity, [Credit("1190.00", "R1", iban=PAYER_IBAN)], now)
        payment = Payment.objects.get()
        assert payment.status == "suggested"

        workbench.payment_apply(
            payment_id=payment.pk, lines=[ApplyLine(twin.pk, Decimal("1190.00"))], actor=carla, now=now
        )

        assert sorted(Application.objects.values_list("document_id", "state", "is_automatic")) == [
            (invoice.pk, "rejected", False),
            (twin.pk, "applied", False),
            (twin.pk, "rejected", False),
        ]
        assert _rows(entity) == [("R1", twin.number, "1190.00", "0.00", "0.00", "0.00", "applied", "1.000")]
        assert _verify() == []


class TestApplyRefusals:
    def test_more_than_the_payments_unapplied_amount_is_refused_and_nothing_changes(
        self, entity: LegalEntity, customer: Customer, invoice: Document, carla: User, now: datetime
    ) -> None:
        payment = _unidentified(entity, "100.00", now)
        before = _snapshot()

        with pytest.raises(UnableToApplyPayment) as refused:
            workbench.payment_apply(
                payment_id=payment.pk, lines=[ApplyLine(invoice.pk, Decimal("150.00"))], actor=carla, now=now
            )

        assert refused.value.code == "over_application"
        assert refused.value.message == "payment R1: 150.00 EUR is more than its unapplied 100.00 EUR"
        assert _snapshot() == before
        assert _balances(entity, AccountType.UNAPPLIED_CASH) == {(None, "EUR"): 10000}

    @pytest.mark.parametrize(
        ("line", "message"),
        [
            (
                {"amount": Decimal("1200.00")},
                "payment R1: 1200.00 EUR for {number} is more than its open amount 1190.00 EUR",
            ),
            (
                {"amount": Decimal("1180.00"), "discount": Decimal("10.00"), "write_off": Decimal("0.01")},
                "payment R1: 1190.01 EUR for {number} is more than its open amount 1190.00 EUR",
            ),
            (
                {"amount": Decimal("1000.00"), "deduction": Decimal("190.01")},
                "payment R1: the deduction of 190.01 EUR on {number} is more than the 190.00 EUR the payment "
                "leaves open on it",
            ),
        ],
    )
    def test_more_than_the_invoices_open_amount_is_refused(
        self,
        entity: LegalEntity,
        customer: Customer,
        invoice: Document,
        carla: User,
        now: datetime,
        line: dict[str, Decimal],
        message: str,
    ) -> None:
        payment = _unidentified(entity, "1500.00", now)
        before = _snapshot()

        with pytest.raises(UnableToApplyPayment) as refused:
            workbench.payment_apply(
                payment_id=payment.pk, lines=[ApplyLine(invoice.pk, **line)], actor=carla, now=now
            )

        assert (refused.value.code, refused.value.message) == (
            "over_application",
            message.format(number=invoice.number),
        )
        assert _snapshot() == before

    def test_an_invoice_paid_meanwhile_is_refused(
        self, entity: LegalEntity, customer: Customer, invoice: Document, carla: User, now: datetime
    ) -> None:
        first = _unidentified(entity, "1190.00", now, reference="R1")
        second = _unidentified(entity, "1190.00", now, reference="R2")
        workbench.payment_apply(
            payment_id=first.pk, lines=[ApplyLine(invoice.pk, Decimal("1190.00"))], actor=carla, now=now
        )
        before = _snapshot()

        with pytest.raises(
            UnableToApplyPayment, match=r"is settled already \(nothing is open on it\)"
        ) as refused:
            workbench.payment_apply(
                payment_id=second.pk, lines=[ApplyLine(invoice.pk, Decimal("1190.00"))], actor=carla, now=now
            )

        assert refused.value.code == "document_settled"
        assert _snapshot() == before

    def test_a_document_of_another_entity_is_refused(
        self, entity: LegalEntity, other_entity: LegalEntity, carla: User, now: datetime
    ) -> None:
        foreign = customer_services.customer_create(
            entity=other_entity,
            data=customer_in("C-9", name="Dupont SARL", country="FR"),
            actor=None,
            now=now,
        )
        foreign_invoice = issued_invoice(foreign)
        payment = _unidentified(entity, "1190.00", now)
        before = _snapshot()

        with pytest.raises(UnableToApplyPayment) as refused:
            workbench.payment_apply(
                payment_id=payment.pk,
                lines=[ApplyLine(foreign_invoice.pk, Decimal("1190.00"))],
                actor=carla,
                now=now,
            )

        assert (refused.value.code, refused.value.message) == (
            "unknown_document",
            f"payment R1: document {foreign_invoice.pk} is not an issued document of MAIN",
        )
        assert _snapshot() == before

    def test_a_document_in_a_currency_without_a_rate_is_refused(
        self, entity: LegalEntity, customer: Customer, carla: User, now: datetime
    ) -> None:
        ledger_services.fx_rates_import(
            rates=[ledger_services.FxRateIn(date(2026, 3, 1), "USD", "EUR", Decimal("0.92"))],
            source="test",
            now=now,
        )
        dollars = issued_invoice(customer, currency="USD")
        payment = _unidentified(entity, "1190.00", now)
        FxRate.objects.all().delete()  # rates carry forward: only a pair with none at all is refused
        before = _snapshot()

        with pytest.raises(UnableToApplyPayment) as refused:
            workbench.payment_apply(
                payment_id=payment.pk, lines=[ApplyLine(dollars.pk, Decimal("1190.00"))], actor=carla, now=now
            )

        assert (refused.value.code, refused.value.message) == (
            "currency_mismatch",
            f"payment R1 is in EUR, {dollars.number} in USD, and there is no rate between them on 2026-03-20",
        )
        assert _snapshot() == before

    def test_a_returned_payment_is_refused(
        self, entity: LegalEntity, customer: Customer, invoice: Document, carla: User, now: datetime
    ) -> None:
        payment = _unidentified(entity, "1190.00", now)
        # returns (R-transactions) are not built yet: the state they will leave
        Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.RETURNED)
        before = _snapshot()

        with pytest.raises(UnableToApplyPayment) as refused:
            workbench.payment_apply(
                payment_id=payment.pk, lines=[ApplyLine(invoice.pk, Decimal("1190.00"))], actor=carla, now=now
            )

        assert (refused.value.code, refused.value.message) == (
            "returned",
            "payment R1 was returned to the payer: there is no cash to apply",
        )
        assert _snapshot() == before

    @pytest.mark.parametrize(
        ("amount", "code", "message"),
        [
            (Decimal("-1.00"), "bad_amount", "document {pk}: amount: -1.00 is negative"),
            (
                Decimal("1.005"),
                "bad_amount",
                "document {pk}: amount: 1.005 has more decimals than EUR allows",
            ),
            (Decimal("0"), "bad_amount", "payment R1: the line for {number} applies nothing"),
        ],
    )
    def test_bad_amounts_are_refused(
        self,
        entity: LegalEntity,
        customer: Customer,
        invoice: Document,
        carla: User,
        now: datetime,
        amount: Decimal,
        code: str,
        message: str,
    ) -> None:
        payment = _unidentified(entity, "1190.00", now)

        with pytest.raises(UnableToApplyPayment) as refused:
            workbench.payment_apply(
                payment_id=payment.pk, lines=[ApplyLine(invoice.pk, amount)], actor=carla, now=now
            )

        assert (refused.value.code, refused.value.message) == (
            code,
            message.format(pk=invoice.pk, number=invoice.number),
        )


@pytest.fixture
def strict_policy(entity: LegalEntity, now: datetime) -> MatchingPolicy:
    """The matcher posts nothing below 0.999: a reference and the exact amount stay a suggestion."""
    return workbench.policy_change(
        entity=entity,
        auto_apply_confidence=Decimal("0.999"),
        write_off_tolerance=Decimal("5.00"),
        discount_grace_days=3,
        actor=None,
        now=now,
    )


class TestAccept:
    def test_accepting_a_suggestion_applies_it_as_suggested(
        self,
        entity: LegalEntity,
        customer: Customer,
        invoice: Document,
        carla: User,
        now: datetime,
        strict_policy: MatchingPolicy,
    ) -> None:
        _import(entity, [Credit("1190.00", "R1", text=f"Rechnung {invoice.number}")], now)
        payment = Payment.objects.get()
        assert (payment.status, payment.customer_id) == ("suggested", None)
        suggestion = Application.objects.get()
        matcher_reasons = list(suggestion.reasons)

        workbench.application_accept(payment_id=payment.pk, actor=carla, now=now)

        payment.refresh_from_db()
        assert (payment.status, payment.unapplied_minor, payment.customer_id) == ("applied", 0, customer.pk)
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.settlement) == (0, "paid")
        suggestion.refresh_from_db()
        assert (suggestion.state, suggestion.amount_minor, suggestion.is_automatic) == (
            "applied",
            119000,
            False,
        )
        assert suggestion.created_by_id == carla.pk
        assert suggestion.reasons == [*matcher_reasons, "accepted by carla"]
        assert Allocation.objects.get().pk == suggestion.allocation_ids[0]
        assert _balances(entity, AccountType.UNAPPLIED_CASH) == {}
        assert _rows(entity) == [
            ("R1", invoice.number, "1190.00", "0.00", "0.00", "0.00", "applied", "0.980")
        ]
        assert [a.reason for a in _audits("cash.payment.applied")] == ["accepted by carla"]
        assert _verify() == []

    def test_a_suggestion_whose_invoice_was_paid_meanwhile_is_refused(
        self,
        entity: LegalEntity,
        customer: Customer,
        invoice: Document,
        carla: User,
        now: datetime,
        strict_policy: MatchingPolicy,
    ) -> None:
        _import(entity, [Credit("1190.00", "R1", text=f"Rechnung {invoice.number}")], now)
        suggested = Payment.objects.get()
        other = _unidentified(entity, "1190.00", now, reference="R2")
        workbench.payment_apply(
            payment_id=other.pk, lines=[ApplyLine(invoice.pk, Decimal("1190.00"))], actor=carla, now=now
        )
        before = _snapshot()

        with pytest.raises(UnableToApplyPayment) as refused:
            workbench.application_accept(payment_id=suggested.pk, actor=carla, now=now)

        assert (refused.value.code, refused.value.message) == (
            "document_settled",
            f"{invoice.number} was settled meanwhile (nothing is open on it): the suggestion for payment R1 "
            "no longer fits; apply the payment by hand",
        )
        assert _snapshot() == before
        assert _verify() == []

    def test_a_suggestion_for_more_than_is_open_now_is_refused(
        self,
        entity: LegalEntity,
        customer: Customer,
        invoice: Document,
        carla: User,
        now: datetime,
        strict_policy: MatchingPolicy,
    ) -> None:
        _import(entity, [Credit("1190.00", "R1", text=f"Rechnung {invoice.number}")], now)
        suggested = Payment.objects.get()
        other = _unidentified(entity, "800.00", now, reference="R2")
        workbench.payment_apply(
            payment_id=other.pk, lines=[ApplyLine(invoice.pk, Decimal("800.00"))], actor=carla, now=now
        )

        with pytest.raises(UnableToApplyPayment) as refused:
            workbench.application_accept(payment_id=suggested.pk, actor=carla, now=now)

        assert (refused.value.code, refused.value.message) == (
            "over_application",
            f"payment R1: 1190.00 EUR for {invoice.number} is more than its open amount 390.00 EUR "
            "(the suggestion no longer fits: apply the payment by hand)",
        )
        assert Application.objects.get(payment=suggested).state == "suggested"

    def test_a_payment_without_suggestions_has_nothing_to_accept(
        self, entity: LegalEntity, carla: User, now: datetime
    ) -> None:
        payment = _unidentified(entity, "10.00", now)

        with pytest.raises(UnableToApplyPayment, match="has no suggested invoices to accept") as refused:
            workbench.application_accept(payment_id=payment.pk, actor=carla, now=now)

        assert refused.value.code == "no_suggestions"


class TestPutOnAccount:
    def test_an_unidentified_payment_goes_on_the_customers_account_and_its_cash_moves_to_him(
        self, entity: LegalEntity, customer: Customer, carla: User, now: datetime
    ) -> None:
        payment = _unidentified(entity, "77.70", now)
        assert _balances(entity, AccountType.UNAPPLIED_CASH) == {(None, "EUR"): 7770}

        workbench.payment_put_on_account(payment_id=payment.pk, customer_id=customer.pk, actor=carla, now=now)

        payment.refresh_from_db()
        assert (payment.status, payment.unapplied_minor, payment.customer_id) == (
            "on_account",
            7770,
            customer.pk,
        )
        assert _balances(entity, AccountType.UNAPPLIED_CASH) == {(customer.pk, "EUR"): 7770}
        reclass = JournalEntry.objects.get(idempotency_key=f"payment-customer:{payment.pk}:1")
        assert (reclass.posting_date, reclass.source_type, reclass.source_id) == (
            BOOKED,
            "payment",
            payment.pk,
        )
        assert sorted(
            reclass.lines.values_list("customer_id", "debit_minor", "credit_minor"), key=str
        ) == sorted([(None, 7770, 0), (customer.pk, 0, 7770)], key=str)
        assert _rows(entity) == [("R1", "", "77.70", "0.00", "0.00", "0.00", "applied", "0.000")]
        (audit,) = _audits("cash.payment.put_on_account")
        assert audit.changes == {
            "status": ["unidentified", "on_account"],
            "customer": [None, "C-1000"],
            "on_account": [None, "77.70 EUR"],
        }
        assert PayerAccount.objects.get().account_key == PAYER_IBAN
        assert _verify() == []

    def test_a_customer_of_another_entity_is_refused(
        self, entity: LegalEntity, other_entity: LegalEntity, carla: User, now: datetime
    ) -> None:
        foreign = customer_services.customer_create(
            entity=other_entity,
            data=customer_in("C-9", name="Dupont SARL", country="FR"),
            actor=None,
            now=now,
        )
        payment = _unidentified(entity, "77.70", now)
        before = _snapshot()

        with pytest.raises(UnableToApplyPayment) as refused:
            workbench.payment_put_on_account(
                payment_id=payment.pk, customer_id=foreign.pk, actor=carla, now=now
            )

        assert (refused.value.code, refused.value.message) == (
            "unknown_customer",
            f"payment R1: customer {foreign.pk} is not a customer of MAIN",
        )
        assert _snapshot() == before


class TestReverse:
    def test_a_misapplied_payment_is_reversed_and_reapplied_with_its_history_kept(
        self, entity: LegalEntity, customer: Customer, invoice: Document, carla: User, now: datetime
    ) -> None:
        right = issued_invoice(customer)
        _import(entity, [Credit("1190.00", "R1", text=f"Rechnung {invoice.number}")], now)
        payment = Payment.objects.get()
        applied = Application.objects.get()
        assert (payment.status, applied.is_automatic) == ("applied", True)
        later = datetime(2026, 3, 25, 8, 0, tzinfo=UTC)

        workbench.application_reverse(
            application_id=applied.pk, reason="the customer paid the other invoice", actor=carla, now=later
        )

        payment.refresh_from_db()
        assert (payment.status, payment.unapplied_minor, payment.customer_id) == (
            "suggested",
            119000,
            customer.pk,
        )
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.settlement) == (119000, "open")
        applied.refresh_from_db()
        assert (applied.state, applied.reversed_at) == ("reversed", later)
        assert _balances(entity, AccountType.UNAPPLIED_CASH) == {(customer.pk, "EUR"): 119000}
        assert _verify() == []

        workbench.payment_apply(
            payment_id=payment.pk, lines=[ApplyLine(right.pk, Decimal("1190.00"))], actor=carla, now=later
        )

        payment.refresh_from_db()
        assert (payment.status, payment.unapplied_minor) == ("applied", 0)
        invoice.refresh_from_db()
        right.refresh_from_db()
        assert (invoice.open_minor, right.open_minor) == (119000, 0)
        assert list(Application.objects.order_by("pk").values_list("document_id", "state")) == [
            (invoice.pk, "reversed"),
            (right.pk, "applied"),
        ]
        assert list(
            Allocation.objects.order_by("pk").values_list("document_id", "amount_minor", "posting_date")
        ) == [
            (invoice.pk, 119000, BOOKED),
            (invoice.pk, -119000, date(2026, 3, 25)),
            (right.pk, 119000, date(2026, 3, 25)),
        ]
        # unapplied cash never negative as of any date: reversal and re-application on the same day
        for as_of, expected in ((date(2026, 3, 20), 0), (date(2026, 3, 24), 0), (date(2026, 3, 25), 0)):
            balances = ledger_selectors.credit_balances_by_customer(
                account_type=AccountType.UNAPPLIED_CASH, entity_ids=[entity.pk], as_of=as_of
            )
            assert sum(balances.values()) == expected
        (audit,) = _audits("cash.application.reversed")
        assert (audit.actor_id, audit.reason) == (carla.pk, "the customer paid the other invoice")
        assert audit.changes == {
            "status": ["applied", "suggested"],
            "unapplied": ["0.00 EUR", "1190.00 EUR"],
            "applied_to": [f"{invoice.number} 1190.00 EUR", None],
        }
        assert _rows(entity) == [("R1", right.number, "1190.00", "0.00", "0.00", "0.00", "applied", "1.000")]
        assert _verify() == []

    def test_a_discount_and_write_off_are_reversed_with_the_cash(
        self, entity: LegalEntity, customer: Customer, invoice: Document, carla: User, now: datetime
    ) -> None:
        payment = _unidentified(entity, "1180.00", now)
        workbench.payment_apply(
            payment_id=payment.pk,
            lines=[ApplyLine(invoice.pk, Decimal("1180.00"), write_off=Decimal("10.00"))],
            actor=carla,
            now=now,
        )
        application = Application.objects.get()

        workbench.application_reverse(
            application_id=application.pk, reason="wrong customer", actor=carla, now=now
        )

        invoice.refresh_from_db()
        payment.refresh_from_db()
        assert invoice.open_minor == 119000
        assert (payment.status, payment.unapplied_minor) == ("suggested", 118000)
        assert _balances(entity, AccountType.WRITE_OFF) == {}
        assert _balances(entity, AccountType.UNAPPLIED_CASH) == {(customer.pk, "EUR"): 118000}
        assert _verify() == []

    def test_a_reversed_application_is_not_reversed_twice_and_a_reason_is_required(
        self, entity: LegalEntity, customer: Customer, invoice: Document, carla: User, now: datetime
    ) -> None:
        _import(entity, [Credit("1190.00", "R1", text=f"Rechnung {invoice.number}")], now)
        application = Application.objects.get()

        with pytest.raises(UnableToApplyPayment) as no_reason:
            workbench.application_reverse(application_id=application.pk, reason=" ", actor=carla, now=now)
        workbench.application_reverse(application_id=application.pk, reason="wrong", actor=carla, now=now)
        before = _snapshot()
        with pytest.raises(UnableToApplyPayment) as twice:
            workbench.application_reverse(application_id=application.pk, reason="again", actor=carla, now=now)

        assert no_reason.value.code == "reason_required"
        assert (twice.value.code, twice.value.message) == (
            "not_applied",
            f"payment R1: the application to {invoice.number} is reversed, not applied: only an applied one "
            "is reversed",
        )
        assert _snapshot() == before


class TestLearning:
    def test_after_a_person_applies_a_payment_from_an_iban_the_next_one_from_it_is_applied_automatically(
        self, entity: LegalEntity, customer: Customer, invoice: Document, carla: User, now: datetime
    ) -> None:
        parts = issued_invoice(
            customer, lines=[LineIn("Parts", Decimal(5), Decimal("100.00"), Decimal("19"))]
        )
        payment = _unidentified(entity, "1190.00", now)
        workbench.payment_apply(
            payment_id=payment.pk, lines=[ApplyLine(invoice.pk, Decimal("1190.00"))], actor=carla, now=now
        )
        learned = PayerAccount.objects.get()
        assert (learned.account_key, learned.customer_id, learned.confirmations) == (
            PAYER_IBAN,
            customer.pk,
            1,
        )
        assert list(PayerName.objects.values_list("name_key", "customer_id")) == [
            ("ZAHLUNGSDIENST NORD", customer.pk)
        ]

        result = _import(
            entity, [Credit("595.00", "R2", iban=PAYER_IBAN, day=date(2026, 3, 23))], now, name="next.xml"
        )

        assert (result.applied, result.suggested, result.unidentified) == (1, 0, 0)
        second = Payment.objects.get(entry_reference="R2")
        assert (second.status, second.customer_id, second.unapplied_minor) == ("applied", customer.pk, 0)
        assert second.reasons[:2] == [
            f"bank account {PAYER_IBAN} known for customer C-1000",
            f"amount equals the open amount of {parts.number}, no reference given",
        ]
        parts.refresh_from_db()
        assert parts.open_minor == 0
        assert _verify() == []

    def test_each_confirmation_counts(
        self, entity: LegalEntity, customer: Customer, carla: User, now: datetime
    ) -> None:
        _import(
            entity,
            [
                Credit("10.00", reference, name="Zahlungsdienst Nord", iban=PAYER_IBAN, text="Sammelzahlung")
                for reference in ("R1", "R2")
            ],
            now,
        )

        for payment in Payment.objects.order_by("pk"):
            workbench.payment_put_on_account(
                payment_id=payment.pk, customer_id=customer.pk, actor=carla, now=now
            )

        assert list(PayerAccount.objects.values_list("account_key", "customer_id", "confirmations")) == [
            (PAYER_IBAN, customer.pk, 2)
        ]
        assert PayerName.objects.count() == 1
        assert _verify() == []


class TestPolicy:
    def test_a_policy_change_is_stored_and_audited_with_before_and_after(
        self, entity: LegalEntity, carla: User, now: datetime
    ) -> None:
        policy = workbench.policy_change(
            entity=entity,
            auto_apply_confidence=Decimal("0.950"),
            write_off_tolerance=Decimal("2.50"),
            discount_grace_days=5,
            actor=carla,
            now=now,
        )

        assert (
            policy.auto_apply_confidence,
            policy.write_off_tolerance_minor,
            policy.currency,
            policy.discount_grace_days,
        ) == (Decimal("0.950"), 250, "EUR", 5)
        assert cash_services.policy_for(entity).auto_apply == Decimal("0.950")
        (audit,) = _audits("cash.policy.changed")
        assert audit.changes == {
            "auto_apply_confidence": ["0.900", "0.950"],
            "write_off_tolerance": ["5.00 EUR", "2.50 EUR"],
            "discount_grace_days": [3, 5],
        }

    def test_the_same_values_again_change_nothing(
        self, entity: LegalEntity, carla: User, now: datetime
    ) -> None:
        values = {
            "auto_apply_confidence": Decimal("0.950"),
            "write_off_tolerance": Decimal("2.50"),
            "discount_grace_days": 5,
        }
        workbench.policy_change(entity=entity, actor=carla, now=now, **values)
        workbench.policy_change(entity=entity, actor=carla, now=now, **values)

        assert len(_audits("cash.policy.changed")) == 1

    @pytest.mark.parametrize(
        ("values", "code"),
        [
            ({"auto_apply_confidence": Decimal("1.200")}, "bad_confidence"),
            ({"auto_apply_confidence": Decimal("0.9505")}, "bad_confidence"),
            ({"write_off_tolerance": Decimal("-1")}, "bad_tolerance"),
            ({"write_off_tolerance": Decimal("0.005")}, "bad_tolerance"),
            ({"discount_grace_days": -1}, "bad_grace_days"),
        ],
    )
    def test_values_out_of_range_are_refused(
        self, entity: LegalEntity, carla: User, now: datetime, values: dict[str, Any], code: str
    ) -> None:
        arguments: dict[str, Any] = {
            "auto_apply_confidence": Decimal("0.900"),
            "write_off_tolerance": Decimal("5.00"),
            "discount_grace_days": 3,
            **values,
        }
        with pytest.raises(UnableToChangeMatchingPolicy) as refused:
            workbench.policy_change(entity=entity, actor=carla, now=now, **arguments)

        assert refused.value.code == code
        assert MatchingPolicy.objects.count() == 0
        assert _audits("cash.policy.changed") == []


def test_credit_memos_are_not_settled_with_cash(
    entity: LegalEntity, customer: Customer, invoice: Document, carla: User, now: datetime
) -> None:
    credit_memo = receivable_services.credit_memo_for_amount(
        invoice_id=invoice.pk,
        net_amount=Decimal("100.00"),
        reason_code="pricing_error",
        reason="price agreed",
        actor=None,
        now=now,
        issue_date=date(2026, 3, 10),
    )
    payment = _unidentified(entity, "10.00", now)

    with pytest.raises(UnableToApplyPayment) as refused:
        workbench.payment_apply(
            payment_id=payment.pk, lines=[ApplyLine(credit_memo.pk, Decimal("10.00"))], actor=carla, now=now
        )

    assert refused.value.code == "not_receivable"
