"""Notice delivery: render an e-mail notice from its step's template in the customer's language (amounts
and dates in the customer's locale) and send it through Django's e-mail backend. Runs after the dunning
run commits, never inside its transaction, so a slow or failing mail server cannot hold or undo a run.
What was sent (subject and body, and the Message-ID a bounce names it by) is kept on the notice; a
failure is recorded on it (status `failed` and the reason) and the other notices are still sent. An
address a permanent bounce marked undeliverable is not written to (`collections.bounces`). Worker
processes render and send side by side (`notices_send`, docs/dunning-delivery.md)."""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.util
import os
import smtplib
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from email.utils import make_msgid
from typing import Any

from django import db
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection
from django.template import Context, Template, TemplateSyntaxError

from o2c.billing.models import InvoiceProfile
from o2c.collections import bounces, late_charges
from o2c.collections.models import DeliveryProblem, DunningNotice, DunningNoticeItem, DunningTemplate
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


def template_of(notice: DunningNotice) -> tuple[str, str]:
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
    workers: int | None = None,
) -> None:
    """Render and send the pending e-mail notices among these ids (a notice sent already is not sent
    again). Each notice ends `sent` or `failed` with the reason. `on_total` learns how many are to be
    sent, `progress` is told of each one done (the command's progress bar).

    `workers` processes render and send side by side (default: the setting DUNNING_MAIL_WORKERS, else
    the number of CPUs), each with its own database and SMTP connection, over batches of BATCH
    notices. One process does it all when there is only one batch, inside a transaction (a worker
    could not see what is not committed) and on SQLite (one writer at a time)."""
    pending = list(
        DunningNotice.objects.filter(pk__in=notice_ids, channel="email", status=DunningNotice.Status.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not pending:
        return
    if on_total is not None:
        on_total(len(pending))
    count = worker_count(workers, len(pending))
    if count <= 1:
        _send_batch(pending, now, progress=progress)
    else:
        _send_in_workers(pending, now, count, progress=progress)


BATCH = 25
"""notices a worker renders and sends per task (progress is reported per batch)"""


def worker_count(requested: int | None, notices: int) -> int:
    """How many processes send `notices` notices (see `notices_send`)."""
    wanted = requested or getattr(settings, "DUNNING_MAIL_WORKERS", None) or os.cpu_count() or 1
    wanted = min(int(wanted), -(-notices // BATCH))
    if wanted <= 1 or connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return wanted


# the SMTP connection of a worker process, opened by its initializer and kept for all its batches
_worker_mail: list[Any] = []


def _send_in_workers(
    notice_ids: list[int], now: datetime, count: int, *, progress: Callable[[int], None] | None
) -> None:
    batches = [notice_ids[start : start + BATCH] for start in range(0, len(notice_ids), BATCH)]
    # a forked worker must not share the parent's database connection: each opens its own
    db.connections.close_all()
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=count, mp_context=context, initializer=_worker_start) as pool:
        futures = [pool.submit(_worker_send, batch, now) for batch in batches]
        for future in as_completed(futures):
            done = future.result()
            if progress is not None:
                progress(done)


def _worker_start() -> None:
    """A worker's set-up: Django (a no-op when forked from a process that has it), no database
    connection of the parent's, and one SMTP connection for all its batches, closed when it ends."""
    import django

    django.setup()
    for alias in db.connections:  # forked after close_all(): drop, never close, anything inherited
        db.connections[alias].connection = None
    mail = get_connection(fail_silently=False)
    _worker_mail[:] = [mail]
    multiprocessing.util.Finalize(None, mail.close, exitpriority=10)


def _worker_send(notice_ids: list[int], now: datetime) -> int:
    _send_batch(notice_ids, now, progress=None, mail=_worker_mail[0] if _worker_mail else None)
    return len(notice_ids)


def _send_batch(
    notice_ids: list[int], now: datetime, *, progress: Callable[[int], None] | None, mail: Any = None
) -> None:
    """Render and send these notices (the pending ones) over one SMTP connection: a worker's `mail`,
    kept open, else one opened and closed here."""
    notices = list(
        DunningNotice.objects.filter(pk__in=notice_ids, channel="email", status=DunningNotice.Status.PENDING)
        .select_related("customer", "entity")
        .order_by("pk")
    )
    if not notices:
        return
    items: dict[int, list[DunningNoticeItem]] = defaultdict(list)
    for item in (
        DunningNoticeItem.objects.filter(notice_id__in=[notice.pk for notice in notices])
        .select_related("document")
        .order_by("document__due_date", "document__number")
    ):
        items[item.notice_id].append(item)
    bounced = bounces.undeliverable_addresses(customer_ids={notice.customer_id for notice in notices})
    own = mail is None
    smtp = get_connection(fail_silently=False) if own else mail
    try:
        smtp.open()
    except (smtplib.SMTPException, OSError) as error:
        for notice in notices:
            _failed(notice, f"mail server: {error}")
        return
    senders: dict[int, str] = {}
    try:
        for notice in notices:
            if notice.entity_id not in senders:
                senders[notice.entity_id] = _sender(notice.entity_id)
            undeliverable = bounced.get(notice.customer_id, {})
            _send(notice, items[notice.pk], smtp, senders[notice.entity_id], now, undeliverable)
            if progress is not None:
                progress(1)
    finally:
        if own:
            smtp.close()


def _send(
    notice: DunningNotice,
    items: list[DunningNoticeItem],
    smtp: Any,
    sender: str,
    now: datetime,
    undeliverable: dict[str, DeliveryProblem],
) -> None:
    try:
        subject, body = template_of(notice)
        rendered = render(subject, body, notice_context(notice, items))
    except (LookupError, TemplateSyntaxError) as error:
        _failed(notice, f"template: {error}")
        return
    notice.subject, notice.body = rendered.subject[:300], rendered.body
    addresses = [address.strip() for address in notice.recipient.split(",") if address.strip()]
    if not addresses:
        _failed(notice, "the customer has no e-mail address")
        return
    # an address a permanent bounce marked undeliverable is left out until cleared or changed
    to = [address for address in addresses if address.lower() not in undeliverable]
    if not to:
        bounced = (undeliverable[address.lower()] for address in addresses)
        _failed(
            notice,
            "address bounced: "
            + "; ".join(
                f"{problem.address} {problem.status_code} on {problem.bounced_at.date().isoformat()}"
                for problem in bounced
            ),
        )
        return
    notice.message_id = make_msgid(domain=_domain_of(sender))
    message = EmailMessage(
        subject=notice.subject,
        body=notice.body,
        from_email=sender,
        to=to,
        connection=smtp,
        headers={"Content-Language": notice.language, "Message-ID": notice.message_id},
    )
    try:
        # the customer's statement of account goes with every notice (docs/statements.md)
        message.attach(
            f"statement-{notice.customer.number}-{notice.as_of.isoformat()}.pdf",
            statement_pdf(customer=notice.customer, as_of=notice.as_of),
            "application/pdf",
        )
    except (LookupError, TemplateSyntaxError, OSError, ValueError) as error:
        notice.message_id = ""
        _failed(notice, f"statement: {error}")
        return
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as error:
        notice.message_id = ""
        _failed(notice, f"mail server: {error}")
        return
    notice.status = DunningNotice.Status.SENT
    notice.sent_at = now
    notice.delivery_error = ""
    notice.save(update_fields=["subject", "body", "status", "sent_at", "delivery_error", "message_id"])


def _domain_of(sender: str) -> str:
    """The Message-ID's domain: the sender address's, a name that stays the same from run to run (not
    the machine's host name); `o2c.invalid` for an address without one."""
    domain = sender.rpartition("@")[2].strip(" >").lower()
    return domain or "o2c.invalid"


def _sender(entity_id: int) -> str:
    """The address the entity's invoices come from (its invoice profile), else the settings' default."""
    profile = InvoiceProfile.objects.filter(entity_id=entity_id).first()
    return (profile.email if profile and profile.email else "") or settings.DEFAULT_FROM_EMAIL


def _failed(notice: DunningNotice, reason: str) -> None:
    logger.warning("dunning notice %s not sent: %s", notice.pk, reason)
    notice.status = DunningNotice.Status.FAILED
    notice.delivery_error = reason[:500]
    notice.save(update_fields=["subject", "body", "status", "delivery_error"])
