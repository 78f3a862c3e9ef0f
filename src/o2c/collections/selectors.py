"""Reads of collections, and of the open items and customers a dunning run needs: set-based, a few
grouped queries whatever the number of customers and items."""

from __future__ import annotations

from datetime import date

from django.db.models import Max, QuerySet, Sum

from o2c.collections import calculations
from o2c.collections.models import (
    DunningNotice,
    DunningNoticeItem,
    DunningPlan,
    DunningStep,
    DunningTemplate,
    PromisedDocument,
    PromiseToPay,
)
from o2c.customers.models import Contact, Customer
from o2c.receivables.models import Document, DocumentType

DUNNED_TYPES = (DocumentType.INVOICE, DocumentType.DEBIT_MEMO)
"""Credit memos are not dunned (they are what the customer is owed)."""

_CHUNK = 20_000


def plan_list(*, entity_id: int) -> list[calculations.Plan]:
    """The entity's plans with their steps, in the order a customer's plan is looked for: by
    priority, then id (two queries)."""
    steps: dict[int, list[calculations.Step]] = {}
    for plan_id, level, days, channel, tone in (
        DunningStep.objects.filter(plan__entity_id=entity_id)
        .order_by("plan_id", "level")
        .values_list("plan_id", "level", "days", "channel", "tone")
    ):
        steps.setdefault(plan_id, []).append(calculations.Step(level, days, channel, tone))
    return [
        calculations.Plan(
            id=plan.pk,
            name=plan.name,
            is_default=plan.is_default,
            priority=plan.priority,
            countries=calculations.criteria(plan.countries),
            payment_terms=calculations.criteria(plan.payment_terms),
            min_open_minor=plan.min_open_minor,
            currency=plan.currency,
            steps=tuple(steps.get(plan.pk, ())),
        )
        for plan in DunningPlan.objects.filter(entity_id=entity_id).order_by("priority", "pk")
    ]


def open_items_for_dunning(*, entity_id: int, as_of: date, due_through: date) -> list[calculations.OpenItem]:
    """The entity's issued invoices and debit memos with an open amount (the cached open amount: what is
    open now), issued on or before `as_of`, due on or before `due_through`. One query."""
    rows = (
        Document.objects.filter(
            entity_id=entity_id,
            status=Document.Status.ISSUED,
            document_type__in=DUNNED_TYPES,
            open_minor__gt=0,
            issue_date__lte=as_of,
            due_date__lte=due_through,
        )
        .values_list("pk", "customer_id", "number", "currency", "open_minor", "due_date", "is_disputed")
        .iterator(chunk_size=_CHUNK)
    )
    return [
        calculations.OpenItem(pk, customer_id, number or "", currency, open_minor, due_date, is_disputed)
        for pk, customer_id, number, currency, open_minor, due_date, is_disputed in rows
    ]


def open_minor_by_customer(*, entity_id: int, currencies: set[str]) -> dict[tuple[int, str], int]:
    """Each customer's open invoices and debit memos per currency (for plans with a minimum balance)."""
    rows = (
        Document.objects.filter(
            entity_id=entity_id,
            status=Document.Status.ISSUED,
            document_type__in=DUNNED_TYPES,
            open_minor__gt=0,
            currency__in=currencies,
        )
        .values_list("customer_id", "currency")
        .annotate(open=Sum("open_minor"))
        .order_by()
    )
    return {(customer_id, currency): total for customer_id, currency, total in rows}


def last_dunned_levels(*, entity_id: int, due_through: date) -> dict[int, int]:
    """For each open invoice or debit memo of the entity due on or before `due_through` that was on a
    notice or reminder: the highest level it was dunned at. One grouped query."""
    rows = (
        DunningNoticeItem.objects.filter(
            entity_id=entity_id,
            document__status=Document.Status.ISSUED,
            document__open_minor__gt=0,
            document__due_date__lte=due_through,
        )
        .values_list("document_id")
        .annotate(level=Max("level"))
        .order_by()
    )
    return dict(rows.iterator(chunk_size=_CHUNK))


def promised_document_ids(*, entity_id: int, as_of: date) -> set[int]:
    """Documents under an open promise to pay whose date is `as_of` or later."""
    return set(
        PromisedDocument.objects.filter(
            promise__entity_id=entity_id,
            promise__state=PromiseToPay.State.OPEN,
            promise__promised_date__gte=as_of,
        ).values_list("document_id", flat=True)
    )


def customers_noticed_on(*, entity_id: int, as_of: date) -> set[tuple[int, bool]]:
    """(customer id, is reminder) of the notices and reminders of the entity on `as_of`."""
    return {
        (customer_id, level == 0)
        for customer_id, level in DunningNotice.objects.filter(entity_id=entity_id, as_of=as_of)
        .values_list("customer_id", "level")
        .distinct()
    }


def customer_facts(*, customer_ids: set[int]) -> dict[int, calculations.CustomerFacts]:
    ordered = sorted(customer_ids)
    found: dict[int, calculations.CustomerFacts] = {}
    for offset in range(0, len(ordered), _CHUNK * 5):
        rows = Customer.objects.filter(pk__any=frozenset(ordered[offset : offset + _CHUNK * 5])).values_list(
            "pk", "number", "language", "country", "payment_terms", "email"
        )
        found.update((row[0], calculations.CustomerFacts(*row)) for row in rows)
    return found


def billing_contacts(*, customer_ids: set[int]) -> dict[int, list[str]]:
    """The e-mail addresses of each customer's billing contacts (those that have one), oldest first."""
    found: dict[int, list[str]] = {}
    for customer_id, email in (
        Contact.objects.filter(customer_id__any=frozenset(customer_ids), is_billing=True)
        .exclude(email="")
        .order_by("customer_id", "pk")
        .values_list("customer_id", "email")
    ):
        found.setdefault(customer_id, []).append(email)
    return found


def notice_list(*, entity_id: int, as_of: date | None = None) -> QuerySet[DunningNotice]:
    notices = DunningNotice.objects.filter(entity_id=entity_id).select_related("customer")
    if as_of is not None:
        notices = notices.filter(as_of=as_of)
    return notices.order_by("as_of", "customer__number", "level")


def templates_of(*, plan_ids: set[int]) -> dict[tuple[int, int, str], tuple[str, str]]:
    """(plan id, level, language) -> (subject, body) of the plans' templates."""
    return {
        (plan_id, level, language): (subject, body)
        for plan_id, level, language, subject, body in DunningTemplate.objects.filter(
            step__plan_id__in=plan_ids
        ).values_list("step__plan_id", "step__level", "language", "subject", "body")
    }
