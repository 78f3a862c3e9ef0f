"""The root-cause report: what the cases that ended in a date range were really about, by amount and
count, per team and customer (docs/disputes.md, "Root causes")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Sum

from o2c.disputes import rules
from o2c.disputes.models import Case


@dataclass(frozen=True)
class CauseRow:
    root_cause: str
    team: str
    customer_number: str
    currency: str
    cases: int
    amount_minor: int


def root_causes(*, entity_id: int, date_from: date, date_to: date) -> tuple[list[CauseRow], list[CauseRow]]:
    """Per root cause and currency (team and customer empty), then per root cause, team, customer and
    currency: the cases resolved, rejected or written off from `date_from` through `date_to`, the
    largest amount first (then the most cases, then the cause)."""
    ended = Case.objects.filter(
        entity_id=entity_id,
        state__in=rules.RESOLUTIONS,
        resolved_on__gte=date_from,
        resolved_on__lte=date_to,
    )
    rows = [
        CauseRow(
            root_cause=row["root_cause"],
            team=row["team"],
            customer_number=row["customer__number"],
            currency=row["currency"],
            cases=row["cases"],
            amount_minor=row["amount"],
        )
        for row in ended.values("root_cause", "team", "customer__number", "currency")
        .annotate(cases=Count("pk"), amount=Sum("amount_minor"))
        .order_by()
    ]
    totals: dict[tuple[str, str], tuple[int, int]] = {}
    for row in rows:
        cases, amount = totals.get((row.root_cause, row.currency), (0, 0))
        totals[(row.root_cause, row.currency)] = (cases + row.cases, amount + row.amount_minor)
    causes = [
        CauseRow(
            root_cause=cause, team="", customer_number="", currency=currency, cases=cases, amount_minor=amount
        )
        for (cause, currency), (cases, amount) in totals.items()
    ]

    def order(row: CauseRow) -> tuple[str, int, int, str, str, str]:
        return (row.currency, -row.amount_minor, -row.cases, row.root_cause, row.team, row.customer_number)

    return sorted(causes, key=order), sorted(rows, key=order)
