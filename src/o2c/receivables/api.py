"""The invoices API (`/api/invoices`): invoices, credit memos and debit memos of the granted legal
entities, newest first; drafts are created and issued here through receivables.services.

Viewing needs VIEW_RECEIVABLES, creating, issuing and crediting ISSUE_DOCUMENTS, approving or rejecting
a credit memo APPROVE_CREDITS (and another person than its maker); another entity's document is 404.

Corrections: `POST /{id}/credit-memos` credits an issued invoice (all of it, chosen lines, or an amount)
with a reason code and reason; the credit memo is issued at once, unless it is above the entity's
approval threshold: then it is a draft `pending` approval, and `POST /{id}/approve` (or `/reject`) on the
credit memo decides it; an approved credit memo is issued with `POST /{id}/issue`.
`POST /{id}/credit-and-rebill` credits the invoice in full and drafts its replacement.
"""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest
from ninja import Query, Router, Status

from o2c.core import clock
from o2c.core.exceptions import InputError
from o2c.customers import api as customers_api
from o2c.customers import schemas as customer_schemas
from o2c.customers import selectors as customer_selectors
from o2c.customers.models import Customer
from o2c.receivables import schemas, selectors, services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document

router = Router(tags=["invoices"])

# The capability to approve or reject credit memos above the approval threshold (maker-checker);
# o2c.config.api maps it to the roles that grant it.
APPROVE_CREDITS = "approve_credits"


@router.get("", response=schemas.InvoicePage, summary="List invoices, credit memos and debit memos")
def invoice_list(request: HttpRequest, filters: Query[schemas.InvoiceFilter]) -> schemas.InvoicePage:
    who = customers_api.caller(request, customers_api.VIEW_RECEIVABLES)
    documents = selectors.document_list(
        entity_ids=customers_api.entity_ids(who),
        customer_id=filters.customer_id,
        document_type=filters.type or "",
        open_only=filters.open is True,
    )
    if filters.open is False:
        documents = documents.filter(Q(status=Document.Status.DRAFT) | Q(open_minor=0))
    if filters.customer_number:
        documents = documents.filter(customer__number=filters.customer_number)
    if filters.status:
        documents = documents.filter(status=filters.status)
    if filters.settlement:
        documents = documents.filter(settlement=filters.settlement)
    if filters.issue_date_from:
        documents = documents.filter(issue_date__gte=filters.issue_date_from)
    if filters.issue_date_to:
        documents = documents.filter(issue_date__lte=filters.issue_date_to)
    rows, next_cursor = customers_api.paginate(
        documents, cursor=filters.cursor, limit=filters.limit, newest_first=True
    )
    return schemas.InvoicePage(items=[schemas.InvoiceOut.of(d) for d in rows], next_cursor=next_cursor)


@router.get("/{int:document_id}", response=schemas.InvoiceDetailOut, summary="Get a document with its lines")
def invoice_get(request: HttpRequest, document_id: int) -> schemas.InvoiceDetailOut:
    who = customers_api.caller(request, customers_api.VIEW_RECEIVABLES)
    return _detail(customers_api.entity_ids(who), document_id)


@router.post("", response={201: schemas.InvoiceDetailOut}, summary="Create a draft invoice or debit memo")
def invoice_create(request: HttpRequest, payload: schemas.InvoiceIn) -> Status[schemas.InvoiceDetailOut]:
    who = customers_api.caller(request, customers_api.ISSUE_DOCUMENTS)
    entity_ids = customers_api.entity_ids(who)
    draft = services.document_create(
        customer=_customer(entity_ids, payload),
        document_type=payload.type,
        issue_date=payload.issue_date,
        lines=[
            LineIn(
                description=line.description,
                quantity=customer_schemas.decimal_of(line.quantity),
                unit_price=customer_schemas.decimal_of(line.unit_price),
                tax_rate=customer_schemas.decimal_of(line.tax_rate),
                discount_percent=customer_schemas.decimal_of(line.discount_percent),
            )
            for line in payload.lines
        ],
        actor=who.user,
        now=clock.now(),
        po_number=payload.po_number,
        payment_terms=payload.payment_terms,
        notes=payload.notes,
    )
    return Status(201, _detail(entity_ids, draft.pk))


