"""The escalation API under `/api/collections` (docs/escalation.md, "The API"): the accounts the matrix
proposes to escalate, a customer's level and history, escalating and de-escalating with a reason, the
matrix's rules, collection agencies, placements (placing, recalling, their figures) and the agency's CSV
export, within the caller's legal entities.

Reading needs VIEW_COLLECTIONS; escalating and de-escalating ESCALATE_ACCOUNTS (collectors, AR managers,
admins: the service allows a collector only to raise an account to the team lead, 403 otherwise);
changing the matrix, agencies and placements and the export MANAGE_ESCALATION (AR managers, admins)."""

from __future__ import annotations

from datetime import date, datetime
from typing import NoReturn

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import AuthorizationError

from o2c.collections import agency as agencies
from o2c.collections import escalation
from o2c.collections.api import VIEW_COLLECTIONS
from o2c.collections.models import (
    AgencyPlacement,
    CollectionAgency,
    CustomerEscalation,
    EscalationChange,
    EscalationLevel,
    EscalationReason,
    EscalationRule,
    PlacedItem,
)
from o2c.core import clock
from o2c.core.exceptions import DomainError
from o2c.core.money import Money, format_minor
from o2c.customers import api as customers_api
from o2c.customers import selectors as customer_selectors
from o2c.customers.schemas import DecimalString, decimal_of
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.receivables import selectors as receivables_selectors

router = Router(tags=["collections"])

# The capabilities of these endpoints; o2c.config.api maps them to the roles that grant them.
ESCALATE_ACCOUNTS = "escalate_accounts"
MANAGE_ESCALATION = "manage_escalation"


def _entity(who: customers_api.Caller, code: str | None) -> LegalEntity:
    """The granted entity of that code (404 if not granted), else the caller's default entity."""
    if code:
        for entity in ledger_selectors.entities_for_user(who.user):
            if entity.code == code:
                return entity
        raise Http404
    return customers_api.entity_for_write(who, None)


def _refused(error: DomainError) -> NoReturn:
    """A move the caller's role does not allow is 403, like a capability the roles do not grant."""
    if error.code == "not_allowed":
        raise AuthorizationError(message=error.message) from error
    raise error


# --- proposals, levels, history ---------------------------------------------------------------------


class OverdueOut(Schema):
    currency: str
    amount: str


class ProposalOut(Schema):
    customer_number: str
    customer_name: str
    current_level: str
    proposed_level: str
    rule: str
    conditions: list[str] = Field(description="days_overdue, overdue_amount, broken_promises, dunning_level")
    oldest_due_date: date
    days_overdue: int
    overdue: list[OverdueOut]
    broken_promises: int
    dunning_level: int
    dunning_level_since: date | None


class ProposalsOut(Schema):
    entity: str
    as_of: date
    proposals: list[ProposalOut]


@router.get("/escalations", response=ProposalsOut, summary="Accounts the escalation matrix proposes")
def escalation_proposals(
    request: HttpRequest, entity: str | None = None, as_of: date | None = None
) -> ProposalsOut:
    """The customers whose matrix calls for a level above their current one as of `as_of` (default today
    in the entity's time zone), with the rule that fired and its figures, by customer number."""
    who = customers_api.caller(request, VIEW_COLLECTIONS)
    chosen = _entity(who, entity)
    day = as_of or clock.today_in(chosen.time_zone)
    proposals = escalation.escalation_proposals(entity=chosen, as_of=day, actor=who.user, now=clock.now())
    return ProposalsOut(
        entity=chosen.code,
        as_of=day,
        proposals=[ProposalOut(**escalation.proposal_record(proposal)) for proposal in proposals],
    )


