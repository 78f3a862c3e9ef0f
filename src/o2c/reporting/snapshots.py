"""The weekly aging snapshot: the aging of each legal entity and currency at the end of every week, kept
so the dashboard's trend reads a few rows instead of rebuilding a year of agings on every visit.

A week is the ISO week, Monday to Sunday, and its snapshot is the aging as of its Sunday, on the due
basis (`o2c.reporting.selectors`, rebuilt from history). A week is snapshotted once it is over in the
entity's time zone (from Monday on), with one row per currency that has anything open, unapplied or
disputed, and always one in the entity's functional currency (zeros when nothing is open), which marks
the week as taken. Taking is idempotent: a week already taken is never taken again (unique per entity,
week and currency), so a snapshot keeps the figures as they were known when it was taken.

`snapshots_take` fills every week missing up to a date; the dashboard calls it for the last weeks it
shows and `o2c report snapshots` for cron.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Min

from o2c.customers import selectors as customer_selectors
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.reporting import selectors
from o2c.reporting.calculations import rounded
from o2c.reporting.models import BUCKET_FIELDS, AgingSnapshot, CollectorAgingSnapshot, MonthEndKpis

WEEK = timedelta(days=7)
# how many weeks the dashboard shows, and fills when they are missing
DASHBOARD_WEEKS = 26


def week_end(day: date) -> date:
    """The Sunday that ends the ISO week of `day` (`day` itself on a Sunday)."""
    return day + timedelta(days=6 - day.weekday())


def last_week_over(*, through: date, today: date) -> date:
    """The last Sunday on or before `through` whose week is over on `today` (before `today`)."""
    last = min(through, today - timedelta(days=1))
    return last - timedelta(days=(last.weekday() + 1) % 7)


def first_activity(*, entity: LegalEntity) -> date | None:
    """The posting date of the entity's first journal entry: before it every aging is empty."""
    first: date | None = (
        ledger_selectors.posted_lines(entity_ids=[entity.pk])
        .aggregate(first=Min("entry__posting_date"))
        .get("first")
    )
    return first


def weeks_taken(*, entity: LegalEntity, first: date, last: date) -> set[date]:
    return set(
        AgingSnapshot.objects.filter(
            entity=entity, week_end_date__gte=first, week_end_date__lte=last, currency=entity.currency
        ).values_list("week_end_date", flat=True)
    )


def _collector_rows(
    *,
    entity: LegalEntity,
    week: date,
    now: datetime,
    by_customer: dict[selectors.Key, list[int]],
    unapplied: dict[selectors.Key, int],
    disputed: dict[selectors.Key, list[int]],
    collectors: dict[int, int | None],
) -> list[CollectorAgingSnapshot]:
    """The week's aging per collector and currency, from the open items, the unapplied cash and the
    disputed items per customer, and always the row of the customers without a collector in the
    functional currency (the week's mark). Cash nobody identified is in no portfolio."""
    count = len(selectors.BUCKETS)
    figures: dict[tuple[int | None, str], list[int]] = defaultdict(lambda: [0] * (count + 2))
    figures[(None, entity.currency)] = [0] * (count + 2)

    def group(customer_id: int | None, currency: str) -> list[int]:
        return figures[(collectors.get(customer_id) if customer_id is not None else None, currency)]

    for (_, customer_id, currency), values in by_customer.items():
        sums = group(customer_id, currency)
        for index, value in enumerate(values):
            sums[index] += value
    for (_, customer_id, currency), balance in unapplied.items():
        if customer_id is not None:
            group(customer_id, currency)[count] += balance
    for (_, customer_id, currency), values in disputed.items():
        group(customer_id, currency)[count + 1] += sum(values)
    return [
        CollectorAgingSnapshot(
            entity=entity,
            week_end_date=week,
            currency=currency,
            collector_id=collector_id,
            **dict(zip(BUCKET_FIELDS, values[:count], strict=True)),
            unapplied_minor=values[count],
            disputed_minor=values[count + 1],
            taken_at=now,
        )
        for (collector_id, currency), values in figures.items()
    ]


