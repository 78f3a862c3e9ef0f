"""Bounces of dunning e-mails: RFC 3464 delivery status notifications read back onto their notices.

Every dunning e-mail goes out with a Message-ID kept on its notice (`collections.delivery`). A mail
server that cannot deliver it answers with a DSN: a `multipart/report; report-type=delivery-status`
message whose `message/delivery-status` part says, per recipient, the `Final-Recipient`, the `Action`
(`failed`, `delayed`, ...), the `Status` (RFC 3463: 5.x.x permanent, 4.x.x transient) and the remote
server's `Diagnostic-Code`, and whose `message/rfc822` or `text/rfc822-headers` part returns the original
message (its Message-ID names the notice).

`dsn_parse` reads one message (Python's email package, `policy.default`; nothing in it is executed or
fetched); `bounces_record` records a set of parsed DSNs in one transaction: a delivery problem per
failed or delayed recipient on the notice's customer, the notice `bounced` once every address it went to
failed, audited. A permanent failure marks the address undeliverable for that customer: later dunning
e-mails skip it (`undeliverable_addresses`) until `undeliverable_clear` (a person, audited) or the
customer's address changes. A DSN that names no notice of the caller's entities is reported, not
recorded (docs/dunning-delivery.md)."""

from __future__ import annotations

import email
import email.policy
import mailbox
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from o2c.audit import services as audit_services
from o2c.collections.errors import UnableToClearAddress
from o2c.collections.models import DeliveryProblem, DunningNotice
from o2c.core.exceptions import InputError

MAX_MESSAGE_BYTES = 10 * 1024 * 1024
# the actions of RFC 3464 section 2.3.3 that say a message did not (yet) arrive
PROBLEM_ACTIONS = frozenset({"failed", "delayed"})


class NotADsn(ValueError):
    """The message is not an RFC 3464 delivery status notification (the reason says why)."""


@dataclass(frozen=True)
class RecipientStatus:
    """One per-recipient block of a DSN."""

    address: str
    action: str
    status: str
    diagnostic: str

    @property
    def is_permanent(self) -> bool:
        """A failure the sender cannot cure by trying again (RFC 3463 class 5)."""
        return self.action == "failed" and self.status.startswith("5.")


@dataclass(frozen=True)
class Dsn:
    source: str
    """where it came from: a file name, `mbox[3]`, `request`"""
    message_id: str
    """the original message's Message-ID as `<...>`, "" when the DSN does not return it"""
    recipients: tuple[RecipientStatus, ...]
    arrived_at: datetime | None


@dataclass
class BounceSummary:
    """What `bounces_record` did, for the command's summary and the API."""

    dsns: int = 0
    notices_bounced: int = 0
    problems: int = 0
    permanent: int = 0
    already_recorded: int = 0
    unmatched: list[Dsn] = field(default_factory=list)
    problem_ids: list[int] = field(default_factory=list)


def normalise_message_id(value: str) -> str:
    """`<id@domain>` whatever the spacing or folding around it ("" for none)."""
    text = "".join(value.split())
    if not text:
        return ""
    if "<" in text and ">" in text:
        text = text[text.index("<") : text.index(">", text.index("<")) + 1]
    else:
        text = f"<{text.strip('<>')}>"
    return text


