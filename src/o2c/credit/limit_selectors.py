"""The reads of the credit analyst's limit pages: the limits with their use (set-based, for a book of
100,000 customers), one customer's credit (its limits, exposure, group, held orders and latest score) and
the limits waiting for approval with the figures a checker decides on.

Exposure is what the credit check reads: the exposure summary (`selectors.exposure_rows`: open
receivables + open orders + shipped not invoiced + unbilled usage per customer and currency), each
currency's total converted into the limit's currency at the project's rate of the day and added
(`rules.total_in`); a limit of a customer with subsidiaries is set against its whole group's exposure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.db.models import Exists, F, FilteredRelation, OuterRef, Q, QuerySet

from o2c.core.exceptions import DomainError
from o2c.credit import rules, selectors
from o2c.credit.models import ApprovalThreshold, CreditLimit, CreditScore, CustomerExposure, SalesOrder
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity

# the list's filters
OVER_LIMIT = "over"
HIGH_USE = "high"  # more than 80 % of the limit used (over the limit included)
REVIEW_DUE = "review"  # the next review date on or before the day
FILTERS = (OVER_LIMIT, HIGH_USE, REVIEW_DUE)
HIGH_USE_PERCENT = 80

CHUNK = 5000


def use_percent(exposure_minor: int | None, limit_minor: int) -> Decimal | None:
    """Exposure / limit in %, rounded half up to 0.1; None without an exposure or for a zero limit."""
    if exposure_minor is None or limit_minor <= 0:
        return None
    return (Decimal(exposure_minor) * 100 / Decimal(limit_minor)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )


@dataclass(frozen=True)
class LimitRow:
    """A customer's effective limit with its exposure (its group's, for a customer with subsidiaries) in
    the limit's currency; `exposure_minor` is None when a currency of the exposure has no FX rate."""

    customer_id: int
    number: str
    name: str
    scope: str  # customer | group
    currency: str
    limit_minor: int
    exposure_minor: int | None
    valid_until: date | None
    next_review_date: date | None
    source: str  # request | migrated
    risk_class: str
    status: str  # the customer's: active | blocked | ...

    @property
    def available_minor(self) -> int | None:
        return None if self.exposure_minor is None else self.limit_minor - self.exposure_minor

    @property
    def use(self) -> Decimal | None:
        return use_percent(self.exposure_minor, self.limit_minor)

    @property
    def is_over(self) -> bool:
        return self.exposure_minor is not None and self.exposure_minor > self.limit_minor

    @property
    def is_high(self) -> bool:
        return (
            self.exposure_minor is not None
            and self.exposure_minor * 100 > self.limit_minor * HIGH_USE_PERCENT
        )


@dataclass(frozen=True)
class LimitPage:
    rows: list[LimitRow]
    number: int
    has_next: bool
    total: int | None  # known when the list was filtered by its use (all limits read)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1


_HOLDER_FIELDS = (
    "pk",
    "number",
    "name",
    "currency",
    "credit_limit_minor",
    "risk_class",
    "status",
    "active__amount_minor",
    "active__currency",
    "active__valid_until",
    "active__next_review_date",
    "active__source",
    "active__mirrored_minor",
    "has_children",
)

# what the filters by use compare: the effective limit's amount and currency
_LIMIT_FIELDS = (
    "pk",
    "currency",
    "credit_limit_minor",
    "active__amount_minor",
    "active__currency",
    "active__mirrored_minor",
)


def _holders(
    *, entity_ids: list[int], search: str, review_due_on: date | None
) -> QuerySet[Customer, tuple[Any, ...]]:
    """The customers with an effective limit (`selectors.effective_limits`' rule in SQL: the field the
    activation mirrors is set, or the active version is in another currency than the customer's), by
    number; one query, the active version joined."""
    found = (
        Customer.objects.filter(entity_id__in=entity_ids)
        .annotate(
            active=FilteredRelation(
                "credit_limits", condition=Q(credit_limits__status=CreditLimit.Status.ACTIVE)
            ),
            has_children=Exists(Customer.objects.filter(parent_id=OuterRef("pk"))),
        )
        .filter(
            Q(credit_limit_minor__isnull=False)
            | Q(active__isnull=False, active__mirrored_minor__isnull=True, credit_limit_minor__isnull=True)
        )
    )
    if search:
        found = found.filter(Q(number__icontains=search) | Q(name__icontains=search))
    if review_due_on is not None:
        # only an effective active version has a review date (what the import loaded has none)
        found = found.filter(
            Q(active__mirrored_minor=F("credit_limit_minor"))
            | Q(active__mirrored_minor__isnull=True, credit_limit_minor__isnull=True),
            active__next_review_date__lte=review_due_on,
        )
    return found.order_by("number", "pk").values_list(*_HOLDER_FIELDS)


