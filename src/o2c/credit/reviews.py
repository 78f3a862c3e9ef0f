"""Periodic credit reviews, credit raise requests and the credit reports by risk class
(docs/credit-scoring.md).

A customer's next review is scheduled when it is scored (scoring.review_schedule: the class's interval
after the score's date); the task list is the open reviews due by a date; completing one rescores the
customer and records the decision and a note. A raise request from sales carries the due-diligence
checklist (`CHECKLIST`): the analyst ticks each item, attaches evidence, then approves (every item
ticked) or declines."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from o2c.audit import services as audit_services
from o2c.core.exceptions import DomainError, InputError
from o2c.core.money import Money, UnableToHandleMoney, format_with_currency
from o2c.credit import limits, scoring
from o2c.credit import selectors as credit_selectors
from o2c.credit.models import CreditLimit, CreditReview, CustomerExposure, RaiseEvidence, RaiseRequest
from o2c.credit.scorecard import RISK_CLASSES
from o2c.credit.scoring import Actor
from o2c.customers.models import Customer
from o2c.disputes import rules as dispute_rules


class UnableToReview(DomainError):
    pass


def _user(actor: Actor) -> User | None:
    return actor if isinstance(actor, User) else None


# --- reviews ------------------------------------------------------------------------------------------


def reviews_due(*, entity_ids: list[int], as_of: date) -> QuerySet[CreditReview]:
    """The open reviews due on or before `as_of`, the oldest first."""
    return (
        CreditReview.objects.filter(
            entity_id__in=entity_ids, state=CreditReview.State.OPEN, due_date__lte=as_of
        )
        .select_related("customer")
        .order_by("due_date", "customer__number", "pk")
    )


@transaction.atomic
def review_complete(
    *, review_id: int, decision: str, note: str, as_of: date, actor: Actor, now: datetime
) -> CreditReview:
    """Complete an open review: rescore the customer as of `as_of` (which schedules the next review by
    the new class), record the decision (keep, raise, lower, block) and the note, audited. A new limit
    is asked for through a raise request or the limit service; blocking through the customer's status."""
    if decision not in CreditReview.Decision.values:
        raise InputError(
            _("decision must be one of %(values)s") % {"values": ", ".join(CreditReview.Decision.values)},
            column="decision",
        )
    if not note.strip():
        raise InputError(_("give a note on the review"), column="note")
    review = CreditReview.objects.select_for_update().select_related("customer").get(pk=review_id)
    if review.state != CreditReview.State.OPEN:
        raise UnableToReview(_("the review is completed already"), code="review_completed")
    review.state = CreditReview.State.COMPLETED
    review.decision = decision
    review.note = note.strip()
    review.completed_on = as_of
    review.completed_at = now
    review.completed_by = _user(actor)
    review.save(update_fields=["state", "decision", "note", "completed_on", "completed_at", "completed_by"])
    score = scoring.customer_score(customer_id=review.customer_id, as_of=as_of, actor=actor, now=now)
    review.score = score
    review.save(update_fields=["score"])
    audit_services.record(
        actor=actor,
        action="credit.review.completed",
        object_type="customer",
        object_id=review.customer_id,
        object_label=review.customer.number,
        entity_id=review.entity_id,
        changes={
            "review_due": (review.due_date.isoformat(), None),
            "decision": (None, decision),
            "risk_class": (review.risk_class, score.risk_class),
        },
        reason=review.note,
        now=now,
    )
    return review


# --- raise requests ---------------------------------------------------------------------------------

# The due-diligence checklist of a raise request: every item is ticked before an approval.
CHECKLIST: tuple[tuple[str, Any], ...] = (
    ("financials_received", gettext_lazy("Latest financial statements received")),
    ("bureau_report_checked", gettext_lazy("Bureau report checked")),
    ("trade_references_checked", gettext_lazy("Trade references checked")),
    ("payment_behaviour_reviewed", gettext_lazy("Payment behaviour reviewed")),
    ("group_exposure_reviewed", gettext_lazy("Group exposure reviewed")),
)
CHECKLIST_CODES = tuple(code for code, _label in CHECKLIST)


