"""Shapes of the cash API: imported statements, payments with their applications, a person's actions,
the matching policy.
Money travels as locale-free decimal strings with the currency's decimals beside the `currency`;
confidences as decimal strings with three decimals; enumerations lowercase; dates ISO 8601."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from ninja import Field, Schema

from o2c.cash.models import Application, Payment, ReturnFeeCharge
from o2c.cash.selectors import PolicyRow
from o2c.core.money import format_minor
from o2c.customers.schemas import DecimalString
from o2c.receivables.schemas import CustomerRef

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def _confidence(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.001")))


class StatementImportedOut(Schema):
    """What `o2c cash import --format json` prints."""

    file: str
    format: str
    already_imported: bool
    statements: int
    entries: int
    payments: int
    duplicates: int
    ignored: int
    applied: int
    partially_applied: int
    on_account: int
    suggested: int
    unidentified: int
    amounts: dict[str, str] = Field(..., description="amount imported per currency")
    applied_amounts: dict[str, str] = Field(..., description="amount applied per currency")
    warnings: list[str]


class BadFileOut(Schema):
    """A bank file that cannot be read: `detail` is one line naming the file, where and what."""

    type: str
    title: str
    status: int
    detail: str
    code: str


class PaymentFilter(Schema):
    status: Payment.Status | None = Field(
        None, description="one status; default: the queue (unidentified, suggested, partially applied)"
    )
    customer: str | None = Field(None, description="customer number")
    page: int = Field(1, ge=1)
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class DocumentRef(Schema):
    id: int
    number: str | None


class ApplicationOut(Schema):
    id: int
    document: DocumentRef | None = Field(..., description="null for cash left on account")
    state: str
    currency: str
    amount: str
    discount: str
    write_off: str
    deduction: str
    confidence: str
    reasons: list[str]
    is_automatic: bool
    created_at: datetime
    created_by: str | None
    reversed_at: datetime | None

    @staticmethod
    def of(application: Application, currency: str) -> ApplicationOut:
        document = application.document
        return ApplicationOut(
            id=application.pk,
            document=DocumentRef(id=document.pk, number=document.number) if document is not None else None,
            state=application.state,
            currency=currency,
            amount=format_minor(application.amount_minor, currency),
            discount=format_minor(application.discount_minor, currency),
            write_off=format_minor(application.write_off_minor, currency),
            deduction=format_minor(application.deduction_minor, currency),
            confidence=_confidence(application.confidence),
            reasons=list(application.reasons),
            is_automatic=application.is_automatic,
            created_at=application.created_at,
            created_by=application.created_by.get_username() if application.created_by else None,
            reversed_at=application.reversed_at,
        )


class PaymentOut(Schema):
    id: int
    entity: str
    entry_reference: str
    status: str
    method: str
    value_date: date
    booking_date: date
    currency: str
    amount: str
    unapplied: str
    payer_name: str
    payer_iban: str
    payer_account: str
    remittance: str
    customer: CustomerRef | None = Field(..., description="the payer, once known")
    confidence: str
    reasons: list[str]
    suggestions: list[ApplicationOut] = Field(
        ..., description="the matcher's suggestions waiting for a person"
    )

    @staticmethod
    def fields_of(payment: Payment) -> dict[str, object]:
        currency = payment.currency
        applications = list(payment.applications.all())
        customer = payment.customer
        return {
            "id": payment.pk,
            "entity": payment.entity.code,
            "entry_reference": payment.entry_reference,
            "status": payment.status,
            "method": payment.method,
            "value_date": payment.value_date,
            "booking_date": payment.booking_date,
            "currency": currency,
            "amount": format_minor(payment.amount_minor, currency),
            "unapplied": format_minor(payment.unapplied_minor, currency),
            "payer_name": payment.payer_name,
            "payer_iban": payment.payer_iban,
            "payer_account": payment.payer_account,
            "remittance": payment.remittance,
            "customer": CustomerRef(id=customer.pk, number=customer.number, name=customer.name)
            if customer is not None
            else None,
            "confidence": _confidence(payment.confidence),
            "reasons": list(payment.reasons),
            "suggestions": [
                ApplicationOut.of(application, currency)
                for application in applications
                if application.state == Application.State.SUGGESTED
            ],
        }

    @staticmethod
    def of(payment: Payment) -> PaymentOut:
        """`payment` from `selectors.payment_list` (entity, customer and applications loaded)."""
        return PaymentOut.model_validate(PaymentOut.fields_of(payment))


class PaymentDetailOut(PaymentOut):
    applications: list[ApplicationOut] = Field(
        ..., description="every application: suggested, applied, rejected and reversed (history kept)"
    )

    @staticmethod
    def of_detail(payment: Payment) -> PaymentDetailOut:
        return PaymentDetailOut.model_validate(
            {
                **PaymentOut.fields_of(payment),
                "applications": [
                    ApplicationOut.of(application, payment.currency)
                    for application in payment.applications.all()
                ],
            }
        )


class PaymentPage(Schema):
    items: list[PaymentOut]
    page: int
    next_page: int | None = Field(..., description="null on the last page")


class ApplyLineIn(Schema):
    """An invoice given by `document_id` or by `invoice_number`, and what the payment settles on it."""

    document_id: int | None = None
    invoice_number: str | None = None
    amount: DecimalString
    discount: DecimalString = "0"
    write_off: DecimalString = "0"
    deduction: DecimalString = Field("0", description="kept back by the payer, left open on the invoice")


class ApplyIn(Schema):
    lines: list[ApplyLineIn] = Field(..., min_length=1)


class OnAccountIn(Schema):
    customer_number: str = Field(..., min_length=1, max_length=40)


class ReverseIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)


class PolicyFilter(Schema):
    entity: str | None = Field(None, description="legal entity code; default: the caller's default entity")


class PolicyOut(Schema):
    """An entity's matching policy; `changed_at` is null while the defaults apply."""

    entity: str
    currency: str = Field(..., description="the currency of write_off_tolerance and return_fee")
    auto_apply_confidence: str = Field(..., description="the matcher posts on its own from this confidence")
    write_off_tolerance: str = Field(..., description="bank charges written off up to, in currency")
    discount_grace_days: int = Field(..., description="days after the discount date still accepted")
    return_fee_charge: str = Field(..., description="none, bank_fee, fixed or bank_fee_plus_fixed")
    return_fee: str = Field(..., description="own fixed fee per returned payment, in currency")
    fx_tolerance_percent: str = Field(
        ...,
        description="cash converted at the day's rate within this percentage of the open amount settles "
        "it in full, the difference being realised FX",
    )
    changed_at: datetime | None

    @staticmethod
    def of(policy: PolicyRow) -> PolicyOut:
        return PolicyOut(
            entity=policy.entity_code,
            currency=policy.currency,
            auto_apply_confidence=_confidence(policy.auto_apply_confidence),
            write_off_tolerance=format_minor(policy.write_off_tolerance_minor, policy.currency),
            discount_grace_days=policy.discount_grace_days,
            return_fee_charge=policy.return_fee_charge,
            return_fee=format_minor(policy.return_fee_minor, policy.currency),
            fx_tolerance_percent=str(policy.fx_tolerance_percent),
            changed_at=policy.changed_at,
        )


class PolicyIn(Schema):
    """The policy as it is to be; the return fee settings and the FX tolerance left out keep what is
    stored. Amounts are in the entity's currency."""

    entity: str | None = Field(None, description="legal entity code; default: the caller's default entity")
    auto_apply_confidence: DecimalString = Field(..., description="0 to 1, at most three decimals")
    write_off_tolerance: DecimalString
    discount_grace_days: int = Field(..., description="0 to 60")
    return_fee_charge: ReturnFeeCharge | None = None
    return_fee: DecimalString | None = None
    fx_tolerance_percent: DecimalString | None = Field(None, description="0 to 10, at most two decimals")
    reason: str = Field("", max_length=500, description="why, for the audit trail")
