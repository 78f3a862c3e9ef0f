"""Month-end FX revaluation: open foreign-currency items valued at the month-end rate against what the
ledger carries for them at their booking rates; the difference posted as unrealised FX on the month's
last day and reversed on the next month's first day, in the functional currency only."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from o2c.audit.models import AuditEvent
from o2c.cash import services as cash_services
from o2c.close import revaluation, services
from o2c.close.errors import UnableToRevalue
from o2c.core import checks
from o2c.customers.models import Customer
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import FxRate, JournalEntry, JournalLine, LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from o2c.reporting import rollforward
from tests.camt_builder import Credit, statement_xml
from tests.conftest import NOW, issued_invoice

pytestmark = pytest.mark.django_db

MARCH = date(2026, 3, 1)
MARCH_31 = date(2026, 3, 31)
APRIL_1 = date(2026, 4, 1)


def _rates(*rates: tuple[date, str, str]) -> None:
    ledger_services.fx_rates_import(
        rates=[
            ledger_services.FxRateIn(day, currency, "EUR", Decimal(rate)) for day, currency, rate in rates
        ],
        source="test",
        now=NOW,
    )


@pytest.fixture(autouse=True)
def rates(db: None) -> None:
    """USD 0.90 from 1 March, 0.93 from the 15th, 0.95 at the month's end; GBP 1.15, at the end 1.20."""
    _rates(
        (date(2026, 3, 1), "USD", "0.90"),
        (date(2026, 3, 15), "USD", "0.93"),
        (MARCH_31, "USD", "0.95"),
        (date(2026, 3, 1), "GBP", "1.15"),
        (MARCH_31, "GBP", "1.20"),
    )


def _credit_memo(customer: Customer, amount: str, currency: str, day: date) -> Document:
    """A credit memo on account (it corrects no invoice), so it stays open as a negative item."""
    draft = receivable_services.document_create(
        customer=customer,
        document_type="credit_memo",
        issue_date=day,
        lines=[LineIn("Goodwill", Decimal(1), Decimal(amount), Decimal(0))],
        actor=None,
        now=NOW,
        currency=currency,
    )
    return receivable_services.document_issue(document_id=draft.pk, actor=None, now=NOW)


def _paid(entity: LegalEntity, invoice: Document, amount: str) -> None:
    """A dollar statement of 20 March paying `amount` on the invoice (matched by its number)."""
    credit = Credit(amount, f"U-{invoice.number}", currency=invoice.currency, text=invoice.number)
    data = statement_xml([credit], statement_id=invoice.number, message_id=invoice.number)
    data = data.replace(b'Ccy="EUR"', b'Ccy="USD"').replace(b"<Ccy>EUR</Ccy>", b"<Ccy>USD</Ccy>")
    cash_services.bank_file_import(data=data, file_name=invoice.number, entity=entity, actor=None, now=NOW)
    invoice.refresh_from_db()
    assert invoice.open_minor == 119000 - int(Decimal(amount) * 100)


def _balance(entity: LegalEntity, code: str, as_of: date) -> tuple[int, int]:
    """An account's (transaction, functional) balance in minor units as of a day, debit positive."""
    rows = [
        row
        for row in ledger_selectors.trial_balance(entity_ids=[entity.pk], as_of=as_of)
        if row.account_code == code
    ]
    return (
        sum(row.debit_minor - row.credit_minor for row in rows),
        sum(row.functional_debit_minor - row.functional_credit_minor for row in rows),
    )


def _verify() -> list[str]:
    return [problem for check in checks.all_checks() for problem in check.run()]


def _revaluation_entries() -> int:
    return JournalEntry.objects.filter(source_type=revaluation.SOURCE_TYPE).count()


