"""Foreign-currency cash: receivables are relieved at the rates they were booked at and cash at the rate
it was received at, so a settled invoice leaves nothing in the receivable in either currency and the
difference is the realised FX gain or loss on the FX account."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from o2c.cash import services as cash_services
from o2c.cash import workbench
from o2c.cash.errors import UnableToApplyPayment
from o2c.cash.models import CurrencyConversion, Payment
from o2c.cash.workbench import ApplyLine
from o2c.core import checks
from o2c.customers.models import Customer
from o2c.ledger import services as ledger_services
from o2c.ledger.models import Account, AccountType, JournalLine, LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Allocation, Document
from tests.camt_builder import Credit, statement_xml
from tests.conftest import issued_invoice, make_user

pytestmark = pytest.mark.django_db


def _rates(now: datetime, *rates: tuple[date, str]) -> None:
    ledger_services.fx_rates_import(
        rates=[ledger_services.FxRateIn(day, "USD", "EUR", Decimal(rate)) for day, rate in rates],
        source="test",
        now=now,
    )


def _import_usd(entity: LegalEntity, credits: list[Credit], now: datetime, name: str) -> Any:
    """A statement of the company's dollar account."""
    data = statement_xml(credits, statement_id=name, message_id=name)
    data = data.replace(b'Ccy="EUR"', b'Ccy="USD"').replace(b"<Ccy>EUR</Ccy>", b"<Ccy>USD</Ccy>")
    return cash_services.bank_file_import(data=data, file_name=name, entity=entity, actor=None, now=now)


def _functional(document: Document, account_type: AccountType) -> tuple[int, int]:
    """The document's balance on the account type: (transaction, functional), debit positive."""
    lines = JournalLine.objects.filter(document_id=document.pk, account__type=account_type)
    net = sum(line.debit_minor - line.credit_minor for line in lines)
    functional = sum(line.functional_debit_minor - line.functional_credit_minor for line in lines)
    return net, functional


def _fx_lines(allocation: Allocation) -> list[tuple[int, int, str]]:
    """(functional debit, functional credit, memo) of the FX lines of the allocation's entry."""
    return list(
        JournalLine.objects.filter(
            entry__source_type="allocation", entry__source_id=allocation.pk, account__type=AccountType.FX
        ).values_list("functional_debit_minor", "functional_credit_minor", "memo")
    )


def _verify() -> list[str]:
    return [problem for check in checks.all_checks() for problem in check.run()]


@pytest.fixture
def dollar_invoice(customer: Customer, now: datetime) -> Document:
    """1,190.00 USD issued on 2 March at 0.90: 1,071.00 EUR in the books."""
    _rates(now, (date(2026, 3, 1), "0.90"), (date(2026, 3, 20), "0.95"), (date(2026, 3, 25), "0.85"))
    return issued_invoice(customer, currency="USD")


