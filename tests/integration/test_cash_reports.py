"""Cash reports: unapplied and unidentified cash aged as of any date (rebuilt from the payments and the
allocations posted by then, tied to the ledger), and the daily deposit reconciliation of the bank's
statements against the bank ledger account."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command

from o2c.cash import reports, sepa, workbench
from o2c.cash import services as cash_services
from o2c.cash.models import Application, Payment
from o2c.cash.workbench import ApplyLine
from o2c.customers.models import Customer
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import AccountType, LegalEntity
from o2c.ledger.rules import LineIn as PostingLine
from o2c.receivables.calculations import LineIn
from tests.camt_builder import OWN_IBAN, Credit, statement_xml
from tests.conftest import issued_invoice

pytestmark = pytest.mark.django_db

PAYER_IBAN = "DE44500105175407324931"


def _import(entity: LegalEntity, credits: list[Credit], now: datetime, name: str, **kw: Any) -> Any:
    return cash_services.bank_file_import(
        data=statement_xml(credits, statement_id=name, message_id=name, **kw),
        file_name=f"{name}.xml",
        entity=entity,
        actor=None,
        now=now,
    )


def _unidentified(entity: LegalEntity, amount: str, reference: str, day: date, now: datetime) -> Payment:
    """A payment nobody can place (unknown payer, no reference), on a statement of its own day."""
    _import(
        entity,
        [
            Credit(
                amount, reference, name="Zahlungsdienst Nord", iban=PAYER_IBAN, text="Sammelzahlung", day=day
            )
        ],
        now,
        name=reference,
    )
    payment = Payment.objects.get(entry_reference=reference)
    assert (payment.status, payment.customer_id) == ("unidentified", None)
    return payment


def _at(day: date) -> datetime:
    """A moment on that business date in Berlin (the entity's time zone)."""
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)


def _lines(report: reports.UnappliedReport) -> list[tuple[str, str, int, str, int]]:
    return [
        (item.entry_reference, item.customer_number, item.age_days, item.bucket, item.unapplied_minor)
        for item in report.items
    ]


def _totals(report: reports.UnappliedReport) -> dict[tuple[str, str], dict[str, int]]:
    return {
        (total.currency, total.kind): {k: v for k, v in total.by_bucket().items() if v}
        | {"total": total.total_minor}
        for total in report.totals
    }


def _ledger_unapplied(entity: LegalEntity, as_of: date) -> dict[tuple[int | None, str], int]:
    balances = ledger_selectors.credit_balances_by_customer(
        account_type=AccountType.UNAPPLIED_CASH, entity_ids=[entity.pk], as_of=as_of
    )
    return {(customer, currency): amount for (_, customer, currency), amount in balances.items()}


def _report_by_customer(report: reports.UnappliedReport) -> dict[tuple[int | None, str], int]:
    sums: dict[tuple[int | None, str], int] = {}
    for item in report.items:
        key = (item.customer_id, item.currency)
        sums[key] = sums.get(key, 0) + item.unapplied_minor
    return sums


@pytest.fixture
def history(entity: LegalEntity, customer: Customer, now: datetime) -> dict[str, Any]:
    """Four payments nobody could place at import, then worked by a person over the weeks:

    - P-OLD    77.70 on 2025-10-01, never identified
    - P-SPLIT 1,000.00 on 2026-01-05: 400.00 applied to the first invoice on 2026-02-10 (which makes
      C-1000 its payer), 250.00 to the second on 2026-03-20
    - P-MID   300.00 on 2026-03-01, put on C-1000's account on 2026-04-02
    - P-TODAY  50.00 on 2026-03-31
    """
    first = issued_invoice(customer, issue_date=date(2026, 1, 2))  # 1,190.00
    second = issued_invoice(
        customer,
        issue_date=date(2026, 1, 2),
        lines=[LineIn("Parts", Decimal(5), Decimal("100.00"), Decimal("19"))],
    )  # 595.00
    payments = {
        reference: _unidentified(entity, amount, reference, day, now)
        for reference, amount, day in (
            ("P-OLD", "77.70", date(2025, 10, 1)),
            ("P-SPLIT", "1000.00", date(2026, 1, 5)),
            ("P-MID", "300.00", date(2026, 3, 1)),
            ("P-TODAY", "50.00", date(2026, 3, 31)),
        )
    }
    split = payments["P-SPLIT"].pk
    workbench.payment_apply(
        payment_id=split,
        lines=[ApplyLine(first.pk, Decimal("400.00"))],
        actor=None,
        now=_at(date(2026, 2, 10)),
    )
    workbench.payment_apply(
        payment_id=split,
        lines=[ApplyLine(second.pk, Decimal("250.00"))],
        actor=None,
        now=_at(date(2026, 3, 20)),
    )
    workbench.payment_put_on_account(
        payment_id=payments["P-MID"].pk, customer_id=customer.pk, actor=None, now=_at(date(2026, 4, 2))
    )
    return {"payments": payments, "first": first, "second": second}


