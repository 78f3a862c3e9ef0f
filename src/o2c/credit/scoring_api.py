"""The credit scoring API under `/api/credit` (docs/credit-scoring.md, "The API"): the scorecard, credit
applications and bureau imports, scoring customers, reviews, raise requests and the reports by risk
class, within the caller's legal entities.

Reading needs VIEW_SCORING (credit analysts, AR managers, auditors, admins); applications, bureau
imports, scoring, reviews and deciding raise requests SCORE_CREDIT (credit analysts, AR managers,
admins); asking for a raise REQUEST_RAISES (also billing, who sells); changing the scorecard
MANAGE_SCORECARD (AR managers, admins: the credit manager)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema, Status, UploadedFile

from o2c.core import clock
from o2c.core.exceptions import InputError
from o2c.core.money import Money
from o2c.credit import applications, reviews, scoring
from o2c.credit.applications import ApplicationIn, StatementIn, TradeReferenceIn
from o2c.credit.models import CreditApplication, CreditReview, RaiseRequest
from o2c.customers import api as customers_api
from o2c.customers.models import Customer
from o2c.customers.schemas import DecimalString, decimal_of
from o2c.disputes import rules as dispute_rules
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity

router = Router(tags=["credit"])

# The capabilities of these endpoints; o2c.config.api maps them to the roles that grant them.
VIEW_SCORING = "view_credit_scoring"
SCORE_CREDIT = "score_credit"
REQUEST_RAISES = "request_credit_raises"
MANAGE_SCORECARD = "manage_scorecard"


def _entity(who: customers_api.Caller, code: str | None) -> LegalEntity:
    if code:
        for entity in ledger_selectors.entities_for_user(who.user):
            if entity.code == code:
                return entity
        raise Http404
    return customers_api.entity_for_write(who, None)


def _customer(who: customers_api.Caller, number: str, entity: str | None = None) -> Customer:
    """The caller's customer of that number (in `entity` when given); 404 when none."""
    found = Customer.objects.filter(entity_id__in=customers_api.entity_ids(who), number=number)
    if entity:
        found = found.filter(entity__code=entity)
    customers = list(found[:2])
    if not customers:
        raise Http404
    if len(customers) > 1:
        raise InputError(
            _("several legal entities have this customer number: name one in `entity`"),
            code="entity_required",
        )
    return customers[0]


def _today(who: customers_api.Caller, entity: LegalEntity | None = None) -> date:
    chosen = entity or customers_api.entity_for_write(who, None)
    return clock.today_in(chosen.time_zone)


def _money(minor: int | None, currency: str) -> str | None:
    return None if minor is None else Money.from_minor(minor, currency).plain()


# --- the scorecard ----------------------------------------------------------------------------------


class ScorecardOut(Schema):
    version: int
    note: str
    created_at: datetime
    definition: dict[str, Any]


class ScorecardIn(Schema):
    definition: dict[str, Any] = Field(
        description="factors with weights and bands, classes, currency, limit_step"
    )
    note: str = Field("", max_length=300)


@router.get("/scorecard", response=ScorecardOut, summary="The scorecard in force")
def scorecard_get(request: HttpRequest) -> ScorecardOut:
    customers_api.caller(request, VIEW_SCORING)
    version, _card_unused = scoring.scorecard_current()
    return ScorecardOut(
        version=version.version,
        note=version.note,
        created_at=version.created_at,
        definition=version.definition,
    )


@router.put("/scorecard", response=ScorecardOut, summary="Change the scorecard (a new version)")
def scorecard_put(request: HttpRequest, payload: ScorecardIn) -> ScorecardOut:
    """The whole definition; checked first (422 `bad_scorecard` naming the path), audited."""
    who = customers_api.caller(request, MANAGE_SCORECARD)
    version = scoring.scorecard_change(
        definition=payload.definition, note=payload.note, actor=who.user, now=clock.now()
    )
    return ScorecardOut(
        version=version.version,
        note=version.note,
        created_at=version.created_at,
        definition=version.definition,
    )


