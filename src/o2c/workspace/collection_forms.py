"""Forms of the collector's and the manager's pages: whose worklist, an activity logged, a promise to
pay, a payment plan with its instalments, a plan decided, and a dunning plan's segment, step and
template. Plain forms: the collections services decide, and their refusals come back as one line."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from o2c.collections.models import Activity, Channel, Tone
from o2c.workspace.forms import LocalizedDecimalField

INSTALMENT_ROWS = 6
"""The instalment rows of the payment plan form (empty rows are ignored)."""


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class WorklistForm(forms.Form):
    """Which entity, and (for managers, auditors and admins) whose portfolio."""

    entity = forms.ChoiceField(label=_("Legal entity"), required=False)
    collector = forms.ChoiceField(label=_("Collector"), required=False)

    def __init__(self, *args: Any, entities: list[str], collectors: list[str] | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["entity"].choices = [(code, code) for code in entities]  # type: ignore[attr-defined]
        if collectors is None:
            del self.fields["collector"]
        else:
            self.fields["collector"].choices = [(name, name) for name in collectors]  # type: ignore[attr-defined]


class _DocumentsForm(forms.Form):
    """A form about some of the customer's open items (`documents`: (id, label) pairs)."""

    documents = forms.TypedMultipleChoiceField(
        label=_("Documents"), coerce=int, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, documents: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["documents"].choices = documents  # type: ignore[attr-defined]


class ActivityForm(_DocumentsForm):
    kind = forms.ChoiceField(label=_("Activity"), choices=Activity.Kind.choices)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Activity.Outcome.choices)
    text = forms.CharField(
        label=_("Note"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    next_action_date = forms.DateField(label=_("Next action on"), required=False, widget=DateInput())
    field_order = ["kind", "outcome", "text", "next_action_date", "documents"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["documents"].required = False


class PromiseForm(_DocumentsForm):
    amount = LocalizedDecimalField(label=_("Promised amount"), max_digits=20, decimal_places=6)
    promised_date = forms.DateField(label=_("Promised date"), widget=DateInput())
    contact = forms.CharField(label=_("Who promised"), required=False, max_length=150)
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    field_order = ["documents", "amount", "promised_date", "contact", "note"]


class PaymentPlanForm(_DocumentsForm):
    """The documents, a note and up to INSTALMENT_ROWS instalments (`due_N`, `amount_N`)."""

    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for row in range(1, INSTALMENT_ROWS + 1):
            self.fields[f"due_{row}"] = forms.DateField(
                label=_("Instalment %(number)s: due on") % {"number": row}, required=False, widget=DateInput()
            )
            self.fields[f"amount_{row}"] = LocalizedDecimalField(
                label=_("Instalment %(number)s: amount") % {"number": row},
                required=False,
                max_digits=20,
                decimal_places=6,
            )

    def instalment_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"due_{row}"], self[f"amount_{row}"]) for row in range(1, INSTALMENT_ROWS + 1)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        instalments = []
        for row in range(1, INSTALMENT_ROWS + 1):
            due, amount = data.get(f"due_{row}"), data.get(f"amount_{row}")
            if due is None and amount is None:
                continue
            if due is None or amount is None:
                raise forms.ValidationError(
                    _("Instalment %(number)s needs both a date and an amount.") % {"number": row}
                )
            instalments.append((due, amount))
        if not instalments:
            raise forms.ValidationError(_("Enter at least one instalment."))
        data["instalments"] = instalments
        return data


class DecisionForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)


class DunningPlanForm(forms.Form):
    priority = forms.IntegerField(label=_("Priority"), min_value=0, help_text=_("Lower first."))
    countries = forms.CharField(
        label=_("Countries"), required=False, max_length=200, help_text=_("ISO codes, e.g. DE AT CH")
    )
    payment_terms = forms.CharField(
        label=_("Payment terms"), required=False, max_length=200, help_text=_("Codes, e.g. NET60 NET90")
    )
    risk_classes = forms.CharField(
        label=_("Risk classes"), required=False, max_length=20, help_text=_("Credit risk classes, e.g. D E")
    )
    customer_types = forms.CharField(
        label=_("Customer types"),
        required=False,
        max_length=200,
        help_text=_("Codes, e.g. key_account public_sector"),
    )
    min_open = LocalizedDecimalField(
        label=_("Owes at least"), required=False, max_digits=20, decimal_places=6
    )
    currency = forms.CharField(label=_("Currency"), required=False, max_length=3)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        currency = (data.get("currency") or "").strip().upper()
        data["currency"] = currency
        if data.get("min_open") is not None and len(currency) != 3:
            self.add_error("currency", _("Enter the currency of the amount."))
        return data


class DunningStepForm(forms.Form):
    days = forms.IntegerField(
        label=_("Days from the due date"),
        help_text=_("Level 0 (the reminder): 0 or fewer, before the due date; notices: 1 or more."),
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    tone = forms.ChoiceField(label=_("Tone"), choices=Tone.choices)


class DunningPlanCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    source = forms.TypedChoiceField(label=_("Copy steps and texts from"), coerce=int)

    def __init__(self, *args: Any, plans: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = plans  # type: ignore[attr-defined]


class DunningStepAddForm(DunningStepForm):
    reminder = forms.BooleanField(
        label=_("The pre-due reminder (level 0)"),
        required=False,
        help_text=_("Otherwise a notice level above the highest, with its texts copied."),
    )


class DunningTemplateForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=300)
    body = forms.CharField(
        label=_("Body"), strip=False, widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "true"})
    )


class PortfolioFilterForm(forms.Form):
    """Which customers the portfolios page lists: an entity's, of a collector (`-`: of none)."""

    entity = forms.ChoiceField(label=_("Legal entity"), required=False)
    collector = forms.ChoiceField(label=_("Collector"), required=False)
    q = forms.CharField(label=_("Number or name"), required=False, max_length=100)
    customer_type = forms.CharField(label=_("Customer type"), required=False, max_length=30)
    country = forms.CharField(label=_("Country"), required=False, max_length=2)

    def __init__(self, *args: Any, entities: list[str], collectors: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["entity"].choices = [(code, code) for code in entities]  # type: ignore[attr-defined]
        self.fields["collector"].choices = [  # type: ignore[attr-defined]
            ("", _("Any")),
            ("-", _("Nobody")),
            *[(name, name) for name in collectors],
        ]


class ReassignForm(forms.Form):
    """Move the ticked customers, or every customer the filter finds, to a collector (or to none)."""

    customers = forms.TypedMultipleChoiceField(
        label=_("Customers"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    all_matching = forms.BooleanField(label=_("Every customer the filter finds"), required=False)
    to_collector = forms.ChoiceField(label=_("Move to"))
    reason = forms.CharField(label=_("Reason"), max_length=500)

    def __init__(
        self, *args: Any, customers: list[tuple[int, str]], collectors: list[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customers"].choices = customers  # type: ignore[attr-defined]
        self.fields["to_collector"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            ("-", _("Nobody")),
            *[(name, name) for name in collectors],
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("all_matching") and not data.get("customers"):
            self.add_error(
                "customers", _("Tick the customers to move, or choose every customer the filter finds.")
            )
        return data
