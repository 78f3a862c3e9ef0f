"""SEPA payment files the legal entity hands to its bank: refunds of unapplied cash as credit transfers
(pain.001) and collections of open invoices under direct-debit mandates (pain.008).

The files are built with sepaxml, given message and payment-information ids and a creation time from
`now` (never the machine's clock), and checked against the official XSD that sepaxml bundles before they
are returned: a file that does not validate writes nothing. Only EUR is SEPA.

- `refund_file_create`: one credit transfer per payment with unapplied cash on a customer's account, to
  the payer's IBAN (the payment's, else the customer's bank account on file); posts Dr unapplied cash
  (customer) / Cr bank per refund and leaves the payment with nothing unapplied (`Refund` rows).
- `collection_file_create`: one direct debit per open invoice due by a date of a customer with an active
  mandate; FRST on a mandate's first collection, then RCUR (the mandate advances when the file is
  created). Nothing is posted: the cash arrives in a later statement and the matcher applies it by the
  invoice number, the end-to-end id of the collection (`DirectDebit` rows; an invoice is collected once).
- `mandate_create`: a customer's mandate, its reference unique per creditor (the legal entity, whose
  SEPA creditor identifier is `LegalEntity.sepa_creditor_id`, set in the admin).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sepaxml
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count
from lxml import etree
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from o2c.audit import services as audit_services
from o2c.cash.models import Application, DirectDebit, Payment, Refund
from o2c.core.actors import actor_id
from o2c.core.exceptions import DomainError
from o2c.core.money import format_minor, format_with_currency
from o2c.customers.models import BankAccount, Customer, Mandate
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import AccountType, EntityBankAccount, LegalEntity, is_creditor_id
from o2c.ledger.rules import LineIn as PostingLine
from o2c.ledger.services import EntryIn
from o2c.receivables import selectors as receivables_selectors
from o2c.receivables.models import Document, DocumentType

SEPA_CURRENCY = "EUR"
REFUND_SCHEMES = ("pain.001.001.03", "pain.001.001.09")
COLLECTION_SCHEMES = ("pain.008.001.02", "pain.008.001.08")
REFUNDABLE = (Payment.Status.ON_ACCOUNT, Payment.Status.PARTIALLY_APPLIED, Payment.Status.APPLIED)
# the EPC's Latin character set for references (end-to-end ids, mandate references, message ids)
_SEPA_REFERENCE = re.compile(r"[A-Za-z0-9+?/:().,' -]{1,35}")


class UnableToCreateSepaFile(DomainError):
    """A refund or collection file that cannot be made: nothing to pay or collect, a payment without an
    IBAN or in another currency than EUR, a missing creditor identifier or own account."""


class UnableToSaveMandate(DomainError):
    """A direct-debit mandate with a bad IBAN, BIC or reference, or a reference the creditor uses already."""


@dataclass(frozen=True)
class SepaFile:
    """A payment file ready for the bank: its XML (validated), what it holds, and what was left out."""

    scheme: str
    message_id: str
    xml: bytes
    transactions: int
    currency: str
    total_minor: int
    skipped: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme,
            "message_id": self.message_id,
            "transactions": self.transactions,
            "currency": self.currency,
            "total": format_minor(self.total_minor, self.currency),
            "skipped": self.skipped,
        }


# --- mandates -------------------------------------------------------------------------------------


@transaction.atomic
def mandate_create(
    *,
    customer_id: int,
    reference: str,
    iban: str,
    signature_date: date,
    actor: User | None,
    now: datetime,
    bic: str = "",
    holder: str = "",
    sequence_type: str = Mandate.SequenceType.FIRST,
) -> Mandate:
    """A customer's SEPA Core mandate to the customer's legal entity. A new mandate starts at FRST (or
    OOFF for a single collection); the customer's bank account with that IBAN is linked when on file."""
    customer = Customer.objects.get(pk=customer_id)
    reference = reference.strip()
    if not _SEPA_REFERENCE.fullmatch(reference) or reference.startswith("/") or "//" in reference:
        raise UnableToSaveMandate(
            f"mandate reference '{reference}' must be 1-35 letters, digits or + ? / : ( ) . , ' - and spaces",
            code="bad_reference",
        )
    if sequence_type not in (Mandate.SequenceType.FIRST, Mandate.SequenceType.ONE_OFF):
        raise UnableToSaveMandate(
            f"mandate {reference}: a new mandate starts at FRST or OOFF, not {sequence_type}",
            code="bad_sequence_type",
        )
    compact_iban = _iban(iban, what=f"mandate {reference}", error=UnableToSaveMandate)
    compact_bic = _bic(bic, what=f"mandate {reference}", error=UnableToSaveMandate)
    if Mandate.objects.filter(entity_id=customer.entity_id, reference=reference).exists():
        raise UnableToSaveMandate(
            f"mandate reference {reference} is used already by this creditor", code="duplicate_reference"
        )
    try:
        with transaction.atomic():
            mandate = Mandate.objects.create(
                entity_id=customer.entity_id,
                customer=customer,
                bank_account=BankAccount.objects.filter(customer=customer, iban=compact_iban).first(),
                reference=reference,
                iban=compact_iban,
                bic=compact_bic,
                holder=holder.strip()[:70],
                signature_date=signature_date,
                sequence_type=sequence_type,
                created_at=now,
            )
    except IntegrityError:
        raise UnableToSaveMandate(
            f"mandate reference {reference} is used already by this creditor", code="duplicate_reference"
        ) from None
    audit_services.record(
        actor=actor,
        action="cash.mandate.created",
        object_type="customer",
        object_id=customer.pk,
        object_label=str(customer)[:200],
        entity_id=customer.entity_id,
        changes={
            "mandate": (None, reference),
            "iban": (None, compact_iban),
            "signature_date": (None, signature_date.isoformat()),
            "sequence_type": (None, str(sequence_type)),
        },
        now=now,
    )
    return mandate


