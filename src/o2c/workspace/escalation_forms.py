"""Forms of the escalation and agency pages: moving an account up or down with a reason, a rule of the
escalation matrix, an agency, a placement and its recall. Plain forms: the collections services decide,
and their refusals come back as one line on the form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from o2c.collections import escalation
from o2c.collections.models import EscalationLevel, EscalationReason
from o2c.core.exceptions import DomainError
from o2c.core.money import Money
from o2c.workspace.forms import LocalizedDecimalField

RULE_LEVELS = [
    (value, label) for value, label in EscalationLevel.choices if value != EscalationLevel.COLLECTOR
]
"""The levels a rule may call for (every account starts at the collector's)."""


class _ReasonForm(forms.Form):
    reason_code = forms.ChoiceField(label=_("Reason"), choices=EscalationReason.choices)
    reason_text = forms.CharField(
        label=_("Reason text"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class MoveForm(_ReasonForm):
    """Escalate or de-escalate an account: to one of the levels the reader may choose (`levels`)."""

    level = forms.ChoiceField(label=_("To level"))
    field_order = ["level", "reason_code", "reason_text"]

    def __init__(self, *args: Any, levels: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["level"].choices = levels  # type: ignore[attr-defined]


class RuleForm(forms.Form):
    """A rule of the matrix: its level and conditions (any one that is set fires it)."""

    name = forms.CharField(label=_("Name"), max_length=100)
    level = forms.ChoiceField(label=_("Level"), choices=RULE_LEVELS)
    min_days_overdue = forms.IntegerField(label=_("Days overdue at least"), required=False, min_value=0)
    min_overdue_amount = LocalizedDecimalField(
        label=_("Overdue amount at least"), required=False, max_digits=20, decimal_places=6
    )
    currency = forms.CharField(label=_("Currency"), required=False, max_length=3)
    min_broken_promises = forms.IntegerField(
        label=_("Broken promises at least (last 90 days)"), required=False, min_value=0
    )
    min_dunning_level = forms.IntegerField(label=_("Dunning level at least"), required=False, min_value=0)
    min_dunning_days = forms.IntegerField(
        label=_("Days since that dunning level"), required=False, min_value=0, initial=0
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        currency = (data.get("currency") or "").strip().upper()
        data["currency"] = currency
        amount = data.get("min_overdue_amount")
        if amount is not None:
            if len(currency) != 3:
                self.add_error("currency", _("Enter the currency of the amount."))
                return data
            try:
                data["min_overdue_minor"] = Money(amount, currency).to_minor()
            except DomainError as error:
                self.add_error("min_overdue_amount", error.message)
        return data

    def rule_in(self) -> escalation.RuleIn:
        """The cleaned form as the service's input."""
        data = self.cleaned_data
        return escalation.RuleIn(
            name=data["name"],
            level=data["level"],
            min_days_overdue=data["min_days_overdue"],
            min_overdue_minor=data.get("min_overdue_minor"),
            currency=data["currency"],
            min_broken_promises=data["min_broken_promises"],
            min_dunning_level=data["min_dunning_level"],
            min_dunning_days=data["min_dunning_days"] or 0,
            is_active=data["is_active"],
        )


class AgencyForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=30)
    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("E-mail"), required=False)


class PlacementForm(_ReasonForm):
    """Place a customer's open invoices and debit memos not yet with an agency."""

    customer = forms.CharField(label=_("Customer number"), max_length=50)
    agency = forms.TypedChoiceField(label=_("Agency"), coerce=int)
    field_order = ["customer", "agency", "reason_code", "reason_text"]

    def __init__(self, *args: Any, agencies: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agency"].choices = agencies  # type: ignore[attr-defined]


class RecallForm(_ReasonForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason_code"].initial = EscalationReason.OTHER
