"""Payment terms: codes such as NET30, NET0, 2/10NET30, NET30EOM, EOM, DUE; due and discount dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

from dateutil.relativedelta import relativedelta

from o2c.core.exceptions import DomainError


class UnableToParsePaymentTerms(DomainError):
    pass


_PATTERN = re.compile(
    r"^(?:(?P<pct>\d{1,2}(?:\.\d{1,3})?)/(?P<ddays>\d{1,3}))?"
    r"(?:NET(?P<net>\d{1,3}))?(?P<eom>EOM)?$"
)


@dataclass(frozen=True, slots=True)
class PaymentTerms:
    code: str
    net_days: int
    end_of_month: bool = False
    discount_percent: Decimal = Decimal(0)
    discount_days: int = 0

    def due_date(self, issue_date: date) -> date:
        """NETn: n days after issue; with EOM: n days after the end of the issue month."""
        start = issue_date + relativedelta(day=31) if self.end_of_month else issue_date
        return start + timedelta(days=self.net_days)

    def discount_date(self, issue_date: date) -> date | None:
        if not self.discount_percent:
            return None
        return issue_date + timedelta(days=self.discount_days)


@cache
def parse_terms(code: str) -> PaymentTerms:
    normalized = code.strip().upper().replace(" ", "")
    if normalized in {"DUE", "COD", "DUEONRECEIPT"}:
        return PaymentTerms(code=normalized, net_days=0)
    match = _PATTERN.match(normalized)
    if not normalized or match is None or (match["net"] is None and match["eom"] is None):
        raise UnableToParsePaymentTerms(
            f"'{code}' is not a payment terms code (NET30, 2/10NET30, NET30EOM, EOM, DUE)", code="bad_terms"
        )
    net_days = int(match["net"] or 0)
    discount_days = int(match["ddays"] or 0)
    if match["pct"] and discount_days > net_days and not match["eom"]:
        raise UnableToParsePaymentTerms(
            f"'{code}': the discount period is longer than the net period", code="bad_terms"
        )
    return PaymentTerms(
        code=normalized,
        net_days=net_days,
        end_of_month=match["eom"] is not None,
        discount_percent=Decimal(match["pct"] or 0),
        discount_days=discount_days,
    )