class TestUnappliedCash:
    @pytest.mark.parametrize(
        ("age", "bucket"),
        [
            (-3, "current"),
            (0, "current"),
            (1, "1_30"),
            (30, "1_30"),
            (31, "31_60"),
            (60, "31_60"),
            (61, "61_90"),
            (90, "61_90"),
            (91, "91_120"),
            (120, "91_120"),
            (121, "over_120"),
            (4000, "over_120"),
        ],
    )
    def test_cash_ages_in_the_contracts_buckets_by_days_since_its_value_date(
        self, age: int, bucket: str
    ) -> None:
        assert reports.age_bucket(age) == bucket

    def test_today_shows_what_is_left_of_each_payment_aged_with_totals_per_bucket_and_kind(
        self, entity: LegalEntity, customer: Customer, history: dict[str, Any]
    ) -> None:
        report = reports.unapplied_cash_as_of(entity_ids=[entity.pk], as_of=date(2026, 3, 31))

        assert _lines(report) == [
            ("P-OLD", "", 181, "over_120", 7770),
            ("P-SPLIT", "C-1000", 85, "61_90", 35000),
            ("P-MID", "", 30, "1_30", 30000),  # put on account only on 2026-04-02
            ("P-TODAY", "", 0, "current", 5000),
        ]
        split = report.items[1]
        assert (split.payment_minor, split.value_date, split.booking_date) == (
            100000,
            date(2026, 1, 5),
            date(2026, 1, 5),
        )
        assert (split.customer_id, split.customer_name, split.payer_name, split.entity_code) == (
            customer.pk,
            "Müller Maschinenbau GmbH",
            "Zahlungsdienst Nord",
            "MAIN",
        )
        assert _totals(report) == {
            ("EUR", "identified"): {"61_90": 35000, "total": 35000},
            ("EUR", "unidentified"): {"current": 5000, "1_30": 30000, "over_120": 7770, "total": 42770},
            ("EUR", "all"): {
                "current": 5000,
                "1_30": 30000,
                "61_90": 35000,
                "over_120": 7770,
                "total": 77770,
            },
        }

    def test_a_date_in_the_past_shows_the_older_unapplied_amounts_not_todays_cache(
        self, entity: LegalEntity, customer: Customer, history: dict[str, Any]
    ) -> None:
        assert Payment.objects.get(entry_reference="P-SPLIT").unapplied_minor == 35000  # today's cache

        before_any = reports.unapplied_cash_as_of(entity_ids=[entity.pk], as_of=date(2026, 1, 31))
        after_first = reports.unapplied_cash_as_of(entity_ids=[entity.pk], as_of=date(2026, 2, 28))
        identified_later = reports.unapplied_cash_as_of(entity_ids=[entity.pk], as_of=date(2026, 4, 5))

        # nothing applied yet: the whole 1,000.00 and nobody's (identified only on 2026-02-10)
        assert _lines(before_any) == [
            ("P-OLD", "", 122, "over_120", 7770),
            ("P-SPLIT", "", 26, "1_30", 100000),
        ]
        assert _totals(before_any) == {
            ("EUR", "unidentified"): {"1_30": 100000, "over_120": 7770, "total": 107770},
            ("EUR", "all"): {"1_30": 100000, "over_120": 7770, "total": 107770},
        }
        # 400.00 applied on 2026-02-10, the 250.00 of 2026-03-20 not yet
        assert _lines(after_first) == [
            ("P-OLD", "", 150, "over_120", 7770),
            ("P-SPLIT", "C-1000", 54, "31_60", 60000),
        ]
        # P-MID on C-1000's account since 2026-04-02
        assert _lines(identified_later) == [
            ("P-OLD", "", 186, "over_120", 7770),
            ("P-SPLIT", "C-1000", 90, "61_90", 35000),
            ("P-MID", "C-1000", 35, "31_60", 30000),
            ("P-TODAY", "", 5, "1_30", 5000),
        ]
        assert _totals(identified_later)[("EUR", "identified")] == {
            "31_60": 30000,
            "61_90": 35000,
            "total": 65000,
        }

    def test_before_a_payment_was_booked_it_is_not_in_the_report(
        self, entity: LegalEntity, history: dict[str, Any]
    ) -> None:
        report = reports.unapplied_cash_as_of(entity_ids=[entity.pk], as_of=date(2025, 9, 30))

        assert (report.items, report.totals) == ([], [])
        assert report.ties

    @pytest.mark.parametrize(
        "as_of",
        [
            date(2025, 10, 1),
            date(2026, 1, 31),
            date(2026, 2, 10),
            date(2026, 3, 20),
            date(2026, 3, 31),
            date(2026, 4, 2),
        ],
    )
    def test_the_report_ties_to_the_unapplied_cash_accounts_per_customer_and_currency_on_any_date(
        self, entity: LegalEntity, history: dict[str, Any], as_of: date
    ) -> None:
        report = reports.unapplied_cash_as_of(entity_ids=[entity.pk], as_of=as_of)

        assert _report_by_customer(report) == _ledger_unapplied(entity, as_of)
        assert report.ties
        assert report.tie_out_differences == []
        assert [(line.currency, line.report_minor, line.ledger_minor) for line in report.tie_out] == [
            (
                "EUR",
                sum(item.unapplied_minor for item in report.items),
                sum(_ledger_unapplied(entity, as_of).values()),
            )
        ]

    def test_a_reversed_application_puts_the_cash_back_from_its_own_posting_date(
        self, entity: LegalEntity, history: dict[str, Any]
    ) -> None:
        application = Application.objects.get(
            payment=history["payments"]["P-SPLIT"], document=history["second"], state="applied"
        )
        workbench.application_reverse(
            application_id=application.pk, reason="wrong invoice", actor=None, now=_at(date(2026, 4, 10))
        )

        day_before = reports.unapplied_cash_as_of(entity_ids=[entity.pk], as_of=date(2026, 4, 9))
        that_day = reports.unapplied_cash_as_of(entity_ids=[entity.pk], as_of=date(2026, 4, 10))

        assert [i.unapplied_minor for i in day_before.items if i.entry_reference == "P-SPLIT"] == [35000]
        assert [i.unapplied_minor for i in that_day.items if i.entry_reference == "P-SPLIT"] == [60000]
        assert day_before.ties and that_day.ties

    def test_a_ledger_posting_without_a_payment_shows_as_a_tie_out_difference(
        self, entity: LegalEntity, customer: Customer, history: dict[str, Any], now: datetime
    ) -> None:
        _post(
            entity,
            AccountType.BANK,
            AccountType.UNAPPLIED_CASH,
            1234,
            date(2026, 3, 25),
            customer_id=customer.pk,
        )

        report = reports.unapplied_cash_as_of(entity_ids=[entity.pk], as_of=date(2026, 3, 31))

        assert not report.ties
        assert [(t.currency, t.report_minor, t.ledger_minor, t.difference_minor) for t in report.tie_out] == [
            ("EUR", 77770, 79004, -1234)
        ]
        assert [
            (t.customer_number, t.report_minor, t.ledger_minor, t.difference_minor)
            for t in report.tie_out_differences
        ] == [("C-1000", 35000, 36234, -1234)]

    def test_a_refund_takes_the_cash_out_on_its_execution_date(
        self, entity: LegalEntity, history: dict[str, Any]
    ) -> None:
        on_account = history["payments"]["P-MID"]
        sepa.refund_file_create(
            entity=entity,
            payment_ids=[on_account.pk],
            execution_date=date(2026, 4, 8),
            actor=None,
            now=_at(date(2026, 4, 3)),
        )

        day_before = reports.unapplied_cash_as_of(entity_ids=[entity.pk], as_of=date(2026, 4, 7))
        that_day = reports.unapplied_cash_as_of(entity_ids=[entity.pk], as_of=date(2026, 4, 8))

        assert [(i.entry_reference, i.unapplied_minor) for i in day_before.items][2] == ("P-MID", 30000)
        assert "P-MID" not in [i.entry_reference for i in that_day.items]
        assert day_before.ties and that_day.ties
        # the bank's debit for the refund is not kept by the importer: the ledger alone has it
        [refund_day] = reports.deposit_reconciliation(
            entity_ids=[entity.pk], date_from=date(2026, 4, 8), date_to=date(2026, 4, 8)
        ).days
        assert (refund_day.bank_minor, refund_day.ledger_minor, refund_day.difference_minor) == (
            0,
            -30000,
            -30000,
        )

    def test_a_returned_payment_leaves_unapplied_cash_on_the_day_of_the_return(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        invoice = issued_invoice(customer, issue_date=date(2026, 1, 2))  # 1,190.00
        returned = _unidentified(entity, "200.00", "P-RET", date(2026, 3, 2), now)
        workbench.payment_apply(
            payment_id=returned.pk,
            lines=[ApplyLine(invoice.pk, Decimal("50.00"))],
            actor=None,
            now=_at(date(2026, 3, 5)),
        )
        _import(
            entity,
            [
                Credit(
                    "200.00",
                    "RET-1",
                    name="Zahlungsdienst Nord",
                    iban=PAYER_IBAN,
                    debit=True,
                    return_reason="AC04",
                    day=date(2026, 3, 10),
                )
            ],
            now,
            "S-RET",
            opening="1200.00",
        )
        assert Payment.objects.get(pk=returned.pk).status == "returned"

        before = reports.unapplied_cash_as_of(entity_ids=[entity.pk], as_of=date(2026, 3, 9))
        after = reports.unapplied_cash_as_of(entity_ids=[entity.pk], as_of=date(2026, 3, 10))

        assert _lines(before) == [("P-RET", "C-1000", 7, "1_30", 15000)]
        assert _lines(after) == []
        assert before.ties and after.ties
        # the return is the one debit the importer keeps: the bank's side of the reconciliation has it
        result = reports.deposit_reconciliation(
            entity_ids=[entity.pk], date_from=date(2026, 3, 1), date_to=date(2026, 3, 31)
        )
        assert [(d.day, d.bank_minor, d.ledger_minor, d.statement_movement_minor) for d in result.days] == [
            (date(2026, 3, 2), 20000, 20000, 20000),
            (date(2026, 3, 10), -20000, -20000, -20000),
        ]


def _post(
    entity: LegalEntity,
    debit: AccountType,
    credit: AccountType,
    minor: int,
    on: date,
    *,
    customer_id: int | None = None,
    key: str = "manual:1",
) -> None:
    """A journal entry a person posts by hand (no payment behind it)."""
    ledger_services.journal_entry_post(
        entity=entity,
        lines=[
            PostingLine(
                account_id=ledger_selectors.account_id_for(entity=entity, type=debit),
                currency="EUR",
                debit_minor=minor,
            ),
            PostingLine(
                account_id=ledger_selectors.account_id_for(entity=entity, type=credit),
                currency="EUR",
                credit_minor=minor,
                customer_id=customer_id,
            ),
        ],
        posting_date=on,
        description="Posted by hand",
        source_type="manual",
        source_id=None,
        idempotency_key=key,
        now=datetime(2026, 3, 31, 12, 0, tzinfo=UTC),
    )


@pytest.fixture
def deposits(entity: LegalEntity, customer: Customer, now: datetime) -> dict[str, Any]:
    """Bank statements of five days, one posting by hand, and activity on both sides outside the range."""
    invoice = issued_invoice(customer)  # 1,190.00
    day = date(2026, 3, 20)
    _import(
        entity,
        [
            Credit("1190.00", "R1", name="Mueller Maschinenbau", text=f"Rechnung {invoice.number}", day=day),
            Credit("77.70", "R2", name="Unknown Trading Ltd", text="thanks", day=day),
        ],
        now,
        "S-0320",
    )
    day = date(2026, 3, 21)
    _import(
        entity,
        [Credit("100.00", "R3", name="A", text="x", day=day), Credit("30.00", "R4", debit=True, day=day)],
        now,
        "S-0321",
        opening="2267.70",
    )
    _post(entity, AccountType.BANK, AccountType.OTHER, 50000, date(2026, 3, 23))  # the bank has no such entry
    _import(  # the bank's own balances are 10.00 short
        entity,
        [Credit("10.00", "R5", name="B", text="y", day=date(2026, 3, 24))],
        now,
        "S-0324",
        opening="2337.70",
        closing="2337.70",
    )
    _import(entity, [Credit("5.00", "R6", name="C", text="z", day=date(2026, 3, 31))], now, "S-0331")
    _post(entity, AccountType.BANK, AccountType.OTHER, 999, date(2026, 3, 19), key="manual:2")
    return {"invoice": invoice}


class TestDepositReconciliation:
    def test_each_day_sets_the_statements_against_the_bank_ledger_account(
        self, entity: LegalEntity, deposits: dict[str, Any]
    ) -> None:
        result = reports.deposit_reconciliation(
            entity_ids=[entity.pk], date_from=date(2026, 3, 20), date_to=date(2026, 3, 30)
        )

        assert [
            (
                d.day,
                d.ledger_account,
                d.bank_accounts,
                d.currency,
                d.bank_minor,
                d.ledger_minor,
                d.difference_minor,
                d.statement_movement_minor,
            )
            for d in result.days
        ] == [
            # two receipts, posted as imported: the day matches
            (date(2026, 3, 20), "1000", (OWN_IBAN,), "EUR", 126770, 126770, 0, 126770),
            # a debit of 30.00 is not incoming cash: only the statement's own movement shows it
            (date(2026, 3, 21), "1000", (OWN_IBAN,), "EUR", 10000, 10000, 0, 7000),
            # posted by hand, not on any statement
            (date(2026, 3, 23), "1000", (OWN_IBAN,), "EUR", 0, 50000, 50000, None),
            (date(2026, 3, 24), "1000", (OWN_IBAN,), "EUR", 1000, 1000, 0, 0),
        ]
        assert [(d.day, d.difference_minor) for d in result.differences] == [(date(2026, 3, 23), 50000)]

    def test_a_statement_whose_balances_do_not_add_up_is_listed(
        self, entity: LegalEntity, deposits: dict[str, Any]
    ) -> None:
        result = reports.deposit_reconciliation(
            entity_ids=[entity.pk], date_from=date(2026, 3, 20), date_to=date(2026, 3, 30)
        )

        assert result.unbalanced_statements == [
            reports.UnbalancedStatement(
                entity_code="MAIN",
                file_name="S-0324.xml",
                statement_id="S-0324",
                bank_account=OWN_IBAN,
                currency="EUR",
                statement_date=date(2026, 3, 24),
                opening_minor=233770,
                closing_minor=233770,
                difference_minor=-1000,
            )
        ]

    def test_a_range_without_activity_is_empty(self, entity: LegalEntity, deposits: dict[str, Any]) -> None:
        result = reports.deposit_reconciliation(
            entity_ids=[entity.pk], date_from=date(2026, 3, 25), date_to=date(2026, 3, 30)
        )

        assert (result.days, result.unbalanced_statements) == ([], [])


# --- the commands ---------------------------------------------------------------------------------


def _run(capsys: Any, *args: str) -> tuple[str, str]:
    capsys.readouterr()
    call_command("cash", *args)
    captured = capsys.readouterr()
    return captured.out, captured.err


def _refused(capsys: Any, *args: str) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        call_command("cash", *args)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.strip().splitlines()
    return line


@pytest.fixture
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O2C_LOCALE", "en_US")


class TestUnappliedCommand:
    def test_json_carries_payments_totals_and_the_tie_out_as_decimal_strings(
        self, history: dict[str, Any], capsys: Any, english: None
    ) -> None:
        out, err = _run(capsys, "unapplied", "--as-of", "2026-03-31", "--format", "json")

        payload = json.loads(out)
        assert err == ""
        assert payload["as_of"] == "2026-03-31"
        assert payload["buckets"] == ["current", "1_30", "31_60", "61_90", "91_120", "over_120"]
        split = payload["payments"][1]
        assert split == {
            "entity": "MAIN",
            "payment_id": history["payments"]["P-SPLIT"].pk,
            "entry_reference": "P-SPLIT",
            "customer_number": "C-1000",
            "customer_name": "Müller Maschinenbau GmbH",
            "payer_name": "Zahlungsdienst Nord",
            "currency": "EUR",
            "value_date": "2026-01-05",
            "booking_date": "2026-01-05",
            "age_days": 85,
            "bucket": "61_90",
            "amount": "350.00",
            "payment_amount": "1000.00",
        }
        assert payload["totals"][2] == {
            "entity": "MAIN",
            "currency": "EUR",
            "kind": "all",
            "current": "50.00",
            "1_30": "300.00",
            "31_60": "0.00",
            "61_90": "350.00",
            "91_120": "0.00",
            "over_120": "77.70",
            "total": "777.70",
        }
        assert [t["kind"] for t in payload["totals"]] == ["identified", "unidentified", "all"]
        assert payload["tie_out"] == [
            {
                "entity": "MAIN",
                "currency": "EUR",
                "report": "777.70",
                "ledger": "777.70",
                "difference": "0.00",
            }
        ]
        assert payload["tie_out_differences"] == []

    def test_csv_has_one_row_per_payment_and_the_table_follows_the_readers_locale(
        self, history: dict[str, Any], capsys: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        old, split = history["payments"]["P-OLD"].pk, history["payments"]["P-SPLIT"].pk

        out, _ = _run(capsys, "unapplied", "--as-of", "2026-02-28", "--format", "csv")

        assert out.splitlines() == [
            "entity,payment_id,entry_reference,customer_number,customer_name,payer_name,currency,value_date,"
            "booking_date,age_days,bucket,amount,payment_amount",
            f"MAIN,{old},P-OLD,,,Zahlungsdienst Nord,EUR,2025-10-01,2025-10-01,150,over_120,77.70,77.70",
            f"MAIN,{split},P-SPLIT,C-1000,Müller Maschinenbau GmbH,Zahlungsdienst Nord,EUR,2026-01-05,"
            "2026-01-05,54,31_60,600.00,1000.00",
        ]

        monkeypatch.setenv("O2C_LOCALE", "de_DE")
        table, _ = _run(capsys, "unapplied", "--as-of", "2026-02-28")
        assert "Nicht zugeordnete Zahlungen zum 28.02.2026" in table
        assert "600,00" in table and "677,70" in table
        assert "nicht identifiziert" in table

    def test_a_difference_to_the_ledger_is_a_warning_and_exit_0(
        self, entity: LegalEntity, customer: Customer, history: dict[str, Any], capsys: Any, english: None
    ) -> None:
        _post(
            entity,
            AccountType.BANK,
            AccountType.UNAPPLIED_CASH,
            1234,
            date(2026, 3, 25),
            customer_id=customer.pk,
        )

        out, err = _run(capsys, "unapplied", "--as-of", "2026-03-31", "--format", "csv")

        assert err.splitlines() == [
            "warning: MAIN EUR: unapplied cash 777.70, ledger 790.04",
            "warning: C-1000 EUR: unapplied cash 350.00, ledger 362.34",
        ]
        assert len(out.splitlines()) == 5

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("--as-of", "31.03.2026"), "error: --as-of: '31.03.2026' is not an ISO 8601 date (YYYY-MM-DD)"),
            (("--from", "2026-03-01"), "error: --from and --to are for reconcile; unapplied takes --as-of"),
            (("--entity", "NOPE"), "error: --entity: unknown legal entity 'NOPE'"),
            (("file.xml",), "error: unapplied takes no file"),
        ],
    )
    def test_bad_arguments_are_one_line_and_exit_2(
        self, db: None, capsys: Any, english: None, args: tuple[str, ...], message: str
    ) -> None:
        assert _refused(capsys, "unapplied", *args) == message


