"""Reads of cash application: the applications export, payment queues, the matching policy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache

from django.db.models import Prefetch, Q, QuerySet

from o2c.cash.models import Application, BankFile, MatchingPolicy, Payment
from o2c.core.money import currency_decimals, format_minor, known_currencies
from o2c.ledger.models import LegalEntity
from o2c.receivables import selectors as receivables_selectors
from o2c.receivables.models import Document, DocumentType

APPLICATION_COLUMNS = (
    "entry_reference",
    "invoice_number",
    "amount",
    "discount",
    "deduction",
    "write_off",
    "status",
    "confidence",
)
_OPEN_STATES = (Application.State.APPLIED, Application.State.SUGGESTED)
_POSTED = (Payment.Status.APPLIED, Payment.Status.PARTIALLY_APPLIED, Payment.Status.ON_ACCOUNT)


@dataclass(frozen=True, slots=True)
class ApplicationRow:
    entry_reference: str
    invoice_number: str
    amount: str
    discount: str
    deduction: str
    write_off: str
    status: str
    confidence: str

    def values(self) -> tuple[str, ...]:
        return (
            self.entry_reference,
            self.invoice_number,
            self.amount,
            self.discount,
            self.deduction,
            self.write_off,
            self.status,
            self.confidence,
        )


def _confidence(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.001")))


def application_rows(*, entity_ids: list[int]) -> Iterator[ApplicationRow]:
    """Every payment's applications in statement order (value date, file, position); cash left on account
    or not identified is a row without an invoice number."""
    payments = (
        Payment.objects.filter(entity_id__in=entity_ids)
        .exclude(status=Payment.Status.RETURNED)
        .order_by("value_date", "statement__bank_file_id", "position", "pk")
        .values_list(
            "pk", "entry_reference", "currency", "unapplied_minor", "status", "confidence", "customer_id"
        )
    )
    for chunk in _chunked(payments.iterator(chunk_size=5000), 5000):
        applications: dict[int, list[tuple[str | None, int, int, int, int, str, Decimal]]] = {}
        for row in (
            Application.objects.filter(
                payment_id__in=[payment[0] for payment in chunk], state__in=_OPEN_STATES
            )
            .order_by("payment_id", "pk")
            .values_list(
                "payment_id",
                "document__number",
                "amount_minor",
                "discount_minor",
                "deduction_minor",
                "write_off_minor",
                "state",
                "confidence",
            )
        ):
            applications.setdefault(row[0], []).append(row[1:])
        for pk, reference, currency, unapplied, status, confidence, customer_id in chunk:
            suggested = 0
            for number, amount, discount, deduction, write_off, state, line_confidence in applications.get(
                pk, []
            ):
                if state == Application.State.SUGGESTED:
                    suggested += amount
                yield ApplicationRow(
                    reference,
                    number or "",
                    format_minor(amount, currency),
                    format_minor(discount, currency),
                    format_minor(deduction, currency),
                    format_minor(write_off, currency),
                    str(state),
                    _confidence(line_confidence),
                )
            left = unapplied - suggested
            if left > 0:
                posted = status in _POSTED and customer_id is not None
                yield ApplicationRow(
                    reference,
                    "",
                    format_minor(left, currency),
                    format_minor(0, currency),
                    format_minor(0, currency),
                    format_minor(0, currency),
                    "applied" if posted else "suggested",
                    _confidence(confidence),
                )


def _chunked(rows: Iterator[tuple], size: int) -> Iterator[list[tuple]]:  # type: ignore[type-arg]
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def payment_queue(*, entity_ids: list[int]) -> QuerySet[Payment]:
    """The exceptions queue: payments a person has to look at, the largest and oldest first."""
    return (
        Payment.objects.filter(
            entity_id__in=entity_ids,
            status__in=(
                Payment.Status.UNIDENTIFIED,
                Payment.Status.SUGGESTED,
                Payment.Status.PARTIALLY_APPLIED,
            ),
        )
        .select_related("customer")
        .order_by("-amount_minor", "value_date", "pk")
    )


def _with_applications(payments: QuerySet[Payment]) -> QuerySet[Payment]:
    return payments.select_related("entity", "customer").prefetch_related(
        Prefetch(
            "applications",
            queryset=Application.objects.select_related("document", "created_by").order_by("pk"),
        )
    )


def payment_list(*, entity_ids: list[int], status: str = "", customer_number: str = "") -> QuerySet[Payment]:
    """The exceptions queue (`payment_queue`), or the payments of one status, with their applications
    (suggestions and their reasons among them), the largest and oldest first."""
    if status:
        payments = Payment.objects.filter(entity_id__in=entity_ids, status=status).order_by(
            "-amount_minor", "value_date", "pk"
        )
    else:
        payments = payment_queue(entity_ids=entity_ids)
    if customer_number:
        payments = payments.filter(customer__number=customer_number)
    return _with_applications(payments)


def payment_get(*, entity_ids: list[int], payment_id: int) -> Payment:
    """One payment of the granted entities with all its applications (Payment.DoesNotExist otherwise)."""
    return _with_applications(Payment.objects.filter(entity_id__in=entity_ids)).get(pk=payment_id)


def application_get(*, entity_ids: list[int], application_id: int) -> Application:
    """One application of a payment of the granted entities (Application.DoesNotExist otherwise)."""
    return Application.objects.select_related("payment").get(
        payment__entity_id__in=entity_ids, pk=application_id
    )


# --- the back office's pages (o2c.workspace.cash_views) ------------------------------------------


def bank_file_list(*, entity_ids: list[int]) -> QuerySet[BankFile]:
    """Imported bank files, the latest first."""
    return (
        BankFile.objects.filter(entity_id__in=entity_ids)
        .select_related("entity", "imported_by")
        .order_by("-imported_at", "-pk")
    )


QUEUE_STATUSES = (Payment.Status.UNIDENTIFIED, Payment.Status.SUGGESTED, Payment.Status.PARTIALLY_APPLIED)


@cache
def _currencies_by_decimals() -> dict[int, frozenset[str]]:
    grouped: dict[int, set[str]] = {}
    for currency in known_currencies():
        grouped.setdefault(currency_decimals(currency), set()).add(currency)
    return {decimals: frozenset(currencies) for decimals, currencies in grouped.items()}


def _amount_is(amount: Decimal) -> Q:
    """Payments of exactly this amount, in any currency whose decimals can express it."""
    matches = Q(pk__in=[])
    if amount <= 0:
        return matches
    for decimals, currencies in sorted(_currencies_by_decimals().items()):
        minor = amount.scaleb(decimals)
        if minor == minor.to_integral_value():
            matches |= Q(amount_minor=int(minor), currency__in=sorted(currencies))
    return matches


def payment_search(
    *, entity_ids: list[int], status: str = "", search: str = "", amount: Decimal | None = None
) -> QuerySet[Payment]:
    """The exceptions queue (unidentified, suggested, partly applied), or the payments of one status,
    searched by payer name, bank or end-to-end reference, remittance text, or (`amount`) the exact
    amount; the largest first, then the oldest."""
    payments = Payment.objects.filter(entity_id__in=entity_ids)
    payments = payments.filter(status=status) if status else payments.filter(status__in=QUEUE_STATUSES)
    term = search.strip()
    if term:
        found = (
            Q(payer_name__icontains=term)
            | Q(entry_reference__istartswith=term)
            | Q(end_to_end_id__istartswith=term)
            | Q(remittance__icontains=term)
        )
        if amount is not None:
            found |= _amount_is(amount)
        payments = payments.filter(found)
    return payments.select_related("customer", "entity").order_by("-amount_minor", "value_date", "pk")


def payment_queue_neighbours(*, entity_ids: list[int], payment: Payment) -> tuple[int | None, int | None]:
    """The payments before and after this one in the exceptions queue's order (largest amount, then
    oldest value date, then id): where a person goes from here."""
    queue = payment_queue(entity_ids=entity_ids).exclude(pk=payment.pk)
    amount, day, pk = payment.amount_minor, payment.value_date, payment.pk
    after = (
        Q(amount_minor__lt=amount)
        | Q(amount_minor=amount, value_date__gt=day)
        | Q(amount_minor=amount, value_date=day, pk__gt=pk)
    )
    following = queue.filter(after).values_list("pk", flat=True).first()
    preceding = (
        queue.exclude(after)
        .order_by("amount_minor", "-value_date", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    return preceding, following


OPEN_ITEMS_SHOWN = 20


def open_items_for_payment(*, payment: Payment, search: str = "") -> list[Document]:
    """Open invoices and debit memos a payment can settle (its entity and currency), by invoice number
    or customer number prefix or a part of the customer's name; without a search, the payer's own (for
    a payer not identified, those of the customers of the suggested invoices). The earliest due first,
    at most OPEN_ITEMS_SHOWN."""
    items = (
        receivables_selectors.document_list(entity_ids=[payment.entity_id], open_only=True)
        .filter(currency=payment.currency, open_minor__gt=0)
        .exclude(document_type=DocumentType.CREDIT_MEMO)
    )
    term = search.strip()
    if term:
        items = items.filter(
            Q(number__istartswith=term)
            | Q(customer__number__istartswith=term)
            | Q(customer__name__icontains=term)
        )
    elif payment.customer_id is not None:
        items = items.filter(customer_id=payment.customer_id)
    else:  # not identified: the customers of the invoices the matcher suggests, if any
        suggested = Application.objects.filter(
            payment=payment, state=Application.State.SUGGESTED, document__isnull=False
        ).values("document__customer_id")
        items = items.filter(customer_id__in=suggested)
    return list(items.order_by("due_date", "pk")[:OPEN_ITEMS_SHOWN])


@dataclass(frozen=True, slots=True)
class PolicyRow:
    """An entity's matching policy: as stored, or, before anyone changed it (`changed_at` None), the
    defaults the matcher applies. Amounts in minor units of `currency`."""

    entity_id: int
    entity_code: str
    currency: str
    auto_apply_confidence: Decimal
    write_off_tolerance_minor: int
    discount_grace_days: int
    return_fee_charge: str
    return_fee_minor: int
    fx_tolerance_percent: Decimal
    changed_at: datetime | None
    policy_id: int | None


def matching_policy_get(*, entity: LegalEntity) -> PolicyRow:
    stored = MatchingPolicy.objects.filter(entity=entity).first()
    policy = stored or MatchingPolicy(entity=entity, currency=entity.currency)
    return PolicyRow(
        entity_id=entity.pk,
        entity_code=entity.code,
        currency=policy.currency,
        auto_apply_confidence=Decimal(policy.auto_apply_confidence).quantize(Decimal("0.001")),
        write_off_tolerance_minor=policy.write_off_tolerance_minor,
        discount_grace_days=policy.discount_grace_days,
        return_fee_charge=policy.return_fee_charge,
        return_fee_minor=policy.return_fee_minor,
        fx_tolerance_percent=Decimal(policy.fx_tolerance_percent).quantize(Decimal("0.01")),
        changed_at=stored.changed_at if stored is not None else None,
        policy_id=stored.pk if stored is not None else None,
    )


def deductions_open_by_document(
    *, entity_ids: list[int], as_of: date, customer_id: int | None = None, currency: str | None = None
) -> dict[int, int]:
    """Per document, the deductions (short pays) cash application left open on it as of the date, in
    minor units of the document's currency: `deduction_minor` of the applications applied on or before
    the date and not reversed by then. An application takes effect on its allocations' posting date
    (without any, a deduction-only line, on the entity's business date it was made, never before the
    payment was booked); a reversal on the business date it was made. The caller caps each at what is
    still open (a deduction settled later by a credit memo is no longer open)."""
    from zoneinfo import ZoneInfo

    from o2c.receivables.models import Allocation

    applications = Application.objects.filter(
        document__entity_id__in=entity_ids,
        deduction_minor__gt=0,
        state__in=(Application.State.APPLIED, Application.State.REVERSED),
        payment__booking_date__lte=as_of,
    )
    if customer_id is not None:
        applications = applications.filter(document__customer_id=customer_id)
    if currency is not None:
        applications = applications.filter(document__currency=currency)
    rows = list(
        applications.values_list(
            "document_id",
            "deduction_minor",
            "allocation_ids",
            "created_at",
            "reversed_at",
            "payment__booking_date",
            "payment__entity__time_zone",
        )
    )
    allocation_ids = {pk for row in rows for pk in (row[2] or [])}
    posted = dict(Allocation.objects.filter(pk__in=allocation_ids).values_list("pk", "posting_date"))

    def business_date(moment: datetime, zone: str, booked: date) -> date:
        return max(moment.astimezone(ZoneInfo(zone)).date(), booked)

    totals: dict[int, int] = {}
    for document_id, deduction, ids, created_at, reversed_at, booked, zone in rows:
        dates = [posted[pk] for pk in ids or [] if pk in posted]
        applied_on = min(dates) if dates else business_date(created_at, zone, booked)
        if applied_on > as_of:
            continue
        if reversed_at is not None and business_date(reversed_at, zone, booked) <= as_of:
            continue
        totals[document_id] = totals.get(document_id, 0) + deduction
    return totals
