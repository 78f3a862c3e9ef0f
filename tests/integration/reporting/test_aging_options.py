"""The aging's options: other bucket boundaries (`--buckets`), a reporting currency every amount is
converted into, and the deductions short pays left open on the items. Hand-built histories, made by
calling the services; exact figures.

Boundaries (`boundary_history`), as of 2026-06-30, C-1000 (NET30, EUR, no tax):

| invoice | issued     | due        | days past due | days since issue | amount |
| ------- | ---------- | ---------- | ------------- | ---------------- | ------ |
| B-0     | 2026-05-31 | 2026-06-30 | 0             | 30               | 100.00 |
| B-30    | 2026-05-01 | 2026-05-31 | 30            | 60               | 200.00 |
| B-60    | 2026-04-01 | 2026-05-01 | 60            | 90               | 400.00 |
| B-90    | 2026-03-02 | 2026-04-01 | 90            | 120              | 800.00 |
| B-91    | 2026-03-01 | 2026-03-31 | 91            | 121              | 1600.00 |
| B-NEW   | 2026-06-30 | 2026-07-30 | -30           | 0                | 50.00  |

Currencies (`currency_history`), as of 2026-04-30, entity MAIN (EUR); USD/EUR 0.90 from 2026-01-01 and
0.85 from 2026-04-15:

- C-1000 (EUR): EUR invoice 1,190.00 issued 2026-03-02 (1-30 days past due) and a USD invoice 1,000.10
  issued 2026-02-01 (58 days past due);
- C-2000 (USD): USD invoice 200.00 issued 2026-04-20 (current) and an open USD credit memo 100.10 issued
  2026-04-25 (5 days);
- 77.70 EUR received 2026-04-10 from nobody known.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from o2c.cash import workbench
from o2c.cash.models import Application
from o2c.cash.workbench import ApplyLine
from o2c.core.exceptions import InputError
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger import services as ledger_services
from o2c.ledger.errors import UnableToConvertCurrency
from o2c.ledger.models import LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from o2c.reporting import calculations, exports, selectors
from tests.conftest import NOW, customer_in, issued_invoice
from tests.integration.reporting.history import at, received

pytestmark = pytest.mark.django_db

BOUNDARY_AS_OF = date(2026, 6, 30)
CURRENCY_AS_OF = date(2026, 4, 30)
SHORT_PAY_AS_OF = date(2026, 4, 30)


def _invoice(customer: Customer, amount: str, issue_date: date, currency: str | None = None) -> Document:
    return issued_invoice(
        customer,
        issue_date=issue_date,
        lines=[LineIn("Service", Decimal(1), Decimal(amount), Decimal(0))],
        **({"currency": currency} if currency else {}),
    )


def _credit_memo(customer: Customer, amount: str, issue_date: date) -> Document:
    draft = receivable_services.document_create(
        customer=customer,
        document_type="credit_memo",
        issue_date=issue_date,
        lines=[LineIn("Goodwill", Decimal(1), Decimal(amount), Decimal(0))],
        actor=None,
        now=NOW,
    )
    return receivable_services.document_issue(document_id=draft.pk, actor=None, now=NOW)


def boundary_history(customer: Customer) -> None:
    for amount, issue_date in (
        ("100.00", date(2026, 5, 31)),
        ("200.00", date(2026, 5, 1)),
        ("400.00", date(2026, 4, 1)),
        ("800.00", date(2026, 3, 2)),
        ("1600.00", date(2026, 3, 1)),
        ("50.00", date(2026, 6, 30)),
    ):
        _invoice(customer, amount, issue_date)


def currency_history(entity: LegalEntity, customer: Customer) -> Customer:
    ledger_services.fx_rates_import(
        rates=[
            ledger_services.FxRateIn(date(2026, 1, 1), "USD", "EUR", Decimal("0.90")),
            ledger_services.FxRateIn(date(2026, 4, 15), "USD", "EUR", Decimal("0.85")),
        ],
        source="test",
        now=NOW,
    )
    american = customer_services.customer_create(
        entity=entity,
        data=customer_in("C-2000", name="Acme Inc.", country="US", currency="USD", language="en"),
        actor=None,
        now=NOW,
    )
    _invoice(customer, "1190.00", date(2026, 3, 2))
    _invoice(customer, "1000.10", date(2026, 2, 1), currency="USD")
    _invoice(american, "200.00", date(2026, 4, 20))
    _credit_memo(american, "100.10", date(2026, 4, 25))
    received(entity, "77.70", "P-NOBODY", date(2026, 4, 10), "Sammler Süd", "DE02100500000054540402")
    return american


@dataclass
class ShortPay:
    short_paid: Document
    paid_in_part: Document
    application: Application


def short_pay_history(entity: LegalEntity, customer: Customer) -> ShortPay:
    """INV 1,190.00 (issued 2026-03-02) paid 1,100.00 on 2026-04-10, the payer keeping 90.00 back as a
    deduction; INV 595.00 (issued 2026-03-05) paid 300.00 the same day, nothing deducted."""
    short_paid = _invoice(customer, "1190.00", date(2026, 3, 2))
    paid_in_part = _invoice(customer, "595.00", date(2026, 3, 5))
    payment = received(
        entity, "1400.00", "P-SHORT", date(2026, 4, 10), "Zahlungsdienst Nord", "DE44500105175407324931"
    )
    workbench.payment_apply(
        payment_id=payment.pk,
        lines=[
            ApplyLine(short_paid.pk, Decimal("1100.00"), deduction=Decimal("90.00")),
            ApplyLine(paid_in_part.pk, Decimal("300.00")),
        ],
        actor=None,
        now=at(date(2026, 4, 10)),
    )
    application = Application.objects.get(
        payment=payment, document=short_paid, state=Application.State.APPLIED
    )
    return ShortPay(short_paid, paid_in_part, application)


def _cells(report: selectors.AgingReport) -> list[tuple[str, str, dict[str, str], str, str]]:
    """(customer number, currency, bucket columns, unapplied, total) per row, as the CSV writes them."""
    rows = []
    for row in report.rows:
        record = exports.aging_record(row)
        rows.append(
            (
                row.customer_number,
                row.currency,
                {name: record[name] for name in report.bucket_names},
                record["unapplied"],
                record["total"],
            )
        )
    return rows


# --- bucket boundaries ----------------------------------------------------------------------------


class TestBucketNames:
    def test_the_default_boundaries_give_the_contracts_columns(self):
        assert calculations.bucket_names() == selectors.BUCKETS
        assert calculations.bucket_names(calculations.DEFAULT_BOUNDS) == (
            "current",
            "1_30",
            "31_60",
            "61_90",
            "91_120",
            "over_120",
        )

    def test_other_boundaries_name_their_columns_the_same_way(self):
        assert calculations.bucket_names((30, 60, 90)) == ("current", "1_30", "31_60", "61_90", "over_90")
        assert calculations.bucket_names((15,)) == ("current", "1_15", "over_15")
        assert calculations.bucket_names((7, 14, 21, 28, 35, 42, 49, 56))[-2:] == ("50_56", "over_56")

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
            (91, "over_90"),
            (400, "over_90"),
        ],
    )
    def test_an_age_on_a_boundary_falls_in_the_bucket_it_closes(self, age, bucket):
        assert selectors.age_bucket(age, (30, 60, 90)) == bucket

    def test_the_date_ranges_of_other_boundaries_meet_without_gap_or_overlap(self):
        assert selectors.bucket_ranges(date(2026, 6, 30), (30, 60, 90)) == [
            ("current", date(2026, 6, 30), None),
            ("1_30", date(2026, 5, 31), date(2026, 6, 29)),
            ("31_60", date(2026, 5, 1), date(2026, 5, 30)),
            ("61_90", date(2026, 4, 1), date(2026, 4, 30)),
            ("over_90", None, date(2026, 3, 31)),
        ]


class TestBucketBoundsParsed:
    def test_rising_positive_days_are_the_boundaries(self):
        assert calculations.parse_bucket_bounds("30,60,90") == (30, 60, 90)
        assert calculations.parse_bucket_bounds(" 15 , 45 ") == (15, 45)
        assert calculations.parse_bucket_bounds("1,2,3,4,5,6,7,8") == (1, 2, 3, 4, 5, 6, 7, 8)

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("90,60,30", "--buckets: the boundaries must rise: 60 follows 90"),
            ("30,30", "--buckets: the boundaries must rise: 30 follows 30"),
            ("0,30", "--buckets: the boundaries are days and must be positive, not 0"),
            ("-30,60", "--buckets: the boundaries are days and must be positive, not -30"),
            ("30,sixty", "--buckets: 'sixty' is not a whole number of days"),
            ("30.5", "--buckets: '30.5' is not a whole number of days"),
            ("1,2,3,4,5,6,7,8,9", "--buckets: at most 8 boundaries, not 9"),
            ("", "--buckets: give 1 to 8 day boundaries separated by commas, e.g. 30,60,90"),
            ("30,,60", "--buckets: give 1 to 8 day boundaries separated by commas, e.g. 30,60,90"),
        ],
    )
    def test_a_bad_value_is_refused_naming_the_option_and_the_problem(self, text, message):
        with pytest.raises(InputError) as refused:
            calculations.parse_bucket_bounds(text)
        assert (refused.value.message, refused.value.code) == (message, "bad_buckets")

    def test_the_api_names_its_parameter(self):
        with pytest.raises(InputError, match=r"^buckets: at most 8 boundaries, not 9$"):
            calculations.parse_bucket_bounds("1,2,3,4,5,6,7,8,9", option="buckets")


class TestCustomBuckets:
    def test_due_basis_each_boundary_item_lands_in_the_bucket_it_closes(self, entity, customer):
        boundary_history(customer)

        report = selectors.aging(entity_ids=[entity.pk], as_of=BOUNDARY_AS_OF, bounds=(30, 60, 90))

        assert report.bucket_names == ("current", "1_30", "31_60", "61_90", "over_90")
        assert _cells(report) == [
            (
                "C-1000",
                "EUR",
                # B-0 100.00 due on the day + B-NEW 50.00; B-30; B-60; B-90; B-91 one day over 90
                {
                    "current": "150.00",
                    "1_30": "200.00",
                    "31_60": "400.00",
                    "61_90": "800.00",
                    "over_90": "1600.00",
                },
                "0.00",
                "3150.00",
            )
        ]

    def test_invoice_basis_each_boundary_item_lands_in_the_bucket_it_closes(self, entity, customer):
        boundary_history(customer)

        report = selectors.aging(
            entity_ids=[entity.pk], as_of=BOUNDARY_AS_OF, basis=selectors.INVOICE, bounds=(30, 60, 90)
        )

        assert _cells(report) == [
            (
                "C-1000",
                "EUR",
                # B-NEW issued on the day; B-0 30 days old; B-30 60; B-60 90; B-90 120 and B-91 121
                {
                    "current": "50.00",
                    "1_30": "100.00",
                    "31_60": "200.00",
                    "61_90": "400.00",
                    "over_90": "2400.00",
                },
                "0.00",
                "3150.00",
            )
        ]

    def test_the_items_carry_the_bucket_of_the_boundaries(self, entity, customer):
        boundary_history(customer)

        due = selectors.aging_items(entity_ids=[entity.pk], as_of=BOUNDARY_AS_OF, bounds=(30, 60, 90))
        since_issue = selectors.aging_items(
            entity_ids=[entity.pk], as_of=BOUNDARY_AS_OF, basis=selectors.INVOICE, bounds=(30, 60, 90)
        )

        assert [(i.age_days, i.bucket, i.open_minor) for i in due] == [
            (91, "over_90", 160000),
            (90, "61_90", 80000),
            (60, "31_60", 40000),
            (30, "1_30", 20000),
            (0, "current", 10000),
            (-30, "current", 5000),
        ]
        assert [(i.age_days, i.bucket) for i in since_issue] == [
            (121, "over_90"),
            (120, "over_90"),
            (90, "61_90"),
            (60, "31_60"),
            (30, "1_30"),
            (0, "current"),
        ]

    def test_the_default_boundaries_give_the_contracts_report(self, entity, customer):
        boundary_history(customer)

        default = selectors.aging(entity_ids=[entity.pk], as_of=BOUNDARY_AS_OF)
        explicit = selectors.aging(entity_ids=[entity.pk], as_of=BOUNDARY_AS_OF, bounds=(30, 60, 90, 120))

        assert default == explicit
        assert default.bucket_names == selectors.BUCKETS
        assert exports.aging_json(default)["rows"][0] == {
            "entity": "MAIN",
            "customer_number": "C-1000",
            "currency": "EUR",
            "current": "150.00",
            "1_30": "200.00",
            "31_60": "400.00",
            "61_90": "800.00",
            "91_120": "1600.00",  # B-91, 91 days past due
            "over_120": "0.00",
            "unapplied": "0.00",
            "total": "3150.00",
        }

    def test_grouping_keeps_the_boundaries(self, entity, customer):
        boundary_history(customer)
        report = selectors.aging(entity_ids=[entity.pk], as_of=BOUNDARY_AS_OF, bounds=(60,))

        grouped = selectors.aging_grouped(report, "currency")

        assert grouped.bucket_names == ("current", "1_60", "over_60")
        assert exports.aging_columns("currency", grouped.bucket_names) == [
            "entity",
            "currency",
            "current",
            "1_60",
            "over_60",
            "unapplied",
            "total",
        ]
        assert _cells(grouped) == [
            ("", "EUR", {"current": "150.00", "1_60": "600.00", "over_60": "2400.00"}, "0.00", "3150.00")
        ]


# --- reporting currency ---------------------------------------------------------------------------


class TestReportingCurrency:
    def test_every_amount_is_converted_cell_by_cell_and_summed_per_customer(self, entity, customer):
        currency_history(entity, customer)
        report = selectors.aging(entity_ids=[entity.pk], as_of=CURRENCY_AS_OF)
        assert [(row.customer_number, row.currency) for row in report.rows] == [
            ("C-1000", "EUR"),
            ("C-1000", "USD"),
            ("C-2000", "USD"),
            ("", "EUR"),
        ]

        converted = selectors.aging_in_currency(report, "EUR")

        assert converted.reporting_currency == "EUR"
        assert _cells(converted) == [
            # EUR 1,190.00 as it is; USD 1,000.10 x 0.85 (the rate of 2026-04-15) = 850.085 -> 850.09
            (
                "C-1000",
                "EUR",
                {**_zeros(), "1_30": "1190.00", "31_60": "850.09"},
                "0.00",
                "2040.09",
            ),
            # USD 200.00 x 0.85 = 170.00; the credit memo's -100.10 x 0.85 = -85.085 -> -85.09 (half away
            # from zero); the total is the sum of the rounded cells (USD 99.90 at once would be 84.92)
            ("C-2000", "EUR", {**_zeros(), "current": "170.00", "1_30": "-85.09"}, "0.00", "84.91"),
            ("", "EUR", _zeros(), "-77.70", "-77.70"),
        ]

    def test_the_json_names_the_reporting_currency(self, entity, customer):
        currency_history(entity, customer)
        report = selectors.aging_in_currency(
            selectors.aging(entity_ids=[entity.pk], as_of=CURRENCY_AS_OF), "EUR"
        )

        document = exports.aging_json(report)

        assert list(document) == ["as_of", "basis", "reporting_currency", "rows"]
        assert document["reporting_currency"] == "EUR"
        assert {row["currency"] for row in document["rows"]} == {"EUR"}

    def test_the_rate_of_the_report_date_or_the_latest_before_it(self, entity, customer):
        currency_history(entity, customer)
        before_new_rate = date(2026, 4, 14)

        report = selectors.aging_in_currency(
            selectors.aging(entity_ids=[entity.pk], as_of=before_new_rate), "EUR"
        )

        # USD 1,000.10 x 0.90 = 900.09; C-2000's documents are not issued yet
        assert _cells(report)[0] == (
            "C-1000",
            "EUR",
            {**_zeros(), "1_30": "1190.00", "31_60": "900.09"},
            "0.00",
            "2090.09",
        )

    def test_into_a_currency_with_the_opposite_rate_only(self, entity, customer):
        currency_history(entity, customer)

        report = selectors.aging_in_currency(
            selectors.aging(entity_ids=[entity.pk], as_of=CURRENCY_AS_OF), "USD"
        )

        # EUR into USD at 1 / 0.85 = 1.1764705882: 1,190.00 -> 1,400.00; -77.70 -> -91.41
        assert _cells(report) == [
            ("C-1000", "USD", {**_zeros(), "1_30": "1400.00", "31_60": "1000.10"}, "0.00", "2400.10"),
            ("C-2000", "USD", {**_zeros(), "current": "200.00", "1_30": "-100.10"}, "0.00", "99.90"),
            ("", "USD", _zeros(), "-91.41", "-91.41"),
        ]

    def test_grouped_by_currency_after_converting_one_row_per_entity(self, entity, customer):
        currency_history(entity, customer)
        converted = selectors.aging_in_currency(
            selectors.aging(entity_ids=[entity.pk], as_of=CURRENCY_AS_OF), "EUR"
        )

        grouped = selectors.aging_grouped(converted, "currency")

        assert _cells(grouped) == [
            (
                "",
                "EUR",
                {**_zeros(), "current": "170.00", "1_30": "1104.91", "31_60": "850.09"},
                "-77.70",
                "2047.30",
            )
        ]
        assert grouped.reporting_currency == "EUR"

    def test_a_currency_without_a_rate_is_refused_naming_the_pair_and_the_date(self, entity, customer):
        currency_history(entity, customer)
        report = selectors.aging(entity_ids=[entity.pk], as_of=CURRENCY_AS_OF)

        with pytest.raises(UnableToConvertCurrency) as refused:
            selectors.aging_in_currency(report, "GBP")

        assert refused.value.code == "no_fx_rate"
        assert refused.value.message == (
            "no FX rate EUR/GBP on or before 2026-04-30 (o2c import fx-rates loads them)"
        )

    def test_a_rate_after_the_report_date_does_not_count(self, entity, customer):
        currency_history(entity, customer)

        with pytest.raises(UnableToConvertCurrency, match="no FX rate USD/EUR on or before 2025-12-31"):
            selectors.aging_in_currency(
                selectors.AgingReport(
                    as_of=date(2025, 12, 31),
                    basis="due",
                    rows=[
                        selectors.AgingRow("MAIN", None, "", "", "USD", (1, 0, 0, 0, 0, 0), 0),
                    ],
                ),
                "EUR",
            )

    def test_the_reporting_currency_is_an_iso_code_in_any_case(self):
        assert calculations.parse_reporting_currency("eur") == "EUR"
        with pytest.raises(
            InputError, match=r"^--reporting-currency: 'EURO' is not an ISO 4217 currency code$"
        ):
            calculations.parse_reporting_currency("EURO")


def _zeros() -> dict[str, str]:
    return dict.fromkeys(selectors.BUCKETS, "0.00")


# --- deductions -----------------------------------------------------------------------------------


class TestDeductions:
    def test_a_short_pay_leaves_its_deduction_marked_on_the_item(self, entity, customer):
        short_pay_history(entity, customer)

        items = list(
            selectors.aging_items(entity_ids=[entity.pk], as_of=SHORT_PAY_AS_OF, with_deductions=True)
        )

        assert [(i.number, i.open_minor, i.deduction_minor) for i in items] == [
            (items[0].number, 9000, 9000),  # 1,190.00 - 1,100.00 paid: the 90.00 kept back
            (items[1].number, 29500, 0),  # 595.00 - 300.00 paid: open, nothing deducted
        ]
        assert [exports.item_record(i, deductions=True)["deduction"] for i in items] == ["90.00", "0.00"]
        assert "deduction" not in exports.item_record(items[0])

    def test_before_the_payment_nothing_is_deducted(self, entity, customer):
        short_pay_history(entity, customer)

        items = list(
            selectors.aging_items(entity_ids=[entity.pk], as_of=date(2026, 4, 9), with_deductions=True)
        )

        assert [(i.open_minor, i.deduction_minor) for i in items] == [(119000, 0), (59500, 0)]

    def test_a_reversed_application_deducts_nothing_from_its_reversal_on(self, entity, customer):
        history = short_pay_history(entity, customer)
        workbench.application_reverse(
            application_id=history.application.pk, reason="misapplied", actor=None, now=at(date(2026, 4, 20))
        )

        def deductions(as_of: date) -> list[tuple[int, int]]:
            return [
                (i.open_minor, i.deduction_minor)
                for i in selectors.aging_items(entity_ids=[entity.pk], as_of=as_of, with_deductions=True)
            ]

        assert deductions(date(2026, 4, 19)) == [(9000, 9000), (29500, 0)]
        assert deductions(date(2026, 4, 30)) == [(119000, 0), (29500, 0)]

    def test_a_deduction_settled_later_shows_only_what_is_still_open(self, entity, customer):
        history = short_pay_history(entity, customer)
        receivable_services.allocation_create(
            document_id=history.short_paid.pk,
            kind="write_off",
            amount_minor=6000,
            posting_date=date(2026, 4, 25),
            actor=None,
            now=NOW,
            reason="deduction accepted in part",
        )

        items = list(
            selectors.aging_items(entity_ids=[entity.pk], as_of=SHORT_PAY_AS_OF, with_deductions=True)
        )

        assert (items[0].open_minor, items[0].deduction_minor) == (3000, 3000)

    def test_the_summary_is_unchanged_by_deductions(self, entity, customer):
        short_pay_history(entity, customer)

        report = selectors.aging(entity_ids=[entity.pk], as_of=SHORT_PAY_AS_OF)

        assert list(exports.aging_json(report)["rows"][0]) == [
            "entity",
            "customer_number",
            "currency",
            *selectors.BUCKETS,
            "unapplied",
            "total",
        ]
