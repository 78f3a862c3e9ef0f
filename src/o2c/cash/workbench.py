"""The exceptions workbench: what a cash application specialist does with the payments the matcher left
to a person (and with the ones it got wrong).

- `payment_apply`: split a payment across invoices, with early-payment discount, write-off and deduction
  per invoice;
- `application_accept`: take the matcher's suggestions as they stand (open amounts checked again);
- `payment_put_on_account`: leave the unapplied cash on a customer's account;
- `application_reverse`: unapply misapplied cash (the payment can then be applied again);
- `policy_change`: the entity's matching policy (and what a customer is charged for a returned payment).

Every one is one transaction that locks the payment first and then its documents in primary-key order,
so two people (or a person and an import) working on the same invoice cannot both take what is open on
it. Postings are the ones the import makes for the matcher's applications: each cash line is an
allocation Dr unapplied cash (under the payer) / Cr receivable, discount and write-off allocations go
against their own accounts, and cash received before anyone knew who paid (its receipt posted to
unapplied cash under no customer) is moved to the payer's unapplied cash first. A person's applications
teach the matcher: the payer's bank account and name are remembered for the customer.

Applications and reversals are posted on the entity's business date of `now`, never before the
payment's booking date (nor before an invoice's issue date): a reversal and the re-application after it
never reach back before each other, so unapplied cash is never negative as of any date.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models import F

from o2c.audit import services as audit_services
from o2c.cash import conversions, matcher, matching
from o2c.cash.errors import UnableToApplyPayment, UnableToChangeMatchingPolicy
from o2c.cash.matcher import Conversion
from o2c.cash.models import Application, MatchingPolicy, PayerAccount, PayerName, Payment, ReturnFeeCharge
from o2c.cash.rules import DEDUCTION_TAKEN, PAYMENT_APPLIED
from o2c.cash.services import AdviceResult, advice_import, payment_facts, policy_for
from o2c.core import events
from o2c.core.actors import actor_id
from o2c.core.money import Money, UnableToHandleMoney, format_with_currency
from o2c.customers import selectors as customer_selectors
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import AccountType, LegalEntity
from o2c.ledger.rules import LineIn as PostingLine
from o2c.receivables import selectors as receivables_selectors
from o2c.receivables import services as receivables_services
from o2c.receivables.errors import UnableToAllocate
from o2c.receivables.functional import at_rate
from o2c.receivables.models import Allocation, DocumentType
from o2c.receivables.selectors import OpenItem

# what the matcher applies with when no policy is stored (o2c.cash.matcher.Policy)
DEFAULT_AUTO_APPLY = Decimal("0.900")
DEFAULT_TOLERANCE_MINOR = 500
DEFAULT_GRACE_DAYS = 3
MAX_GRACE_DAYS = 60
CONFIDENCE_QUANTUM = Decimal("0.001")


@dataclass(frozen=True, slots=True)
class ApplyLine:
    """One invoice (or debit memo) a person applies a payment to. `amount` is the cash applied;
    `discount` and `write_off` are settled by their own allocations; `deduction` is what the payer kept
    back, left open on the document (a short pay). Amounts in the document's currency, major units: the
    payment's, or another one whose cash is converted at the day's rate."""

    document_id: int
    amount: Decimal
    discount: Decimal = Decimal(0)
    write_off: Decimal = Decimal(0)
    deduction: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class _Line:
    """An application line in minor units, checked against its locked document."""

    item: OpenItem
    amount_minor: int
    discount_minor: int = 0
    write_off_minor: int = 0
    deduction_minor: int = 0
    cash_minor: int | None = None
    """The payment's own cash the line takes (None: `amount_minor`, the currencies being the same)."""
    conversion: Conversion | None = None


def _who(actor: User | None) -> str:
    return actor.get_username() if actor is not None and actor.is_authenticated else "system"


def _label(payment: Payment) -> str:
    return f"payment {payment.entry_reference or payment.pk}"


def _money(minor: int, currency: str) -> str:
    return format_with_currency(minor, currency) or ""


def _business_date(payment: Payment, now: datetime) -> date:
    """The entity's date of `now`, never before the payment was booked."""
    today = now.astimezone(ZoneInfo(payment.entity.time_zone)).date()
    return max(today, payment.booking_date)


def _locked_payment(payment_id: int) -> Payment:
    try:
        return Payment.objects.select_for_update(of=("self",)).select_related("entity").get(pk=payment_id)
    except Payment.DoesNotExist:
        raise UnableToApplyPayment(f"there is no payment {payment_id}", code="unknown_payment") from None


