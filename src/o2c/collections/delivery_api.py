"""How dunning notices reach customers, in the API (`/api/collections`, docs/dunning-delivery.md):
bounces posted by a mail system, the customers' delivery problems and their undeliverable marks, and a
letter notice as PDF.

Posting a bounce and clearing a mark need MANAGE_DELIVERY (collector, AR manager, admin); reading the
problems and a letter VIEW_COLLECTIONS. Another entity's customer or notice is 404; a bounce that names
another entity's notice matches nothing.
"""

from __future__ import annotations

from datetime import datetime

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from o2c.collections import bounces, letters
from o2c.collections.models import Channel, DeliveryProblem, DunningNotice
from o2c.core import clock
from o2c.core.exceptions import InputError
from o2c.customers import api as customers_api
from o2c.customers import selectors as customer_selectors
from o2c.customers.schemas import PageFilter

router = Router(tags=["collections"])

# posting bounces and clearing undeliverable marks; o2c.config.api maps it to roles
MANAGE_DELIVERY = "manage_delivery"
VIEW_COLLECTIONS = "view_collections"  # the collections API's (o2c.collections.api)
PDF = "application/pdf"


class DeliveryProblemOut(Schema):
    id: int
    customer_id: int
    customer_number: str
    notice_id: int
    address: str
    action: str
    status_code: str
    diagnostic: str
    permanent: bool
    undeliverable: bool = Field(description="a permanent bounce whose mark is not cleared")
    bounced_at: datetime
    cleared_at: datetime | None
    cleared_by: str | None
    clear_reason: str

    @staticmethod
    def of(problem: DeliveryProblem) -> DeliveryProblemOut:
        return DeliveryProblemOut(
            id=problem.pk,
            customer_id=problem.customer_id,
            customer_number=problem.customer.number,
            notice_id=problem.notice_id,
            address=problem.address,
            action=problem.action,
            status_code=problem.status_code,
            diagnostic=problem.diagnostic,
            permanent=problem.is_permanent,
            undeliverable=problem.is_permanent and problem.cleared_at is None,
            bounced_at=problem.bounced_at,
            cleared_at=problem.cleared_at,
            cleared_by=getattr(problem.cleared_by, "username", None),
            clear_reason=problem.clear_reason,
        )


class DeliveryProblemPage(Schema):
    items: list[DeliveryProblemOut]
    next_cursor: str | None


class DeliveryProblemFilter(PageFilter):
    customer_id: int | None = None
    undeliverable: bool | None = Field(None, description="only the addresses marked undeliverable")


class BounceOut(Schema):
    message_id: str = Field(description="the bounced message's Message-ID, as the DSN returns it")
    matched: bool = Field(description="it names a dunning notice of the caller's entities")
    notice_id: int | None
    notice_status: str | None
    problems: list[DeliveryProblemOut]
    already_recorded: int


class ClearIn(Schema):
    customer_id: int
    address: str = Field(min_length=3, max_length=254)
    reason: str = Field(min_length=1, max_length=500)


class ClearOut(Schema):
    customer_id: int
    address: str
    cleared: int = Field(description="the bounces whose mark was cleared")


@router.post(
    "/bounces",
    response=BounceOut,
    summary="Record a bounce of a dunning e-mail",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def bounce_post(request: HttpRequest) -> BounceOut:
    """The raw DSN (RFC 3464, `multipart/report; report-type=delivery-status`) as the request body.
    Not a DSN: 422 `not_a_dsn`; a DSN naming no notice of the caller's entities: 200 with `matched`
    false, nothing recorded."""
    who = customers_api.caller(request, MANAGE_DELIVERY)
    try:
        dsn = bounces.dsn_parse(request.body, source="request")
    except bounces.NotADsn as error:
        raise InputError(
            _("not a delivery status notification: %(reason)s") % {"reason": error}, code="not_a_dsn"
        ) from None
    summary = bounces.bounces_record(
        dsns=[dsn], entity_ids=customers_api.entity_ids(who), actor=who.user, now=clock.now()
    )
    notice = (
        DunningNotice.objects.filter(message_id=dsn.message_id).only("pk", "status").first()
        if not summary.unmatched
        else None
    )
    problems = DeliveryProblem.objects.filter(pk__in=summary.problem_ids).select_related(
        "customer", "cleared_by"
    )
    return BounceOut(
        message_id=dsn.message_id,
        matched=not summary.unmatched,
        notice_id=notice.pk if notice else None,
        notice_status=notice.status if notice else None,
        problems=[DeliveryProblemOut.of(problem) for problem in problems.order_by("pk")],
        already_recorded=summary.already_recorded,
    )


@router.get("/delivery-problems", response=DeliveryProblemPage, summary="List customers' delivery problems")
def delivery_problem_list(request: HttpRequest, filters: Query[DeliveryProblemFilter]) -> DeliveryProblemPage:
    """Newest first; one customer's (`customer_id`), the marked addresses only (`undeliverable=true`)."""
    who = customers_api.caller(request, VIEW_COLLECTIONS)
    entity_ids = customers_api.entity_ids(who)
    if filters.customer_id is not None:
        customer_selectors.customer_get(entity_ids=entity_ids, customer_id=filters.customer_id)
    found = bounces.delivery_problem_list(
        entity_ids=entity_ids, customer_id=filters.customer_id
    ).select_related("cleared_by")
    if filters.undeliverable is not None:
        marked = {"is_permanent": True, "cleared_at__isnull": True}
        found = found.filter(**marked) if filters.undeliverable else found.exclude(**marked)
    rows, next_cursor = customers_api.paginate(
        found, cursor=filters.cursor, limit=filters.limit, newest_first=True
    )
    return DeliveryProblemPage(items=[DeliveryProblemOut.of(row) for row in rows], next_cursor=next_cursor)


@router.post(
    "/delivery-problems/clear", response=ClearOut, summary="Clear a customer's undeliverable address mark"
)
def undeliverable_clear(request: HttpRequest, payload: ClearIn) -> ClearOut:
    """Dunning e-mails go to the address again; audited with the reason. An address not marked: 422
    `not_undeliverable`."""
    who = customers_api.caller(request, MANAGE_DELIVERY)
    entity_ids = customers_api.entity_ids(who)
    customer = customer_selectors.customer_get(entity_ids=entity_ids, customer_id=payload.customer_id)
    cleared = bounces.undeliverable_clear(
        entity_ids=entity_ids,
        customer_id=customer.pk,
        address=payload.address,
        reason=payload.reason,
        actor=who.user,
        now=clock.now(),
    )
    return ClearOut(customer_id=customer.pk, address=payload.address.strip().lower(), cleared=cleared)


@router.get(
    "/notices/{int:notice_id}/letter.pdf",
    summary="A letter notice as PDF",
    openapi_extra={
        "responses": {
            200: {
                "description": "The dunning letter, for a window envelope (DIN 5008 form B)",
                "content": {PDF: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def notice_letter(request: HttpRequest, notice_id: int) -> HttpResponse:
    """Rendered as it prints now; reading it does not record it printed (`o2c dunning letters` does).
    A notice of another channel is 404."""
    who = customers_api.caller(request, VIEW_COLLECTIONS)
    notice = (
        DunningNotice.objects.filter(
            pk=notice_id, entity_id__in=customers_api.entity_ids(who), channel=Channel.LETTER
        )
        .select_related("customer", "entity")
        .first()
    )
    if notice is None:
        raise Http404
    response = HttpResponse(letters.letter_pdf(notice), content_type=PDF)
    response["Content-Disposition"] = f'inline; filename="{letters.letter_filename(notice)}"'
    return response