class TestRealisedFx:
    def test_the_invoice_booked_at_090_paid_at_095_posts_a_gain_of_59_50_eur(
        self, entity: LegalEntity, dollar_invoice: Document, now: datetime
    ) -> None:
        assert _functional(dollar_invoice, AccountType.RECEIVABLE) == (119000, 107100)

        _import_usd(entity, [Credit("1190.00", "U1", currency="USD", text=dollar_invoice.number)], now, "u1")

        dollar_invoice.refresh_from_db()
        assert dollar_invoice.open_minor == 0
        allocation = Allocation.objects.get(document=dollar_invoice, kind="payment")
        # cash 1,190.00 USD at 0.95 = 1,130.50 EUR against a receivable of 1,071.00 EUR
        assert _fx_lines(allocation) == [(0, 5950, "Realised FX difference")]
        assert _functional(dollar_invoice, AccountType.RECEIVABLE) == (0, 0)
        assert _verify() == []

    def test_an_invoice_paid_in_two_parts_is_relieved_in_its_share_then_in_full(
        self, entity: LegalEntity, customer: Customer, dollar_invoice: Document, now: datetime
    ) -> None:
        carla = make_user("carla", "cash_application", entities=[entity])
        _import_usd(entity, [Credit("500.00", "U1", currency="USD", text=dollar_invoice.number)], now, "u1")
        first = Allocation.objects.get(document=dollar_invoice, kind="payment")
        # 500/1,190 of 1,071.00 = 450.00 EUR relieved; the cash is worth 475.00 EUR at 0.95
        assert _fx_lines(first) == [(0, 2500, "Realised FX difference")]
        assert _functional(dollar_invoice, AccountType.RECEIVABLE) == (69000, 62100)

        # the rest arrives on 25 March (0.85) with no reference; a person applies it on 26 March
        _import_usd(
            entity,
            [Credit("690.00", "U2", currency="USD", name="Unbekannt", day=date(2026, 3, 25))],
            now,
            "u2",
        )
        payment = Payment.objects.get(entry_reference="U2")
        workbench.payment_apply(
            payment_id=payment.pk,
            lines=[ApplyLine(dollar_invoice.pk, Decimal("690.00"))],
            actor=carla,
            now=datetime(2026, 3, 26, 9, tzinfo=UTC),
        )

        second = Allocation.objects.get(document=dollar_invoice, kind="payment", payment_id=payment.pk)
        # the cash keeps its receipt rate 0.85 (586.50 EUR); the rest of the receivable is 621.00 EUR: a loss
        assert _fx_lines(second) == [(3450, 0, "Realised FX difference")]
        assert _functional(dollar_invoice, AccountType.RECEIVABLE) == (0, 0)
        assert _verify() == []

    def test_a_reversed_application_puts_back_exactly_what_it_took(
        self, entity: LegalEntity, dollar_invoice: Document, now: datetime
    ) -> None:
        carla = make_user("carla", "cash_application", entities=[entity])
        _import_usd(entity, [Credit("1190.00", "U1", currency="USD", text=dollar_invoice.number)], now, "u1")
        payment = Payment.objects.get(entry_reference="U1")

        workbench.application_reverse(
            application_id=payment.applications.get().pk,
            actor=carla,
            now=datetime(2026, 3, 26, 9, tzinfo=UTC),
            reason="wrong customer",
        )

        assert _functional(dollar_invoice, AccountType.RECEIVABLE) == (119000, 107100)
        fx = Account.objects.get(entity=entity, code="7900")
        lines = JournalLine.objects.filter(account=fx)
        assert sum(line.functional_credit_minor - line.functional_debit_minor for line in lines) == 0
        assert _verify() == []

    def test_a_credit_memo_settles_its_invoice_at_the_rates_both_were_booked_at(
        self, entity: LegalEntity, customer: Customer, dollar_invoice: Document, now: datetime
    ) -> None:
        later = issued_invoice(
            customer,
            currency="USD",
            issue_date=date(2026, 3, 20),
            lines=[LineIn("Consulting", Decimal("1"), Decimal("100.00"), Decimal("19"))],
        )
        credit = receivable_services.credit_memo_for_amount(
            invoice_id=later.pk,
            net_amount=Decimal("100.00"),
            issue_date=date(2026, 3, 25),
            reason_code="pricing_error",
            reason="price agreed",
            actor=None,
            now=now,
        )

        later.refresh_from_db()
        assert later.open_minor == 0
        # the invoice was booked at 0.95 (113.05 EUR), the credit memo at 0.85 (101.15 EUR)
        assert _functional(later, AccountType.RECEIVABLE) == (0, 0)
        assert _functional(credit, AccountType.RECEIVABLE) == (0, 0)
        allocation = Allocation.objects.get(document=later, kind="credit_memo")
        # 113.05 EUR of receivable cleared by a credit worth 101.15 EUR: an 11.90 EUR loss
        assert _fx_lines(allocation) == [(1190, 0, "Realised FX difference")]
        assert _verify() == []


def _conversion_balance(entity: LegalEntity) -> dict[str, tuple[int, int]]:
    """The currency conversion account per currency: (transaction, functional), debit positive."""
    balances: dict[str, tuple[int, int]] = {}
    for line in JournalLine.objects.filter(account__entity=entity, account__code="1610"):
        net, functional = balances.get(line.currency, (0, 0))
        balances[line.currency] = (
            net + line.debit_minor - line.credit_minor,
            functional + line.functional_debit_minor - line.functional_credit_minor,
        )
    return balances


def _import_eur(entity: LegalEntity, credits: list[Credit], now: datetime, name: str) -> Any:
    data = statement_xml(credits, statement_id=name, message_id=name, opening="5000.00")
    return cash_services.bank_file_import(data=data, file_name=name, entity=entity, actor=None, now=now)