def _week_figures(
    entity: LegalEntity, week: date
) -> tuple[dict[selectors.Key, list[int]], dict[selectors.Key, int], dict[selectors.Key, list[int]]]:
    """The week's open items, unapplied cash and disputed items per customer and currency."""
    ids = [entity.pk]
    return (
        selectors.open_items_by_bucket(entity_ids=ids, as_of=week),
        selectors.unapplied_cash(entity_ids=ids, as_of=week),
        selectors.open_items_by_bucket(entity_ids=ids, as_of=week, disputed_only=True),
    )


def _snapshot_rows(
    *, entity: LegalEntity, week: date, now: datetime, collectors: dict[int, int | None]
) -> tuple[list[AgingSnapshot], list[CollectorAgingSnapshot]]:
    """The snapshot of one week: per currency, the aging's buckets summed over the customers, the
    unapplied cash (identified or not) and the open amount of the disputed documents; and the same per
    collector."""
    by_customer, unapplied_by_customer, disputed_by_customer = _week_figures(entity, week)
    buckets: dict[str, list[int]] = defaultdict(lambda: [0] * len(selectors.BUCKETS))
    for (_, _, currency), values in by_customer.items():
        for index, value in enumerate(values):
            buckets[currency][index] += value
    unapplied: dict[str, int] = defaultdict(int)
    for (_, _, currency), balance in unapplied_by_customer.items():
        unapplied[currency] += balance
    disputed: dict[str, int] = defaultdict(int)
    for (_, _, currency), values in disputed_by_customer.items():
        disputed[currency] += sum(values)
    currencies = {entity.currency} | set(buckets) | set(unapplied) | set(disputed)
    rows = []
    for currency in sorted(currencies):
        values = buckets.get(currency, [0] * len(selectors.BUCKETS))
        rows.append(
            AgingSnapshot(
                entity=entity,
                week_end_date=week,
                currency=currency,
                **dict(zip(BUCKET_FIELDS, values, strict=True)),
                unapplied_minor=unapplied.get(currency, 0),
                disputed_minor=disputed.get(currency, 0),
                taken_at=now,
            )
        )
    return rows, _collector_rows(
        entity=entity,
        week=week,
        now=now,
        by_customer=by_customer,
        unapplied=unapplied_by_customer,
        disputed=disputed_by_customer,
        collectors=collectors,
    )


def snapshots_take(
    *, entity: LegalEntity, through: date, now: datetime, weeks: int | None = None
) -> list[date]:
    """Take the snapshot of every week of the entity that is missing, ending on or before `through` and
    over by `now` (in the entity's time zone), from the week of the entity's first posting (before it
    every aging is empty), at most the last `weeks` weeks when given. Returns the week end dates taken,
    oldest first; a week taken by someone else meanwhile is left as it is (the unique key)."""
    today = now.astimezone(ZoneInfo(entity.time_zone)).date()
    last = last_week_over(through=through, today=today)
    started = first_activity(entity=entity)
    if started is None:
        return []
    first = week_end(started)
    if weeks is not None:
        first = max(first, last - WEEK * (weeks - 1))
    if first > last:
        return []
    taken = weeks_taken(entity=entity, first=first, last=last)
    split = collector_weeks_taken(entity=entity, first=first, last=last)
    missing = []
    week = first
    collectors = customer_selectors.collectors_of(entity_id=entity.pk)
    while week <= last:
        if week not in taken:
            missing.append(week)
            rows, by_collector = _snapshot_rows(entity=entity, week=week, now=now, collectors=collectors)
            with transaction.atomic():
                AgingSnapshot.objects.bulk_create(rows, ignore_conflicts=True)
                if week not in split:
                    CollectorAgingSnapshot.objects.bulk_create(by_collector, ignore_conflicts=True)
        elif week not in split:
            # a week taken before the split by collector was kept: its split rebuilt as of that Sunday
            by_customer, unapplied, disputed = _week_figures(entity, week)
            CollectorAgingSnapshot.objects.bulk_create(
                _collector_rows(
                    entity=entity,
                    week=week,
                    now=now,
                    by_customer=by_customer,
                    unapplied=unapplied,
                    disputed=disputed,
                    collectors=collectors,
                ),
                ignore_conflicts=True,
            )
        week += WEEK
    return missing


