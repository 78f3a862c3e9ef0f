"""Payment behaviour per customer and the high-risk accounts listed for review (docs/kpis.md).

Days to pay of a customer over a window: the cash applied to its documents in the window, each amount
weighted by how many days after the document's issue date (days to pay) and after its due date (days
late, negative when early) it was applied; a reversal counts negatively, so cash applied and then taken
back weighs nothing. The trend compares the last 90 days with the 90 before.

An account is flagged, with its reasons, when
- well past due: more than `over_90_share` (default 25 %) of what it owes in a currency is over 90 days
  past due;
- paying slower: its days late over the last 90 days exceed those of the 90 before by at least
  `slower_days` (default 10);
- over its credit limit: what it owes in its own currency exceeds its credit limit;
- broken promises: it broke a promise to pay in the last 90 days (judged broken by collections:
  the promised date and its grace days passed without the cash).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from babel.numbers import format_decimal
from django.db.models import Count, F, Func, IntegerField, Sum
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from o2c.collections.models import PromiseToPay
from o2c.core.formatting import money_human
from o2c.core.money import format_with_currency
from o2c.customers.models import Customer
from o2c.receivables.models import Allocation
from o2c.reporting import selectors

WINDOW_DAYS = 90
OVER_90_SHARE = Decimal("0.25")
SLOWER_DAYS = Decimal(10)
_DAYS = Decimal("0.1")


class DaysBetween(Func):
    """`later - earlier` in whole days, for two date columns, on PostgreSQL and SQLite alike."""

    arg_joiner = " - "
    template = "(%(expressions)s)"
    output_field = IntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="CAST(julianday(%(expressions)s) AS INTEGER)",
            arg_joiner=") - julianday(",
            **extra_context,
        )


@dataclass(frozen=True, slots=True)
class Behaviour:
    """Amount-weighted days over one window; None without cash applied in it."""

    days_to_pay: Decimal | None
    days_late: Decimal | None
    applied_minor: int


def _weighted(total: int, weight: int) -> Decimal | None:
    if weight <= 0:
        return None
    return (Decimal(total) / Decimal(weight)).quantize(_DAYS, rounding=ROUND_HALF_UP)


def payment_behaviour(*, entity_ids: list[int], first: date, last: date) -> dict[tuple[int, str], Behaviour]:
    """Per (customer, currency): days to pay and days late of the cash applied from `first` to `last`."""
    rows = (
        Allocation.objects.filter(
            entity_id__in=entity_ids,
            kind=Allocation.Kind.PAYMENT,
            posting_date__gte=first,
            posting_date__lte=last,
        )
        .values("document__customer_id", "currency")
        .annotate(
            applied=Sum("amount_minor"),
            to_pay=Sum(F("amount_minor") * DaysBetween("posting_date", "document__issue_date")),
            late=Sum(F("amount_minor") * DaysBetween("posting_date", "document__due_date")),
        )
        .order_by()
    )
    return {
        (row["document__customer_id"], row["currency"]): Behaviour(
            _weighted(int(row["to_pay"] or 0), int(row["applied"] or 0)),
            _weighted(int(row["late"] or 0), int(row["applied"] or 0)),
            int(row["applied"] or 0),
        )
        for row in rows
    }


@dataclass(frozen=True, slots=True)
class AccountRisk:
    entity_code: str
    customer_number: str
    customer_name: str
    currency: str
    open_minor: int
    over_90_minor: int
    credit_limit_minor: int | None
    recent: Behaviour | None
    previous: Behaviour | None
    flags: list[str] = field(default_factory=list)
    broken_promises: int = 0  # promises to pay judged broken in the last 90 days
    broken_promises_minor: int = 0  # what they promised

    @property
    def trend_days(self) -> Decimal | None:
        """Days late now less days late the quarter before: positive is paying slower."""
        if self.recent is None or self.previous is None:
            return None
        if self.recent.days_late is None or self.previous.days_late is None:
            return None
        return self.recent.days_late - self.previous.days_late


FLAGS = ("well_past_due", "paying_slower", "over_credit_limit", "broken_promises")


def broken_promises(
    *, entity_ids: list[int], first: date, last: date
) -> dict[tuple[int, str], tuple[int, int]]:
    """Per (customer, currency): how many promises to pay were judged broken from `first` to `last`,
    and what they promised."""
    rows = (
        PromiseToPay.objects.filter(
            entity_id__in=entity_ids,
            state=PromiseToPay.State.BROKEN,
            judged_on__gte=first,
            judged_on__lte=last,
        )
        .values("customer_id", "currency")
        .annotate(count=Count("pk"), promised=Sum("amount_minor"))
        .order_by()
    )
    return {(row["customer_id"], row["currency"]): (row["count"], int(row["promised"])) for row in rows}


def accounts(
    *,
    entity_ids: list[int],
    as_of: date,
    over_90_share: Decimal = OVER_90_SHARE,
    slower_days: Decimal = SLOWER_DAYS,
    flagged_only: bool = True,
) -> list[AccountRisk]:
    """Every customer and currency with something open or paid in the last two windows, with its
    behaviour and flags; with `flagged_only`, those with at least one flag, most open first."""
    report = selectors.aging(entity_ids=entity_ids, as_of=as_of)
    recent_first = as_of - timedelta(days=WINDOW_DAYS - 1)
    previous_first = recent_first - timedelta(days=WINDOW_DAYS)
    recent = payment_behaviour(entity_ids=entity_ids, first=recent_first, last=as_of)
    previous = payment_behaviour(
        entity_ids=entity_ids, first=previous_first, last=recent_first - timedelta(days=1)
    )
    open_items: dict[tuple[int, str], tuple[str, int, int]] = {}
    for row in report.rows:
        if row.customer_id is not None:
            buckets = row.by_bucket()
            open_items[(row.customer_id, row.currency)] = (
                row.entity_code,
                row.receivable_minor,
                buckets["91_120"] + buckets["over_120"],
            )
    broken = broken_promises(entity_ids=entity_ids, first=recent_first, last=as_of)
    keys = set(open_items) | set(recent) | set(previous) | set(broken)
    customers = {
        pk: (number, name, currency, limit, code)
        for pk, number, name, currency, limit, code in Customer.objects.filter(
            pk__in={customer_id for customer_id, _ in keys}
        ).values_list("pk", "number", "name", "currency", "credit_limit_minor", "entity__code")
    }
    found = []
    for customer_id, currency in keys:
        number, name, customer_currency, limit, code = customers[customer_id]
        _, open_minor, over_90 = open_items.get((customer_id, currency), (code, 0, 0))
        risk = AccountRisk(
            code,
            number,
            name,
            currency,
            open_minor,
            over_90,
            limit if currency == customer_currency else None,
            recent.get((customer_id, currency)),
            previous.get((customer_id, currency)),
            [],
            *broken.get((customer_id, currency), (0, 0)),
        )
        if open_minor > 0 and over_90 > 0 and Decimal(over_90) > over_90_share * open_minor:
            risk.flags.append("well_past_due")
        if risk.trend_days is not None and risk.trend_days >= slower_days:
            risk.flags.append("paying_slower")
        if risk.credit_limit_minor is not None and open_minor > risk.credit_limit_minor:
            risk.flags.append("over_credit_limit")
        if risk.broken_promises:
            risk.flags.append("broken_promises")
        if risk.flags or not flagged_only:
            found.append(risk)
    found.sort(key=lambda item: (item.entity_code, -item.open_minor, item.customer_number, item.currency))
    return found


def reasons(risk: AccountRisk, locale: str | None = None) -> list[str]:
    """Each flag as a sentence a reviewer reads, in the active language; amounts and days in `locale`
    (a person's), or locale-free without one (machine output)."""

    def money(minor: int) -> str:
        if locale is None:
            return str(format_with_currency(minor, risk.currency))
        return money_human(minor, risk.currency, locale)

    def days(value: Decimal | None) -> str:
        if value is None:
            return ""
        return str(value) if locale is None else str(format_decimal(value, locale=locale))

    texts = []
    if "well_past_due" in risk.flags:
        texts.append(
            _("%(amount)s of %(open)s is over 90 days past due")
            % {"amount": money(risk.over_90_minor), "open": money(risk.open_minor)}
        )
    if "paying_slower" in risk.flags and risk.recent and risk.previous:
        texts.append(
            _("pays %(recent)s days late over the last 90 days, %(previous)s the 90 before")
            % {"recent": days(risk.recent.days_late), "previous": days(risk.previous.days_late)}
        )
    if "over_credit_limit" in risk.flags and risk.credit_limit_minor is not None:
        texts.append(
            _("owes %(open)s against a credit limit of %(limit)s")
            % {"open": money(risk.open_minor), "limit": money(risk.credit_limit_minor)}
        )
    if "broken_promises" in risk.flags:
        texts.append(
            ngettext(
                "broke %(count)s promise to pay of %(amount)s in the last 90 days",
                "broke %(count)s promises to pay of %(amount)s in the last 90 days",
                risk.broken_promises,
            )
            % {"count": risk.broken_promises, "amount": money(risk.broken_promises_minor)}
        )
    return texts