class TestRevalue:
    def test_an_open_usd_invoice_booked_at_090_valued_at_095_is_an_unrealised_gain_of_59_50(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        invoice = issued_invoice(customer, currency="USD")  # 2 March: 1,190.00 USD at 0.90 = 1,071.00 EUR

        result = revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW)

        [row] = result.rows
        # 1,190.00 x 0.95 = 1,130.50 EUR; 1,130.50 - 1,071.00 = 59.50 EUR gain
        assert (row.currency, row.rate, row.open_minor) == ("USD", Decimal("0.95"), 119000)
        assert (row.carrying_minor, row.revalued_minor, row.difference_minor) == (107100, 113050, 5950)
        [document] = row.documents
        assert (document.document_id, document.number, document.difference_minor) == (
            invoice.pk,
            invoice.number,
            5950,
        )
        assert (result.posted, result.rate_date, result.month) == (True, MARCH_31, "2026-03")
        entry = JournalEntry.objects.get(pk=row.entry_id)
        assert entry.posting_date == MARCH_31
        lines = sorted(
            (line.account.code, line.debit_minor, line.credit_minor, line.functional_debit_minor,
             line.functional_credit_minor, line.document_id)
            for line in entry.lines.select_related("account")
        )  # fmt: skip
        assert lines == [
            ("1209", 0, 119000, 0, 107100, invoice.pk),  # out at the booking rate
            ("1209", 119000, 0, 113050, 0, invoice.pk),  # in at the month-end rate
            ("7910", 0, 0, 0, 5950, None),  # the unrealised gain, functional only
        ]
        # on the month's last day the receivables are worth 1,130.50 EUR: 1200 at 1,071.00 + 1209 at 59.50
        assert _balance(entity, "1200", MARCH_31) == (119000, 107100)
        assert _balance(entity, "1209", MARCH_31) == (0, 5950)
        assert _balance(entity, "7910", MARCH_31) == (0, -5950)
        assert _verify() == []

    def test_the_reversal_on_the_next_months_first_day_nets_everything_to_zero(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        issued_invoice(customer, currency="USD")

        [row] = revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW).rows

        reversal = JournalEntry.objects.get(pk=row.reversal_id)
        assert (reversal.posting_date, reversal.reverses_id, row.reversal_date) == (
            APRIL_1,
            row.entry_id,
            APRIL_1,
        )
        assert _balance(entity, "1209", APRIL_1) == (0, 0)
        assert _balance(entity, "7910", APRIL_1) == (0, 0)
        assert _balance(entity, "1200", APRIL_1) == (119000, 107100)  # back at the booking rate
        assert _verify() == []

    def test_a_partly_paid_invoice_revalues_only_its_open_part_at_the_booking_rate(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        invoice = issued_invoice(customer, currency="USD")  # 1,190.00 USD at 0.90 = 1,071.00 EUR
        _paid(entity, invoice, "500.00")  # on 20 March, when the rate is 0.93

        [row] = revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW).rows

        # the payment relieved 1,071.00 x 500/1,190 = 450.00 EUR (its 465.00 at 0.93 realised 15.00)
        # open 690.00 USD carried at 1,071.00 - 450.00 = 621.00 EUR; at 0.95 690.00 = 655.50 EUR; +34.50
        assert (row.open_minor, row.carrying_minor, row.revalued_minor, row.difference_minor) == (
            69000,
            62100,
            65550,
            3450,
        )
        assert _balance(entity, "1209", MARCH_31) == (0, 3450)
        assert _balance(entity, "7910", MARCH_31) == (0, -3450)
        assert _verify() == []

    def test_an_open_gbp_credit_memo_revalues_as_a_negative_item_with_a_loss(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        memo = _credit_memo(customer, "200.00", "GBP", date(2026, 3, 5))  # -200.00 GBP at 1.15 = -230.00 EUR

        [row] = revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW).rows

        # -200.00 x 1.20 = -240.00 EUR: owing the customer 10.00 EUR more is an unrealised loss of 10.00
        assert (row.currency, row.open_minor, row.carrying_minor, row.revalued_minor) == (
            "GBP",
            -20000,
            -23000,
            -24000,
        )
        assert row.difference_minor == -1000
        lines = sorted(
            (line.account.code, line.debit_minor, line.credit_minor, line.functional_debit_minor,
             line.functional_credit_minor, line.document_id)
            for line in JournalLine.objects.filter(entry_id=row.entry_id).select_related("account")
        )  # fmt: skip
        assert lines == [
            ("1209", 0, 20000, 0, 24000, memo.pk),  # the credit balance at the month-end rate
            ("1209", 20000, 0, 23000, 0, memo.pk),  # out at the booking rate
            ("7910", 0, 0, 1000, 0, None),  # the loss
        ]
        assert _verify() == []

    def test_each_currency_is_its_own_entry_and_functional_items_are_left_alone(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        issued_invoice(customer)  # EUR: the functional currency, nothing to revalue
        issued_invoice(customer, currency="USD")
        _credit_memo(customer, "200.00", "GBP", date(2026, 3, 5))

        result = revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW)

        assert [(row.currency, row.difference_minor) for row in result.rows] == [
            ("GBP", -1000),
            ("USD", 5950),
        ]
        assert len({row.entry_id for row in result.rows}) == 2
        # together: 59.50 gain - 10.00 loss = 49.50 EUR credit on 7910
        assert _balance(entity, "7910", MARCH_31) == (0, -4950)
        assert _verify() == []

    def test_revaluing_a_month_twice_posts_once(self, entity: LegalEntity, customer: Customer) -> None:
        issued_invoice(customer, currency="USD")
        first = revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW)
        audited = AuditEvent.objects.filter(action="close.revaluation.posted").count()

        again = revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW)

        assert (first.posted, again.posted) == (True, False)
        assert [(row.entry_id, row.reversal_id) for row in again.rows] == [
            (row.entry_id, row.reversal_id) for row in first.rows
        ]
        assert _revaluation_entries() == 2  # the revaluation and its reversal
        assert audited == AuditEvent.objects.filter(action="close.revaluation.posted").count() == 1
        assert _balance(entity, "7910", MARCH_31) == (0, -5950)

    def test_the_revaluation_is_audited_with_the_carrying_and_revalued_amounts(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        issued_invoice(customer, currency="USD")

        revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW)

        event = AuditEvent.objects.get(action="close.revaluation.posted")
        assert (event.object_type, event.object_label, event.entity_id) == (
            "fiscal_period",
            f"{entity.code} 2026-03",
            entity.pk,
        )
        assert event.changes == {"USD": ["1071.00", "1130.50"]}

    def test_a_month_without_foreign_items_posts_nothing(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        issued_invoice(customer)

        result = revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW)

        assert (result.rows, result.posted, _revaluation_entries()) == ([], False, 0)

    def test_the_rollforward_in_transaction_currency_does_not_move(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        invoice = issued_invoice(customer, currency="USD")
        _paid(entity, invoice, "500.00")
        _credit_memo(customer, "200.00", "GBP", date(2026, 3, 5))
        march, april = (rollforward.rollforward(entity=entity, start=day) for day in (MARCH, APRIL_1))

        revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW)

        assert rollforward.rollforward(entity=entity, start=MARCH) == march
        assert rollforward.rollforward(entity=entity, start=APRIL_1) == april
        assert rollforward.tie_out(entity=entity, as_of=MARCH_31) == []
        [usd] = [row for row in march.rows if row.currency == "USD"]
        assert (usd.closing_minor, usd.movements_minor["other"], usd.difference_minor) == (69000, 0, 0)

    def test_a_missing_rate_is_refused_naming_the_pair_and_the_day_and_nothing_posts(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        issued_invoice(customer, currency="USD")
        FxRate.objects.filter(from_currency="USD").delete()  # the rates deleted in the admin

        with pytest.raises(UnableToRevalue) as refused:
            revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW)

        assert (refused.value.message, refused.value.code) == (
            "no FX rate USD/EUR on or before 2026-03-31",
            "no_fx_rate",
        )
        assert _revaluation_entries() == 0
        assert not AuditEvent.objects.filter(action="close.revaluation.posted").exists()

    def test_a_closed_month_is_refused(self, entity: LegalEntity, customer: Customer, now: datetime) -> None:
        issued_invoice(customer, currency="USD")
        services.period_close(entity=entity, start=MARCH, actor=None, now=now)

        with pytest.raises(UnableToRevalue) as refused:
            revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW)

        assert (
            refused.value.message
            == f"period 2026-03 of entity {entity.code} is closed: reopen it to revalue it"
        )
        assert _revaluation_entries() == 0

    def test_the_reversal_posts_in_the_next_open_period_when_the_next_month_is_closed(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        issued_invoice(customer, currency="USD")
        services.period_close(entity=entity, start=APRIL_1, actor=None, now=now)

        [row] = revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW).rows

        reversal = JournalEntry.objects.get(pk=row.reversal_id)
        assert (reversal.posting_date, reversal.dated, row.reversal_date) == (
            date(2026, 5, 1),
            APRIL_1,
            date(2026, 5, 1),
        )
        assert _balance(entity, "1209", date(2026, 4, 30)) == (0, 5950)
        assert _balance(entity, "1209", date(2026, 5, 1)) == (0, 0)


