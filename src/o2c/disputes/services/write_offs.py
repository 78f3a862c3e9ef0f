"""Ending a case by a write-off: the approval above the entity's threshold, and the VAT relief where the
seller's country allows it."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from o2c.core.actors import actor_id
from o2c.core.money import format_with_currency
from o2c.disputes import rules, selectors
from o2c.disputes.errors import UnableToResolveCase
from o2c.disputes.models import Case
from o2c.disputes.services import _shared as shared
from o2c.receivables import services as receivables_services
from o2c.receivables.models import Allocation, Document


@transaction.atomic
def case_write_off(
    *, case_id: int, root_cause: str, resolution: str, actor: User | None, now: datetime
) -> Case:
    """Write the case's amount off its document (a write-off allocation through receivables). Above the
    entity's write-off threshold in the case's currency, the write-off waits for approval
    (`case_write_off_approve`) and nothing is posted yet."""
    case = shared.resolving_case(
        case_id, Case.State.WRITTEN_OFF, root_cause, resolution, actor=actor, now=now
    )
    _ensure_open_enough(case)
    policy = selectors.write_off_policy_for(entity_id=case.entity_id, currency=case.currency)
    case.root_cause = root_cause or case.reason_code
    case.requested_by = actor if actor_id(actor) else None
    if policy is not None and case.amount_minor > policy.threshold_minor:
        case.pending = Case.Pending.WRITE_OFF
        case.resolution = resolution.strip()
        case.save(update_fields=["root_cause", "requested_by", "pending", "resolution"])
        shared.audit_case(
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
    return shared.close_case(
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
    case = shared.locked_case(case_id)
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
    shared.audit_case(
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
    shared.audit_case(
        case,
        "disputes.case.write_off_rejected",
        actor=actor,
        now=now,
        changes={"pending": (Case.Pending.WRITE_OFF.value, "")},
        reason=reason.strip(),
    )
    return case
