"""Use cases of dispute and deduction cases (docs/disputes.md).

A case marks its document disputed through `receivables.services.disputed_flag_set`, and the last open
case on a document to end clears the flag. A case ends by a credit memo or a credit-and-rebill (made
through `receivables.services`, which applies the credit memo to the invoice when it is issued), by a
rejection (the amount is owed again and goes back to collections), or by a write-off allocation, which
above the entity's threshold waits for a second person with the AR manager's role. Every change is
audited as `disputes.*`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from o2c.audit import services as audit_services
from o2c.core.actors import actor_id
from o2c.core.money import Money, UnableToHandleMoney, ensure_currency, format_with_currency
from o2c.disputes import calculations, locks, rules, selectors
from o2c.disputes.errors import (
    UnableToChangeCase,
    UnableToOpenCase,
    UnableToResolveCase,
    UnableToSetDisputePolicy,
)
from o2c.disputes.models import (
    Case,
    CaseAttachment,
    CaseNote,
    ReasonCode,
    ReasonMapping,
    ReasonPolicy,
    Team,
    WriteOffPolicy,
)
from o2c.ledger import selectors as ledger_selectors
from o2c.receivables import selectors as receivables_selectors
from o2c.receivables import services as receivables_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Allocation, ApprovalState, Document, DocumentType

OBJECT_TYPE = "dispute_case"


def _audit(
    case: Case,
    action: str,
    *,
    actor: User | None,
    now: datetime,
    changes: dict[str, tuple[object, object]] | None = None,
    reason: str = "",
) -> None:
    audit_services.record(
        actor=actor,
        action=action,
        object_type=OBJECT_TYPE,
        object_id=case.pk,
        object_label=f"{case.kind} {case.pk} ({case.document.number})",
        entity_id=case.entity_id,
        changes=changes or {},
        reason=reason,
        now=now,
    )


def _amount_minor(amount: Decimal, currency: str) -> int:
    try:
        money = Money(amount, currency)
        minor = money.to_minor()
    except UnableToHandleMoney:
        raise UnableToOpenCase(
            _("%(amount)s has more decimals than %(currency)s allows")
            % {"amount": amount, "currency": currency},
            code="too_many_decimals",
        ) from None
    if minor <= 0:
        raise UnableToOpenCase(_("the amount of a case is positive"), code="bad_amount")
    return minor


def _ensure_reason_code(code: str, error: type[UnableToOpenCase | UnableToResolveCase]) -> None:
    if code not in ReasonCode.values:
        raise error(
            _("'%(code)s' is not a reason code (%(codes)s)")
            % {"code": code, "codes": ", ".join(ReasonCode.values)},
            code="bad_reason_code",
        )


def _ensure_team(team: str) -> None:
    if team not in Team.values:
        raise UnableToChangeCase(
            _("'%(team)s' is not a team (%(teams)s)") % {"team": team, "teams": ", ".join(Team.values)},
            code="bad_team",
        )


# --- opening --------------------------------------------------------------------------------------


@transaction.atomic
def case_open(
    *,
    document_id: int,
    amount: Decimal,
    reason_code: str,
    actor: User | None,
    now: datetime,
    kind: str = Case.Kind.DISPUTE,
    customer_reason_code: str = "",
    document_line_id: int | None = None,
    payment_id: int | None = None,
    owner_id: int | None = None,
    team: str = "",
    note: str = "",
) -> Case:
    """Open a case on an issued invoice or debit memo for at most what is still open on it (a dispute:
    at most what the open cases on it leave), and mark the document disputed. The team is the given
    one, else the entity's policy for the reason (or `rules.DEFAULT_TEAMS`); the SLA due date is the
    policy's business days (or `rules.DEFAULT_SLA_DAYS`) after the entity's date of `now`."""
    _ensure_reason_code(reason_code, UnableToOpenCase)
    if kind not in Case.Kind.values:
        raise UnableToOpenCase(_("'%(kind)s' is not a kind of case") % {"kind": kind}, code="bad_kind")
    if kind == Case.Kind.DEDUCTION and payment_id is None:
        raise UnableToOpenCase(_("a deduction names the payment that took it"), code="payment_required")
    if team:
        _ensure_team(team)
    found = Document.objects.filter(pk=document_id).values_list("entity_id", "currency").first()
    if found is None:
        raise UnableToOpenCase(_("no such document"), code="unknown_document")
    amount_minor = _amount_minor(amount, found[1])
    # marking it disputed first locks the document: two cases on one invoice are opened one after the other
    document = receivables_services.disputed_flag_set(
        document_id=document_id,
        is_disputed=True,
        reason=_("%(kind)s case opened") % {"kind": kind},
        actor=actor,
        now=now,
    )
    if document.status != Document.Status.ISSUED or document.document_type == DocumentType.CREDIT_MEMO:
        raise UnableToOpenCase(
            _("%(document)s: a case is opened on an issued invoice or debit memo") % {"document": document},
            code="not_an_open_invoice",
        )
    taken = 0
    if kind == Case.Kind.DISPUTE:
        taken = (
            selectors.open_cases_on(document_id=document.pk)
            .filter(kind=Case.Kind.DISPUTE)
            .aggregate(total=Sum("amount_minor"))["total"]
            or 0
        )
    if amount_minor + taken > document.open_minor:
        raise UnableToOpenCase(
            _("%(document)s: %(amount)s is more than the %(open)s open on it")
            % {
                "document": document.number,
                "amount": format_with_currency(amount_minor, document.currency),
                "open": format_with_currency(document.open_minor - taken, document.currency),
            },
            code="exceeds_open_amount",
        )
    if document_line_id is not None and not document.lines.filter(pk=document_line_id).exists():
        raise UnableToOpenCase(
            _("line %(line)s is not a line of %(document)s")
            % {"line": document_line_id, "document": document},
            code="unknown_line",
        )
    entity = document.entity
    owner = _owner(owner_id, entity_id=entity.pk) if owner_id is not None else None
    routing = selectors.routing_for(entity_id=entity.pk, reason_code=reason_code)
    opened_on = rules.business_date(now, entity.time_zone)
    allocation_id = None
    if payment_id is not None:
        allocation_id = (
            receivables_selectors.document_allocations(document_id=document.pk)
            .filter(document_id=document.pk, payment_id=payment_id, kind=Allocation.Kind.PAYMENT)
            .values_list("pk", flat=True)
            .last()
        )
    case = Case.objects.create(
        entity=entity,
        customer_id=document.customer_id,
        kind=kind,
        document=document,
        document_line_id=document_line_id,
        payment_id=payment_id,
        allocation_id=allocation_id,
        currency=document.currency,
        amount_minor=amount_minor,
        reason_code=reason_code,
        customer_reason_code=customer_reason_code.strip()[:300],
        owner=owner,
        team=team or routing.team,
        state=Case.State.OPEN,
        opened_on=opened_on,
        due_date=rules.add_business_days(opened_on, routing.sla_days),
        created_at=now,
        created_by=actor if actor_id(actor) else None,
    )
    _audit(
        case,
        "disputes.case.opened",
        actor=actor,
        now=now,
        changes={
            "state": (None, case.state),
            "amount": (None, format_with_currency(amount_minor, case.currency)),
            "reason_code": (None, reason_code),
            "team": (None, case.team),
            "due_date": (None, case.due_date.isoformat()),
        },
        reason=note.strip() or customer_reason_code.strip(),
    )
    if note.strip():
        CaseNote.objects.create(case=case, author=case.created_by, text=note.strip(), created_at=now)
    return case


def _owner(owner_id: int, *, entity_id: int) -> User:
    owner = User.objects.filter(pk=owner_id, is_active=True).first()
    if owner is None or entity_id not in ledger_selectors.entity_ids_for_user(owner):
        raise UnableToChangeCase(
            _("user %(user)s may not work this legal entity's cases") % {"user": owner_id}, code="bad_owner"
        )
    return owner


def deduction_case_open(
    *,
    payment_id: int,
    document_id: int,
    amount_minor: int,
    currency: str,
    reason: str,
    now: datetime,
) -> Case | None:
    """The deduction case of a short pay that cash application left open (event `cash.deduction_taken`):
    one per payment and document, however often the event arrives. The customer's own code in the
    deduction text is mapped to a reason code (`selectors.reason_for_customer_code`), else `other`.
    None when the same deduction has its case already."""
    if selectors.deduction_case_for(payment_id=payment_id, document_id=document_id) is not None:
        return None
    found = Document.objects.filter(pk=document_id).values_list("entity_id", "customer_id").first()
    if found is None:
        raise UnableToOpenCase(_("no such document"), code="unknown_document")
    entity_id, customer_id = found
    reason_code = (
        selectors.reason_for_customer_code(entity_id=entity_id, customer_id=customer_id, text=reason)
        or ReasonCode.OTHER
    )
    try:
        with transaction.atomic():
            return case_open(
                document_id=document_id,
                amount=Money.from_minor(amount_minor, currency).amount,
                reason_code=reason_code,
                actor=None,
                now=now,
                kind=Case.Kind.DEDUCTION,
                customer_reason_code=reason,
                payment_id=payment_id,
            )
    except IntegrityError:
        # the same event handled at the same moment elsewhere: its case is the one
        if selectors.deduction_case_for(payment_id=payment_id, document_id=document_id) is None:
            raise
        return None


# --- working a case -------------------------------------------------------------------------------


def _locked(case_id: int) -> Case:
    case = locks.case_qs_for_update().select_related("entity", "document").get(pk=case_id)
    return case


def _ensure_working(case: Case) -> None:
    if not rules.is_open(case.state):
        raise UnableToChangeCase(
            _("case %(case)s is closed (%(state)s)") % {"case": case.pk, "state": case.state},
            code="case_closed",
        )


def _ensure_nothing_pending(case: Case, *, actor: User | None, now: datetime) -> None:
    """A resolution waiting for approval blocks other changes; a credit memo rejected by its checker
    frees the case again (recorded)."""
    if not case.pending:
        return
    if case.pending in (Case.Pending.CREDIT, Case.Pending.REBILL) and case.credit_memo_id is not None:
        state = (
            Document.objects.filter(pk=case.credit_memo_id).values_list("approval_state", flat=True).first()
        )
        if state == ApprovalState.REJECTED:
            before = case.pending
            case.pending = Case.Pending.NONE
            case.credit_memo = None
            case.rebill = None
            case.save(update_fields=["pending", "credit_memo", "rebill"])
            _audit(
                case,
                "disputes.case.approval_rejected",
                actor=actor,
                now=now,
                changes={"pending": (before, "")},
                reason=_("the credit memo was rejected"),
            )
            return
    raise UnableToChangeCase(
        _("case %(case)s waits for approval of its resolution (%(pending)s)")
        % {"case": case.pk, "pending": case.pending},
        code="awaiting_approval",
    )


@transaction.atomic
def case_transition(*, case_id: int, state: str, actor: User | None, now: datetime, reason: str = "") -> Case:
    """Move a case between its working states (`rules.TRANSITIONS`): open, in review, waiting on the
    customer. The resolutions have their own services."""
    case = _locked(case_id)
    _ensure_working(case)
    if state in rules.RESOLUTIONS:
        raise UnableToChangeCase(
            _("a case is resolved with its resolution, not moved to %(state)s") % {"state": state},
            code="use_resolve",
        )
    rules.ensure_transition(case.state, state)
    _ensure_nothing_pending(case, actor=actor, now=now)
    before = case.state
    case.state = state
    case.save(update_fields=["state"])
    _audit(
        case,
        "disputes.case.state_changed",
        actor=actor,
        now=now,
        changes={"state": (before, state)},
        reason=reason,
    )
    return case


@transaction.atomic
def case_assign(
    *,
    case_id: int,
    owner_id: int | None,
    team: str,
    actor: User | None,
    now: datetime,
    reason: str = "",
) -> Case:
    """Give a case an owner (a person granted its legal entity, or nobody) and a team."""
    case = _locked(case_id)
    _ensure_working(case)
    _ensure_team(team)
    owner = _owner(owner_id, entity_id=case.entity_id) if owner_id is not None else None
    changes: dict[str, tuple[object, object]] = {}
    if case.owner_id != (owner.pk if owner else None):
        before = case.owner.get_username() if case.owner else None
        changes["owner"] = (before, owner.get_username() if owner else None)
    if case.team != team:
        changes["team"] = (case.team, team)
    if changes:
        case.owner = owner
        case.team = team
        case.save(update_fields=["owner", "team"])
        _audit(case, "disputes.case.assigned", actor=actor, now=now, changes=changes, reason=reason)
    return case


@transaction.atomic
def case_note_add(*, case_id: int, text: str, actor: User | None, now: datetime) -> CaseNote:
    """A note in the case's thread (closed cases too: what happened afterwards)."""
    case = _locked(case_id)
    if not text.strip():
        raise UnableToChangeCase(_("a note has text"), code="empty_note")
    note = CaseNote.objects.create(
        case=case, author=actor if actor_id(actor) else None, text=text.strip(), created_at=now
    )
    _audit(case, "disputes.case.note_added", actor=actor, now=now, reason=text.strip()[:300])
    return note