class TestMonthClose:
    def test_closing_a_month_revalues_it_first_then_closes_it(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        issued_invoice(customer, currency="USD")

        revalued, _provided, closed = services.month_close(entity=entity, start=MARCH, actor=None, now=NOW)

        assert revalued is not None
        assert (revalued.posted, [row.difference_minor for row in revalued.rows]) == (True, [5950])
        assert (closed.status, closed.changed) == ("closed", True)
        assert _verify() == []

    def test_a_month_revalued_before_is_closed_without_posting_again(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        issued_invoice(customer, currency="USD")
        revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW)

        revalued, _provided, closed = services.month_close(entity=entity, start=MARCH, actor=None, now=NOW)

        assert revalued is not None and not revalued.posted
        assert (_revaluation_entries(), closed.changed) == (2, True)

    def test_a_refused_revaluation_closes_nothing(self, entity: LegalEntity, customer: Customer) -> None:
        issued_invoice(customer, currency="USD")
        FxRate.objects.filter(from_currency="USD").delete()

        with pytest.raises(UnableToRevalue):
            services.month_close(entity=entity, start=MARCH, actor=None, now=NOW)

        assert ledger_selectors.period_for(entity=entity, on=MARCH).status == "open"  # type: ignore[union-attr]

    def test_a_closed_month_is_not_revalued_again(self, entity: LegalEntity, customer: Customer) -> None:
        issued_invoice(customer, currency="USD")
        services.period_close(entity=entity, start=MARCH, actor=None, now=NOW)

        revalued, _provided, closed = services.month_close(entity=entity, start=MARCH, actor=None, now=NOW)

        assert (revalued, closed.changed, _revaluation_entries()) == (None, False, 0)


class TestBroughtUpToDate:
    """Postings dated into a month after its revaluation: the next revaluation (or the close) posts a
    top-up entry for what changed, reversed on the next month's first day like the first."""

    def test_an_invoice_issued_into_the_month_after_its_revaluation_is_revalued_by_a_top_up(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        issued_invoice(customer, currency="USD")  # 2 March: 1,190.00 USD at 0.90 = 1,071.00 EUR
        first = revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW)
        # 20 March at 0.93: 595.00 USD = 553.35 EUR; at 0.95 565.25 EUR, a gain of 11.90
        late = issued_invoice(
            customer,
            currency="USD",
            issue_date=date(2026, 3, 20),
            lines=[LineIn("Consulting", Decimal("5"), Decimal("100.00"), Decimal("19"))],
        )

        again = revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW)

        [row] = again.rows
        assert again.posted is True
        assert (row.entry_id, row.reversal_id) == (first.rows[0].entry_id, first.rows[0].reversal_id)
        [top_up] = row.top_up_ids
        entry = JournalEntry.objects.get(pk=top_up)
        assert entry.posting_date == MARCH_31
        lines = sorted(
            (line.account.code, line.debit_minor, line.credit_minor, line.functional_debit_minor,
             line.functional_credit_minor, line.document_id)
            for line in entry.lines.select_related("account")
        )  # fmt: skip
        assert lines == [
            ("1209", 0, 59500, 0, 55335, late.pk),
            ("1209", 59500, 0, 56525, 0, late.pk),
            ("7910", 0, 0, 0, 1190, None),
        ]
        # 59.50 for the first invoice, 11.90 for the late one: 71.40 EUR, all of it reversed on 1 April
        assert _balance(entity, "1209", MARCH_31) == (0, 7140)
        assert _balance(entity, "7910", MARCH_31) == (0, -7140)
        assert _balance(entity, "1209", APRIL_1) == (0, 0)
        assert _balance(entity, "7910", APRIL_1) == (0, 0)
        assert JournalEntry.objects.get(reverses_id=top_up).posting_date == APRIL_1
        assert _verify() == []

    def test_an_invoice_paid_after_the_revaluation_has_its_revaluation_taken_back(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        invoice = issued_invoice(customer, currency="USD")
        revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW)  # +59.50 EUR on 1209
        _paid(entity, invoice, "1190.00")  # 20 March: nothing open on the 31st

        [row] = revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW).rows

        [top_up] = row.top_up_ids
        lines = sorted(
            (line.account.code, line.debit_minor, line.credit_minor, line.functional_debit_minor,
             line.functional_credit_minor)
            for line in JournalEntry.objects.get(pk=top_up).lines.select_related("account")
        )  # fmt: skip
        assert lines == [
            ("1209", 0, 119000, 0, 113050),  # the revalued line taken back
            ("1209", 119000, 0, 107100, 0),  # and its line at the booking rate
            ("7910", 0, 0, 5950, 0),
        ]
        assert _balance(entity, "1209", MARCH_31) == (0, 0)
        assert _balance(entity, "7910", MARCH_31) == (0, 0)
        assert _balance(entity, "1209", APRIL_1) == (0, 0)
        assert _verify() == []

    def test_nothing_changed_since_posts_no_top_up_however_often_it_runs(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        issued_invoice(customer, currency="USD")
        revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW)
        issued_invoice(customer, currency="USD", issue_date=date(2026, 3, 20))
        revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW)

        third = revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW)

        assert third.posted is False
        assert len(third.rows[0].top_up_ids) == 1
        assert _revaluation_entries() == 4  # the first, its top-up, and a reversal of each
        assert _verify() == []

    def test_closing_the_month_brings_its_revaluation_up_to_date_first(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        issued_invoice(customer, currency="USD")
        revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW)
        issued_invoice(customer, currency="USD", issue_date=date(2026, 3, 20))  # 1,190.00 at 0.93

        revalued, _provided, _closed = services.month_close(entity=entity, start=MARCH, actor=None, now=NOW)

        assert revalued is not None
        assert len(revalued.rows[0].top_up_ids) == 1
        # 59.50 + (1,130.50 - 1,106.70) 23.80 = 83.30 EUR
        assert _balance(entity, "1209", MARCH_31) == (0, 8330)
        assert _balance(entity, "7910", MARCH_31) == (0, -8330)
        assert _verify() == []