@router.post("/{int:document_id}/issue", response=schemas.InvoiceDetailOut, summary="Issue a draft")
def invoice_issue(request: HttpRequest, document_id: int) -> schemas.InvoiceDetailOut:
    """Gives the draft its gapless number and posts it to the ledger; an issued document is 409."""
    who = customers_api.caller(request, customers_api.ISSUE_DOCUMENTS)
    entity_ids = customers_api.entity_ids(who)
    draft = selectors.document_get(entity_ids=entity_ids, document_id=document_id)
    services.document_issue(document_id=draft.pk, actor=who.user, now=clock.now())
    return _detail(entity_ids, draft.pk)


@router.post(
    "/{int:document_id}/credit-memos",
    response={201: schemas.CorrectionOut},
    summary="Credit an issued invoice: in full, by lines or by an amount",
)
def credit_memo_create(
    request: HttpRequest, document_id: int, payload: schemas.CreditMemoIn
) -> Status[schemas.CorrectionOut]:
    """The credit memo is issued at once and settles the invoice, unless its gross total is above the
    entity's approval threshold: then it is a draft with `approval_state` `pending`."""
    who = customers_api.caller(request, customers_api.ISSUE_DOCUMENTS)
    entity_ids = customers_api.entity_ids(who)
    invoice = selectors.document_get(entity_ids=entity_ids, document_id=document_id)
    given = [payload.full, payload.lines is not None, payload.amount is not None]
    if given.count(True) != 1:
        raise InputError("give exactly one of full, lines or amount", code="credit_basis")
    now = clock.now()
    if payload.full:
        credit_memo = services.credit_memo_full(
            invoice_id=invoice.pk,
            reason_code=payload.reason_code,
            reason=payload.reason,
            actor=who.user,
            now=now,
            issue_date=payload.issue_date,
        )
    elif payload.lines is not None:
        credit_memo = services.credit_memo_for_lines(
            invoice_id=invoice.pk,
            lines=_credit_lines(invoice, payload.lines),
            reason_code=payload.reason_code,
            reason=payload.reason,
            actor=who.user,
            now=now,
            issue_date=payload.issue_date,
        )
    else:
        assert payload.amount is not None
        credit_memo = services.credit_memo_for_amount(
            invoice_id=invoice.pk,
            net_amount=customer_schemas.decimal_of(payload.amount),
            tax_rate=None if payload.tax_rate is None else customer_schemas.decimal_of(payload.tax_rate),
            reason_code=payload.reason_code,
            reason=payload.reason,
            actor=who.user,
            now=now,
            issue_date=payload.issue_date,
        )
    return Status(201, _correction(entity_ids, credit_memo.pk))


@router.post(
    "/{int:document_id}/credit-and-rebill",
    response={201: schemas.CreditAndRebillOut},
    summary="Credit an issued invoice in full and draft its replacement",
)
def credit_and_rebill(
    request: HttpRequest, document_id: int, payload: schemas.CreditAndRebillIn
) -> Status[schemas.CreditAndRebillOut]:
    """One transaction: the credit memo (issued at once unless it needs approval) and a draft invoice
    with the corrected lines, linked to the invoice it replaces; the draft is issued once the credit
    memo is."""
    who = customers_api.caller(request, customers_api.ISSUE_DOCUMENTS)
    entity_ids = customers_api.entity_ids(who)
    invoice = selectors.document_get(entity_ids=entity_ids, document_id=document_id)
    credit_memo, rebill = services.credit_and_rebill(
        invoice_id=invoice.pk,
        lines=[
            LineIn(
                description=line.description,
                quantity=customer_schemas.decimal_of(line.quantity),
                unit_price=customer_schemas.decimal_of(line.unit_price),
                tax_rate=customer_schemas.decimal_of(line.tax_rate),
                discount_percent=customer_schemas.decimal_of(line.discount_percent),
                tax_category=line.tax_category,
                item_code=line.item_code,
                period_start=line.period_start,
                period_end=line.period_end,
            )
            for line in payload.lines
        ],
        reason_code=payload.reason_code,
        reason=payload.reason,
        actor=who.user,
        now=clock.now(),
        issue_date=payload.issue_date,
    )
    return Status(
        201,
        schemas.CreditAndRebillOut(
            credit_memo=_correction(entity_ids, credit_memo.pk), rebill=_correction(entity_ids, rebill.pk)
        ),
    )


