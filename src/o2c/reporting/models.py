"""Derived data the reports keep (DESIGN: reporting reads everything and writes only derived snapshots)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

# the fields of the aging buckets, in the order of o2c.reporting.selectors.BUCKETS
BUCKET_FIELDS = (
    "current_minor",
    "days_1_30_minor",
    "days_31_60_minor",
    "days_61_90_minor",
    "days_91_120_minor",
    "over_120_minor",
)


class Buckets(models.Model):
    """Open items per bucket of the aging (o2c.reporting.selectors.BUCKETS), due basis, credit memos
    negative, in minor units."""

    current_minor = models.BigIntegerField()
    days_1_30_minor = models.BigIntegerField()
    days_31_60_minor = models.BigIntegerField()
    days_61_90_minor = models.BigIntegerField()
    days_91_120_minor = models.BigIntegerField()
    over_120_minor = models.BigIntegerField()

    class Meta:
        abstract = True

    @property
    def buckets(self) -> tuple[int, ...]:
        """The bucket amounts in the order of o2c.reporting.selectors.BUCKETS."""
        return tuple(getattr(self, name) for name in BUCKET_FIELDS)


class AgingSnapshot(Buckets):
    """The aging of one legal entity and currency at the end of one week, kept so trends need no
    recomputation (o2c.reporting.snapshots). Every figure is summed over the entity's customers, on the
    due basis, in integer minor units of `currency`, as the aging as of `week_end_date` showed it when
    the snapshot was taken: a posting dated back into that week later does not change it."""

    entity = models.ForeignKey("ledger.LegalEntity", on_delete=models.PROTECT, related_name="+")
    # the Sunday that ends the ISO week (Monday to Sunday), the aging's report date
    week_end_date = models.DateField()
    currency = models.CharField(max_length=3)
    # unapplied cash, identified or not, as a positive amount (the credit balance of the unapplied cash
    # accounts); the aging shows it as the negative `unapplied` column
    unapplied_minor = models.BigIntegerField()
    # the open amount of the documents marked disputed when the snapshot was taken
    disputed_minor = models.BigIntegerField()
    taken_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "week_end_date", "currency"], name="reporting_aging_snapshot_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.week_end_date} {self.currency}"

    @property
    def receivable_minor(self) -> int:
        return sum(self.buckets)

    @property
    def past_due_minor(self) -> int:
        return sum(self.buckets[1:])


class CollectorAgingSnapshot(Buckets):
    """The weekly aging of one legal entity and currency split by collector: the buckets of the
    customers in one collector's portfolio when the snapshot was taken (`collector` empty: the customers
    without one), so the dashboard can show a collector's portfolio over time. Taken with the entity's
    snapshot of the week (o2c.reporting.snapshots); a week always has the row of the customers without a
    collector in the functional currency (zeros when none), which marks it as taken."""

    entity = models.ForeignKey("ledger.LegalEntity", on_delete=models.PROTECT, related_name="+")
    week_end_date = models.DateField()
    currency = models.CharField(max_length=3)
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # the portfolio's unapplied cash on account (positive) and the open amount of its disputed documents;
    # cash nobody identified yet is in no portfolio
    unapplied_minor = models.BigIntegerField(default=0)
    disputed_minor = models.BigIntegerField(default=0)
    taken_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "week_end_date", "currency", "collector"],
                condition=models.Q(collector__isnull=False),
                name="reporting_collector_snapshot_once",
            ),
            models.UniqueConstraint(
                fields=["entity", "week_end_date", "currency"],
                condition=models.Q(collector__isnull=True),
                name="reporting_collector_snapshot_once_without",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.week_end_date} {self.currency} {self.collector_id}"


class MonthEndKpis(models.Model):
    """The KPIs of one legal entity as of one month end (`o2c.reporting.selectors.kpis`, in its
    functional currency), kept once the month is over so the dashboard's trend reads twelve rows instead
    of computing twelve sets of KPIs on every visit. Like the aging snapshots, the figures are those known
    when they were taken. Days and percentages as reported, two decimals; None where a KPI is undefined.
    With a `collector`, the KPIs of that collector's portfolio (the customers assigned to them when the
    row was taken), for the dashboard's collector filter; without, the whole entity's."""

    entity = models.ForeignKey("ledger.LegalEntity", on_delete=models.PROTECT, related_name="+")
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    month_end = models.DateField()
    currency = models.CharField(max_length=3, help_text="the entity's functional currency")
    dso = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    dso_countback = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    best_possible_dso = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    average_days_delinquent = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    cei = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    percent_current = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    percent_over_90 = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    unapplied_minor = models.BigIntegerField()
    disputed_minor = models.BigIntegerField()
    taken_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "month_end"],
                condition=models.Q(collector__isnull=True),
                name="reporting_month_end_kpis_once",
            ),
            models.UniqueConstraint(
                fields=["entity", "month_end", "collector"],
                condition=models.Q(collector__isnull=False),
                name="reporting_collector_month_end_kpis_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month_end} KPIs"