def _row_limit(row: tuple[Any, ...]) -> tuple[rules.Limit, str]:
    (_pk, _number, _name, currency, field_minor, _risk, _status) = row[:7]
    amount, limit_currency, valid_until, review, source, mirrored = row[7:13]
    if amount is not None and mirrored == field_minor:
        return rules.Limit(amount, limit_currency, valid_until, review, source), source
    return rules.Limit(field_minor, currency, source=CreditLimit.Source.MIGRATED), CreditLimit.Source.MIGRATED


def _descendants(parent_ids: Iterable[int]) -> dict[int, list[int]]:
    """Children per customer under the given parents, level by level (a query per level and 5,000)."""
    children: dict[int, list[int]] = defaultdict(list)
    level = sorted(set(parent_ids))
    seen = set(level)
    while level:
        next_level: list[int] = []
        for offset in range(0, len(level), CHUNK):
            for pk, parent_id in Customer.objects.filter(
                parent_id__in=level[offset : offset + CHUNK]
            ).values_list("pk", "parent_id"):
                children[parent_id].append(pk)
                if pk not in seen:
                    seen.add(pk)
                    next_level.append(pk)
        level = sorted(next_level)
    return children


def _subtree(root: int, children: dict[int, list[int]]) -> list[int]:
    members, todo = [], [root]
    while todo:
        current = todo.pop()
        members.append(current)
        todo.extend(children.get(current, []))
    return sorted(members)


def _entity_tree(entity_ids: list[int]) -> dict[int, list[int]]:
    """Children per customer of the entities (a parent is always of its child's entity): one query."""
    children: dict[int, list[int]] = defaultdict(list)
    for pk, parent_id in Customer.objects.filter(
        entity_id__in=entity_ids, parent_id__isnull=False
    ).values_list("pk", "parent_id"):
        children[parent_id].append(pk)
    return children


def _entity_exposures(entity_ids: list[int]) -> dict[int, dict[str, int]]:
    """`selectors.exposure_rows` for every customer of the entities at once: one query, read raw."""
    totals: dict[int, dict[str, int]] = defaultdict(dict)
    found = (
        CustomerExposure.objects.filter(customer__entity_id__in=entity_ids)
        .annotate(total=F("receivables_minor") + F("orders_minor") + F("shipped_minor") + F("unbilled_minor"))
        .exclude(total=0)
        .values_list("customer_id", "currency", "total")
    )
    for customer_id, currency, total in _raw(found):
        totals[customer_id][currency] = total
    return totals


