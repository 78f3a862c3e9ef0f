"""Use cases of the documents app: e-mailing a customer's statement of account."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.mail import get_connection
from django.utils.translation import gettext as _

from o2c.audit import services as audit_services
from o2c.customers.models import Customer
from o2c.documents import mail, statement
from o2c.documents.errors import UnableToSendStatement

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StatementSent:
    customer_number: str
    as_of: date
    language: str
    recipients: tuple[str, ...]


def statement_recipients(customer: Customer) -> list[str]:
    """The customer's billing contacts (those with an address, oldest first), else its own address."""
    contacts = [c.email for c in customer.contacts.filter(is_billing=True).order_by("pk") if c.email]
    return contacts or ([customer.email] if customer.email else [])


def statement_send(
    *,
    customer_id: int,
    actor: User | AnonymousUser | None,
    now: datetime,
    rendered: tuple[statement.Statement, bytes] | None = None,
) -> StatementSent:
    """E-mail the customer's statement of account as of its entity's business date of `now`, in the
    customer's language with the PDF attached, through Django's e-mail backend, and audit it.
    `rendered`: the statement and its PDF as the caller rendered them already for that day (`o2c
    statement --send` writes the same PDF), so it is not rendered twice.

    Raises UnableToSendStatement (`no_recipient`, `mail_failed` with the server's reason) and records
    nothing when it was not sent.
    """
    customer = Customer.objects.select_related("entity").get(pk=customer_id)
    recipients = statement_recipients(customer)
    if not recipients:
        raise UnableToSendStatement(
            _("customer %(number)s has no billing contact and no e-mail address")
            % {"number": customer.number},
            code="no_recipient",
        )
    as_of = now.astimezone(ZoneInfo(customer.entity.time_zone)).date()
    if rendered is not None and rendered[0].as_of == as_of and rendered[0].customer_number == customer.number:
        facts, pdf = rendered
    else:
        facts = statement.statement_facts(customer=customer, as_of=as_of)
        pdf = statement.render_statement_pdf(facts)
    sender = facts.seller.email or settings.DEFAULT_FROM_EMAIL
    message = mail.statement_message(facts, to=recipients, from_email=sender, pdf=pdf)
    try:
        get_connection(fail_silently=False).send_messages([message])
    except (smtplib.SMTPException, OSError) as error:
        logger.warning("statement of %s not sent: %s", customer.number, error)
        raise UnableToSendStatement(
            _("the statement of customer %(number)s was not sent: mail server: %(error)s")
            % {"number": customer.number, "error": error},
            code="mail_failed",
        ) from error
    audit_services.record(
        actor=actor,
        action="documents.statement.sent",
        object_type="customer",
        object_id=customer.pk,
        object_label=customer.number,
        entity_id=customer.entity_id,
        changes={"as_of": (None, as_of.isoformat()), "recipients": (None, ", ".join(recipients))},
        now=now,
    )
    return StatementSent(
        customer_number=customer.number,
        as_of=as_of,
        language=facts.language,
        recipients=tuple(recipients),
    )
