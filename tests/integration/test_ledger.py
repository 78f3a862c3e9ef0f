from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction

from o2c.audit.models import AuditEvent
from o2c.core.db import reserve_ids
from o2c.ledger import selectors, services
from o2c.ledger.errors import UnableToConvertCurrency, UnableToPostJournalEntry, UnableToReverseJournalEntry
from o2c.ledger.models import Account, AccountType, FiscalPeriod, JournalEntry, JournalLine, LegalEntity
from o2c.ledger.rules import LineIn
from o2c.ledger.services import FxRateIn
from tests.conftest import NOW

pytestmark = pytest.mark.django_db


def post(entity, *, amount=10000, currency="EUR", on=date(2026, 3, 2), key="test:1"):
    receivable = selectors.account_for(entity=entity, type=AccountType.RECEIVABLE).pk
    revenue = selectors.account_for(entity=entity, type=AccountType.REVENUE).pk
    return services.journal_entry_post(
        entity=entity,
        lines=[
            LineIn(account_id=receivable, currency=currency, debit_minor=amount, customer_id=7),
            LineIn(account_id=revenue, currency=currency, credit_minor=amount),
        ],
        posting_date=on,
        description="test",
        source_type="test",
        source_id=None,
        idempotency_key=key,
        now=NOW,
    )


class TestPosting:
    def test_posting_the_same_idempotency_key_twice_posts_once(self, entity):
        first = post(entity)
        again = post(entity)
        assert first.pk == again.pk
        assert JournalEntry.objects.count() == 1

    def test_a_late_entry_dated_in_a_closed_period_posts_on_the_first_day_of_the_next_open_one(self, entity):
        FiscalPeriod.objects.filter(
            entity=entity, start_date__in=[date(2026, 2, 1), date(2026, 3, 1)]
        ).update(status="closed")

        entry = post(entity, on=date(2026, 2, 10))

        assert (entry.posting_date, entry.dated) == (date(2026, 4, 1), date(2026, 2, 10))
        assert selectors.receivable_balances(as_of=date(2026, 3, 31)) == {}
        assert selectors.receivable_balances(as_of=date(2026, 4, 1)) == {(entity.pk, 7, "EUR"): 10000}

    def test_an_entry_in_an_open_period_keeps_its_date(self, entity):
        entry = post(entity, on=date(2026, 2, 10))
        assert (entry.posting_date, entry.dated) == (date(2026, 2, 10), None)

    def test_a_posting_with_no_open_period_on_or_after_its_date_is_refused(self, entity):
        FiscalPeriod.objects.filter(entity=entity, start_date__gte=date(2026, 11, 1)).update(status="closed")
        with pytest.raises(UnableToPostJournalEntry, match="no open fiscal period for 2026-11-10"):
            post(entity, on=date(2026, 11, 10))
        with pytest.raises(UnableToPostJournalEntry, match="no open fiscal period for 2030-01-02"):
            post(entity, on=date(2030, 1, 2), key="test:2")  # no period at all
        assert JournalEntry.objects.count() == 0

    def test_a_bulk_posting_moves_late_entries_as_one_by_one_posting_does(self, entity):
        FiscalPeriod.objects.filter(entity=entity, start_date=date(2026, 2, 1)).update(status="closed")
        receivable = selectors.account_for(entity=entity, type=AccountType.RECEIVABLE).pk
        revenue = selectors.account_for(entity=entity, type=AccountType.REVENUE).pk
        lines = [
            LineIn(account_id=receivable, currency="EUR", debit_minor=500, customer_id=7),
            LineIn(account_id=revenue, currency="EUR", credit_minor=500),
        ]
        entries = [
            services.EntryIn(day, "bulk", "test", None, f"bulk:{day}", lines)
            for day in (date(2026, 2, 27), date(2026, 3, 2))
        ]
        with transaction.atomic():
            services.journal_entries_post_bulk(entity=entity, entries=entries, now=NOW)

        assert list(JournalEntry.objects.order_by("pk").values_list("posting_date", "dated")) == [
            (date(2026, 3, 1), date(2026, 2, 27)),
            (date(2026, 3, 2), None),
        ]

    def test_a_foreign_currency_posting_without_a_rate_names_pair_and_date(self, entity):
        with pytest.raises(UnableToConvertCurrency, match="no FX rate USD/EUR on or before 2026-03-02"):
            post(entity, currency="USD")

    def test_the_latest_earlier_rate_is_used_and_the_inverse_as_a_fallback(self, entity):
        services.fx_rates_import(
            rates=[
                FxRateIn(date(2026, 1, 1), "USD", "EUR", Decimal("0.9")),
                FxRateIn(date(2026, 4, 1), "USD", "EUR", Decimal("0.8")),
            ],
            source="t",
            now=NOW,
        )
        services.fx_rates_import(
            rates=[FxRateIn(date(2026, 1, 1), "EUR", "GBP", Decimal("0.8"))], source="t", now=NOW
        )
        usd = post(entity, currency="USD", key="usd")
        gbp = post(entity, currency="GBP", amount=8000, key="gbp")
        assert [
            (ln.functional_debit_minor, ln.functional_credit_minor) for ln in usd.lines.order_by("pk")
        ] == [(9000, 0), (0, 9000)]
        assert gbp.lines.order_by("pk").first().functional_debit_minor == 10000
        assert gbp.lines.first().fx_rate == Decimal("1.25")

    def test_a_changed_rate_is_updated_and_audited(self, entity):
        services.fx_rates_import(
            rates=[FxRateIn(date(2026, 1, 1), "USD", "EUR", Decimal("0.9"))], source="a", now=NOW
        )
        created, updated = services.fx_rates_import(
            rates=[FxRateIn(date(2026, 1, 1), "USD", "EUR", Decimal("0.91"))], source="b", now=NOW
        )
        assert (created, updated) == (0, 1)
        assert AuditEvent.objects.get(action="ledger.fx_rate.changed").changes == {
            "rate": ["0.9000000000", "0.91"]
        }