def _ensure_workable(payment: Payment) -> None:
    if payment.status == Payment.Status.RETURNED:
        raise UnableToApplyPayment(
            f"{_label(payment)} was returned to the payer: there is no cash to apply", code="returned"
        )


def _minor(value: Decimal, currency: str, *, what: str) -> int:
    if value < 0:
        raise UnableToApplyPayment(f"{what}: {value} is negative", code="bad_amount")
    try:
        return Money(value, currency).to_minor()
    except UnableToHandleMoney:
        raise UnableToApplyPayment(
            f"{what}: {value} has more decimals than {currency} allows", code="bad_amount"
        ) from None


# --- the checks every application passes, under lock -----------------------------------------------


def _checked_lines(
    payment: Payment,
    wanted: Sequence[tuple[int, int, int, int, int]],
    *,
    now: datetime,
    suggested: bool = False,
) -> list[_Line]:
    """(document id, amount, discount, write-off, deduction) in minor units of each document's currency,
    checked against the documents locked in pk order and against the payment's unapplied amount. Cash
    for a document of another currency is converted at the day's rate (what the payment gives is the
    amount converted back)."""
    label = _label(payment)
    on = _business_date(payment, now)
    if not wanted:
        raise UnableToApplyPayment(f"{label}: name at least one invoice to apply it to", code="no_lines")
    ids = [line[0] for line in wanted]
    if len(set(ids)) != len(ids):
        raise UnableToApplyPayment(
            f"{label}: each invoice is named once per application", code="duplicate_document"
        )
    items = receivables_selectors.open_items_by_ids(
        entity_id=payment.entity_id, document_ids=set(ids), lock=True
    )
    lines = []
    for document_id, amount, discount, write_off, deduction in wanted:
        item = items.get(document_id)
        if item is None:
            raise UnableToApplyPayment(
                f"{label}: document {document_id} is not an issued document of {payment.entity.code}",
                code="unknown_document",
            )
        conversion = None
        if item.currency != payment.currency:
            rate = matcher.conversion_rate(
                payment.currency, item.currency, on, functional_currency=payment.entity.currency
            )
            if rate is None:
                raise UnableToApplyPayment(
                    f"{label} is in {payment.currency}, {item.number} in {item.currency}, and there is no "
                    f"rate between them on {on.isoformat()}",
                    code="currency_mismatch",
                )
            conversion = Conversion(payment.currency, item.currency, rate, amount)
        if item.document_type == DocumentType.CREDIT_MEMO or item.total_minor < 0:
            raise UnableToApplyPayment(
                f"{item.number} is a credit memo: cash settles invoices and debit memos",
                code="not_receivable",
            )
        if amount + discount + write_off + deduction <= 0:
            raise UnableToApplyPayment(
                f"{label}: the line for {item.number} applies nothing", code="bad_amount"
            )
        settles = amount + discount + write_off
        if item.open_minor <= 0:
            raise UnableToApplyPayment(
                f"{item.number} was settled meanwhile (nothing is open on it): the suggestion for {label} "
                "no longer fits; apply the payment by hand"
                if suggested
                else f"{label}: {item.number} is settled already (nothing is open on it)",
                code="document_settled",
            )
        stale = " (the suggestion no longer fits: apply the payment by hand)" if suggested else ""
        if settles > item.open_minor:
            raise UnableToApplyPayment(
                f"{label}: {_money(settles, item.currency)} for {item.number} is more than its open amount "
                f"{_money(item.open_minor, item.currency)}{stale}",
                code="over_application",
            )
        left = _money(item.open_minor - settles, item.currency)
        if deduction > item.open_minor - settles:
            raise UnableToApplyPayment(
                f"{label}: the deduction of {_money(deduction, item.currency)} on {item.number} is more than "
                f"the {left} the payment leaves open on it{stale}",
                code="over_application",
            )
        cash = conversions.back_converted(amount, conversion) if conversion is not None else None
        lines.append(_Line(item, amount, discount, write_off, deduction, cash, conversion))
    total = sum(line.amount_minor if line.cash_minor is None else line.cash_minor for line in lines)
    if total > payment.unapplied_minor:
        raise UnableToApplyPayment(
            f"{label}: {_money(total, payment.currency)} is more than its unapplied "
            f"{_money(payment.unapplied_minor, payment.currency)}",
            code="over_application",
        )
    return lines


