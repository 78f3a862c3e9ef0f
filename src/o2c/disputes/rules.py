"""The rules of a case, on plain values: its states and the moves between them, routing and SLA
defaults, business days, the customer's own codes, and the reason a credit memo carries."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.utils.translation import gettext as _

from o2c.core import calendar
from o2c.disputes.errors import UnableToChangeCase
from o2c.disputes.models import Case, ReasonCode, Team

State = Case.State

WORKING_STATES = frozenset({State.OPEN, State.IN_REVIEW, State.WAITING_ON_CUSTOMER})
"""A case in one of these is open: its document stays disputed."""
RESOLUTIONS = frozenset(
    {State.RESOLVED_CREDIT, State.RESOLVED_REBILL, State.REJECTED_INVALID, State.WRITTEN_OFF}
)
"""How a case ends; an ended case changes no more."""

TRANSITIONS: dict[str, frozenset[str]] = {
    State.OPEN: frozenset({State.IN_REVIEW, State.WAITING_ON_CUSTOMER, *RESOLUTIONS}),
    State.IN_REVIEW: frozenset({State.OPEN, State.WAITING_ON_CUSTOMER, *RESOLUTIONS}),
    State.WAITING_ON_CUSTOMER: frozenset({State.OPEN, State.IN_REVIEW, *RESOLUTIONS}),
    State.RESOLVED_CREDIT: frozenset(),
    State.RESOLVED_REBILL: frozenset(),
    State.REJECTED_INVALID: frozenset(),
    State.WRITTEN_OFF: frozenset(),
}
"""From each state, the states a case may move to (the resolutions only through their services)."""

DEFAULT_SLA_DAYS = 10
"""Business days to resolve a case whose reason has no policy of its entity."""

DEFAULT_TEAMS: dict[str, str] = {
    ReasonCode.PRICING: Team.SALES,
    ReasonCode.QUANTITY: Team.LOGISTICS,
    ReasonCode.DAMAGED_GOODS: Team.LOGISTICS,
    ReasonCode.NOT_RECEIVED: Team.LOGISTICS,
    ReasonCode.TAX: Team.BILLING,
    ReasonCode.DUPLICATE_BILLING: Team.BILLING,
    ReasonCode.PROMOTION: Team.SALES,
    ReasonCode.OTHER: Team.BILLING,
}
"""The team a new case goes to when its entity has no policy for the reason."""

CREDIT_REASONS: dict[str, str] = {
    ReasonCode.PRICING: "pricing_error",
    ReasonCode.QUANTITY: "quantity_error",
    ReasonCode.DAMAGED_GOODS: "returned_goods",
    ReasonCode.NOT_RECEIVED: "service_issue",
    ReasonCode.TAX: "tax_error",
    ReasonCode.DUPLICATE_BILLING: "duplicate_billing",
    ReasonCode.PROMOTION: "goodwill",
    ReasonCode.OTHER: "other",
}
"""The credit memo reason code (receivables.models.ReasonCode) of a case resolved by a credit memo,
from its root cause."""

APPROVE_WRITE_OFFS = frozenset({"ar_manager", "admin"})
"""Who may approve a write-off above the threshold: the roles of `workspace.roles.APPROVE_CREDITS` (the
disputes app sits below the workspace, so it names the groups; a test keeps them equal)."""

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024

ATTACHMENT_TYPES: dict[str, frozenset[str]] = {
    "application/pdf": frozenset({".pdf"}),
    "image/png": frozenset({".png"}),
    "image/jpeg": frozenset({".jpg", ".jpeg"}),
    "image/gif": frozenset({".gif"}),
    "image/webp": frozenset({".webp"}),
    "image/tiff": frozenset({".tif", ".tiff"}),
    "image/heic": frozenset({".heic"}),
    "text/csv": frozenset({".csv"}),
    "message/rfc822": frozenset({".eml"}),
    "application/msword": frozenset({".doc"}),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": frozenset({".docx"}),
    # Windows sends a CSV file as an Excel one
    "application/vnd.ms-excel": frozenset({".xls", ".csv"}),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": frozenset({".xlsx"}),
    "application/vnd.ms-powerpoint": frozenset({".ppt"}),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": frozenset({".pptx"}),
    "application/vnd.oasis.opendocument.text": frozenset({".odt"}),
    "application/vnd.oasis.opendocument.spreadsheet": frozenset({".ods"}),
    "application/vnd.oasis.opendocument.presentation": frozenset({".odp"}),
}
"""The files a case takes (PDF, images, CSV, e-mails, office documents): content type and the name's
extensions that go with it."""

_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}


def attachment_type(file_name: str, content_type: str, head: bytes) -> str:
    """The content type a file is kept with: the given one (without parameters), or, when the sender
    gave none or `application/octet-stream`, the one of its name's extension. Refused
    (`file_type_not_allowed`) when the type is not in `ATTACHMENT_TYPES` or the name's extension does
    not go with it, and (`file_content_mismatch`) when a PDF or an image does not start as one."""
    given = content_type.split(";")[0].strip().lower()
    extension = ("." + file_name.rsplit(".", 1)[-1].lower()) if "." in file_name else ""
    if given in ("", "application/octet-stream"):
        given = next((kind for kind, names in ATTACHMENT_TYPES.items() if extension in names), given)
    if given not in ATTACHMENT_TYPES or extension not in ATTACHMENT_TYPES[given]:
        raise UnableToChangeCase(
            _(
                "%(name)s (%(type)s) is not a file a case takes: "
                "PDF, images, CSV, e-mails (.eml) or office documents"
            )
            % {"name": file_name, "type": given or "?"},
            code="file_type_not_allowed",
        )
    signatures = _SIGNATURES.get(given)
    if signatures and not head.startswith(signatures):
        raise UnableToChangeCase(
            _("%(name)s is not what its type %(type)s says") % {"name": file_name, "type": given},
            code="file_content_mismatch",
        )
    return given


DEFAULT_WRITE_OFF_VAT_RELIEF: dict[str, int] = {
    "DE": 0,  # UStG section 17(2) no. 1: the tax is corrected once the receivable is uncollectible
    "GB": 6,  # VAT bad debt relief (HMRC Notice 700/18): unpaid six months after the later of due and supply
}
"""Where a case's write-off posts bad-debt VAT relief by default: the seller entity's country and the
months that must have passed since the later of the invoice's due date and issue date. Overridden as a
whole by the setting `O2C_WRITE_OFF_VAT_RELIEF`; a default the entity's accountant confirms
(docs/disputes.md, "VAT relief on write-offs")."""


def vat_relief_applies(
    *, relief: dict[str, int], country: str, issue_date: date, due_date: date, write_off_date: date
) -> bool:
    """Whether a write-off on `write_off_date` posts the VAT relief: the seller's country is in `relief`
    with 0 months (at once), or its months have passed since the later of the due date and the issue
    date."""
    months = relief.get(country)
    if months is None:
        return False
    return months <= 0 or write_off_date >= max(due_date, issue_date) + relativedelta(months=months)


def ensure_transition(case_state: str, to: str) -> None:
    if to not in TRANSITIONS.get(case_state, frozenset()):
        raise UnableToChangeCase(
            _("a case in state %(state)s cannot move to %(to)s") % {"state": case_state, "to": to},
            code="bad_transition",
        )


def is_open(state: str) -> bool:
    return state in WORKING_STATES


def business_date(now: datetime, time_zone: str) -> date:
    """The legal entity's date at the moment `now` (23:30 UTC is already tomorrow in Berlin)."""
    return now.astimezone(ZoneInfo(time_zone)).date()


