"""Plain forms of the back office. They validate input at the edge, with messages in the reader's
language; the services decide, and their refusals come back as form errors (see `add_domain_error`)."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import NumberFormatError, format_decimal, parse_decimal
from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from o2c.core.exceptions import DomainError
from o2c.customers.models import Customer
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import ReasonCode
from o2c.receivables.services import CreditLineIn

HUNDRED = Decimal(100)

# Refusals of the domain services, by their stable code, in the reader's language.
DOMAIN_MESSAGES: dict[str, Promise] = {
    "missing_name": _("The name is required."),
    "bad_status": _("This is not a customer status."),
    "bad_country": _("This is not an ISO 3166 country code."),
    "bad_language": _("This is not an ISO 639-1 language code."),
    "bad_currency": _("This is not an ISO 4217 currency code."),
    "bad_terms": _("These payment terms are not understood (examples: NET30, NET0, 2/10NET30)."),
    "bad_vat_id": _("This is not a valid VAT id."),
    "bad_customer_type": _("Use letters, digits and underscores, at most 30 (examples: key_account, sme)."),
    "bad_iban": _("This is not a valid IBAN."),
    "bad_bic": _("This is not a valid BIC."),
    "duplicate_iban": _("This IBAN is already on file for the customer."),
    "unknown_parent": _("There is no customer with this parent number."),
    "parent_cycle": _("A customer cannot be its own parent or ancestor."),
    "bad_credit_limit": _("The credit limit cannot be negative."),
    "no_lines": _("A document needs at least one line."),
    "bad_quantity": _("The quantity must be positive."),
    "bad_price": _("The unit price cannot be negative."),
    "bad_percent": _("Percentages run from 0 to 100."),
    "customer_blocked": _("The customer is blocked: no new invoices."),
    "bad_correction": _("Only an issued invoice of the same customer and currency can be credited."),
    "exceeds_invoice": _("The credit memo exceeds what is left to credit on the invoice."),
    "not_draft": _("The document is issued already."),
    "zero_total": _("A document with a zero total is not issued."),
    "bad_threshold": _("The threshold is a positive amount in the currency's smallest unit."),
    "no_open_period": _("The posting date is not in an open fiscal period."),
    "period_closed": _("The posting date is in a closed fiscal period."),
    "too_many_decimals": _("The amount has more decimals than the currency allows."),
    "bad_amount": _("The amount must be positive."),
    "bad_reason_code": _("Choose a reason code."),
    "reason_required": _("Say why."),
    "exceeds_line": _("A line cannot be credited beyond what is left of it."),
    "quantity_or_amount": _("Credit a quantity or an amount of a line, not both."),
    "duplicate_line": _("Each line is credited once per credit memo."),
    "unknown_line": _("This is not a line of the invoice."),
    "unknown_rate": _("The invoice has no such tax rate."),
    "nothing_to_credit": _("Nothing is left to credit on this invoice."),
    "approval_pending": _("The credit memo waits for approval by a second person."),
    "approval_rejected": _("The credit memo was rejected; it is never issued."),
    "same_person": _("You made this credit memo: a second person approves or rejects it."),
    "not_pending": _("The credit memo does not wait for approval."),
    "rebill_not_credited": _(
        "The invoice this one replaces is not credited in full yet: issue its credit memo first."
    ),
}

DOMAIN_FIELDS: dict[str, str] = {
    "missing_name": "name",
    "bad_status": "status",
    "bad_country": "country",
    "bad_language": "language",
    "bad_currency": "currency",
    "bad_terms": "payment_terms",
    "bad_vat_id": "vat_id",
    "bad_customer_type": "customer_type",
    "bad_iban": "iban",
    "bad_bic": "bic",
    "duplicate_iban": "iban",
    "unknown_parent": "parent_number",
    "parent_cycle": "parent_number",
    "bad_reason_code": "reason_code",
    "reason_required": "reason",
}


def domain_message(error: DomainError) -> str:
    """The translated message for a known refusal code, else the service's own message."""
    known = DOMAIN_MESSAGES.get(error.code)
    return str(known) if known is not None else error.message


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Show a service's refusal on the field it is about when the form has it, else on the form."""
    field = DOMAIN_FIELDS.get(error.code)
    form.add_error(field if field in form.fields else None, domain_message(error))


