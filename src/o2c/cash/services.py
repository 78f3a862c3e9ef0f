"""Use cases of cash application: importing bank files, matching and posting what they pay.

`bank_file_import` is one transaction: the file's statements become payments (each entry once per
account, however often it is imported), each receipt posts bank against unapplied cash, the matcher
decides in statement order, and what it is sure of is applied (allocations through receivables' bulk
path, discounts and write-offs beside them); the rest waits for a person as suggestions. Either all of
it is written or nothing is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Exists, OuterRef

from o2c.audit import services as audit_services
from o2c.audit.models import AuditEvent
from o2c.bankfiles.statement import Entry, Statement, balance_difference, booked_total
from o2c.cash import advices, conversions, csvmappings, matcher, matching, returns, rules
from o2c.cash.errors import UnableToImportBankFile
from o2c.cash.matcher import Conversion, Decision, PaymentIn, Policy, Remitted
from o2c.cash.models import (
    Application,
    BankFile,
    BankStatement,
    CustomerKey,
    DocumentKey,
    MatchingPolicy,
    Payment,
    RemittanceAdvice,
)
from o2c.cash.rules import DEDUCTION_TAKEN, PAYMENT_APPLIED
from o2c.core import events
from o2c.core.actors import actor_id
from o2c.core.db import insert_new_rows, insert_objects, insert_rows, update_rows
from o2c.core.keychecks import KeyChecks
from o2c.core.memory import cycle_collection_paused
from o2c.core.models import DomainEvent
from o2c.core.money import format_minor, to_minor
from o2c.customers import selectors as customer_selectors
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.chart import CARD_FEES, PAYMENTS_IN_TRANSIT
from o2c.ledger.models import AccountType, EntityBankAccount, JournalEntry, JournalLine, LegalEntity
from o2c.ledger.rules import LineIn as PostingLine
from o2c.ledger.services import EntryIn
from o2c.receivables import bulk as receivables_bulk
from o2c.receivables import selectors as receivables_selectors
from o2c.receivables.bulk import AllocationIn
from o2c.receivables.models import Allocation
from o2c.receivables.services import DOCUMENTS_ISSUED

BATCH = 2_000
Progress = Callable[[int], None]


@dataclass(slots=True)
class ImportResult:
    file_name: str
    file_format: str
    already_imported: bool = False
    statements: int = 0
    entries: int = 0
    payments: int = 0
    duplicates: int = 0
    ignored: int = 0
    applied: int = 0
    partially_applied: int = 0
    on_account: int = 0
    suggested: int = 0
    unidentified: int = 0
    returned: int = 0
    amount_minor: dict[str, int] = field(default_factory=dict)
    applied_minor: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file_name,
            "format": self.file_format,
            "already_imported": self.already_imported,
            "statements": self.statements,
            "entries": self.entries,
            "payments": self.payments,
            "duplicates": self.duplicates,
            "ignored": self.ignored,
            "applied": self.applied,
            "partially_applied": self.partially_applied,
            "on_account": self.on_account,
            "suggested": self.suggested,
            "unidentified": self.unidentified,
            "returned": self.returned,
            "amounts": {ccy: format_minor(minor, ccy) for ccy, minor in sorted(self.amount_minor.items())},
            "applied_amounts": {
                ccy: format_minor(minor, ccy) for ccy, minor in sorted(self.applied_minor.items())
            },
            "warnings": self.warnings,
        }


def policy_for(entity: LegalEntity) -> Policy:
    stored = MatchingPolicy.objects.filter(entity=entity).first()
    if stored is None:
        return Policy()
    return Policy(
        auto_apply=stored.auto_apply_confidence,
        write_off_tolerance_minor=stored.write_off_tolerance_minor,
        tolerance_currency=stored.currency,
        discount_grace_days=stored.discount_grace_days,
        fx_tolerance_percent=stored.fx_tolerance_percent,
    )


# --- the matcher's indexes -------------------------------------------------------------------------


def index_refresh(*, entity_id: int, full: bool = False) -> tuple[int, int]:
    """Index the numbers of documents issued since the last refresh, and customers whose name changed
    since. Returns (documents, customers) indexed.

    Issued documents arrive as `DOCUMENTS_ISSUED` events, indexed right after their commit; what a stopped
    process left unindexed is caught up here from the unprocessed events. `full` searches every open
    document for a missing index instead (after a migration import, which loads them in bulk).
    """
    if full:
        missing = receivables_selectors.numbered_open_items_without(
            entity_id=entity_id, indexed=DocumentKey.objects.filter(entity_id=entity_id).values("document_id")
        )
        documents = _index_documents(
            entity_id, missing.values_list("pk", "number").iterator(chunk_size=20_000)
        )
    else:
        pending = events.unprocessed(DOCUMENTS_ISSUED)
        ours = [(pk, payload) for pk, payload in pending if payload.get("entity_id") == entity_id]
        documents = _index_issued(entity_id, [i for _, payload in ours for i in payload["document_ids"]])
        events.mark_processed(pk for pk, _ in ours)
    indexed = dict(
        CustomerKey.objects.filter(entity_id=entity_id, kind=CustomerKey.Kind.NUMBER).values_list(
            "customer_id", "indexed_name"
        )
    )
    stale = []
    customer_rows = []
    for pk, number, name in (
        customer_selectors.customers_named_since(entity_id=entity_id)
        .values_list("pk", "number", "name")
        .iterator(chunk_size=20_000)
    ):
        if indexed.get(pk) == name:
            continue
        if pk in indexed:
            stale.append(pk)
        customer_rows += [
            (entity_id, CustomerKey.Kind.NUMBER, key, pk, name)
            for key in matching.document_reference_keys(number)
        ] or [(entity_id, CustomerKey.Kind.NUMBER, number.upper()[:80], pk, name)]
        customer_rows += [
            (entity_id, CustomerKey.Kind.NAME_TOKEN, token[:80], pk, name)
            for token in sorted(set(matching.normalize_name(name).split()))
            if len(token) >= 3
        ]
    if stale:
        CustomerKey.objects.filter(customer_id__in=stale).delete()
    insert_rows(CustomerKey, ("entity_id", "kind", "key", "customer", "indexed_name"), customer_rows)
    return documents, len({row[3] for row in customer_rows})


def _index_documents(entity_id: int, numbered: Iterable[tuple[int, str | None]]) -> int:
    rows = []
    documents = 0
    for pk, number in numbered:
        documents += 1
        rows += [(entity_id, key, pk) for key in _document_keys(number or "")]
    insert_rows(DocumentKey, ("entity_id", "key", "document"), rows)
    return documents


def _index_issued(entity_id: int, document_ids: list[int]) -> int:
    """Index these issued documents, those not indexed yet (an event may be handled twice)."""
    indexed: set[int] = set()
    for offset in range(0, len(document_ids), 50_000):
        indexed.update(
            DocumentKey.objects.filter(
                entity_id=entity_id, document_id__any=document_ids[offset : offset + 50_000]
            ).values_list("document_id", flat=True)
        )
    todo = sorted(set(document_ids) - indexed)
    return _index_documents(
        entity_id, receivables_selectors.numbers_of(entity_id=entity_id, document_ids=todo)
    )


@transaction.atomic
def on_documents_issued(*, entity_id: int, document_ids: list[int]) -> None:
    _index_issued(entity_id, document_ids)


@transaction.atomic
def on_open_items_loaded(*, entity_id: int) -> None:
    """Open items arrived in bulk (a migration import): index their numbers now, not at the next import."""
    index_refresh(entity_id=entity_id, full=True)


def _document_keys(number: str) -> set[str]:
    keys = set(matching.document_reference_keys(number))
    return {key[:60] for key in keys}


# --- import -------------------------------------------------------------------------------------


def _own_account(
    statement: Statement,
    *,
    entity: LegalEntity,
    file_name: str,
    now: datetime,
    actor: User | None,
    warnings: list[str],
) -> EntityBankAccount:
    currency = statement.currency or (statement.entries[0].currency if statement.entries else entity.currency)
    # a file that names no account (a card processor's payouts, a lockbox CSV): one account per format
    # and currency, so the same payment in two files is still the same payment
    number = statement.account_other_id or (
        None if statement.account_iban else f"{statement.message}-{currency}"
    )
    account = ledger_selectors.own_bank_account_find(iban=statement.account_iban, account_number=number)
    if account is not None:
        return account
    label = statement.account_iban or number or file_name
    if settings.O2C_STRICT_BANK_ACCOUNTS:
        raise UnableToImportBankFile(
            f"{file_name}: statement {statement.statement_id}: bank account {label} is not one of "
            f"{entity.code}'s accounts",
            code="unknown_bank_account",
        )
    warnings.append(f"bank account {label} ({currency}) was not known: registered for {entity.code}")
    return ledger_services.own_bank_account_register(
        entity=entity,
        iban=statement.account_iban,
        account_number=number,
        currency=currency,
        name=f"{label}"[:100],
        now=now,
        actor=actor,
        reason=f"first statement imported from {file_name}",
    )


def _payer_account_key(entry: Entry) -> str:
    details = entry.details[0] if len(entry.details) == 1 else None
    if entry.counterparty_iban:
        return entry.counterparty_iban.replace(" ", "").upper()
    if details is not None and details.counterparty_account:
        return details.counterparty_account.replace(" ", "").upper()
    return ""


def _remitted(entry: Entry) -> list[dict[str, Any]]:
    listed = []
    for detail in entry.details:
        for document in detail.remitted:
            listed.append(
                {
                    "number": document.number,
                    "amount": str(document.amount) if document.amount is not None else None,
                    "discount": str(document.discount) if document.discount is not None else None,
                    "deduction": str(document.deduction) if document.deduction is not None else None,
                    "reason": document.reason or "",
                }
            )
    return listed


def _minor_or_none(value: str | None, currency: str) -> int | None:
    return to_minor(Decimal(value), currency) if value is not None else None


def payment_texts(payment: Payment) -> tuple[str, ...]:
    """The payer's texts the matcher reads references in."""
    text = rules.matching_text(payment.remittance)
    texts = [text] if text else []
    texts += [ref for ref in payment.structured_references if ref]
    if rules.has_reference(payment.end_to_end_id):
        texts.append(payment.end_to_end_id)
    return tuple(texts)


