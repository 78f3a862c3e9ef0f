"""The expected-credit-loss provision: a matrix of loss rates per segment (domestic or foreign customer)
and aging bucket (due basis), derived from the write-offs that followed each of the last 12 month ends or
set by an AR manager; the month's provision (open invoices × rate) posted on the last day, Dr 6900 bad
debt expense / Cr 1290 allowance in the functional currency, and reversed on the next month's first day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from o2c.audit.models import AuditEvent
from o2c.close import provision, services
from o2c.close.errors import UnableToProvision
from o2c.close.models import ProvisionRate
from o2c.core import checks
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger import services as ledger_services
from o2c.ledger.models import JournalEntry, JournalLine, LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from o2c.reporting import rollforward
from tests.conftest import NOW, customer_in, issued_invoice, make_user

pytestmark = pytest.mark.django_db

MARCH = date(2026, 3, 1)
MARCH_31 = date(2026, 3, 31)
APRIL_1 = date(2026, 4, 1)


def _verify() -> None:
    problems = [problem for check in checks.all_checks() for problem in check.run()]
    assert problems == []


def _customer(entity: LegalEntity, number: str, country: str, currency: str = "EUR") -> Customer:
    return customer_services.customer_create(
        entity=entity, data=customer_in(number, country=country, currency=currency), actor=None, now=NOW
    )


def _rate(entity: LegalEntity, segment: str, bucket: str, rate: str, manager: object) -> None:
    provision.provision_rate_set(
        entity=entity,
        segment=segment,
        bucket=bucket,
        rate=Decimal(rate),
        actor=manager,  # type: ignore[arg-type]
        reason="credit committee",
        now=NOW,
    )


def _balance(entity: LegalEntity, code: str, as_of: date) -> int:
    """debit - credit of the account in the functional currency as of the day"""
    lines = JournalLine.objects.filter(
        entry__entity=entity, account__code=code, entry__posting_date__lte=as_of
    ).values_list("functional_debit_minor", "functional_credit_minor")
    return sum(debit - credit for debit, credit in lines)


@pytest.fixture
def manager(entity: LegalEntity) -> object:
    return make_user("martin", "ar_manager", entities=[entity])


@pytest.fixture
def book(entity: LegalEntity, manager: object) -> dict[str, Document]:
    """On 31 March 2026 (NET30, invoices 1,190.00 = 1,000.00 + 19 % VAT):
    domestic (DE) C-1000: INV 2 March due 1 April, current; INV 5 January due 4 February, 55 days: 31_60
    foreign (FR) C-2000: INV 1 December 2025 due 31 December, 90 days: 61_90; USD INV 2 March, current
    an open credit memo of 100.00 for C-1000 (owed to the customer: not exposed to credit loss)"""
    ledger_services.fx_rates_import(
        rates=[
            ledger_services.FxRateIn(date(2026, 3, 1), "USD", "EUR", Decimal("0.90")),
            ledger_services.FxRateIn(MARCH_31, "USD", "EUR", Decimal("0.95")),
        ],
        source="test",
        now=NOW,
    )
    domestic = _customer(entity, "C-1000", "DE")
    foreign = _customer(entity, "C-2000", "FR")
    documents = {
        "current": issued_invoice(domestic, issue_date=date(2026, 3, 2)),
        "late": issued_invoice(domestic, issue_date=date(2026, 1, 5)),
        "foreign": issued_invoice(foreign, issue_date=date(2025, 12, 1)),
        "usd": issued_invoice(foreign, issue_date=date(2026, 3, 2), currency="USD"),
    }
    draft = receivable_services.document_create(
        customer=domestic,
        document_type="credit_memo",
        issue_date=date(2026, 3, 5),
        lines=[LineIn("Goodwill", Decimal(1), Decimal("100.00"), Decimal(0))],
        actor=None,
        now=NOW,
    )
    receivable_services.document_issue(document_id=draft.pk, actor=None, now=NOW)
    _rate(entity, "domestic", "current", "0.005", manager)
    _rate(entity, "domestic", "31_60", "0.04", manager)
    _rate(entity, "foreign", "61_90", "0.25", manager)
    _rate(entity, "foreign", "current", "0.01", manager)
    return documents


class TestProvisionMatrix:
    def test_the_month_end_open_invoices_times_their_rates_make_the_provision(
        self, entity: LegalEntity, book: dict[str, Document]
    ) -> None:
        rows = provision.provision_rows(entity=entity, as_of=MARCH_31)

        # EUR domestic current 1,190.00 × 0.005 = 5.95; 31_60 1,190.00 × 0.04 = 47.60
        # EUR foreign 61_90 1,190.00 × 0.25 = 297.50
        # USD foreign current 1,190.00 × 0.01 = 11.90 USD, at 0.95 = 11.305 → 11.31 EUR (half up)
        assert [
            (
                row.currency,
                row.segment,
                row.bucket,
                row.open_minor,
                row.rate,
                row.provision_minor,
                row.functional_minor,
            )
            for row in rows
        ] == [
            ("EUR", "domestic", "current", 119000, Decimal("0.005"), 595, 595),
            ("EUR", "domestic", "31_60", 119000, Decimal("0.04"), 4760, 4760),
            ("EUR", "foreign", "61_90", 119000, Decimal("0.25"), 29750, 29750),
            ("USD", "foreign", "current", 119000, Decimal("0.01"), 1190, 1131),
        ]

    def test_a_cell_without_a_rate_provides_nothing(self, entity: LegalEntity) -> None:
        customer = _customer(entity, "C-1000", "DE")
        issued_invoice(customer, issue_date=date(2026, 3, 2))

        rows = provision.provision_rows(entity=entity, as_of=MARCH_31)

        assert [(row.bucket, row.open_minor, row.rate, row.provision_minor) for row in rows] == [
            ("current", 119000, Decimal(0), 0)
        ]

    def test_a_customer_without_a_country_is_domestic(self) -> None:
        assert provision.segment_of(entity_country="DE", customer_country="") == "domestic"
        assert provision.segment_of(entity_country="DE", customer_country="de") == "domestic"
        assert provision.segment_of(entity_country="DE", customer_country="AT") == "foreign"


class TestProvisionPosting:
    def test_the_provision_posts_on_the_last_day_and_reverses_on_the_next_first_day(
        self, entity: LegalEntity, book: dict[str, Document]
    ) -> None:
        tie_out_before = rollforward.tie_out(entity=entity, as_of=MARCH_31)

        result = provision.provision_post(entity=entity, start=MARCH, actor=None, now=NOW)

        # 5.95 + 47.60 + 297.50 + 11.31 = 362.36 EUR
        assert result.posted is True
        assert result.method == "ifrs9_simplified"
        assert result.total_minor == 36236
        entry = JournalEntry.objects.get(pk=result.entry_id)
        assert entry.posting_date == MARCH_31
        assert entry.source_type == "ecl_provision"
        assert entry.idempotency_key == f"ecl-provision:{entity.pk}:2026-03"
        assert sorted(
            entry.lines.values_list("account__code", "currency", "debit_minor", "credit_minor")
        ) == [("1290", "EUR", 0, 36236), ("6900", "EUR", 36236, 0)]
        assert result.reversal_date == APRIL_1
        # the allowance stands at 362.36 credit on 31 March; the reversal nets it to zero on 1 April
        assert _balance(entity, "1290", MARCH_31) == -36236
        assert _balance(entity, "6900", MARCH_31) == 36236
        assert _balance(entity, "1290", APRIL_1) == 0
        assert _balance(entity, "6900", APRIL_1) == 0
        assert rollforward.tie_out(entity=entity, as_of=MARCH_31) == tie_out_before == []
        _verify()
        event = AuditEvent.objects.get(action="close.provision.posted")
        assert event.changes == {"method": [None, "ifrs9_simplified"], "provision": [None, "362.36"]}

    def test_providing_for_a_month_again_posts_nothing(
        self, entity: LegalEntity, book: dict[str, Document]
    ) -> None:
        first = provision.provision_post(entity=entity, start=MARCH, actor=None, now=NOW)

        again = provision.provision_post(entity=entity, start=MARCH, actor=None, now=NOW)

        assert again.posted is False
        assert (again.entry_id, again.reversal_id) == (first.entry_id, first.reversal_id)
        # the entry and its reversal
        assert JournalEntry.objects.filter(source_type="ecl_provision").count() == 2
        assert AuditEvent.objects.filter(action="close.provision.posted").count() == 1

    def test_an_invoice_issued_into_the_month_after_its_provision_is_provided_for_by_a_top_up(
        self, entity: LegalEntity, book: dict[str, Document]
    ) -> None:
        first = provision.provision_post(entity=entity, start=MARCH, actor=None, now=NOW)
        domestic = Customer.objects.get(number="C-1000")
        issued_invoice(domestic, issue_date=date(2026, 3, 20))  # 1,190.00 current: 0.5 % = 5.95

        again = provision.provision_post(entity=entity, start=MARCH, actor=None, now=NOW)

        assert (again.posted, again.entry_id, again.total_minor) == (True, first.entry_id, 36831)
        [top_up] = again.top_up_ids
        entry = JournalEntry.objects.get(pk=top_up)
        assert (entry.posting_date, entry.idempotency_key) == (
            MARCH_31,
            f"ecl-provision:{entity.pk}:2026-03:2",
        )
        assert sorted(entry.lines.values_list("account__code", "debit_minor", "credit_minor")) == [
            ("1290", 0, 595),
            ("6900", 595, 0),
        ]
        assert _balance(entity, "1290", MARCH_31) == -36831
        assert _balance(entity, "1290", APRIL_1) == 0
        assert _balance(entity, "6900", APRIL_1) == 0
        assert AuditEvent.objects.filter(action="close.provision.posted").last().changes == {
            "provision": ["362.36", "368.31"]
        }
        third = provision.provision_post(entity=entity, start=MARCH, actor=None, now=NOW)
        assert (third.posted, third.top_up_ids) == (False, (top_up,))
        _verify()

    def test_a_zero_provision_posts_nothing(self, entity: LegalEntity) -> None:
        issued_invoice(_customer(entity, "C-1000", "DE"), issue_date=date(2026, 3, 2))

        result = provision.provision_post(entity=entity, start=MARCH, actor=None, now=NOW)

        assert (result.posted, result.entry_id, result.total_minor) == (False, None, 0)
        assert not JournalEntry.objects.filter(source_type="ecl_provision").exists()

    def test_a_closed_month_is_refused(self, entity: LegalEntity, book: dict[str, Document]) -> None:
        ledger_services.period_status_set(entity=entity, start=MARCH, status="closed", actor=None, now=NOW)

        with pytest.raises(UnableToProvision) as refused:
            provision.provision_post(entity=entity, start=MARCH, actor=None, now=NOW)

        assert refused.value.code == "period_closed"
        assert not JournalEntry.objects.filter(source_type="ecl_provision").exists()

    def test_the_month_close_posts_the_provision_after_the_revaluation(
        self, entity: LegalEntity, book: dict[str, Document]
    ) -> None:
        revalued, provided, closed = services.month_close(entity=entity, start=MARCH, actor=None, now=NOW)

        assert revalued is not None and provided is not None
        assert provided.total_minor == 36236
        assert closed.status == "closed"
        assert _balance(entity, "1290", MARCH_31) == -36236
        _verify()

    def test_an_entity_in_the_us_provides_under_cecl(self, now: object) -> None:
        us = ledger_services.entity_create(
            code="US01",
            name="O2C Inc.",
            country="US",
            currency="USD",
            time_zone="America/New_York",
            today=date(2026, 3, 16),
            now=NOW,
        )
        ledger_services.periods_open(
            entity=us, first=date(2025, 1, 1), last=date(2026, 12, 31), now=NOW, reason="t"
        )
        manager = make_user("uma", "ar_manager", entities=[us])
        customer = _customer(us, "U-1", "US", "USD")
        issued_invoice(
            customer,
            issue_date=date(2026, 3, 2),
            lines=[LineIn("Consulting", Decimal("10"), Decimal("100.00"), Decimal("0"))],
        )
        _rate(us, "domestic", "current", "0.02", manager)

        result = provision.provision_post(entity=us, start=MARCH, actor=None, now=NOW)

        # 1,000.00 USD × 0.02 = 20.00 USD, in the entity's functional currency
        assert (result.method, result.functional_currency, result.total_minor) == ("cecl", "USD", 2000)
        assert JournalEntry.objects.get(pk=result.entry_id).description == (
            "Expected-credit-loss provision 2026-03 (CECL)"
        )
        _verify()


class TestRateEdits:
    def test_an_ar_manager_sets_a_rate_with_a_reason_in_the_audit_trail(
        self, entity: LegalEntity, manager: object
    ) -> None:
        _rate(entity, "foreign", "over_120", "0.5", manager)
        _rate(entity, "foreign", "over_120", "0.65", manager)

        stored = ProvisionRate.objects.get(entity=entity, segment="foreign", bucket="over_120")
        assert (stored.rate, stored.source, stored.set_by, stored.reason) == (
            Decimal("0.65"),
            "manual",
            manager,
            "credit committee",
        )
        events = AuditEvent.objects.filter(action="close.provision_rate.set").order_by("pk")
        assert [(event.changes, event.reason, event.actor) for event in events] == [
            ({"rate": [None, "0.5"]}, "credit committee", manager),
            ({"rate": ["0.5", "0.65"]}, "credit committee", manager),
        ]

    def test_anyone_but_an_ar_manager_is_refused_and_nothing_changes(self, entity: LegalEntity) -> None:
        clerk = make_user("bianca", "billing", entities=[entity])

        with pytest.raises(UnableToProvision) as refused:
            _rate(entity, "domestic", "current", "0.01", clerk)

        assert refused.value.code == "not_allowed"
        assert not ProvisionRate.objects.exists()
        assert not AuditEvent.objects.filter(action__startswith="close.provision").exists()

    @pytest.mark.parametrize(
        ("segment", "bucket", "rate", "code"),
        [
            ("export", "current", "0.01", "bad_segment"),
            ("domestic", "0_30", "0.01", "bad_bucket"),
            ("domestic", "current", "1.5", "bad_rate"),
            ("domestic", "current", "-0.1", "bad_rate"),
            ("domestic", "current", "0.0000001", "bad_rate"),
        ],
    )
    def test_a_bad_cell_or_rate_is_refused(
        self, entity: LegalEntity, manager: object, segment: str, bucket: str, rate: str, code: str
    ) -> None:
        with pytest.raises(UnableToProvision) as refused:
            _rate(entity, segment, bucket, rate, manager)

        assert refused.value.code == code
        assert not ProvisionRate.objects.exists()

    def test_a_rate_needs_a_reason(self, entity: LegalEntity, manager: object) -> None:
        with pytest.raises(UnableToProvision) as refused:
            provision.provision_rate_set(
                entity=entity,
                segment="domestic",
                bucket="current",
                rate=Decimal("0.01"),
                actor=manager,  # type: ignore[arg-type]
                reason=" ",
                now=NOW,
            )

        assert refused.value.code == "reason_required"

    def test_the_matrix_lists_every_cell(self, entity: LegalEntity, manager: object) -> None:
        _rate(entity, "domestic", "1_30", "0.015", manager)

        matrix = provision.rate_matrix(entity=entity)

        assert len(matrix) == 12
        assert [(cell.segment, cell.bucket, cell.rate, cell.source) for cell in matrix[:3]] == [
            ("domestic", "current", Decimal(0), ""),
            ("domestic", "1_30", Decimal("0.015"), "manual"),
            ("domestic", "31_60", Decimal(0), ""),
        ]


class TestDerivation:
    @pytest.fixture
    def history(self, entity: LegalEntity) -> None:
        """C-1000 (DE): A 1,190.00 issued 1 December 2025 due 31 December; 119.00 written off on
        10 February 2026, 59.50 on 10 March. B 1,190.00 issued 15 January due 14 February, never."""
        domestic = _customer(entity, "C-1000", "DE")
        invoice_a = issued_invoice(domestic, issue_date=date(2025, 12, 1))
        issued_invoice(domestic, issue_date=date(2026, 1, 15))
        for day, amount in ((date(2026, 2, 10), 11900), (date(2026, 3, 10), 5950)):
            receivable_services.allocation_create(
                document_id=invoice_a.pk,
                kind="write_off",
                amount_minor=amount,
                posting_date=day,
                actor=None,
                now=NOW,
                reason="uncollectible",
            )

    def test_rates_are_the_average_share_written_off_after_each_month_end(
        self, entity: LegalEntity, history: None
    ) -> None:
        derivation = provision.derivation_preview(entity=entity, as_of=date(2026, 3, 16))

        assert derivation.month_ends[0] == date(2025, 3, 31)
        assert derivation.month_ends[-1] == date(2026, 2, 28)
        # 31 Dec: A current 1,190.00, later written off 119.00 + 59.50 = 178.50 → 0.15
        # 31 Jan: A 31 days past due (31_60) 1,190.00, 178.50 later → 0.15; B current 1,190.00, 0 → 0
        # 28 Feb: A (59 days, 31_60) open 1,071.00, 59.50 later → 0.0555…; B 14 days (1_30), 0 → 0
        assert [
            (cell.month_end, cell.bucket, cell.open_minor, cell.written_off_minor)
            for cell in derivation.history
        ] == [
            (date(2025, 12, 31), "current", 119000, 17850),
            (date(2026, 1, 31), "current", 119000, 0),
            (date(2026, 1, 31), "31_60", 119000, 17850),
            (date(2026, 2, 28), "1_30", 119000, 0),
            (date(2026, 2, 28), "31_60", 107100, 5950),
        ]
        # current (0.15 + 0) / 2 = 0.075; 31_60 (0.15 + 0.055556) / 2 = 0.102778 → 0.1028; 1_30 0
        assert derivation.rates[("domestic", "current")] == Decimal("0.075")
        assert derivation.rates[("domestic", "31_60")] == Decimal("0.1028")
        assert derivation.rates[("domestic", "1_30")] == Decimal(0)
        assert derivation.rates[("foreign", "over_120")] == Decimal(0)

    def test_the_forward_looking_factor_scales_the_rates(self, entity: LegalEntity, history: None) -> None:
        derivation = provision.derivation_preview(
            entity=entity, as_of=date(2026, 3, 16), factor=Decimal("1.2")
        )

        # 0.075 × 1.2 = 0.09; 0.1027778 × 1.2 = 0.1233333 → 0.1233
        assert derivation.rates[("domestic", "current")] == Decimal("0.09")
        assert derivation.rates[("domestic", "31_60")] == Decimal("0.1233")

    def test_deriving_stores_the_whole_matrix_as_derived_and_is_audited(
        self, entity: LegalEntity, history: None, manager: object
    ) -> None:
        provision.provision_rates_derive(
            entity=entity,
            as_of=date(2026, 3, 16),
            actor=manager,  # type: ignore[arg-type]
            now=NOW,
        )

        assert ProvisionRate.objects.filter(entity=entity, source="derived").count() == 12
        assert ProvisionRate.objects.get(entity=entity, segment="domestic", bucket="31_60").rate == Decimal(
            "0.1028"
        )
        event = AuditEvent.objects.get(action="close.provision_rates.derived")
        assert event.reason == "derived from 2025-03 to 2026-02, factor 1"
        assert event.changes["domestic current"] == [None, "0.075"]
        assert event.actor == manager

    def test_deriving_needs_an_ar_manager(self, entity: LegalEntity, history: None) -> None:
        with pytest.raises(UnableToProvision):
            provision.provision_rates_derive(entity=entity, as_of=date(2026, 3, 16), actor=None, now=NOW)

        assert not ProvisionRate.objects.exists()


def test_the_reopen_roles_and_the_rate_roles_are_the_same() -> None:
    assert provision.REOPEN_ROLES == services.REOPEN_ROLES