class LocalizedDecimalField(forms.DecimalField):
    """A number typed as the reader writes it ("1.000,10" in German, "1,000.10" in English), read with
    Babel's CLDR rules; a locale-free "1000.10" is understood too. Never a float."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if value in self.empty_values:
            return None
        text = re.sub(r"[\s\u00a0\u202f]", "", str(value))
        locale = translation.to_locale(translation.get_language() or "en")
        try:
            return parse_decimal(text, locale=locale, strict=True)
        except NumberFormatError:
            pass
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise forms.ValidationError(_("Enter a number."), code="invalid") from None
        if not number.is_finite():
            raise forms.ValidationError(_("Enter a number."), code="invalid")
        return number

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, Decimal):
            locale = translation.to_locale(translation.get_language() or "en")
            return format_decimal(value, locale=locale, group_separator=False, decimal_quantization=False)
        return value


def _percent_field(label: Promise) -> forms.DecimalField:
    return LocalizedDecimalField(
        label=label,
        max_digits=6,
        decimal_places=3,
        required=False,
        initial=Decimal(0),
        validators=[
            MinValueValidator(Decimal(0), message=_("Percentages run from 0 to 100.")),
            MaxValueValidator(HUNDRED, message=_("Percentages run from 0 to 100.")),
        ],
    )


class CustomerSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("All")),
            ("active", _("Active")),
            ("on_hold", _("On hold")),
            ("blocked", _("Blocked")),
        ],
    )


class CustomerForm(forms.Form):
    """Master data a person may change; the number never changes, the credit limit goes through credit."""

    name = forms.CharField(label=_("Name"), max_length=200)
    country = forms.CharField(label=_("Country (ISO code)"), max_length=2)
    currency = forms.CharField(label=_("Currency"), max_length=3)
    language = forms.CharField(label=_("Language (ISO code)"), max_length=8)
    payment_terms = forms.CharField(label=_("Payment terms"), max_length=20)
    email = forms.EmailField(label=_("E-mail"), required=False)
    vat_id = forms.CharField(label=_("VAT id"), max_length=30, required=False)
    parent_number = forms.CharField(label=_("Parent customer number"), max_length=40, required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("active", _("Active")), ("on_hold", _("On hold")), ("blocked", _("Blocked"))],
    )
    address = forms.CharField(label=_("Address"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    crm_id = forms.CharField(label=_("CRM id"), max_length=60, required=False)
    erp_id = forms.CharField(label=_("ERP id"), max_length=60, required=False)
    customer_type = forms.CharField(
        label=_("Customer type"),
        max_length=30,
        required=False,
        help_text=_(
            "Your own segment code, such as key_account, sme or public_sector; "
            "dunning plans can select on it."
        ),
    )
    reason = forms.CharField(label=_("Reason for the change"), max_length=500)

    @staticmethod
    def initial_for(customer: Customer) -> dict[str, Any]:
        values: dict[str, Any] = {
            name: getattr(customer, name)
            for name in (
                "name",
                "country",
                "currency",
                "language",
                "payment_terms",
                "email",
                "vat_id",
                "status",
                "address",
                "crm_id",
                "erp_id",
                "customer_type",
            )
        }
        values["parent_number"] = customer.parent.number if customer.parent is not None else ""
        return values


class UndeliverableClearForm(forms.Form):
    address = forms.EmailField(label=_("E-mail"))
    reason = forms.CharField(label=_("Reason"), max_length=500)


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    role = forms.CharField(label=_("Role"), max_length=60, required=False)
    is_billing = forms.BooleanField(label=_("Billing contact"), required=False)


class BankAccountForm(forms.Form):
    iban = forms.CharField(label=_("IBAN"), max_length=42)
    bic = forms.CharField(label=_("BIC"), max_length=11, required=False)
    holder = forms.CharField(label=_("Account holder"), max_length=150, required=False)


class DocumentFilterForm(forms.Form):
    q = forms.CharField(label=_("Number or PO"), required=False, max_length=60)
    type = forms.ChoiceField(
        label=_("Type"),
        required=False,
        choices=[
            ("", _("All types")),
            ("invoice", _("Invoice")),
            ("credit_memo", _("Credit memo")),
            ("debit_memo", _("Debit memo")),
        ],
    )
    open = forms.BooleanField(label=_("Open items only"), required=False)


class DocumentForm(forms.Form):
    """The head of a manual invoice; its lines come from `LineFormSet`."""

    entity = forms.TypedChoiceField(label=_("Legal entity"), coerce=int, choices=[])
    customer_number = forms.CharField(label=_("Customer number"), max_length=40)
    issue_date = forms.DateField(label=_("Issue date"), widget=forms.DateInput(attrs={"type": "date"}))
    po_number = forms.CharField(label=_("PO number"), max_length=60, required=False)

    def __init__(self, *args: Any, entities: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.entities = entities
        field = self.fields["entity"]
        field.choices = entities  # type: ignore[attr-defined]
        if len(entities) == 1:  # the only entity granted: nothing to choose
            field.initial = entities[0][0]
            field.required = False
            field.widget = forms.HiddenInput()

    def clean_entity(self) -> int:
        chosen: Any = self.cleaned_data.get("entity")
        if chosen in (None, "") and len(self.entities) == 1:
            return self.entities[0][0]
        if chosen in (None, ""):
            raise forms.ValidationError(_("Choose the legal entity."))
        return int(chosen)


class LineForm(forms.Form):
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    quantity = LocalizedDecimalField(label=_("Quantity"), max_digits=18, decimal_places=6, required=False)
    unit_price = LocalizedDecimalField(label=_("Unit price"), max_digits=20, decimal_places=6, required=False)
    discount_percent = _percent_field(_("Discount %"))
    tax_rate = _percent_field(_("Tax rate %"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.has_changed() or self.is_blank(data):
            return data
        if not (data.get("description") or "").strip():
            self.add_error("description", _("Each line needs a description."))
        quantity = data.get("quantity")
        if quantity is None:
            self.add_error("quantity", _("Each line needs a quantity."))
        elif quantity <= 0:
            self.add_error("quantity", _("The quantity must be positive."))
        price = data.get("unit_price")
        if price is None:
            self.add_error("unit_price", _("Each line needs a unit price."))
        elif price < 0:
            self.add_error("unit_price", _("The unit price cannot be negative."))
        return data

    @staticmethod
    def is_blank(data: dict[str, Any]) -> bool:
        return (
            not (data.get("description") or "").strip()
            and data.get("quantity") is None
            and (data.get("unit_price") is None)
        )

    def line(self) -> LineIn:
        data = self.cleaned_data
        return LineIn(
            description=data["description"].strip(),
            quantity=data["quantity"],
            unit_price=data["unit_price"],
            tax_rate=data.get("tax_rate") or Decimal(0),
            discount_percent=data.get("discount_percent") or Decimal(0),
        )


class BaseLineFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        if not self.lines():
            raise forms.ValidationError(_("A document needs at least one line."))

    def lines(self) -> list[LineIn]:
        return [
            form.line()
            for form in self.forms
            if form.has_changed() and not LineForm.is_blank(form.cleaned_data)
        ]


LineFormSet = forms.formset_factory(LineForm, formset=BaseLineFormSet, extra=4, max_num=200)


class CreditMemoForm(forms.Form):
    """The head of a credit memo: why and when, and what to credit: either the whole invoice (`full`),
    chosen lines (`CreditLineFormSet`), or a net amount spread over the invoice's tax rates (or all at
    one of them). The reason code is preselected as `other` and taken as `other` when a request leaves
    it out; a person chooses the right one from the list."""

    reason_code = forms.ChoiceField(
        label=_("Reason code"), choices=ReasonCode.choices, initial=ReasonCode.OTHER, required=False
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)
    issue_date = forms.DateField(label=_("Issue date"), widget=forms.DateInput(attrs={"type": "date"}))
    full = forms.BooleanField(label=_("Credit all that is left of the invoice"), required=False)
    description = forms.CharField(label=_("Description"), max_length=300, initial=_("Credit"), required=False)
    net_amount = LocalizedDecimalField(
        label=_("Net amount"),
        max_digits=20,
        decimal_places=6,
        required=False,
        validators=[MinValueValidator(Decimal("0.000001"), message=_("The amount must be positive."))],
    )
    tax_rate = forms.TypedChoiceField(
        label=_("Tax rate %"), coerce=Decimal, choices=[], required=False, empty_value=None
    )

    def __init__(self, *args: Any, tax_rates: list[Decimal], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rates = sorted({rate.normalize() for rate in tax_rates})
        choices: list[tuple[str, Any]] = [("", _("All rates, in proportion to their bases"))]
        choices += [(str(rate), f"{rate} %") for rate in rates]
        self.fields["tax_rate"].choices = choices  # type: ignore[attr-defined]
        if len(rates) == 1:
            self.fields["tax_rate"].initial = str(rates[0])

    def clean_reason_code(self) -> str:
        return str(self.cleaned_data.get("reason_code") or ReasonCode.OTHER)

    def description_or_default(self) -> str:
        return str(self.cleaned_data.get("description") or "").strip() or str(_("Credit"))


class CreditLineForm(forms.Form):
    """One invoice line of the credit memo page: a quantity of it, or a net amount of it, or nothing."""

    line_id = forms.IntegerField(widget=forms.HiddenInput)
    quantity = LocalizedDecimalField(
        label=_("Quantity to credit"),
        max_digits=18,
        decimal_places=6,
        required=False,
        validators=[MinValueValidator(Decimal("0.000001"), message=_("The quantity must be positive."))],
    )
    amount = LocalizedDecimalField(
        label=_("Net amount to credit"),
        max_digits=20,
        decimal_places=6,
        required=False,
        validators=[MinValueValidator(Decimal("0.000001"), message=_("The amount must be positive."))],
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("quantity") is not None and data.get("amount") is not None:
            raise forms.ValidationError(_("Credit a quantity or an amount of a line, not both."))
        return data

    def credit(self) -> CreditLineIn | None:
        data = self.cleaned_data
        if data.get("quantity") is None and data.get("amount") is None:
            return None
        return CreditLineIn(line_id=data["line_id"], quantity=data.get("quantity"), amount=data.get("amount"))


class BaseCreditLineFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    def credits(self) -> list[CreditLineIn]:
        return [credit for form in self.forms if (credit := form.credit()) is not None]


CreditLineFormSet = forms.formset_factory(
    CreditLineForm, formset=BaseCreditLineFormSet, extra=0, max_num=1000, absolute_max=1000
)


class CreditAndRebillForm(forms.Form):
    """Why and when: the invoice is credited in full and its replacement drafted with `RebillLineFormSet`."""

    reason_code = forms.ChoiceField(label=_("Reason code"), choices=[("", _("Choose…")), *ReasonCode.choices])
    reason = forms.CharField(label=_("Reason"), max_length=300)
    issue_date = forms.DateField(label=_("Issue date"), widget=forms.DateInput(attrs={"type": "date"}))


class RebillLineForm(LineForm):
    """A line of the replacement invoice; what the page does not show (tax category, item code, service
    period) comes along from the invoice's line."""

    tax_category = forms.CharField(widget=forms.HiddenInput, required=False, max_length=2)
    item_code = forms.CharField(widget=forms.HiddenInput, required=False, max_length=60)
    period_start = forms.DateField(widget=forms.HiddenInput, required=False)
    period_end = forms.DateField(widget=forms.HiddenInput, required=False)

    def line(self) -> LineIn:
        data = self.cleaned_data
        return replace(
            super().line(),
            tax_category=(data.get("tax_category") or "S").strip() or "S",
            item_code=(data.get("item_code") or "").strip(),
            period_start=data.get("period_start"),
            period_end=data.get("period_end"),
        )