# --- applications ---------------------------------------------------------------------------------


class TradeReferenceSchema(Schema):
    name: str = Field(min_length=1, max_length=200)
    contact: str = Field("", max_length=200)
    years_known: int = Field(0, ge=0, le=200)
    highest_credit: DecimalString = "0"
    currency: str = Field("", description="default: the application's")
    payment_experience: str = Field(description="prompt, slow or poor")


class StatementSchema(Schema):
    statement_date: date
    currency: str = Field(min_length=3, max_length=3)
    current_assets: DecimalString
    current_liabilities: DecimalString
    total_assets: DecimalString
    total_liabilities: DecimalString
    retained_earnings: DecimalString
    ebit: DecimalString
    sales: DecimalString
    equity: DecimalString

    def value(self) -> StatementIn:
        return StatementIn(
            statement_date=self.statement_date,
            currency=self.currency,
            **{
                name: decimal_of(getattr(self, name))
                for name in (
                    "current_assets",
                    "current_liabilities",
                    "total_assets",
                    "total_liabilities",
                    "retained_earnings",
                    "ebit",
                    "sales",
                    "equity",
                )
            },
        )


class ApplicationSchemaIn(Schema):
    company_name: str = Field(min_length=1, max_length=200)
    country: str = Field(min_length=2, max_length=2)
    vat_id: str = Field("", max_length=30)
    registration_number: str = Field("", max_length=40)
    address: str = ""
    requested_limit: DecimalString
    currency: str = Field(min_length=3, max_length=3)
    trade_references: list[TradeReferenceSchema] = []
    statements: list[StatementSchema] = []
    entity: str | None = Field(None, description="legal entity code")


class StatementOut(Schema):
    statement_date: date
    currency: str
    figures: dict[str, str]


class BureauOut(Schema):
    bureau: str
    as_of: date
    score: int
    failure_class: int | None
    payment_index: int | None


class ApplicationOut(Schema):
    id: int
    entity: str
    state: str
    company_name: str
    country: str
    vat_id: str
    registration_number: str
    address: str
    requested_limit: str
    currency: str
    trade_references: list[dict[str, Any]]
    statements: list[StatementOut]
    bureau_reports: list[BureauOut]
    scores: list[dict[str, Any]]
    customer_number: str | None
    decided_limit: str | None
    decision_note: str
    limit_request_id: int | None


FIGURES = (
    "current_assets",
    "current_liabilities",
    "total_assets",
    "total_liabilities",
    "retained_earnings",
    "ebit",
    "sales",
    "equity",
)


def _application_out(application: CreditApplication) -> ApplicationOut:
    return ApplicationOut(
        id=application.pk,
        entity=application.entity.code,
        state=application.state,
        company_name=application.company_name,
        country=application.country,
        vat_id=application.vat_id,
        registration_number=application.registration_number,
        address=application.address,
        requested_limit=_money(application.requested_limit_minor, application.currency) or "",
        currency=application.currency,
        trade_references=[
            {
                "name": ref.name,
                "contact": ref.contact,
                "years_known": ref.years_known,
                "highest_credit": _money(ref.highest_credit_minor, ref.currency),
                "currency": ref.currency,
                "payment_experience": ref.payment_experience,
            }
            for ref in application.trade_references.order_by("pk")
        ],
        statements=[
            StatementOut(
                statement_date=s.statement_date,
                currency=s.currency,
                figures={name: _money(getattr(s, f"{name}_minor"), s.currency) or "" for name in FIGURES},
            )
            for s in application.financial_statements.order_by("statement_date", "pk")
        ],
        bureau_reports=[
            BureauOut(
                bureau=r.bureau,
                as_of=r.as_of,
                score=r.score,
                failure_class=r.failure_class,
                payment_index=r.payment_index,
            )
            for r in application.bureau_reports.order_by("as_of", "pk")
        ],
        scores=[
            scoring.score_record(s)
            for s in application.scores.select_related("scorecard", "customer").order_by("-as_of", "-pk")
        ],
        customer_number=None if application.customer is None else application.customer.number,
        decided_limit=_money(application.decided_limit_minor, application.currency),
        decision_note=application.decision_note,
        limit_request_id=application.limit_request_id,
    )


