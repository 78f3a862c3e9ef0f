"""The disputes API (`/api/disputes`): dispute and deduction cases of the granted legal entities, their
notes, their moves and how they end (docs/disputes.md).

Reading needs VIEW_DISPUTES (disputes, collector, AR manager, auditor, admin); opening, moving,
assigning, noting and resolving need CHANGE_DISPUTES (disputes, AR manager, admin); approving or
rejecting a write-off above the threshold APPROVE_WRITE_OFFS (AR manager, admin: the service checks the
same roles and that the approver is not who asked). The settings (customers' codes, routing and SLA,
write-off thresholds) are read with VIEW_DISPUTES and changed with MANAGE_DISPUTE_SETTINGS (AR manager,
admin). Another entity's case or document is 404.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from ninja import File, Form, Query, Router, Status, UploadedFile

from o2c.core import clock
from o2c.core.exceptions import InputError
from o2c.core.money import format_minor
from o2c.customers import api as customers_api
from o2c.customers import schemas as customer_schemas
from o2c.customers import selectors as customer_selectors
from o2c.disputes import reports, rules, schemas, selectors, services
from o2c.disputes.errors import UnableToChangeCase
from o2c.disputes.models import Case, ReasonMapping, WriteOffPolicy
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.receivables import selectors as receivables_selectors
from o2c.receivables.calculations import LineIn

router = Router(tags=["disputes"])

# The capabilities of the disputes endpoints; o2c.config.api maps them to the roles that grant them.
VIEW_DISPUTES = "view_disputes"
CHANGE_DISPUTES = "change_disputes"
APPROVE_WRITE_OFFS = "approve_write_offs"
MANAGE_DISPUTE_SETTINGS = "manage_dispute_settings"


def _user(username: str | None) -> int | None:
    if username is None:
        return None
    user = User.objects.filter(username=username).first()
    if user is None:
        raise InputError(f"no user '{username}'", code="unknown_user")
    return user.pk


def _case(
    request: HttpRequest, capability: str, case_id: int
) -> tuple[customers_api.Caller, list[int], Case]:
    who = customers_api.caller(request, capability)
    entity_ids = customers_api.entity_ids(who)
    return who, entity_ids, selectors.case_get(entity_ids=entity_ids, case_id=case_id)


def _detail(entity_ids: list[int], case_id: int) -> schemas.CaseDetailOut:
    case = selectors.case_get(entity_ids=entity_ids, case_id=case_id)
    return schemas.CaseDetailOut(
        **schemas.CaseOut.of(case).dict(),
        notes=[schemas.NoteOut.of(note) for note in sorted(case.notes.all(), key=lambda n: n.pk)],
        attachments=[
            schemas.AttachmentOut.of(file) for file in sorted(case.attachments.all(), key=lambda a: a.pk)
        ],
    )


@router.get("", response=schemas.CasePage, summary="List dispute and deduction cases")
def case_list(request: HttpRequest, filters: Query[schemas.CaseFilter]) -> schemas.CasePage:
    """Newest first; filters by state (or `open`), kind, customer, owner and reason code."""
    who = customers_api.caller(request, VIEW_DISPUTES)
    entity_ids = customers_api.entity_ids(who)
    cases = selectors.case_list(
        entity_ids=entity_ids,
        state=filters.state or "",
        customer_id=filters.customer_id,
        reason_code=filters.reason_code or "",
        kind=filters.kind or "",
        open_only=filters.open is True,
    ).select_related("resolved_by", "requested_by", "approved_by")
    if filters.open is False:
        cases = cases.exclude(state__in=["open", "in_review", "waiting_on_customer"])
    if filters.customer_number:
        cases = cases.filter(customer__number=filters.customer_number)
    if filters.owner:
        cases = cases.filter(owner__username=filters.owner)
    rows, next_cursor = customers_api.paginate(
        cases, cursor=filters.cursor, limit=filters.limit, newest_first=True
    )
    return schemas.CasePage(items=[schemas.CaseOut.of(case) for case in rows], next_cursor=next_cursor)


@router.get("/root-causes", response=schemas.RootCausesOut, summary="Root causes of the cases that ended")
def root_cause_report(request: HttpRequest, query: Query[schemas.RootCauseQuery]) -> schemas.RootCausesOut:
    """The cases resolved, rejected or written off from `date_from` through `date_to` of one entity
    (`entity` code, default the caller's): per root cause and currency; per root cause, team and
    customer; per root cause and product; and per month and root cause (every month of the range), each
    with the number of cases and their amount."""
    who = customers_api.caller(request, VIEW_DISPUTES)
    entity = _read_entity(who, query.entity)
    if query.date_to < query.date_from:
        raise InputError("date_to is before date_from", code="bad_range")
    causes, rows = reports.root_causes(entity_id=entity.pk, date_from=query.date_from, date_to=query.date_to)
    return schemas.RootCausesOut(
        entity=entity.code,
        date_from=query.date_from,
        date_to=query.date_to,
        causes=[
            schemas.CauseOut(
                root_cause=row.root_cause,
                currency=row.currency,
                cases=row.cases,
                amount=format_minor(row.amount_minor, row.currency),
            )
            for row in causes
        ],
        rows=[
            schemas.CauseRowOut(
                root_cause=row.root_cause,
                team=row.team,
                customer_number=row.customer_number,
                currency=row.currency,
                cases=row.cases,
                amount=format_minor(row.amount_minor, row.currency),
            )
            for row in rows
        ],
        products=[
            schemas.ProductCauseOut(
                root_cause=row.root_cause,
                product=row.product,
                currency=row.currency,
                cases=row.cases,
                amount=format_minor(row.amount_minor, row.currency),
            )
            for row in reports.root_causes_by_product(
                entity_id=entity.pk, date_from=query.date_from, date_to=query.date_to
            )
        ],
        months=[
            schemas.MonthCauseOut(
                month=row.month,
                root_cause=row.root_cause,
                currency=row.currency,
                cases=row.cases,
                amount=format_minor(row.amount_minor, row.currency),
            )
            for row in reports.root_causes_by_month(
                entity_id=entity.pk, date_from=query.date_from, date_to=query.date_to
            )
        ],
    )


def _read_entity(who: customers_api.Caller, code: str | None) -> LegalEntity:
    if code:
        for entity in ledger_selectors.entities_for_user(who.user):
            if entity.code == code:
                return entity
        raise Http404
    return customers_api.entity_for_write(who, None)


def _mapping_out(mapping: ReasonMapping) -> schemas.ReasonMappingOut:
    return schemas.ReasonMappingOut(
        customer_code=mapping.customer_code,
        customer_number=mapping.customer.number if mapping.customer else None,
        reason_code=mapping.reason_code,
        changed_at=mapping.changed_at,
    )


@router.get("/reason-mappings", response=schemas.ReasonMappingsOut, summary="Customers' own reason codes")
def reason_mapping_list(
    request: HttpRequest, query: Query[schemas.SettingsQuery]
) -> schemas.ReasonMappingsOut:
    """What each customer's own code means in one entity: the entity's mappings (`customer_number`
    null) and one customer's (which win), by code."""
    who = customers_api.caller(request, VIEW_DISPUTES)
    entity = _read_entity(who, query.entity)
    mappings = selectors.reason_mapping_list(entity_ids=[entity.pk])
    return schemas.ReasonMappingsOut(entity=entity.code, items=[_mapping_out(m) for m in mappings])


@router.put("/reason-mappings", response=schemas.ReasonMappingOut, summary="Set what a customer's code means")
def reason_mapping_set(request: HttpRequest, payload: schemas.ReasonMappingIn) -> schemas.ReasonMappingOut:
    """Create or change one mapping (codes are compared upper case). An unknown customer number is 422
    `unknown_customer`; a bad reason code 422 `bad_reason_code`; audited as `disputes.reason_mapping.set`."""
    who = customers_api.caller(request, MANAGE_DISPUTE_SETTINGS)
    entity = customers_api.entity_for_write(who, payload.entity)
    customer_id = None
    if payload.customer_number:
        customer = customer_selectors.customer_by_number(entity_id=entity.pk, number=payload.customer_number)
        if customer is None:
            raise InputError(f"no customer '{payload.customer_number}'", code="unknown_customer")
        customer_id = customer.pk
    mapping = services.reason_mapping_set(
        entity_id=entity.pk,
        customer_code=payload.customer_code,
        reason_code=payload.reason_code,
        customer_id=customer_id,
        actor=who.user,
        now=clock.now(),
        reason=payload.reason,
    )
    return _mapping_out(selectors.reason_mapping_list(entity_ids=[entity.pk]).get(pk=mapping.pk))


def _policy_out(row: selectors.PolicyRow) -> schemas.ReasonPolicyOut:
    return schemas.ReasonPolicyOut(
        reason_code=row.reason_code, team=row.team, sla_days=row.sla_days, is_default=row.is_default
    )


@router.get("/reason-policies", response=schemas.ReasonPoliciesOut, summary="Routing and SLA per reason")
def reason_policy_list(
    request: HttpRequest, query: Query[schemas.SettingsQuery]
) -> schemas.ReasonPoliciesOut:
    """Every reason code with the team a new case goes to and its SLA in business days."""
    who = customers_api.caller(request, VIEW_DISPUTES)
    entity = _read_entity(who, query.entity)
    rows = selectors.reason_policy_list(entity_id=entity.pk)
    return schemas.ReasonPoliciesOut(entity=entity.code, items=[_policy_out(row) for row in rows])


@router.put(
    "/reason-policies/{reason_code}", response=schemas.ReasonPolicyOut, summary="Set a reason's team and SLA"
)
def reason_policy_set(
    request: HttpRequest, reason_code: str, payload: schemas.ReasonPolicyIn
) -> schemas.ReasonPolicyOut:
    """`team` (billing, sales, logistics) and `sla_days` (1 to 365 business days) for new cases of the
    reason; cases already open keep theirs. 422 `bad_reason_code`, `bad_team`, `bad_sla`; audited as
    `disputes.reason_policy.set`."""
    who = customers_api.caller(request, MANAGE_DISPUTE_SETTINGS)
    entity = customers_api.entity_for_write(who, payload.entity)
    services.reason_policy_set(
        entity_id=entity.pk,
        reason_code=reason_code,
        team=payload.team,
        sla_days=payload.sla_days,
        actor=who.user,
        now=clock.now(),
        reason=payload.reason,
    )
    row = next(r for r in selectors.reason_policy_list(entity_id=entity.pk) if r.reason_code == reason_code)
    return _policy_out(row)


def _threshold_out(policy: WriteOffPolicy) -> schemas.WriteOffThresholdOut:
    return schemas.WriteOffThresholdOut(
        currency=policy.currency,
        threshold=format_minor(policy.threshold_minor, policy.currency),
        changed_at=policy.changed_at,
        changed_by=policy.changed_by.get_username() if policy.changed_by else None,
    )


@router.get(
    "/write-off-thresholds", response=schemas.WriteOffThresholdsOut, summary="Write-off approval thresholds"
)
def write_off_threshold_list(
    request: HttpRequest, query: Query[schemas.SettingsQuery]
) -> schemas.WriteOffThresholdsOut:
    """Per currency, the amount above which a case's write-off waits for an AR manager's approval; a
    currency not listed needs none."""
    who = customers_api.caller(request, VIEW_DISPUTES)
    entity = _read_entity(who, query.entity)
    policies = selectors.write_off_policy_list(entity_id=entity.pk)
    return schemas.WriteOffThresholdsOut(entity=entity.code, items=[_threshold_out(p) for p in policies])


@router.put(
    "/write-off-thresholds/{currency}",
    response=schemas.WriteOffThresholdOut,
    summary="Set or remove a write-off approval threshold",
)
def write_off_threshold_set(
    request: HttpRequest, currency: str, payload: schemas.WriteOffThresholdIn
) -> schemas.WriteOffThresholdOut:
    """`threshold` in major units (`"500.00"`), or null to remove it; `reason` is required (422
    `reason_required`). 422 `bad_currency`, `bad_threshold` (negative, or more decimals than the
    currency has); audited as `disputes.write_off_policy.changed`. Write-offs already waiting keep
    waiting."""
    who = customers_api.caller(request, MANAGE_DISPUTE_SETTINGS)
    entity = customers_api.entity_for_write(who, payload.entity)
    if not payload.reason.strip():
        raise InputError("say why the threshold changes", code="reason_required")
    threshold = customer_schemas.decimal_of(payload.threshold) if payload.threshold is not None else None
    policy = services.write_off_policy_set(
        entity_id=entity.pk,
        currency=currency.upper(),
        threshold=threshold,
        actor=who.user,
        now=clock.now(),
        reason=payload.reason.strip(),
    )
    if policy is None:
        return schemas.WriteOffThresholdOut(
            currency=currency.upper(), threshold=None, changed_at=None, changed_by=None
        )
    return _threshold_out(selectors.write_off_policy_list(entity_id=entity.pk).get(pk=policy.pk))


@router.get("/{int:case_id}", response=schemas.CaseDetailOut, summary="Get a case with its notes")
def case_get(request: HttpRequest, case_id: int) -> schemas.CaseDetailOut:
    who = customers_api.caller(request, VIEW_DISPUTES)
    return _detail(customers_api.entity_ids(who), case_id)


@router.post("", response={201: schemas.CaseDetailOut}, summary="Open a dispute on an invoice")
def case_create(request: HttpRequest, payload: schemas.CaseIn) -> Status[schemas.CaseDetailOut]:
    """The document (by `document_id`, or `invoice_number`) is marked disputed; the case goes to the
    reason's team with its SLA. Refused: 422 `exceeds_open_amount`, `not_an_open_invoice`, ..."""
    who = customers_api.caller(request, CHANGE_DISPUTES)
    entity_ids = customers_api.entity_ids(who)
    if (payload.document_id is None) == (payload.invoice_number is None):
        raise InputError("give document_id or invoice_number", code="document_required")
    documents = receivables_selectors.document_list(entity_ids=entity_ids)
    if payload.document_id is not None:
        document = documents.filter(pk=payload.document_id).first()
    else:
        document = documents.filter(number=payload.invoice_number).first()
    if document is None:
        raise Http404
    case = services.case_open(
        document_id=document.pk,
        amount=customer_schemas.decimal_of(payload.amount),
        reason_code=payload.reason_code,
        actor=who.user,
        now=clock.now(),
        customer_reason_code=payload.customer_reason_code,
        document_line_id=payload.document_line_id,
        owner_id=_user(payload.owner),
        team=payload.team or "",
        note=payload.note,
    )
    return Status(201, _detail(entity_ids, case.pk))


@router.post(
    "/{int:case_id}/transition", response=schemas.CaseDetailOut, summary="Move a case to a working state"
)
def case_transition(
    request: HttpRequest, case_id: int, payload: schemas.TransitionIn
) -> schemas.CaseDetailOut:
    """open, in_review or waiting_on_customer; an ended case is 422 `case_closed`, a move the table
    does not allow 422 `bad_transition`."""
    who, entity_ids, case = _case(request, CHANGE_DISPUTES, case_id)
    services.case_transition(
        case_id=case.pk, state=payload.state, actor=who.user, now=clock.now(), reason=payload.reason
    )
    return _detail(entity_ids, case.pk)


@router.post("/{int:case_id}/assign", response=schemas.CaseDetailOut, summary="Give a case an owner and team")
def case_assign(request: HttpRequest, case_id: int, payload: schemas.AssignIn) -> schemas.CaseDetailOut:
    who, entity_ids, case = _case(request, CHANGE_DISPUTES, case_id)
    services.case_assign(
        case_id=case.pk,
        owner_id=_user(payload.owner),
        team=payload.team,
        actor=who.user,
        now=clock.now(),
        reason=payload.reason,
    )
    return _detail(entity_ids, case.pk)


@router.post("/{int:case_id}/notes", response={201: schemas.CaseDetailOut}, summary="Add a note to a case")
def case_note_add(
    request: HttpRequest, case_id: int, payload: schemas.NoteIn
) -> Status[schemas.CaseDetailOut]:
    who, entity_ids, case = _case(request, CHANGE_DISPUTES, case_id)
    services.case_note_add(case_id=case.pk, text=payload.text, actor=who.user, now=clock.now())
    return Status(201, _detail(entity_ids, case.pk))


@router.post("/{int:case_id}/resolve", response=schemas.CaseDetailOut, summary="Resolve a case")
def case_resolve(request: HttpRequest, case_id: int, payload: schemas.ResolveIn) -> schemas.CaseDetailOut:
    """`resolved_credit`: a credit memo for the case's amount (or of `net_amount` net) applied to the
    invoice; `resolved_rebill`: the invoice credited in full and a draft replacement with `lines`;
    `rejected_invalid`: owed again; `written_off`: a write-off allocation. A credit memo above the credit
    approval threshold, or a write-off above the write-off threshold, leaves the case `pending` until it
    is approved."""
    who, entity_ids, case = _case(request, CHANGE_DISPUTES, case_id)
    now = clock.now()
    root_cause = payload.root_cause or ""
    if payload.outcome == "resolved_credit":
        services.case_resolve_credit(
            case_id=case.pk,
            root_cause=root_cause,
            resolution=payload.resolution,
            actor=who.user,
            now=now,
            net_amount=customer_schemas.decimal_of(payload.net_amount) if payload.net_amount else None,
        )
    elif payload.outcome == "resolved_rebill":
        if not payload.lines:
            raise InputError("a rebill needs the replacement's lines", code="no_lines")
        services.case_resolve_rebill(
            case_id=case.pk,
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
            root_cause=root_cause,
            resolution=payload.resolution,
            actor=who.user,
            now=now,
        )
    elif payload.outcome == "rejected_invalid":
        services.case_reject(
            case_id=case.pk, resolution=payload.resolution, actor=who.user, now=now, root_cause=root_cause
        )
    else:
        services.case_write_off(
            case_id=case.pk, root_cause=root_cause, resolution=payload.resolution, actor=who.user, now=now
        )
    return _detail(entity_ids, case.pk)


@router.post(
    "/{int:case_id}/approve-write-off", response=schemas.CaseDetailOut, summary="Approve a write-off"
)
def case_write_off_approve(
    request: HttpRequest, case_id: int, payload: schemas.DecisionIn
) -> schemas.CaseDetailOut:
    """The write-off is posted and the case ends `written_off`; who asked for it cannot approve it
    (422 `same_person`)."""
    who, entity_ids, case = _case(request, APPROVE_WRITE_OFFS, case_id)
    services.case_write_off_approve(case_id=case.pk, actor=who.user, now=clock.now(), reason=payload.reason)
    return _detail(entity_ids, case.pk)


@router.post("/{int:case_id}/reject-write-off", response=schemas.CaseDetailOut, summary="Reject a write-off")
def case_write_off_reject(
    request: HttpRequest, case_id: int, payload: schemas.DecisionIn
) -> schemas.CaseDetailOut:
    """Nothing is posted; the case is worked on again. A `reason` is required."""
    who, entity_ids, case = _case(request, APPROVE_WRITE_OFFS, case_id)
    services.case_write_off_reject(case_id=case.pk, actor=who.user, now=clock.now(), reason=payload.reason)
    return _detail(entity_ids, case.pk)


@router.post(
    "/{int:case_id}/attachments",
    response={201: schemas.AttachmentOut},
    summary="Add a file to a case (multipart)",
)
def case_attachment_add(
    request: HttpRequest, case_id: int, file: File[UploadedFile], description: Form[str] = ""
) -> Status[schemas.AttachmentOut]:
    """Multipart: `file` and an optional `description`. At most 10 MB (422 `file_too_large`); PDF,
    images, CSV, e-mails (.eml) and office documents whose name's extension goes with their type
    (422 `file_type_not_allowed`, `file_content_mismatch`); an empty file is 422 `empty_file`. Open and
    ended cases take files. Audited as `disputes.case.attachment_added`."""
    who, _, case = _case(request, CHANGE_DISPUTES, case_id)
    if file.size is not None and file.size > rules.MAX_ATTACHMENT_BYTES:
        raise UnableToChangeCase(
            f"the file is larger than {rules.MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB", code="file_too_large"
        )
    attachment = services.case_attachment_add(
        case_id=case.pk,
        file_name=file.name or "attachment",
        content=file.read(rules.MAX_ATTACHMENT_BYTES + 1),
        content_type=file.content_type or "",
        description=description,
        actor=who.user,
        now=clock.now(),
    )
    return Status(201, schemas.AttachmentOut.of(attachment))


@router.get(
    "/{int:case_id}/attachments/{int:attachment_id}",
    summary="Download a case's file",
    openapi_extra={
        "responses": {
            200: {
                "description": "The file with the content type it was kept with, as a download",
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def case_attachment_get(request: HttpRequest, case_id: int, attachment_id: int) -> HttpResponse:
    """The file as it was uploaded, with its content type, as a download."""
    _, _, case = _case(request, VIEW_DISPUTES, case_id)
    attachment = selectors.case_attachment_get(case_id=case.pk, attachment_id=attachment_id)
    response = HttpResponse(bytes(attachment.content), content_type=attachment.content_type)
    response["Content-Disposition"] = content_disposition_header(True, attachment.file_name) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Length"] = str(attachment.size)
    return response