# --- refunds --------------------------------------------------------------------------------------


def payment_ids_for_references(*, entity: LegalEntity, references: Sequence[str]) -> list[int]:
    """The payments named by their bank references (`entry_reference`), else by their ids."""
    ids: list[int] = []
    for reference in references:
        found = list(
            Payment.objects.filter(entity=entity, entry_reference=reference).values_list("pk", flat=True)[:2]
        )
        if not found and reference.isdigit():
            found = list(
                Payment.objects.filter(entity=entity, pk=int(reference)).values_list("pk", flat=True)
            )
        if not found:
            raise UnableToCreateSepaFile(f"payment {reference}: no such payment", code="unknown_payment")
        if len(found) > 1:
            raise UnableToCreateSepaFile(
                f"payment {reference}: several payments have this reference; name it by its id",
                code="ambiguous_payment",
            )
        ids.append(found[0])
    return ids


@dataclass(frozen=True)
class _Payee:
    customer_id: int
    name: str
    iban: str
    bic: str


@transaction.atomic
def refund_file_create(
    *,
    entity: LegalEntity,
    payment_ids: Sequence[int] | None,
    execution_date: date | None,
    actor: User | None,
    now: datetime,
    scheme: str = REFUND_SCHEMES[0],
    bank_account_iban: str = "",
) -> SepaFile:
    """Pay back the unapplied cash of the payments (all refundable ones with `None`) in one pain.001 file.

    Refundable: on a customer's account (on account, or applied with cash left over), EUR, with the
    payer's IBAN known (the payment's, else the customer's bank account). Named payments that are not
    refundable refuse the whole file; with `None` they are left out and listed in `skipped`. Each refund
    posts Dr unapplied cash (customer) / Cr bank on the execution date (not before the payment's booking
    date); the payment keeps nothing unapplied and its open suggestions are rejected."""
    _ensure_scheme(scheme, REFUND_SCHEMES)
    today = _business_date(entity, now)
    execution_date = execution_date or today
    if execution_date < today:
        raise UnableToCreateSepaFile(
            f"execution date {execution_date.isoformat()} is in the past (today is {today.isoformat()})",
            code="bad_execution_date",
        )
    own = _own_account(entity, bank_account_iban, bic_required=False)
    payments = Payment.objects.select_for_update(of=("self",)).filter(entity=entity)
    if payment_ids is not None:
        if not payment_ids:
            raise UnableToCreateSepaFile("no payments named", code="nothing_to_refund")
        payments = payments.filter(pk__in=list(payment_ids))
    else:
        payments = payments.filter(customer__isnull=False, unapplied_minor__gt=0, status__in=REFUNDABLE)
    locked = list(payments.select_related("customer").order_by("pk"))
    if payment_ids is not None:
        missing = sorted(set(payment_ids) - {p.pk for p in locked})
        if missing:
            raise UnableToCreateSepaFile(f"payment {missing[0]}: no such payment", code="unknown_payment")
    refunds: list[tuple[Payment, _Payee]] = []
    skipped: list[str] = []
    for payment in locked:
        try:
            refunds.append((payment, _refundable(payment)))
        except UnableToCreateSepaFile as refusal:
            if payment_ids is not None:
                raise
            skipped.append(refusal.message)
    if not refunds:
        raise UnableToCreateSepaFile(
            "no payment has unapplied cash to refund" + (f" ({skipped[0]})" if skipped else ""),
            code="nothing_to_refund",
        )
    numbers = _refund_numbers([payment.pk for payment, _ in refunds])
    rows = Refund.objects.bulk_create(
        [
            Refund(
                entity=entity,
                payment=payment,
                customer_id=payee.customer_id,
                bank_account=own,
                currency=payment.currency,
                amount_minor=payment.unapplied_minor,
                end_to_end_id=f"RFD-{payment.pk}-{numbers[payment.pk]}",
                message_id="",
                scheme=scheme,
                execution_date=execution_date,
                payee_name=payee.name[:70],
                payee_iban=payee.iban,
                payee_bic=payee.bic,
                created_at=now,
                created_by_id=actor_id(actor),
            )
            for payment, payee in refunds
        ]
    )
    message_id = _message_id(entity, "RFD", min(row.pk for row in rows))
    Refund.objects.filter(pk__in=[row.pk for row in rows]).update(message_id=message_id)
    transfer = sepaxml.SepaTransfer(
        {
            "name": entity.name,
            "IBAN": own.iban,
            **({"BIC": own.bic} if own.bic else {}),
            "batch": True,
            "currency": SEPA_CURRENCY,
        },
        schema=scheme,
    )
    for row, (payment, _) in zip(rows, refunds, strict=True):
        transfer.add_payment(
            {
                "name": row.payee_name,
                "IBAN": row.payee_iban,
                **({"BIC": row.payee_bic} if row.payee_bic else {}),
                "amount": row.amount_minor,
                "execution_date": execution_date,
                "description": f"Refund {payment.entry_reference or payment.pk}",
                "endtoend_id": row.end_to_end_id,
            }
        )
    xml = _finish(
        transfer.export(validate=False), scheme=scheme, message_id=message_id, entity=entity, now=now
    )
    _post_refunds(entity, rows, refunds, own, actor=actor, now=now)
    for payment, _ in refunds:
        payment.unapplied_minor = 0
        payment.status = Payment.Status.APPLIED
    Payment.objects.bulk_update([payment for payment, _ in refunds], ["unapplied_minor", "status"])
    Application.objects.filter(
        payment_id__in=[payment.pk for payment, _ in refunds], state=Application.State.SUGGESTED
    ).update(state=Application.State.REJECTED)
    total = sum(row.amount_minor for row in rows)
    audit_services.record(
        actor=actor,
        action="cash.refund_file.created",
        object_type="payment_file",
        object_id=None,
        object_label=message_id,
        entity_id=entity.pk,
        changes={
            "scheme": (None, scheme),
            "refunds": (None, len(rows)),
            "amount": (None, format_with_currency(total, SEPA_CURRENCY)),
            "execution_date": (None, execution_date.isoformat()),
            "payments": (
                None,
                ", ".join(str(payment.entry_reference or payment.pk) for payment, _ in refunds),
            ),
        },
        reason=f"refunds of unapplied cash from {own.iban}",
        now=now,
    )
    return SepaFile(
        scheme=scheme,
        message_id=message_id,
        xml=xml,
        transactions=len(rows),
        currency=SEPA_CURRENCY,
        total_minor=total,
        skipped=skipped,
    )