def _application(who: customers_api.Caller, application_id: int) -> CreditApplication:
    found = (
        CreditApplication.objects.select_related("entity", "customer")
        .filter(entity_id__in=customers_api.entity_ids(who), pk=application_id)
        .first()
    )
    if found is None:
        raise Http404
    return found


@router.post("/applications", response={201: ApplicationOut}, summary="Submit a credit application")
def application_create(request: HttpRequest, payload: ApplicationSchemaIn) -> Status[ApplicationOut]:
    """A new account's application with its trade references and financial statements (`submitted`)."""
    who = customers_api.caller(request, SCORE_CREDIT)
    entity = customers_api.entity_for_write(who, payload.entity)
    data = ApplicationIn(
        company_name=payload.company_name,
        country=payload.country,
        vat_id=payload.vat_id,
        registration_number=payload.registration_number,
        address=payload.address,
        requested_limit=decimal_of(payload.requested_limit),
        currency=payload.currency,
        trade_references=[
            TradeReferenceIn(
                name=ref.name,
                contact=ref.contact,
                years_known=ref.years_known,
                highest_credit=decimal_of(ref.highest_credit),
                currency=ref.currency,
                payment_experience=ref.payment_experience,
            )
            for ref in payload.trade_references
        ],
        statements=[statement.value() for statement in payload.statements],
    )
    application = applications.application_submit(entity=entity, data=data, actor=who.user, now=clock.now())
    return Status(201, _application_out(_application(who, application.pk)))


@router.get("/applications/{int:application_id}", response=ApplicationOut, summary="A credit application")
def application_get(request: HttpRequest, application_id: int) -> ApplicationOut:
    who = customers_api.caller(request, VIEW_SCORING)
    return _application_out(_application(who, application_id))


@router.post(
    "/applications/{int:application_id}/statements",
    response={201: ApplicationOut},
    summary="Add financial statements to an application",
)
def application_statement_add(
    request: HttpRequest, application_id: int, payload: StatementSchema
) -> Status[ApplicationOut]:
    who = customers_api.caller(request, SCORE_CREDIT)
    application = _application(who, application_id)
    applications.application_statement_add(
        application_id=application.pk, statement=payload.value(), actor=who.user, now=clock.now()
    )
    return Status(201, _application_out(_application(who, application.pk)))


class AsOfIn(Schema):
    as_of: date | None = Field(None, description="default: today in the entity's time zone")


@router.post(
    "/applications/{int:application_id}/score", response=ApplicationOut, summary="Score an application"
)
def application_score(request: HttpRequest, application_id: int, payload: AsOfIn) -> ApplicationOut:
    """Scores on the latest statements and bureau report up to `as_of` (422 `no_factors` without)."""
    who = customers_api.caller(request, SCORE_CREDIT)
    application = _application(who, application_id)
    scoring.application_score(
        application_id=application.pk,
        as_of=payload.as_of or _today(who, application.entity),
        actor=who.user,
        now=clock.now(),
    )
    return _application_out(_application(who, application.pk))


class ApproveIn(Schema):
    customer_number: str = Field(min_length=1, description="the customer account it became")
    limit: DecimalString | None = Field(None, description="default: the latest score's recommended limit")
    note: str = ""


class DeclineIn(Schema):
    note: str = Field(min_length=1)