class TestPaidInAnotherCurrency:
    def test_euros_paying_a_dollar_invoice_are_converted_at_the_days_rate_and_settle_it(
        self, entity: LegalEntity, dollar_invoice: Document, now: datetime
    ) -> None:
        _import_eur(entity, [Credit("1130.50", "E1", text=f"Invoice {dollar_invoice.number}")], now, "e1")

        dollar_invoice.refresh_from_db()
        payment = Payment.objects.get(entry_reference="E1")
        assert (dollar_invoice.open_minor, payment.status, payment.unapplied_minor) == (0, "applied", 0)
        # 1,130.50 EUR at 1/0.95 = 1,190.00 USD
        conversion = CurrencyConversion.objects.get()
        assert (
            conversion.from_minor,
            conversion.from_currency,
            conversion.to_minor,
            conversion.to_currency,
        ) == (
            113050,
            "EUR",
            119000,
            "USD",
        )
        assert conversion.rate == Decimal("1.0526315789")
        assert any("converted at 1.0526315789" in reason for reason in payment.reasons)
        # the conversion account nets to zero in euros; the receivable booked at 0.90 gives a 59.50 gain
        assert _conversion_balance(entity) == {"EUR": (-113050, -113050), "USD": (119000, 113050)}
        allocation = Allocation.objects.get(document=dollar_invoice, kind="payment")
        assert _fx_lines(allocation) == [(0, 5950, "Realised FX difference")]
        assert _functional(dollar_invoice, AccountType.RECEIVABLE) == (0, 0)
        assert _verify() == []

    def test_a_payers_bank_rate_within_one_percent_settles_in_full_with_the_difference_as_fx(
        self, entity: LegalEntity, dollar_invoice: Document, now: datetime
    ) -> None:
        _import_eur(entity, [Credit("1128.00", "E1", text=dollar_invoice.number)], now, "e1")

        dollar_invoice.refresh_from_db()
        payment = Payment.objects.get(entry_reference="E1")
        assert (dollar_invoice.open_minor, payment.status, payment.unapplied_minor) == (0, "applied", 0)
        assert any("2.63 USD off the open amount" in reason for reason in payment.reasons), payment.reasons
        conversion = CurrencyConversion.objects.get()
        assert (conversion.from_minor, conversion.to_minor) == (112800, 119000)
        # 1,190.00 USD out of the conversion account at 0.95 is 1,130.50 EUR for 1,128.00 EUR paid: 2.50 loss
        conversion_lines = JournalLine.objects.filter(
            entry__idempotency_key=f"conversion:{conversion.allocation_id}:to", account__type=AccountType.FX
        ).values_list("functional_debit_minor", "functional_credit_minor")
        assert list(conversion_lines) == [(250, 0)]
        assert _conversion_balance(entity) == {"EUR": (-112800, -112800), "USD": (119000, 112800)}
        fx_total = sum(
            line.functional_credit_minor - line.functional_debit_minor
            for line in JournalLine.objects.filter(account__type=AccountType.FX)
        )
        assert fx_total == 5700  # 1,128.00 EUR received for a receivable of 1,071.00 EUR
        assert _verify() == []

    def test_less_than_the_tolerance_allows_is_a_partial_payment_in_the_invoices_currency(
        self, entity: LegalEntity, dollar_invoice: Document, now: datetime
    ) -> None:
        _import_eur(entity, [Credit("500.00", "E1", text=dollar_invoice.number)], now, "e1")

        dollar_invoice.refresh_from_db()
        payment = Payment.objects.get(entry_reference="E1")
        # 500.00 EUR = 526.32 USD; 663.68 USD stays open
        assert dollar_invoice.open_minor == 66368
        assert (payment.status, payment.unapplied_minor) == ("applied", 0)
        conversion = CurrencyConversion.objects.get()
        assert (conversion.from_minor, conversion.to_minor) == (50000, 52632)
        assert _verify() == []

    def test_reversing_the_application_gives_the_cash_back_in_euros(
        self, entity: LegalEntity, dollar_invoice: Document, now: datetime
    ) -> None:
        carla = make_user("carla", "cash_application", entities=[entity])
        _import_eur(entity, [Credit("1130.50", "E1", text=dollar_invoice.number)], now, "e1")
        payment = Payment.objects.get(entry_reference="E1")

        workbench.application_reverse(
            application_id=payment.applications.get().pk,
            actor=carla,
            now=datetime(2026, 3, 26, 9, tzinfo=UTC),
            reason="paid for another invoice",
        )

        payment.refresh_from_db()
        dollar_invoice.refresh_from_db()
        assert (payment.unapplied_minor, payment.currency, dollar_invoice.open_minor) == (
            113050,
            "EUR",
            119000,
        )
        assert CurrencyConversion.objects.get().reversed_at is not None
        assert _conversion_balance(entity) == {"EUR": (0, 0), "USD": (0, 0)}
        assert _functional(dollar_invoice, AccountType.RECEIVABLE) == (119000, 107100)
        assert _verify() == []

    def test_euros_naming_a_dollar_invoice_paid_already_stay_on_account_in_euros(
        self, entity: LegalEntity, dollar_invoice: Document, now: datetime
    ) -> None:
        _import_usd(entity, [Credit("1190.00", "U1", currency="USD", text=dollar_invoice.number)], now, "u1")
        _import_eur(entity, [Credit("1130.50", "E1", text=dollar_invoice.number)], now, "e1")

        payment = Payment.objects.get(entry_reference="E1")
        assert (payment.status, payment.unapplied_minor, payment.currency) == ("on_account", 113050, "EUR")
        assert not CurrencyConversion.objects.exists()
        assert _verify() == []

    def test_a_returned_payment_takes_its_conversion_back_with_it(
        self, entity: LegalEntity, dollar_invoice: Document, now: datetime
    ) -> None:
        iban = "DE44500105175407324931"
        _import_eur(entity, [Credit("1130.50", "E1", iban=iban, text=dollar_invoice.number)], now, "e1")
        _import_eur(
            entity,
            [Credit("1130.50", "E2", iban=iban, debit=True, return_reason="AC04", day=date(2026, 3, 25))],
            now,
            "e2",
        )

        payment = Payment.objects.get(entry_reference="E1")
        dollar_invoice.refresh_from_db()
        assert (payment.status, payment.unapplied_minor, dollar_invoice.open_minor) == ("returned", 0, 119000)
        assert CurrencyConversion.objects.get().reversed_at is not None
        assert _conversion_balance(entity) == {"EUR": (0, 0), "USD": (0, 0)}
        assert _verify() == []


