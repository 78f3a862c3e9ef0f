"""Month-end close: a closed period accepts no postings (a late entry posts on the first day of the first
open period after it, see `ledger.selectors.posting_date_in`); reopening one needs an AR manager, with a
reason, and is audited like the close."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from o2c.close import provision, revaluation
from o2c.close.errors import UnableToClosePeriod
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import FiscalPeriod, LegalEntity
from o2c.receivables import selectors as receivables_selectors
from o2c.reporting import rollforward

REOPEN_ROLES = frozenset({"ar_manager", "admin"})
"""Who may reopen a closed period: the roles of `workspace.roles.REOPEN_PERIODS` (a test keeps them equal;
the close sits below the workspace)."""


@dataclass(frozen=True)
class PeriodResult:
    entity_code: str
    period: date
    """the period's first day"""
    status: str
    """closed or open"""
    changed: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def month(self) -> str:
        return f"{self.period:%Y-%m}"


def _warnings(entity: LegalEntity, start: date) -> list[str]:
    end = start + relativedelta(months=1, days=-1)
    warnings = []
    drafts = receivables_selectors.draft_count_dated(entity_id=entity.pk, first=start, last=end)
    if drafts:
        warnings.append(
            _(
                "%(count)s draft documents are dated in %(period)s: issued later, they post in the next "
                "open period"
            )
            % {"count": drafts, "period": f"{start:%Y-%m}"}
        )
    differences = rollforward.tie_out(entity=entity, as_of=end)
    if differences:
        warnings.append(
            _(
                "open items differ from the receivable accounts on %(date)s for %(count)s customers and "
                "currencies: see o2c report tie-out --as-of %(date)s"
            )
            % {"date": end.isoformat(), "count": len(differences)}
        )
    earlier = [
        period_start
        for period_start, _end, status in ledger_selectors.periods_of(entity=entity)
        if period_start < start and status == FiscalPeriod.Status.OPEN
    ]
    if earlier:
        warnings.append(
            _("earlier periods are still open: %(periods)s")
            % {
                "periods": ", ".join(f"{day:%Y-%m}" for day in earlier[-6:])
                + (" …" if len(earlier) > 6 else "")
            }
        )
    return warnings


@transaction.atomic
def period_close(*, entity: LegalEntity, start: date, actor: User | None, now: datetime) -> PeriodResult:
    """Close the period: from now on its entries post in the next open period. Closing a closed period
    changes nothing."""
    changed = ledger_services.period_status_set(
        entity=entity, start=start, status=FiscalPeriod.Status.CLOSED, actor=actor, now=now
    )
    return PeriodResult(
        entity.code, start, FiscalPeriod.Status.CLOSED, changed, _warnings(entity, start) if changed else []
    )


@transaction.atomic
def month_close(
    *, entity: LegalEntity, start: date, actor: User | None, now: datetime
) -> tuple[revaluation.RevaluationResult | None, provision.ProvisionResult | None, PeriodResult]:
    """The month-end close of `o2c close period`: revalue the month's open foreign-currency items where
    they are not revalued yet, post the month's expected-credit-loss provision where it is not posted yet
    (after the revaluation), then close the period, in one transaction (a refused revaluation or
    provision, such as a missing rate, closes nothing). A period closed already is left as it is, neither
    revalued nor provided for (None)."""
    period = ledger_selectors.period_for(entity=entity, on=start)
    revalued = provided = None
    if period is not None and period.status == FiscalPeriod.Status.OPEN:
        revalued = revaluation.revalue(entity=entity, start=start, actor=actor, now=now)
        provided = provision.provision_post(entity=entity, start=start, actor=actor, now=now)
    return revalued, provided, period_close(entity=entity, start=start, actor=actor, now=now)


def may_reopen(actor: User | None) -> bool:
    if actor is None or not actor.is_active:
        return False
    return actor.is_superuser or actor.groups.filter(name__in=REOPEN_ROLES).exists()


@transaction.atomic
def period_reopen(
    *, entity: LegalEntity, start: date, actor: User | None, reason: str, now: datetime
) -> PeriodResult:
    """Open a closed period again: an AR manager's decision, with the reason in the audit trail."""
    if not may_reopen(actor):
        raise UnableToClosePeriod(_("reopening a closed period needs an AR manager"), code="not_allowed")
    if not reason.strip():
        raise UnableToClosePeriod(_("reopening a closed period needs a reason"), code="reason_required")
    changed = ledger_services.period_status_set(
        entity=entity,
        start=start,
        status=FiscalPeriod.Status.OPEN,
        actor=actor,
        now=now,
        reason=reason.strip(),
    )
    return PeriodResult(entity.code, start, FiscalPeriod.Status.OPEN, changed)
