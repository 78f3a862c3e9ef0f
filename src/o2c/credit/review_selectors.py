"""Reads of the credit analyst's review pages (docs/credit.md, "Back-office pages: reviews, raise requests
and the scorecard"): the task list of reviews due with each customer's limit and exposure, a review, the
raise requests by state, their evidence, and the scorecard's versions; always within the reader's legal
entities. No writes, no clock: the caller passes the day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet

from o2c.credit import reviews, rules
from o2c.credit import selectors as credit_selectors
from o2c.credit.models import CreditReview, RaiseEvidence, RaiseRequest, ScorecardVersion
from o2c.customers.models import Customer


@dataclass(frozen=True)
class CreditProfile:
    """A customer's effective limit (None without one) and its exposure per currency (open receivables,
    released orders, shipped not invoiced and unbilled usage), currencies alphabetically."""

    limit: rules.Limit | None
    exposures: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ReviewRow:
    review: CreditReview
    profile: CreditProfile


def _profiles(customers: list[Customer]) -> dict[int, CreditProfile]:
    limits = credit_selectors.effective_limits((c.pk, c.currency, c.credit_limit_minor) for c in customers)
    exposures = credit_selectors.exposure_rows([c.pk for c in customers])
    return {
        c.pk: CreditProfile(limits.get(c.pk), tuple(sorted(exposures.get(c.pk, {}).items())))
        for c in customers
    }


def profile_of(customer: Customer) -> CreditProfile:
    return _profiles([customer])[customer.pk]


def review_task_list(*, as_of_by_entity: dict[int, date]) -> list[ReviewRow]:
    """The open reviews due on or before each entity's day (`reviews.reviews_due`), by due date, then
    customer number, with each customer's limit and exposure."""
    due: list[CreditReview] = []
    for entity_id, as_of in as_of_by_entity.items():
        due.extend(reviews.reviews_due(entity_ids=[entity_id], as_of=as_of))
    due.sort(key=lambda r: (r.due_date, r.customer.number, r.pk))
    profiles = _profiles([r.customer for r in due])
    return [ReviewRow(r, profiles[r.customer_id]) for r in due]


def review_get(*, entity_ids: list[int], review_id: int) -> CreditReview | None:
    return (
        CreditReview.objects.select_related("customer__entity", "score__scorecard", "completed_by")
        .filter(entity_id__in=entity_ids, pk=review_id)
        .first()
    )


def customer_get(*, entity_ids: list[int], customer_id: int) -> Customer | None:
    return Customer.objects.select_related("entity").filter(entity_id__in=entity_ids, pk=customer_id).first()


def open_review_of(customer: Customer) -> CreditReview | None:
    return CreditReview.objects.filter(customer=customer, state=CreditReview.State.OPEN).first()


def raise_request_list(*, entity_ids: list[int], state: str = "") -> QuerySet[RaiseRequest]:
    """The raise requests (of one state when given), the newest first."""
    found = RaiseRequest.objects.filter(entity_id__in=entity_ids)
    if state:
        found = found.filter(state=state)
    return found.select_related("customer", "requested_by").order_by("-requested_at", "-pk")


def raise_request_get(*, entity_ids: list[int], request_id: int) -> RaiseRequest | None:
    return (
        RaiseRequest.objects.select_related("customer", "requested_by", "decided_by")
        .filter(entity_id__in=entity_ids, pk=request_id)
        .first()
    )


def evidence_list(request: RaiseRequest) -> QuerySet[RaiseEvidence]:
    """The request's evidence without the files' content, in the order it was added."""
    return (
        RaiseEvidence.objects.filter(raise_request=request)
        .defer("content")
        .select_related("uploaded_by")
        .order_by("pk")
    )


def evidence_get(*, entity_ids: list[int], request_id: int, evidence_id: int) -> RaiseEvidence | None:
    return RaiseEvidence.objects.filter(
        raise_request__entity_id__in=entity_ids, raise_request_id=request_id, pk=evidence_id
    ).first()


def scorecard_versions() -> QuerySet[ScorecardVersion]:
    """Every version of the scorecard, the newest (the one in force) first."""
    return ScorecardVersion.objects.select_related("created_by").order_by("-version")


def customers_by_number(*, entity_ids: list[int], number: str) -> list[Customer]:
    """The reader's customers of that number (more than one when two legal entities use it)."""
    return list(
        Customer.objects.select_related("entity").filter(entity_id__in=entity_ids, number=number.strip())[:2]
    )