# --- moving unapplied cash between customers ----------------------------------------------------


def _reclass_key(payment: Payment) -> str:
    n = 1
    while ledger_selectors.entry_id_by_key(idempotency_key=f"payment-customer:{payment.pk}:{n}") is not None:
        n += 1
    return f"payment-customer:{payment.pk}:{n}"


def _receipt_rate(payment: Payment) -> Decimal | None:
    """The rate foreign cash was received at, which its applications and reclasses keep (None: the
    payment is in the functional currency)."""
    if payment.currency == payment.entity.currency:
        return None
    unapplied_id = ledger_selectors.account_id_for(entity=payment.entity, type=AccountType.UNAPPLIED_CASH)
    return ledger_selectors.line_rate(
        idempotency_key=f"payment-receipt:{payment.pk}", account_id=unapplied_id
    )


def _assign_customer(
    payment: Payment, customer_id: int, *, posting_date: date, actor: User | None, now: datetime
) -> None:
    """Make `customer_id` the payer; what is unapplied moves in the ledger from the unapplied cash it
    sits under (nobody's, for cash received unidentified) to the payer's."""
    if payment.customer_id == customer_id:
        return
    if payment.unapplied_minor:
        unapplied_id = ledger_selectors.account_id_for(entity=payment.entity, type=AccountType.UNAPPLIED_CASH)
        rate = _receipt_rate(payment)
        ledger_services.journal_entry_post(
            entity=payment.entity,
            lines=[
                at_rate(line, rate, functional_currency=payment.entity.currency)
                for line in (
                    PostingLine(
                        account_id=unapplied_id,
                        currency=payment.currency,
                        debit_minor=payment.unapplied_minor,
                        customer_id=payment.customer_id,
                    ),
                    PostingLine(
                        account_id=unapplied_id,
                        currency=payment.currency,
                        credit_minor=payment.unapplied_minor,
                        customer_id=customer_id,
                    ),
                )
            ],
            posting_date=posting_date,
            description=f"Unapplied cash of {_label(payment)} identified",
            source_type="payment",
            source_id=payment.pk,
            idempotency_key=_reclass_key(payment),
            now=now,
            created_by_id=actor_id(actor),
        )
    payment.customer_id = customer_id


def _learn(payment: Payment, customer_id: int, now: datetime) -> None:
    """Remember the payer's bank account and name for the customer, in the form the matcher reads them
    (its account key: the payment's IBAN, else its account; its name key: the normalised name)."""
    account_key = (payment.payer_iban or payment.payer_account)[:80]
    if account_key:
        PayerAccount.objects.bulk_create(
            [
                PayerAccount(
                    entity_id=payment.entity_id,
                    account_key=account_key,
                    customer_id=customer_id,
                    confirmations=0,
                    learned_at=now,
                )
            ],
            ignore_conflicts=True,
        )
        PayerAccount.objects.filter(
            entity_id=payment.entity_id, account_key=account_key, customer_id=customer_id
        ).update(confirmations=F("confirmations") + 1, learned_at=now)
    name_key = matching.normalize_name(payment.payer_name)[:200] if payment.payer_name else ""
    if name_key:
        PayerName.objects.bulk_create(
            [
                PayerName(
                    entity_id=payment.entity_id, name_key=name_key, customer_id=customer_id, learned_at=now
                )
            ],
            ignore_conflicts=True,
        )


def _customer_number(customer_id: int | None) -> str | None:
    if customer_id is None:
        return None
    facts = customer_selectors.customer_facts(customer_ids={customer_id}).get(customer_id)
    return facts.number if facts is not None else str(customer_id)


def _status_after(payment: Payment, *, was: str) -> str:
    """Applied when nothing is left; cash left on account stays on account; else partly applied while
    some application stands, and back in the queue (identified or not) when none does."""
    if payment.unapplied_minor == 0:
        return Payment.Status.APPLIED
    if was == Payment.Status.ON_ACCOUNT:
        return Payment.Status.ON_ACCOUNT
    if Application.objects.filter(payment=payment, state=Application.State.APPLIED).exists():
        return Payment.Status.PARTIALLY_APPLIED
    if payment.customer_id is None:
        return Payment.Status.UNIDENTIFIED
    return Payment.Status.SUGGESTED


# --- applying -------------------------------------------------------------------------------------


