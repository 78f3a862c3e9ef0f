"""The credit check as a pure function over a loaded snapshot (`selectors.CreditContext`), and the
cut-off rule. No queries, no clock: the same code checks one order, a what-if, or a batch of 10,000.

A hold reason is a dict: `code` (stable), `text` (readable, in the reader's language) and its figures as
decimal strings in the currency it names (docs/credit.md, "Hold reasons")."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _

from o2c.core import calendar
from o2c.core.money import Money, currency_decimals, format_minor, to_minor

# the hold reasons' codes
CUSTOMER_BLOCKED = "customer_blocked"
NO_LIMIT = "no_limit"
LIMIT_EXPIRED = "limit_expired"
OVER_CUSTOMER_LIMIT = "over_customer_limit"
OVER_GROUP_LIMIT = "over_group_limit"
PAST_DUE = "past_due"
REVIEW_OVERDUE = "review_overdue"

RELEASE = "release"
HOLD = "hold"


@dataclass(frozen=True)
class Limit:
    """A customer's effective limit (the active version, or what the customer import loaded)."""

    amount_minor: int
    currency: str
    valid_until: date | None = None
    next_review_date: date | None = None
    source: str = "request"


@dataclass(frozen=True)
class PastDue:
    """Open items more than the policy's days past due: how many, the oldest due date, per currency."""

    count: int
    oldest_due_date: date
    amounts: Mapping[str, int]


@dataclass
class Node:
    id: int
    number: str
    currency: str
    status: str
    parent_id: int | None
    entity_id: int
    children: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Policy:
    past_due_days: int
    cutoff_time: time
    sales_email: str = ""


@dataclass(frozen=True)
class Decision:
    decision: str
    reasons: list[dict[str, Any]]
    exposure_minor: int | None  # of the binding limit (the one with the least left), before the order
    limit_minor: int | None
    currency: str  # the binding limit's currency, else the customer's

    @property
    def available_minor(self) -> int | None:
        if self.limit_minor is None or self.exposure_minor is None:
            return None
        return self.limit_minor - self.exposure_minor


def convert_minor(minor: int, rate: Decimal, from_currency: str, to_currency: str) -> int:
    """An amount in another currency at the rate, rounded half up to the target currency's minor unit
    (a named rounding: exposure is a figure to compare, half up is what a reader computes by hand)."""
    if from_currency == to_currency:
        return minor
    amount = Money.from_minor(minor, from_currency).amount * rate
    quantum = Decimal(1).scaleb(-currency_decimals(to_currency))
    return to_minor(amount.quantize(quantum, rounding=ROUND_HALF_UP), to_currency)


Rate = Callable[[str, str], Decimal]


def total_in(amounts: Mapping[str, int], currency: str, rate: Rate) -> int:
    """Amounts per currency in one currency: each currency's total converted, then added."""
    return sum(convert_minor(minor, rate(cur, currency), cur, currency) for cur, minor in amounts.items())


