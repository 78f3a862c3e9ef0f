"""Sales orders under credit control: arrival (API or CSV, one at a time or a batch) with the credit check,
the hold queue's release, rejection and recheck, the automatic recheck after a payment or a limit change,
blocking and unblocking customers, and the what-if check.

The customers of a batch (and their groups' top parents) are locked in id order for the transaction, so
two batches cannot both spend what a limit leaves. A released order counts in the exposure summary (its
`orders_minor`) in the same transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils.translation import gettext as _

from o2c.audit import services as audit_services
from o2c.core.db import insert_new_rows
from o2c.core.money import Money, UnableToHandleMoney, ensure_currency, parse_amount
from o2c.credit import notifications, rules, selectors
from o2c.credit.errors import UnableToBlockCustomer, UnableToDecideOrder, UnableToTakeOrder
from o2c.credit.models import SalesOrder
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables.models import Document, DocumentType


@dataclass(frozen=True)
class OrderIn:
    number: str
    customer_number: str
    amount: Decimal
    currency: str
    requested_date: date


@dataclass(frozen=True)
class TakenOrder:
    """An order a batch took, as written (no model instance: a batch of 10,000 builds none)."""

    id: int
    number: str
    customer_id: int
    status: str
    currency: str
    amount_minor: int
    hold_reasons: list[dict[str, Any]]


@dataclass(frozen=True)
class BatchResult:
    created: list[TakenOrder]
    unchanged: int  # orders of the batch that exist already (idempotent by number)


def _local(entity: LegalEntity, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(entity.time_zone))


def _validated(
    entity: LegalEntity, rows: Sequence[OrderIn], customers: dict[str, Customer]
) -> list[tuple[OrderIn, Customer, int, str]]:
    checked = []
    seen: set[str] = set()
    for index, row in enumerate(rows, start=1):
        where = f"row {index}: " if len(rows) > 1 else ""

        def col(column: str, where: str = where) -> str:
            return f"{where}{column}: " if where else ""

        number = row.number.strip()
        if not number:
            raise UnableToTakeOrder(
                col("order_number") + _("the order number is empty"), code="missing_number"
            )
        if number in seen:
            raise UnableToTakeOrder(
                col("order_number") + _("order %(number)s appears twice") % {"number": number},
                code="duplicate_order",
            )
        seen.add(number)
        customer = customers.get(row.customer_number.strip())
        if customer is None:
            raise UnableToTakeOrder(
                col("customer_number")
                + _("customer %(number)s does not exist") % {"number": row.customer_number},
                code="unknown_customer",
            )
        try:
            currency = ensure_currency(row.currency.strip().upper())
            minor = Money(parse_amount(str(row.amount), currency), currency).to_minor()
        except UnableToHandleMoney as error:
            raise UnableToTakeOrder(col("amount") + error.message, code="bad_amount") from None
        if minor <= 0:
            raise UnableToTakeOrder(col("amount") + _("the amount must be more than zero"), code="bad_amount")
        checked.append(
            (
                OrderIn(number, customer.number, row.amount, currency, row.requested_date),
                customer,
                minor,
                currency,
            )
        )
    return checked


def _lock(customer_ids: Iterable[int]) -> None:
    """Lock the customers and the top parents of their groups, in id order."""
    ids = set(customer_ids)
    todo = set(ids)
    while todo:
        parents = set(
            Customer.objects.filter(pk__any=frozenset(todo), parent__isnull=False).values_list(
                "parent_id", flat=True
            )
        )
        todo = parents - ids
        ids |= parents
    if connection.vendor == "postgresql":  # SQLite's IMMEDIATE transactions lock the database
        list(
            Customer.objects.select_for_update(of=("self",))
            .filter(pk__any=frozenset(ids))
            .order_by("pk")
            .values_list("pk", flat=True)
        )


@transaction.atomic
def orders_receive(
    *,
    entity: LegalEntity,
    rows: Sequence[OrderIn],
    source: str,
    actor: User | None,
    now: datetime,
) -> BatchResult:
    """Take orders, each credit-checked in turn (a release counts in the exposure of the next ones).
    Idempotent by order number: an order that exists already is left as it is. All or nothing: a bad row
    refuses the batch."""
    numbers = {row.customer_number.strip() for row in rows}
    customers = {c.number: c for c in Customer.objects.filter(entity=entity, number__any=frozenset(numbers))}
    checked = _validated(entity, rows, customers)
    existing = set(
        SalesOrder.objects.filter(
            entity=entity, number__any=frozenset(row.number for row, *_ in checked)
        ).values_list("number", flat=True)
    )
    todo = [item for item in checked if item[0].number not in existing]
    if not todo:
        return BatchResult([], len(checked))
    _lock(customer.pk for _row, customer, *_rest in todo)
    local = _local(entity, now)
    context = selectors.context_for((customer.pk for _row, customer, *_rest in todo), as_of=local.date())
    release_on = (
        rules.release_date(local, context.policies[entity.pk].cutoff_time, entity.country)
        if entity.pk in context.policies
        else local.date()
    )
    columns = (
        "entity_id",
        "customer_id",
        "number",
        "currency",
        "amount_minor",
        "requested_date",
        "status",
        "source",
        "hold_reasons",
        "received_at",
        "held_at",
        "checked_at",
        "release_date",
        "decided_at",
        "decided_by_id",
        "decision_reason",
        "created_by_id",
    )
    actor_id = actor.pk if actor is not None else None
    values: list[tuple[Any, ...]] = []
    for row, customer, minor, currency in todo:
        decision = context.check(customer.pk, minor, currency)
        released = decision.decision == rules.RELEASE
        if released:
            context.add_order(customer.pk, minor, currency)
        values.append(
            (
                entity.pk,
                customer.pk,
                row.number,
                currency,
                minor,
                row.requested_date,
                SalesOrder.Status.RELEASED if released else SalesOrder.Status.HELD,
                source,
                decision.reasons,
                now,
                None if released else now,
                now,
                release_on if released else None,
                now if released else None,
                None,
                "",
                actor_id,
            )
        )
    ids = insert_new_rows(SalesOrder, columns, values)  # plain rows: a batch of 10,000 builds no instances
    taken = [
        TakenOrder(pk, row[2], row[1], row[6], row[3], row[4], row[8])
        for pk, row in zip(ids, values, strict=True)
    ]
    _add_exposure((o.customer_id, o.currency, o.amount_minor, 0) for o in taken if o.status == "released")
    audit_services.record_for_each(
        actor=actor,
        action="credit.order.released",
        object_type="sales_order",
        now=now,
        objects=_audited(taken, entity.pk, SalesOrder.Status.RELEASED),
    )
    audit_services.record_for_each(
        actor=actor,
        action="credit.order.held",
        object_type="sales_order",
        now=now,
        objects=_audited(taken, entity.pk, SalesOrder.Status.HELD),
    )
    notifications.on_commit([o.id for o in taken if o.status == SalesOrder.Status.HELD], "held")
    return BatchResult(taken, len(checked) - len(todo))


def _audited(taken: list[TakenOrder], entity_id: int, status: str) -> list[audit_services.ObjectChange]:
    return [
        (
            o.id,
            o.number,
            entity_id,
            {"status": (None, status), "reasons": (None, [r["code"] for r in o.hold_reasons])},
        )
        for o in taken
        if o.status == status
    ]


def order_receive(
    *, entity: LegalEntity, data: OrderIn, source: str, actor: User | None, now: datetime
) -> SalesOrder:
    """One order; an order number that exists already is refused (`duplicate_order`)."""
    if SalesOrder.objects.filter(entity=entity, number=data.number.strip()).exists():
        raise UnableToTakeOrder(
            _("order %(number)s exists already") % {"number": data.number.strip()}, code="duplicate_order"
        )
    [taken] = orders_receive(entity=entity, rows=[data], source=source, actor=actor, now=now).created
    return SalesOrder.objects.select_related("entity", "customer").get(pk=taken.id)


def _add_exposure(deltas: Iterable[tuple[int, str, int, int]]) -> None:
    """Add (customer, currency, released orders, shipped orders) to the summary, set-based."""
    totals: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    for customer_id, currency, orders, shipped in deltas:
        totals[(customer_id, currency)][0] += orders
        totals[(customer_id, currency)][1] += shipped
    rows = [(c, cur, v[0], v[1]) for (c, cur), v in sorted(totals.items()) if v[0] or v[1]]
    with connection.cursor() as cursor:
        for offset in range(0, len(rows), 500):
            chunk = rows[offset : offset + 500]
            values = ", ".join(["(%s, %s, 0, %s, %s, 0)"] * len(chunk))
            cursor.execute(
                "INSERT INTO credit_customerexposure"
                " (customer_id, currency, receivables_minor, orders_minor, shipped_minor, unbilled_minor)"
                f" VALUES {values} ON CONFLICT (customer_id, currency) DO UPDATE SET"
                " orders_minor = credit_customerexposure.orders_minor + excluded.orders_minor,"
                " shipped_minor = credit_customerexposure.shipped_minor + excluded.shipped_minor",
                [value for row in chunk for value in row],
            )


def _held(order_id: int) -> SalesOrder:
    order = (
        SalesOrder.objects.select_for_update(of=("self",))
        .select_related("entity", "customer")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        raise UnableToDecideOrder(_("the order does not exist"), code="unknown_order")
    if order.status != SalesOrder.Status.HELD:
        raise UnableToDecideOrder(
            _("order %(number)s is not on hold (it is %(status)s)")
            % {"number": order.number, "status": order.status},
            code="not_held",
        )
    return order


def _release(order: SalesOrder, *, actor: User | None, now: datetime, reason: str, action: str) -> None:
    local = _local(order.entity, now)
    order.status = SalesOrder.Status.RELEASED
    order.decided_at = now
    order.decided_by = actor
    order.decision_reason = reason
    order.release_date = rules.release_date(
        local, selectors.policy_of(order.entity_id).cutoff_time, order.entity.country
    )
    order.save(
        update_fields=[
            "status",
            "decided_at",
            "decided_by",
            "decision_reason",
            "release_date",
            "checked_at",
            "hold_reasons",
        ]
    )
    _add_exposure([(order.customer_id, order.currency, order.amount_minor, 0)])
    audit_services.record(
        actor=actor,
        action=action,
        object_type="sales_order",
        object_id=order.pk,
        object_label=order.number,
        entity_id=order.entity_id,
        changes={
            "status": (SalesOrder.Status.HELD, SalesOrder.Status.RELEASED),
            "release_date": (None, order.release_date.isoformat()),
        },
        reason=reason,
        now=now,
    )
    notifications.on_commit([order.pk], "released")


@transaction.atomic
def order_release(*, order_id: int, reason: str, actor: User | None, now: datetime) -> SalesOrder:
    """An analyst releases a held order whatever its reasons (they stay on it for the record)."""
    if not reason.strip():
        raise UnableToDecideOrder(_("a reason is required"), code="reason_required")
    order = _held(order_id)
    _lock([order.customer_id])
    order.checked_at = now
    _release(order, actor=actor, now=now, reason=reason.strip(), action="credit.order.released")
    return order


ORDER_MOVES: dict[str, frozenset[str]] = {
    # to: from
    SalesOrder.Status.SHIPPED: frozenset({SalesOrder.Status.RELEASED}),
    SalesOrder.Status.INVOICED: frozenset({SalesOrder.Status.SHIPPED}),
    SalesOrder.Status.CANCELLED: frozenset(
        {SalesOrder.Status.HELD, SalesOrder.Status.RELEASED, SalesOrder.Status.SHIPPED}
    ),
}


@transaction.atomic
def order_move(*, order_id: int, to: str, reason: str, actor: User | None, now: datetime) -> SalesOrder:
    """A released order shipped, a shipped one invoiced, or an order cancelled before it is invoiced (a
    reason required). Its amount moves in the exposure summary in the same transaction: from open orders
    to shipped-not-invoiced when shipped, out of the summary when invoiced (the invoice's open item
    counts from its issue) or cancelled. Refused: `unknown_order`, `not_movable` (say, shipping a held
    order), `reason_required` (to cancel)."""
    if to not in ORDER_MOVES:
        raise UnableToDecideOrder(_("an order is shipped, invoiced or cancelled"), code="not_movable")
    allowed = ORDER_MOVES[to]
    order = (
        SalesOrder.objects.select_for_update(of=("self",))
        .select_related("entity", "customer")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        raise UnableToDecideOrder(_("the order does not exist"), code="unknown_order")
    if order.status not in allowed:
        raise UnableToDecideOrder(
            _("order %(number)s cannot become %(to)s: it is %(status)s")
            % {"number": order.number, "to": to, "status": order.status},
            code="not_movable",
        )
    if to == SalesOrder.Status.CANCELLED and not reason.strip():
        raise UnableToDecideOrder(_("a reason is required"), code="reason_required")
    before = order.status
    released = order.amount_minor if before == SalesOrder.Status.RELEASED else 0
    shipped = order.amount_minor if before == SalesOrder.Status.SHIPPED else 0
    if to == SalesOrder.Status.SHIPPED:
        shipped = -order.amount_minor
    _add_exposure([(order.customer_id, order.currency, -released, -shipped)])
    order.status = to
    order.save(update_fields=["status"])
    audit_services.record(
        actor=actor,
        action=(
            "credit.order.shipped"
            if to == SalesOrder.Status.SHIPPED
            else "credit.order.invoiced"
            if to == SalesOrder.Status.INVOICED
            else "credit.order.cancelled"
        ),
        object_type="sales_order",
        object_id=order.pk,
        object_label=order.number,
        entity_id=order.entity_id,
        changes={"status": (before, to)},
        reason=reason.strip(),
        now=now,
    )
    return order


def orders_invoiced_by(*, document_ids: Sequence[int], now: datetime) -> list[SalesOrder]:
    """The orders these issued invoices bill, moved to invoiced: an invoice names its order in its PO
    number (`po_number`, the order number as the order arrived) for the same customer. A shipped order
    becomes invoiced; a released one (a service, nothing shipped) is shipped and invoiced. Orders in any
    other state, and invoices naming no order, are left alone. Audited like a person's moves, by no
    actor, with the invoice's number as the reason."""
    invoices = list(
        Document.objects.filter(
            pk__any=frozenset(document_ids),
            document_type=DocumentType.INVOICE,
            status=Document.Status.ISSUED,
        )
        .exclude(po_number="")
        .values_list("customer_id", "po_number", "number")
    )
    if not invoices:
        return []
    wanted = {(customer_id, po_number.strip()): number for customer_id, po_number, number in invoices}
    candidates = SalesOrder.objects.filter(
        customer_id__in={customer_id for customer_id, _po in wanted},
        number__in={po for _customer, po in wanted},
        status__in=[SalesOrder.Status.RELEASED, SalesOrder.Status.SHIPPED],
    ).values_list("pk", "customer_id", "number", "status")
    moved = []
    for order_id, customer_id, number, status in candidates:
        invoice_number = wanted.get((customer_id, number))
        if invoice_number is None:
            continue
        reason = _("invoice %(number)s issued") % {"number": invoice_number}
        with transaction.atomic():
            if status == SalesOrder.Status.RELEASED:
                order_move(
                    order_id=order_id, to=SalesOrder.Status.SHIPPED, reason=reason, actor=None, now=now
                )
            moved.append(
                order_move(
                    order_id=order_id, to=SalesOrder.Status.INVOICED, reason=reason, actor=None, now=now
                )
            )
    return moved