def dsn_parse(raw: bytes, *, source: str) -> Dsn:
    """The DSN in `raw`; NotADsn when it is not one."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise NotADsn(f"larger than {MAX_MESSAGE_BYTES // (1024 * 1024)} MB")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return dsn_of(message, source=source)


def dsn_of(message: Message, *, source: str) -> Dsn:
    if message.get_content_type() != "multipart/report":
        raise NotADsn(f"a {message.get_content_type()} message, not multipart/report")
    report_type = message.get_param("report-type", header="content-type")
    if not isinstance(report_type, str) or report_type.lower() != "delivery-status":
        raise NotADsn("a multipart/report whose report-type is not delivery-status")
    blocks: list[Message] = []
    message_id = ""
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/delivery-status" and not blocks:
            payload = part.get_payload()
            blocks = (
                [block for block in payload if isinstance(block, Message)]
                if isinstance(payload, list)
                else []
            )
        elif content_type == "message/rfc822" and not message_id:
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                message_id = normalise_message_id(str(inner.get("Message-ID", "")))
        elif content_type == "text/rfc822-headers" and not message_id:
            text = part.get_payload(decode=True)
            headers = email.message_from_bytes(
                text if isinstance(text, bytes) else b"", policy=email.policy.default
            )
            message_id = normalise_message_id(str(headers.get("Message-ID", "")))
    if not blocks:
        raise NotADsn("a delivery-status report without a message/delivery-status part")
    per_message, per_recipient = blocks[0], blocks[1:]
    recipients = tuple(
        RecipientStatus(
            address=_typed_value(str(block.get("Final-Recipient", ""))).lower(),
            action=str(block.get("Action", "")).strip().lower(),
            status=str(block.get("Status", "")).strip().split()[0] if block.get("Status") else "",
            diagnostic=" ".join(_typed_value(str(block.get("Diagnostic-Code", ""))).split())[:500],
        )
        for block in per_recipient
        if block.get("Final-Recipient")
    )
    if not recipients:
        raise NotADsn("a delivery-status report without a Final-Recipient")
    return Dsn(
        source=source,
        message_id=message_id,
        recipients=recipients,
        arrived_at=_date(str(per_message.get("Arrival-Date", ""))) or _date(str(message.get("Date", ""))),
    )


def _typed_value(value: str) -> str:
    """`rfc822; ap@example.com` -> `ap@example.com` (the address type or diagnostic type dropped)."""
    _, _, rest = value.partition(";")
    return (rest if rest else value).strip()


def _date(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


def dsns_read(paths: Iterable[Path]) -> Iterator[Dsn]:
    """The DSNs in these files: `.eml` files, folders of them (every `*.eml`, by name) and mbox files (a
    file whose first line starts with `From `). InputError naming the file when a message is not a DSN
    or a file cannot be read."""
    for path in paths:
        if path.is_dir():
            files = sorted(child for child in path.iterdir() if child.suffix.lower() == ".eml")
        else:
            files = [path]
        for file in files:
            yield from _file_dsns(file)


def _file_dsns(file: Path) -> Iterator[Dsn]:
    try:
        with file.open("rb") as handle:
            start = handle.read(5)
    except OSError as error:
        raise InputError(str(error.strerror or error), file=str(file), code="unreadable_file") from None
    if start == b"From ":
        box = mailbox.mbox(file, create=False)
        try:
            for position, key in enumerate(box.keys(), start=1):
                where = f"{file} message {position}"
                yield _parsed(box.get_bytes(key), where)
        finally:
            box.close()
        return
    try:
        raw = file.read_bytes()
    except OSError as error:
        raise InputError(str(error.strerror or error), file=str(file), code="unreadable_file") from None
    yield _parsed(raw, str(file))


def _parsed(raw: bytes, where: str) -> Dsn:
    try:
        return dsn_parse(raw, source=where)
    except NotADsn as error:
        raise InputError(
            _("not a delivery status notification: %(reason)s") % {"reason": error},
            file=where,
            code="not_a_dsn",
        ) from None


@transaction.atomic
def bounces_record(
    *, dsns: list[Dsn], entity_ids: list[int], actor: User | None, now: datetime
) -> BounceSummary:
    """Record these DSNs on the notices they name among the entities' (see the module's note). Running
    the same DSN twice records nothing twice."""
    summary = BounceSummary(dsns=len(dsns))
    ids = {dsn.message_id for dsn in dsns if dsn.message_id}
    notices = {
        notice.message_id: notice
        for notice in DunningNotice.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(message_id__in=ids, entity_id__in=entity_ids)
        .order_by("pk")
    }
    for dsn in dsns:
        notice = notices.get(dsn.message_id)
        if notice is None:
            summary.unmatched.append(dsn)
            continue
        _record(dsn, notice, summary, actor=actor, now=now)
    return summary


def _record(
    dsn: Dsn, notice: DunningNotice, summary: BounceSummary, *, actor: User | None, now: datetime
) -> None:
    recorded: list[DeliveryProblem] = []
    for recipient in dsn.recipients:
        if recipient.action not in PROBLEM_ACTIONS or not recipient.address:
            continue
        exists = DeliveryProblem.objects.filter(
            notice=notice, address=recipient.address, status_code=recipient.status
        ).exists()
        if exists:
            summary.already_recorded += 1
            continue
        try:
            with transaction.atomic():
                problem = DeliveryProblem.objects.create(
                    entity_id=notice.entity_id,
                    customer_id=notice.customer_id,
                    notice=notice,
                    address=recipient.address[:254],
                    action=recipient.action[:20],
                    status_code=recipient.status[:20],
                    diagnostic=recipient.diagnostic,
                    is_permanent=recipient.is_permanent,
                    bounced_at=dsn.arrived_at or now,
                    created_at=now,
                )
        except IntegrityError:  # the same DSN twice in one batch
            summary.already_recorded += 1
            continue
        recorded.append(problem)
    if not recorded:
        return
    summary.problems += len(recorded)
    summary.permanent += sum(problem.is_permanent for problem in recorded)
    summary.problem_ids.extend(problem.pk for problem in recorded)
    changes: dict[str, tuple[object, object]] = {}
    failed = set(
        DeliveryProblem.objects.filter(notice=notice, action="failed").values_list("address", flat=True)
    )
    sent_to = {address.strip().lower() for address in notice.recipient.split(",") if address.strip()}
    if notice.status == DunningNotice.Status.SENT and sent_to and sent_to <= failed:
        last = next((p for p in reversed(recorded) if p.action == "failed"), recorded[-1])
        reason = f"bounced: {last.address} {last.status_code} {last.diagnostic}".strip()
        changes["status"] = (notice.status, DunningNotice.Status.BOUNCED)
        notice.status = DunningNotice.Status.BOUNCED
        notice.delivery_error = reason[:500]
        notice.save(update_fields=["status", "delivery_error"])
        summary.notices_bounced += 1
    for problem in recorded:
        audit_services.record(
            actor=actor,
            action="collections.notice.bounced",
            object_type="customer",
            object_id=notice.customer_id,
            object_label=notice.customer.number,
            entity_id=notice.entity_id,
            now=now,
            changes={
                "notice": (None, notice.pk),
                "address": (None, problem.address),
                "status_code": (None, problem.status_code),
                "permanent": (None, problem.is_permanent),
                **changes,
            },
            reason=problem.diagnostic,
        )


def undeliverable_addresses(*, customer_ids: Iterable[int]) -> dict[int, dict[str, DeliveryProblem]]:
    """Per customer, its addresses marked undeliverable (lowercase) and the bounce that marked each."""
    marks: dict[int, dict[str, DeliveryProblem]] = {}
    for problem in DeliveryProblem.objects.filter(
        customer_id__in=set(customer_ids), is_permanent=True, cleared_at__isnull=True
    ).order_by("bounced_at", "pk"):
        marks.setdefault(problem.customer_id, {})[problem.address] = problem
    return marks


def delivery_problem_list(
    *, entity_ids: list[int], customer_id: int | None = None
) -> QuerySet[DeliveryProblem]:
    """The delivery problems of the entities' customers (one customer's when given), newest first."""
    found = DeliveryProblem.objects.filter(entity_id__in=entity_ids).select_related("customer", "notice")
    if customer_id is not None:
        found = found.filter(customer_id=customer_id)
    return found.order_by("-bounced_at", "-pk")


@transaction.atomic
def undeliverable_clear(
    *, entity_ids: list[int], customer_id: int, address: str, reason: str, actor: User | None, now: datetime
) -> int:
    """Clear the undeliverable mark of the customer's address (dunning e-mails go to it again), audited
    with the reason. Returns how many bounces it cleared; refused when the address is not marked."""
    marked = list(
        DeliveryProblem.objects.select_for_update()
        .filter(
            entity_id__in=entity_ids,
            customer_id=customer_id,
            address=address.strip().lower(),
            is_permanent=True,
            cleared_at__isnull=True,
        )
        .select_related("customer")
        .order_by("pk")
    )
    if not marked:
        raise UnableToClearAddress(
            _("%(address)s is not marked undeliverable for this customer")
            % {"address": address.strip().lower()},
            code="not_undeliverable",
        )
    for problem in marked:
        problem.cleared_at, problem.cleared_by, problem.clear_reason = now, actor, reason[:500]
        problem.save(update_fields=["cleared_at", "cleared_by", "clear_reason"])
    first = marked[0]
    audit_services.record(
        actor=actor,
        action="collections.address.cleared",
        object_type="customer",
        object_id=first.customer_id,
        object_label=first.customer.number,
        entity_id=first.entity_id,
        now=now,
        changes={"undeliverable": (first.address, None)},
        reason=reason,
    )
    return len(marked)
