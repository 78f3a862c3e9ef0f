"""Returned payments: a bounced cheque, a SEPA return (R-transaction) or a chargeback arriving as a debit in
a bank statement gives back a payment received earlier. What it settled is reversed (the invoices open
again), the cash leaves unapplied cash for the bank, and collections and credit hear of it.

The bank often takes its return fee with the return (the debit is the original plus the fee) and may
say so (camt `Chrgs`, the original in `AmtDtls`; MT940 `/OCMT/`, `/CHGS/`, `OAMT+`, `COAM+`; BAI2 `ORIG AMT`
in the text): the original is found by its own amount, the fee part of the debit goes to 6850 *Bank and
card fees* in the same entry, and where the entity's matching policy says so the customer gets a debit
memo for the bank's fee and/or the entity's own fixed fee.

A payment part of which was refunded before it came back gave the customer that part twice (the refund
and the return): what it still had on the customer's account and what it settled go back as usual, the
refunded part goes to 1600 *Payments in transit* under the customer, and a person decides whether to
reclaim it from the customer or write it off: the import warns, the payment says why.

A card chargeback in a card processor's payout (a `chargeback` detail naming its charge) is the same
thing: `card_chargeback` finds the card payment of that charge and returns it, the processor's dispute fee
as the bank's fee."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import formats, translation
from django.utils.translation import gettext as _

from o2c.audit import services as audit_services
from o2c.bankfiles.statement import Entry
from o2c.cash import conversions, rules
from o2c.cash.models import Application, MatchingPolicy, Payment, Refund
from o2c.cash.rules import PAYMENT_RETURNED
from o2c.core import events
from o2c.core.actors import actor_id
from o2c.core.exceptions import DomainError
from o2c.core.money import Money, UnableToHandleMoney, format_with_currency, to_minor
from o2c.customers import selectors as customer_selectors
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.chart import CARD_FEES, PAYMENTS_IN_TRANSIT
from o2c.ledger.models import AccountType, EntityBankAccount, LegalEntity
from o2c.ledger.rules import LineIn as PostingLine
from o2c.ledger.services import EntryIn
from o2c.receivables import services as receivables_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document, DocumentType

_NO_REFERENCE = {"", "NOTPROVIDED", "NONREF"}

NOT_SUBJECT_TO_VAT = "O"
"""A return fee is compensation for the costs the customer's failed payment caused, not the price of a
supply: outside the scope of VAT (UNCL5305 `O`, 0 %). Not exempt (`E`): an exemption is for a supply
and needs its legal ground; nor the customer's usual rate (`S`): nothing was supplied. So the debit
memo's line needs no tax determination and the same holds in every country the entity bills."""


@dataclass(frozen=True, slots=True)
class ReturnOutcome:
    payment: Payment
    reopened_document_ids: list[int]
    fee_document: Document | None = None
    """The debit memo that charged the customer for the return, when the policy asks for one."""
    warnings: list[str] = field(default_factory=list)


def original_payment(*, entry: Entry, account: EntityBankAccount) -> Payment | None:
    """The payment a return gives back: same bank account, received before, not returned, of the original
    amount the file states, else of the debit less the charges it states, else of the debit; told by its
    end-to-end id, else by the payer's account, else (a returned cheque in BAI2 names neither) by the
    return's own reference (BAI2 customer reference, MT940 reference for the account owner, camt NtryRef)
    being the payment's bank reference or end-to-end id; the latest when several fit."""
    day = entry.value_date or entry.booking_date
    candidates = Payment.objects.select_for_update().filter(bank_account=account, currency=entry.currency)
    if day is not None:
        candidates = candidates.filter(value_date__lte=day)
    candidates = candidates.exclude(status=Payment.Status.RETURNED)
    end_to_end = (entry.end_to_end_id or "").strip()
    iban = (entry.counterparty_iban or "").replace(" ", "").upper()
    reference = (entry.entry_reference or "").strip()
    if end_to_end.upper() not in _NO_REFERENCE:
        candidates = candidates.filter(end_to_end_id=end_to_end)
    elif iban:
        candidates = candidates.filter(payer_iban=iban)
    elif reference.upper() not in _NO_REFERENCE:
        candidates = candidates.filter(Q(entry_reference=reference) | Q(end_to_end_id=reference))
    else:
        return None
    for amount in rules.return_figures(entry).originals:
        try:
            amount_minor = to_minor(amount, entry.currency)
        except UnableToHandleMoney:
            continue
        found = (
            candidates.filter(amount_minor=amount_minor).order_by("-value_date", "-position", "-pk").first()
        )
        if found is not None:
            return found
    return None