@router.post(
    "/applications/{int:application_id}/approve",
    response=ApplicationOut,
    summary="Approve a scored application",
)
def application_approve(request: HttpRequest, application_id: int, payload: ApproveIn) -> ApplicationOut:
    """Approves with the decided limit for the customer; the limit goes to the limit service (pending for a
    second person above the approval threshold). 422 `not_scored` unless scored."""
    who = customers_api.caller(request, SCORE_CREDIT)
    application = _application(who, application_id)
    customer = _customer(who, payload.customer_number, application.entity.code)
    if payload.limit is not None:
        limit = decimal_of(payload.limit)
    else:
        latest = application.scores.order_by("-as_of", "-pk").first()
        if (
            latest is None
            or latest.recommended_limit_minor is None
            or latest.currency != application.currency
        ):
            raise InputError(
                _("give the limit: the score recommends none in the application's currency"), column="limit"
            )
        limit = Money.from_minor(latest.recommended_limit_minor, latest.currency).amount
    applications.application_approve(
        application_id=application.pk,
        limit=limit,
        customer=customer,
        note=payload.note,
        actor=who.user,
        now=clock.now(),
    )
    return _application_out(_application(who, application.pk))


@router.post(
    "/applications/{int:application_id}/decline",
    response=ApplicationOut,
    summary="Decline a scored application",
)
def application_decline(request: HttpRequest, application_id: int, payload: DeclineIn) -> ApplicationOut:
    who = customers_api.caller(request, SCORE_CREDIT)
    application = _application(who, application_id)
    applications.application_decline(
        application_id=application.pk, note=payload.note, actor=who.user, now=clock.now()
    )
    return _application_out(_application(who, application.pk))


class BureauImportOut(Schema):
    file: str
    rows: int
    created: int
    updated: int
    unchanged: int


@router.post(
    "/bureau-reports", response=BureauImportOut, summary="Import a credit bureau's CSV export (multipart)"
)
def bureau_reports_import(
    request: HttpRequest, file: File[UploadedFile], entity: Form[str] = ""
) -> BureauImportOut:
    """Columns `registration_number` and/or `vat_id`, `bureau`, `score`, `failure_class`,
    `payment_index`, `as_of`; atomic (422 naming the row and column) and idempotent."""
    who = customers_api.caller(request, SCORE_CREDIT)
    chosen = customers_api.entity_for_write(who, entity or None)
    result = applications.bureau_import(
        data=file.read(dispute_rules.MAX_ATTACHMENT_BYTES + 1),
        file_name=file.name or "bureau.csv",
        entity=chosen,
        actor=who.user,
        now=clock.now(),
    )
    return BureauImportOut(**result.as_json())  # type: ignore[arg-type]


# --- customers' scores --------------------------------------------------------------------------------


class ScoreOut(Schema):
    id: int
    customer: str | None
    application: int | None
    as_of: date
    scorecard_version: int
    total: str | None
    risk_class: str | None
    recommended_limit: str | None
    currency: str | None
    limit_basis: str
    factors: list[dict[str, Any]]
    inputs: dict[str, Any]
    next_review: date | None = None


class ScoresOut(Schema):
    customer: str
    risk_class: str | None
    risk_scored_on: date | None
    next_review: date | None
    scores: list[ScoreOut]


def _next_review(customer: Customer) -> date | None:
    review = CreditReview.objects.filter(customer=customer, state=CreditReview.State.OPEN).first()
    return None if review is None else review.due_date


@router.post("/customers/{number}/score", response=ScoreOut, summary="Score an existing customer")
def customer_score(request: HttpRequest, number: str, payload: AsOfIn, entity: str | None = None) -> ScoreOut:
    """Scores with the scorecard in force as of `as_of`; keeps the score with its factors, sets the risk
    class and scored date and schedules the next review (422 `no_factors` when nothing is known)."""
    who = customers_api.caller(request, SCORE_CREDIT)
    customer = _customer(who, number, entity)
    score = scoring.customer_score(
        customer_id=customer.pk,
        as_of=payload.as_of or clock.today_in(customer.entity.time_zone),
        actor=who.user,
        now=clock.now(),
    )
    return ScoreOut(**scoring.score_record(score), next_review=_next_review(customer))


