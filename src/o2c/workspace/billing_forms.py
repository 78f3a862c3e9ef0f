"""Forms of the billing analyst's and AR manager's billing pages: amending, cancelling and renewing a
subscription, a customer's sales tax exemption certificates, the seller's invoice profile and tax
registrations.

They check what a person can get wrong at the edge, with messages in the reader's language; the billing
and ledger services decide, and their refusals come back on the field they name (`add_service_error`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from o2c.billing.errors import UnableToSaveBillingData
from o2c.billing.models import Product, Subscription
from o2c.billing.review import TermRow
from o2c.core.exceptions import DomainError
from o2c.workspace.forms import LocalizedDecimalField, domain_message
from o2c.workspace.templatetags.o2c_format import fdate

HUNDRED = Decimal(100)
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

# The billing and ledger services' refusals, by code, in the reader's language. Each form knows the
# codes of its service: a code means the same thing within one form.
SUBSCRIPTION_MESSAGES: dict[str, Promise] = {
    "bad_dates": _("The date is outside the subscription's dates."),
    "unknown_product": _("There is no such product in the catalogue."),
    "schedule_differs": _("The product bills on another schedule: choose one billed like the current one."),
    "no_price": _("The product has no price in the subscription's currency."),
    "bad_quantity": _("The quantity cannot be negative."),
}
EXEMPTION_MESSAGES: dict[str, Promise] = {
    "not_us_customer": _("Exemption certificates are for US sales tax: the customer is not in the US."),
    "bad_region": _("This is not a US state code (examples: NY, CA, TX)."),
    "missing_certificate": _("The certificate number is required."),
    "too_long": _("The certificate number has at most 60 characters."),
    "bad_dates": _("The last valid day cannot be before the first."),
    "overlapping_exemption": _(
        "Another certificate of the customer is valid in this state on some of these days: end it first."
    ),
    "cannot_extend": _(
        "A certificate cannot end later than it did: record the renewed certificate as a new one."
    ),
    "exemption_revoked": _("The certificate is revoked."),
    "reason_required": _("Say why."),
}
PROFILE_MESSAGES: dict[str, Promise] = {
    "bad_email": _("Enter a valid e-mail address."),
    "too_many_lines": _("An invoice prints at most 6 address lines."),
    "too_long": _("This is too long."),
}
REGISTRATION_MESSAGES: dict[str, Promise] = {
    "bad_country": _("This is not an ISO 3166 country code."),
    "bad_scheme": _("Use vat, or for US sales tax the state code (examples: NY, CA)."),
    "missing_number": _("The registration number is required."),
    "bad_vat_id": _("This is not a valid VAT id of the country."),
    "too_long": _("The registration number has at most 40 characters."),
}


class ServiceForm(forms.Form):
    """A form whose data a billing or ledger service takes: `service_messages` translates its refusals,
    `service_fields` names the field of a refusal whose error does not name one."""

    service_messages: dict[str, Promise] = {}
    service_fields: dict[str, str] = {}
    id_prefix = "id"  # several forms share a page: their fields' HTML ids differ by it

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)

    def add_service_error(self, error: DomainError) -> None:
        """A refusal on the field it is about when the form has that field, else on the form."""
        known = self.service_messages.get(error.code)
        message = str(known) if known is not None else domain_message(error)
        field = error.field if isinstance(error, UnableToSaveBillingData) else None
        field = field or self.service_fields.get(error.code)
        self.add_error(field if field in self.fields else None, message)


def _reason_field(max_length: int = 500) -> forms.CharField:
    return forms.CharField(label=_("Reason"), max_length=max_length)


# --- subscriptions -------------------------------------------------------------------------------


def term_on(terms: Sequence[TermRow], day: date) -> TermRow:
    """The term in force on a day (the first term for a day before all of them)."""
    current = terms[0]
    for term in terms:
        if term.effective_from <= day:
            current = term
    return current


class AmendForm(ServiceForm):
    """From a day on: another quantity, another product on the same billing schedule (an upgrade or a
    downgrade), another percentage discount. What is left empty stays as it was on that day."""

    id_prefix = "amend"
    service_messages = SUBSCRIPTION_MESSAGES

    effective_from = forms.DateField(label=_("From"), widget=DATE_INPUT)
    product_code = forms.ChoiceField(label=_("Product"), required=False)
    quantity = LocalizedDecimalField(
        label=_("Quantity"),
        max_digits=18,
        decimal_places=6,
        required=False,
        validators=[MinValueValidator(Decimal(0), message=_("The quantity cannot be negative."))],
    )
    discount_percent = LocalizedDecimalField(
        label=_("Discount %"),
        max_digits=6,
        decimal_places=3,
        required=False,
        validators=[
            MinValueValidator(Decimal(0), message=_("Percentages run from 0 to 100.")),
            MaxValueValidator(HUNDRED, message=_("Percentages run from 0 to 100.")),
        ],
    )
    reason = _reason_field(max_length=200)  # kept on the new term

    def __init__(
        self,
        *args: Any,
        subscription: Subscription,
        terms: Sequence[TermRow],
        products: Sequence[Product],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.subscription = subscription
        self.terms = terms
        field = self.fields["product_code"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            ("", _("Keep the product")),
            *((p.code, f"{p.code} · {p.name}") for p in products),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        day: date | None = data.get("effective_from")
        if day is None:
            return data
        start, end = self.subscription.start_date, self.subscription.end_date
        if day < start or (end is not None and day > end):
            message = (
                _("Choose a day from %(start)s to %(end)s, the subscription's dates.")
                if end is not None
                else _("Choose a day from %(start)s on, the subscription's start.")
            )
            self.add_error("effective_from", message % {"start": fdate(start), "end": fdate(end)})
            return data
        if self.terms and not self.errors:
            current = term_on(self.terms, day)
            product = data.get("product_code") or current.product_code
            quantity = current.quantity if data.get("quantity") is None else data["quantity"]
            discount = (
                current.discount_percent if data.get("discount_percent") is None else data["discount_percent"]
            )
            if (product, quantity, discount) == (
                current.product_code,
                current.quantity,
                current.discount_percent,
            ):
                raise forms.ValidationError(
                    _("Nothing changes from this day: give another quantity, product or discount.")
                )
        return data


class CancelForm(ServiceForm):
    """An end date earlier than the current one (or the first one of an open-ended subscription)."""

    id_prefix = "cancel"
    service_messages = SUBSCRIPTION_MESSAGES

    end_date = forms.DateField(label=_("Last day of service"), widget=DATE_INPUT)
    reason = _reason_field()

    def __init__(self, *args: Any, subscription: Subscription, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subscription = subscription

    def clean_end_date(self) -> date:
        end: date = self.cleaned_data["end_date"]
        subscription = self.subscription
        if end < subscription.start_date:
            raise forms.ValidationError(
                _("The last day cannot be before the start date %(date)s.")
                % {"date": fdate(subscription.start_date)}
            )
        if subscription.end_date is not None and end >= subscription.end_date:
            raise forms.ValidationError(
                _("The subscription ends on %(date)s already: choose an earlier day, or renew it.")
                % {"date": fdate(subscription.end_date)}
            )
        return end


class RenewForm(ServiceForm):
    """A later end date, or none (open-ended)."""

    id_prefix = "renew"
    service_messages = SUBSCRIPTION_MESSAGES

    end_date = forms.DateField(label=_("New last day of service"), required=False, widget=DATE_INPUT)
    open_ended = forms.BooleanField(label=_("No end date (open-ended)"), required=False)
    reason = _reason_field()

    def __init__(self, *args: Any, subscription: Subscription, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subscription = subscription

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        current = self.subscription.end_date
        if current is None:
            raise forms.ValidationError(_("The subscription has no end date: there is nothing to renew."))
        end: date | None = data.get("end_date")
        if "end_date" in self.errors:
            return data
        if data.get("open_ended") == (end is not None):
            self.add_error("end_date", _("Give the new last day or tick “No end date”: one of the two."))
        elif end is not None and end <= current:
            self.add_error(
                "end_date",
                _("Choose a day after the current last day %(date)s; an earlier one is a cancellation.")
                % {"date": fdate(current)},
            )
        return data


# --- exemption certificates ------------------------------------------------------------------------


class ExemptionAddForm(ServiceForm):
    id_prefix = "exemption"
    service_messages = EXEMPTION_MESSAGES

    region = forms.CharField(label=_("State (code)"), max_length=2, min_length=2)
    certificate = forms.CharField(label=_("Certificate number"), max_length=60)
    valid_from = forms.DateField(label=_("Valid from"), widget=DATE_INPUT)
    valid_to = forms.DateField(label=_("Valid to (last day)"), required=False, widget=DATE_INPUT)
    reason = _reason_field()

    def clean_region(self) -> str:
        return str(self.cleaned_data["region"]).strip().upper()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("valid_from"), data.get("valid_to")
        if first is not None and last is not None and last < first:
            self.add_error("valid_to", _("The last valid day cannot be before the first."))
        return data


class ExemptionEndForm(ServiceForm):
    id_prefix = "end"
    service_messages = {
        **EXEMPTION_MESSAGES,
        "bad_dates": _(
            "The last valid day cannot be before the first; revoke a certificate that never applied."
        ),
    }

    valid_to = forms.DateField(label=_("Last valid day"), widget=DATE_INPUT)
    reason = _reason_field()


class ExemptionRevokeForm(ServiceForm):
    id_prefix = "revoke"
    service_messages = EXEMPTION_MESSAGES

    reason = _reason_field()


# --- the seller: invoice profile and tax registrations ---------------------------------------------


class InvoiceProfileForm(ServiceForm):
    id_prefix = "profile"
    service_messages = PROFILE_MESSAGES

    address = forms.CharField(
        label=_("Address (one line per address line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    email = forms.EmailField(label=_("Invoice e-mail address (sender and reply-to)"), required=False)
    register_court = forms.CharField(label=_("Register court"), max_length=100, required=False)
    register_number = forms.CharField(label=_("Register number"), max_length=60, required=False)
    managing_directors = forms.CharField(label=_("Managing directors"), max_length=200, required=False)
    reason = _reason_field()


class TaxRegistrationForm(ServiceForm):
    id_prefix = "registration"
    service_messages = REGISTRATION_MESSAGES
    service_fields = {
        "bad_country": "country",
        "bad_scheme": "scheme",
        "missing_number": "number",
        "bad_vat_id": "number",
        "too_long": "number",
    }

    country = forms.CharField(label=_("Country (ISO code)"), max_length=2, min_length=2)
    scheme = forms.CharField(label=_("Scheme (vat, or the US state code)"), max_length=20, initial="vat")
    number = forms.CharField(label=_("Registration number"), max_length=40)
    reason = _reason_field()
