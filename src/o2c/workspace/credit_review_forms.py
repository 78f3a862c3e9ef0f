"""Forms of the credit analyst's review pages: completing a review, asking for a raise, ticking the
due-diligence checklist, attaching evidence, deciding a raise, and changing the scorecard (weights and
class thresholds, or the whole definition as JSON). Plain forms: `o2c.credit.reviews` and
`o2c.credit.scoring` decide, and their refusals come back on the page."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from o2c.credit import reviews
from o2c.credit.models import CreditReview, RaiseRequest
from o2c.credit.scorecard import FACTORS, RISK_CLASSES
from o2c.workspace.credit_scoring_forms import FACTOR_LABELS
from o2c.workspace.forms import LocalizedDecimalField


class ReviewCompleteForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=CreditReview.Decision.choices)
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class RaiseCreateForm(forms.Form):
    customer_number = forms.CharField(label=_("Customer number"), max_length=40)
    requested_limit = LocalizedDecimalField(label=_("Requested limit"), min_value=Decimal("0.01"))
    currency = forms.CharField(label=_("Currency"), min_length=3, max_length=3)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).strip().upper()


STATE_FILTER = [("", _("All")), *RaiseRequest.State.choices]


class RaiseFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("State"), choices=STATE_FILTER, required=False)


class CheckForm(forms.Form):
    item = forms.ChoiceField(choices=reviews.CHECKLIST, widget=forms.HiddenInput)
    checked = forms.BooleanField(label=_("Ticked"), required=False)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class EvidenceForm(forms.Form):
    file = forms.FileField(label=_("File"))
    item = forms.ChoiceField(
        label=_("Checklist item"), choices=[("", "—"), *reviews.CHECKLIST], required=False
    )
    description = forms.CharField(label=_("Description"), max_length=300, required=False)


class DecideForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[("approve", _("Approve")), ("decline", _("Decline"))]
    )
    limit = LocalizedDecimalField(label=_("Decided limit"), required=False)
    note = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class ScorecardForm(forms.Form):
    """The weights of the current version's factors and each class's minimum score, maximum limit and
    review interval; `definition(current)` is the current definition with these changed."""

    note = forms.CharField(label=_("Note"), max_length=300)

    def __init__(self, *args: Any, current: dict[str, Any], **kwargs: Any) -> None:
        self.current = current
        initial: dict[str, Any] = {}
        for factor in current.get("factors", []):
            initial[f"weight_{factor['code']}"] = Decimal(str(factor["weight"]))
        for rule in current.get("classes", []):
            code = rule["class"]
            initial[f"min_score_{code}"] = Decimal(str(rule["min_score"]))
            initial[f"max_limit_{code}"] = Decimal(str(rule["max_limit"]))
            initial[f"review_months_{code}"] = int(rule["review_months"])
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        codes = [f["code"] for f in current.get("factors", [])]
        for code in sorted(codes, key=lambda c: FACTORS.index(c) if c in FACTORS else len(FACTORS)):
            self.fields[f"weight_{code}"] = LocalizedDecimalField(
                label=FACTOR_LABELS.get(code, code), min_value=Decimal(0)
            )
        for code in RISK_CLASSES:
            self.fields[f"min_score_{code}"] = LocalizedDecimalField(label=_("Minimum score"))
            self.fields[f"max_limit_{code}"] = LocalizedDecimalField(label=_("Maximum limit"), min_value=0)
            self.fields[f"review_months_{code}"] = forms.IntegerField(
                label=_("Review every (months)"), min_value=1
            )
        self.order_fields(["note"])

    def weight_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("weight_")]

    def class_rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [
            (code, self[f"min_score_{code}"], self[f"max_limit_{code}"], self[f"review_months_{code}"])
            for code in RISK_CLASSES
        ]

    def definition(self) -> dict[str, Any]:
        data = self.cleaned_data
        changed = copy.deepcopy(self.current)
        for factor in changed["factors"]:
            factor["weight"] = _plain(data[f"weight_{factor['code']}"])
        for rule in changed["classes"]:
            code = rule["class"]
            rule["min_score"] = _plain(data[f"min_score_{code}"])
            rule["max_limit"] = _plain(data[f"max_limit_{code}"])
            rule["review_months"] = data[f"review_months_{code}"]
        return changed


def _plain(value: Decimal) -> str:
    """A number as the definition keeps it: a string without an exponent or trailing zeros."""
    text = format(value.normalize(), "f")
    return text


class ScorecardJsonForm(forms.Form):
    definition = forms.CharField(
        label=_("Definition (JSON)"), widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false"})
    )
    note = forms.CharField(label=_("Note"), max_length=300)

    def clean_definition(self) -> dict[str, Any]:
        try:
            parsed = json.loads(self.cleaned_data["definition"])
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                _("This is not JSON: %(error)s"), params={"error": str(error)}, code="invalid"
            ) from None
        if not isinstance(parsed, dict):
            raise forms.ValidationError(_("The definition must be a JSON object."), code="invalid")
        return parsed
