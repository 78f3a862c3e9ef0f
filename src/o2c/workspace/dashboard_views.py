"""The AR dashboard for managers (docs/reporting.md, Dashboard): the aging stacked by bucket week by week
(from the weekly aging snapshots, the missing weeks filled when the page opens), the DSO and CEI of the
last twelve month ends, the ten customers most past due, unapplied cash and disputed amounts today.

For AR managers, auditors and admins (VIEW_DASHBOARD, 403 for the other roles), within the legal entities
granted to the person: another entity is a 404, as everywhere. Filters: entity, currency and collector
(the collector's portfolio in the cards, the aging by week and the customers; DSO and CEI stay the
entity's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import format_compact_currency, format_currency, format_decimal, get_currency_symbol
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from o2c.core import clock
from o2c.core.exceptions import DomainError
from o2c.customers import selectors as customer_selectors
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.reporting import exports, selectors, snapshots
from o2c.workspace import charts
from o2c.workspace.context_processors import VIEW_DASHBOARD
from o2c.workspace.templatetags.o2c_format import current_locale, minor_to_decimal, money
from o2c.workspace.views import role_required

TREND_MONTHS = 12
TOP_PAST_DUE = 10
KPI_CHART_WIDTH = 560  # two side by side
# one colour per aging bucket, from fresh to old (distinguishable in grey and for red-green blindness)
BUCKET_COLORS = ("#2a9d8f", "#8ab17d", "#e9c46a", "#f4a261", "#e76f51", "#9b2226")
DSO_COLOR, BEST_DSO_COLOR, CEI_COLOR = "#264653", "#8ab17d", "#6a4c93"


@dataclass(frozen=True)
class PastDue:
    customer_id: int
    customer_number: str
    customer_name: str
    past_due_minor: int
    over_90_minor: int
    open_minor: int


@dataclass(frozen=True)
class WeekFigures:
    """One week of the aging chart and its table."""

    week_end_date: date
    buckets: tuple[int, ...]
    unapplied_minor: int
    disputed_minor: int

    @property
    def receivable_minor(self) -> int:
        return sum(self.buckets)


@dataclass(frozen=True)
class TrendPoint:
    month_end: date
    dso: Decimal | None
    best_possible_dso: Decimal | None
    cei: Decimal | None


def _entity(request: HttpRequest, granted: list[LegalEntity]) -> LegalEntity:
    """The entity of the filter (its code); without one the default entity if granted, else the first.
    One not granted is a 404, as if it did not exist."""
    code = request.GET.get("entity", "")
    if code:
        for entity in granted:
            if entity.code == code:
                return entity
        raise Http404
    return next((e for e in granted if e.is_default), granted[0])


def _collector(request: HttpRequest, collectors: list[tuple[int, str]]) -> int | None:
    """The collector of the filter (a user id among the entity's collectors); None for everyone."""
    chosen = request.GET.get("collector", "")
    return next((pk for pk, _ in collectors if str(pk) == chosen), None)


def _weeks(
    entity: LegalEntity, currency: str, collector_id: int | None, first: date, last: date
) -> list[WeekFigures]:
    """The weeks of the aging chart: the entity's snapshots, or the collector's portfolio in them (a
    week the collector had nothing open in the currency is zeros)."""
    weeks = snapshots.snapshots_list(entity=entity, currency=currency, first=first, last=last)
    if collector_id is None:
        return [
            WeekFigures(week.week_end_date, week.buckets, week.unapplied_minor, week.disputed_minor)
            for week in weeks
        ]
    owned = {
        row.week_end_date: WeekFigures(
            row.week_end_date, row.buckets, row.unapplied_minor, row.disputed_minor
        )
        for row in snapshots.collector_snapshots_list(
            entity=entity, currency=currency, collector_id=collector_id, first=first, last=last
        )
    }
    empty = (0,) * len(selectors.BUCKETS)
    return [owned.get(week.week_end_date, WeekFigures(week.week_end_date, empty, 0, 0)) for week in weeks]


def month_ends(today: date, count: int = TREND_MONTHS) -> list[date]:
    """The last `count` month ends before `today`, oldest first."""
    end = today.replace(day=1) - timedelta(days=1)
    ends = []
    for _step in range(count):
        ends.append(end)
        end = end.replace(day=1) - timedelta(days=1)
    return ends[::-1]


def _trend(entity: LegalEntity, today: date, collector_id: int | None) -> tuple[list[TrendPoint], str]:
    """The KPIs of each of the last month ends (kept once computed: reporting.MonthEndKpis), the entity's
    or the collector's portfolio's, or why there are none."""
    try:
        kept = snapshots.month_end_kpis(
            entity=entity, month_ends=month_ends(today), now=clock.now(), collector_id=collector_id
        )
    except DomainError as error:
        return [], error.message
    return [TrendPoint(row.month_end, row.dso, row.best_possible_dso, row.cei) for row in kept], ""


def _past_due(report: selectors.AgingReport, currency: str) -> list[PastDue]:
    rows = [
        PastDue(
            customer_id=row.customer_id,
            customer_number=row.customer_number,
            customer_name=row.customer_name,
            past_due_minor=sum(row.buckets[1:]),
            over_90_minor=sum(row.buckets[4:]),
            open_minor=row.receivable_minor,
        )
        for row in report.rows
        if row.currency == currency and row.customer_id is not None and sum(row.buckets[1:]) > 0
    ]
    rows.sort(key=lambda row: (-row.past_due_minor, row.customer_number))
    return rows[:TOP_PAST_DUE]


def axis_amount(minor: int, currency: str, locale: str) -> str:
    """An amount on an axis, short: "€1.5K", "600 k €", "1,5 Mio. €"; where the language has no short
    form for it (German thousands) the whole amount without decimals, grouped ("600.000 €")."""
    value = minor_to_decimal(minor, currency)
    short = format_compact_currency(value, currency, locale=locale, fraction_digits=1)
    if any(char.isalpha() for char in short.replace(get_currency_symbol(currency, locale=locale), "")):
        return short
    pattern = Locale.parse(locale).currency_formats["standard"].pattern.split(";")[0]
    whole = re.sub(r"0\.0+", "0", pattern)
    return format_currency(value, currency, format=whole, locale=locale, currency_digits=False)


def _aging_chart(weeks: list[Any], currency: str, locale: str) -> charts.Chart:
    labels = exports.bucket_labels()
    series = [
        charts.Series(
            key=bucket,
            label=str(labels[bucket]),
            color=color,
            values=[week.buckets[index] for week in weeks],
        )
        for index, (bucket, color) in enumerate(zip(selectors.BUCKETS, BUCKET_COLORS, strict=True))
    ]
    dates = [format_skeleton("MMMd", week.week_end_date, locale=locale) for week in weeks]
    return charts.stacked_bars(
        categories=dates,
        series=series,
        tick_label=lambda minor: axis_amount(int(minor), currency, locale),
        bar_title=lambda index, item, minor: (
            _("%(bucket)s, week ending %(date)s: %(amount)s")
            % {
                "bucket": item.label,
                "date": format_date(weeks[index].week_end_date, format="medium", locale=locale),
                "amount": money(int(minor), currency),
            }
        ),
    )


def _kpi_chart(points: list[TrendPoint], series: list[charts.Series], unit: str, locale: str) -> charts.Chart:
    def number(value: Decimal) -> str:
        return format_decimal(value, format="#,##0.##", locale=locale)

    return charts.lines(
        categories=[format_skeleton("yMMM", point.month_end, locale=locale) for point in points],
        series=series,
        tick_label=number,
        max_labels=6,
        width=KPI_CHART_WIDTH,
        point_title=lambda index, item, value: (
            _("%(kpi)s, %(date)s: %(value)s %(unit)s")
            % {
                "kpi": item.label,
                "date": format_date(points[index].month_end, format="medium", locale=locale),
                "value": number(Decimal(value)),
                "unit": unit,
            }
        ),
    )


@role_required(VIEW_DASHBOARD)
@require_GET
def ar_dashboard(request: HttpRequest) -> HttpResponse:
    granted = list(ledger_selectors.entities_for_user(request.user))
    if not granted:
        return render(request, "workspace/dashboard/dashboard.html", {"entity": None})
    entity = _entity(request, granted)
    now = clock.now()
    today = clock.today_in(entity.time_zone)
    # the weekly snapshots are kept up to date by whoever looks first
    snapshots.snapshots_take(entity=entity, through=today, now=now, weeks=snapshots.DASHBOARD_WEEKS)
    last = snapshots.last_week_over(through=today, today=today)
    first = last - snapshots.WEEK * (snapshots.DASHBOARD_WEEKS - 1)
    report = selectors.aging(entity_ids=[entity.pk], as_of=today)
    currencies = snapshots.snapshot_currencies(entity=entity, first=first, last=last)
    currencies += sorted({row.currency for row in report.rows} - set(currencies))
    currency = request.GET.get("currency", "")
    if currency not in currencies:
        currency = entity.currency
    locale = current_locale()
    collectors = customer_selectors.collectors_in(entity_id=entity.pk)
    collector_id = _collector(request, collectors)
    portfolio: set[int] | None = None
    if collector_id is not None:
        portfolio = customer_selectors.portfolio_of(entity_id=entity.pk, collector_id=collector_id)
        report = replace(report, rows=[row for row in report.rows if row.customer_id in portfolio])

    weeks = _weeks(entity, currency, collector_id, first, last)
    totals = report.totals_by_currency().get((entity.code, currency))
    trend, trend_error = _trend(entity, today, collector_id)
    dso_label, best_label, cei_label = _("DSO"), _("Best possible DSO"), _("CEI")
    context = {
        "entity": entity,
        "entities": granted,
        "currency": currency,
        "currencies": currencies,
        "collectors": collectors,
        "collector_id": collector_id,
        "today": today,
        "weeks": weeks,
        "bucket_labels": [exports.bucket_labels()[bucket] for bucket in selectors.BUCKETS],
        "aging_chart": _aging_chart(weeks, currency, locale) if weeks else None,
        "open_minor": totals.receivable_minor if totals else 0,
        "past_due_minor": sum(totals.buckets[1:]) if totals else 0,
        "unapplied_minor": -totals.unapplied_minor if totals else 0,
        "disputed_minor": selectors.disputed_open(
            entity_ids=[entity.pk], as_of=today, customer_ids=portfolio
        ).get(currency, 0),
        "past_due": _past_due(report, currency),
        "trend": trend,
        "trend_error": trend_error,
        "latest": trend[-1] if trend else None,
        "dso_chart": _kpi_chart(
            trend,
            [
                charts.Series("dso", dso_label, DSO_COLOR, [p.dso for p in trend]),
                charts.Series(
                    "best_possible_dso", best_label, BEST_DSO_COLOR, [p.best_possible_dso for p in trend]
                ),
            ],
            _("days"),
            locale,
        )
        if trend
        else None,
        "cei_chart": _kpi_chart(
            trend, [charts.Series("cei", cei_label, CEI_COLOR, [p.cei for p in trend])], "%", locale
        )
        if trend
        else None,
    }
    return render(request, "workspace/dashboard/dashboard.html", context)