def _apply(
    payment: Payment,
    lines: list[_Line],
    *,
    rows: list[Application],
    actor: User | None,
    now: datetime,
    how: str,
    automatic: bool = False,
) -> Payment:
    """Post checked lines: customer and reclass, allocations, application rows (given, or new), the
    payment's cache and status, suggestions not taken rejected, events, learning, audit."""
    before = (payment.status, payment.unapplied_minor, payment.customer_id)
    posting_date = _business_date(payment, now)
    _assign_customer(
        payment,
        payment.customer_id if payment.customer_id is not None else lines[0].item.customer_id,
        posting_date=posting_date,
        actor=actor,
        now=now,
    )
    assert payment.customer_id is not None
    reference = f"payment {payment.entry_reference or payment.pk}"
    receipt_rate = _receipt_rate(payment)
    deductions: list[dict[str, Any]] = []
    for line, row in zip(lines, rows, strict=True):
        allocation_ids = []
        for kind, amount in (
            (Allocation.Kind.PAYMENT, line.amount_minor),
            (Allocation.Kind.DISCOUNT, line.discount_minor),
            (Allocation.Kind.WRITE_OFF, line.write_off_minor),
        ):
            if not amount:
                continue
            is_cash = kind == Allocation.Kind.PAYMENT
            try:
                allocation = receivables_services.allocation_create(
                    document_id=line.item.id,
                    kind=kind,
                    amount_minor=amount,
                    posting_date=max(posting_date, line.item.issue_date),
                    actor=actor,
                    now=now,
                    reason=reference,
                    payment_id=payment.pk if is_cash else None,
                    counter_customer_id=payment.customer_id if is_cash else None,
                    counter_fx_rate=receipt_rate if is_cash and line.conversion is None else None,
                )
            except UnableToAllocate as error:
                raise UnableToApplyPayment(f"{_label(payment)}: {error.message}", code=error.code) from None
            allocation_ids.append(allocation.pk)
            if is_cash and line.conversion is not None and line.cash_minor:
                conversions.post(
                    payment,
                    line.conversion,
                    [conversions.Converted(allocation.pk, line.cash_minor, amount)],
                    entity=payment.entity,
                    posting_date=max(posting_date, line.item.issue_date),
                    actor=actor,
                    now=now,
                )
        row.document_id = line.item.id
        row.state = Application.State.APPLIED
        row.amount_minor = line.amount_minor
        row.discount_minor = line.discount_minor
        row.write_off_minor = line.write_off_minor
        row.deduction_minor = line.deduction_minor
        row.allocation_ids = allocation_ids
        row.is_automatic = automatic
        row.created_by = actor if actor_id(actor) else None
        row.save()
        if line.deduction_minor:
            deductions.append(
                {
                    "payment_id": payment.pk,
                    "document_id": line.item.id,
                    "amount_minor": line.deduction_minor,
                    "currency": line.item.currency,
                    "reason": (payment.remittance or f"deduction taken by {_who(actor)}")[:300],
                }
            )
    Application.objects.filter(payment=payment, state=Application.State.SUGGESTED).exclude(
        pk__in=[row.pk for row in rows]
    ).update(state=Application.State.REJECTED)
    payment.unapplied_minor -= sum(
        line.amount_minor if line.cash_minor is None else line.cash_minor for line in lines
    )
    payment.status = _status_after(payment, was=before[0])
    payment.save(update_fields=["customer", "unapplied_minor", "status"])
    if deductions:
        events.publish_many_on_commit(DEDUCTION_TAKEN, deductions)
    events.publish_on_commit(
        PAYMENT_APPLIED,
        payment_id=payment.pk,
        customer_id=payment.customer_id,
        document_ids=[line.item.id for line in lines],
    )
    _learn(payment, payment.customer_id, now)
    changes: dict[str, tuple[object, object]] = {
        "status": (before[0], payment.status),
        "unapplied": (_money(before[1], payment.currency), _money(payment.unapplied_minor, payment.currency)),
        "applied_to": (
            None,
            ", ".join(
                f"{line.item.number} {_money(line.amount_minor, line.item.currency)}"
                + "".join(
                    f" + {what} {_money(amount, line.item.currency)}"
                    for what, amount in (
                        ("discount", line.discount_minor),
                        ("write-off", line.write_off_minor),
                        ("deduction", line.deduction_minor),
                    )
                    if amount
                )
                for line in lines
            ),
        ),
    }
    if before[2] != payment.customer_id:
        changes["customer"] = (_customer_number(before[2]), _customer_number(payment.customer_id))
    audit_services.record(
        actor=actor,
        action="cash.payment.applied",
        object_type="payment",
        object_id=payment.pk,
        object_label=_label(payment),
        entity_id=payment.entity_id,
        changes=changes,
        reason=how,
        now=now,
    )
    return payment


