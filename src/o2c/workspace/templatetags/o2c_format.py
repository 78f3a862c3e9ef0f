"""Amounts, dates and enumerations in the reader's language, with Babel's CLDR formats.

Money is formatted from integer minor units scaled by the currency's decimals (never a float).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from django import template
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from o2c.core.money import currency_decimals

register = template.Library()


def current_locale() -> str:
    """The Babel locale of the active Django language ("de", "fr", "es", "en")."""
    return translation.to_locale(translation.get_language() or "en")


def minor_to_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-currency_decimals(currency))


@register.filter
def money(minor: int | str | None, currency: str) -> str:
    """`{{ doc.total_minor|money:doc.currency }}` -> "1.234,56 €" for a German reader."""
    if minor is None or minor == "":
        return ""
    return format_currency(minor_to_decimal(int(minor), currency), currency, locale=current_locale())


@register.filter
def amount(minor: int | str | None, currency: str) -> str:
    """The number alone, with the currency's decimals ("1.234,56"), for tables with a currency column."""
    if minor is None or minor == "":
        return ""
    decimals = currency_decimals(currency)
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(minor_to_decimal(int(minor), currency), format=pattern, locale=current_locale())


@register.filter
def number(value: Decimal | int | None) -> str:
    """Quantities, rates and percentages without trailing zeros ("19", "2,5")."""
    if value is None or value == "":
        return ""
    return format_decimal(Decimal(value).normalize(), locale=current_locale(), decimal_quantization=False)