@router.get(
    "/customers/{number}/scores", response=ScoresOut, summary="A customer's credit profile and scores"
)
def customer_scores(request: HttpRequest, number: str, entity: str | None = None) -> ScoresOut:
    who = customers_api.caller(request, VIEW_SCORING)
    customer = _customer(who, number, entity)
    return ScoresOut(
        customer=customer.number,
        risk_class=customer.risk_class or None,
        risk_scored_on=customer.risk_scored_on,
        next_review=_next_review(customer),
        scores=[ScoreOut(**scoring.score_record(s)) for s in scoring.customer_scores(customer=customer)],
    )


# --- reviews ---------------------------------------------------------------------------------------


class ReviewOut(Schema):
    id: int
    customer_number: str
    customer_name: str
    risk_class: str
    due_date: date
    state: str
    decision: str
    note: str
    completed_on: date | None


class ReviewsOut(Schema):
    entity: str
    as_of: date
    reviews: list[ReviewOut]


def _review_out(review: CreditReview) -> ReviewOut:
    return ReviewOut(
        id=review.pk,
        customer_number=review.customer.number,
        customer_name=review.customer.name,
        risk_class=review.risk_class,
        due_date=review.due_date,
        state=review.state,
        decision=review.decision,
        note=review.note,
        completed_on=review.completed_on,
    )


@router.get("/reviews", response=ReviewsOut, summary="Credit reviews due")
def reviews_due(request: HttpRequest, entity: str | None = None, as_of: date | None = None) -> ReviewsOut:
    """The open reviews due on or before `as_of` (default today), the oldest first."""
    who = customers_api.caller(request, VIEW_SCORING)
    chosen = _entity(who, entity)
    day = as_of or clock.today_in(chosen.time_zone)
    return ReviewsOut(
        entity=chosen.code,
        as_of=day,
        reviews=[_review_out(r) for r in reviews.reviews_due(entity_ids=[chosen.pk], as_of=day)],
    )


class ReviewCompleteIn(Schema):
    decision: str = Field(description="keep, raise, lower or block")
    note: str = Field(min_length=1)
    as_of: date | None = None


@router.post("/reviews/{int:review_id}/complete", response=ReviewOut, summary="Complete a credit review")
def review_complete(request: HttpRequest, review_id: int, payload: ReviewCompleteIn) -> ReviewOut:
    """Rescores the customer, records the decision and the note; the next review follows the new class."""
    who = customers_api.caller(request, SCORE_CREDIT)
    review = (
        CreditReview.objects.select_related("customer__entity")
        .filter(entity_id__in=customers_api.entity_ids(who), pk=review_id)
        .first()
    )
    if review is None:
        raise Http404
    done = reviews.review_complete(
        review_id=review.pk,
        decision=payload.decision,
        note=payload.note,
        as_of=payload.as_of or clock.today_in(review.customer.entity.time_zone),
        actor=who.user,
        now=clock.now(),
    )
    return _review_out(done)


# --- raise requests --------------------------------------------------------------------------------


class RaiseIn(Schema):
    customer_number: str = Field(min_length=1)
    requested_limit: DecimalString
    reason: str = Field(min_length=1)
    entity: str | None = None


class EvidenceOut(Schema):
    id: int
    file_name: str
    checklist_item: str
    description: str
    content_type: str
    size: int
    sha256: str


class RaiseOut(Schema):
    id: int
    customer_number: str
    state: str
    current_limit: str | None
    requested_limit: str
    currency: str
    reason: str
    checklist: list[dict[str, Any]]
    evidence: list[EvidenceOut]
    decided_limit: str | None
    decision_note: str
    limit_request_id: int | None