def check(
    *,
    customer: Node,
    amount_minor: int,
    currency: str,
    nodes: Mapping[int, Node],
    limits: Mapping[int, Limit],
    exposures: Mapping[int, Mapping[str, int]],
    past_due: PastDue | None,
    policy: Policy,
    as_of: date,
    rate: Rate,
    cache: dict[int, dict[str, int]] | None = None,
) -> Decision:
    """Release or hold an order of `amount_minor` in `currency` for `customer`.

    Each limit on the way from the customer up to its top parent applies: the customer's own (a customer
    limit, or a group limit when the customer has subsidiaries) and every ancestor's (a group limit over
    the ancestor and all its descendants). The order is held when its amount, converted into a limit's
    currency, is more than what that limit leaves; when no limit applies at all; when a limit is past
    its valid-until date or its next review date; when the customer is blocked; or when the customer has
    items more than the policy's days past due.

    `cache` keeps each limit holder's exposure per currency between the checks of a batch; whoever
    changes an exposure drops the entries of the customer and its ancestors."""
    reasons: list[dict[str, Any]] = []
    if customer.status == "blocked":
        reasons.append(
            {"code": CUSTOMER_BLOCKED, "text": _("the customer is blocked"), "customer": customer.number}
        )
    binding: tuple[int, int, str] | None = None  # exposure, limit, currency of the least available
    chain: list[Node] = []
    node: Node | None = customer
    while node is not None:
        chain.append(node)
        node = nodes.get(node.parent_id) if node.parent_id is not None else None
    for holder in chain:
        limit = limits.get(holder.id)
        if limit is None:
            continue
        is_group = bool(holder.children) or holder.id != customer.id
        members = subtree(holder, nodes) if is_group else [holder.id]
        known = cache.get(holder.id, {}) if cache is not None else {}
        if limit.currency in known:
            exposure = known[limit.currency]
        else:
            exposure = sum(total_in(exposures.get(member, {}), limit.currency, rate) for member in members)
            if cache is not None:
                cache.setdefault(holder.id, {})[limit.currency] = exposure
        order = convert_minor(amount_minor, rate(currency, limit.currency), currency, limit.currency)
        if binding is None or limit.amount_minor - exposure < binding[1] - binding[0]:
            binding = (exposure, limit.amount_minor, limit.currency)
        figures = {
            "customer": holder.number,
            "currency": limit.currency,
            "limit": format_minor(limit.amount_minor, limit.currency),
            "exposure": format_minor(exposure, limit.currency),
            "order": format_minor(order, limit.currency),
        }
        if exposure + order > limit.amount_minor:
            excess = format_minor(exposure + order - limit.amount_minor, limit.currency)
            text = (
                _(
                    "over the group's credit limit of %(customer)s: exposure %(exposure)s plus the order"
                    " %(order)s is more than the limit %(limit)s by %(excess)s %(currency)s"
                )
                if is_group
                else _(
                    "over the customer's credit limit: exposure %(exposure)s plus the order %(order)s is"
                    " more than the limit %(limit)s by %(excess)s %(currency)s"
                )
            )
            reasons.append(
                {
                    "code": OVER_GROUP_LIMIT if is_group else OVER_CUSTOMER_LIMIT,
                    "text": text % {**figures, "excess": excess},
                    **figures,
                    "excess": excess,
                }
            )
        if limit.valid_until is not None and limit.valid_until < as_of:
            reasons.append(
                {
                    "code": LIMIT_EXPIRED,
                    "text": _("the credit limit of %(customer)s was valid until %(date)s")
                    % {"customer": holder.number, "date": limit.valid_until.isoformat()},
                    "customer": holder.number,
                    "valid_until": limit.valid_until.isoformat(),
                }
            )
        if limit.next_review_date is not None and limit.next_review_date < as_of:
            reasons.append(
                {
                    "code": REVIEW_OVERDUE,
                    "text": _("the credit review of %(customer)s was due on %(date)s")
                    % {"customer": holder.number, "date": limit.next_review_date.isoformat()},
                    "customer": holder.number,
                    "review_date": limit.next_review_date.isoformat(),
                }
            )
    if binding is None:
        reasons.append(
            {
                "code": NO_LIMIT,
                "text": _("no credit limit is set for the customer or its group"),
                "customer": customer.number,
            }
        )
    if past_due is not None and past_due.count:
        amounts = {cur: format_minor(minor, cur) for cur, minor in sorted(past_due.amounts.items())}
        days = (as_of - past_due.oldest_due_date).days
        reasons.append(
            {
                "code": PAST_DUE,
                "text": _(
                    "items more than %(limit)s days past due: %(count)s (%(amounts)s),"
                    " the oldest %(days)s days"
                )
                % {
                    "count": past_due.count,
                    "limit": policy.past_due_days,
                    "amounts": ", ".join(f"{amount} {cur}" for cur, amount in amounts.items()),
                    "days": days,
                },
                "items": past_due.count,
                "days_allowed": policy.past_due_days,
                "oldest_days": days,
                "oldest_due_date": past_due.oldest_due_date.isoformat(),
                "amounts": amounts,
            }
        )
    if binding is None:
        return Decision(HOLD, reasons, None, None, customer.currency)
    exposure, limit_minor, limit_currency = binding
    return Decision(HOLD if reasons else RELEASE, reasons, exposure, limit_minor, limit_currency)


def subtree(root: Node, nodes: Mapping[int, Node]) -> list[int]:
    members, todo = [], [root.id]
    while todo:
        current = todo.pop()
        members.append(current)
        todo.extend(nodes[current].children if current in nodes else [])
    return sorted(members)


def release_date(local: datetime, cutoff: time, country: str) -> date:
    """The business day a release at this local time counts for: the same day up to the cut-off (inclusive),
    else the next; a weekend or a public holiday of the entity's country moves on to the next business
    day (`core.calendar`)."""
    day = local.date() if local.time() <= cutoff else local.date() + timedelta(days=1)
    return calendar.business_day_on_or_after(day, country)
