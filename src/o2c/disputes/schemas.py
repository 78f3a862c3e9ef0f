"""Shapes of the disputes API. Money travels as locale-free decimal strings with the currency's
decimals; enumerations lowercase; dates ISO 8601."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema

from o2c.core.money import format_minor
from o2c.customers.schemas import DecimalString, PageFilter
from o2c.disputes.models import Case, CaseAttachment, CaseNote, ReasonCode, Team
from o2c.receivables.schemas import InvoiceLineIn


class CaseFilter(PageFilter):
    state: Case.State | None = None
    open: bool | None = Field(None, description="true: open, in review or waiting on the customer")
    kind: Case.Kind | None = None
    customer_id: int | None = None
    customer_number: str | None = None
    owner: str | None = Field(None, description="the owner's username")
    reason_code: ReasonCode | None = None


class CaseOut(Schema):
    id: int
    entity: str
    kind: str
    state: str
    pending: str = Field(
        description="a resolution waiting for approval: resolved_credit, resolved_rebill, written_off"
    )
    customer_id: int
    customer_number: str
    document_id: int
    document_number: str | None
    document_line_id: int | None
    payment_id: int | None
    amount: str
    currency: str
    reason_code: str
    customer_reason_code: str
    team: str
    owner: str | None
    opened_on: date
    due_date: date
    root_cause: str
    resolution: str
    resolved_on: date | None
    resolved_by: str | None
    requested_by: str | None
    approved_by: str | None
    credit_memo_id: int | None
    rebill_id: int | None
    write_off_allocation_id: int | None

    @staticmethod
    def of(case: Case) -> CaseOut:
        def name(user: object) -> str | None:
            return getattr(user, "username", None)

        return CaseOut(
            id=case.pk,
            entity=case.entity.code,
            kind=case.kind,
            state=case.state,
            pending=case.pending,
            customer_id=case.customer_id,
            customer_number=case.customer.number,
            document_id=case.document_id,
            document_number=case.document.number,
            document_line_id=case.document_line_id,
            payment_id=case.payment_id,
            amount=format_minor(case.amount_minor, case.currency),
            currency=case.currency,
            reason_code=case.reason_code,
            customer_reason_code=case.customer_reason_code,
            team=case.team,
            owner=name(case.owner),
            opened_on=case.opened_on,
            due_date=case.due_date,
            root_cause=case.root_cause,
            resolution=case.resolution,
            resolved_on=case.resolved_on,
            resolved_by=name(case.resolved_by),
            requested_by=name(case.requested_by),
            approved_by=name(case.approved_by),
            credit_memo_id=case.credit_memo_id,
            rebill_id=case.rebill_id,
            write_off_allocation_id=case.write_off_id,
        )


class NoteOut(Schema):
    id: int
    author: str | None
    text: str
    created_at: datetime

    @staticmethod
    def of(note: CaseNote) -> NoteOut:
        return NoteOut(
            id=note.pk,
            author=note.author.username if note.author else None,
            text=note.text,
            created_at=note.created_at,
        )


class AttachmentOut(Schema):
    id: int
    file_name: str
    description: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime

    @staticmethod
    def of(attachment: CaseAttachment) -> AttachmentOut:
        return AttachmentOut(
            id=attachment.pk,
            file_name=attachment.file_name,
            description=attachment.description,
            content_type=attachment.content_type,
            size=attachment.size,
            sha256=attachment.sha256,
            uploaded_at=attachment.uploaded_at,
        )


class CaseDetailOut(CaseOut):
    notes: list[NoteOut]
    attachments: list[AttachmentOut]


class CasePage(Schema):
    items: list[CaseOut]
    next_cursor: str | None


class CaseIn(Schema):
    """A dispute on an issued invoice or debit memo of the caller's entities, given by id or number."""

    document_id: int | None = None
    invoice_number: str | None = None
    amount: DecimalString = Field(description="gross, at most what is open on the document")
    reason_code: ReasonCode
    customer_reason_code: str = Field("", max_length=300, description="the customer's own code or words")
    document_line_id: int | None = None
    owner: str | None = Field(None, description="username; default nobody")
    team: Team | None = Field(None, description="default: the reason's team")
    note: str = ""


