"""The set-based service behind `o2c import invoices`: open items from another system.

Same rules as issuing, applied to sets: each item posts on its issue date against the migration
clearing account (one entry per posting date and currency of a batch, one receivable line per
item), its paid part is settled on `paid_date`, and the ledger's triggers check every entry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Sum

from o2c.audit import services as audit_services
from o2c.core.exceptions import InputError
from o2c.customers.models import Customer
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import AccountType, LegalEntity
from o2c.ledger.rules import LineIn as PostingLine
from o2c.ledger.services import EntryIn
from o2c.receivables import calculations, numbering
from o2c.receivables.models import Allocation, Document, DocumentType

BATCH = 20_000


@dataclass(frozen=True, slots=True)
class OpenItemIn:
    row: int
    number: str
    customer_number: str
    issue_date: date
    due_date: date
    currency: str
    amount_minor: int
    open_minor: int
    po_number: str = ""
    paid_date: date | None = None


@dataclass(frozen=True)
class OpenItemsResult:
    created: int
    unchanged: int
    journal_entries: int


def _chunks(items: Sequence[OpenItemIn], size: int) -> Iterator[Sequence[OpenItemIn]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing(entity: LegalEntity, numbers: list[str]) -> dict[str, tuple[int, int]]:
    """Existing documents by number: (total, open amount as migrated)."""
    found: dict[str, tuple[int, int]] = {}
    for start in range(0, len(numbers), 5000):
        part = numbers[start : start + 5000]
        docs = dict(
            Document.objects.filter(entity=entity, number__in=part).values_list("number", "total_minor")
        )
        if not docs:
            continue
        migrated = dict(
            Allocation.objects.filter(entity=entity, document__number__in=list(docs), kind=Allocation.Kind.MIGRATION)
            .values("document__number")
            .annotate(settled=Sum("amount_minor"))
            .values_list("document__number", "settled")
        )
        for number, total in docs.items():
            found[number] = (total, calculations.open_amount(total, migrated.get(number, 0)))
    return found


def _validate(
    entity: LegalEntity, items: Sequence[OpenItemIn]
) -> tuple[list[OpenItemIn], int, dict[str, int]]:
    """The items to create (unchanged ones dropped) and the customer ids, or an InputError on the first bad row."""
    seen: set[str] = set()
    for item in items:
        if item.number in seen:
            raise InputError(f"invoice {item.number} appears twice in the file", row=item.row, column="invoice_number")
        seen.add(item.number)
    wanted = {item.customer_number for item in items}
    customers: dict[str, int] = {}
    wanted_list = list(wanted)
    for start in range(0, len(wanted_list), 5000):
        customers.update(
            Customer.objects.filter(entity=entity, number__in=wanted_list[start : start + 5000]).values_list(
                "number", "pk"
            )
        )
    existing = _existing(entity, [item.number for item in items])
    todo = []
    unchanged = 0
    for item in items:
        if item.customer_number not in customers:
            raise InputError(
                f"unknown customer {item.customer_number}", row=item.row, column="customer_number"
            )
        if item.number in existing:
            total, migrated_open = existing[item.number]
            if total != item.amount_minor:
                raise InputError(
                    f"invoice {item.number} exists with another amount; an issued amount never changes",
                    row=item.row, column="amount", code="changed_amount",
                )
            if migrated_open != item.open_minor:
                raise InputError(
                    f"invoice {item.number} exists with another open amount; settle it in O2C instead",
                    row=item.row, column="open_amount", code="changed_amount",
                )
            unchanged += 1
            continue
        todo.append(item)
    return todo, unchanged, customers


def _posting_entries(
    items: Sequence[tuple[OpenItemIn, int]],
    *,
    customers: dict[str, int],
    receivable_id: int,
    clearing_id: int,
    settle: bool,
) -> list[EntryIn]:
    """One entry per posting date and currency: a receivable line per item, the net to clearing."""
    groups: dict[tuple[date, str], list[tuple[OpenItemIn, int, int]]] = defaultdict(list)
    for item, document_id in items:
        if settle:
            amount = item.amount_minor - item.open_minor  # signed paid part, reduces the receivable
            if amount == 0:
                continue
            groups[(item.paid_date or item.issue_date, item.currency)].append((item, document_id, -amount))
        else:
            groups[(item.issue_date, item.currency)].append((item, document_id, item.amount_minor))
    entries = []
    kind = "settlement" if settle else "opening"
    for (posting_date, currency), members in sorted(groups.items()):
        lines = [
            PostingLine(
                account_id=receivable_id, currency=currency, debit_minor=max(amount, 0),
                credit_minor=max(-amount, 0), customer_id=customers[item.customer_number], document_id=document_id,
            )
            for item, document_id, amount in members
        ]
        net = sum(amount for _, _, amount in members)
        if net:
            lines.append(
                PostingLine(account_id=clearing_id, currency=currency, debit_minor=max(-net, 0),
                            credit_minor=max(net, 0), memo=f"migration {kind}")
            )
        first_id = members[0][1]
        entries.append(
            EntryIn(
                posting_date=posting_date,
                description=f"Migrated open items: {kind} {posting_date.isoformat()} {currency} ({len(members)})",
                source_type="migration",
                source_id=first_id,
                idempotency_key=f"migration-{kind}:{posting_date.isoformat()}:{currency}:{first_id}",
                lines=lines,
            )
        )
    return entries


@transaction.atomic
def open_items_import(
    *,
    entity: LegalEntity,
    items: Sequence[OpenItemIn],
    actor: AbstractBaseUser | None,
    now: datetime,
    source: str,
    progress: Callable[[int], None] | None = None,
) -> OpenItemsResult:
    todo, unchanged, customers = _validate(entity, items)
    if not todo:
        return OpenItemsResult(created=0, unchanged=unchanged, journal_entries=0)
    dates = [item.issue_date for item in todo] + [item.paid_date for item in todo if item.paid_date]
    ledger_services.periods_open(
        entity=entity, first=min(dates), last=max(dates), now=now, reason=f"migration import {source}", actor=actor
    )
    receivable_id = ledger_selectors.account_for(entity=entity, type=AccountType.RECEIVABLE).pk
    clearing_id = ledger_selectors.account_for(entity=entity, type=AccountType.CLEARING).pk
    series_ids: dict[tuple[str, int], int] = {}
    entries_posted = 0
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    for chunk in _chunks(todo, BATCH):
        documents = []
        for item in chunk:
            doc_type = DocumentType.CREDIT_MEMO if item.amount_minor < 0 else DocumentType.INVOICE
            key = (doc_type, item.issue_date.year)
            if key not in series_ids:
                series_ids[key] = numbering.series_for(
                    entity=entity, document_type=doc_type, year=key[1], is_migration=True
                ).pk
            documents.append(
                Document(
                    entity=entity, customer_id=customers[item.customer_number], document_type=doc_type,
                    status=Document.Status.ISSUED, number=item.number, series_id=series_ids[key],
                    currency=item.currency, net_minor=item.amount_minor, tax_minor=0,
                    total_minor=item.amount_minor, open_minor=item.open_minor,
                    settlement=calculations.settlement_state(
                        total_minor=item.amount_minor, open_minor=item.open_minor, kinds={"migration"}
                    ),
                    issue_date=item.issue_date, due_date=item.due_date, payment_terms="",
                    po_number=item.po_number, is_migrated=True, created_at=now, issued_at=now,
                    created_by_id=actor_id,
                )
            )
        created = Document.objects.bulk_create(documents, batch_size=2000)
        pairs = list(zip(chunk, [doc.pk for doc in created], strict=True))
        entries = _posting_entries(
            pairs, customers=customers, receivable_id=receivable_id, clearing_id=clearing_id, settle=False
        )
        entries += _posting_entries(
            pairs, customers=customers, receivable_id=receivable_id, clearing_id=clearing_id, settle=True
        )
        Allocation.objects.bulk_create(
            (
                Allocation(
                    entity=entity, document_id=document_id, kind=Allocation.Kind.MIGRATION, currency=item.currency,
                    amount_minor=abs(item.amount_minor - item.open_minor),
                    posting_date=item.paid_date or item.issue_date, reason=f"paid before migration ({source})",
                    created_at=now, created_by_id=actor_id,
                )
                for item, document_id in pairs
                if item.amount_minor != item.open_minor
            ),
            batch_size=2000,
        )
        entries_posted += len(
            ledger_services.journal_entries_post_bulk(entity=entity, entries=entries, now=now, created_by_id=actor_id)
        )
        if progress is not None:
            progress(len(chunk))
    numbering.advance_past_imported(entity=entity, numbers=[item.number for item in todo])
    audit_services.record(
        actor=actor, action="receivables.open_items.imported", object_type="legal_entity", object_id=entity.pk,
        object_label=entity.code, entity_id=entity.pk,
        changes={"documents": (None, len(todo)), "journal_entries": (None, entries_posted)},
        reason=f"migration import {source}", now=now,
    )
    return OpenItemsResult(created=len(todo), unchanged=unchanged, journal_entries=entries_posted)
