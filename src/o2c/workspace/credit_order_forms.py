"""Forms of the credit analyst's order pages: the hold queue's and the order list's filters, the reason
of a release, rejection or cancellation, and the reports' date. Plain forms: `o2c.credit.orders`
decides, and its refusals come back on the page."""

from __future__ import annotations

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from o2c.credit import order_selectors, rules
from o2c.credit.models import SalesOrder

# How the pages name the hold reasons' codes (each reason also carries its own sentence with figures).
REASON_LABELS: dict[str, Promise] = {
    rules.OVER_CUSTOMER_LIMIT: _("Over the customer's credit limit"),
    rules.OVER_GROUP_LIMIT: _("Over the group's credit limit"),
    rules.NO_LIMIT: _("No credit limit"),
    rules.PAST_DUE: _("Items past due"),
    rules.LIMIT_EXPIRED: _("Credit limit expired"),
    rules.REVIEW_OVERDUE: _("Credit review overdue"),
    rules.CUSTOMER_BLOCKED: _("Customer blocked"),
}

# How the pages name the orders' states.
STATUS_LABELS: dict[str, Promise] = {
    SalesOrder.Status.HELD: _("Held"),
    SalesOrder.Status.RELEASED: _("Released"),
    SalesOrder.Status.REJECTED: _("Rejected"),
    SalesOrder.Status.SHIPPED: _("Shipped"),
    SalesOrder.Status.INVOICED: _("Invoiced"),
    SalesOrder.Status.CANCELLED: _("Cancelled"),
}


class HoldFilterForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason"),
        required=False,
        choices=[("", _("All")), *((code, REASON_LABELS[code]) for code in order_selectors.REASON_CODES)],
    )
    customer = forms.CharField(label=_("Customer"), max_length=100, required=False)


class OrderFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *STATUS_LABELS.items()]
    )
    customer = forms.CharField(label=_("Customer"), max_length=100, required=False)


class ReasonForm(forms.Form):
    """A release, a rejection and a cancellation need a reason (the services say so too)."""

    reason = forms.CharField(label=_("Reason"), max_length=500)  # stripped: blanks alone are no reason


class ReportForm(forms.Form):
    as_of = forms.DateField(label=_("As of"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