@transaction.atomic
def order_reject(*, order_id: int, reason: str, actor: User | None, now: datetime) -> SalesOrder:
    if not reason.strip():
        raise UnableToDecideOrder(_("a reason is required"), code="reason_required")
    order = _held(order_id)
    order.status = SalesOrder.Status.REJECTED
    order.decided_at = now
    order.decided_by = actor
    order.decision_reason = reason.strip()
    order.save(update_fields=["status", "decided_at", "decided_by", "decision_reason"])
    audit_services.record(
        actor=actor,
        action="credit.order.rejected",
        object_type="sales_order",
        object_id=order.pk,
        object_label=order.number,
        entity_id=order.entity_id,
        changes={"status": (SalesOrder.Status.HELD, SalesOrder.Status.REJECTED)},
        reason=reason,
        now=now,
    )
    notifications.on_commit([order.pk], "rejected")
    return order


@transaction.atomic
def orders_recheck(
    *, order_ids: Sequence[int], actor: User | None, now: datetime, reason: str
) -> list[SalesOrder]:
    """Check held orders again, the oldest first: those that pass now are released (and count towards
    the next ones' exposure); the others keep waiting with today's reasons. Returns those released."""
    held = list(
        SalesOrder.objects.select_for_update(of=("self",))
        .select_related("entity", "customer")
        .filter(pk__in=list(order_ids), status=SalesOrder.Status.HELD)
        .order_by("held_at", "pk")
    )
    if not held:
        return []
    _lock(o.customer_id for o in held)
    by_entity: dict[int, list[SalesOrder]] = defaultdict(list)
    for order in held:
        by_entity[order.entity_id].append(order)
    released = []
    for orders in by_entity.values():
        local = _local(orders[0].entity, now)
        context = selectors.context_for((o.customer_id for o in orders), as_of=local.date())
        for order in orders:
            decision = context.check(order.customer_id, order.amount_minor, order.currency)
            order.checked_at = now
            order.hold_reasons = decision.reasons
            if decision.decision == rules.RELEASE:
                context.add_order(order.customer_id, order.amount_minor, order.currency)
                _release(order, actor=actor, now=now, reason=reason, action="credit.order.rechecked")
                released.append(order)
            else:
                order.save(update_fields=["checked_at", "hold_reasons"])
    return released