class TestReversal:
    def test_a_reversal_posts_the_mirror_image_and_leaves_the_original_untouched(self, entity):
        original = post(entity)
        reversal = services.journal_entry_reverse(
            entry_id=original.pk, posting_date=date(2026, 3, 5), reason="typo", now=NOW
        )
        assert reversal.reverses_id == original.pk
        assert sorted(reversal.lines.values_list("debit_minor", "credit_minor")) == [(0, 10000), (10000, 0)]
        assert selectors.receivable_balances() == {}
        assert selectors.receivable_balances(as_of=date(2026, 3, 4)) == {(entity.pk, 7, "EUR"): 10000}
        assert AuditEvent.objects.filter(
            action="ledger.journal_entry.reversed", object_id=original.pk
        ).exists()

    def test_a_reversal_dated_in_a_closed_period_posts_in_the_next_open_one(self, entity):
        original = post(entity)
        FiscalPeriod.objects.filter(entity=entity, start_date=date(2026, 3, 1)).update(status="closed")

        reversal = services.journal_entry_reverse(
            entry_id=original.pk, posting_date=date(2026, 3, 5), reason="typo", now=NOW
        )

        assert (reversal.posting_date, reversal.dated) == (date(2026, 4, 1), date(2026, 3, 5))

    def test_an_entry_is_reversed_only_once(self, entity):
        original = post(entity)
        services.journal_entry_reverse(
            entry_id=original.pk, posting_date=date(2026, 3, 5), reason="typo", now=NOW
        )
        with pytest.raises(UnableToReverseJournalEntry, match="already reversed"):
            services.journal_entry_reverse(
                entry_id=original.pk, posting_date=date(2026, 3, 6), reason="again", now=NOW
            )


def draft_entry(entity: LegalEntity) -> JournalEntry:
    """An entry written past the services, to test the database's own guards."""
    return JournalEntry.objects.create(
        entity=entity,
        posting_date=date(2026, 3, 2),
        description="x",
        source_type="t",
        idempotency_key="raw",
        created_at=NOW,
    )


