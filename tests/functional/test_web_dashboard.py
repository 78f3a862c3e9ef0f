"""The AR dashboard: who may open it, that it shows only the granted entities, and its figures, to the cent,
on the hand-built history of tests/integration/reporting/history.py seen on Monday 2026-05-04.

On that day C-1000 owes INV-B 495.00 (79 days past due) and C-2000 INV-C 1,190.00 (62 days) less its open
credit memo CM-2 50.00: 1,635.00 open and all of it past due; P2's 510.00, P3's 400.00 and P4's 77.70 are
unapplied (987.70). The weeks ending 2026-01-04 (the first posting was on Friday 2026-01-02) to 2026-05-03
are over: 18 weekly snapshots. The KPIs of the month ends 2025-05-31 ... 2026-04-30 (docs/kpis.md):

| month end  | AR       | sales, 90 days | current AR | DSO    | best DSO | CEI of the month          |
| 2026-01-31 | 1,785.00 | 1,785.00       | 1,785.00   | 90.00  | 90.00    | — (nothing collectible)   |
| 2026-02-28 | 1,635.00 | 2,825.00       | 1,190.00   | 52.09  | 37.91    | 1,190 ÷ 1,635 × 100 = 72.78 |
| 2026-03-31 | 1,635.00 | 2,825.00       | 0.00       | 52.09  | 0.00     | 0.00                      |
| 2026-04-30 | 1,635.00 | 1,040.00       | 0.00       | 141.49 | 0.00     | 0.00                      |

(February's CEI: AR on 2026-01-31 1,785.00 + the month's net sales 1,040.00 − AR 1,635.00, over the same less
current AR 1,190.00), and no DSO nor CEI before (no sales).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from o2c.customers import services as customer_services
from o2c.receivables import services as receivable_services
from o2c.reporting.models import AgingSnapshot
from tests.conftest import NOW, customer_in, issued_invoice, make_user
from tests.integration.reporting.history import History, build_history

pytestmark = pytest.mark.django_db

MAY_4 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(MAY_4, tick=False)


@pytest.fixture
def history(entity, customer) -> History:
    return build_history(entity, customer)


@pytest.fixture
def manager(entity):
    return make_user("maria", "ar_manager", entities=[entity])


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


class TestAccess:
    def test_someone_not_signed_in_is_sent_to_the_login_page(self, client):
        response = client.get(reverse("ar_dashboard"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    @pytest.mark.parametrize("role", ["billing", "cash_application", "collector", "disputes", "credit"])
    def test_a_role_without_the_dashboard_is_refused(self, client, entity, role):
        client.force_login(make_user("someone", role, entities=[entity]))
        assert client.get(reverse("ar_dashboard")).status_code == 403
        assert not AgingSnapshot.objects.exists()

    @pytest.mark.parametrize("role", ["ar_manager", "auditor", "admin"])
    def test_managers_auditors_and_admins_open_it_and_find_it_in_the_menu(self, client, entity, role):
        client.force_login(make_user("someone", role, entities=[entity]))
        response = client.get(reverse("ar_dashboard"))
        assert response.status_code == 200
        assert f'href="{reverse("ar_dashboard")}" aria-current="page">Dashboard<' in response.content.decode()

    def test_the_menu_of_other_roles_has_no_dashboard(self, client, billing_user):
        client.force_login(billing_user)
        assert reverse("ar_dashboard") not in client.get(reverse("home")).content.decode()

    def test_a_person_without_any_entity_is_told_so(self, client, db):
        client.force_login(make_user("nobody", "ar_manager"))
        response = client.get(reverse("ar_dashboard"))
        assert "No legal entity is granted to you yet." in response.content.decode()


class TestEntities:
    def test_an_entity_not_granted_is_not_found_and_nothing_is_taken_for_it(
        self, client, manager, other_entity
    ):
        french = customer_services.customer_create(
            entity=other_entity, data=customer_in("F-1000", country="FR"), actor=None, now=NOW
        )
        issued_invoice(french, issue_date=date(2026, 4, 1))
        client.force_login(manager)
        assert client.get(reverse("ar_dashboard"), {"entity": "FR01"}).status_code == 404
        assert not AgingSnapshot.objects.filter(entity=other_entity).exists()

    def test_another_entitys_data_is_not_shown(self, client, manager, history, other_entity):
        french = customer_services.customer_create(
            entity=other_entity,
            data=customer_in("F-1000", name="Dupont SARL", country="FR"),
            actor=None,
            now=NOW,
        )
        issued_invoice(french, issue_date=date(2026, 1, 5))  # 1,190.00 long past due
        client.force_login(manager)
        response = client.get(reverse("ar_dashboard"))
        text = _text(response)
        assert "F-1000" not in text and "Dupont" not in text and "FR01" not in text
        assert [e.code for e in response.context["entities"]] == ["MAIN"]
        assert response.context["open_minor"] == 163500

    def test_someone_granted_both_chooses_the_entity(self, client, history, entity, other_entity):
        french = customer_services.customer_create(
            entity=other_entity,
            data=customer_in("F-1000", name="Dupont SARL", country="FR"),
            actor=None,
            now=NOW,
        )
        issued_invoice(french, issue_date=date(2026, 1, 5))
        client.force_login(make_user("both", "ar_manager", entities=[entity, other_entity]))
        response = client.get(reverse("ar_dashboard"), {"entity": "FR01"})
        assert response.context["entity"] == other_entity
        assert [row.customer_number for row in response.context["past_due"]] == ["F-1000"]
        assert "C-1000" not in _text(response)


class TestFigures:
    def test_the_cards_show_today_open_past_due_unapplied_and_disputed(self, client, manager, history):
        receivable_services.disputed_flag_set(
            document_id=history.invoice_c.pk, is_disputed=True, reason="quality", actor=None, now=NOW
        )
        client.force_login(manager)
        text = _text(client.get(reverse("ar_dashboard")))
        assert 'id="card-open">€1,635.00<' in text
        assert 'id="card-past-due">€1,635.00<' in text
        assert 'id="card-unapplied">€987.70<' in text
        assert 'id="card-disputed">€1,190.00<' in text
        assert "DSO on Apr 30, 2026" in text
        assert 'id="card-dso">141.49 days<' in text
        assert 'id="card-cei">0 %<' in text

    def test_opening_it_takes_the_missing_weekly_snapshots_once(self, client, manager, history, entity):
        client.force_login(manager)
        response = client.get(reverse("ar_dashboard"))
        weeks = [week.week_end_date for week in response.context["weeks"]]
        assert (weeks[0], weeks[-1], len(weeks)) == (date(2026, 1, 4), date(2026, 5, 3), 18)
        assert AgingSnapshot.objects.filter(entity=entity).count() == 18
        taken_at = set(AgingSnapshot.objects.values_list("taken_at", flat=True))
        client.get(reverse("ar_dashboard"))
        assert AgingSnapshot.objects.count() == 18
        assert set(AgingSnapshot.objects.values_list("taken_at", flat=True)) == taken_at

    def test_the_aging_chart_stacks_each_week_by_bucket_with_a_table_of_the_figures(
        self, client, manager, history
    ):
        client.force_login(manager)
        response = client.get(reverse("ar_dashboard"))
        chart = response.context["aging_chart"]
        # 18 weeks, every other one labelled, the newest always
        assert len(chart.x_ticks) == 9
        assert chart.x_ticks[-1].label == "May 3"
        # 2026-03-01: current INV-C 790.00 after P3; 1-30 days INV-B 495.00 and CM-2's -50.00
        assert [bar.title for bar in chart.bars if "Mar 1, 2026" in bar.title] == [
            "Current, week ending Mar 1, 2026: €790.00",
            "1-30 days, week ending Mar 1, 2026: €445.00",
        ]
        # one bar per bucket with an amount: one a week, two in the weeks of Feb 8 to Mar 1, Mar 22 and 29,
        # Apr 19 and 26
        assert len(chart.bars) == 26
        text = _text(response)
        assert '<svg id="aging-chart"' in text
        assert '<title id="aging-chart-title">Aging by week</title>' in text
        assert "at the end of each of the last 18 weeks" in text
        row = re.search(r"<tr><td>Mar 1, 2026</td>(.*?)</tr>", text)
        assert row is not None
        assert re.findall(r'<td class="o2c-num">([^<]*)</td>', row.group(1)) == [
            "790.00",
            "445.00",
            "0.00",
            "0.00",
            "0.00",
            "0.00",
            "1,235.00",
            "510.00",
            "0.00",
        ]

    def test_the_kpi_trend_shows_dso_and_cei_of_the_last_twelve_month_ends(self, client, manager, history):
        client.force_login(manager)
        response = client.get(reverse("ar_dashboard"))
        trend = response.context["trend"]
        assert [point.month_end for point in trend][:2] == [date(2025, 5, 31), date(2025, 6, 30)]
        assert len(trend) == 12 and trend[-1].month_end == date(2026, 4, 30)
        assert [(str(p.dso), str(p.best_possible_dso), str(p.cei)) for p in trend[-4:]] == [
            ("90.00", "90.00", "None"),
            ("52.09", "37.91", "72.78"),
            ("52.09", "0.00", "0.00"),
            ("141.49", "0.00", "0.00"),
        ]
        assert all(p.dso is None and p.cei is None for p in trend[:-4])
        # the lines have a point where there is a value: DSO and best possible DSO 4 each, CEI 3
        assert len(response.context["dso_chart"].points) == 8
        assert len(response.context["cei_chart"].points) == 3
        text = _text(response)
        assert (
            '<tr><td>Feb 28, 2026</td><td class="o2c-num">52.09</td><td class="o2c-num">37.91</td></tr>'
            in text
        )
        assert '<tr><td>Feb 28, 2026</td><td class="o2c-num">72.78 %</td></tr>' in text
        assert '<tr><td>Jan 31, 2026</td><td class="o2c-num">—</td></tr>' in text

    def test_the_month_end_kpis_are_computed_once_and_kept(self, client, manager, history, entity):
        from o2c.reporting import selectors
        from o2c.reporting.models import MonthEndKpis

        client.force_login(manager)
        client.get(reverse("ar_dashboard"))
        kept = list(MonthEndKpis.objects.filter(entity=entity).order_by("month_end"))
        assert [row.month_end for row in kept][-2:] == [date(2026, 3, 31), date(2026, 4, 30)]
        assert len(kept) == 12
        april = kept[-1]
        computed = selectors.kpis(entity=entity, as_of=date(2026, 4, 30)).kpis
        assert (str(april.dso), str(april.best_possible_dso), str(april.cei), april.currency) == (
            "141.49",
            "0.00",
            "0.00",
            "EUR",
        )
        assert (april.unapplied_minor, april.disputed_minor) == (computed.unapplied_minor, 0)
        assert str(april.percent_current) == str(computed.percent_current.quantize(Decimal("0.01")))
        taken_at = {row.pk: row.taken_at for row in kept}

        client.get(reverse("ar_dashboard"))

        again = {row.pk: row.taken_at for row in MonthEndKpis.objects.filter(entity=entity)}
        assert again == taken_at

    def test_the_most_past_due_customers_come_first(self, client, manager, history):
        client.force_login(manager)
        response = client.get(reverse("ar_dashboard"))
        assert [
            (row.customer_number, row.past_due_minor, row.over_90_minor, row.open_minor)
            for row in response.context["past_due"]
        ] == [("C-2000", 114000, 0, 114000), ("C-1000", 49500, 0, 49500)]
        assert "€1,140.00" in _text(response)

    def test_only_ten_customers_are_listed(self, client, manager, entity):
        for number in range(12):
            buyer = customer_services.customer_create(
                entity=entity, data=customer_in(f"C-9{number:03d}"), actor=None, now=NOW
            )
            issued_invoice(buyer, issue_date=date(2026, 1, 5 + number))
        client.force_login(manager)
        rows = client.get(reverse("ar_dashboard")).context["past_due"]
        # all 1,190.00 past due: by customer number
        assert [row.customer_number for row in rows] == [f"C-9{n:03d}" for n in range(10)]

    def test_another_currency_is_chosen_with_the_filter(self, client, manager, history, entity):
        from decimal import Decimal

        from o2c.ledger import services as ledger_services

        ledger_services.fx_rates_import(
            rates=[ledger_services.FxRateIn(date(2026, 1, 1), "USD", "EUR", Decimal("0.9"))],
            source="test",
            now=NOW,
        )
        american = customer_services.customer_create(
            entity=entity, data=customer_in("U-1", country="US", currency="USD"), actor=None, now=NOW
        )
        issued_invoice(american, issue_date=date(2026, 2, 2))
        client.force_login(manager)
        response = client.get(reverse("ar_dashboard"), {"currency": "USD"})
        assert response.context["currencies"] == ["EUR", "USD"]
        assert response.context["currency"] == "USD"
        text = _text(response)
        assert 'id="card-open">$1,190.00<' in text
        assert [row.customer_number for row in response.context["past_due"]] == ["U-1"]
        # an unknown currency falls back to the entity's own
        assert client.get(reverse("ar_dashboard"), {"currency": "XYZ"}).context["currency"] == "EUR"

    def test_a_collector_chosen_shows_that_collectors_portfolio(self, client, manager, history, entity):
        from django.contrib.auth.models import User

        from o2c.customers.models import Customer

        receivable_services.disputed_flag_set(
            document_id=history.invoice_c.pk, is_disputed=True, reason="quality", actor=None, now=NOW
        )
        claire = User.objects.create_user("claire")
        Customer.objects.filter(number="C-1000").update(collector=claire)
        client.force_login(manager)

        response = client.get(reverse("ar_dashboard"), {"collector": str(claire.pk)})

        assert response.context["collectors"] == [(claire.pk, "claire")]
        assert response.context["collector_id"] == claire.pk
        text = _text(response)
        # C-1000: INV-B's 495.00 past due, P2's 510.00 on account; C-2000's disputed INV-C is not hers
        assert 'id="card-open">€495.00<' in text
        assert 'id="card-past-due">€495.00<' in text
        assert 'id="card-unapplied">€510.00<' in text
        assert 'id="card-disputed">€0.00<' in text
        assert [row.customer_number for row in response.context["past_due"]] == ["C-1000"]
        weeks = {week.week_end_date: week for week in response.context["weeks"]}
        assert len(weeks) == 18
        assert (weeks[date(2026, 1, 4)].buckets, weeks[date(2026, 3, 1)].buckets) == (
            (119000, 0, 0, 0, 0, 0),
            (0, 49500, 0, 0, 0, 0),
        )
        assert (weeks[date(2026, 3, 1)].unapplied_minor, weeks[date(2026, 3, 1)].disputed_minor) == (51000, 0)
        # DSO and CEI of her portfolio: on 28 February C-1000 owed INV-B's 495.00 of 1,685.00 sales in 90
        # days (INV-A, INV-B, less CM-1): 495 / 1,685 x 90 = 26.44
        february = {point.month_end: point for point in response.context["trend"]}[date(2026, 2, 28)]
        assert february.dso == Decimal("26.44")
        # an unknown collector is everyone
        everyone = client.get(reverse("ar_dashboard"), {"collector": "999999"})
        assert everyone.context["collector_id"] is None
        assert 'id="card-open">€1,635.00<' in _text(everyone)
        # the entity's: C-2000's INV-C and CM-2 too, 1,635 / 2,825 x 90 = 52.09
        february = {point.month_end: point for point in everyone.context["trend"]}[date(2026, 2, 28)]
        assert february.dso == Decimal("52.09")

    def test_a_german_reader_reads_german_amounts_and_dates(self, client, manager, history):
        client.force_login(manager)
        client.post(reverse("language_set"), {"language": "de", "next": "/"})
        text = _text(client.get(reverse("ar_dashboard")))
        assert 'id="card-open">1.635,00 €<' in text  # _text makes the no-break space a space
        assert ">3. Mai<" in text  # the newest week on the x axis
        assert ">3.000 €<" in text  # the top of the amount axis, grouped (German has no short thousands)
        assert "Altersstruktur nach Woche" in text
