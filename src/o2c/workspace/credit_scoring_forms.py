"""Forms of the credit analyst's application pages: a new account's application (company, requested
limit, one trade reference and one set of financial statements, both optional), its approval and its
decline. Plain forms: `o2c.credit.applications` decides, and its refusals come back on the page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from o2c.credit.models import TradeReference
from o2c.workspace.forms import LocalizedDecimalField

FIGURES = (
    ("current_assets", _("Current assets")),
    ("current_liabilities", _("Current liabilities")),
    ("total_assets", _("Total assets")),
    ("total_liabilities", _("Total liabilities")),
    ("retained_earnings", _("Retained earnings")),
    ("ebit", _("EBIT")),
    ("sales", _("Sales")),
    ("equity", _("Equity")),
)

# How the pages name the scorecard's factors.
FACTOR_LABELS = {
    "z_score": _("Altman Z''-score"),
    "current_ratio": _("Current ratio"),
    "leverage": _("Leverage (liabilities / assets)"),
    "days_beyond_terms": _("Days beyond terms (12 months)"),
    "dbt_trend": _("Trend of days beyond terms"),
    "broken_promises": _("Broken promises"),
    "disputes": _("Disputes opened"),
    "returned_payments": _("Returned payments"),
    "bureau_score": _("Bureau score"),
    "bureau_payment_index": _("Bureau payment index"),
    "bureau_failure_class": _("Bureau failure class"),
}


class ApplicationForm(forms.Form):
    company_name = forms.CharField(label=_("Company name"), max_length=200)
    country = forms.CharField(label=_("Country (ISO code)"), min_length=2, max_length=2)
    vat_id = forms.CharField(label=_("VAT ID"), max_length=30, required=False)
    registration_number = forms.CharField(label=_("Registration number"), max_length=40, required=False)
    address = forms.CharField(label=_("Address"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    requested_limit = LocalizedDecimalField(label=_("Requested limit"))
    currency = forms.CharField(label=_("Currency"), min_length=3, max_length=3)
    statement_date = forms.DateField(label=_("Financial statements of"), required=False)
    current_assets = LocalizedDecimalField(label=_("Current assets"), required=False)
    current_liabilities = LocalizedDecimalField(label=_("Current liabilities"), required=False)
    total_assets = LocalizedDecimalField(label=_("Total assets"), required=False)
    total_liabilities = LocalizedDecimalField(label=_("Total liabilities"), required=False)
    retained_earnings = LocalizedDecimalField(label=_("Retained earnings"), required=False)
    ebit = LocalizedDecimalField(label=_("EBIT"), required=False)
    sales = LocalizedDecimalField(label=_("Sales"), required=False)
    equity = LocalizedDecimalField(label=_("Equity"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("statement_date"):
            for name, _label in FIGURES:
                if data.get(name) is None:
                    self.add_error(name, _("Give every figure of the statements."))
        return data


class TradeReferenceForm(forms.Form):
    """One trade reference of an application; a row left empty is no reference."""

    name = forms.CharField(label=_("Trade reference"), max_length=200, required=False)
    contact = forms.CharField(label=_("Its contact"), max_length=200, required=False)
    years_known = forms.IntegerField(label=_("Years known"), min_value=0, required=False)
    highest_credit = LocalizedDecimalField(label=_("Highest credit"), required=False)
    payment_experience = forms.ChoiceField(
        label=_("Payment experience"), choices=[("", "—"), *TradeReference.Experience.choices], required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("name") and not data.get("payment_experience"):
            self.add_error("payment_experience", _("Say how the reference was paid."))
        return data


TRADE_REFERENCES = 3
"""Trade references the form takes (the API takes any number)."""
TradeReferenceFormSet = forms.formset_factory(
    TradeReferenceForm, extra=TRADE_REFERENCES, max_num=TRADE_REFERENCES, validate_max=True
)


class BureauFileForm(forms.Form):
    file = forms.FileField(label=_("Bureau export (CSV)"))


class ApproveForm(forms.Form):
    customer_number = forms.CharField(label=_("Customer number"), max_length=40)
    limit = LocalizedDecimalField(label=_("Decided limit"))
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class DeclineForm(forms.Form):
    note = forms.CharField(label=_("Reason"), max_length=500)
