"""Forms of the credit analyst's limit pages: the list's filters, a limit request, a block or unblock,
a checker's decision on a pending limit, and the entity's credit policy and approval threshold. Plain
forms: `o2c.credit` decides, and its refusals come back on the page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from o2c.credit import limit_selectors
from o2c.workspace.forms import LocalizedDecimalField


class LimitFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Customer"), max_length=100, required=False, widget=forms.TextInput(attrs={"type": "search"})
    )
    show = forms.ChoiceField(label=_("Show"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        show = self.fields["show"]
        assert isinstance(show, forms.ChoiceField)
        show.choices = [
            ("", gettext("All limits")),
            (limit_selectors.OVER_LIMIT, gettext("Over the limit")),
            (
                limit_selectors.HIGH_USE,
                gettext("More than %(percent)s%% of the limit used")
                % {"percent": limit_selectors.HIGH_USE_PERCENT},
            ),
            (limit_selectors.REVIEW_DUE, gettext("Review due")),
        ]


class LimitRequestForm(forms.Form):
    amount = LocalizedDecimalField(label=_("New limit"), min_value=0)
    currency = forms.CharField(label=_("Currency"), min_length=3, max_length=3)
    valid_until = forms.DateField(label=_("Valid until"), required=False)
    next_review_date = forms.DateField(label=_("Next review date"), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=500)


class ReasonForm(forms.Form):
    """Blocking, unblocking and rejecting a limit need a reason."""

    reason = forms.CharField(label=_("Reason"), max_length=500)


class DecisionForm(forms.Form):
    """A checker's decision on a pending limit: the reason is required to reject (the service says so)
    and optional to approve."""

    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class PolicyForm(forms.Form):
    past_due_days = forms.IntegerField(label=_("Days past due before orders are held"), min_value=0)
    cutoff_time = forms.TimeField(label=_("Daily cut-off (entity's time zone)"))
    sales_email = forms.EmailField(label=_("Sales e-mail for holds"), required=False)


class ThresholdForm(forms.Form):
    currency = forms.CharField(label=_("Currency"), min_length=3, max_length=3)
    amount = LocalizedDecimalField(label=_("Approval threshold"), min_value=0)