@transaction.atomic
def payment_apply(
    *, payment_id: int, lines: Sequence[ApplyLine], actor: User | None, now: datetime
) -> Payment:
    """Apply a payment to the invoices a person chose, split as given. Refused when the lines apply
    more than the payment's unapplied amount or more than an invoice's open amount, name a document of
    another entity or currency, or the payment was returned. The payment's suggestions are replaced by
    the person's lines (rejected)."""
    payment = _locked_payment(payment_id)
    _ensure_workable(payment)
    # amounts are in each document's currency (the payment's, unless cash is converted)
    currencies = receivables_selectors.currencies_of(document_ids={line.document_id for line in lines})
    wanted = []
    for line in lines:
        currency = currencies.get(line.document_id, payment.currency)
        wanted.append(
            (
                line.document_id,
                _minor(line.amount, currency, what=f"document {line.document_id}: amount"),
                _minor(line.discount, currency, what=f"document {line.document_id}: discount"),
                _minor(line.write_off, currency, what=f"document {line.document_id}: write-off"),
                _minor(line.deduction, currency, what=f"document {line.document_id}: deduction"),
            )
        )
    checked = _checked_lines(payment, wanted, now=now)
    reason = f"applied by {_who(actor)}"
    rows = [
        Application(
            payment=payment,
            state=Application.State.APPLIED,
            confidence=Decimal("1.000"),
            reasons=[reason],
            is_automatic=False,
            created_at=now,
        )
        for _ in checked
    ]
    return _apply(payment, checked, rows=rows, actor=actor, now=now, how=reason)


@transaction.atomic
def payment_rematch(*, payment_id: int, actor: User | None, now: datetime, why: str) -> Payment:
    """Run the matcher again for a payment still waiting for a person (unidentified or suggested) on what
    is known now: a remittance advice that came after it, invoices issued since, accounts learned since.
    When the matcher is sure, the payment is applied as at import (automatic, with the matcher's
    reasons); else its suggestions are replaced by the new ones. Cash for another currency's invoices is
    left to a person."""
    payment = _locked_payment(payment_id)
    if payment.status not in (Payment.Status.UNIDENTIFIED, Payment.Status.SUGGESTED):
        return payment
    fact = payment_facts(payment)
    policy = policy_for(payment.entity)
    lookup, keys = matcher.gather(entity_id=payment.entity_id, payments=[fact], policy=policy)
    decision = matcher.decide(fact, keys[0], lookup, policy)
    if decision.conversion is not None or not decision.lines:
        return payment
    reasons = [*decision.reasons, why]
    payment.confidence = decision.confidence
    payment.reasons = reasons
    payment.save(update_fields=["confidence", "reasons"])
    wanted = [
        (line.document_id, line.amount_minor, line.discount_minor, line.write_off_minor, line.deduction_minor)
        for line in decision.lines
    ]
    if not decision.auto:
        Application.objects.filter(payment=payment, state=Application.State.SUGGESTED).update(
            state=Application.State.REJECTED
        )
        Application.objects.bulk_create(
            [
                Application(
                    payment=payment,
                    document_id=document_id,
                    state=Application.State.SUGGESTED,
                    amount_minor=amount,
                    discount_minor=discount,
                    write_off_minor=write_off,
                    deduction_minor=deduction,
                    confidence=decision.confidence,
                    reasons=reasons,
                    created_at=now,
                )
                for document_id, amount, discount, write_off, deduction in wanted
            ]
        )
        return payment
    checked = _checked_lines(payment, wanted, now=now)
    if decision.customer_id is not None:
        _assign_customer(
            payment, decision.customer_id, posting_date=_business_date(payment, now), actor=actor, now=now
        )
    rows = [
        Application(
            payment=payment,
            state=Application.State.APPLIED,
            confidence=decision.confidence,
            reasons=reasons,
            is_automatic=True,
            created_at=now,
        )
        for _ in checked
    ]
    return _apply(payment, checked, rows=rows, actor=actor, now=now, how=why, automatic=True)


