"""What the use cases of a case share: the audit record, input checks, the case locked for a change,
and ending a case (which clears its document's disputed flag when no other case on it is open)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import User
from django.utils.translation import gettext as _

from o2c.audit import services as audit_services
from o2c.core.actors import actor_id
from o2c.core.money import Money, UnableToHandleMoney
from o2c.disputes import locks, rules, selectors
from o2c.disputes.errors import UnableToChangeCase, UnableToOpenCase, UnableToResolveCase
from o2c.disputes.models import Case, ReasonCode, Team
from o2c.ledger import selectors as ledger_selectors
from o2c.receivables import services as receivables_services
from o2c.receivables.models import ApprovalState, Document

OBJECT_TYPE = "dispute_case"


def audit_case(
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


def amount_minor(amount: Decimal, currency: str) -> int:
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


def ensure_reason_code(code: str, error: type[UnableToOpenCase | UnableToResolveCase]) -> None:
    if code not in ReasonCode.values:
        raise error(
            _("'%(code)s' is not a reason code (%(codes)s)")
            % {"code": code, "codes": ", ".join(ReasonCode.values)},
            code="bad_reason_code",
        )


def ensure_team(team: str) -> None:
    if team not in Team.values:
        raise UnableToChangeCase(
            _("'%(team)s' is not a team (%(teams)s)") % {"team": team, "teams": ", ".join(Team.values)},
            code="bad_team",
        )


def case_owner(owner_id: int, *, entity_id: int) -> User:
    owner = User.objects.filter(pk=owner_id, is_active=True).first()
    if owner is None or entity_id not in ledger_selectors.entity_ids_for_user(owner):
        raise UnableToChangeCase(
            _("user %(user)s may not work this legal entity's cases") % {"user": owner_id}, code="bad_owner"
        )
    return owner


def locked_case(case_id: int) -> Case:
    case = locks.case_qs_for_update().select_related("entity", "document").get(pk=case_id)
    return case


def ensure_working(case: Case) -> None:
    if not rules.is_open(case.state):
        raise UnableToChangeCase(
            _("case %(case)s is closed (%(state)s)") % {"case": case.pk, "state": case.state},
            code="case_closed",
        )


def ensure_nothing_pending(case: Case, *, actor: User | None, now: datetime) -> None:
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
            audit_case(
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


def resolving_case(
    case_id: int, outcome: str, root_cause: str, resolution: str, *, actor: User | None, now: datetime
) -> Case:
    case = locked_case(case_id)
    if not rules.is_open(case.state):
        raise UnableToResolveCase(
            _("case %(case)s is closed (%(state)s)") % {"case": case.pk, "state": case.state},
            code="case_closed",
        )
    try:
        rules.ensure_transition(case.state, outcome)
        ensure_nothing_pending(case, actor=actor, now=now)
    except UnableToChangeCase as error:
        raise UnableToResolveCase(error.message, code=error.code) from None
    if root_cause:
        ensure_reason_code(root_cause, UnableToResolveCase)
    if not resolution.strip():
        raise UnableToResolveCase(_("say how the case was resolved"), code="reason_required")
    return case


def close_case(
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
    audit_case(
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