def order_recheck(*, order_id: int, actor: User | None, now: datetime) -> SalesOrder:
    order = _held(order_id)  # outside a transaction: the refusal only
    orders_recheck(order_ids=[order.pk], actor=actor, now=now, reason=_("rechecked by an analyst"))
    return SalesOrder.objects.select_related("entity", "customer").get(pk=order.pk)


def group_members(customer_id: int) -> list[int]:
    """The customer's whole group: its top parent and every descendant."""
    root = customer_id
    parent = Customer.objects.filter(pk=root).values_list("parent_id", flat=True).first()
    while parent is not None:
        root = parent
        parent = Customer.objects.filter(pk=root).values_list("parent_id", flat=True).first()
    members, level = [root], [root]
    while level:
        level = list(Customer.objects.filter(parent_id__in=level).values_list("pk", flat=True))
        members.extend(level)
    return members


def recheck_group(*, customer_id: int, actor: User | None, now: datetime) -> list[SalesOrder]:
    """Recheck the held orders of every member of the customer's group (after a limit change)."""
    return orders_recheck(
        order_ids=selectors.held_order_ids(group_members(customer_id)),
        actor=actor,
        now=now,
        reason=_("rechecked after a change of the credit limit or status"),
    )


def recheck_after_payment(*, customer_ids: Iterable[int], now: datetime) -> list[SalesOrder]:
    """`cash.payment_applied`: the held orders of the paying customers' groups are checked again."""
    members: set[int] = set()
    for customer_id in set(customer_ids):
        members.update(group_members(customer_id))
    with transaction.atomic():
        return orders_recheck(
            order_ids=selectors.held_order_ids(members),
            actor=None,
            now=now,
            reason=_("rechecked after a payment"),
        )


