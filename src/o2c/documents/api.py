"""A customer's statement of account (`/api/customers/{number}/statement`): the PDF, and sending it.

Read by every role that sees customers (VIEW_RECEIVABLES), sent by collectors, AR managers and admins
(SEND_STATEMENTS). `entity=CODE` names the legal entity when the number exists in several of the
caller's; another entity's customer is 404. The statement is as of today, the entity's business date.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from ninja import Router

from o2c.core import clock
from o2c.customers import api as customers_api
from o2c.documents import schemas, services, statement

SEND_STATEMENTS = "send_statements"
PDF = "application/pdf"

router = Router(tags=["statements"])


@router.get(
    "/{number}/statement",
    summary="A customer's statement of account as PDF",
    openapi_extra={
        "responses": {
            200: {
                "description": "The statement of account as of today (the entity's date)",
                "content": {PDF: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def statement_get(request: HttpRequest, number: str, entity: str = "") -> HttpResponse:
    who = customers_api.caller(request, customers_api.VIEW_RECEIVABLES)
    customer = statement.statement_customer(
        entity_ids=customers_api.entity_ids(who), number=number, entity_code=entity
    )
    as_of = clock.now().astimezone(ZoneInfo(customer.entity.time_zone)).date()
    facts = statement.statement_facts(customer=customer, as_of=as_of)
    response = HttpResponse(statement.render_statement_pdf(facts), content_type=PDF)
    response["Content-Disposition"] = f'inline; filename="{statement.attachment_filename(facts)}"'
    return response


@router.post(
    "/{number}/statement/send",
    response=schemas.StatementSentOut,
    summary="E-mail a customer's statement of account to its billing contacts",
)
def statement_send(request: HttpRequest, number: str, entity: str = "") -> schemas.StatementSentOut:
    who = customers_api.caller(request, SEND_STATEMENTS)
    customer = statement.statement_customer(
        entity_ids=customers_api.entity_ids(who), number=number, entity_code=entity
    )
    sent = services.statement_send(customer_id=customer.pk, actor=who.user, now=clock.now())
    return schemas.StatementSentOut.of(sent)