def _refundable(payment: Payment) -> _Payee:
    """Whom the payment's unapplied cash goes back to; refuses what cannot be refunded by SEPA."""
    name = f"payment {payment.entry_reference or payment.pk}"
    if payment.customer_id is None or payment.status not in REFUNDABLE:
        raise UnableToCreateSepaFile(
            f"{name}: its cash is not on a customer's account ({payment.status}); "
            "apply it or put it on account first",
            code="not_on_account",
        )
    if payment.unapplied_minor <= 0:
        raise UnableToCreateSepaFile(f"{name}: nothing unapplied to refund", code="nothing_unapplied")
    if payment.currency != SEPA_CURRENCY:
        raise UnableToCreateSepaFile(
            f"{name}: {payment.currency} cannot be refunded by SEPA credit transfer (EUR only)",
            code="not_sepa_currency",
        )
    account = BankAccount.objects.filter(customer_id=payment.customer_id).order_by("pk").first()
    iban = payment.payer_iban or (account.iban if account is not None else "")
    if not iban:
        raise UnableToCreateSepaFile(
            f"{name}: no IBAN to refund to (none in the payment, none on file for the customer)",
            code="no_iban",
        )
    compact = _iban(iban, what=name, error=UnableToCreateSepaFile)
    on_file = BankAccount.objects.filter(customer_id=payment.customer_id, iban=compact).first()
    customer: Customer | None = payment.customer
    payee = (
        payment.payer_name
        or (on_file.holder if on_file is not None else "")
        or (customer.name if customer is not None else "")
    )
    return _Payee(
        customer_id=payment.customer_id,
        name=payee,
        iban=compact,
        bic=on_file.bic if on_file is not None else "",
    )


