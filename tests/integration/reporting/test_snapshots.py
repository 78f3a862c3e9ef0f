"""The weekly aging snapshot, taken from the aging rebuilt from history: one row per week (ending on the
ISO week's Sunday) and currency, every missing week filled once, the figures those of the aging as of
that Sunday. The history is `history.build_history` (see its docstring)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger import services as ledger_services
from o2c.ledger.models import LegalEntity
from o2c.receivables import services as receivable_services
from o2c.reporting import selectors, snapshots
from o2c.reporting.models import AgingSnapshot, CollectorAgingSnapshot
from tests.conftest import NOW, customer_in, issued_invoice
from tests.integration.reporting.history import History, build_history

pytestmark = pytest.mark.django_db

# a Monday: the week that ended on Sunday 2026-05-03 is over
MAY_4 = datetime(2026, 5, 4, 7, 0, tzinfo=UTC)


@pytest.fixture
def history(entity: LegalEntity, customer: Customer) -> History:
    return build_history(entity, customer)


def _figures(entity: LegalEntity, week: date, currency: str = "EUR") -> tuple[tuple[int, ...], int, int]:
    row = AgingSnapshot.objects.get(entity=entity, week_end_date=week, currency=currency)
    return row.buckets, row.unapplied_minor, row.disputed_minor


class TestWeeks:
    @pytest.mark.parametrize(
        ("day", "sunday"),
        [
            (date(2026, 3, 16), date(2026, 3, 22)),  # Monday
            (date(2026, 3, 22), date(2026, 3, 22)),  # Sunday itself
            (date(2026, 12, 31), date(2027, 1, 3)),  # ISO week 53 of 2026 ends in 2027
            (date(2028, 2, 29), date(2028, 3, 5)),
        ],
    )
    def test_a_week_ends_on_the_sunday_of_its_iso_week(self, day, sunday):
        assert snapshots.week_end(day) == sunday
        assert sunday.isocalendar().weekday == 7

    def test_the_last_week_taken_is_the_last_one_over_before_today(self):
        # on Sunday 2026-03-22 its own week is not over yet
        assert snapshots.last_week_over(through=date(2026, 3, 31), today=date(2026, 3, 22)) == date(
            2026, 3, 15
        )
        assert snapshots.last_week_over(through=date(2026, 3, 31), today=date(2026, 3, 23)) == date(
            2026, 3, 22
        )
        assert snapshots.last_week_over(through=date(2026, 3, 20), today=date(2026, 5, 4)) == date(
            2026, 3, 15
        )


class TestSnapshotsTake:
    def test_fills_every_week_from_the_first_posting_with_the_aging_of_its_sunday(self, entity, history):
        taken = snapshots.snapshots_take(entity=entity, through=date(2026, 4, 30), now=MAY_4)
        # INV-A posted on Friday 2026-01-02: the weeks ending 2026-01-04 ... 2026-04-26
        assert taken[0] == date(2026, 1, 4)
        assert taken[-1] == date(2026, 4, 26)
        assert len(taken) == 17
        assert AgingSnapshot.objects.filter(entity=entity).count() == 17  # one currency, EUR
        assert {row.taken_at for row in AgingSnapshot.objects.all()} == {MAY_4}
        # current, 1-30, 31-60, 61-90, 91-120, over 120; unapplied; disputed
        assert _figures(entity, date(2026, 1, 4)) == ((119000, 0, 0, 0, 0, 0), 0, 0)
        # INV-A 690.00 left after P1, 7 days past due; INV-B and INV-C not yet due
        assert _figures(entity, date(2026, 2, 8)) == ((178500, 69000, 0, 0, 0, 0), 0, 0)
        # INV-B 495.00 after CM-1 and CM-2's -50.00 past due; INV-C 790.00 after P3; P2's 510.00 on account
        assert _figures(entity, date(2026, 3, 1)) == ((79000, 44500, 0, 0, 0, 0), 51000, 0)
        # P3 reversed: INV-C 1,190.00 open again; P3's 400.00 and P4's 77.70 unapplied too
        assert _figures(entity, date(2026, 4, 26)) == ((0, 0, 119000, 44500, 0, 0), 98770, 0)

    def test_the_figures_are_the_aging_of_the_sunday_summed_over_the_customers(self, entity, history):
        snapshots.snapshots_take(entity=entity, through=date(2026, 4, 30), now=MAY_4)
        for row in AgingSnapshot.objects.filter(entity=entity):
            totals = selectors.aging(entity_ids=[entity.pk], as_of=row.week_end_date).totals_by_currency()
            total = totals.get((entity.code, row.currency))
            if total is None:
                assert row.buckets == (0,) * 6 and row.unapplied_minor == 0
            else:
                assert (row.buckets, row.unapplied_minor) == (total.buckets, -total.unapplied_minor)

    def test_taking_again_changes_nothing_and_fills_only_what_is_missing(self, entity, history):
        snapshots.snapshots_take(entity=entity, through=date(2026, 3, 31), now=MAY_4)
        before = list(AgingSnapshot.objects.order_by("pk").values_list("pk", "week_end_date", "taken_at"))
        later = datetime(2026, 5, 11, 7, 0, tzinfo=UTC)
        assert snapshots.snapshots_take(entity=entity, through=date(2026, 3, 31), now=later) == []
        taken = snapshots.snapshots_take(entity=entity, through=date(2026, 5, 10), now=later)
        assert taken == [
            date(2026, 4, 5),
            date(2026, 4, 12),
            date(2026, 4, 19),
            date(2026, 4, 26),
            date(2026, 5, 3),
            date(2026, 5, 10),
        ]
        assert (
            list(
                AgingSnapshot.objects.filter(pk__in=[pk for pk, _, _ in before])
                .order_by("pk")
                .values_list("pk", "week_end_date", "taken_at")
            )
            == before
        )
        assert (len(before), AgingSnapshot.objects.count()) == (13, 19)  # 2026-01-04 ... 03-29, then 6 more

    def test_a_week_not_over_yet_is_not_taken(self, entity, history):
        # Sunday 2026-05-03 at 23:30 in Berlin (21:30 UTC): its week is not over there
        sunday_night = datetime(2026, 5, 3, 21, 30, tzinfo=UTC)
        taken = snapshots.snapshots_take(entity=entity, through=date(2026, 5, 3), now=sunday_night)
        assert taken[-1] == date(2026, 4, 26)
        # 22:30 UTC is already Monday in Berlin
        monday = datetime(2026, 5, 3, 22, 30, tzinfo=UTC)
        assert snapshots.snapshots_take(entity=entity, through=date(2026, 5, 3), now=monday) == [
            date(2026, 5, 3)
        ]

    def test_a_limit_of_weeks_takes_only_the_last_ones(self, entity, history):
        taken = snapshots.snapshots_take(entity=entity, through=date(2026, 4, 30), now=MAY_4, weeks=3)
        assert taken == [date(2026, 4, 12), date(2026, 4, 19), date(2026, 4, 26)]

    def test_an_entity_without_postings_has_nothing_to_take(self, entity):
        assert snapshots.snapshots_take(entity=entity, through=date(2026, 4, 30), now=MAY_4) == []
        assert not AgingSnapshot.objects.exists()

    def test_disputed_documents_are_kept_with_their_open_amount(self, entity, history):
        receivable_services.disputed_flag_set(
            document_id=history.invoice_c.pk, is_disputed=True, reason="quality", actor=None, now=NOW
        )
        snapshots.snapshots_take(entity=entity, through=date(2026, 4, 30), now=MAY_4)
        assert _figures(entity, date(2026, 3, 1))[2] == 79000  # INV-C 1,190.00 less P3's 400.00
        assert _figures(entity, date(2026, 4, 26))[2] == 119000

    def test_one_row_per_currency_and_the_functional_currency_always(self, entity, history):
        ledger_services.fx_rates_import(
            rates=[ledger_services.FxRateIn(date(2026, 1, 1), "USD", "EUR", Decimal("0.9"))],
            source="test",
            now=NOW,
        )
        usd_customer = customer_services.customer_create(
            entity=entity, data=customer_in("C-3000", country="US", currency="USD"), actor=None, now=NOW
        )
        issued_invoice(usd_customer, issue_date=date(2026, 4, 20))
        snapshots.snapshots_take(entity=entity, through=date(2026, 4, 30), now=MAY_4, weeks=2)
        assert sorted(AgingSnapshot.objects.values_list("week_end_date", "currency")) == [
            (date(2026, 4, 19), "EUR"),
            (date(2026, 4, 26), "EUR"),
            (date(2026, 4, 26), "USD"),
        ]
        assert _figures(entity, date(2026, 4, 26), "USD") == ((119000, 0, 0, 0, 0, 0), 0, 0)

    def test_each_entity_has_its_own_snapshots(self, entity, other_entity, history):
        french = customer_services.customer_create(
            entity=other_entity, data=customer_in("F-1000", country="FR", language="fr"), actor=None, now=NOW
        )
        issued_invoice(french, issue_date=date(2026, 4, 20))
        snapshots.snapshots_take(entity=other_entity, through=date(2026, 4, 30), now=MAY_4)
        assert list(AgingSnapshot.objects.values_list("entity__code", "week_end_date")) == [
            ("FR01", date(2026, 4, 26))
        ]
        assert _figures(other_entity, date(2026, 4, 26)) == ((119000, 0, 0, 0, 0, 0), 0, 0)


class TestCommand:
    def test_o2c_report_snapshots_fills_the_missing_weeks_for_cron(
        self, entity, history, time_machine, capsys
    ):
        time_machine.move_to(MAY_4, tick=False)
        call_command("report", "snapshots", "--through", "2026-03-31")
        assert capsys.readouterr().err == "MAIN: 13 weekly aging snapshots taken (2026-01-04 to 2026-03-29)\n"
        call_command("report", "snapshots")  # up to the last week over: 2026-05-03
        assert capsys.readouterr().err == "MAIN: 5 weekly aging snapshots taken (2026-04-05 to 2026-05-03)\n"
        call_command("report", "snapshots", "--entity", "MAIN")
        captured = capsys.readouterr()
        assert (captured.out, captured.err) == ("", "MAIN: the weekly aging snapshots are up to date\n")
        assert AgingSnapshot.objects.count() == 18

    def test_a_bad_date_is_refused_with_the_option_named(self, entity, capsys):
        with pytest.raises(SystemExit) as exit_info:
            call_command("report", "snapshots", "--through", "31.03.2026")
        assert exit_info.value.code == 2
        assert "--through: '31.03.2026' is not an ISO 8601 date (YYYY-MM-DD)" in capsys.readouterr().err
        assert not AgingSnapshot.objects.exists()


class TestByCollector:
    """Each week's aging is also kept per collector's portfolio (customers without a collector
    together), for the dashboard's collector filter."""

    def test_each_week_is_split_by_the_collectors_portfolios(self, entity, history):
        claire = User.objects.create_user("claire")
        Customer.objects.filter(number="C-1000").update(collector=claire)

        snapshots.snapshots_take(entity=entity, through=date(2026, 4, 30), now=MAY_4)

        # 2026-03-01: C-1000's INV-B 495.00 past due; C-2000's INV-C 790.00 current and CM-2 -50.00
        # P2's 510.00 on C-1000's account since 2026-02-25; P4's 77.70 nobody identified is in no portfolio
        rows = {
            (row.collector_id, row.currency): (row.buckets, row.unapplied_minor, row.disputed_minor)
            for row in CollectorAgingSnapshot.objects.filter(entity=entity, week_end_date=date(2026, 3, 1))
        }
        assert rows == {
            (claire.pk, "EUR"): ((0, 49500, 0, 0, 0, 0), 51000, 0),
            (None, "EUR"): ((79000, -5000, 0, 0, 0, 0), 0, 0),
        }
        # from 2026-03-05 P3's 400.00 is C-2000's unapplied cash
        late = CollectorAgingSnapshot.objects.get(
            entity=entity, week_end_date=date(2026, 4, 26), collector=None
        )
        assert late.unapplied_minor == 40000
        weeks = snapshots.collector_weeks_taken(entity=entity, first=date(2026, 1, 4), last=date(2026, 4, 26))
        assert len(weeks) == 17
        listed = snapshots.collector_snapshots_list(
            entity=entity,
            currency="EUR",
            collector_id=claire.pk,
            first=date(2026, 2, 22),
            last=date(2026, 3, 8),
        )
        assert [(row.week_end_date, sum(row.buckets)) for row in listed] == [
            (date(2026, 2, 22), 49500),
            (date(2026, 3, 1), 49500),
            (date(2026, 3, 8), 49500),
        ]

    def test_weeks_taken_before_the_split_existed_are_split_the_next_time(self, entity, history):
        snapshots.snapshots_take(entity=entity, through=date(2026, 4, 30), now=MAY_4)
        CollectorAgingSnapshot.objects.all().delete()
        kept = list(AgingSnapshot.objects.order_by("pk").values_list("pk", "taken_at"))
        later = datetime(2026, 5, 5, 7, 0, tzinfo=UTC)

        assert snapshots.snapshots_take(entity=entity, through=date(2026, 4, 30), now=later) == []

        assert list(AgingSnapshot.objects.order_by("pk").values_list("pk", "taken_at")) == kept
        split = CollectorAgingSnapshot.objects.filter(entity=entity, week_end_date=date(2026, 3, 1))
        assert {(row.collector_id, row.buckets, row.taken_at) for row in split} == {
            (None, (79000, 44500, 0, 0, 0, 0), later)
        }
