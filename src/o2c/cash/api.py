"""The cash API (`/api/cash`): bank statements imported, the exceptions queue of payments, what a
cash application specialist does with a payment (apply, accept the matcher's suggestions, put on
account, reverse an application), and the matching policy of a legal entity.

Reading needs VIEW_RECEIVABLES (every role, auditors included); importing and changing (the policy
included) needs APPLY_CASH (cash application, AR manager, admin). Another entity's payment or
application is 404; a legal entity not granted is 422 `unknown_entity`.
A bank file that cannot be read is 400 with one line in `detail`; a refused action is 422 with the
refusal's code (`over_application`, `currency_mismatch`, `document_settled`, ...).
"""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import File, Form, Query, Router, Status, UploadedFile

from o2c.bankfiles.errors import UnableToReadBankFile
from o2c.cash import schemas, selectors, services, workbench
from o2c.cash.models import Payment
from o2c.core import clock
from o2c.core.exceptions import InputError
from o2c.customers import api as customers_api
from o2c.customers import schemas as customer_schemas
from o2c.customers import selectors as customer_selectors
from o2c.receivables import selectors as receivables_selectors

router = Router(tags=["cash"])

# The capability to import bank files and apply cash; o2c.config.api maps it to the roles that grant it.
APPLY_CASH = "apply_cash"

MAX_FILE_BYTES = 64 * 1024 * 1024


def _bad_file(detail: str, code: str) -> HttpResponse:
    return JsonResponse(
        {
            "type": f"urn:o2c:problem:{code}",
            "title": "Bad Request",
            "status": 400,
            "detail": detail,
            "code": code,
        },
        status=400,
        content_type="application/problem+json",
    )


@router.post(
    "/statements",
    response={201: schemas.StatementImportedOut, 200: schemas.StatementImportedOut, 400: schemas.BadFileOut},
    summary="Import a bank file (camt.053/054, BAI2, MT940, lockbox, CSV): match and apply it",
)
def statement_import(
    request: HttpRequest,
    file: File[UploadedFile],
    entity: Form[str | None] = None,
    mapping: Form[str | None] = None,
) -> Status[schemas.StatementImportedOut] | HttpResponse:
    """Multipart upload (`file`, optional `entity` code, optional `mapping`: the name of a saved CSV
    mapping for a bank's own CSV export; without it such a file is read through the one saved mapping
    whose columns its header has). 201 with the import's summary; the same file again is 200 with
    `already_imported` true and changes nothing; a bad file (or a CSV no saved mapping or several fit)
    is 400 and imports nothing; an unknown mapping name is 422 `unknown_csv_mapping`."""
    who = customers_api.caller(request, APPLY_CASH)
    legal_entity = customers_api.entity_for_write(who, entity)
    name = file.name or "statement"
    if file.size is not None and file.size > MAX_FILE_BYTES:
        return _bad_file(f"{name}: the file is larger than 64 MiB", "file_too_large")
    try:
        result = services.bank_file_import(
            data=file.read(),
            file_name=name,
            entity=legal_entity,
            actor=who.user,
            now=clock.now(),
            csv_mapping=mapping or None,
        )
    except UnableToReadBankFile as error:
        return _bad_file(error.message, error.code)
    summary = schemas.StatementImportedOut.model_validate(result.as_json())
    return Status(200 if result.already_imported else 201, summary)


@router.get("/payments", response=schemas.PaymentPage, summary="The exceptions queue of payments")
def payment_list(request: HttpRequest, filters: Query[schemas.PaymentFilter]) -> schemas.PaymentPage:
    """Unidentified, suggested and partly applied payments (or those of one `status`), the largest and
    oldest first, each with the matcher's suggestions and reasons; `page` counts from 1."""
    who = customers_api.caller(request, customers_api.VIEW_RECEIVABLES)
    payments = selectors.payment_list(
        entity_ids=customers_api.entity_ids(who),
        status=filters.status or "",
        customer_number=filters.customer or "",
    )
    start = (filters.page - 1) * filters.limit
    rows = list(payments[start : start + filters.limit + 1])
    next_page = filters.page + 1 if len(rows) > filters.limit else None
    return schemas.PaymentPage(
        items=[schemas.PaymentOut.of(payment) for payment in rows[: filters.limit]],
        page=filters.page,
        next_page=next_page,
    )


@router.get("/payments/{int:payment_id}", response=schemas.PaymentDetailOut, summary="Get a payment")
def payment_get(request: HttpRequest, payment_id: int) -> schemas.PaymentDetailOut:
    """With every application it had: suggested, applied, rejected and reversed."""
    who = customers_api.caller(request, customers_api.VIEW_RECEIVABLES)
    return _detail(customers_api.entity_ids(who), payment_id)


@router.post(
    "/payments/{int:payment_id}/apply",
    response=schemas.PaymentDetailOut,
    summary="Apply a payment to invoices, split as given",
)
def payment_apply(
    request: HttpRequest, payment_id: int, payload: schemas.ApplyIn
) -> schemas.PaymentDetailOut:
    """Each line names an invoice (`document_id` or `invoice_number`) and the cash `amount`, with an
    optional early-payment `discount`, `write_off` and `deduction` (left open on the invoice)."""
    who = customers_api.caller(request, APPLY_CASH)
    entity_ids = customers_api.entity_ids(who)
    payment = _payment(entity_ids, payment_id)
    workbench.payment_apply(
        payment_id=payment.pk,
        lines=[
            workbench.ApplyLine(
                document_id=_document_id(payment, line),
                amount=customer_schemas.decimal_of(line.amount),
                discount=customer_schemas.decimal_of(line.discount),
                write_off=customer_schemas.decimal_of(line.write_off),
                deduction=customer_schemas.decimal_of(line.deduction),
            )
            for line in payload.lines
        ],
        actor=who.user,
        now=clock.now(),
    )
    return _detail(entity_ids, payment.pk)


