"""Reads of cash application: the applications export, payment queues."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from o2c.cash.models import Application, Payment
from o2c.core.money import format_minor

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