# ── blocking ─────────────────────────────────────────────────────────────────────────────────────


@transaction.atomic
def customer_block(*, customer_id: int, reason: str, actor: User | None, now: datetime) -> Customer:
    """Block a customer: its new orders are held (`customer_blocked`) until it is unblocked."""
    if not reason.strip():
        raise UnableToBlockCustomer(_("a reason is required"), code="reason_required")
    customer = Customer.objects.select_for_update(of=("self",)).get(pk=customer_id)
    if customer.status == Customer.Status.BLOCKED:
        raise UnableToBlockCustomer(
            _("customer %(number)s is blocked already") % {"number": customer.number}, code="already_blocked"
        )
    before = customer.status
    customer.status = Customer.Status.BLOCKED
    customer.updated_at = now
    customer.save(update_fields=["status", "updated_at"])
    audit_services.record(
        actor=actor,
        action="credit.customer.blocked",
        object_type="customer",
        object_id=customer.pk,
        object_label=str(customer),
        entity_id=customer.entity_id,
        changes={"status": (before, customer.status)},
        reason=reason.strip(),
        now=now,
    )
    return customer


@transaction.atomic
def customer_unblock(*, customer_id: int, reason: str, actor: User | None, now: datetime) -> Customer:
    """Unblock a customer; its held orders are checked again."""
    if not reason.strip():
        raise UnableToBlockCustomer(_("a reason is required"), code="reason_required")
    customer = Customer.objects.select_for_update(of=("self",)).get(pk=customer_id)
    if customer.status != Customer.Status.BLOCKED:
        raise UnableToBlockCustomer(
            _("customer %(number)s is not blocked") % {"number": customer.number}, code="not_blocked"
        )
    customer.status = Customer.Status.ACTIVE
    customer.updated_at = now
    customer.save(update_fields=["status", "updated_at"])
    audit_services.record(
        actor=actor,
        action="credit.customer.unblocked",
        object_type="customer",
        object_id=customer.pk,
        object_label=str(customer),
        entity_id=customer.entity_id,
        changes={"status": (Customer.Status.BLOCKED, Customer.Status.ACTIVE)},
        reason=reason.strip(),
        now=now,
    )
    recheck_group(customer_id=customer.pk, actor=actor, now=now)
    return customer


# ── what-if ──────────────────────────────────────────────────────────────────────────────────────


def what_if(*, customer: Customer, amount: Decimal, currency: str, as_of: date) -> rules.Decision:
    """The decision an order of this amount would get as of the date; writes nothing."""
    try:
        currency = ensure_currency(currency.strip().upper())
        minor = Money(parse_amount(str(amount), currency), currency).to_minor()
    except UnableToHandleMoney as error:
        raise UnableToTakeOrder(error.message, code="bad_amount") from None
    if minor <= 0:
        raise UnableToTakeOrder(_("the amount must be more than zero"), code="bad_amount")
    context = selectors.context_for([customer.pk], as_of=as_of)
    return context.check(customer.pk, minor, currency)
