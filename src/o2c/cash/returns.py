"""Returned payments: a bounced cheque, a SEPA return (R-transaction) or a chargeback arriving as a debit in
a bank statement gives back a payment received earlier. What it settled is reversed (the invoices open
again), the cash leaves unapplied cash for the bank, and collections and credit hear of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth.models import User

from o2c.audit import services as audit_services
from o2c.bankfiles.statement import Entry
from o2c.cash.models import Application, Payment
from o2c.cash.rules import PAYMENT_RETURNED
from o2c.core import events
from o2c.core.actors import actor_id
from o2c.core.money import format_with_currency, to_minor
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import AccountType, EntityBankAccount, LegalEntity
from o2c.ledger.rules import LineIn as PostingLine
from o2c.ledger.services import EntryIn
from o2c.receivables import services as receivables_services

_NO_REFERENCE = {"", "NOTPROVIDED", "NONREF"}


@dataclass(frozen=True, slots=True)
class ReturnOutcome:
    payment: Payment
    reopened_document_ids: list[int]


def original_payment(*, entry: Entry, account: EntityBankAccount) -> Payment | None:
    """The payment a return gives back: same bank account and amount, received before, not returned;
    told by its end-to-end id, else by the payer's account; the latest when several fit."""
    amount_minor = to_minor(-entry.amount, entry.currency)
    day = entry.value_date or entry.booking_date
    candidates = Payment.objects.select_for_update().filter(
        bank_account=account, amount_minor=amount_minor, currency=entry.currency
    )
    if day is not None:
        candidates = candidates.filter(value_date__lte=day)
    candidates = candidates.exclude(status=Payment.Status.RETURNED)
    end_to_end = (entry.end_to_end_id or "").strip()
    iban = (entry.counterparty_iban or "").replace(" ", "").upper()
    if end_to_end.upper() not in _NO_REFERENCE:
        candidates = candidates.filter(end_to_end_id=end_to_end)
    elif iban:
        candidates = candidates.filter(payer_iban=iban)
    else:
        return None
    return candidates.order_by("-value_date", "-position", "-pk").first()


def payment_return(
    *,
    payment: Payment,
    reason: str,
    day: date,
    bank_reference: str,
    entity: LegalEntity,
    actor: User | None,
    now: datetime,
) -> ReturnOutcome:
    """Reverse what the payment settled, post the cash back out (Dr unapplied cash / Cr bank) and mark it
    returned. The caller holds the transaction and the payment's row lock."""
    reopened: list[int] = []
    why = f"payment {payment} returned ({reason})"
    for application in Application.objects.filter(payment=payment, state=Application.State.APPLIED).order_by(
        "pk"
    ):
        for allocation_id in application.allocation_ids:
            receivables_services.allocation_reverse(
                allocation_id=allocation_id, posting_date=day, reason=why, actor=actor, now=now
            )
        if application.document_id is not None:
            reopened.append(application.document_id)
        application.state = Application.State.REVERSED
        application.reversed_at = now
        application.save(update_fields=["state", "reversed_at"])
    bank_ledger_id = EntityBankAccount.objects.values_list("ledger_account_id", flat=True).get(
        pk=payment.bank_account_id
    )
    ledger_services.journal_entries_post_bulk(
        entity=entity,
        entries=[
            EntryIn(
                posting_date=max(day, payment.booking_date),
                description=f"Return {bank_reference or payment} {reason}"[:200],
                source_type="payment",
                source_id=payment.pk,
                idempotency_key=f"payment-return:{payment.pk}",
                lines=[
                    PostingLine(
                        account_id=ledger_selectors.account_id_for(
                            entity=entity, type=AccountType.UNAPPLIED_CASH
                        ),
                        currency=payment.currency,
                        debit_minor=payment.amount_minor,
                        customer_id=payment.customer_id,
                    ),
                    PostingLine(
                        account_id=bank_ledger_id,
                        currency=payment.currency,
                        credit_minor=payment.amount_minor,
                    ),
                ],
            )
        ],
        now=now,
        created_by_id=actor_id(actor),
    )
    before = payment.status
    payment.status = Payment.Status.RETURNED
    payment.unapplied_minor = 0
    payment.returned_on = day
    payment.return_reason = reason[:140]
    payment.return_reference = bank_reference[:140]
    payment.save(
        update_fields=["status", "unapplied_minor", "returned_on", "return_reason", "return_reference"]
    )
    amount = format_with_currency(payment.amount_minor, payment.currency)
    audit_services.record(
        actor=actor,
        action="cash.payment.returned",
        object_type="payment",
        object_id=payment.pk,
        object_label=str(payment)[:200],
        entity_id=entity.pk,
        changes={"status": (before, Payment.Status.RETURNED.value), "amount": (None, amount)},
        reason=why,
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
    )
    return ReturnOutcome(payment=payment, reopened_document_ids=sorted(set(reopened)))
