"""Notice delivery: render an e-mail notice from its step's template in the customer's language (amounts
and dates in the customer's locale) and send it through Django's e-mail backend. Runs after the dunning
run commits, never inside its transaction, so a slow or failing mail server cannot hold or undo a run.
What was sent (subject and body) is kept on the notice; a failure is recorded on it (status `failed`
and the reason) and the other notices are still sent."""

from __future__ import annotations

import logging
import smtplib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.template import Context, Template, TemplateSyntaxError

from o2c.billing.models import InvoiceProfile
from o2c.collections import late_charges
from o2c.collections.models import DunningNotice, DunningNoticeItem, DunningTemplate
from o2c.core import clock
from o2c.core.formatting import date_human, locale_of, money_human
from o2c.documents.statement import statement_pdf

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def render(subject: str, body: str, context: dict[str, Any]) -> Rendered:
    """A template pair as plain text (no HTML escaping); the subject on one line."""
    plain = Context(context, autoescape=False)
    return Rendered(
        subject=" ".join(Template(subject).render(plain).split()),
        body=Template(body).render(plain),
    )


def notice_context(notice: DunningNotice, items: list[DunningNoticeItem]) -> dict[str, Any]:
    """What a template may use: customer_name, customer_number, entity_name, as_of, level, items (each
    with number, due_date, days_overdue, days_until_due, open_amount, interest and fee), total (per
    currency, joined) and the late charges (docs/late-charges.md): late_charges_total (empty when there
    is nothing to show), late_charges_charged, late_charges_rate, late_charges_rate_from."""
    locale = locale_of(notice.language, notice.customer.country)
    totals: dict[str, int] = defaultdict(int)
    for item in items:
        totals[item.currency] += item.open_minor
    late = late_charges.notice_charges(
        entity_id=notice.entity_id, as_of=notice.as_of, document_ids=[item.document_id for item in items]
    )
    return {
        "customer_name": notice.customer.name,
        "customer_number": notice.customer.number,
        "entity_name": notice.entity.name,
        "as_of": date_human(notice.as_of, locale),
        "level": notice.level,
        "items": [
            {
                "number": item.document.number,
                "due_date": date_human(item.document.due_date, locale),
                "days_overdue": item.days_overdue,
                "days_until_due": -item.days_overdue,
                "open_amount": money_human(item.open_minor, item.currency, locale),
                **late.item_texts(item.document_id, locale),
            }
            for item in items
        ],
        "total": " + ".join(
            money_human(minor, currency, locale) for currency, minor in sorted(totals.items())
        ),
        **late.texts(locale),
    }


def _template(notice: DunningNotice) -> tuple[str, str]:
    """The step's template in the notice's language, else in English."""
    templates = {
        template.language: (template.subject, template.body)
        for template in DunningTemplate.objects.filter(
            step__plan_id=notice.plan_id, step__level=notice.level, language__in=[notice.language, "en"]
        )
    }
    found = templates.get(notice.language) or templates.get("en")
    if found is None:
        raise LookupError(f"no template for level {notice.level} in {notice.language} or en")
    return found


def notices_deliver(
    *,
    notice_ids: list[int],
    on_total: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """The after-commit work of a dunning run: send its e-mail notices (pending ones only: idempotent)."""
    notices_send(notice_ids=notice_ids, now=clock.now(), on_total=on_total, progress=progress)


def notices_send(
    *,
    notice_ids: list[int],
    now: datetime,
    on_total: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Render and send the pending e-mail notices among these ids (a notice sent already is not sent
    again). Each notice ends `sent` or `failed` with the reason. `on_total` learns how many are to be
    sent, `progress` is told of each one done (the command's progress bar)."""
    notices = list(
        DunningNotice.objects.filter(pk__in=notice_ids, channel="email", status=DunningNotice.Status.PENDING)
        .select_related("customer", "entity")
        .order_by("pk")
    )
    if not notices:
        return
    if on_total is not None:
        on_total(len(notices))
    items: dict[int, list[DunningNoticeItem]] = defaultdict(list)
    for item in (
        DunningNoticeItem.objects.filter(notice_id__in=[notice.pk for notice in notices])
        .select_related("document")
        .order_by("document__due_date", "document__number")
    ):
        items[item.notice_id].append(item)
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except (smtplib.SMTPException, OSError) as error:
        for notice in notices:
            _failed(notice, f"mail server: {error}")
        return
    senders: dict[int, str] = {}
    try:
        for notice in notices:
            if notice.entity_id not in senders:
                senders[notice.entity_id] = _sender(notice.entity_id)
            _send(notice, items[notice.pk], connection, senders[notice.entity_id], now)
            if progress is not None:
                progress(1)
    finally:
        connection.close()


def _send(
    notice: DunningNotice, items: list[DunningNoticeItem], connection: Any, sender: str, now: datetime
) -> None:
    try:
        subject, body = _template(notice)
        rendered = render(subject, body, notice_context(notice, items))
    except (LookupError, TemplateSyntaxError) as error:
        _failed(notice, f"template: {error}")
        return
    notice.subject, notice.body = rendered.subject[:300], rendered.body
    if not notice.recipient:
        _failed(notice, "the customer has no e-mail address")
        return
    message = EmailMessage(
        subject=notice.subject,
        body=notice.body,
        from_email=sender,
        to=[address.strip() for address in notice.recipient.split(",") if address.strip()],
        connection=connection,
        headers={"Content-Language": notice.language},
    )
    try:
        # the customer's statement of account goes with every notice (docs/statements.md)
        message.attach(
            f"statement-{notice.customer.number}-{notice.as_of.isoformat()}.pdf",
            statement_pdf(customer=notice.customer, as_of=notice.as_of),
            "application/pdf",
        )
    except (LookupError, TemplateSyntaxError, OSError, ValueError) as error:
        _failed(notice, f"statement: {error}")
        return
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as error:
        _failed(notice, f"mail server: {error}")
        return
    notice.status = DunningNotice.Status.SENT
    notice.sent_at = now
    notice.delivery_error = ""
    notice.save(update_fields=["subject", "body", "status", "sent_at", "delivery_error"])


def _sender(entity_id: int) -> str:
    """The address the entity's invoices come from (its invoice profile), else the settings' default."""
    profile = InvoiceProfile.objects.filter(entity_id=entity_id).first()
    return (profile.email if profile and profile.email else "") or settings.DEFAULT_FROM_EMAIL


def _failed(notice: DunningNotice, reason: str) -> None:
    logger.warning("dunning notice %s not sent: %s", notice.pk, reason)
    notice.status = DunningNotice.Status.FAILED
    notice.delivery_error = reason[:500]
    notice.save(update_fields=["subject", "body", "status", "delivery_error"])