@transaction.atomic
def advice_receive(
    *, data: bytes, file_name: str, entity: LegalEntity, actor: User | None, now: datetime
) -> AdviceResult:
    """Keep a remittance advice (`services.advice_import`); when it names a payment that arrived before
    it and waits for a person, the matcher reads the payment again with the advice's invoices."""
    result = advice_import(data=data, file_name=file_name, entity=entity, actor=actor, now=now)
    if result.payment_id is not None and not result.already_imported:
        payment = payment_rematch(
            payment_id=result.payment_id,
            actor=actor,
            now=now,
            why=f"matched again on remittance advice {file_name}",
        )
        result.payment_status = payment.status
    return result


@transaction.atomic
def application_accept(*, payment_id: int, actor: User | None, now: datetime) -> Payment:
    """Accept the matcher's suggestions for a payment as they stand, after checking them again against
    what is open now: a suggestion for an invoice paid meanwhile is refused, and the payment is then
    applied by hand."""
    payment = _locked_payment(payment_id)
    _ensure_workable(payment)
    suggestions = list(
        Application.objects.filter(payment=payment, state=Application.State.SUGGESTED).order_by("pk")
    )
    if not suggestions or any(row.document_id is None for row in suggestions):
        raise UnableToApplyPayment(
            f"{_label(payment)} has no suggested invoices to accept: apply it or put it on account",
            code="no_suggestions",
        )
    checked = _checked_lines(
        payment,
        [
            (
                row.document_id or 0,
                row.amount_minor,
                row.discount_minor,
                row.write_off_minor,
                row.deduction_minor,
            )
            for row in suggestions
        ],
        suggested=True,
        now=now,
    )
    reason = f"accepted by {_who(actor)}"
    for row in suggestions:
        row.reasons = [*row.reasons, reason]
    return _apply(payment, checked, rows=suggestions, actor=actor, now=now, how=reason)


@transaction.atomic
def payment_put_on_account(
    *, payment_id: int, customer_id: int, actor: User | None, now: datetime
) -> Payment:
    """Leave what is unapplied of a payment on a customer's account (status on account): cash received
    unidentified moves in the ledger to the customer's unapplied cash. The payer's account and name are
    learned for the customer; open suggestions are rejected."""
    payment = _locked_payment(payment_id)
    _ensure_workable(payment)
    label = _label(payment)
    if payment.unapplied_minor == 0:
        raise UnableToApplyPayment(
            f"{label} is applied in full: nothing is left to put on account", code="nothing_unapplied"
        )
    try:
        customer = customer_selectors.customer_get(entity_ids=[payment.entity_id], customer_id=customer_id)
    except ObjectDoesNotExist:
        raise UnableToApplyPayment(
            f"{label}: customer {customer_id} is not a customer of {payment.entity.code}",
            code="unknown_customer",
        ) from None
    applied = Application.objects.filter(payment=payment, state=Application.State.APPLIED).exists()
    if payment.customer_id is not None and payment.customer_id != customer.pk and applied:
        raise UnableToApplyPayment(
            f"{label} is applied in part for customer {_customer_number(payment.customer_id)}: reverse those "
            f"applications before putting the rest on {customer.number}'s account",
            code="customer_mismatch",
        )
    before = (payment.status, payment.customer_id)
    _assign_customer(payment, customer.pk, posting_date=_business_date(payment, now), actor=actor, now=now)
    payment.status = Payment.Status.ON_ACCOUNT
    payment.save(update_fields=["customer", "status"])
    Application.objects.filter(payment=payment, state=Application.State.SUGGESTED).update(
        state=Application.State.REJECTED
    )
    _learn(payment, customer.pk, now)
    audit_services.record(
        actor=actor,
        action="cash.payment.put_on_account",
        object_type="payment",
        object_id=payment.pk,
        object_label=label,
        entity_id=payment.entity_id,
        changes={
            "status": (before[0], payment.status),
            "customer": (_customer_number(before[1]), customer.number),
            "on_account": (None, _money(payment.unapplied_minor, payment.currency)),
        },
        reason=f"put on account by {_who(actor)}",
        now=now,
    )
    return payment