def _open_request(request_id: int) -> RaiseRequest:
    request = RaiseRequest.objects.select_for_update().select_related("customer").get(pk=request_id)
    if request.state != RaiseRequest.State.OPEN:
        raise UnableToReview(
            _("raise request %(id)s is %(state)s already") % {"id": request.pk, "state": request.state},
            code="request_decided",
        )
    return request


def _minor(amount: Decimal, currency: str, column: str) -> int:
    try:
        return Money(amount, currency).to_minor()
    except UnableToHandleMoney:
        raise InputError(
            _("%(amount)s has more decimals than %(currency)s allows")
            % {"amount": amount, "currency": currency},
            column=column,
            code="too_many_decimals",
        ) from None


def _current_limit(customer: Customer) -> tuple[int | None, str]:
    """The customer's effective limit (the limit service's), else none in the customer's currency."""
    limit = credit_selectors.limit_of(customer)
    if limit is not None:
        return limit.amount_minor, limit.currency
    return None, customer.currency


@transaction.atomic
def raise_request_create(
    *, customer: Customer, requested_limit: Decimal, reason: str, actor: Actor, now: datetime
) -> RaiseRequest:
    """Sales asks for a higher limit for a customer, in the currency of its current limit (else the
    customer's), with the reason; audited."""
    if not reason.strip():
        raise InputError(_("give the reason for the raise"), column="reason")
    current, currency = _current_limit(customer)
    requested = _minor(requested_limit, currency, "requested_limit")
    if requested <= 0:
        raise InputError(_("the requested limit must be positive"), column="requested_limit")
    if current is not None and requested <= current:
        raise InputError(
            _("the requested limit must be above the current %(limit)s")
            % {"limit": format_with_currency(current, currency)},
            column="requested_limit",
            code="not_a_raise",
        )
    request = RaiseRequest.objects.create(
        entity_id=customer.entity_id,
        customer=customer,
        current_limit_minor=current,
        requested_limit_minor=requested,
        currency=currency,
        reason=reason.strip(),
        checklist={code: {"checked": False} for code in CHECKLIST_CODES},
        requested_at=now,
        requested_by=_user(actor),
    )
    audit_services.record(
        actor=actor,
        action="credit.raise_request.created",
        object_type="customer",
        object_id=customer.pk,
        object_label=customer.number,
        entity_id=customer.entity_id,
        changes={
            "raise_request": (None, request.pk),
            "credit_limit": (
                format_with_currency(current, currency),
                format_with_currency(requested, currency),
            ),
        },
        reason=request.reason,
        now=now,
    )
    return request


@transaction.atomic
def raise_request_check(
    *, request_id: int, item: str, checked: bool, note: str, actor: Actor, now: datetime
) -> RaiseRequest:
    """Tick (or untick) one checklist item of an open request, with a note, audited."""
    if item not in CHECKLIST_CODES:
        raise InputError(
            _("item must be one of %(values)s") % {"values": ", ".join(CHECKLIST_CODES)}, column="item"
        )
    request = _open_request(request_id)
    before = bool(request.checklist.get(item, {}).get("checked"))
    request.checklist = {
        **request.checklist,
        item: {
            "checked": checked,
            "by": actor.username if isinstance(actor, User) else None,
            "at": now.isoformat(),
            "note": note.strip(),
        },
    }
    request.save(update_fields=["checklist"])
    audit_services.record(
        actor=actor,
        action="credit.raise_request.checked",
        object_type="customer",
        object_id=request.customer_id,
        object_label=request.customer.number,
        entity_id=request.entity_id,
        changes={item: (before, checked)},
        reason=note.strip(),
        now=now,
    )
    return request