class BaseRebillLineFormSet(BaseLineFormSet):
    """Lines pre-filled from the invoice count even when left unchanged; emptied lines are dropped."""

    def lines(self) -> list[LineIn]:
        return [
            form.line()
            for form in self.forms
            if not LineForm.is_blank(form.cleaned_data) and form.cleaned_data.get("description")
        ]


RebillLineFormSet = forms.formset_factory(
    RebillLineForm, formset=BaseRebillLineFormSet, extra=2, max_num=200, absolute_max=200
)


class ApprovalForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class ApprovalThresholdForm(forms.Form):
    """The credit memo amount (gross) above which a second person approves, per entity and currency;
    empty removes the threshold."""

    entity = forms.TypedChoiceField(label=_("Legal entity"), coerce=int)
    currency = forms.CharField(label=_("Currency"), min_length=3, max_length=3)
    threshold = LocalizedDecimalField(
        label=_("Approval above (gross)"), max_digits=20, decimal_places=2, required=False, min_value=0
    )
    reason = forms.CharField(label=_("Reason"), max_length=500)

    def __init__(self, *args: Any, entities: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["entity"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = entities

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).strip().upper()


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=settings.LANGUAGES)
    next = forms.CharField(required=False)


class TrialBalanceForm(forms.Form):
    as_of = forms.DateField(label=_("As of"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
