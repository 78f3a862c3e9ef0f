"""Forms of the dispute analyst's pages: the case list's filters, a dispute opened on an invoice, a
note, a file, a move between working states, an owner and team, a resolution, a write-off decided.
Plain forms: the disputes services decide, and their refusals come back as one line on the page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from o2c.disputes.models import Case, ReasonCode, Team
from o2c.workspace.forms import LocalizedDecimalField

ALL_STATES = "all"
"""The state filter's value for every case; empty (the default) is the open ones."""

OUTCOMES = (
    (Case.State.RESOLVED_CREDIT.value, _("Credit memo")),
    (Case.State.REJECTED_INVALID.value, _("Reject as invalid")),
    (Case.State.WRITTEN_OFF.value, _("Write off")),
)
"""The resolutions of the resolve form; credit-and-rebill has its own page (the replacement's lines)."""


def _owner_choices(owners: list[tuple[int, str]], empty: str) -> list[tuple[str, str]]:
    return [("", empty), *((str(pk), name) for pk, name in owners)]


class CaseFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("Open cases")), (ALL_STATES, _("All states")), *Case.State.choices],
    )
    reason = forms.ChoiceField(
        label=_("Reason"), required=False, choices=[("", _("Any reason")), *ReasonCode.choices]
    )
    team = forms.ChoiceField(label=_("Team"), required=False, choices=[("", _("Any team")), *Team.choices])
    owner = forms.TypedChoiceField(label=_("Owner"), required=False, coerce=int, empty_value=None)
    customer = forms.CharField(label=_("Customer"), required=False, max_length=100)

    def __init__(self, *args: Any, owners: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = _owner_choices(owners, str(_("Anyone")))  # type: ignore[attr-defined]


class CaseOpenForm(forms.Form):
    """A dispute on an invoice: how much of it, why, and optionally who works it."""

    amount = LocalizedDecimalField(label=_("Disputed amount"), max_digits=20, decimal_places=6)
    reason_code = forms.ChoiceField(label=_("Reason"), choices=[("", _("Choose…")), *ReasonCode.choices])
    customer_reason_code = forms.CharField(
        label=_("The customer's own code or words"), required=False, max_length=300
    )
    team = forms.ChoiceField(
        label=_("Team"), required=False, choices=[("", _("By the reason's routing")), *Team.choices]
    )
    owner = forms.TypedChoiceField(label=_("Owner"), required=False, coerce=int, empty_value=None)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, owners: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = _owner_choices(owners, str(_("Nobody yet")))  # type: ignore[attr-defined]


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3, "id": "id_note_text"})
    )


class AttachmentForm(forms.Form):
    """A file for the case (the service checks its size and type) and what it is."""

    file = forms.FileField(label=_("File"))
    description = forms.CharField(label=_("What it is"), required=False, max_length=300)


class TransitionForm(forms.Form):
    state = forms.ChoiceField(
        choices=[
            (state.value, state.label)
            for state in (Case.State.OPEN, Case.State.IN_REVIEW, Case.State.WAITING_ON_CUSTOMER)
        ]
    )


class AssignForm(forms.Form):
    owner = forms.TypedChoiceField(label=_("Owner"), required=False, coerce=int, empty_value=None)
    team = forms.ChoiceField(label=_("Team"), choices=Team.choices)

    def __init__(self, *args: Any, owners: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = _owner_choices(owners, str(_("Nobody")))  # type: ignore[attr-defined]


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Resolution"), choices=OUTCOMES, widget=forms.RadioSelect)
    root_cause = forms.ChoiceField(
        label=_("Root cause"),
        required=False,
        choices=[("", _("The case's reason")), *ReasonCode.choices],
    )
    resolution = forms.CharField(
        label=_("How it was resolved, and why"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    net_amount = LocalizedDecimalField(
        label=_("Net amount to credit (optional)"),
        required=False,
        max_digits=20,
        decimal_places=6,
        help_text=_("Empty: the case's amount, net at the invoice's tax rates."),
    )


class RebillForm(forms.Form):
    """Credit-and-rebill of a case: why; the replacement's lines come from `forms.RebillLineFormSet`."""

    root_cause = forms.ChoiceField(
        label=_("Root cause"),
        required=False,
        choices=[("", _("The case's reason")), *ReasonCode.choices],
    )
    resolution = forms.CharField(label=_("How it was resolved, and why"), max_length=2000)


class DecisionForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300)


# --- the disputes settings of a legal entity ------------------------------------------------------


class ReasonMappingForm(forms.Form):
    """What a customer's own code means, for every customer of the entity or for one."""

    customer_code = forms.CharField(label=_("The customer's code"), max_length=60)
    customer_number = forms.CharField(
        label=_("For one customer (number)"),
        required=False,
        max_length=40,
        help_text=_("Empty: every customer"),
    )
    reason_code = forms.ChoiceField(label=_("Reason"), choices=ReasonCode.choices)
    reason = forms.CharField(label=_("Why"), required=False, max_length=300)


class ReasonPolicyForm(forms.Form):
    """Where new cases of a reason go and their SLA."""

    reason_code = forms.ChoiceField(label=_("Reason"), choices=ReasonCode.choices)
    team = forms.ChoiceField(label=_("Team"), choices=Team.choices)
    sla_days = forms.IntegerField(label=_("SLA (business days)"), min_value=1, max_value=365)
    reason = forms.CharField(label=_("Why"), required=False, max_length=300)


class WriteOffThresholdForm(forms.Form):
    """Above the threshold a case's write-off waits for an AR manager; empty removes it."""

    currency = forms.CharField(label=_("Currency"), min_length=3, max_length=3)
    threshold = LocalizedDecimalField(
        label=_("Approval above"), required=False, max_digits=20, decimal_places=6, help_text=_("Empty: none")
    )
    reason = forms.CharField(label=_("Why"), max_length=300)