def collector_weeks_taken(*, entity: LegalEntity, first: date, last: date) -> set[date]:
    return set(
        CollectorAgingSnapshot.objects.filter(
            entity=entity,
            week_end_date__gte=first,
            week_end_date__lte=last,
            currency=entity.currency,
            collector__isnull=True,
        ).values_list("week_end_date", flat=True)
    )


def collector_snapshots_list(
    *, entity: LegalEntity, currency: str, collector_id: int, first: date, last: date
) -> list[CollectorAgingSnapshot]:
    """One collector's snapshots of one currency whose week ends between the dates, oldest first; a
    week without a row had nothing of that collector open in the currency."""
    return list(
        CollectorAgingSnapshot.objects.filter(
            entity=entity,
            currency=currency,
            collector_id=collector_id,
            week_end_date__gte=first,
            week_end_date__lte=last,
        ).order_by("week_end_date")
    )


def snapshots_list(*, entity: LegalEntity, currency: str, first: date, last: date) -> list[AgingSnapshot]:
    """The snapshots of one entity and currency whose week ends between the dates, oldest first."""
    return list(
        AgingSnapshot.objects.filter(
            entity=entity, currency=currency, week_end_date__gte=first, week_end_date__lte=last
        ).order_by("week_end_date")
    )


def snapshot_currencies(*, entity: LegalEntity, first: date, last: date) -> list[str]:
    """The currencies with a snapshot in those weeks, the entity's functional currency first."""
    found = set(
        AgingSnapshot.objects.filter(entity=entity, week_end_date__gte=first, week_end_date__lte=last)
        .values_list("currency", flat=True)
        .distinct()
    )
    return [entity.currency, *sorted(found - {entity.currency})]


def month_end_kpis(
    *, entity: LegalEntity, month_ends: list[date], now: datetime, collector_id: int | None = None
) -> list[MonthEndKpis]:
    """The KPIs as of each month end (days and percentages rounded as reported), oldest first: those
    kept already as they were kept, the others computed now and kept. With `collector_id`, those of the
    collector's portfolio (the customers assigned to them now, for the month ends not kept yet).
    Refused like `selectors.kpis` (UnableToConvertCurrency) when a currency has no rate at a month end
    not kept yet."""
    kept = {
        row.month_end: row
        for row in MonthEndKpis.objects.filter(
            entity=entity, month_end__in=month_ends, collector_id=collector_id
        )
    }
    missing = sorted(set(month_ends) - set(kept))
    portfolio = (
        frozenset(customer_selectors.portfolio_of(entity_id=entity.pk, collector_id=collector_id))
        if collector_id is not None and missing
        else None
    )
    for month_end in missing:
        report = selectors.kpis(entity=entity, as_of=month_end, customer_ids=portfolio)
        kpis = report.kpis
        row = MonthEndKpis(
            entity=entity,
            collector_id=collector_id,
            month_end=month_end,
            currency=report.currency,
            dso=rounded(kpis.dso),
            dso_countback=rounded(kpis.dso_countback),
            best_possible_dso=rounded(kpis.best_possible_dso),
            average_days_delinquent=rounded(kpis.average_days_delinquent),
            cei=rounded(kpis.cei),
            percent_current=rounded(kpis.percent_current),
            percent_over_90=rounded(kpis.percent_over_90),
            unapplied_minor=kpis.unapplied_minor,
            disputed_minor=kpis.disputed_minor,
            taken_at=now,
        )
        MonthEndKpis.objects.bulk_create([row], ignore_conflicts=True)
        kept[month_end] = row
    return [kept[month_end] for month_end in sorted(month_ends)]