class TestAppliedByAPersonInAnotherCurrency:
    def test_a_person_applies_euros_to_a_dollar_invoice_at_the_days_rate(
        self, entity: LegalEntity, dollar_invoice: Document, now: datetime
    ) -> None:
        carla = make_user("carla", "cash_application", entities=[entity])
        _import_eur(entity, [Credit("2000.00", "E1", name="Unbekannt", text="Sammelzahlung")], now, "e1")
        payment = Payment.objects.get(entry_reference="E1")
        assert payment.status == "unidentified"

        workbench.payment_apply(
            payment_id=payment.pk,
            lines=[ApplyLine(dollar_invoice.pk, Decimal("1190.00"))],
            actor=carla,
            now=datetime(2026, 3, 20, 9, tzinfo=UTC),
        )

        payment.refresh_from_db()
        dollar_invoice.refresh_from_db()
        # 1,190.00 USD at 1/0.95 takes 1,130.50 EUR of the 2,000.00; 869.50 EUR stay unapplied
        assert (dollar_invoice.open_minor, payment.unapplied_minor, payment.status) == (
            0,
            86950,
            "partially_applied",
        )
        conversion = CurrencyConversion.objects.get()
        assert (conversion.from_minor, conversion.to_minor) == (113050, 119000)
        assert _conversion_balance(entity) == {"EUR": (-113050, -113050), "USD": (119000, 113050)}
        assert _verify() == []

        workbench.application_reverse(
            application_id=payment.applications.get(state="applied").pk,
            actor=carla,
            now=datetime(2026, 3, 21, 9, tzinfo=UTC),
            reason="wrong invoice",
        )
        payment.refresh_from_db()
        assert payment.unapplied_minor == 200000
        assert _conversion_balance(entity) == {"EUR": (0, 0), "USD": (0, 0)}
        assert _verify() == []

    def test_more_than_the_payment_has_once_converted_is_refused(
        self, entity: LegalEntity, dollar_invoice: Document, now: datetime
    ) -> None:
        carla = make_user("carla", "cash_application", entities=[entity])
        _import_eur(entity, [Credit("1000.00", "E1", name="Unbekannt", text="Sammelzahlung")], now, "e1")
        payment = Payment.objects.get(entry_reference="E1")

        with pytest.raises(UnableToApplyPayment) as refused:
            workbench.payment_apply(
                payment_id=payment.pk,
                lines=[ApplyLine(dollar_invoice.pk, Decimal("1190.00"))],
                actor=carla,
                now=datetime(2026, 3, 20, 9, tzinfo=UTC),
            )

        assert refused.value.code == "over_application"
        assert "1130.50 EUR is more than its unapplied 1000.00 EUR" in refused.value.message
        assert not CurrencyConversion.objects.exists()