@dataclass(frozen=True, slots=True)
class ChargebackOutcome:
    """What became of one chargeback of a card payout: returned (the outcome), already returned by this
    same dispute (a copy of the file), or left for a person (why, naming the payment when one was found)."""

    returned: ReturnOutcome | None = None
    already_done: bool = False
    left_for_a_person: str | None = None


def card_payment_of_charge(
    *, charge_id: str, account: EntityBankAccount, currency: str, day: date
) -> Payment | None:
    """The card payment of a processor's charge (its end-to-end id is the charge id) on the bank account,
    received by `day`, locked; returned ones included (the caller tells); the latest when several fit."""
    if charge_id.strip().upper() in _NO_REFERENCE:
        return None
    return (
        Payment.objects.select_for_update()
        .filter(
            bank_account=account,
            method="card",
            currency=currency,
            end_to_end_id=charge_id.strip(),
            value_date__lte=day,
        )
        .order_by("-value_date", "-position", "-pk")
        .first()
    )


def card_chargeback(
    *,
    charge_id: str | None,
    disputed: Decimal,
    fee: Decimal,
    dispute_reason: str | None,
    dispute_reference: str,
    currency: str,
    day: date,
    account: EntityBankAccount,
    entity: LegalEntity,
    actor: User | None,
    now: datetime,
) -> ChargebackOutcome:
    """A chargeback in a card payout (`disputed` the disputed amount, positive; `fee` the processor's
    dispute fee, positive when charged): the card payment of its charge is returned like a bank return:
    what it settled reopens, Dr unapplied cash the payment, Dr 6850 the fee, Cr bank both, the customer
    charged per the matching policy, audited and published (`cash.payment_returned`). Not found (no charge
    id, an unknown one, one received after the dispute), already returned for another reason, or disputed
    for another amount than it had (a partial dispute): nothing is posted and the caller leaves it in
    payments in transit for a person; `left_for_a_person` says why when there is a payment to name."""
    if not charge_id:
        return ChargebackOutcome()
    payment = card_payment_of_charge(charge_id=charge_id, account=account, currency=currency, day=day)
    if payment is None:
        return ChargebackOutcome()
    if payment.status == Payment.Status.RETURNED:
        if payment.return_reference == dispute_reference[:140]:
            return ChargebackOutcome(already_done=True)
        return ChargebackOutcome(
            left_for_a_person=f"card payment {payment} (charge {charge_id}) was already returned "
            f"({payment.return_reason}): dispute {dispute_reference} not applied to it"
        )
    disputed_minor = to_minor(disputed, currency)
    if disputed_minor != payment.amount_minor:
        of = format_with_currency(disputed_minor, currency)
        whole = format_with_currency(payment.amount_minor, currency)
        return ChargebackOutcome(
            left_for_a_person=f"dispute {dispute_reference} of {of} is not the whole of card payment "
            f"{payment} (charge {charge_id}, {whole}): not returned"
        )
    reason = f"chargeback: {dispute_reason}" if dispute_reason else "chargeback"
    outcome = payment_return(
        payment=payment,
        reason=reason,
        day=day,
        bank_reference=dispute_reference,
        entity=entity,
        actor=actor,
        now=now,
        debited_minor=disputed_minor + to_minor(fee, currency),
    )
    return ChargebackOutcome(returned=outcome)


