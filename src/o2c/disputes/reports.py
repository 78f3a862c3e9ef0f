"""The root-cause report: what the cases that ended in a date range were really about, by amount and
count, per team and customer, per product and per month (docs/disputes.md, "Root causes")."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.db.models import Count, QuerySet, Sum

from o2c.disputes import calculations, rules
from o2c.disputes.models import Case
from o2c.receivables.models import DocumentLine


@dataclass(frozen=True)
class CauseRow:
    root_cause: str
    team: str
    customer_number: str
    currency: str
    cases: int
    amount_minor: int


@dataclass(frozen=True)
class ProductRow:
    root_cause: str
    product: str
    currency: str
    cases: int
    amount_minor: int


@dataclass(frozen=True)
class MonthRow:
    month: str
    root_cause: str
    currency: str
    cases: int
    amount_minor: int


def _ended(*, entity_id: int, date_from: date, date_to: date) -> QuerySet[Case]:
    return Case.objects.filter(
        entity_id=entity_id,
        state__in=rules.RESOLUTIONS,
        resolved_on__gte=date_from,
        resolved_on__lte=date_to,
    )


def root_causes(*, entity_id: int, date_from: date, date_to: date) -> tuple[list[CauseRow], list[CauseRow]]:
    """Per root cause and currency (team and customer empty), then per root cause, team, customer and
    currency: the cases resolved, rejected or written off from `date_from` through `date_to`, the
    largest amount first (then the most cases, then the cause)."""
    ended = _ended(entity_id=entity_id, date_from=date_from, date_to=date_to)
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


def root_causes_by_product(*, entity_id: int, date_from: date, date_to: date) -> list[ProductRow]:
    """The same cases per root cause, product and currency. A product is the `item_code` of the
    disputed invoice's lines ("" for lines without one). A case that names a line counts for that line's
    product; a case on the whole invoice is spread over its lines in proportion to their nets
    (`calculations.spread_over_products`) and counts once for each product it reaches, so the amounts
    add up to the cases' but the counts may add up to more. The largest amount first."""
    ended = _ended(entity_id=entity_id, date_from=date_from, date_to=date_to)
    cases = list(
        ended.values_list(
            "root_cause", "currency", "amount_minor", "document_id", "document_line_id"
        ).order_by("pk")
    )
    lines_of: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
    for line_id, document_id, product, net in (
        DocumentLine.objects.filter(document_id__in=ended.values("document_id"))
        .order_by("document_id", "position")
        .values_list("pk", "document_id", "item_code", "net_minor")
    ):
        lines_of[document_id].append((line_id, product, net))
    totals: dict[tuple[str, str, str], tuple[int, int]] = {}
    for cause, currency, amount, document_id, line_id in cases:
        lines = [
            (product, net) for pk, product, net in lines_of[document_id] if line_id is None or pk == line_id
        ]
        for product, part in calculations.spread_over_products(amount, lines).items():
            count, total = totals.get((cause, product, currency), (0, 0))
            totals[(cause, product, currency)] = (count + 1, total + part)
    rows = [
        ProductRow(root_cause=cause, product=product, currency=currency, cases=count, amount_minor=total)
        for (cause, product, currency), (count, total) in totals.items()
    ]
    return sorted(rows, key=lambda r: (r.currency, -r.amount_minor, -r.cases, r.root_cause, r.product))


def root_causes_by_month(*, entity_id: int, date_from: date, date_to: date) -> list[MonthRow]:
    """The trend: per calendar month of `resolved_on` (`YYYY-MM`), root cause and currency, the cases
    that ended and their amount; every month of the range appears for each cause and currency found in
    it (zero where none ended), oldest month first, then the largest amount."""
    ended = _ended(entity_id=entity_id, date_from=date_from, date_to=date_to)
    found: dict[tuple[str, str, str], tuple[int, int]] = {}
    for cause, currency, amount, resolved_on in ended.values_list(
        "root_cause", "currency", "amount_minor", "resolved_on"
    ).order_by():
        assert resolved_on is not None  # an ended case has it (constraint closed_case_has_resolved_on)
        key = (resolved_on.strftime("%Y-%m"), cause, currency)
        count, total = found.get(key, (0, 0))
        found[key] = (count + 1, total + amount)
    series = sorted({(cause, currency) for _, cause, currency in found})
    rows = [
        MonthRow(month, cause, currency, *found.get((month, cause, currency), (0, 0)))
        for month in rules.months_between(date_from, date_to)
        for cause, currency in series
    ]
    return sorted(rows, key=lambda r: (r.month, r.currency, -r.amount_minor, -r.cases, r.root_cause))