@router.post(
    "/{int:document_id}/approve", response=schemas.CorrectionOut, summary="Approve a pending credit memo"
)
def credit_memo_approve(
    request: HttpRequest, document_id: int, payload: schemas.ApprovalIn
) -> schemas.CorrectionOut:
    """By another person than the credit memo's maker (`same_person` otherwise); it can then be issued."""
    who = customers_api.caller(request, APPROVE_CREDITS)
    entity_ids = customers_api.entity_ids(who)
    credit_memo = selectors.document_get(entity_ids=entity_ids, document_id=document_id)
    services.credit_memo_approve(
        document_id=credit_memo.pk, actor=who.user, now=clock.now(), reason=payload.reason
    )
    return _correction(entity_ids, credit_memo.pk)


@router.post(
    "/{int:document_id}/reject", response=schemas.CorrectionOut, summary="Reject a pending credit memo"
)
def credit_memo_reject(
    request: HttpRequest, document_id: int, payload: schemas.ApprovalIn
) -> schemas.CorrectionOut:
    """By another person than the credit memo's maker, with a reason; a rejected credit memo is never
    issued."""
    who = customers_api.caller(request, APPROVE_CREDITS)
    entity_ids = customers_api.entity_ids(who)
    credit_memo = selectors.document_get(entity_ids=entity_ids, document_id=document_id)
    services.credit_memo_reject(
        document_id=credit_memo.pk, actor=who.user, now=clock.now(), reason=payload.reason
    )
    return _correction(entity_ids, credit_memo.pk)


def _credit_lines(invoice: Document, lines: list[schemas.CreditLineIn]) -> list[services.CreditLineIn]:
    """The API names invoice lines by position, as the invoice's detail shows them."""
    line_ids = {line.position: line.pk for line in invoice.lines.all()}
    credits = []
    for credit in lines:
        if credit.position not in line_ids:
            raise InputError(f"{invoice.number} has no line {credit.position}", code="unknown_line")
        credits.append(
            services.CreditLineIn(
                line_id=line_ids[credit.position],
                quantity=None if credit.quantity is None else customer_schemas.decimal_of(credit.quantity),
                amount=None if credit.amount is None else customer_schemas.decimal_of(credit.amount),
            )
        )
    return credits


def _correction(entity_ids: list[int], document_id: int) -> schemas.CorrectionOut:
    document = selectors.document_get(entity_ids=entity_ids, document_id=document_id)
    allocations = list(selectors.document_allocations(document_id=document.pk))
    return schemas.CorrectionOut.of_correction(document, allocations)


def _detail(entity_ids: list[int], document_id: int) -> schemas.InvoiceDetailOut:
    document = selectors.document_get(entity_ids=entity_ids, document_id=document_id)
    allocations = list(selectors.document_allocations(document_id=document.pk))
    return schemas.InvoiceDetailOut.of_detail(document, allocations)


def _customer(entity_ids: list[int], payload: schemas.InvoiceIn) -> Customer:
    """The customer by id, or by number within the caller's entities (422 when unknown or ambiguous)."""
    if payload.customer_id is not None:
        try:
            return customer_selectors.customer_get(entity_ids=entity_ids, customer_id=payload.customer_id)
        except Customer.DoesNotExist:
            raise InputError(f"no customer {payload.customer_id}", code="unknown_customer") from None
    if not payload.customer_number:
        raise InputError("customer_id or customer_number is required", code="customer_required")
    candidates = customer_selectors.customer_list(entity_ids=entity_ids).filter(
        number=payload.customer_number
    )
    if payload.entity:
        candidates = candidates.filter(entity__code=payload.entity)
    found = list(candidates[:2])
    if not found:
        raise InputError(f"no customer {payload.customer_number}", code="unknown_customer")
    if len(found) > 1:
        raise InputError(
            f"customer {payload.customer_number} exists in several legal entities: name one in `entity`",
            code="ambiguous_customer",
        )
    return found[0]