@transaction.atomic
def raise_evidence_add(
    *,
    request_id: int,
    file_name: str,
    content_type: str,
    content: bytes,
    item: str,
    description: str,
    actor: Actor,
    now: datetime,
) -> RaiseEvidence:
    """Attach a file to an open request (the types and size the disputes' attachments allow), for a
    checklist item or the request as a whole, audited with its SHA-256."""
    if item and item not in CHECKLIST_CODES:
        raise InputError(
            _("item must be one of %(values)s") % {"values": ", ".join(CHECKLIST_CODES)}, column="item"
        )
    request = _open_request(request_id)
    if not content:
        raise InputError(_("the file is empty"), column="file", code="empty_file")
    if len(content) > dispute_rules.MAX_ATTACHMENT_BYTES:
        raise InputError(
            _("the file is larger than %(size)s MB")
            % {"size": dispute_rules.MAX_ATTACHMENT_BYTES // (1024 * 1024)},
            column="file",
            code="file_too_large",
        )
    name = file_name.replace("\\", "/").rsplit("/", 1)[-1].strip()[:200] or "evidence"
    kind = dispute_rules.attachment_type(name, content_type, content[:16])
    digest = hashlib.sha256(content).hexdigest()
    evidence = RaiseEvidence.objects.create(
        raise_request=request,
        checklist_item=item,
        file_name=name,
        description=description.strip()[:300],
        content_type=kind,
        size=len(content),
        sha256=digest,
        content=content,
        uploaded_by=_user(actor),
        uploaded_at=now,
    )
    audit_services.record(
        actor=actor,
        action="credit.raise_request.evidence_added",
        object_type="customer",
        object_id=request.customer_id,
        object_label=request.customer.number,
        entity_id=request.entity_id,
        changes={"evidence": (None, f"{name} ({len(content)} bytes, sha256 {digest})")},
        reason=evidence.description,
        now=now,
    )
    return evidence


@transaction.atomic
def raise_request_decide(
    *, request_id: int, approve: bool, limit: Decimal | None, note: str, actor: Actor, now: datetime
) -> RaiseRequest:
    """Approve (every checklist item ticked; the decided limit, by default the requested one) or decline
    (a note required) an open request, audited. An approval asks the limit service for the decided limit
    (with the customer's next review date): effective at once up to the approval threshold, else
    pending until a second person approves it there."""
    request = _open_request(request_id)
    if approve:
        unticked = [code for code in CHECKLIST_CODES if not request.checklist.get(code, {}).get("checked")]
        if unticked:
            raise UnableToReview(
                _("tick the checklist first: %(items)s") % {"items": ", ".join(unticked)},
                code="checklist_open",
            )
        decided = request.requested_limit_minor if limit is None else _minor(limit, request.currency, "limit")
        if decided <= 0:
            raise InputError(_("the limit must be positive"), column="limit")
        request.state = RaiseRequest.State.APPROVED
        request.decided_limit_minor = decided
    else:
        if not note.strip():
            raise InputError(_("give the reason for declining"), column="note")
        request.state = RaiseRequest.State.DECLINED
    request.decision_note = note.strip()
    request.decided_at = now
    request.decided_by = _user(actor)
    if approve:
        review = CreditReview.objects.filter(customer=request.customer, state=CreditReview.State.OPEN).first()
        asked = limits.limit_request(
            customer_id=request.customer_id,
            amount=Money.from_minor(request.decided_limit_minor or 0, request.currency).amount,
            currency=request.currency,
            valid_until=None,
            next_review_date=None if review is None else review.due_date,
            reason=_("raise request %(id)s: %(reason)s") % {"id": request.pk, "reason": request.reason},
            actor=_user(actor),
            now=now,
        )
        request.limit_request_id = asked.pk
    request.save(
        update_fields=[
            "state",
            "decided_limit_minor",
            "decision_note",
            "decided_at",
            "decided_by",
            "limit_request_id",
        ]
    )
    audit_services.record(
        actor=actor,
        action="credit.raise_request.approved" if approve else "credit.raise_request.declined",
        object_type="customer",
        object_id=request.customer_id,
        object_label=request.customer.number,
        entity_id=request.entity_id,
        changes={
            "raise_request": (RaiseRequest.State.OPEN, request.state),
            "decided_limit": (None, format_with_currency(request.decided_limit_minor, request.currency)),
        },
        reason=request.decision_note,
        now=now,
    )
    return request


# --- reports ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassRow:
    risk_class: str  # "" for customers not scored
    currency: str
    customers: int
    receivables_minor: int
    exposure_minor: int


def risk_class_distribution(*, entity_ids: list[int]) -> list[ClassRow]:
    """Customers, their open receivables and their exposure (the exposure summary's open receivables,
    released orders, shipped not invoiced and unbilled usage) per risk class and currency, class ""
    for customers not scored; a customer without exposure counts in its own currency. Classes A to E,
    then not scored; currencies alphabetically."""
    classes: dict[int, str] = {}
    currencies: dict[int, str] = {}
    for pk, risk_class, currency in Customer.objects.filter(entity_id__in=entity_ids).values_list(
        "pk", "risk_class", "currency"
    ):
        classes[pk], currencies[pk] = risk_class, currency
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    members: dict[tuple[str, str], set[int]] = defaultdict(set)
    for customer_id, currency, receivables, orders, shipped, unbilled in CustomerExposure.objects.filter(
        customer_id__in=classes
    ).values_list(
        "customer_id", "currency", "receivables_minor", "orders_minor", "shipped_minor", "unbilled_minor"
    ):
        if not (receivables or orders or shipped or unbilled):
            continue
        key = (classes[customer_id], currency)
        totals[key][0] += receivables
        totals[key][1] += receivables + orders + shipped + unbilled
        members[key].add(customer_id)
    counted = {customer_id for ids in members.values() for customer_id in ids}
    for customer_id, risk_class in classes.items():
        if customer_id not in counted:
            members[(risk_class, currencies[customer_id])].add(customer_id)
    return [
        ClassRow(key[0], key[1], len(members[key]), totals[key][0], totals[key][1])
        for key in sorted(members, key=_class_order)
    ]


def _class_order(key: tuple[str, str]) -> tuple[int, str]:
    order = {c: i for i, c in enumerate((*RISK_CLASSES, ""))}
    return order.get(key[0], len(order)), key[1]


@dataclass(frozen=True)
class ClassLimitRow:
    risk_class: str
    currency: str
    limits: int
    limit_minor: int
    exposure_minor: int

    @property
    def limit_use(self) -> Decimal | None:
        """Exposure / limit in %, rounded half up to 0.01; None when the limits add up to zero."""
        if self.limit_minor <= 0:
            return None
        return (Decimal(self.exposure_minor) * 100 / Decimal(self.limit_minor)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )


def risk_class_limit_use(*, entity_ids: list[int], as_of: date) -> list[ClassLimitRow]:
    """The limits in force and the exposure they cover per risk class of the limit's holder and the
    limit's currency, from the limit service's limit use (`credit.selectors.limit_use`: the exposure in
    the limit's currency at the day's rate, a group's limit against its whole group's exposure)."""
    rows = credit_selectors.limit_use(entity_ids=entity_ids, as_of=as_of)
    classes = dict(
        Customer.objects.filter(
            entity_id__in=entity_ids, number__in=[row.number for row in rows]
        ).values_list("number", "risk_class")
    )
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        key = (classes.get(row.number, ""), row.currency)
        totals[key][0] += 1
        totals[key][1] += row.limit_minor
        totals[key][2] += row.exposure_minor
    return [ClassLimitRow(key[0], key[1], *totals[key]) for key in sorted(totals, key=_class_order)]


def limits_due_for_review(*, entity_ids: list[int], as_of: date) -> QuerySet[CreditLimit]:
    """Active credit limits whose next review date is on or before `as_of`, the oldest first."""
    return (
        CreditLimit.objects.filter(
            customer__entity_id__in=entity_ids,
            status=CreditLimit.Status.ACTIVE,
            next_review_date__lte=as_of,
        )
        .select_related("customer")
        .order_by("next_review_date", "customer__number")
    )


def _plain(minor: int, currency: str) -> str:
    return Money.from_minor(minor, currency).plain()


def risk_class_report(*, entity_ids: list[int], as_of: date) -> dict[str, Any]:
    """The report by risk class as plain JSON (the API and `o2c credit_scoring report`)."""
    return {
        "customers": [
            {
                "risk_class": row.risk_class or None,
                "currency": row.currency,
                "customers": row.customers,
                "receivables": _plain(row.receivables_minor, row.currency),
                "exposure": _plain(row.exposure_minor, row.currency),
            }
            for row in risk_class_distribution(entity_ids=entity_ids)
        ],
        "limits": [
            {
                "risk_class": row.risk_class or None,
                "currency": row.currency,
                "limits": row.limits,
                "limit": _plain(row.limit_minor, row.currency),
                "exposure": _plain(row.exposure_minor, row.currency),
                "limit_use": None if row.limit_use is None else str(row.limit_use),
            }
            for row in risk_class_limit_use(entity_ids=entity_ids, as_of=as_of)
        ],
    }