@transaction.atomic
def application_reverse(*, application_id: int, reason: str, actor: User | None, now: datetime) -> Payment:
    """Unapply misapplied cash: each allocation of the application is reversed (the invoice open again,
    the cash back in the payer's unapplied cash), the application is kept as reversed, and the payment
    can be applied again."""
    found = Application.objects.filter(pk=application_id).values_list("payment_id", flat=True).first()
    if found is None:
        raise UnableToApplyPayment(f"there is no application {application_id}", code="unknown_application")
    payment = _locked_payment(found)
    application = (
        Application.objects.select_for_update(of=("self",)).select_related("document").get(pk=application_id)
    )
    label = _label(payment)
    number = application.document.number if application.document else None
    if not reason.strip():
        raise UnableToApplyPayment(f"{label}: say why the application is reversed", code="reason_required")
    if application.state != Application.State.APPLIED:
        raise UnableToApplyPayment(
            f"{label}: the application to {number or 'the account'} is {application.state}, not applied: "
            "only an applied one is reversed",
            code="not_applied",
        )
    posting_date = _business_date(payment, now)
    for allocation_id in application.allocation_ids:
        try:
            receivables_services.allocation_reverse(
                allocation_id=allocation_id,
                posting_date=posting_date,
                reason=reason.strip(),
                actor=actor,
                now=now,
            )
        except UnableToAllocate as error:
            raise UnableToApplyPayment(f"{label}: {error.message}", code=error.code) from None
    before = (payment.status, payment.unapplied_minor)
    application.state = Application.State.REVERSED
    application.reversed_at = now
    application.save(update_fields=["state", "reversed_at"])
    # cash that settled another currency's invoice goes back to the payment's currency first
    converted_back = conversions.reverse(
        application.allocation_ids, posting_date=posting_date, actor=actor, now=now
    )
    payment.unapplied_minor += converted_back or application.amount_minor
    payment.status = _status_after(payment, was=before[0])
    payment.save(update_fields=["unapplied_minor", "status"])
    audit_services.record(
        actor=actor,
        action="cash.application.reversed",
        object_type="payment",
        object_id=payment.pk,
        object_label=label,
        entity_id=payment.entity_id,
        changes={
            "status": (before[0], payment.status),
            "unapplied": (
                _money(before[1], payment.currency),
                _money(payment.unapplied_minor, payment.currency),
            ),
            "applied_to": (
                f"{number or ''} {_money(application.amount_minor, payment.currency)}".strip(),
                None,
            ),
        },
        reason=reason.strip(),
        now=now,
    )
    return payment


# --- policy ---------------------------------------------------------------------------------------

DEFAULT_FX_TOLERANCE_PERCENT = Decimal("1.00")
MAX_FX_TOLERANCE_PERCENT = Decimal("10.00")
FX_TOLERANCE_QUANTUM = Decimal("0.01")


def _policy_values(policy: MatchingPolicy | None, entity: LegalEntity) -> dict[str, object]:
    if policy is None:
        return {
            "auto_apply_confidence": str(DEFAULT_AUTO_APPLY),
            "write_off_tolerance": _money(DEFAULT_TOLERANCE_MINOR, entity.currency),
            "discount_grace_days": DEFAULT_GRACE_DAYS,
            "return_fee_charge": ReturnFeeCharge.NONE.value,
            "return_fee": _money(0, entity.currency),
            "fx_tolerance_percent": str(DEFAULT_FX_TOLERANCE_PERCENT),
        }
    return {
        "auto_apply_confidence": str(Decimal(policy.auto_apply_confidence).quantize(CONFIDENCE_QUANTUM)),
        "write_off_tolerance": _money(policy.write_off_tolerance_minor, policy.currency),
        "discount_grace_days": policy.discount_grace_days,
        "return_fee_charge": policy.return_fee_charge,
        "return_fee": _money(policy.return_fee_minor, policy.currency),
        "fx_tolerance_percent": str(Decimal(policy.fx_tolerance_percent).quantize(FX_TOLERANCE_QUANTUM)),
    }


def _changed(
    before: dict[str, object], after: dict[str, object]
) -> Iterable[tuple[str, tuple[object, object]]]:
    for key, value in after.items():
        if before[key] != value:
            yield key, (before[key], value)


