"""Aging as of any date, rebuilt from the documents and the allocations posted by then (read as the open
amounts now plus the allocations posted since, never today's open amounts alone), on the due-date and the
invoice-date basis, tied to the receivable and unapplied cash
accounts of the ledger on the same date. The history is `history.build_history` (see its docstring)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest

from o2c.customers.models import Customer
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import AccountType, LegalEntity
from o2c.receivables import bulk
from o2c.receivables import checks as receivable_checks
from o2c.receivables import services as receivable_services
from o2c.receivables.models import Document
from o2c.reporting import selectors
from tests.conftest import NOW, issued_invoice
from tests.integration.reporting.history import History, build_history

pytestmark = pytest.mark.django_db

AS_OF_DATES = [
    date(2025, 12, 31),  # before anything
    date(2026, 1, 20),  # two invoices issued, nothing paid
    date(2026, 2, 12),  # INV-A paid in part, INV-B credited in part
    date(2026, 2, 22),  # INV-A paid in full, P2's rest unapplied with C-1000, CM-2 open
    date(2026, 3, 3),  # P3 applied to INV-C
    date(2026, 3, 7),  # ... and reversed
    date(2026, 4, 30),  # after everything, P4 unidentified
]


@pytest.fixture
def history(entity: LegalEntity, customer: Customer) -> History:
    return build_history(entity, customer)


def _rows(report: selectors.AgingReport) -> list[tuple[str, dict[str, int], int, int]]:
    """(customer number, non-zero buckets, unapplied, total) per row, in minor units."""
    return [
        (
            row.customer_number,
            {k: v for k, v in row.by_bucket().items() if v},
            row.unapplied_minor,
            row.total_minor,
        )
        for row in report.rows
    ]


class TestBucketBoundaries:
    @pytest.mark.parametrize(
        ("age", "bucket"),
        [
            (-10, "current"),
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
    def test_an_item_of_an_age_falls_in_its_bucket(self, age, bucket):
        assert selectors.age_bucket(age) == bucket

    def test_the_date_ranges_of_the_buckets_meet_without_gap_or_overlap(self):
        assert selectors.bucket_ranges(date(2026, 3, 31)) == [
            ("current", date(2026, 3, 31), None),
            ("1_30", date(2026, 3, 1), date(2026, 3, 30)),
            ("31_60", date(2026, 1, 30), date(2026, 2, 28)),
            ("61_90", date(2025, 12, 31), date(2026, 1, 29)),
            ("91_120", date(2025, 12, 1), date(2025, 12, 30)),
            ("over_120", None, date(2025, 11, 30)),
        ]

    def test_each_boundary_day_lands_in_the_right_bucket_in_the_database(self, entity, customer):
        as_of = date(2026, 6, 30)
        # NET30: due 30 days after issue; ages 0, 1, 30, 31, 60, 61, 90, 91, 120, 121 days past due
        for age in (0, 1, 30, 31, 60, 61, 90, 91, 120, 121):
            issued_invoice(customer, issue_date=date.fromordinal(as_of.toordinal() - age - 30))

        report = selectors.aging(entity_ids=[entity.pk], as_of=as_of)

        # 1,190.00 each: two invoices per bucket except current (age 0) and over_120 (age 121)
        assert _rows(report) == [
            (
                "C-1000",
                {
                    "current": 119000,
                    "1_30": 238000,
                    "31_60": 238000,
                    "61_90": 238000,
                    "91_120": 238000,
                    "over_120": 119000,
                },
                0,
                1190000,
            )
        ]


class TestAgingAsOfPastDates:
    def test_before_anything_happened_the_aging_is_empty(self, entity, history):
        assert selectors.aging(entity_ids=[entity.pk], as_of=date(2025, 12, 31)).rows == []

    def test_two_invoices_not_yet_due_are_current(self, entity, history):
        report = selectors.aging(entity_ids=[entity.pk], as_of=date(2026, 1, 20))
        # INV-A 1,190.00 + INV-B 595.00, due 2026-02-01 and 2026-02-14
        assert _rows(report) == [("C-1000", {"current": 178500}, 0, 178500)]

    def test_a_partial_payment_and_a_credit_memo_reduce_the_open_amounts_from_their_dates(
        self, entity, history
    ):
        report = selectors.aging(entity_ids=[entity.pk], as_of=date(2026, 2, 12))
        # INV-A 1,190.00 - 500.00 (P1, 2026-02-05) = 690.00, 11 days past due
        # INV-B 595.00 - 100.00 (CM-1, 2026-02-10) = 495.00, due 2026-02-14: current
        # INV-C 1,190.00 issued 2026-02-01, due 2026-03-03: current
        assert _rows(report) == [
            ("C-1000", {"current": 49500, "1_30": 69000}, 0, 118500),
            ("C-2000", {"current": 119000}, 0, 119000),
        ]

    def test_the_second_part_settles_the_invoice_and_the_rest_is_unapplied_cash_on_account(
        self, entity, history
    ):
        report = selectors.aging(entity_ids=[entity.pk], as_of=date(2026, 2, 22))
        # INV-A paid (500.00 + 690.00); INV-B 495.00 8 days past due; P2's 510.00 unapplied
        # CM-2 -50.00 due on its issue date 2026-02-20: 2 days
        assert _rows(report) == [
            ("C-1000", {"1_30": 49500}, -51000, -1500),
            ("C-2000", {"current": 119000, "1_30": -5000}, 0, 114000),
        ]

    def test_an_application_counts_until_its_reversal_is_posted(self, entity, history):
        applied = selectors.aging(entity_ids=[entity.pk], as_of=date(2026, 3, 3))
        reversed_ = selectors.aging(entity_ids=[entity.pk], as_of=date(2026, 3, 7))

        # 2026-03-03: INV-C 1,190.00 - 400.00 (P3) = 790.00, due that day: current
        assert _rows(applied)[1] == ("C-2000", {"current": 79000, "1_30": -5000}, 0, 74000)
        # 2026-03-07: the reversal of 2026-03-05 opens INV-C again (4 days past due); P3's 400.00 is
        # C-2000's unapplied cash; the total is unchanged
        assert _rows(reversed_)[1] == ("C-2000", {"1_30": 114000}, -40000, 74000)

    def test_after_everything_unidentified_cash_is_a_row_without_a_customer(self, entity, history):
        report = selectors.aging(entity_ids=[entity.pk], as_of=date(2026, 4, 30))
        # INV-B 495.00 75 days past due; INV-C 1,190.00 58 days; CM-2 -50.00 69 days; P4 77.70 unidentified
        assert _rows(report) == [
            ("C-1000", {"61_90": 49500}, -51000, -1500),
            ("C-2000", {"31_60": 119000, "61_90": -5000}, -40000, 74000),
            ("", {}, -7770, -7770),
        ]
        assert [(row.entity_code, row.customer_id, row.currency) for row in report.rows][2] == (
            "MAIN",
            None,
            "EUR",
        )

    def test_on_the_invoice_basis_items_age_from_their_issue_date(self, entity, history):
        report = selectors.aging(entity_ids=[entity.pk], as_of=date(2026, 4, 30), basis="invoice")
        # INV-B issued 2026-01-15: 105 days; INV-C 2026-02-01: 88 days; CM-2 2026-02-20: 69 days
        assert _rows(report) == [
            ("C-1000", {"91_120": 49500}, -51000, -1500),
            ("C-2000", {"61_90": 114000}, -40000, 74000),
            ("", {}, -7770, -7770),
        ]

    def test_a_document_issued_on_the_report_date_is_current_on_the_invoice_basis(self, entity, customer):
        issued_invoice(customer, issue_date=date(2026, 3, 2))
        day_of_issue = selectors.aging(entity_ids=[entity.pk], as_of=date(2026, 3, 2), basis="invoice")
        next_day = selectors.aging(entity_ids=[entity.pk], as_of=date(2026, 3, 3), basis="invoice")
        assert _rows(day_of_issue) == [("C-1000", {"current": 119000}, 0, 119000)]
        assert _rows(next_day) == [("C-1000", {"1_30": 119000}, 0, 119000)]

    def test_todays_cached_open_amounts_do_not_leak_into_a_past_date(self, entity, history):
        # today INV-A is paid; on 2026-02-12 it was not, whatever the cache says now
        history.invoice_a.refresh_from_db()
        assert history.invoice_a.open_minor == 0
        items = list(selectors.aging_items(entity_ids=[entity.pk], as_of=date(2026, 2, 12)))
        assert [(item.number, item.age_days, item.bucket, item.open_minor) for item in items] == [
            (history.invoice_a.number, 11, "1_30", 69000),
            (history.invoice_b.number, -2, "current", 49500),
            (history.invoice_c.number, -19, "current", 119000),
        ]

    def test_another_entitys_items_are_left_out(self, entity, other_entity, history):
        assert selectors.aging(entity_ids=[other_entity.pk], as_of=date(2026, 4, 30)).rows == []


class TestTieOut:
    @pytest.mark.parametrize("as_of", AS_OF_DATES)
    @pytest.mark.parametrize("basis", ["due", "invoice"])
    def test_buckets_tie_to_the_receivable_accounts_and_unapplied_to_the_unapplied_cash_accounts(
        self, entity, history, as_of, basis
    ):
        report = selectors.aging(entity_ids=[entity.pk], as_of=as_of, basis=basis)

        receivable: dict[tuple[int | None, str], int] = defaultdict(int)
        unapplied: dict[tuple[int | None, str], int] = defaultdict(int)
        for row in report.rows:
            if row.receivable_minor:
                receivable[(row.customer_id, row.currency)] += row.receivable_minor
            if row.unapplied_minor:
                unapplied[(row.customer_id, row.currency)] -= row.unapplied_minor
        ledger_receivable = {
            (customer_id, currency): balance
            for (_, customer_id, currency), balance in ledger_selectors.receivable_balances(
                entity_ids=[entity.pk], as_of=as_of
            ).items()
        }
        ledger_unapplied = {
            (customer_id, currency): balance
            for (_, customer_id, currency), balance in ledger_selectors.credit_balances_by_customer(
                account_type=AccountType.UNAPPLIED_CASH, entity_ids=[entity.pk], as_of=as_of
            ).items()
        }
        assert dict(receivable) == ledger_receivable
        assert dict(unapplied) == ledger_unapplied

    @pytest.mark.parametrize("as_of", AS_OF_DATES)
    def test_the_totals_tie_to_the_trial_balance(self, entity, history, as_of):
        report = selectors.aging(entity_ids=[entity.pk], as_of=as_of)
        balances: dict[str, int] = defaultdict(int)
        for line in ledger_selectors.trial_balance(entity_ids=[entity.pk], as_of=as_of):
            balances[line.account_type] += line.debit_minor - line.credit_minor

        assert sum(row.receivable_minor for row in report.rows) == balances["receivable"]
        assert sum(row.unapplied_minor for row in report.rows) == balances["unapplied_cash"]
        assert (
            sum(row.total_minor for row in report.rows) == balances["receivable"] + balances["unapplied_cash"]
        )

    def test_the_items_add_up_to_the_rows(self, entity, history):
        for as_of in AS_OF_DATES:
            for basis in ("due", "invoice"):
                sums: dict[tuple[int | None, str], list[int]] = defaultdict(lambda: [0] * 6)
                for item in selectors.aging_items(entity_ids=[entity.pk], as_of=as_of, basis=basis):
                    sums[(item.customer_id, item.currency)][selectors.BUCKETS.index(item.bucket)] += (
                        item.open_minor
                    )
                report = selectors.aging(entity_ids=[entity.pk], as_of=as_of, basis=basis)
                assert {
                    (row.customer_id, row.currency): list(row.buckets)
                    for row in report.rows
                    if any(row.buckets)
                } == dict(sums)


class TestQueries:
    def test_the_aging_reads_a_fixed_number_of_queries_however_many_documents(
        self, entity, customer, django_assert_max_num_queries
    ):
        for day in range(1, 21):
            invoice = issued_invoice(customer, issue_date=date(2026, 1, day))
            receivable_services.allocation_create(
                document_id=invoice.pk,
                kind="write_off",
                amount_minor=100,
                posting_date=date(2026, 2, 1),
                actor=None,
                now=NOW,
            )
        # the documents open, the allocations since on either side (and PostgreSQL's JIT setting for
        # them), the unapplied cash, the entities, the customers
        with django_assert_max_num_queries(7):
            report = selectors.aging(entity_ids=[entity.pk], as_of=date(2026, 3, 31))
        assert report.rows[0].total_minor == 20 * 119000 - 20 * 100


class TestLastAllocationDate:
    """Each document keeps the latest posting date of its allocations beside its open amount: the aging
    as of an earlier day reads the open amount now plus the allocations posted since, only for the
    documents settled since."""

    def test_each_document_keeps_the_posting_date_of_its_latest_allocation_on_either_side(self, history):
        dates = dict(
            Document.objects.filter(
                pk__in=[
                    history.invoice_a.pk,
                    history.invoice_b.pk,
                    history.invoice_c.pk,
                    history.credit_memo_1.pk,
                    history.credit_memo_2.pk,
                ]
            ).values_list("number", "last_allocation_date")
        )
        assert dates == {
            history.invoice_a.number: date(2026, 2, 20),  # the second part
            history.invoice_b.number: date(2026, 2, 10),  # credited
            history.credit_memo_1.number: date(2026, 2, 10),  # drawn on for INV-B
            history.invoice_c.number: date(2026, 3, 5),  # the reversal
            history.credit_memo_2.number: None,  # never applied
        }

    def test_allocations_in_bulk_keep_the_latest_of_their_posting_dates(self, entity, customer):
        invoice = issued_invoice(customer, issue_date=date(2026, 1, 2))

        def allocate(*days: date) -> None:
            bulk.allocations_create_bulk(
                entity=entity,
                allocations=[
                    bulk.AllocationIn(
                        document_id=invoice.pk, kind="payment", amount_minor=1000, posting_date=day
                    )
                    for day in days
                ],
                actor=None,
                now=NOW,
            )

        allocate(date(2026, 2, 3), date(2026, 2, 1))
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.last_allocation_date) == (117000, date(2026, 2, 3))
        allocate(date(2026, 1, 31))  # an earlier day later: the latest stays
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.last_allocation_date) == (116000, date(2026, 2, 3))
        assert selectors.open_items_by_bucket(entity_ids=[entity.pk], as_of=date(2026, 2, 2)) == {
            (entity.pk, customer.pk, "EUR"): [0, 117000, 0, 0, 0, 0]
        }
        assert receivable_checks.open_amounts_equal_allocations() == []

    def test_ledger_verify_names_a_document_whose_cached_date_is_wrong(self, history):
        Document.objects.filter(pk=history.invoice_a.pk).update(last_allocation_date=date(2026, 2, 5))
        assert receivable_checks.open_amounts_equal_allocations() == [
            f"document {history.invoice_a.number}: cached last allocation date 2026-02-05 "
            "!= 2026-02-20 from its allocations"
        ]