def payment_facts(payment: Payment) -> PaymentIn:
    """What the matcher reads of a payment."""
    texts = payment_texts(payment)
    return PaymentIn(
        amount_minor=payment.unapplied_minor,
        currency=payment.currency,
        value_date=payment.value_date,
        payer_name=payment.payer_name,
        payer_account_key=payment.payer_iban or payment.payer_account,
        texts=texts,
        remitted=tuple(
            Remitted(
                number=item["number"],
                amount_minor=_minor_or_none(item.get("amount"), payment.currency),
                discount_minor=_minor_or_none(item.get("discount"), payment.currency),
                deduction_minor=_minor_or_none(item.get("deduction"), payment.currency),
                reason=item.get("reason") or "",
            )
            for item in payment.remitted
        ),
    )


def _new_payments(
    statement: Statement,
    *,
    bank_statement: BankStatement,
    account: EntityBankAccount,
    result: ImportResult,
    actor: User | None,
    now: datetime,
) -> list[Payment]:
    if statement.message == "card_payout":
        return _card_payout_payments(
            statement, bank_statement=bank_statement, account=account, result=result, actor=actor, now=now
        )
    incoming = rules.incoming_entries(statement)
    result.ignored += len(statement.entries) - len(incoming)
    keys = rules.dedupe_keys(incoming)
    known = set(
        Payment.objects.filter(bank_account=account, dedupe_key__any=keys).values_list(
            "dedupe_key", flat=True
        )
    )
    payments = []
    for entry, key in zip(incoming, keys, strict=True):
        if key in known:
            result.duplicates += 1
            continue
        known.add(key)
        value_date = entry.value_date or entry.booking_date
        if value_date is None:
            raise UnableToImportBankFile(
                f"{bank_statement.bank_file.file_name}: entry {entry.position}: no booking or value date",
                code="no_date",
            )
        currency = entry.currency
        amount_minor = to_minor(entry.amount, currency)
        details = entry.details[0] if len(entry.details) == 1 else None
        payments.append(
            Payment(
                entity_id=account.entity_id,
                statement=bank_statement,
                bank_account=account,
                position=entry.position,
                entry_reference=(entry.bank_reference or "")[:140],
                dedupe_key=key[:200],
                method=rules.payment_method(entry, statement.message),
                value_date=value_date,
                booking_date=entry.booking_date or value_date,
                currency=currency,
                amount_minor=amount_minor,
                unapplied_minor=amount_minor,
                payer_name=(entry.counterparty_name or "")[:200],
                payer_iban=(entry.counterparty_iban or "").replace(" ", "").upper()[:34],
                payer_account=((details.counterparty_account if details else None) or "")[:80],
                end_to_end_id=(entry.end_to_end_id or "")[:140],
                remittance=rules.remittance_text(entry),
                structured_references=list(entry.remittance_structured_refs),
                remitted=_remitted(entry),
                created_at=now,
            )
        )
    return payments


