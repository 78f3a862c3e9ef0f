"""A collector's activities (docs/collections.md, "Activities"): calls, e-mails, letters and notes on a
customer, with their outcome and the day of the next action. Logged once and kept as logged."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from o2c.audit import services as audit_services
from o2c.collections.errors import UnableToLogActivity
from o2c.collections.models import Activity, ActivityDocument
from o2c.customers.models import Customer
from o2c.receivables.models import Document


@transaction.atomic
def activity_log(
    *,
    customer: Customer,
    kind: str,
    outcome: str,
    text: str,
    next_action_date: date | None,
    actor: User | None,
    now: datetime,
    documents: Sequence[Document] = (),
) -> Activity:
    """Log a call, e-mail, letter or note on the customer, optionally about some of its documents.
    Audited as `collections.activity.logged`."""
    if kind not in Activity.Kind.values:
        raise UnableToLogActivity(_("'%(kind)s' is not a kind of activity") % {"kind": kind}, code="bad_kind")
    if outcome not in Activity.Outcome.values:
        raise UnableToLogActivity(
            _("'%(outcome)s' is not an outcome of an activity") % {"outcome": outcome}, code="bad_outcome"
        )
    text = text.strip()
    if kind == Activity.Kind.NOTE and not text:
        raise UnableToLogActivity(_("a note has a text"), code="text_required")
    if any(document.customer_id != customer.pk for document in documents):
        raise UnableToLogActivity(
            _("an activity is about documents of its customer only"), code="other_customer"
        )
    activity = Activity.objects.create(
        entity_id=customer.entity_id,
        customer=customer,
        kind=kind,
        outcome=outcome,
        text=text,
        next_action_date=next_action_date,
        created_at=now,
        created_by=actor if actor is not None and actor.pk else None,
    )
    ActivityDocument.objects.bulk_create(
        ActivityDocument(activity=activity, document_id=pk) for pk in sorted({d.pk for d in documents})
    )
    audit_services.record(
        actor=actor,
        action="collections.activity.logged",
        object_type="customer",
        object_id=customer.pk,
        object_label=customer.number,
        entity_id=customer.entity_id,
        changes={
            "activity": (None, activity.pk),
            "kind": (None, kind),
            "outcome": (None, outcome),
            "next_action_date": (None, next_action_date.isoformat() if next_action_date else None),
            "documents": (None, ", ".join(sorted(document.number or "" for document in documents)) or None),
        },
        now=now,
    )
    return activity