class ChangeOut(Schema):
    from_level: str
    to_level: str
    reason_code: str
    reason_text: str
    changed_on: date
    changed_at: datetime
    changed_by: str | None

    @staticmethod
    def of(change: EscalationChange) -> ChangeOut:
        return ChangeOut(
            from_level=change.from_level,
            to_level=change.to_level,
            reason_code=change.reason_code,
            reason_text=change.reason_text,
            changed_on=change.changed_on,
            changed_at=change.changed_at,
            changed_by=change.changed_by.username if change.changed_by else None,
        )


class AccountOut(Schema):
    customer_id: int
    customer_number: str
    level: str
    since: date | None
    history: list[ChangeOut]


def _account(customer_id: int, number: str) -> AccountOut:
    current = CustomerEscalation.objects.filter(customer_id=customer_id).first()
    return AccountOut(
        customer_id=customer_id,
        customer_number=number,
        level=current.level if current else EscalationLevel.COLLECTOR.value,
        since=current.since if current else None,
        history=[ChangeOut.of(change) for change in escalation.history(customer_id=customer_id)],
    )


@router.get(
    "/escalations/{int:customer_id}", response=AccountOut, summary="A customer's escalation level and history"
)
def escalation_account(request: HttpRequest, customer_id: int) -> AccountOut:
    who = customers_api.caller(request, VIEW_COLLECTIONS)
    customer = customer_selectors.customer_get(
        entity_ids=customers_api.entity_ids(who), customer_id=customer_id
    )
    return _account(customer.pk, customer.number)


class MoveIn(Schema):
    customer_id: int
    level: EscalationLevel
    reason_code: EscalationReason
    reason_text: str = Field(min_length=1)


def _move(request: HttpRequest, payload: MoveIn, *, up: bool) -> AccountOut:
    who = customers_api.caller(request, ESCALATE_ACCOUNTS)
    customer = customer_selectors.customer_get(
        entity_ids=customers_api.entity_ids(who), customer_id=payload.customer_id
    )
    service = escalation.customer_escalate if up else escalation.customer_deescalate
    try:
        service(
            customer=customer,
            level=payload.level.value,
            reason_code=payload.reason_code.value,
            reason_text=payload.reason_text,
            actor=who.user,
            now=clock.now(),
        )
    except escalation.UnableToEscalate as error:
        _refused(error)
    return _account(customer.pk, customer.number)


@router.post("/escalations/escalate", response=AccountOut, summary="Escalate a customer's account")
def escalation_raise(request: HttpRequest, payload: MoveIn) -> AccountOut:
    """To a higher level, with a reason code and text. A collector raises an account from her level to
    the team lead's only (403 otherwise); the agency level is reached by a placement (422
    `use_placement`). Refused: 422 `not_higher`, `reason_required`."""
    return _move(request, payload, up=True)


@router.post("/escalations/de-escalate", response=AccountOut, summary="De-escalate a customer's account")
def escalation_lower(request: HttpRequest, payload: MoveIn) -> AccountOut:
    """Back to a lower level (AR managers and admins), with a reason. Refused: 422 `not_lower`,
    `placed_with_agency` (recall the placement instead)."""
    return _move(request, payload, up=False)


# --- the matrix -------------------------------------------------------------------------------------


class RuleIn(Schema):
    entity: str | None = None
    name: str = Field(min_length=1, max_length=100)
    level: EscalationLevel
    min_days_overdue: int | None = Field(None, ge=0)
    min_overdue_amount: DecimalString | None = None
    currency: str = Field("", pattern=r"^([A-Z]{3})?$")
    min_broken_promises: int | None = Field(None, ge=0)
    min_dunning_level: int | None = Field(None, ge=0)
    min_dunning_days: int = Field(0, ge=0)
    is_active: bool = True


