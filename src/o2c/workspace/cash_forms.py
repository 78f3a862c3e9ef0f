"""Forms of the cash application pages: a bank file to import, the queue's filters, a payment split
across invoices, cash put on a customer's account, an application reversed, the matching policy. Plain
forms: the workbench's services decide, and their refusals come back as one line on the page (the
policy's on the field they are about)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from o2c.cash.models import Payment, ReturnFeeCharge
from o2c.core.exceptions import DomainError
from o2c.workspace.forms import LocalizedDecimalField

# The workbench's refusals (UnableToApplyPayment and the import's), by code, in the reader's language.
# The service's own sentence, which names the payment, the invoice and the amounts, follows it.
CASH_MESSAGES: dict[str, Promise] = {
    "over_application": _("That is more than the payment has unapplied or the invoice has open."),
    "document_settled": _("The invoice is settled already."),
    "unknown_document": _("That is not an issued document of this legal entity."),
    "currency_mismatch": _("The invoice is in another currency than the payment."),
    "not_receivable": _("Cash settles invoices and debit memos, not credit memos."),
    "returned": _("The payment was returned to the payer: there is no cash to apply."),
    "bad_amount": _("An amount is negative, empty or has more decimals than the currency allows."),
    "no_lines": _("Name at least one invoice to apply the payment to."),
    "duplicate_document": _("Name each invoice once."),
    "no_suggestions": _("There are no suggestions to accept: apply the payment or put it on account."),
    "unknown_customer": _("That is not a customer of this legal entity."),
    "nothing_unapplied": _("The payment is applied in full: nothing is left to put on account."),
    "customer_mismatch": _("The payment is applied in part for another customer: reverse that first."),
    "reason_required": _("Say why the application is reversed."),
    "not_applied": _("Only an applied application can be reversed."),
    "unknown_payment": _("There is no such payment."),
    "unknown_application": _("There is no such application."),
}


@dataclass(frozen=True)
class ActionError:
    """A refused action, shown as one line: what is wrong in the reader's language, then the service's
    sentence with the payment, invoice and amounts."""

    text: str
    detail: str
    code: str


def action_error(error: DomainError) -> ActionError:
    known = CASH_MESSAGES.get(error.code)
    if known is None:
        return ActionError(text=error.message, detail="", code=error.code)
    return ActionError(text=str(known), detail=error.message, code=error.code)


class BankFileForm(forms.Form):
    entity = forms.TypedChoiceField(label=_("Legal entity"), coerce=int, required=False, empty_value=None)
    file = forms.FileField(label=_("Bank file"), allow_empty_file=False)
    # a bank's own CSV export: the saved mapping to read it with; empty: the one its header fits
    mapping = forms.ChoiceField(label=_("CSV mapping"), required=False)
    # names the import whose progress the page polls (o2c.workspace.cash_views.bank_file_progress)
    upload = forms.RegexField(regex=r"^[0-9a-f]{32}$", required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        entities: list[tuple[int, str]],
        mappings: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["entity"].choices = entities  # type: ignore[attr-defined]
        self.entity_count = len(entities)
        self.fields["mapping"].choices = [  # type: ignore[attr-defined]
            ("", _("Found by the file's header")),
            *(mappings or []),
        ]
        self.mapping_count = len(mappings or [])


QUEUE = ""


class PaymentFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[(QUEUE, _("To work (unidentified, suggested, partly applied)")), *Payment.Status.choices],
    )
    q = forms.CharField(label=_("Search"), required=False, max_length=100)


class OpenItemSearchForm(forms.Form):
    item_q = forms.CharField(label=_("Search open items"), required=False, max_length=100)


class CustomerSearchForm(forms.Form):
    customer = forms.CharField(label=_("Customer"), required=False, max_length=100)


def _amount(label: Promise) -> forms.DecimalField:
    return LocalizedDecimalField(label=label, required=False, max_digits=18, decimal_places=3)


@dataclass(frozen=True)
class SplitLine:
    invoice_number: str
    amount: Decimal
    discount: Decimal
    write_off: Decimal
    deduction: Decimal


class ApplyLineForm(forms.Form):
    invoice = forms.CharField(label=_("Invoice"), required=False, max_length=40)
    amount = _amount(_("Cash applied"))
    discount = _amount(_("Discount"))
    write_off = _amount(_("Write-off"))
    deduction = _amount(_("Deduction"))

    AMOUNTS = ("amount", "discount", "write_off", "deduction")

    def is_blank(self) -> bool:
        data = self.cleaned_data
        return not (data.get("invoice") or "").strip() and all(
            data.get(name) is None for name in self.AMOUNTS
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if any(name in self.errors for name in ("invoice", *self.AMOUNTS)):
            return data
        number = (data.get("invoice") or "").strip()
        has_amount = any(data.get(name) is not None for name in self.AMOUNTS)
        if has_amount and not number:
            self.add_error("invoice", _("Name the invoice."))
        elif number and not has_amount:
            self.add_error("amount", _("Enter the cash applied to this invoice."))
        return data

    def line(self) -> SplitLine:
        data = self.cleaned_data
        return SplitLine(
            invoice_number=data["invoice"].strip(),
            **{name: data.get(name) or Decimal(0) for name in self.AMOUNTS},
        )


class BaseApplyLineFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        numbers = [line.invoice_number for line in self.lines()]
        if not numbers:
            raise forms.ValidationError(_("Name at least one invoice to apply the payment to."))
        if len(set(numbers)) != len(numbers):
            raise forms.ValidationError(_("Name each invoice once."))

    def lines(self) -> list[SplitLine]:
        return [form.line() for form in self.forms if form.is_valid() and not form.is_blank()]


ApplyLineFormSet = forms.formset_factory(
    ApplyLineForm, formset=BaseApplyLineFormSet, extra=1, max_num=200, absolute_max=200
)


class OnAccountForm(forms.Form):
    customer = forms.CharField(label=_("Customer number"), max_length=40)


class ReverseForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        error_messages={"required": _("Say why the application is reversed.")},
    )


# The policy's refusals (UnableToChangeMatchingPolicy), by code: the field and what is wrong with it.
POLICY_MESSAGES: dict[str, tuple[str, Promise]] = {
    "bad_confidence": (
        "auto_apply_confidence",
        _("Enter a confidence between 0 and 1 with at most three decimals."),
    ),
    "bad_tolerance": (
        "write_off_tolerance",
        _("Enter an amount that is not negative, with no more decimals than the currency has."),
    ),
    "bad_grace_days": ("discount_grace_days", _("Enter between 0 and 60 days.")),
    "bad_return_fee_charge": ("return_fee_charge", _("Choose what the customer is charged.")),
    "bad_return_fee": (
        "return_fee",
        _("Enter an amount that is not negative, with no more decimals than the currency has."),
    ),
    "bad_fx_tolerance": (
        "fx_tolerance_percent",
        _("Enter a percentage between 0 and 10 with at most two decimals."),
    ),
}


class MatchingPolicyForm(forms.Form):
    """The whole policy of one legal entity, as it is to be, and why it changes (the page explains each
    setting beside its current value)."""

    auto_apply_confidence = LocalizedDecimalField(label=_("Auto-apply confidence (0 to 1)"))
    write_off_tolerance = LocalizedDecimalField(label=_("Write-off tolerance"))
    discount_grace_days = forms.IntegerField(label=_("Discount grace days"))
    fx_tolerance_percent = LocalizedDecimalField(label=_("FX tolerance (%)"))
    return_fee_charge = forms.ChoiceField(
        label=_("Charged for a returned payment"), choices=ReturnFeeCharge.choices
    )
    return_fee = LocalizedDecimalField(label=_("Own fixed return fee"))
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        error_messages={"required": _("Say why the matching policy changes.")},
    )

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("write_off_tolerance", "return_fee"):
            field = self.fields[name]
            field.label = f"{field.label} ({currency})"

    def add_policy_error(self, error: DomainError) -> None:
        """A refusal on the field it is about, in the reader's language; else the service's sentence."""
        known = POLICY_MESSAGES.get(error.code)
        if known is None:
            self.add_error(None, error.message)
            return
        field, message = known
        self.add_error(field, str(message))
