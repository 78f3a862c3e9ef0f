"""Opening cases: a dispute on an invoice or debit memo, and the deduction case of a short pay."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from o2c.core.actors import actor_id
from o2c.core.money import Money, format_with_currency
from o2c.disputes import rules, selectors
from o2c.disputes.errors import UnableToOpenCase
from o2c.disputes.models import Case, CaseNote, ReasonCode
from o2c.disputes.services import _shared as shared
from o2c.receivables import selectors as receivables_selectors
from o2c.receivables import services as receivables_services
from o2c.receivables.models import Allocation, Document, DocumentType


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
    shared.ensure_reason_code(reason_code, UnableToOpenCase)
    if kind not in Case.Kind.values:
        raise UnableToOpenCase(_("'%(kind)s' is not a kind of case") % {"kind": kind}, code="bad_kind")
    if kind == Case.Kind.DEDUCTION and payment_id is None:
        raise UnableToOpenCase(_("a deduction names the payment that took it"), code="payment_required")
    if team:
        shared.ensure_team(team)
    found = Document.objects.filter(pk=document_id).values_list("entity_id", "currency").first()
    if found is None:
        raise UnableToOpenCase(_("no such document"), code="unknown_document")
    amount_minor = shared.amount_minor(amount, found[1])
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
    owner = shared.case_owner(owner_id, entity_id=entity.pk) if owner_id is not None else None
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
        due_date=rules.add_business_days(opened_on, routing.sla_days, entity.country),
        created_at=now,
        created_by=actor if actor_id(actor) else None,
    )
    shared.audit_case(
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