def _raise_out(request: RaiseRequest) -> RaiseOut:
    return RaiseOut(
        id=request.pk,
        customer_number=request.customer.number,
        state=request.state,
        current_limit=_money(request.current_limit_minor, request.currency),
        requested_limit=_money(request.requested_limit_minor, request.currency) or "",
        currency=request.currency,
        reason=request.reason,
        checklist=[
            {"item": code, "label": str(label), **request.checklist.get(code, {"checked": False})}
            for code, label in reviews.CHECKLIST
        ],
        evidence=[
            EvidenceOut(
                id=e.pk,
                file_name=e.file_name,
                checklist_item=e.checklist_item,
                description=e.description,
                content_type=e.content_type,
                size=e.size,
                sha256=e.sha256,
            )
            for e in request.evidence.order_by("pk")
        ],
        decided_limit=_money(request.decided_limit_minor, request.currency),
        decision_note=request.decision_note,
        limit_request_id=request.limit_request_id,
    )


def _raise(who: customers_api.Caller, request_id: int) -> RaiseRequest:
    found = (
        RaiseRequest.objects.select_related("customer")
        .filter(entity_id__in=customers_api.entity_ids(who), pk=request_id)
        .first()
    )
    if found is None:
        raise Http404
    return found


@router.post("/raise-requests", response={201: RaiseOut}, summary="Ask for a higher credit limit")
def raise_request_create(request: HttpRequest, payload: RaiseIn) -> Status[RaiseOut]:
    who = customers_api.caller(request, REQUEST_RAISES)
    customer = _customer(who, payload.customer_number, payload.entity)
    created = reviews.raise_request_create(
        customer=customer,
        requested_limit=decimal_of(payload.requested_limit),
        reason=payload.reason,
        actor=who.user,
        now=clock.now(),
    )
    return Status(201, _raise_out(_raise(who, created.pk)))


@router.get("/raise-requests/{int:request_id}", response=RaiseOut, summary="A raise request")
def raise_request_get(request: HttpRequest, request_id: int) -> RaiseOut:
    who = customers_api.caller(request, VIEW_SCORING)
    return _raise_out(_raise(who, request_id))


class CheckIn(Schema):
    item: str = Field(description="financials_received, bureau_report_checked, trade_references_checked, ...")
    checked: bool = True
    note: str = ""


@router.post("/raise-requests/{int:request_id}/checklist", response=RaiseOut, summary="Tick a checklist item")
def raise_request_check(request: HttpRequest, request_id: int, payload: CheckIn) -> RaiseOut:
    who = customers_api.caller(request, SCORE_CREDIT)
    found = _raise(who, request_id)
    reviews.raise_request_check(
        request_id=found.pk,
        item=payload.item,
        checked=payload.checked,
        note=payload.note,
        actor=who.user,
        now=clock.now(),
    )
    return _raise_out(_raise(who, found.pk))


@router.post(
    "/raise-requests/{int:request_id}/evidence",
    response={201: RaiseOut},
    summary="Attach evidence to a raise request (multipart)",
)
def raise_evidence_add(
    request: HttpRequest,
    request_id: int,
    file: File[UploadedFile],
    item: Form[str] = "",
    description: Form[str] = "",
) -> Status[RaiseOut]:
    """Multipart `file`, optional `item` (the checklist item it supports) and `description`; the types
    and size a dispute's attachments allow (422 `file_too_large`, `file_type_not_allowed`)."""
    who = customers_api.caller(request, SCORE_CREDIT)
    found = _raise(who, request_id)
    reviews.raise_evidence_add(
        request_id=found.pk,
        file_name=file.name or "evidence",
        content_type=file.content_type or "",
        content=file.read(dispute_rules.MAX_ATTACHMENT_BYTES + 1),
        item=item,
        description=description,
        actor=who.user,
        now=clock.now(),
    )
    return Status(201, _raise_out(_raise(who, found.pk)))