def _raw(found: QuerySet[Any, tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """A values-list's rows as the database driver gives them (integers and strings alone: no field
    conversion is needed), for lists of 100,000 rows."""
    sql, params = found.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def holder_exposures(
    holders: list[tuple[int, str, bool]],
    *,
    as_of: date,
    children: dict[int, list[int]] | None = None,
    amounts: dict[int, dict[str, int]] | None = None,
) -> dict[int, int | None]:
    """Per (customer id, limit currency, has subsidiaries): its exposure in the limit's currency, its
    group's for a customer with subsidiaries; None when a currency has no FX rate. Without `children`
    and `amounts` (the whole entities' tree and exposure, for long lists), they are read for these
    customers alone: a few queries per 5,000 customers."""
    if children is None:
        children = _descendants([pk for pk, _currency, has_children in holders if has_children])
    members = {pk: _subtree(pk, children) for pk, _c, has_children in holders if has_children}
    if amounts is None:
        wanted = {pk for pk, _c, _g in holders} | {m for ids in members.values() for m in ids}
        amounts = selectors.exposure_rows(sorted(wanted))
    rate = selectors._rate_cache(as_of)  # the check's own rates, memoised for the list

    def own(member: int, currency: str) -> int:
        per_currency = amounts.get(member)
        if not per_currency:
            return 0
        if len(per_currency) == 1 and currency in per_currency:
            return per_currency[currency]
        return rules.total_in(per_currency, currency, rate)

    result: dict[int, int | None] = {}
    for pk, currency, has_children in holders:
        try:
            result[pk] = sum(own(m, currency) for m in members[pk]) if has_children else own(pk, currency)
        except DomainError:  # no FX rate for a currency of the exposure
            result[pk] = None
    return result


def _rows(
    found: list[tuple[Any, ...]],
    as_of: date,
    *,
    children: dict[int, list[int]] | None = None,
    amounts: dict[int, dict[str, int]] | None = None,
) -> list[LimitRow]:
    limits = [_row_limit(row) for row in found]
    exposures = holder_exposures(
        [(row[0], limit.currency, bool(row[13])) for row, (limit, _s) in zip(found, limits, strict=True)],
        as_of=as_of,
        children=children,
        amounts=amounts,
    )
    return [
        LimitRow(
            customer_id=row[0],
            number=row[1],
            name=row[2],
            scope="group" if row[13] else "customer",
            currency=limit.currency,
            limit_minor=limit.amount_minor,
            exposure_minor=exposures[row[0]],
            valid_until=limit.valid_until,
            next_review_date=limit.next_review_date,
            source=source,
            risk_class=row[5],
            status=row[6],
        )
        for row, (limit, source) in zip(found, limits, strict=True)
    ]


def limit_list(
    *,
    entity_ids: list[int],
    as_of: date,
    search: str = "",
    show: str = "",
    page: int = 1,
    per_page: int = 50,
) -> LimitPage:
    """The customers with an effective limit, by number, a page at a time, optionally only those over
    their limit (`over`), using more than 80 % of it (`high`), due for review on or before the day
    (`review`), or whose number or name contains `search`.

    Unfiltered (or by review date) the page is cut in SQL and only its rows' exposure is read; filtered
    by use, every limit's exposure is read (set-based: a few queries per 5,000 customers)."""
    search = search.strip()
    found = _holders(
        entity_ids=entity_ids, search=search, review_due_on=as_of if show == REVIEW_DUE else None
    )
    start = (page - 1) * per_page
    if show not in (OVER_LIMIT, HIGH_USE):
        cut = list(found[start : start + per_page + 1])
        rows = _rows(cut[:per_page], as_of)
        return LimitPage(rows, page, len(cut) > per_page, None)
    # every limit's exposure from the entities' tree and exposure summary (one query each), compared
    # on plain numbers; only the page's rows are then read in full
    children = _entity_tree(entity_ids)
    amounts = _entity_exposures(entity_ids)
    limits = _raw(found.values_list(*_LIMIT_FIELDS))
    effective = [
        (pk, amount, limit_currency, pk in children)
        if amount is not None and mirrored == field_minor
        else (pk, field_minor, currency, pk in children)
        for pk, currency, field_minor, amount, limit_currency, mirrored in limits
    ]
    exposures = holder_exposures(
        [(pk, currency, is_group) for pk, _amount, currency, is_group in effective],
        as_of=as_of,
        children=children,
        amounts=amounts,
    )
    percent = HIGH_USE_PERCENT if show == HIGH_USE else 100
    matching = [
        pk
        for pk, amount, _currency, _is_group in effective
        if (exposure := exposures[pk]) is not None and exposure * 100 > amount * percent
    ]
    shown = matching[start : start + per_page]
    full = {row[0]: row for row in found.filter(pk__in=shown)}
    rows = _rows([full[pk] for pk in shown], as_of, children=children, amounts=amounts)
    return LimitPage(rows, page, len(matching) > start + per_page, len(matching))


# ── one customer ──────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class AppliedLimit:
    """A limit that applies to the customer: its own, or a group limit of itself or of an ancestor."""

    holder_id: int
    number: str
    scope: str  # customer | group
    own: bool
    limit: rules.Limit
    exposure_minor: int | None

    @property
    def available_minor(self) -> int | None:
        return None if self.exposure_minor is None else self.limit.amount_minor - self.exposure_minor

    @property
    def use(self) -> Decimal | None:
        return use_percent(self.exposure_minor, self.limit.amount_minor)


@dataclass(frozen=True)
class Member:
    """A member of the customer's group with its own exposure in the group's currency."""

    customer_id: int
    number: str
    name: str
    depth: int
    status: str
    exposure_minor: int | None
    limit: rules.Limit | None


@dataclass(frozen=True)
class CustomerCredit:
    as_of: date
    limits: list[AppliedLimit]  # the customer's own first, then up to the top parent
    decision: rules.Decision | None  # the binding limit's figures (None when a currency has no rate)
    exposure: list[CustomerExposure]  # the customer's summary rows, by currency
    past_due: rules.PastDue | None
    past_due_days: int
    group_currency: str
    members: list[Member]  # empty for a customer outside any group
    held_orders: list[SalesOrder]
    score: CreditScore | None


def customer_credit(*, customer: Customer, as_of: date) -> CustomerCredit:
    """Everything the customer's credit page shows, from the snapshot a credit check runs on
    (`selectors.context_for`) and a few reads of the customer's own rows."""
    context = selectors.context_for([customer.pk], as_of=as_of)
    nodes = context.nodes
    chain: list[rules.Node] = []
    node: rules.Node | None = nodes[customer.pk]
    while node is not None:
        chain.append(node)
        node = nodes.get(node.parent_id) if node.parent_id is not None else None

    def exposure_of(member_ids: list[int], currency: str) -> int | None:
        try:
            return sum(
                rules.total_in(context.exposures.get(m, {}), currency, context.rate) for m in member_ids
            )
        except DomainError:
            return None

    applied = []
    for holder in chain:
        limit = context.limits.get(holder.id)
        if limit is None:
            continue
        is_group = bool(holder.children) or holder.id != customer.pk
        covered = rules.subtree(holder, nodes) if is_group else [holder.id]
        applied.append(
            AppliedLimit(
                holder.id,
                holder.number,
                "group" if is_group else "customer",
                holder.id == customer.pk,
                limit,
                exposure_of(covered, limit.currency),
            )
        )
    try:
        decision: rules.Decision | None = context.check(customer.pk, 0, customer.currency)
    except DomainError:
        decision = None
    root = chain[-1]
    group_limit = context.limits.get(root.id)
    group_currency = group_limit.currency if group_limit is not None else customer.currency
    members: list[Member] = []
    if root.children:
        group = rules.subtree(root, nodes)
        names = dict(Customer.objects.filter(pk__in=group).values_list("pk", "name"))

        def walk(pk: int, depth: int) -> None:
            member = nodes[pk]
            members.append(
                Member(
                    pk,
                    member.number,
                    names.get(pk, ""),
                    depth,
                    member.status,
                    exposure_of([pk], group_currency),
                    context.limits.get(pk),
                )
            )
            for child in sorted(member.children, key=lambda c: nodes[c].number):
                walk(child, depth + 1)

        walk(root.id, 0)
    return CustomerCredit(
        as_of=as_of,
        limits=applied,
        decision=decision,
        exposure=list(CustomerExposure.objects.filter(customer=customer).order_by("currency")),
        past_due=context.past_due.get(customer.pk),
        past_due_days=context.policies[customer.entity_id].past_due_days,
        group_currency=group_currency,
        members=members,
        held_orders=list(
            SalesOrder.objects.filter(customer=customer, status=SalesOrder.Status.HELD).order_by(
                "held_at", "pk"
            )
        ),
        score=CreditScore.objects.filter(customer=customer).order_by("-as_of", "-pk").first(),
    )


# ── approvals ─────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class PendingRow:
    """A limit waiting for approval, with the limit in force and the exposure it is set against (in the
    requested limit's currency: the group's, for a customer with subsidiaries)."""

    request: CreditLimit
    current: rules.Limit | None
    scope: str
    exposure_minor: int | None

    @property
    def use(self) -> Decimal | None:
        return use_percent(self.exposure_minor, self.request.amount_minor)


def pending_rows(*, entity_ids: list[int], as_of: date) -> list[PendingRow]:
    """`selectors.pending_limits` (the oldest first) with each customer's limit in force and exposure;
    a fixed number of queries for the whole list."""
    pending = list(selectors.pending_limits(entity_ids))
    customers = [limit.customer for limit in pending]
    current = selectors.effective_limits((c.pk, c.currency, c.credit_limit_minor) for c in customers)
    parents = set(
        Customer.objects.filter(parent_id__in=[c.pk for c in customers]).values_list("parent_id", flat=True)
    )
    exposures = holder_exposures(
        [(limit.customer_id, limit.currency, limit.customer_id in parents) for limit in pending], as_of=as_of
    )
    return [
        PendingRow(
            limit,
            current.get(limit.customer_id),
            "group" if limit.customer_id in parents else "customer",
            exposures[limit.customer_id],
        )
        for limit in pending
    ]


# ── settings ──────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class ThresholdRow:
    currency: str
    threshold_minor: int
    is_default: bool  # the default of a fresh entity, none saved yet


def thresholds_of(entity: LegalEntity) -> list[ThresholdRow]:
    """The entity's approval thresholds by currency; while none is saved, the default one in the entity's
    currency (`selectors.threshold_minor`). A currency not listed needs approval for every new limit."""
    saved = [
        ThresholdRow(currency, minor, False)
        for currency, minor in ApprovalThreshold.objects.filter(entity=entity)
        .order_by("currency")
        .values_list("currency", "threshold_minor")
    ]
    if saved:
        return saved
    default = selectors.threshold_minor(entity, entity.currency)
    return [] if default is None else [ThresholdRow(entity.currency, default, True)]