@register.filter
def fdate(value: date | None, style: str = "medium") -> str:
    """`{{ doc.issue_date|fdate }}` -> "02.03.2026" (de), "Mar 2, 2026" (en); style short|medium|long."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return format_date(value, format=style, locale=current_locale())


@register.filter
def fdatetime(value: datetime | None, style: str = "short") -> str:
    if value is None or value == "":
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return format_datetime(value, format=style, locale=current_locale())


LABELS: dict[str, Promise] = {
    # document types
    "invoice": _("Invoice"),
    "credit_memo": _("Credit memo"),
    "debit_memo": _("Debit memo"),
    # credit management: limits, orders under credit control, blocks (docs/credit.md)
    "credit.limit.requested": _("Credit limit requested"),
    "credit.limit.approved": _("Credit limit approved"),
    "credit.limit.rejected": _("Credit limit rejected"),
    "credit.limit.changed": _("Credit limit changed"),
    "credit.policy.changed": _("Credit policy changed"),
    "credit.threshold.changed": _("Credit limit approval threshold changed"),
    "credit.order.released": _("Order released"),
    "credit.order.held": _("Order held for credit"),
    "credit.order.rejected": _("Order rejected"),
    "credit.order.rechecked": _("Held order released on recheck"),
    "credit.order.shipped": _("Order shipped"),
    "credit.order.invoiced": _("Order invoiced"),
    "credit.order.cancelled": _("Order cancelled"),
    "credit.customer.blocked": _("Customer blocked"),
    "credit.customer.unblocked": _("Customer unblocked"),
    # document status
    "draft": _("Draft"),
    "issued": _("Issued"),
    # settlement
    "open": pgettext_lazy("settlement", "Open"),
    "partially_paid": _("Partially paid"),
    "paid": _("Paid"),
    "credited": _("Credited"),
    "written_off": _("Written off"),
    # allocation kinds
    "payment": _("Payment"),
    "discount": _("Discount"),
    "write_off": _("Write-off"),
    "migration": _("Migration"),
    # customer status
    "active": _("Active"),
    "on_hold": _("On hold"),
    "blocked": _("Blocked"),
    # ledger account types
    "receivable": _("Receivable"),
    "bank": _("Bank"),
    "unapplied_cash": _("Unapplied cash"),
    "revenue": _("Revenue"),
    "deferred_revenue": _("Deferred revenue"),
    "tax": _("Tax"),
    "bad_debt": _("Bad debt"),
    "fx": _("FX differences"),
    "clearing": _("Clearing"),
    "other": _("Other"),
    # audit actions
    "customers.customer.created": _("Customer created"),
    "customers.customer.changed": _("Customer changed"),
    "customers.contact.added": _("Contact added"),
    "customers.bank_account.added": _("Bank account added"),
    "documents.statement.sent": _("Statement of account sent"),
    "receivables.document.created": _("Document created"),
    "receivables.document.issued": _("Document issued"),
    "receivables.allocation.created": _("Allocation posted"),
    "receivables.allocation.reversed": _("Allocation reversed"),
    "receivables.document.dispute_flag": _("Dispute flag changed"),
    "receivables.open_items.imported": _("Open items imported"),
    "ledger.entity.created": _("Legal entity created"),
    "ledger.entity.granted": _("Access to a legal entity granted"),
    "ledger.fx_rate.changed": _("FX rate changed"),
    "ledger.journal_entry.reversed": _("Journal entry reversed"),
    "ledger.periods.opened": _("Fiscal periods opened"),
    "ledger.period.closed": _("Fiscal period closed"),
    "ledger.period.reopened": _("Fiscal period reopened"),
    "close.revaluation.posted": _("FX revaluation posted"),
    "close.provision.posted": _("Expected-credit-loss provision posted"),
    "close.provision_rate.set": _("Loss rate set"),
    "close.provision_rates.derived": _("Loss rates derived from history"),
    "collections.plan.created": _("Dunning plan created"),
    "collections.notice.created": _("Dunning notice created"),
    "collections.promise.recorded": _("Promise to pay recorded"),
    "collections.promise.kept": _("Promise to pay kept"),
    "collections.promise.broken": _("Promise to pay broken"),
    "collections.promise.reopened": _("Promise to pay open again (payment returned)"),
    "collections.payment_plan.proposed": _("Payment plan proposed"),
    "collections.payment_plan.approved": _("Payment plan approved"),
    "collections.payment_plan.rejected": _("Payment plan rejected"),
    "collections.payment_plan.activated": _("Payment plan active"),
    "collections.payment_plan.completed": _("Payment plan completed"),
    "collections.payment_plan.defaulted": _("Payment plan defaulted"),
    "collections.payment_plan.reopened": _("Payment plan active again (payment returned)"),
    "collections.activity.logged": _("Collection activity logged"),
    "collections.target.set": _("Collection target set"),
    "collections.late_payment_policy.set": _("Late-payment policy set"),
    "collections.reference_rate.added": _("Reference interest rate recorded"),
    "collections.late_charge.issued": _("Late-payment interest and fees charged"),
    "collections.plan.changed": _("Dunning plan's segment changed"),
    "collections.step.changed": _("Dunning step changed"),
    "collections.plan.deleted": _("Dunning plan deleted"),
    "collections.step.added": _("Dunning step added"),
    "collections.step.removed": _("Dunning step removed"),
    "collections.template.changed": _("Dunning text changed"),
    "collections.notice.bounced": _("Dunning e-mail bounced"),
    "collections.address.cleared": _("Undeliverable e-mail address cleared"),
    "collections.letter.printed": _("Dunning letter printed"),
    "collections.escalation.raised": _("Account escalated"),
    "collections.escalation.lowered": _("Account de-escalated"),
    "collections.escalation_rule.created": _("Escalation rule added"),
    "collections.escalation_rule.changed": _("Escalation rule changed"),
    "collections.agency.created": _("Collection agency added"),
    "collections.agency_placement.created": _("Account placed with a collection agency"),
    "collections.agency_placement.recalled": _("Placement recalled from the collection agency"),
    "ledger.bank_account.registered": _("Own bank account registered"),
    "cash.bank_file.imported": _("Bank file imported"),
    "cash.payment.applied": _("Payment applied"),
    "cash.payment.put_on_account": _("Payment put on account"),
    "cash.payment.returned": _("Payment returned"),
    "cash.payment.return_fee_charged": _("Return fee charged to the customer"),
    "cash.remittance_advice.received": _("Remittance advice received"),
    "cash.application.reversed": _("Payment application reversed"),
    "cash.policy.changed": _("Matching policy changed"),
    "cash.refund_file.created": _("Refund file created (SEPA credit transfer)"),
    "cash.collection_file.created": _("Direct-debit collection file created"),
    "cash.mandate.created": _("SEPA direct-debit mandate added"),
    "cash.csv_mapping.created": _("Bank CSV mapping saved"),
    "cash.csv_mapping.changed": _("Bank CSV mapping changed"),
    "cash.csv_mapping.deleted": _("Bank CSV mapping deleted"),
    "receivables.credit_memo.approved": _("Credit memo approved"),
    "receivables.credit_memo.rejected": _("Credit memo rejected"),
    "receivables.document.rebilled": _("Invoice credited and rebilled"),
    "receivables.approval_policy.changed": _("Approval threshold changed"),
    # credit scoring (docs/credit-scoring.md)
    "credit.scorecard.changed": _("Credit scorecard changed"),
    "credit.customer.scored": _("Customer credit-scored"),
    "credit.application.submitted": _("Credit application submitted"),
    "credit.application.statement_added": _("Financial statements added to a credit application"),
    "credit.application.scored": _("Credit application scored"),
    "credit.application.approved": _("Credit application approved"),
    "credit.application.declined": _("Credit application declined"),
    "credit.bureau_report.imported": _("Credit bureau report imported"),
    "credit.review.completed": _("Credit review completed"),
    "credit.raise_request.created": _("Credit limit raise requested"),
    "credit.raise_request.checked": _("Raise request checklist item ticked"),
    "credit.raise_request.evidence_added": _("Evidence attached to a raise request"),
    "credit.raise_request.approved": _("Credit limit raise approved"),
    "credit.raise_request.declined": _("Credit limit raise declined"),
    "billing.product.created": _("Product created"),
    "billing.product.updated": _("Product changed"),
    "billing.subscription.imported": _("Subscription imported"),
    "billing.subscription.amended": _("Subscription amended"),
    "billing.subscription.cancelled": _("Subscription cancelled"),
    "billing.subscription.renewed": _("Subscription renewed"),
    "billing.invoice_profile.created": _("Invoice profile created"),
    "billing.invoice_profile.updated": _("Invoice profile changed"),
    "billing.tax_exemption.created": _("Exemption certificate added"),
    "billing.tax_exemption.ended": _("Exemption certificate ended"),
    "billing.tax_exemption.revoked": _("Exemption certificate revoked"),
    "ledger.tax_registration.created": _("Tax registration added"),
    "ledger.tax_registration.updated": _("Tax registration changed"),
    "ledger.bank_account.created": _("Bank account of a legal entity added"),
    "disputes.case.opened": _("Dispute case opened"),
    "disputes.case.state_changed": _("Dispute case state changed"),
    "disputes.case.assigned": _("Dispute case assigned"),
    "disputes.case.note_added": _("Note added to a dispute case"),
    "disputes.case.attachment_added": _("File attached to a dispute case"),
    "disputes.case.resolved": _("Dispute case resolved"),
    "disputes.case.approval_requested": _("Dispute resolution sent for approval"),
    "disputes.case.approval_rejected": _("Dispute case's credit memo rejected"),
    "disputes.case.write_off_approved": _("Dispute write-off approved"),
    "disputes.case.write_off_rejected": _("Dispute write-off rejected"),
    "disputes.reason_mapping.set": _("Customer's dispute code mapped"),
    "disputes.reason_policy.set": _("Dispute team and SLA set"),
    "disputes.write_off_policy.changed": _("Dispute write-off threshold changed"),
    "workspace.api_token.created": _("API token created"),
    "workspace.api_token.revoked": _("API token revoked"),
    # changes made in the Django admin (ledger.admin.AuditedAdmin)
    "admin.legalentity.created": _("Legal entity created in the admin"),
    "admin.legalentity.changed": _("Legal entity changed in the admin"),
    "admin.account.created": _("Ledger account created in the admin"),
    "admin.account.changed": _("Ledger account changed in the admin"),
    "admin.fiscalperiod.created": _("Fiscal period created in the admin"),
    "admin.fiscalperiod.changed": _("Fiscal period changed in the admin"),
    "admin.entitygrant.created": _("Access to a legal entity granted in the admin"),
    "admin.entitygrant.changed": _("Access to a legal entity changed in the admin"),
    "admin.fxrate.created": _("FX rate created in the admin"),
    "admin.fxrate.changed": _("FX rate changed in the admin"),
    # audited objects
    "customer": _("Customer"),
    "document": _("Document"),
    "product": _("Product"),
    "subscription": _("Subscription"),
    "invoice_profile": _("Invoice profile"),
    "legal_entity": _("Legal entity"),
    "dunning_plan": _("Dunning plan"),
    "tax_exemption": _("Exemption certificate"),
    "tax_registration": _("Tax registration"),
    "payment_file": _("Payment file"),
    "dispute_case": _("Dispute case"),
}


@register.filter
def label(value: Any) -> str:
    """A stored enumeration value in the reader's language; unknown values are shown as they are."""
    text = LABELS.get(str(value))
    return str(text) if text is not None else str(value)


_AUDIT_MONEY = re.compile(r"^(-?\d+(?:\.\d+)?) ([A-Z]{3})$")


def _audit_value(value: Any) -> str:
    """The audit trail records amounts as '1190.00 EUR'; the reader sees them in their own format."""
    if value is None:
        return ""
    text = str(value)
    match = _AUDIT_MONEY.match(text)
    if match:
        return format_currency(Decimal(match[1]), match[2], locale=current_locale())
    return text


@register.filter
def changes_text(changes: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """An audit event's {field: [old, new]} as rows for a table."""
    rows: list[tuple[str, str, str]] = []
    for field, pair in (changes or {}).items():
        old, new = (pair[0], pair[1]) if isinstance(pair, list | tuple) and len(pair) == 2 else ("", pair)
        before, after = _audit_value(old), _audit_value(new)
        if before or after:  # a field created empty says nothing
            rows.append((field, before, after))
    return rows