class RuleOut(Schema):
    id: int
    entity: str
    name: str
    level: str
    min_days_overdue: int | None
    min_overdue_amount: str | None
    currency: str
    min_broken_promises: int | None
    min_dunning_level: int | None
    min_dunning_days: int
    is_active: bool

    @staticmethod
    def of(rule: EscalationRule, entity_code: str) -> RuleOut:
        return RuleOut(
            id=rule.pk,
            entity=entity_code,
            name=rule.name,
            level=rule.level,
            min_days_overdue=rule.min_days_overdue,
            min_overdue_amount=None
            if rule.min_overdue_minor is None
            else format_minor(rule.min_overdue_minor, rule.currency),
            currency=rule.currency,
            min_broken_promises=rule.min_broken_promises,
            min_dunning_level=rule.min_dunning_level,
            min_dunning_days=rule.min_dunning_days,
            is_active=rule.is_active,
        )


@router.get("/escalation-rules", response=list[RuleOut], summary="The escalation matrix")
def escalation_rule_list(request: HttpRequest, entity: str | None = None) -> list[RuleOut]:
    """The entity's rules, highest level first (the standard matrix for an entity that has none yet)."""
    who = customers_api.caller(request, VIEW_COLLECTIONS)
    chosen = _entity(who, entity)
    escalation.matrix_ensure(entity=chosen, actor=who.user, now=clock.now())
    return [RuleOut.of(rule, chosen.code) for rule in escalation.rule_list(entity_id=chosen.pk)]


def _rule_data(payload: RuleIn) -> escalation.RuleIn:
    amount = None
    if payload.min_overdue_amount is not None:
        if not payload.currency:
            raise escalation.UnableToChangeMatrix(
                "an overdue amount is given with its currency", code="amount_without_currency"
            )
        amount = Money(decimal_of(payload.min_overdue_amount), payload.currency).to_minor()
    return escalation.RuleIn(
        name=payload.name,
        level=payload.level.value,
        min_days_overdue=payload.min_days_overdue,
        min_overdue_minor=amount,
        currency=payload.currency,
        min_broken_promises=payload.min_broken_promises,
        min_dunning_level=payload.min_dunning_level,
        min_dunning_days=payload.min_dunning_days,
        is_active=payload.is_active,
    )


@router.post("/escalation-rules", response={201: RuleOut}, summary="Add a rule to the escalation matrix")
def escalation_rule_create(request: HttpRequest, payload: RuleIn) -> Status[RuleOut]:
    """AR managers and admins. Refused: 422 `no_condition`, `bad_level`, `amount_without_currency`,
    `duplicate_name`."""
    who = customers_api.caller(request, MANAGE_ESCALATION)
    chosen = _entity(who, payload.entity)
    rule = escalation.rule_save(entity=chosen, data=_rule_data(payload), actor=who.user, now=clock.now())
    return Status(201, RuleOut.of(rule, chosen.code))


@router.put("/escalation-rules/{int:rule_id}", response=RuleOut, summary="Change a rule of the matrix")
def escalation_rule_update(request: HttpRequest, rule_id: int, payload: RuleIn) -> RuleOut:
    """Replaces the rule's level, conditions and `is_active` (a rule is switched off, never deleted)."""
    who = customers_api.caller(request, MANAGE_ESCALATION)
    rule = EscalationRule.objects.filter(pk=rule_id, entity_id__in=customers_api.entity_ids(who)).first()
    if rule is None:
        raise Http404
    entity = LegalEntity.objects.get(pk=rule.entity_id)
    saved = escalation.rule_save(
        entity=entity, data=_rule_data(payload), actor=who.user, now=clock.now(), rule_id=rule.pk
    )
    return RuleOut.of(saved, entity.code)


# --- agencies and placements ---------------------------------------------------------------------------


class AgencyIn(Schema):
    entity: str | None = None
    code: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=200)
    email: str = ""


class AgencyOut(Schema):
    id: int
    entity: str
    code: str
    name: str
    email: str
    is_active: bool

    @staticmethod
    def of(found: CollectionAgency, entity_code: str) -> AgencyOut:
        return AgencyOut(
            id=found.pk,
            entity=entity_code,
            code=found.code,
            name=found.name,
            email=found.email,
            is_active=found.is_active,
        )