def _card_payout_payments(
    statement: Statement,
    *,
    bank_statement: BankStatement,
    account: EntityBankAccount,
    result: ImportResult,
    actor: User | None,
    now: datetime,
) -> list[Payment]:
    """A card processor's payout: each charge is a payment of its gross amount (the customer paid that
    much); the fees it kept go to the fees account and its refunds, disputes and adjustments to payments
    in transit for a person, so the bank account moves by the payout's net. A dispute naming the charge
    of a card payment imported before is that payment returned (returns.card_chargeback: its invoices
    reopen, the dispute fee goes to the fees account in the return's entry), not left in transit."""
    entity = LegalEntity.objects.get(pk=account.entity_id)
    charges = [
        (entry, details)
        for entry in statement.entries
        for details in entry.details
        if details.kind == "payment" and details.amount is not None and details.amount > 0
    ]
    keys = [f"card:{details.bank_reference}" for _, details in charges]
    known = set(
        Payment.objects.filter(bank_account=account, dedupe_key__any=keys).values_list(
            "dedupe_key", flat=True
        )
    )
    payments = []
    for (entry, details), key in zip(charges, keys, strict=True):
        if key in known:
            result.duplicates += 1
            continue
        known.add(key)
        day = entry.value_date or entry.booking_date or now.date()
        amount_minor = to_minor(details.amount or Decimal(0), entry.currency)
        payments.append(
            Payment(
                entity_id=account.entity_id,
                statement=bank_statement,
                bank_account=account,
                position=entry.position,
                entry_reference=(details.bank_reference or "")[:140],
                dedupe_key=key[:200],
                method="card",
                value_date=day,
                booking_date=entry.booking_date or day,
                currency=entry.currency,
                amount_minor=amount_minor,
                unapplied_minor=amount_minor,
                payer_name=(details.counterparty_name or "")[:200],
                end_to_end_id=(details.end_to_end_id or "")[:140],
                remittance=" ".join(details.remittance_unstructured),
                structured_references=list(details.remittance_structured_refs),
                created_at=now,
            )
        )
    handled = _card_chargebacks(
        statement, account=account, entity=entity, result=result, actor=actor, now=now
    )
    bank_ledger_id = account.ledger_account_id
    entries = []
    for entry in statement.entries:
        key = f"card-payout:{account.pk}:{entry.bank_reference}"
        # a chargeback returned its payment, its dispute fee in the return's entry: neither is posted here
        others = [
            details
            for details in entry.details
            if details.kind != "payment" and details.amount and details.bank_reference not in handled
        ]
        if not others or ledger_selectors.entry_id_by_key(idempotency_key=key) is not None:
            continue
        fees = -sum((details.amount or Decimal(0) for details in others if details.kind == "fee"), Decimal(0))
        rest = sum((details.amount or Decimal(0) for details in others if details.kind != "fee"), Decimal(0))
        day = entry.booking_date or entry.value_date or now.date()
        lines = []
        if fees:
            lines.append(
                PostingLine(
                    account_id=ledger_services.account_by_code(entity=entity, code=CARD_FEES),
                    currency=entry.currency,
                    # a fee given back (a won dispute's fee, a negative fee) is a credit
                    debit_minor=max(to_minor(fees, entry.currency), 0),
                    credit_minor=max(to_minor(-fees, entry.currency), 0),
                )
            )
        if rest:
            lines.append(
                PostingLine(
                    account_id=ledger_services.account_by_code(entity=entity, code=PAYMENTS_IN_TRANSIT),
                    currency=entry.currency,
                    debit_minor=max(to_minor(-rest, entry.currency), 0),
                    credit_minor=max(to_minor(rest, entry.currency), 0),
                )
            )
            kinds = sorted({details.kind for details in others if details.kind != "fee"})
            result.warnings.append(
                f"payout {entry.bank_reference}: {', '.join(kinds)} of {rest} {entry.currency} left in "
                "payments in transit for a person"
            )
        moved = fees - rest
        lines.append(
            PostingLine(
                account_id=bank_ledger_id,
                currency=entry.currency,
                debit_minor=max(to_minor(-moved, entry.currency), 0),
                credit_minor=max(to_minor(moved, entry.currency), 0),
            )
        )
        entries.append(
            EntryIn(
                posting_date=day,
                description=f"Card payout {entry.bank_reference}: fees and adjustments"[:200],
                source_type="bank_statement",
                source_id=bank_statement.pk,
                idempotency_key=key,
                lines=lines,
            )
        )
    if entries:
        ledger_services.journal_entries_post_bulk(entity=entity, entries=entries, now=now, created_by_id=None)
    result.ignored += sum(
        1
        for entry in statement.entries
        for details in entry.details
        if details.kind != "payment"
        and not (details.kind == "chargeback" and details.bank_reference in handled)
    )
    return payments