class TestRollforwardInTheFunctionalCurrency:
    """opening + movements at their booking rates + the month-end revaluation = closing, which is what
    1200 and 1209 hold in euros together."""

    def test_the_revaluation_is_the_fx_line_and_the_total_ties_to_the_receivable_accounts(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        issued_invoice(customer, currency="USD")  # 1,190.00 USD at 0.90 = 1,071.00 EUR
        issued_invoice(customer)  # 1,190.00 EUR
        revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW)  # USD +59.50 EUR

        march = rollforward.rollforward_functional(entity=entity, start=MARCH)
        april = rollforward.rollforward_functional(entity=entity, start=APRIL_1)

        assert march.functional_currency == "EUR"
        assert [
            (row.currency, row.opening_minor, row.movements_minor["invoices"],
             row.movements_minor["fx_revaluation"], row.closing_minor)
            for row in [*march.rows, march.total]
        ] == [
            ("EUR", 0, 119000, 0, 119000),
            ("USD", 0, 107100, 5950, 113050),
            ("EUR", 0, 226100, 5950, 232050),  # the total, in euros
        ]  # fmt: skip
        receivables = _balance(entity, "1200", MARCH_31)[1] + _balance(entity, "1209", MARCH_31)[1]
        assert march.total.closing_minor == receivables == 232050
        assert [
            (row.currency, row.opening_minor, row.movements_minor["fx_revaluation"], row.closing_minor)
            for row in april.rows
        ] == [("EUR", 119000, 0, 119000), ("USD", 113050, -5950, 107100)]
        assert all(value == 0 for name, value in march.rows[1].movements_minor.items() if name not in
                   ("invoices", "fx_revaluation"))  # fmt: skip

    def test_the_command_writes_it_in_json_with_the_total(
        self, entity: LegalEntity, customer: Customer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        issued_invoice(customer, currency="USD")
        revaluation.revalue(entity=entity, start=MARCH, actor=None, now=NOW)

        call_command("report", "rollforward", "--period", "2026-03", "--functional", "--format", "json")
        document = json.loads(capsys.readouterr().out)

        zero = dict.fromkeys(rollforward.FUNCTIONAL_MOVEMENTS, "0.00")
        expected = {
            "opening": "0.00",
            **zero,
            "invoices": "1071.00",
            "fx_revaluation": "59.50",
            "closing": "1130.50",
        }
        assert document == {
            "entity": "MAIN",
            "period": "2026-03",
            "first": "2026-03-01",
            "last": "2026-03-31",
            "functional_currency": "EUR",
            "rows": [{"entity": "MAIN", "currency": "USD", **expected}],
            "total": {"entity": "MAIN", "currency": "EUR", **expected},
        }

    def test_the_lines_of_a_movement_are_not_listed_in_the_functional_currency(
        self, entity: LegalEntity, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as exit_status:
            call_command(
                "report", "rollforward", "--period", "2026-03", "--functional", "--movement", "invoices"
            )

        assert exit_status.value.code == 2
        assert capsys.readouterr().err == (
            "error: --functional: the lines of a movement are listed in transaction currency\n"
        )
