"""E-mail to sales (the entity's credit policy's address) and to the customer (its e-mail, else its billing
contacts) when an order is held, released from hold or rejected, with the reasons; sent after commit
through Django's e-mail backend, in the customer's language. A failure to send is logged, never undoes the
decision."""

from __future__ import annotations

import logging

from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from o2c.core.money import format_minor
from o2c.credit.models import SalesOrder

logger = logging.getLogger(__name__)


def on_commit(order_ids: list[int], what: str) -> None:
    if order_ids:
        transaction.on_commit(lambda: send(order_ids, what))


def _recipients(order: SalesOrder) -> tuple[list[str], list[str]]:
    from o2c.credit import selectors

    sales = [e for e in [selectors.policy_of(order.entity_id).sales_email] if e]
    customer = (
        [order.customer.email]
        if order.customer.email
        else [c.email for c in order.customer.contacts.filter(is_billing=True).order_by("pk") if c.email]
    )
    return sales, customer


def send(order_ids: list[int], what: str) -> None:
    orders = SalesOrder.objects.filter(pk__in=order_ids).select_related("customer", "entity").order_by("pk")
    for order in orders:
        sales, customer = _recipients(order)
        for recipients, language in ((sales, "en"), (customer, order.customer.language or "en")):
            if not recipients:
                continue
            with translation.override(language):
                subject, body = _message(order, what)
            try:
                EmailMessage(subject=subject, body=body, to=recipients).send()
            except Exception:
                logger.exception("credit notice for order %s to %s failed", order.number, recipients)


def _message(order: SalesOrder, what: str) -> tuple[str, str]:
    amount = f"{format_minor(order.amount_minor, order.currency)} {order.currency}"
    figures = {"number": order.number, "customer": order.customer.name, "amount": amount}
    if what == "held":
        subject = _("Order %(number)s is on credit hold") % figures
        lines = [_("Order %(number)s of %(customer)s over %(amount)s is on credit hold:") % figures]
        lines += [f"- {reason['text']}" for reason in order.hold_reasons]
    elif what == "released":
        subject = _("Order %(number)s is released") % figures
        lines = [
            _("Order %(number)s of %(customer)s over %(amount)s is released for %(date)s.")
            % {**figures, "date": order.release_date.isoformat() if order.release_date else ""},
            _("Reason: %(reason)s") % {"reason": order.decision_reason},
        ]
    else:
        subject = _("Order %(number)s is rejected") % figures
        lines = [
            _("Order %(number)s of %(customer)s over %(amount)s is rejected.") % figures,
            _("Reason: %(reason)s") % {"reason": order.decision_reason},
        ]
    return subject, "\n".join(lines) + "\n"