def _card_chargebacks(
    statement: Statement,
    *,
    account: EntityBankAccount,
    entity: LegalEntity,
    result: ImportResult,
    actor: User | None,
    now: datetime,
) -> set[str | None]:
    """Return the card payments the payout's chargebacks name (returns.card_chargeback); the balance
    transactions handled so (returned now, or by an earlier copy of the file), which the payout's fees
    and adjustments entry leaves out. A dispute reversal (the processor gives the money back) naming a
    returned payment stays in transit, with a warning naming the payment for a person to re-apply."""
    handled: set[str | None] = set()
    for entry in statement.entries:
        fees = {
            details.bank_reference: -(details.amount or Decimal(0))
            for details in entry.details
            if details.kind == "fee"
        }
        day = entry.booking_date or entry.value_date or now.date()
        for details in entry.details:
            if details.kind == "chargeback" and details.amount is not None and details.amount < 0:
                outcome = returns.card_chargeback(
                    charge_id=details.end_to_end_id,
                    disputed=-details.amount,
                    fee=fees.get(details.bank_reference, Decimal(0)),
                    dispute_reason=details.dispute_reason,
                    dispute_reference=details.bank_reference or "",
                    currency=entry.currency,
                    day=day,
                    account=account,
                    entity=entity,
                    actor=actor,
                    now=now,
                )
                if outcome.left_for_a_person:
                    result.warnings.append(f"payout {entry.bank_reference}: {outcome.left_for_a_person}")
                if outcome.already_done:
                    handled.add(details.bank_reference)
                if outcome.returned is not None:
                    handled.add(details.bank_reference)
                    result.returned += 1
                    result.warnings += [
                        f"payout {entry.bank_reference}: {warning}" for warning in outcome.returned.warnings
                    ]
            elif details.kind == "chargeback_reversal" and details.end_to_end_id:
                payment = returns.card_payment_of_charge(
                    charge_id=details.end_to_end_id, account=account, currency=entry.currency, day=day
                )
                if payment is not None and payment.status == Payment.Status.RETURNED:
                    result.warnings.append(
                        f"payout {entry.bank_reference}: dispute reversal {details.bank_reference} of "
                        f"{details.amount} {entry.currency} gives back returned card payment {payment} "
                        f"(charge {details.end_to_end_id}): left in payments in transit for a person to "
                        "re-apply"
                    )
    return handled


# the tables an import writes many rows into: their foreign keys are checked once per file (KeyChecks)
IMPORT_TABLES = (
    Payment,
    Application,
    Allocation,
    JournalEntry,
    JournalLine,
    AuditEvent,
    DomainEvent,
    DocumentKey,
)


@transaction.atomic
def bank_file_import(
    *,
    data: bytes,
    file_name: str,
    entity: LegalEntity,
    actor: User | None,
    now: datetime,
    progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
    csv_mapping: str | None = None,
) -> ImportResult:
    """Import, match and apply one bank file (format detected), atomically and idempotently. A bank's
    own CSV export is read through the saved mapping `csv_mapping` names, else the one whose columns its
    header has, and booked on that mapping's bank account (o2c.cash.csvmappings)."""
    # a file brings tens of thousands of payments, facts, keys and rows, none of them in cycles
    with cycle_collection_paused(), KeyChecks(connection, IMPORT_TABLES):
        return _bank_file_import(
            data=data,
            file_name=file_name,
            entity=entity,
            actor=actor,
            now=now,
            progress=progress,
            on_total=on_total,
            csv_mapping=csv_mapping,
        )