def add_business_days(start: date, days: int, country: str) -> date:
    """The day `days` business days after `start`: Monday to Friday less the public holidays of the
    entity's country (`core.calendar`)."""
    return calendar.add_business_days(start, days, country)


def normalized_code(code: str) -> str:
    """A customer's own reason code as stored and looked up: trimmed, upper case, inner spaces single."""
    return " ".join(code.split()).upper()


def code_candidates(text: str) -> list[str]:
    """What in a payment's deduction text may be the customer's own code, most specific first: the whole
    text, then each word (letters, digits, `-` and `_`), in the order they appear."""
    whole = normalized_code(text)
    candidates = [whole] if whole else []
    for word in re.findall(r"[A-Za-z0-9][A-Za-z0-9_-]*", text):
        code = word.upper()
        if code not in candidates:
            candidates.append(code)
    return candidates


def age_days(opened_on: date, today: date, resolved_on: date | None = None) -> int:
    """Calendar days a case has been (or was) open: to `today`, or to the day it ended."""
    return ((resolved_on or today) - opened_on).days


def is_overdue(state: str, due_date: date, today: date) -> bool:
    """An open case past its SLA due date (an ended case is never overdue)."""
    return is_open(state) and due_date < today


def months_between(first: date, last: date) -> list[str]:
    """The calendar months (`YYYY-MM`) from the one of `first` through the one of `last`."""
    months = []
    month = first.replace(day=1)
    while month <= last:
        months.append(month.strftime("%Y-%m"))
        month += relativedelta(months=1)
    return months