def _refund_numbers(payment_ids: list[int]) -> dict[int, int]:
    """The number of each payment's next refund (1 for its first)."""
    counts = dict(
        Refund.objects.filter(payment_id__in=payment_ids)
        .values("payment_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("payment_id", "n")
    )
    return {pk: counts.get(pk, 0) + 1 for pk in payment_ids}


def _post_refunds(
    entity: LegalEntity,
    rows: list[Refund],
    refunds: list[tuple[Payment, _Payee]],
    own: EntityBankAccount,
    *,
    actor: User | None,
    now: datetime,
) -> None:
    unapplied_id = ledger_selectors.account_id_for(entity=entity, type=AccountType.UNAPPLIED_CASH)
    ledger_services.journal_entries_post_bulk(
        entity=entity,
        entries=[
            EntryIn(
                posting_date=max(row.execution_date, payment.booking_date),
                description=f"Refund {row.end_to_end_id} {payment.entry_reference or payment.pk}"[:200],
                source_type="refund",
                source_id=row.pk,
                idempotency_key=f"refund:{row.pk}",
                lines=[
                    PostingLine(
                        account_id=unapplied_id,
                        currency=row.currency,
                        debit_minor=row.amount_minor,
                        customer_id=payment.customer_id,
                    ),
                    PostingLine(
                        account_id=own.ledger_account_id, currency=row.currency, credit_minor=row.amount_minor
                    ),
                ],
            )
            for row, (payment, _) in zip(rows, refunds, strict=True)
        ],
        now=now,
        created_by_id=actor_id(actor),
    )


# --- collections ----------------------------------------------------------------------------------


@transaction.atomic
def collection_file_create(
    *,
    entity: LegalEntity,
    due_until: date,
    collection_date: date | None,
    actor: User | None,
    now: datetime,
    scheme: str = COLLECTION_SCHEMES[0],
    bank_account_iban: str = "",
) -> SepaFile:
    """Collect the open EUR invoices and debit memos due on or before `due_until` of customers with an
    active mandate, in one pain.008 file (SEPA Core) due on `collection_date` (by default the next
    weekday after today). Disputed items and items collected before are left out; an OOFF or FNAL
    mandate collects one item (the earliest due) and is then inactive. Each mandate's sequence type
    goes in the file as it stands and then advances (FRST to RCUR)."""
    _ensure_scheme(scheme, COLLECTION_SCHEMES)
    today = _business_date(entity, now)
    collection_date = collection_date or _next_weekday(today)
    if collection_date <= today:
        raise UnableToCreateSepaFile(
            f"collection date {collection_date.isoformat()} must be after today ({today.isoformat()})",
            code="bad_collection_date",
        )
    creditor_id = "".join(entity.sepa_creditor_id.split()).upper()
    if not creditor_id:
        raise UnableToCreateSepaFile(
            f"legal entity {entity.code} has no SEPA creditor identifier (set it in the admin)",
            code="no_creditor_id",
        )
    if not is_creditor_id(creditor_id):
        raise UnableToCreateSepaFile(
            f"legal entity {entity.code}: '{creditor_id}' is not a valid SEPA creditor identifier",
            code="bad_creditor_id",
        )
    own = _own_account(entity, bank_account_iban, bic_required=scheme == "pain.008.001.02")
    customer_ids = {document.customer_id for document in _collectable(entity, due_until)}
    latest: dict[int, Mandate] = {}  # each customer's latest signed active mandate
    for mandate in sorted(
        Mandate.objects.select_for_update()
        .filter(entity=entity, is_active=True, customer_id__in=customer_ids)
        .order_by("pk"),
        key=lambda m: (m.signature_date, m.pk),
    ):
        latest[mandate.customer_id] = mandate
    candidates = _collectable(entity, due_until)  # again, under the mandates' locks
    skipped: list[str] = []
    chosen: list[tuple[Document, Mandate]] = []
    used_once: set[int] = set()
    for document in candidates:
        found = latest.get(document.customer_id)
        if found is None:
            continue
        mandate = found
        number = document.number or ""
        if not _SEPA_REFERENCE.fullmatch(number):
            skipped.append(f"{number or document.pk}: the number cannot be an end-to-end id")
            continue
        once = mandate.sequence_type in (Mandate.SequenceType.ONE_OFF, Mandate.SequenceType.FINAL)
        if once and mandate.pk in used_once:
            skipped.append(f"{number}: mandate {mandate.reference} ({mandate.sequence_type}) collects once")
            continue
        used_once.add(mandate.pk)
        chosen.append((document, mandate))
    if not chosen:
        raise UnableToCreateSepaFile(
            f"nothing to collect: no open EUR invoice due by {due_until.isoformat()} "
            "of a customer with an active mandate",
            code="nothing_to_collect",
        )
    rows = DirectDebit.objects.bulk_create(
        [
            DirectDebit(
                entity=entity,
                document=document,
                mandate=mandate,
                currency=document.currency,
                amount_minor=document.open_minor,
                end_to_end_id=document.number or "",
                sequence_type=mandate.sequence_type,
                message_id="",
                scheme=scheme,
                collection_date=collection_date,
                created_at=now,
                created_by_id=actor_id(actor),
            )
            for document, mandate in chosen
        ]
    )
    message_id = _message_id(entity, "DD", min(row.pk for row in rows))
    DirectDebit.objects.filter(pk__in=[row.pk for row in rows]).update(message_id=message_id)
    debit = sepaxml.SepaDD(
        {
            "name": entity.name,
            "IBAN": own.iban,
            **({"BIC": own.bic} if own.bic else {}),
            "batch": True,
            "creditor_id": creditor_id,
            "currency": SEPA_CURRENCY,
            "instrument": "CORE",
        },
        schema=scheme,
    )
    for row, (document, mandate) in zip(rows, chosen, strict=True):
        customer: Customer = document.customer
        debit.add_payment(
            {
                "name": mandate.holder or customer.name,
                "IBAN": mandate.iban,
                **({"BIC": mandate.bic} if mandate.bic else {}),
                "amount": row.amount_minor,
                "type": row.sequence_type,
                "collection_date": collection_date,
                "mandate_id": mandate.reference,
                "mandate_date": mandate.signature_date,
                "description": row.end_to_end_id,
                "endtoend_id": row.end_to_end_id,
            }
        )
    xml = _finish(debit.export(validate=False), scheme=scheme, message_id=message_id, entity=entity, now=now)
    advanced = _advance(list({mandate.pk: mandate for _, mandate in chosen}.values()), collection_date)
    total = sum(row.amount_minor for row in rows)
    audit_services.record(
        actor=actor,
        action="cash.collection_file.created",
        object_type="payment_file",
        object_id=None,
        object_label=message_id,
        entity_id=entity.pk,
        changes={
            "scheme": (None, scheme),
            "collections": (None, len(rows)),
            "amount": (None, format_with_currency(total, SEPA_CURRENCY)),
            "collection_date": (None, collection_date.isoformat()),
            "mandates": (
                None,
                ", ".join(f"{reference} {before}->{after}" for reference, before, after in advanced),
            ),
        },
        reason=f"direct debits due by {due_until.isoformat()} to {own.iban}",
        now=now,
    )
    return SepaFile(
        scheme=scheme,
        message_id=message_id,
        xml=xml,
        transactions=len(rows),
        currency=SEPA_CURRENCY,
        total_minor=total,
        skipped=skipped,
    )


def _collectable(entity: LegalEntity, due_until: date) -> list[Document]:
    """Open EUR invoices and debit memos due by `due_until`, not disputed, never collected; the earliest
    due first."""
    collected = DirectDebit.objects.filter(entity=entity).values("document_id")
    return list(
        receivables_selectors.document_list(entity_ids=[entity.pk], open_only=True)
        .filter(
            document_type__in=(DocumentType.INVOICE, DocumentType.DEBIT_MEMO),
            currency=SEPA_CURRENCY,
            open_minor__gt=0,
            due_date__lte=due_until,
            is_disputed=False,
        )
        .exclude(pk__in=collected)
        .order_by("customer_id", "due_date", "pk")
    )


def _advance(mandates: list[Mandate], collection_date: date) -> list[tuple[str, str, str]]:
    """FRST becomes RCUR; an OOFF or FNAL mandate has been used up. Returns (reference, before, after)."""
    changes = []
    for mandate in sorted(mandates, key=lambda m: m.pk):
        before = mandate.sequence_type
        if before == Mandate.SequenceType.FIRST:
            mandate.sequence_type = Mandate.SequenceType.RECURRING
        elif before in (Mandate.SequenceType.ONE_OFF, Mandate.SequenceType.FINAL):
            mandate.is_active = False
        mandate.last_collection_date = collection_date
        after = mandate.sequence_type if mandate.is_active else "inactive"
        changes.append((mandate.reference, str(before), str(after)))
    Mandate.objects.bulk_update(mandates, ["sequence_type", "is_active", "last_collection_date"])
    return changes


# --- shared ---------------------------------------------------------------------------------------


def _ensure_scheme(scheme: str, schemes: tuple[str, ...]) -> None:
    if scheme not in schemes:
        raise UnableToCreateSepaFile(
            f"scheme {scheme} is not one of {', '.join(schemes)}", code="unsupported_scheme"
        )


def _business_date(entity: LegalEntity, now: datetime) -> date:
    return now.astimezone(ZoneInfo(entity.time_zone)).date()


def _next_weekday(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _own_account(entity: LegalEntity, iban: str, *, bic_required: bool) -> EntityBankAccount:
    """The entity's EUR account with an IBAN that pays or collects: the one named, else the first."""
    accounts = EntityBankAccount.objects.filter(entity=entity, currency=SEPA_CURRENCY).exclude(iban="")
    compact = "".join(iban.split()).upper()
    if compact:
        accounts = accounts.filter(iban=compact)
    account = accounts.order_by("pk").first()
    if account is None:
        which = f"EUR bank account {compact}" if compact else "EUR bank account with an IBAN"
        raise UnableToCreateSepaFile(f"legal entity {entity.code} has no {which}", code="no_bank_account")
    if bic_required and not account.bic:
        raise UnableToCreateSepaFile(
            f"bank account {account.iban} has no BIC, which pain.008.001.02 needs (set it in the admin, "
            "or use pain.008.001.08)",
            code="no_bic",
        )
    return account


def _iban(value: str, *, what: str, error: type[DomainError]) -> str:
    try:
        return str(IBAN(value).compact)
    except SchwiftyException as problem:
        raise error(f"{what}: '{value}' is not a valid IBAN ({problem})", code="bad_iban") from None


def _bic(value: str, *, what: str, error: type[DomainError]) -> str:
    if not value.strip():
        return ""
    try:
        return str(BIC(value).compact)
    except SchwiftyException as problem:
        raise error(f"{what}: '{value}' is not a valid BIC ({problem})", code="bad_bic") from None


def _message_id(entity: LegalEntity, kind: str, first_row: int) -> str:
    """Unique per file: the entity's code, the kind of file and the id of its first row."""
    code = re.sub(r"[^A-Za-z0-9]", "", entity.code)[:12] or str(entity.pk)
    return f"{code}-{kind}-{first_row:010d}"


_NO_ENTITIES = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _finish(data: bytes, *, scheme: str, message_id: str, entity: LegalEntity, now: datetime) -> bytes:
    """sepaxml's document with O2C's message id, creation time (from `now`, in the entity's time zone)
    and payment-information ids, validated against the scheme's XSD; refused when it does not validate."""
    root = etree.fromstring(data, parser=_NO_ENTITIES)
    namespace = {"p": f"urn:iso:std:iso:20022:tech:xsd:{scheme}"}
    created = now.astimezone(ZoneInfo(entity.time_zone)).replace(microsecond=0, tzinfo=None).isoformat()
    for path, text in (
        ("./*/p:GrpHdr/p:MsgId", message_id),
        ("./*/p:GrpHdr/p:CreDtTm", created),
    ):
        for node in root.findall(path, namespaces=namespace):
            node.text = text
    for number, node in enumerate(root.findall("./*/p:PmtInf/p:PmtInfId", namespaces=namespace), start=1):
        node.text = f"{message_id}-{number}"
    # an agent without a BIC (IBAN only) is NOTPROVIDED, as the EPC guidelines ask, not an empty element
    for node in root.iter(f"{{{namespace['p']}}}FinInstnId"):
        if len(node) == 0:
            other = etree.SubElement(node, f"{{{namespace['p']}}}Othr")
            etree.SubElement(other, f"{{{namespace['p']}}}Id").text = "NOTPROVIDED"
    xml = b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(
        root, xml_declaration=False, encoding="UTF-8", pretty_print=True
    )
    errors = xsd_errors(xml, scheme=scheme)
    if errors:
        raise UnableToCreateSepaFile(
            f"the {scheme} file does not validate against its XSD: {errors[0]}", code="invalid_file"
        )
    return xml


@lru_cache(maxsize=8)
def _schema(scheme: str) -> Any:
    import xmlschema  # heavy: imported when a file is made, as sepaxml itself does

    return xmlschema.XMLSchema(str(Path(sepaxml.__file__).parent / "schemas" / f"{scheme}.xsd"))


def xsd_errors(xml: bytes, *, scheme: str) -> list[str]:
    """The XSD's complaints about a pain document (the official ISO 20022 schema sepaxml bundles)."""
    return [
        str(error.reason or error.message).splitlines()[0]
        for error in _schema(scheme).iter_errors(xml.decode())
    ]