def _bank_file_import(
    *,
    data: bytes,
    file_name: str,
    entity: LegalEntity,
    actor: User | None,
    now: datetime,
    progress: Progress | None,
    on_total: Callable[[int], None] | None,
    csv_mapping: str | None,
) -> ImportResult:
    read = csvmappings.bank_file_read(data=data, file_name=file_name, entity=entity, mapping_name=csv_mapping)
    file_format, statements = read.file_format, read.statements
    result = ImportResult(file_name=file_name, file_format=file_format)
    result.statements = len(statements)
    result.entries = sum(len(statement.entries) for statement in statements)
    digest = hashlib.sha256(data).hexdigest()
    if BankFile.objects.filter(entity=entity, sha256=digest).exists():
        result.already_imported = True
        result.duplicates = sum(len(rules.incoming_entries(statement)) for statement in statements)
        result.ignored = result.entries - result.duplicates
        return result
    bank_file = BankFile.objects.create(
        entity=entity,
        file_format=file_format,
        file_name=file_name[:255],
        sha256=digest,
        message_id=(statements[0].message_id or "")[:140] if statements else "",
        imported_at=now,
        imported_by=actor if actor_id(actor) else None,
    )
    payments: list[Payment] = []
    returned: list[tuple[Entry, EntityBankAccount]] = []
    for statement in statements:
        account = read.bank_account or _own_account(
            statement, entity=entity, file_name=file_name, now=now, actor=actor, warnings=result.warnings
        )
        if account.entity_id != entity.pk:
            raise UnableToImportBankFile(
                f"{file_name}: statement {statement.statement_id}: account {account} belongs to another "
                "legal entity",
                code="other_entity",
            )
        difference = balance_difference(statement)
        currency = statement.currency or account.currency
        booked = booked_total(statement)
        bank_statement = BankStatement.objects.create(
            bank_file=bank_file,
            bank_account=account,
            statement_id=statement.statement_id[:140],
            currency=currency,
            opening_minor=to_minor(statement.opening_balance, currency)
            if statement.opening_balance is not None
            else None,
            closing_minor=to_minor(statement.closing_balance, currency)
            if statement.closing_balance is not None
            else None,
            difference_minor=to_minor(difference, currency) if difference is not None else None,
            statement_date=next((e.booking_date for e in statement.entries if e.booking_date), None),
            entries_minor=to_minor(booked, currency) if booked is not None else None,
            page_number=statement.page_number,
            last_page=statement.last_page,
            copy_indicator=statement.copy_indicator or "",
        )
        if difference:
            result.warnings.append(
                f"statement {statement.statement_id}: opening balance plus entries differs from the closing "
                f"balance by {difference} {currency}"
            )
        if statement.page_number is not None:
            result.warnings += _pages_checked(bank_statement)
        known_before = result.duplicates
        payments += _new_payments(
            statement, bank_statement=bank_statement, account=account, result=result, actor=actor, now=now
        )
        if statement.copy_indicator:
            result.warnings.append(
                f"statement {statement.statement_id} is marked {statement.copy_indicator} (a copy of one "
                f"sent before): {result.duplicates - known_before} of its entries were imported before and "
                "are skipped, the others imported"
            )
        returned += [(entry, account) for entry in statement.entries if rules.is_return(entry)]
    # statement order: value date, then position in the file
    payments.sort(key=lambda payment: (payment.value_date, payment.position))
    result.payments = len(payments)
    if on_total is not None:
        on_total(len(payments))
    index_refresh(entity_id=entity.pk)
    policy = policy_for(entity)
    batches = [payments[offset : offset + BATCH] for offset in range(0, len(payments), BATCH)]
    # the payers' texts are read in a thread: while the database works on one batch (the thread gets
    # the interpreter whenever this one waits for the server), the next batch's keys are ready
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="o2c-texts") as reader:
        texts_read = [
            reader.submit(matcher.text_keys, [text for payment in batch for text in payment_texts(payment)])
            for batch in batches
        ]
        try:
            for batch, batch_texts in zip(batches, texts_read, strict=True):
                _match_and_post(
                    batch,
                    entity=entity,
                    policy=policy,
                    actor=actor,
                    now=now,
                    result=result,
                    read=batch_texts.result(),
                )
                if progress is not None:
                    progress(len(batch))
        except BaseException:
            for batch_texts in texts_read:
                batch_texts.cancel()  # a refused file says so without waiting for texts nobody reads
            raise
    for entry, account in returned:
        _return(entry, account, entity=entity, file_name=file_name, actor=actor, now=now, result=result)
    BankFile.objects.filter(pk=bank_file.pk).update(
        entries_read=result.entries,
        payments_created=result.payments,
        duplicates_skipped=result.duplicates,
        warnings=result.warnings,
    )
    audit_services.record(
        actor=actor,
        action="cash.bank_file.imported",
        object_type="bank_file",
        object_id=bank_file.pk,
        object_label=file_name[:200],
        entity_id=entity.pk,
        changes={"payments": (None, result.payments), "applied": (None, result.applied)},
        now=now,
    )
    return result