class TransitionIn(Schema):
    state: Literal["open", "in_review", "waiting_on_customer"]
    reason: str = Field("", max_length=300)


class AssignIn(Schema):
    owner: str | None = Field(None, description="username, or null for nobody")
    team: Team
    reason: str = Field("", max_length=300)


class NoteIn(Schema):
    text: str = Field(..., min_length=1)


class ResolveIn(Schema):
    """`resolved_credit` (optional `net_amount`), `resolved_rebill` (`lines` of the replacement),
    `rejected_invalid` or `written_off`; `resolution` says how, `root_cause` what it really was
    (default: the case's reason code)."""

    outcome: Literal["resolved_credit", "resolved_rebill", "rejected_invalid", "written_off"]
    resolution: str = Field(..., min_length=1, max_length=2000)
    root_cause: ReasonCode | None = None
    net_amount: DecimalString | None = Field(None, description="resolved_credit: the credit memo's net")
    lines: list[InvoiceLineIn] | None = Field(None, description="resolved_rebill: the replacement's lines")


class DecisionIn(Schema):
    reason: str = Field("", max_length=300)


class CauseOut(Schema):
    root_cause: str
    currency: str
    cases: int
    amount: str


class CauseRowOut(CauseOut):
    team: str
    customer_number: str


class ProductCauseOut(CauseOut):
    product: str = Field(description="the invoice line's item code; empty for lines without one")


class MonthCauseOut(CauseOut):
    month: str = Field(description="YYYY-MM of resolved_on")


class RootCausesOut(Schema):
    """Cases ended in the date range (by `resolved_on`), rejected ones included: per root cause and
    currency, the largest amount first; per root cause, team and customer; per root cause and product
    (a case on a whole invoice spread over its lines by their nets); and per month and root cause."""

    entity: str
    date_from: date
    date_to: date
    causes: list[CauseOut]
    rows: list[CauseRowOut]
    products: list[ProductCauseOut]
    months: list[MonthCauseOut]


class RootCauseQuery(Schema):
    entity: str | None = None
    date_from: date
    date_to: date


# --- settings: customers' codes, routing and SLA, write-off thresholds ------------------------------


class SettingsQuery(Schema):
    entity: str | None = Field(None, description="the legal entity's code; default the caller's")


class ReasonMappingOut(Schema):
    customer_code: str = Field(description="stored upper case")
    customer_number: str | None = Field(description="null: for every customer of the entity")
    reason_code: str
    changed_at: datetime


class ReasonMappingsOut(Schema):
    entity: str
    items: list[ReasonMappingOut]


class ReasonMappingIn(Schema):
    entity: str | None = None
    customer_number: str | None = Field(None, description="one customer's own code; null: the entity's")
    customer_code: str
    reason_code: str
    reason: str = ""


class ReasonPolicyOut(Schema):
    reason_code: str
    team: str
    sla_days: int = Field(description="business days (Monday to Friday) from opening")
    is_default: bool = Field(description="true: the entity has no policy for the reason; the defaults apply")


class ReasonPoliciesOut(Schema):
    entity: str
    items: list[ReasonPolicyOut]


class ReasonPolicyIn(Schema):
    entity: str | None = None
    team: str
    sla_days: int
    reason: str = ""


class WriteOffThresholdOut(Schema):
    currency: str
    threshold: str | None = Field(description="null: no approval needed in this currency")
    changed_at: datetime | None
    changed_by: str | None


class WriteOffThresholdsOut(Schema):
    entity: str
    items: list[WriteOffThresholdOut]


class WriteOffThresholdIn(Schema):
    entity: str | None = None
    threshold: DecimalString | None = Field(description="major units; null removes the threshold")
    reason: str = Field(description="why: required")