class TestReconcileCommand:
    def test_json_lists_every_day_its_difference_and_the_unbalanced_statements(
        self, deposits: dict[str, Any], capsys: Any, english: None
    ) -> None:
        out, err = _run(capsys, "reconcile", "--from", "2026-03-20", "--to", "2026-03-30", "--format", "json")

        payload = json.loads(out)
        assert err == ""
        assert (payload["from"], payload["to"], payload["differences"]) == ("2026-03-20", "2026-03-30", 1)
        assert payload["days"][2] == {
            "entity": "MAIN",
            "date": "2026-03-23",
            "ledger_account": "1000",
            "bank_accounts": OWN_IBAN,
            "currency": "EUR",
            "bank": "0.00",
            "ledger": "500.00",
            "difference": "500.00",
            "statement_movement": None,
        }
        assert [day["difference"] for day in payload["days"]] == ["0.00", "0.00", "500.00", "0.00"]
        assert payload["unbalanced_statements"] == [
            {
                "entity": "MAIN",
                "file": "S-0324.xml",
                "statement_id": "S-0324",
                "bank_account": OWN_IBAN,
                "currency": "EUR",
                "statement_date": "2026-03-24",
                "opening": "2337.70",
                "closing": "2337.70",
                "difference": "-10.00",
            }
        ]

    def test_csv_writes_the_days_and_warns_of_unbalanced_statements_on_stderr(
        self, deposits: dict[str, Any], capsys: Any, english: None
    ) -> None:
        out, err = _run(capsys, "reconcile", "--from", "2026-03-20", "--to", "2026-03-30", "--format", "csv")

        assert out.splitlines() == [
            "entity,date,ledger_account,bank_accounts,currency,bank,ledger,difference,statement_movement",
            f"MAIN,2026-03-20,1000,{OWN_IBAN},EUR,1267.70,1267.70,0.00,1267.70",
            f"MAIN,2026-03-21,1000,{OWN_IBAN},EUR,100.00,100.00,0.00,70.00",
            f"MAIN,2026-03-23,1000,{OWN_IBAN},EUR,0.00,500.00,500.00,",
            f"MAIN,2026-03-24,1000,{OWN_IBAN},EUR,10.00,10.00,0.00,0.00",
        ]
        assert err.splitlines() == [
            "warning: S-0324.xml: statement S-0324: opening balance plus entries differs from the closing "
            "balance by -10.00 EUR"
        ]

    def test_the_table_is_for_people_and_differences_exit_0(
        self, deposits: dict[str, Any], capsys: Any, english: None
    ) -> None:
        out, err = _run(capsys, "reconcile", "--from", "2026-03-20", "--to", "2026-03-30")

        assert "Deposits from Mar 20, 2026 to Mar 30, 2026 against the ledger" in out
        assert "1,267.70" in out and "500.00" in out
        assert "Statements whose balances do not add up" in out
        assert err == "days: 4, with a difference: 1, statements that do not balance: 1\n"

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("--from", "2026-03-20"), "error: reconcile needs --from DATE and --to DATE"),
            (
                ("--from", "2026-03-20", "--to", "tomorrow"),
                "error: --to: 'tomorrow' is not an ISO 8601 date (YYYY-MM-DD)",
            ),
            (
                ("--from", "2026-03-20", "--to", "2026-03-01"),
                "error: --from 2026-03-20 is after --to 2026-03-01",
            ),
            (("--as-of", "2026-03-20"), "error: --as-of is for unapplied; reconcile takes --from and --to"),
        ],
    )
    def test_bad_arguments_are_one_line_and_exit_2(
        self, db: None, capsys: Any, english: None, args: tuple[str, ...], message: str
    ) -> None:
        assert _refused(capsys, "reconcile", *args) == message