def _return(
    entry: Entry,
    account: EntityBankAccount,
    *,
    entity: LegalEntity,
    file_name: str,
    actor: User | None,
    now: datetime,
    result: ImportResult,
) -> None:
    """A returned payment: its original reversed and paid back out, the bank's fee in the debit to the
    fees account (and charged to the customer where the policy says so); none found is left to a
    person."""
    original = returns.original_payment(entry=entry, account=account)
    reason = rules.return_reason(entry)
    day = entry.booking_date or entry.value_date or now.date()
    if original is None:
        if not Payment.objects.filter(
            bank_account=account, return_reference=entry.bank_reference or "-"
        ).exists():
            result.warnings.append(
                f"{file_name}: entry {entry.position}: a returned payment of {-entry.amount} "
                f"{entry.currency} ({reason}) matches no payment received: left for a person"
            )
        return
    figures = rules.return_figures(entry)
    outcome = returns.payment_return(
        payment=original,
        reason=reason,
        day=day,
        bank_reference=entry.bank_reference or "",
        entity=entity,
        actor=actor,
        now=now,
        debited_minor=to_minor(figures.debited, entry.currency),
        charges_apart_minor=to_minor(figures.charges_apart, entry.currency),
    )
    result.warnings += [f"{file_name}: entry {entry.position}: {warning}" for warning in outcome.warnings]
    result.returned += 1
    result.ignored -= 1


def _pages_checked(page: BankStatement) -> list[str]:
    """Once every page of a statement the bank split over several files is in (in any order): the
    whole statement's balance, page 1's opening plus every page's booked entries against the last
    page's closing, kept on the last page. Warnings name what is missing or does not add up."""
    pages = {
        stored.page_number: stored
        for stored in BankStatement.objects.filter(
            bank_account_id=page.bank_account_id,
            statement_id=page.statement_id,
            page_number__isnull=False,
            copy_indicator="",
        ).order_by("pk")
    }
    last = next((stored for stored in pages.values() if stored.last_page), None)
    if last is None or last.page_number is None:
        return []
    missing = sorted(set(range(1, last.page_number + 1)) - set(pages))
    if missing:
        numbers = ", ".join(str(number) for number in missing)
        return [
            f"statement {page.statement_id}: page {numbers} of {last.page_number} not imported yet; the "
            "balance is checked when every page is in"
        ]
    ordered = [pages[number] for number in range(1, last.page_number + 1)]
    if (
        ordered[0].opening_minor is None
        or last.closing_minor is None
        or any(stored.entries_minor is None for stored in ordered)
    ):
        return []
    difference = last.closing_minor - ordered[0].opening_minor - sum(s.entries_minor or 0 for s in ordered)
    BankStatement.objects.filter(pk=last.pk).update(difference_minor=difference)
    if not difference:
        return []
    return [
        f"statement {page.statement_id} (pages 1 to {last.page_number}): opening balance plus entries "
        f"differs from the closing balance by {format_minor(difference, last.currency)} {last.currency}"
    ]


def _match_and_post(
    payments: list[Payment],
    *,
    entity: LegalEntity,
    policy: Policy,
    actor: User | None,
    now: datetime,
    result: ImportResult,
    read: Mapping[str, matcher.TextKeys],
) -> None:
    linked = _attach_advices(payments, entity=entity)
    facts = [payment_facts(payment) for payment in payments]
    lookup, keys = matcher.gather(entity_id=entity.pk, payments=facts, read=read, policy=policy)
    decisions: list[Decision] = []
    for payment, fact, payment_keys in zip(payments, facts, keys, strict=True):
        decision = matcher.decide(fact, payment_keys, lookup, policy)
        if decision.auto:
            lookup.settle(decision)
        decisions.append(decision)
        _describe(payment, decision)
    insert_objects(Payment, payments)
    update_rows(RemittanceAdvice, ["payment_id"], [(advice.pk, payment.pk) for advice, payment in linked])
    _post_receipts(payments, entity=entity, actor=actor, now=now)
    _post_decisions(payments, decisions, entity=entity, actor=actor, now=now)
    for payment in payments:
        result.amount_minor[payment.currency] = (
            result.amount_minor.get(payment.currency, 0) + payment.amount_minor
        )
        applied = payment.amount_minor - payment.unapplied_minor
        if applied:
            result.applied_minor[payment.currency] = result.applied_minor.get(payment.currency, 0) + applied
        counter = {
            Payment.Status.APPLIED: "applied",
            Payment.Status.PARTIALLY_APPLIED: "partially_applied",
            Payment.Status.ON_ACCOUNT: "on_account",
            Payment.Status.SUGGESTED: "suggested",
            Payment.Status.UNIDENTIFIED: "unidentified",
        }[Payment.Status(payment.status)]
        setattr(result, counter, getattr(result, counter) + 1)


# --- remittance advices -------------------------------------------------------------------------

ADVICE_WINDOW_DAYS = 10
"""How far an advice's payment date may lie from the payment's value date."""


@dataclass(slots=True)
class AdviceResult:
    file_name: str
    kind: str
    lines: int
    total: str | None
    currency: str
    already_imported: bool = False
    payment: str | None = None
    """The payment the advice was linked to (its bank reference), if it had arrived."""
    payment_id: int | None = None
    payment_status: str | None = None
    """The linked payment's status once the matcher has read the advice (applied, suggested, ...)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file_name,
            "kind": self.kind,
            "lines": self.lines,
            "total": self.total,
            "currency": self.currency,
            "already_imported": self.already_imported,
            "payment": self.payment,
            "payment_status": self.payment_status,
        }


def _advice_lines(advice: advices.Advice) -> list[dict[str, Any]]:
    return [
        {
            "number": line.invoice_number,
            "amount": str(line.amount) if line.amount is not None else None,
            "discount": None,
            "deduction": str(line.deduction) if line.deduction is not None else None,
            "reason": line.reason,
        }
        for line in advice.lines
    ]


def _advice_fits(record: RemittanceAdvice, payment: Payment) -> int:
    """How well an advice fits a payment of its amount: 0 not at all (too far apart in time), 1 the amount
    only, 2 its reference in the payment's texts, or its payer's name or e-mail domain in the payer's."""
    if (
        record.payment_date is not None
        and abs((payment.value_date - record.payment_date).days) > ADVICE_WINDOW_DAYS
    ):
        return 0
    texts = " ".join([payment.remittance, payment.end_to_end_id, *payment.structured_references]).upper()
    if record.reference and record.reference.upper() in texts:
        return 2
    payer = matching.normalize_name(
        record.payer.split("@")[-1].split(".")[0] if "@" in record.payer else record.payer
    )
    if payer and payment.payer_name and matching.name_score(payer, payment.payer_name) >= 90:
        return 2
    return 1


