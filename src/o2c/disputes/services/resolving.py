"""Ending a case by a credit memo, a credit-and-rebill or a rejection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from o2c.core.actors import actor_id
from o2c.core.money import Money, format_with_currency
from o2c.disputes import calculations, rules
from o2c.disputes.models import Case
from o2c.disputes.services import _shared as shared
from o2c.receivables import services as receivables_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document


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
    case = shared.resolving_case(
        case_id, Case.State.RESOLVED_CREDIT, root_cause, resolution, actor=actor, now=now
    )
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
    case = shared.resolving_case(
        case_id, Case.State.RESOLVED_REBILL, root_cause, resolution, actor=actor, now=now
    )
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
        return shared.close_case(
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
    shared.audit_case(
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
            case = shared.locked_case(case_id)
            if not case.pending or case.credit_memo_id is None:
                continue
            credit_memo = Document.objects.select_related("approval_decided_by").get(pk=case.credit_memo_id)
            case.approved_by = credit_memo.approval_decided_by
            case.save(update_fields=["approved_by"])
            done.append(
                shared.close_case(
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
    case = shared.resolving_case(
        case_id, Case.State.REJECTED_INVALID, root_cause, resolution, actor=actor, now=now
    )
    return shared.close_case(
        case,
        Case.State.REJECTED_INVALID,
        root_cause=root_cause,
        resolution=resolution,
        resolved_by=actor,
        actor=actor,
        now=now,
    )
