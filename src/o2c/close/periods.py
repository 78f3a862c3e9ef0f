"""The month a close task posts in must be open: its entries would otherwise move to the next month."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.contrib.auth.models import User
from django.utils.translation import gettext as _

from o2c.core.exceptions import DomainError
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import FiscalPeriod, JournalEntry, LegalEntity


def ensure_open(
    entity: LegalEntity, start: date, last: date, *, refusal: type[DomainError], closed_message: str
) -> None:
    """Refuse (`refusal`) a month without a period, or a closed one (`closed_message`, with the
    placeholders %(period)s and %(entity)s). Holds the periods' share lock, as a posting does."""
    periods = ledger_selectors.periods_of(entity=entity, for_posting=True)
    period = next((row for row in periods if row[0] <= last <= row[1]), None)
    names = {"entity": entity.code, "period": f"{start:%Y-%m}"}
    if period is None:
        raise refusal(_("entity %(entity)s has no fiscal period %(period)s") % names, code="unknown_period")
    if period[2] != FiscalPeriod.Status.OPEN:
        raise refusal(closed_message % names, code="period_closed")


def reverse_next_day(
    entry_id: int, last: date, reason: str, *, now: datetime, actor: User | None
) -> JournalEntry:
    """A month-end entry's reversal on the next month's first day (moved on by the ledger when that
    period is closed); the existing one when it was reversed already."""
    return ledger_selectors.entry_reversal(entry_id=entry_id) or ledger_services.journal_entry_reverse(
        entry_id=entry_id, posting_date=last + timedelta(days=1), reason=reason, now=now, actor=actor
    )


def top_ups_so_far(key: str) -> tuple[list[int], str]:
    """The top-ups of a month-end entry posted so far (idempotency keys `<key>:2`, `<key>:3`...), oldest
    first, and the key the next one takes."""
    found: list[int] = []
    while (
        entry_id := ledger_selectors.entry_id_by_key(idempotency_key=f"{key}:{len(found) + 2}")
    ) is not None:
        found.append(entry_id)
    return found, f"{key}:{len(found) + 2}"


def reverse_each_next_day(
    entry_ids: list[int], last: date, reason: str, *, now: datetime, actor: User | None
) -> None:
    """`reverse_next_day` for each of the entries."""
    for entry_id in entry_ids:
        reverse_next_day(entry_id, last, reason, now=now, actor=actor)