def _attach_advices(
    payments: Sequence[Payment], *, entity: LegalEntity
) -> list[tuple[RemittanceAdvice, Payment]]:
    """Advices waiting for payments of these amounts: one that fits a payment best, and only it, gives the
    payment its remitted documents (a bank's own remittance data stays first)."""
    waiting = list(
        RemittanceAdvice.objects.filter(
            entity=entity,
            payment__isnull=True,
            total_minor__any=sorted({payment.amount_minor for payment in payments if not payment.remitted}),
        )
    )
    if not waiting:
        return []
    by_amount: dict[tuple[int | None, str], list[RemittanceAdvice]] = {}
    for record in waiting:
        by_amount.setdefault((record.total_minor, record.currency), []).append(record)
    linked: list[tuple[RemittanceAdvice, Payment]] = []
    taken: set[int] = set()
    for payment in payments:
        candidates = [
            record
            for record in by_amount.get((payment.amount_minor, payment.currency), [])
            if record.pk not in taken
        ]
        scored = sorted(
            ((_advice_fits(record, payment), record.pk, record) for record in candidates), reverse=True
        )
        scored = [entry for entry in scored if entry[0] > 0]
        if not scored or (len(scored) > 1 and scored[1][0] == scored[0][0]):
            continue
        record = scored[0][2]
        taken.add(record.pk)
        payment.remitted = list(record.lines)
        linked.append((record, payment))
    return linked


@transaction.atomic
def advice_import(
    *, data: bytes, file_name: str, entity: LegalEntity, actor: User | None, now: datetime
) -> AdviceResult:
    """Keep a customer's remittance advice; link it to its payment when that has arrived and waits for a
    person (its lines then show as the payment's remitted documents), else to the payment when it comes."""
    advice = advices.read_advice(data, source=file_name)
    currency = advice.currency or entity.currency
    total = advice.total
    result = AdviceResult(
        file_name=file_name,
        kind=advice.kind,
        lines=len(advice.lines),
        total=str(total) if total is not None else None,
        currency=currency,
    )
    digest = hashlib.sha256(data).hexdigest()
    existing = RemittanceAdvice.objects.filter(entity=entity, sha256=digest).select_related("payment").first()
    if existing is not None:
        result.already_imported = True
        result.payment = str(existing.payment) if existing.payment else None
        return result
    record = RemittanceAdvice.objects.create(
        entity=entity,
        file_name=file_name[:255],
        sha256=digest,
        kind=advice.kind,
        payer=advice.payer,
        reference=advice.reference,
        payment_date=advice.payment_date,
        currency=currency,
        total_minor=to_minor(total, currency) if total is not None else None,
        lines=_advice_lines(advice),
        text=advice.text,
        received_at=now,
        received_by=actor if actor_id(actor) else None,
    )
    if record.total_minor is not None:
        waiting = (
            Payment.objects.select_for_update()
            .filter(
                entity=entity,
                currency=currency,
                amount_minor=record.total_minor,
                status__in=[Payment.Status.UNIDENTIFIED, Payment.Status.SUGGESTED],
            )
            .exclude(Exists(RemittanceAdvice.objects.filter(payment=OuterRef("pk"))))
        )
        scored = sorted(
            ((_advice_fits(record, payment), payment.pk, payment) for payment in waiting), reverse=True
        )
        scored = [entry for entry in scored if entry[0] > 0]
        if scored and (len(scored) == 1 or scored[1][0] < scored[0][0]):
            payment = scored[0][2]
            record.payment = payment
            record.save(update_fields=["payment"])
            if not payment.remitted:
                payment.remitted = list(record.lines)
            payment.reasons = [*payment.reasons, f"remittance advice {file_name} names its invoices"]
            payment.save(update_fields=["remitted", "reasons"])
            result.payment = str(payment)
            result.payment_id = payment.pk
            result.payment_status = payment.status
    audit_services.record(
        actor=actor,
        action="cash.remittance_advice.received",
        object_type="remittance_advice",
        object_id=record.pk,
        object_label=file_name[:200],
        entity_id=entity.pk,
        changes={"lines": (None, len(advice.lines)), "payment": (None, result.payment)},
        now=now,
    )
    return result


def _describe(payment: Payment, decision: Decision) -> None:
    """The payment's state as the decision leaves it (before anything is written)."""
    payment.confidence = decision.confidence
    payment.reasons = decision.reasons
    if decision.auto:
        payment.customer_id = decision.customer_id
        payment.unapplied_minor = payment.amount_minor - sum(
            conversions.cash_per_line(decision, payment.amount_minor)
        )
        if not decision.lines:
            payment.status = Payment.Status.ON_ACCOUNT
        elif payment.unapplied_minor == 0:
            payment.status = Payment.Status.APPLIED
        else:
            payment.status = Payment.Status.PARTIALLY_APPLIED
    elif decision.customer_id is not None or decision.lines:
        payment.status = Payment.Status.SUGGESTED
    else:
        payment.status = Payment.Status.UNIDENTIFIED