class DecideIn(Schema):
    limit: DecimalString | None = Field(None, description="approve: default the requested limit")
    note: str = ""


@router.post("/raise-requests/{int:request_id}/approve", response=RaiseOut, summary="Approve a raise request")
def raise_request_approve(request: HttpRequest, request_id: int, payload: DecideIn) -> RaiseOut:
    """Every checklist item ticked first (422 `checklist_open`); the limit goes to the limit service."""
    who = customers_api.caller(request, SCORE_CREDIT)
    found = _raise(who, request_id)
    reviews.raise_request_decide(
        request_id=found.pk,
        approve=True,
        limit=None if payload.limit is None else decimal_of(payload.limit),
        note=payload.note,
        actor=who.user,
        now=clock.now(),
    )
    return _raise_out(_raise(who, found.pk))


@router.post("/raise-requests/{int:request_id}/decline", response=RaiseOut, summary="Decline a raise request")
def raise_request_decline(request: HttpRequest, request_id: int, payload: DecideIn) -> RaiseOut:
    who = customers_api.caller(request, SCORE_CREDIT)
    found = _raise(who, request_id)
    reviews.raise_request_decide(
        request_id=found.pk, approve=False, limit=None, note=payload.note, actor=who.user, now=clock.now()
    )
    return _raise_out(_raise(who, found.pk))


# --- reports ---------------------------------------------------------------------------------------


class ClassRowOut(Schema):
    risk_class: str | None = Field(description="A to E; null for customers not scored")
    currency: str
    customers: int
    receivables: str
    exposure: str


class ClassLimitOut(Schema):
    risk_class: str | None
    currency: str
    limits: int
    limit: str
    exposure: str
    limit_use: str | None = Field(description="exposure / limit in %")


class ClassReportOut(Schema):
    entity: str
    as_of: date
    customers: list[ClassRowOut]
    limits: list[ClassLimitOut]


@router.get("/reports/risk-classes", response=ClassReportOut, summary="Exposure and limit use by risk class")
def report_risk_classes(
    request: HttpRequest, entity: str | None = None, as_of: date | None = None
) -> ClassReportOut:
    """Customers, open receivables and exposure per risk class and currency; the limits in force and
    the exposure they cover per risk class and limit currency (at the rate of `as_of`, default today)."""
    who = customers_api.caller(request, VIEW_SCORING)
    chosen = _entity(who, entity)
    day = as_of or clock.today_in(chosen.time_zone)
    report = reviews.risk_class_report(entity_ids=[chosen.pk], as_of=day)
    return ClassReportOut(
        entity=chosen.code,
        as_of=day,
        customers=[ClassRowOut(**row) for row in report["customers"]],
        limits=[ClassLimitOut(**row) for row in report["limits"]],
    )


class LimitDueOut(Schema):
    customer_number: str
    customer_name: str
    risk_class: str | None
    limit: str
    currency: str
    next_review_date: date


class LimitsDueOut(Schema):
    entity: str
    as_of: date
    limits: list[LimitDueOut]


@router.get("/reports/limits-due", response=LimitsDueOut, summary="Credit limits due for review")
def report_limits_due(
    request: HttpRequest, entity: str | None = None, as_of: date | None = None
) -> LimitsDueOut:
    who = customers_api.caller(request, VIEW_SCORING)
    chosen = _entity(who, entity)
    day = as_of or clock.today_in(chosen.time_zone)
    rows = [
        LimitDueOut(
            customer_number=limit.customer.number,
            customer_name=limit.customer.name,
            risk_class=limit.customer.risk_class or None,
            limit=_money(limit.amount_minor, limit.currency) or "",
            currency=limit.currency,
            next_review_date=limit.next_review_date,  # type: ignore[arg-type]
        )
        for limit in reviews.limits_due_for_review(entity_ids=[chosen.pk], as_of=day)
    ]
    return LimitsDueOut(entity=chosen.code, as_of=day, limits=rows)