def payment_return(
    *,
    payment: Payment,
    reason: str,
    day: date,
    bank_reference: str,
    entity: LegalEntity,
    actor: User | None,
    now: datetime,
    debited_minor: int | None = None,
    charges_apart_minor: int = 0,
) -> ReturnOutcome:
    """Reverse what the payment settled, post the cash back out (Dr unapplied cash / Cr bank) and mark it
    returned. The caller holds the transaction and the payment's row lock.

    `debited_minor` is what the return entry took from the account (default: the payment's amount): the
    part beyond the payment is the bank's fee (Dr 6850 in the same entry; a debit short of the payment
    is a fee given back, Cr 6850). `charges_apart_minor` is a fee the bank states for the return but
    books in another entry: not posted here, but the customer may be charged it. What the customer is
    charged follows the entity's `MatchingPolicy` (`charge_return_fee`).

    What was refunded of the payment (pain.001 refunds of its unapplied cash) left unapplied cash then: it
    is not taken out of it again but debited to payments in transit under the customer, who has it twice,
    and the return comes back with a warning and the payment with a reason for a person."""
    debited = payment.amount_minor if debited_minor is None else debited_minor
    charges = debited - payment.amount_minor
    refunds = list(Refund.objects.filter(payment=payment).order_by("pk"))
    refunded = sum(refund.amount_minor for refund in refunds)
    reopened: list[int] = []
    why = f"payment {payment} returned ({reason})"
    for application in Application.objects.filter(payment=payment, state=Application.State.APPLIED).order_by(
        "pk"
    ):
        for allocation_id in application.allocation_ids:
            receivables_services.allocation_reverse(
                allocation_id=allocation_id, posting_date=day, reason=why, actor=actor, now=now
            )
        conversions.reverse(application.allocation_ids, posting_date=day, actor=actor, now=now)
        if application.document_id is not None:
            reopened.append(application.document_id)
        application.state = Application.State.REVERSED
        application.reversed_at = now
        application.save(update_fields=["state", "reversed_at"])
    bank_ledger_id = EntityBankAccount.objects.values_list("ledger_account_id", flat=True).get(
        pk=payment.bank_account_id
    )
    posting_date = max(day, payment.booking_date)
    ledger_services.journal_entries_post_bulk(
        entity=entity,
        entries=[
            EntryIn(
                posting_date=posting_date,
                description=f"Return {bank_reference or payment} {reason}"[:200],
                source_type="payment",
                source_id=payment.pk,
                idempotency_key=f"payment-return:{payment.pk}",
                lines=_return_postings(
                    payment,
                    unapplied_id=ledger_selectors.account_id_for(
                        entity=entity, type=AccountType.UNAPPLIED_CASH
                    ),
                    bank_id=bank_ledger_id,
                    fees_id=ledger_services.account_by_code(entity=entity, code=CARD_FEES)
                    if charges
                    else None,
                    debited_minor=debited,
                    refunded_minor=refunded,
                    in_transit_id=ledger_services.account_by_code(entity=entity, code=PAYMENTS_IN_TRANSIT)
                    if refunded
                    else None,
                ),
            )
        ],
        now=now,
        created_by_id=actor_id(actor),
    )
    warnings = []
    if refunded:
        why_person = (
            f"{format_with_currency(refunded, payment.currency)} of it had been refunded "
            f"({', '.join(refund.end_to_end_id for refund in refunds)}) before it was returned: the customer "
            f"has that twice; it is in {PAYMENTS_IN_TRANSIT} Payments in transit for a person to reclaim "
            "from the customer or write off"
        )
        warnings.append(f"returned payment {payment}: {why_person}")
        payment.reasons = [*payment.reasons, why_person]
    before = payment.status
    payment.status = Payment.Status.RETURNED
    payment.unapplied_minor = 0
    payment.returned_on = day
    payment.return_reason = reason[:140]
    payment.return_reference = bank_reference[:140]
    payment.return_charges_minor = charges
    payment.save(
        update_fields=[
            "status",
            "unapplied_minor",
            "returned_on",
            "return_reason",
            "return_reference",
            "return_charges_minor",
            "reasons",
        ]
    )
    amount = format_with_currency(payment.amount_minor, payment.currency)
    changes: dict[str, tuple[object, object]] = {
        "status": (before, Payment.Status.RETURNED.value),
        "amount": (None, amount),
    }
    if charges:
        changes["bank_charges"] = (None, format_with_currency(charges, payment.currency))
    if refunded:
        changes["refunded"] = (None, format_with_currency(refunded, payment.currency))
    audit_services.record(
        actor=actor,
        action="cash.payment.returned",
        object_type="payment",
        object_id=payment.pk,
        object_label=str(payment)[:200],
        entity_id=entity.pk,
        changes=changes,
        reason=why,
        now=now,
    )
    fee_document, fee_warnings = charge_return_fee(
        payment=payment,
        entity=entity,
        bank_fee_minor=max(charges, 0) + max(charges_apart_minor, 0),
        day=posting_date,
        actor=actor,
        now=now,
    )
    events.publish_on_commit(
        PAYMENT_RETURNED,
        payment_id=payment.pk,
        entity_id=entity.pk,
        customer_id=payment.customer_id,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        reason=reason,
        returned_on=day.isoformat(),
        document_ids=sorted(set(reopened)),
        charges_minor=charges,
        fee_document_id=fee_document.pk if fee_document is not None else None,
        refunded_minor=refunded,
    )
    return ReturnOutcome(
        payment=payment,
        reopened_document_ids=sorted(set(reopened)),
        fee_document=fee_document,
        warnings=[*warnings, *fee_warnings],
    )