@transaction.atomic
def policy_change(
    *,
    entity: LegalEntity,
    auto_apply_confidence: Decimal,
    write_off_tolerance: Decimal,
    discount_grace_days: int,
    actor: User | None,
    now: datetime,
    return_fee_charge: str | None = None,
    return_fee: Decimal | None = None,
    fx_tolerance_percent: Decimal | None = None,
    reason: str = "",
) -> MatchingPolicy:
    """Set the entity's matching policy: the confidence from which the matcher posts on its own (0 to 1,
    three decimals), the bank charges it writes off (in the entity's currency) and the days after the
    discount date it still grants the discount; what a customer is charged for a returned payment
    (`return_fee_charge`: none, bank_fee, fixed or bank_fee_plus_fixed) with the own fixed fee
    (`return_fee`, in the entity's currency); and how far cash converted at the day's rate may be off
    the invoices it pays and still settle them in full (`fx_tolerance_percent`, 0 to 10 with two
    decimals). A return or FX setting left None keeps what is stored. Audited with the values before and
    after, and the `reason` given."""
    if not Decimal(0) <= auto_apply_confidence <= Decimal(1) or auto_apply_confidence != (
        auto_apply_confidence.quantize(CONFIDENCE_QUANTUM)
    ):
        raise UnableToChangeMatchingPolicy(
            f"the auto-apply confidence {auto_apply_confidence} is not between 0 and 1 with at most three "
            "decimals",
            code="bad_confidence",
        )
    if write_off_tolerance < 0:
        raise UnableToChangeMatchingPolicy(
            f"the write-off tolerance {write_off_tolerance} is negative", code="bad_tolerance"
        )
    try:
        tolerance_minor = Money(write_off_tolerance, entity.currency).to_minor()
    except UnableToHandleMoney:
        raise UnableToChangeMatchingPolicy(
            f"the write-off tolerance {write_off_tolerance} has more decimals than {entity.currency} allows",
            code="bad_tolerance",
        ) from None
    if not 0 <= discount_grace_days <= MAX_GRACE_DAYS:
        raise UnableToChangeMatchingPolicy(
            f"the discount grace of {discount_grace_days} days is not between 0 and {MAX_GRACE_DAYS}",
            code="bad_grace_days",
        )
    if return_fee_charge is not None and return_fee_charge not in ReturnFeeCharge.values:
        raise UnableToChangeMatchingPolicy(
            f"the return fee charge '{return_fee_charge}' is not one of {', '.join(ReturnFeeCharge.values)}",
            code="bad_return_fee_charge",
        )
    return_fee_minor = None
    if return_fee is not None:
        if return_fee < 0:
            raise UnableToChangeMatchingPolicy(
                f"the return fee {return_fee} is negative", code="bad_return_fee"
            )
        try:
            return_fee_minor = Money(return_fee, entity.currency).to_minor()
        except UnableToHandleMoney:
            raise UnableToChangeMatchingPolicy(
                f"the return fee {return_fee} has more decimals than {entity.currency} allows",
                code="bad_return_fee",
            ) from None
    if fx_tolerance_percent is not None and (
        not fx_tolerance_percent.is_finite()
        or not Decimal(0) <= fx_tolerance_percent <= MAX_FX_TOLERANCE_PERCENT
        or fx_tolerance_percent != fx_tolerance_percent.quantize(FX_TOLERANCE_QUANTUM)
    ):
        raise UnableToChangeMatchingPolicy(
            f"the FX tolerance of {fx_tolerance_percent} % is not between 0 and "
            f"{MAX_FX_TOLERANCE_PERCENT.normalize():f} % with at most two decimals",
            code="bad_fx_tolerance",
        )
    existing = MatchingPolicy.objects.select_for_update().filter(entity=entity).first()
    before = _policy_values(existing, entity)
    policy = existing or MatchingPolicy(entity=entity)
    if existing is not None and existing.currency != entity.currency and return_fee_minor is None:
        # the stored fee is in the old currency: it is not carried over as if it were in the new one
        return_fee_minor = 0
    policy.auto_apply_confidence = auto_apply_confidence
    policy.currency = entity.currency
    policy.write_off_tolerance_minor = tolerance_minor
    policy.discount_grace_days = discount_grace_days
    if return_fee_charge is not None:
        policy.return_fee_charge = return_fee_charge
    if return_fee_minor is not None:
        policy.return_fee_minor = return_fee_minor
    if fx_tolerance_percent is not None:
        policy.fx_tolerance_percent = fx_tolerance_percent.quantize(FX_TOLERANCE_QUANTUM)
    elif existing is None:
        policy.fx_tolerance_percent = DEFAULT_FX_TOLERANCE_PERCENT
    after = _policy_values(policy, entity)
    changes = dict(_changed(before, after))
    if existing is not None and not changes:
        return existing
    policy.changed_at = now
    policy.save()
    audit_services.record(
        actor=actor,
        action="cash.policy.changed",
        object_type="matching_policy",
        object_id=policy.pk,
        object_label=f"matching policy {entity.code}",
        entity_id=entity.pk,
        changes=changes,
        reason=reason.strip(),
        now=now,
    )
    return policy