@router.post(
    "/payments/{int:payment_id}/accept",
    response=schemas.PaymentDetailOut,
    summary="Accept the matcher's suggestions for a payment",
)
def application_accept(request: HttpRequest, payment_id: int) -> schemas.PaymentDetailOut:
    """The suggestions are checked again against what is open now: one for an invoice paid meanwhile
    is refused (422 `document_settled`)."""
    who = customers_api.caller(request, APPLY_CASH)
    entity_ids = customers_api.entity_ids(who)
    payment = _payment(entity_ids, payment_id)
    workbench.application_accept(payment_id=payment.pk, actor=who.user, now=clock.now())
    return _detail(entity_ids, payment.pk)


@router.post(
    "/payments/{int:payment_id}/on-account",
    response=schemas.PaymentDetailOut,
    summary="Leave what is unapplied of a payment on a customer's account",
)
def payment_put_on_account(
    request: HttpRequest, payment_id: int, payload: schemas.OnAccountIn
) -> schemas.PaymentDetailOut:
    who = customers_api.caller(request, APPLY_CASH)
    entity_ids = customers_api.entity_ids(who)
    payment = _payment(entity_ids, payment_id)
    customer = customer_selectors.customer_by_number(
        entity_id=payment.entity_id, number=payload.customer_number
    )
    if customer is None:
        raise InputError(
            f"no customer {payload.customer_number} in {payment.entity.code}", code="unknown_customer"
        )
    workbench.payment_put_on_account(
        payment_id=payment.pk, customer_id=customer.pk, actor=who.user, now=clock.now()
    )
    return _detail(entity_ids, payment.pk)


@router.post(
    "/applications/{int:application_id}/reverse",
    response=schemas.PaymentDetailOut,
    summary="Reverse a misapplied application of a payment",
)
def application_reverse(
    request: HttpRequest, application_id: int, payload: schemas.ReverseIn
) -> schemas.PaymentDetailOut:
    """The invoice is open again, the cash back in the payer's unapplied cash; the application is kept
    as `reversed`. Answers with the payment, which can then be applied again."""
    who = customers_api.caller(request, APPLY_CASH)
    entity_ids = customers_api.entity_ids(who)
    application = selectors.application_get(entity_ids=entity_ids, application_id=application_id)
    workbench.application_reverse(
        application_id=application.pk, reason=payload.reason, actor=who.user, now=clock.now()
    )
    return _detail(entity_ids, application.payment_id)


@router.get("/policy", response=schemas.PolicyOut, summary="Get a legal entity's matching policy")
def policy_get(request: HttpRequest, filters: Query[schemas.PolicyFilter]) -> schemas.PolicyOut:
    """The entity named by `entity` (its code), else the caller's default entity. Before anyone changed
    it, the defaults the matcher applies, with `changed_at` null."""
    who = customers_api.caller(request, customers_api.VIEW_RECEIVABLES)
    legal_entity = customers_api.entity_for_write(who, filters.entity)
    return schemas.PolicyOut.of(selectors.matching_policy_get(entity=legal_entity))


@router.put("/policy", response=schemas.PolicyOut, summary="Change a legal entity's matching policy")
def policy_put(request: HttpRequest, payload: schemas.PolicyIn) -> schemas.PolicyOut:
    """Audited with the values before and after and the `reason`. A value out of range is 422 with its
    code (`bad_confidence`, `bad_tolerance`, `bad_grace_days`, `bad_return_fee`, `bad_fx_tolerance`)
    and changes nothing."""
    who = customers_api.caller(request, APPLY_CASH)
    legal_entity = customers_api.entity_for_write(who, payload.entity)
    workbench.policy_change(
        entity=legal_entity,
        auto_apply_confidence=customer_schemas.decimal_of(payload.auto_apply_confidence),
        write_off_tolerance=customer_schemas.decimal_of(payload.write_off_tolerance),
        discount_grace_days=payload.discount_grace_days,
        return_fee_charge=payload.return_fee_charge.value if payload.return_fee_charge else None,
        return_fee=_decimal_or_none(payload.return_fee),
        fx_tolerance_percent=_decimal_or_none(payload.fx_tolerance_percent),
        reason=payload.reason,
        actor=who.user,
        now=clock.now(),
    )
    return schemas.PolicyOut.of(selectors.matching_policy_get(entity=legal_entity))


def _decimal_or_none(text: str | None) -> Decimal | None:
    return customer_schemas.decimal_of(text) if text is not None else None


def _payment(entity_ids: list[int], payment_id: int) -> Payment:
    return selectors.payment_get(entity_ids=entity_ids, payment_id=payment_id)


def _detail(entity_ids: list[int], payment_id: int) -> schemas.PaymentDetailOut:
    return schemas.PaymentDetailOut.of_detail(_payment(entity_ids, payment_id))


def _document_id(payment: Payment, line: schemas.ApplyLineIn) -> int:
    """The line's document by id, or by number within the payment's legal entity (422 when unknown)."""
    if (line.document_id is None) == (line.invoice_number is None):
        raise InputError(
            "name each line's invoice by document_id or by invoice_number", code="document_required"
        )
    if line.document_id is not None:
        return line.document_id
    found = (
        receivables_selectors.document_list(entity_ids=[payment.entity_id])
        .filter(number=line.invoice_number)
        .values_list("pk", flat=True)
        .first()
    )
    if found is None:
        raise InputError(
            f"no invoice {line.invoice_number} in {payment.entity.code}", code="unknown_document"
        )
    return found