def _return_postings(
    payment: Payment,
    *,
    unapplied_id: int,
    bank_id: int,
    fees_id: int | None,
    debited_minor: int,
    refunded_minor: int = 0,
    in_transit_id: int | None = None,
) -> list[PostingLine]:
    """Dr unapplied cash (the payer) the payment / Cr bank what the return debited; the difference is the
    bank's fee (Dr fees) or, short of the payment, a fee given back (Cr fees). What was refunded of the
    payment is no longer unapplied cash: Dr payments in transit (the payer) instead. One entry, one
    currency."""
    currency = payment.currency
    unapplied = payment.amount_minor - refunded_minor
    lines = []
    if unapplied:
        lines.append(
            PostingLine(
                account_id=unapplied_id,
                currency=currency,
                debit_minor=unapplied,
                customer_id=payment.customer_id,
            )
        )
    if refunded_minor:
        assert in_transit_id is not None
        lines.append(
            PostingLine(
                account_id=in_transit_id,
                currency=currency,
                debit_minor=refunded_minor,
                customer_id=payment.customer_id,
                memo="refunded before the return: to reclaim or write off",
            )
        )
    lines.append(PostingLine(account_id=bank_id, currency=currency, credit_minor=debited_minor))
    charges = debited_minor - payment.amount_minor
    if charges:
        assert fees_id is not None
        lines.append(
            PostingLine(
                account_id=fees_id,
                currency=currency,
                debit_minor=max(charges, 0),
                credit_minor=max(-charges, 0),
            )
        )
    return lines