@transaction.atomic
def case_attachment_add(
    *,
    case_id: int,
    file_name: str,
    content: bytes,
    content_type: str,
    actor: User | None,
    now: datetime,
    description: str = "",
) -> CaseAttachment:
    """A file on a case (open or ended, like a note), kept in the database: at most
    `rules.MAX_ATTACHMENT_BYTES`, of a type in `rules.ATTACHMENT_TYPES` (`rules.attachment_type`)."""
    case = _locked(case_id)
    if not content:
        raise UnableToChangeCase(_("the file is empty"), code="empty_file")
    if len(content) > rules.MAX_ATTACHMENT_BYTES:
        raise UnableToChangeCase(
            _("the file is larger than %(size)s MB") % {"size": rules.MAX_ATTACHMENT_BYTES // (1024 * 1024)},
            code="file_too_large",
        )
    name = file_name.replace("\\", "/").rsplit("/", 1)[-1].strip()[:200] or "attachment"
    kind = rules.attachment_type(name, content_type, content[:16])
    digest = hashlib.sha256(content).hexdigest()
    attachment = CaseAttachment.objects.create(
        case=case,
        file_name=name,
        description=description.strip()[:300],
        content_type=kind,
        size=len(content),
        sha256=digest,
        content=content,
        uploaded_by=actor if actor_id(actor) else None,
        uploaded_at=now,
    )
    _audit(
        case,
        "disputes.case.attachment_added",
        actor=actor,
        now=now,
        changes={"attachment": (None, f"{attachment.file_name} ({attachment.size} bytes, sha256 {digest})")},
        reason=attachment.description,
    )
    return attachment


# --- resolving ------------------------------------------------------------------------------------


def _resolving(
    case_id: int, outcome: str, root_cause: str, resolution: str, *, actor: User | None, now: datetime
) -> Case:
    case = _locked(case_id)
    if not rules.is_open(case.state):
        raise UnableToResolveCase(
            _("case %(case)s is closed (%(state)s)") % {"case": case.pk, "state": case.state},
            code="case_closed",
        )
    try:
        rules.ensure_transition(case.state, outcome)
        _ensure_nothing_pending(case, actor=actor, now=now)
    except UnableToChangeCase as error:
        raise UnableToResolveCase(error.message, code=error.code) from None
    if root_cause:
        _ensure_reason_code(root_cause, UnableToResolveCase)
    if not resolution.strip():
        raise UnableToResolveCase(_("say how the case was resolved"), code="reason_required")
    return case


def _close(
    case: Case,
    outcome: str,
    *,
    root_cause: str,
    resolution: str,
    resolved_by: User | None,
    actor: User | None,
    now: datetime,
    extra: dict[str, tuple[object, object]] | None = None,
) -> Case:
    """End the case and clear its document's disputed flag when no other case on it is open."""
    before = case.state
    case.state = outcome
    case.root_cause = root_cause or case.root_cause or case.reason_code
    case.resolution = resolution.strip()
    case.resolved_on = rules.business_date(now, case.entity.time_zone)
    case.resolved_by = resolved_by if actor_id(resolved_by) else None
    case.pending = Case.Pending.NONE
    case.save(update_fields=["state", "root_cause", "resolution", "resolved_on", "resolved_by", "pending"])
    _audit(
        case,
        "disputes.case.resolved",
        actor=actor,
        now=now,
        changes={"state": (before, outcome), "root_cause": (None, case.root_cause), **(extra or {})},
        reason=case.resolution,
    )
    if not selectors.open_cases_on(document_id=case.document_id, excluding=case.pk).exists():
        receivables_services.disputed_flag_set(
            document_id=case.document_id,
            is_disputed=False,
            reason=_("the last open case on it ended (%(state)s)") % {"state": outcome},
            actor=actor,
            now=now,
        )
    return case


@transaction.atomic
def case_resolve_credit(
    *,
    case_id: int,
    root_cause: str,
    resolution: str,
    actor: User | None,
    now: datetime,
    net_amount: Decimal | None = None,
) -> Case:
    """Resolve by a credit memo on the case's invoice for the case's amount: its net is `net_amount`, or
    the case's gross at the invoice's ratio of net to total (`calculations.credit_net_for_gross`),
    spread over the invoice's tax rates. Issued at once and applied to the invoice, the case ends
    `resolved_credit`; when the credit memo waits for approval (the entity's credit memo threshold), the
    case waits with it and ends when it is issued (`on_credit_memos_issued`)."""
    case = _resolving(case_id, Case.State.RESOLVED_CREDIT, root_cause, resolution, actor=actor, now=now)
    document = case.document
    if net_amount is None:
        net_minor = calculations.credit_net_for_gross(
            gross_minor=case.amount_minor,
            document_net_minor=document.net_minor,
            document_total_minor=document.total_minor,
        )
        net_amount = Money.from_minor(net_minor, case.currency).amount
    cause = root_cause or case.reason_code
    credit_memo = receivables_services.credit_memo_for_amount(
        invoice_id=document.pk,
        net_amount=net_amount,
        reason_code=rules.CREDIT_REASONS[cause],
        reason=_("case %(case)s: %(resolution)s") % {"case": case.pk, "resolution": resolution.strip()},
        actor=actor,
        now=now,
        issue_date=rules.business_date(now, case.entity.time_zone),
    )
    return _credited(
        case, credit_memo, None, Case.State.RESOLVED_CREDIT, cause, resolution, actor=actor, now=now
    )


@transaction.atomic
def case_resolve_rebill(
    *,
    case_id: int,
    lines: Sequence[LineIn],
    root_cause: str,
    resolution: str,
    actor: User | None,
    now: datetime,
) -> Case:
    """Resolve by credit-and-rebill: the invoice credited in full and a draft replacement with the
    corrected `lines` (issued from its page once the credit memo is issued). Ends `resolved_rebill`
    when the credit memo is issued, at once or after its approval."""
    case = _resolving(case_id, Case.State.RESOLVED_REBILL, root_cause, resolution, actor=actor, now=now)
    cause = root_cause or case.reason_code
    credit_memo, rebill = receivables_services.credit_and_rebill(
        invoice_id=case.document_id,
        lines=lines,
        reason_code=rules.CREDIT_REASONS[cause],
        reason=_("case %(case)s: %(resolution)s") % {"case": case.pk, "resolution": resolution.strip()},
        actor=actor,
        now=now,
        issue_date=rules.business_date(now, case.entity.time_zone),
    )
    return _credited(
        case, credit_memo, rebill, Case.State.RESOLVED_REBILL, cause, resolution, actor=actor, now=now
    )


def _credited(
    case: Case,
    credit_memo: Document,
    rebill: Document | None,
    outcome: str,
    cause: str,
    resolution: str,
    *,
    actor: User | None,
    now: datetime,
) -> Case:
    case.credit_memo = credit_memo
    case.rebill = rebill
    case.root_cause = cause
    case.requested_by = actor if actor_id(actor) else None
    extra: dict[str, tuple[object, object]] = {
        "credit_memo": (None, credit_memo.number or f"draft {credit_memo.pk}"),
        "credit": (None, format_with_currency(-credit_memo.total_minor, credit_memo.currency)),
    }
    if credit_memo.status == Document.Status.ISSUED:
        case.save(update_fields=["credit_memo", "rebill", "root_cause", "requested_by"])
        return _close(
            case,
            outcome,
            root_cause=cause,
            resolution=resolution,
            resolved_by=actor,
            actor=actor,
            now=now,
            extra=extra,
        )
    case.pending = outcome
    case.resolution = resolution.strip()
    case.save(update_fields=["credit_memo", "rebill", "root_cause", "requested_by", "pending", "resolution"])
    _audit(
        case,
        "disputes.case.approval_requested",
        actor=actor,
        now=now,
        changes={"pending": ("", outcome), **extra},
        reason=case.resolution,
    )
    return case


def on_credit_memos_issued(*, document_ids: list[int], now: datetime) -> list[Case]:
    """Credit memos were issued (event `receivables.documents_issued`): the cases waiting for them end,
    resolved by who asked, approved by the credit memo's checker."""
    done = []
    # the cases waiting for a credit memo are few; a billing run issues thousands of documents at once
    issued = frozenset(document_ids)
    waiting = [
        case_id
        for case_id, credit_memo_id in Case.objects.filter(
            pending__in=[Case.Pending.CREDIT, Case.Pending.REBILL], credit_memo__isnull=False
        )
        .order_by("pk")
        .values_list("pk", "credit_memo_id")
        if credit_memo_id in issued
    ]
    for case_id in waiting:
        with transaction.atomic():
            case = _locked(case_id)
            if not case.pending or case.credit_memo_id is None:
                continue
            credit_memo = Document.objects.select_related("approval_decided_by").get(pk=case.credit_memo_id)
            case.approved_by = credit_memo.approval_decided_by
            case.save(update_fields=["approved_by"])
            done.append(
                _close(
                    case,
                    case.pending,
                    root_cause=case.root_cause,
                    resolution=case.resolution,
                    resolved_by=case.requested_by,
                    actor=None,
                    now=now,
                    extra={"credit_memo": (None, credit_memo.number)},
                )
            )
    return done


@transaction.atomic
def case_reject(
    *, case_id: int, resolution: str, actor: User | None, now: datetime, root_cause: str = ""
) -> Case:
    """The claim is invalid: the amount is owed and back with collections (the document's disputed flag
    is cleared when no other case on it is open). `resolution` says why."""
    case = _resolving(case_id, Case.State.REJECTED_INVALID, root_cause, resolution, actor=actor, now=now)
    return _close(
        case,
        Case.State.REJECTED_INVALID,
        root_cause=root_cause,
        resolution=resolution,
        resolved_by=actor,
        actor=actor,
        now=now,
    )


@transaction.atomic
def case_write_off(
    *, case_id: int, root_cause: str, resolution: str, actor: User | None, now: datetime
) -> Case:
    """Write the case's amount off its document (a write-off allocation through receivables). Above the
    entity's write-off threshold in the case's currency, the write-off waits for approval
    (`case_write_off_approve`) and nothing is posted yet."""
    case = _resolving(case_id, Case.State.WRITTEN_OFF, root_cause, resolution, actor=actor, now=now)
    _ensure_open_enough(case)
    policy = selectors.write_off_policy_for(entity_id=case.entity_id, currency=case.currency)
    case.root_cause = root_cause or case.reason_code
    case.requested_by = actor if actor_id(actor) else None
    if policy is not None and case.amount_minor > policy.threshold_minor:
        case.pending = Case.Pending.WRITE_OFF
        case.resolution = resolution.strip()
        case.save(update_fields=["root_cause", "requested_by", "pending", "resolution"])
        _audit(
            case,
            "disputes.case.approval_requested",
            actor=actor,
            now=now,
            changes={
                "pending": ("", Case.Pending.WRITE_OFF.value),
                "write_off": (None, format_with_currency(case.amount_minor, case.currency)),
                "threshold": (None, format_with_currency(policy.threshold_minor, policy.currency)),
            },
            reason=case.resolution,
        )
        return case
    case.save(update_fields=["root_cause", "requested_by"])
    return _post_write_off(case, resolution=resolution, resolved_by=actor, actor=actor, now=now)


def _ensure_open_enough(case: Case) -> None:
    open_minor = Document.objects.filter(pk=case.document_id).values_list("open_minor", flat=True).get()
    if case.amount_minor > open_minor:
        raise UnableToResolveCase(
            _("%(document)s has only %(open)s open: less than the case's %(amount)s")
            % {
                "document": case.document.number,
                "open": format_with_currency(open_minor, case.currency),
                "amount": format_with_currency(case.amount_minor, case.currency),
            },
            code="exceeds_open_amount",
        )


def _post_write_off(
    case: Case, *, resolution: str, resolved_by: User | None, actor: User | None, now: datetime
) -> Case:
    """Post the write-off allocation: where the seller entity's country allows bad-debt VAT relief
    (`selectors.write_off_vat_relief`, `rules.vat_relief_applies`), the VAT inside the amount, per rate
    in the invoice's proportions, reduces the output VAT and the net goes to the write-off account;
    otherwise the gross goes to the write-off account."""
    day = rules.business_date(now, case.entity.time_zone)
    document = case.document
    relief = rules.vat_relief_applies(
        relief=selectors.write_off_vat_relief(),
        country=case.entity.country,
        issue_date=document.issue_date,
        due_date=document.due_date,
        write_off_date=day,
    )
    tax_minor = (
        sum(
            part
            for _, part in receivables_services.write_off_tax_parts(
                document=document, amount_minor=case.amount_minor
            )
        )
        if relief
        else 0
    )
    allocation = receivables_services.allocation_create(
        document_id=case.document_id,
        kind=Allocation.Kind.WRITE_OFF,
        amount_minor=case.amount_minor,
        posting_date=day,
        actor=actor,
        now=now,
        reason=f"case {case.pk}: {resolution.strip()}"[:300],
        vat_relief=relief,
    )
    case.write_off = allocation
    case.save(update_fields=["write_off", "approved_by"])
    extra: dict[str, tuple[object, object]] = {
        "write_off": (None, format_with_currency(case.amount_minor, case.currency))
    }
    if tax_minor:
        extra["write_off_net"] = (None, format_with_currency(case.amount_minor - tax_minor, case.currency))
        extra["vat_relief"] = (None, format_with_currency(tax_minor, case.currency))
    return _close(
        case,
        Case.State.WRITTEN_OFF,
        root_cause=case.root_cause,
        resolution=resolution,
        resolved_by=resolved_by,
        actor=actor,
        now=now,
        extra=extra,
    )


def may_approve_write_offs(actor: User | None) -> bool:
    if actor is None or not actor.is_active:
        return False
    return actor.is_superuser or actor.groups.filter(name__in=rules.APPROVE_WRITE_OFFS).exists()


def _pending_write_off(case_id: int, actor: User | None) -> Case:
    case = _locked(case_id)
    if case.pending != Case.Pending.WRITE_OFF:
        raise UnableToResolveCase(
            _("case %(case)s has no write-off waiting for approval") % {"case": case.pk}, code="not_pending"
        )
    if not may_approve_write_offs(actor):
        raise UnableToResolveCase(
            _("an AR manager approves or rejects a write-off"), code="approver_required"
        )
    assert actor is not None
    if case.requested_by_id == actor.pk:
        raise UnableToResolveCase(
            _("the person who asked for a write-off cannot decide it: a second person must"),
            code="same_person",
        )
    return case


@transaction.atomic
def case_write_off_approve(*, case_id: int, actor: User | None, now: datetime, reason: str = "") -> Case:
    """A second person with the AR manager's role approves a pending write-off: it is posted now and
    the case ends `written_off`, resolved by who asked and approved by `actor`."""
    case = _pending_write_off(case_id, actor)
    _ensure_open_enough(case)
    case.approved_by = actor
    _audit(
        case,
        "disputes.case.write_off_approved",
        actor=actor,
        now=now,
        changes={"pending": (Case.Pending.WRITE_OFF.value, "")},
        reason=reason.strip(),
    )
    return _post_write_off(
        case, resolution=case.resolution, resolved_by=case.requested_by, actor=actor, now=now
    )


@transaction.atomic
def case_write_off_reject(*, case_id: int, actor: User | None, now: datetime, reason: str) -> Case:
    """The checker refuses a pending write-off, saying why: the case is worked on as before."""
    case = _pending_write_off(case_id, actor)
    if not reason.strip():
        raise UnableToResolveCase(_("say why the write-off is rejected"), code="reason_required")
    case.pending = Case.Pending.NONE
    case.save(update_fields=["pending"])
    _audit(
        case,
        "disputes.case.write_off_rejected",
        actor=actor,
        now=now,
        changes={"pending": (Case.Pending.WRITE_OFF.value, "")},
        reason=reason.strip(),
    )
    return case


# --- set-up: customers' codes, routing and SLA, write-off threshold ------------------------------


def _entity_audit(
    entity_id: int,
    action: str,
    *,
    actor: User | None,
    now: datetime,
    changes: dict[str, tuple[object, object]],
    reason: str,
) -> None:
    audit_services.record(
        actor=actor,
        action=action,
        object_type="legal_entity",
        object_id=entity_id,
        entity_id=entity_id,
        changes=changes,
        reason=reason,
        now=now,
    )


@transaction.atomic
def reason_mapping_set(
    *,
    entity_id: int,
    customer_code: str,
    reason_code: str,
    actor: User | None,
    now: datetime,
    customer_id: int | None = None,
    reason: str = "",
) -> ReasonMapping:
    """What a customer's own code means, for the entity or for one customer of it."""
    code = rules.normalized_code(customer_code)
    if not code or len(code) > 60:
        raise UnableToSetDisputePolicy(_("a customer's code has 1 to 60 characters"), code="bad_code")
    if reason_code not in ReasonCode.values:
        raise UnableToSetDisputePolicy(
            _("'%(code)s' is not a reason code (%(codes)s)")
            % {"code": reason_code, "codes": ", ".join(ReasonCode.values)},
            code="bad_reason_code",
        )
    mapping = (
        ReasonMapping.objects.select_for_update()
        .filter(entity_id=entity_id, customer_code=code)
        .filter(**({"customer_id": customer_id} if customer_id is not None else {"customer__isnull": True}))
        .first()
    )
    before = mapping.reason_code if mapping else None
    if mapping is None:
        mapping = ReasonMapping(entity_id=entity_id, customer_id=customer_id, customer_code=code)
    mapping.reason_code = reason_code
    mapping.changed_at = now
    mapping.save()
    _entity_audit(
        entity_id,
        "disputes.reason_mapping.set",
        actor=actor,
        now=now,
        changes={
            f"code {code}" + (f" (customer {customer_id})" if customer_id else ""): (before, reason_code)
        },
        reason=reason,
    )
    return mapping


@transaction.atomic
def reason_policy_set(
    *,
    entity_id: int,
    reason_code: str,
    team: str,
    sla_days: int,
    actor: User | None,
    now: datetime,
    reason: str = "",
) -> ReasonPolicy:
    """The team new cases of a reason go to, and their SLA in business days."""
    if reason_code not in ReasonCode.values:
        raise UnableToSetDisputePolicy(
            _("'%(code)s' is not a reason code") % {"code": reason_code}, code="bad_reason_code"
        )
    if team not in Team.values:
        raise UnableToSetDisputePolicy(_("'%(team)s' is not a team") % {"team": team}, code="bad_team")
    if not 1 <= sla_days <= 365:
        raise UnableToSetDisputePolicy(_("an SLA is 1 to 365 business days"), code="bad_sla")
    policy = (
        ReasonPolicy.objects.select_for_update().filter(entity_id=entity_id, reason_code=reason_code).first()
    )
    before = (policy.team, policy.sla_days) if policy else (None, None)
    if policy is None:
        policy = ReasonPolicy(entity_id=entity_id, reason_code=reason_code)
    policy.team = team
    policy.sla_days = sla_days
    policy.changed_at = now
    policy.save()
    _entity_audit(
        entity_id,
        "disputes.reason_policy.set",
        actor=actor,
        now=now,
        changes={f"{reason_code} team": (before[0], team), f"{reason_code} SLA days": (before[1], sla_days)},
        reason=reason,
    )
    return policy


@transaction.atomic
def write_off_policy_set(
    *,
    entity_id: int,
    currency: str,
    threshold: Decimal | None,
    actor: User | None,
    now: datetime,
    reason: str,
) -> WriteOffPolicy | None:
    """The entity's write-off threshold in a currency (major units): above it a case's write-off waits
    for an AR manager's approval. None removes it."""
    try:
        ensure_currency(currency)
    except UnableToHandleMoney as error:
        raise UnableToSetDisputePolicy(error.message, code="bad_currency") from None
    existing = (
        WriteOffPolicy.objects.select_for_update().filter(entity_id=entity_id, currency=currency).first()
    )
    old = existing.threshold_minor if existing is not None else None
    policy: WriteOffPolicy | None = None
    if threshold is None:
        if existing is not None:
            existing.delete()
        new = None
    else:
        money = Money(threshold, currency)
        if threshold < 0 or money.round_half_up() != money:
            raise UnableToSetDisputePolicy(
                _("%(amount)s is not a positive amount in %(currency)s")
                % {"amount": threshold, "currency": currency},
                code="bad_threshold",
            )
        new = money.to_minor()
        policy = existing or WriteOffPolicy(entity_id=entity_id, currency=currency)
        policy.threshold_minor = new
        policy.changed_at = now
        policy.changed_by = actor if actor_id(actor) else None
        policy.save()
    _entity_audit(
        entity_id,
        "disputes.write_off_policy.changed",
        actor=actor,
        now=now,
        changes={
            f"write-off threshold {currency}": (
                format_with_currency(old, currency),
                format_with_currency(new, currency),
            )
        },
        reason=reason,
    )
    return policy