@router.get("/agencies", response=list[AgencyOut], summary="Collection agencies")
def agency_list(request: HttpRequest, entity: str | None = None) -> list[AgencyOut]:
    who = customers_api.caller(request, VIEW_COLLECTIONS)
    chosen = _entity(who, entity)
    return [
        AgencyOut.of(found, chosen.code)
        for found in CollectionAgency.objects.filter(entity=chosen).order_by("code")
    ]


@router.post("/agencies", response={201: AgencyOut}, summary="Add a collection agency")
def agency_create(request: HttpRequest, payload: AgencyIn) -> Status[AgencyOut]:
    """AR managers and admins. Refused: 422 `duplicate_code`."""
    who = customers_api.caller(request, MANAGE_ESCALATION)
    chosen = _entity(who, payload.entity)
    created = agencies.agency_create(
        entity=chosen,
        code=payload.code,
        name=payload.name,
        email=payload.email,
        actor=who.user,
        now=clock.now(),
    )
    return Status(201, AgencyOut.of(created, chosen.code))


class AmountOut(Schema):
    currency: str
    placed: str
    open: str
    collected: str


class PlacementOut(Schema):
    id: int
    entity: str
    agency: str
    customer_id: int
    customer_number: str
    state: str
    placed_on: date
    reason_code: str
    reason_text: str
    placed_by: str | None
    recalled_on: date | None
    recall_reason: str
    document_ids: list[int]
    amounts: list[AmountOut] = Field(
        description="per currency: open at placement, open now, and the cash applied since placement"
    )


def _placements_out(placements: list[AgencyPlacement]) -> list[PlacementOut]:
    figures = agencies.placement_figures(placement_ids=[placement.pk for placement in placements])
    documents: dict[int, list[int]] = {}
    for placement_id, document_id in (
        PlacedItem.objects.filter(placement__in=placements)
        .order_by("placement_id", "document_id")
        .values_list("placement_id", "document_id")
    ):
        documents.setdefault(placement_id, []).append(document_id)
    found = []
    for placement in placements:
        figure = figures[placement.pk]
        found.append(
            PlacementOut(
                id=placement.pk,
                entity=placement.entity.code,
                agency=placement.agency.code,
                customer_id=placement.customer_id,
                customer_number=placement.customer.number,
                state=placement.state,
                placed_on=placement.placed_on,
                reason_code=placement.reason_code,
                reason_text=placement.reason_text,
                placed_by=placement.placed_by.username if placement.placed_by else None,
                recalled_on=placement.recalled_on,
                recall_reason=placement.recall_reason,
                document_ids=documents.get(placement.pk, []),
                amounts=[
                    AmountOut(
                        currency=currency,
                        placed=format_minor(placed, currency),
                        open=format_minor(figure.open_minor.get(currency, 0), currency),
                        collected=format_minor(figure.collected_minor.get(currency, 0), currency),
                    )
                    for currency, placed in sorted(figure.placed_minor.items())
                ],
            )
        )
    return found


def _placements(entity_ids: list[int], **filters: object) -> list[AgencyPlacement]:
    return list(
        AgencyPlacement.objects.filter(entity_id__in=entity_ids, **filters)
        .select_related("entity", "customer", "agency", "placed_by")
        .order_by("pk")
    )


class PlacementFilter(Schema):
    agency: str | None = None
    state: AgencyPlacement.State | None = None
    customer_id: int | None = None


@router.get("/agency-placements", response=list[PlacementOut], summary="Accounts placed with agencies")
def placement_list(request: HttpRequest, filters: Query[PlacementFilter]) -> list[PlacementOut]:
    """Oldest first, with what was placed, what is open of it and the cash collected since placement."""
    who = customers_api.caller(request, VIEW_COLLECTIONS)
    chosen: dict[str, object] = {}
    if filters.agency:
        chosen["agency__code"] = filters.agency
    if filters.state:
        chosen["state"] = filters.state
    if filters.customer_id is not None:
        chosen["customer_id"] = filters.customer_id
    placements = _placements(customers_api.entity_ids(who), **chosen)
    return _placements_out(placements)