class TestDatabaseGuards:
    def test_an_unbalanced_entry_cannot_become_posted(self, entity):
        receivable = selectors.account_for(entity=entity, type=AccountType.RECEIVABLE)
        entry = draft_entry(entity)
        JournalLine.objects.create(
            entry=entry, account=receivable, currency="EUR", debit_minor=5, functional_debit_minor=5
        )
        JournalLine.objects.create(
            entry=entry, account=receivable, currency="EUR", credit_minor=4, functional_credit_minor=4
        )
        with pytest.raises(DatabaseError, match="does not balance"), transaction.atomic():
            JournalEntry.objects.filter(pk=entry.pk).update(status="posted")

    @pytest.mark.parametrize(
        ("lines", "refusal"),
        [
            ([("EUR", 5, 0, 5, 0)], "two or more lines"),
            ([("EUR", 5, 0, 5, 0), ("USD", 0, 5, 0, 5)], "does not balance in transaction currency"),
            ([("EUR", 5, 0, 5, 0), ("EUR", 0, 5, 0, 4)], "does not balance in functional currency"),
        ],
        ids=["one line", "two currencies each unbalanced", "functional amounts unbalanced"],
    )
    def test_the_database_refuses_to_post_what_the_rules_would_refuse(self, entity, lines, refusal):
        receivable = selectors.account_for(entity=entity, type=AccountType.RECEIVABLE)
        entry = draft_entry(entity)
        for currency, debit, credit, functional_debit, functional_credit in lines:
            JournalLine.objects.create(
                entry=entry,
                account=receivable,
                currency=currency,
                debit_minor=debit,
                credit_minor=credit,
                functional_debit_minor=functional_debit,
                functional_credit_minor=functional_credit,
            )
        with pytest.raises(DatabaseError, match=refusal), transaction.atomic():
            JournalEntry.objects.filter(pk=entry.pk).update(status="posted")
        assert JournalEntry.objects.get(pk=entry.pk).status == "draft"

    def test_an_entry_cannot_be_inserted_as_posted_without_its_lines(self, entity):
        with pytest.raises(DatabaseError, match="needs two or more lines"), transaction.atomic():
            JournalEntry.objects.create(
                entity=entity,
                posting_date=date(2026, 3, 2),
                description="x",
                source_type="t",
                idempotency_key="raw",
                created_at=NOW,
                status="posted",
            )

    @pytest.mark.parametrize(
        ("debit", "credit", "functional_credit", "refusal"),
        [
            (1000, 1000, 1000, None),
            (1000, 999, 999, "does not balance in transaction currency"),
            (1000, 1000, 998, "does not balance in functional currency"),
        ],
    )
    def test_an_entry_inserted_as_posted_after_its_lines_is_checked_as_posting_checks_it(
        self, entity, debit, credit, functional_credit, refusal
    ):
        # the bulk posting path: lines under a reserved entry id, then the entry, posted
        receivable = Account.objects.get(entity=entity, code="1200")
        revenue = Account.objects.get(entity=entity, type=AccountType.REVENUE)
        [entry_id] = reserve_ids(JournalEntry, 1)

        def post_raw() -> None:
            with transaction.atomic():
                for account, debit_minor, credit_minor, functional_credit_minor in (
                    (receivable, debit, 0, 0),
                    (revenue, 0, credit, functional_credit),
                ):
                    JournalLine.objects.create(
                        entry_id=entry_id,
                        account=account,
                        currency="EUR",
                        debit_minor=debit_minor,
                        credit_minor=credit_minor,
                        functional_debit_minor=debit_minor,
                        functional_credit_minor=functional_credit_minor,
                    )
                JournalEntry.objects.create(
                    pk=entry_id,
                    entity=entity,
                    posting_date=date(2026, 3, 2),
                    description="x",
                    source_type="t",
                    idempotency_key="raw",
                    created_at=NOW,
                    status="posted",
                )

        if refusal is None:
            post_raw()
            assert JournalEntry.objects.get(pk=entry_id).status == "posted"
        else:
            with pytest.raises(DatabaseError, match=refusal):
                post_raw()
            assert not JournalEntry.objects.filter(pk=entry_id).exists()

    def test_no_line_can_be_added_to_a_posted_entry(self, entity):
        entry = post(entity)
        receivable = selectors.account_for(entity=entity, type=AccountType.RECEIVABLE)
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            JournalLine.objects.create(
                entry=entry, account=receivable, currency="EUR", debit_minor=5, functional_debit_minor=5
            )

    def test_a_line_with_two_sides_violates_a_constraint(self, entity):
        entry = draft_entry(entity)
        receivable = selectors.account_for(entity=entity, type=AccountType.RECEIVABLE)
        with pytest.raises(DatabaseError), transaction.atomic():
            JournalLine.objects.create(
                entry=entry,
                account=receivable,
                currency="EUR",
                debit_minor=5,
                credit_minor=5,
                functional_debit_minor=5,
            )


class TestAuditTrailIsAppendOnly:
    def test_an_audit_event_cannot_be_changed_or_deleted(self, customer):
        event = AuditEvent.objects.get(object_id=customer.pk, action="customers.customer.created")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).update(reason="nothing to see")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).delete()
        assert AuditEvent.objects.get(pk=event.pk).reason == ""