def charge_return_fee(
    *,
    payment: Payment,
    entity: LegalEntity,
    bank_fee_minor: int,
    day: date,
    actor: User | None,
    now: datetime,
) -> tuple[Document | None, list[str]]:
    """Where the entity's policy says so, a debit memo to the customer for the bank's fee of the return
    and/or the entity's own fixed fee, issued on the return's day (numbered in the debit memo series,
    posted Dr receivable / Cr revenue) and audited; at most one per payment. The memo, and why none was
    issued when one was due (no customer known, a fixed fee in another currency, the customer blocked)."""
    if payment.return_fee_document_id is not None:
        return None, []
    policy = MatchingPolicy.objects.filter(entity=entity).first()
    if policy is None or policy.return_fee_charge == "none":
        return None, []
    label = f"returned payment {payment}"
    warnings = []
    bank_fee, fixed_fee = rules.return_fees_to_charge(
        charge=policy.return_fee_charge,
        bank_fee_minor=bank_fee_minor,
        fixed_minor=policy.return_fee_minor,
        fixed_currency=policy.currency,
        currency=payment.currency,
    )
    if (
        policy.return_fee_charge in ("fixed", "bank_fee_plus_fixed")
        and not fixed_fee
        and policy.return_fee_minor
    ):
        warnings.append(
            f"{label}: the fixed return fee is in {policy.currency}, the payment in {payment.currency}: "
            "not charged"
        )
    if not bank_fee and not fixed_fee:
        return None, warnings
    if payment.customer_id is None:
        warnings.append(f"{label}: no customer is known, so no return fee was charged")
        return None, warnings
    try:
        with transaction.atomic():  # a memo refused at issue leaves no draft behind
            memo = _return_fee_memo(
                payment,
                entity=entity,
                bank_fee_minor=bank_fee,
                fixed_minor=fixed_fee,
                day=day,
                actor=actor,
                now=now,
            )
    except DomainError as error:  # a blocked customer, a closed period: the return stands, a person decides
        warnings.append(f"{label}: no return fee was charged: {error.message}")
        return None, warnings
    payment.return_fee_document = memo
    payment.save(update_fields=["return_fee_document"])
    audit_services.record(
        actor=actor,
        action="cash.payment.return_fee_charged",
        object_type="payment",
        object_id=payment.pk,
        object_label=str(payment)[:200],
        entity_id=entity.pk,
        changes={
            "return_fee_document": (None, memo.number),
            "return_fee": (None, format_with_currency(memo.total_minor, memo.currency)),
        },
        reason=f"{label} ({payment.return_reason}): {policy.return_fee_charge}",
        now=now,
    )
    return memo, warnings


def _customer_reference(payment: Payment) -> str:
    """How the customer knows the payment: its end-to-end id when it has one, else the bank's reference."""
    end_to_end = payment.end_to_end_id.strip()
    return end_to_end if end_to_end.upper() not in _NO_REFERENCE else str(payment)


def _return_fee_memo(
    payment: Payment,
    *,
    entity: LegalEntity,
    bank_fee_minor: int,
    fixed_minor: int,
    day: date,
    actor: User | None,
    now: datetime,
) -> Document:
    assert payment.customer_id is not None
    customer = customer_selectors.customer_get(entity_ids=[entity.pk], customer_id=payment.customer_id)
    currency = payment.currency
    with translation.override(customer.language or None):  # printed in the customer's language
        values = {
            "reference": _customer_reference(payment),
            "date": formats.date_format(payment.value_date, "SHORT_DATE_FORMAT"),
        }
        lines = []
        if bank_fee_minor:
            lines.append(
                LineIn(
                    description=_("Bank charges for the returned payment %(reference)s of %(date)s") % values,
                    quantity=Decimal(1),
                    unit_price=Money.from_minor(bank_fee_minor, currency).amount,
                    tax_category=NOT_SUBJECT_TO_VAT,
                )
            )
        if fixed_minor:
            lines.append(
                LineIn(
                    description=_("Handling fee for the returned payment %(reference)s of %(date)s") % values,
                    quantity=Decimal(1),
                    unit_price=Money.from_minor(fixed_minor, currency).amount,
                    tax_category=NOT_SUBJECT_TO_VAT,
                )
            )
        notes = (
            _(
                "Your payment %(reference)s of %(date)s was returned unpaid. These charges are compensation "
                "for the costs of the return and not subject to VAT."
            )
            % values
        )
    draft = receivables_services.document_create(
        customer=customer,
        document_type=DocumentType.DEBIT_MEMO,
        issue_date=day,
        lines=lines,
        actor=actor,
        now=now,
        currency=currency,
        notes=notes,
    )
    return receivables_services.document_issue(document_id=draft.pk, actor=actor, now=now)