class PlacementIn(Schema):
    customer_id: int
    agency: str = Field(description="the agency's code")
    document_ids: list[int] | None = Field(None, description="default: all its open invoices and debit memos")
    reason_code: EscalationReason
    reason_text: str = Field(min_length=1)


def _placement_out(entity_ids: list[int], placement_id: int) -> PlacementOut:
    return _placements_out(_placements(entity_ids, pk=placement_id))[0]


@router.post("/agency-placements", response={201: PlacementOut}, summary="Place an account with an agency")
def placement_create(request: HttpRequest, payload: PlacementIn) -> Status[PlacementOut]:
    """AR managers and admins: the items leave dunning, the account moves to the agency level. Refused:
    422 `unknown_agency`, `no_documents`, `not_open`, `already_placed`."""
    who = customers_api.caller(request, MANAGE_ESCALATION)
    entity_ids = customers_api.entity_ids(who)
    customer = customer_selectors.customer_get(entity_ids=entity_ids, customer_id=payload.customer_id)
    found = agencies.agency_get(entity_ids=[customer.entity_id], code=payload.agency)
    documents = None
    if payload.document_ids is not None:
        documents = list(
            receivables_selectors.document_list(entity_ids=entity_ids).filter(
                pk__in=set(payload.document_ids)
            )
        )
        if len(documents) != len(set(payload.document_ids)):
            raise Http404
    try:
        placement = agencies.placement_create(
            customer=customer,
            agency=found,
            documents=documents,
            reason_code=payload.reason_code.value,
            reason_text=payload.reason_text,
            actor=who.user,
            now=clock.now(),
        )
    except agencies.UnableToPlace as error:
        _refused(error)
    return Status(201, _placement_out(entity_ids, placement.pk))


class RecallIn(Schema):
    reason_text: str = Field(min_length=1)
    reason_code: EscalationReason = EscalationReason.OTHER


@router.post(
    "/agency-placements/{int:placement_id}/recall", response=PlacementOut, summary="Recall a placement"
)
def placement_recall(request: HttpRequest, placement_id: int, payload: RecallIn) -> PlacementOut:
    """AR managers and admins, with a reason: the items come back to dunning, the account to its level
    before the placement. Refused: 422 `not_placed`."""
    who = customers_api.caller(request, MANAGE_ESCALATION)
    entity_ids = customers_api.entity_ids(who)
    if not AgencyPlacement.objects.filter(pk=placement_id, entity_id__in=entity_ids).exists():
        raise Http404
    try:
        agencies.placement_recall(
            placement_id=placement_id,
            reason_text=payload.reason_text,
            reason_code=payload.reason_code.value,
            actor=who.user,
            now=clock.now(),
        )
    except agencies.UnableToPlace as error:
        _refused(error)
    return _placement_out(entity_ids, placement_id)


@router.get(
    "/agency-placements/export",
    response={200: str},
    summary="The items placed with an agency, as CSV",
    openapi_extra={"responses": {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}},
)
def placement_export(
    request: HttpRequest,
    agency: str,
    placed_from: date | None = None,
    placed_to: date | None = None,
    entity: str | None = None,
) -> HttpResponse:
    """One row per placed item still open, the columns of docs/escalation.md (UTF-8, a header row).
    AR managers and admins. Refused: 422 `unknown_agency`."""
    who = customers_api.caller(request, MANAGE_ESCALATION)
    chosen = _entity(who, entity)
    found = agencies.agency_get(entity_ids=[chosen.pk], code=agency)
    rows = agencies.export_rows(
        agency=found, as_of=clock.today_in(chosen.time_zone), placed_from=placed_from, placed_to=placed_to
    )
    response = HttpResponse(agencies.export_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="agency-{found.code}.csv"'
    return response