def _post_receipts(
    payments: Sequence[Payment], *, entity: LegalEntity, actor: User | None, now: datetime
) -> None:
    """Bank against unapplied cash, under the payer when the matcher is sure who paid."""
    unapplied_id = ledger_selectors.account_id_for(entity=entity, type=AccountType.UNAPPLIED_CASH)
    ledger_ids = dict(
        EntityBankAccount.objects.filter(pk__in={p.bank_account_id for p in payments}).values_list(
            "pk", "ledger_account_id"
        )
    )
    ledger_services.journal_entries_post_bulk(
        entity=entity,
        entries=[
            EntryIn(
                posting_date=payment.booking_date,
                description=f"Receipt {payment.entry_reference or payment.pk} {payment.payer_name}"[:200],
                source_type="payment",
                source_id=payment.pk,
                idempotency_key=f"payment-receipt:{payment.pk}",
                lines=[
                    PostingLine(
                        account_id=ledger_ids[payment.bank_account_id],
                        currency=payment.currency,
                        debit_minor=payment.amount_minor,
                    ),
                    PostingLine(
                        account_id=unapplied_id,
                        currency=payment.currency,
                        credit_minor=payment.amount_minor,
                        customer_id=payment.customer_id,
                    ),
                ],
            )
            for payment in payments
        ],
        now=now,
        created_by_id=actor_id(actor),
    )


_APPLICATION_COLUMNS = (
    "payment",
    "document",
    "state",
    "amount_minor",
    "discount_minor",
    "deduction_minor",
    "write_off_minor",
    "confidence",
    "reasons",
    "allocation_ids",
    "is_automatic",
    "created_at",
)


def _post_decisions(
    payments: Sequence[Payment],
    decisions: Sequence[Decision],
    *,
    entity: LegalEntity,
    actor: User | None,
    now: datetime,
) -> None:
    allocations: list[AllocationIn] = []
    owners: list[tuple[int, int]] = []  # (application index, allocation index) pairs
    # plain rows, not model instances: (payment, document, state, amounts, ..., allocation ids)
    applications: list[tuple[Any, ...]] = []
    deductions: list[dict[str, Any]] = []
    applied_events: list[dict[str, Any]] = []
    # per converted payment: (payment cash, document-currency cash, allocation index) of each cash line
    converting: dict[int, tuple[Payment, Conversion, list[tuple[int, int, int]]]] = {}
    for payment, decision in zip(payments, decisions, strict=True):
        state = Application.State.APPLIED if decision.auto else Application.State.SUGGESTED
        cash = conversions.cash_per_line(decision, payment.amount_minor)
        for line, line_cash in zip(decision.lines, cash, strict=True):
            applications.append(
                (
                    payment.pk,
                    line.document_id,
                    state,
                    line.amount_minor,
                    line.discount_minor,
                    line.deduction_minor,
                    line.write_off_minor,
                    decision.confidence,
                    decision.reasons,
                    [],
                    decision.auto,
                    now,
                )
            )
            if not decision.auto:
                continue
            posting_date = payment.booking_date
            for kind, amount in (
                (Allocation.Kind.PAYMENT, line.amount_minor),
                (Allocation.Kind.DISCOUNT, line.discount_minor),
                (Allocation.Kind.WRITE_OFF, line.write_off_minor),
            ):
                if amount:
                    if kind == Allocation.Kind.PAYMENT and decision.conversion is not None:
                        converting.setdefault(payment.pk, (payment, decision.conversion, []))[2].append(
                            (line_cash, amount, len(allocations))
                        )
                    owners.append((len(applications) - 1, len(allocations)))
                    allocations.append(
                        AllocationIn(
                            document_id=line.document_id,
                            kind=kind,
                            amount_minor=amount,
                            posting_date=posting_date,
                            payment_id=payment.pk if kind == Allocation.Kind.PAYMENT else None,
                            counter_customer_id=payment.customer_id
                            if kind == Allocation.Kind.PAYMENT
                            else None,
                            reason=f"payment {payment.entry_reference or payment.pk}",
                        )
                    )
            if line.deduction_minor:
                deductions.append(
                    {
                        "payment_id": payment.pk,
                        "document_id": line.document_id,
                        "amount_minor": line.deduction_minor,
                        "currency": payment.currency,
                        "reason": decision.deduction_reason,
                    }
                )
        if decision.auto and decision.lines:
            applied_events.append(
                {
                    "payment_id": payment.pk,
                    "customer_id": payment.customer_id,
                    "document_ids": [line.document_id for line in decision.lines],
                }
            )
    created = receivables_bulk.allocations_create_bulk(
        entity=entity, allocations=allocations, actor=actor, now=now
    )
    for application_index, allocation_index in owners:
        applications[application_index][9].append(created[allocation_index])
    for payment, conversion, parts in converting.values():
        conversions.post(
            payment,
            conversion,
            [conversions.Converted(created[index], line_cash, amount) for line_cash, amount, index in parts],
            entity=entity,
            posting_date=payment.booking_date,
            actor=actor,
            now=now,
        )
    insert_new_rows(Application, _APPLICATION_COLUMNS, applications)
    if deductions:
        events.publish_many_on_commit(DEDUCTION_TAKEN, deductions)
    if applied_events:
        events.publish_many_on_commit(PAYMENT_APPLIED, applied_events)
