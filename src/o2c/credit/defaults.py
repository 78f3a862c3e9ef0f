"""The default credit policy a legal entity starts with (DESIGN: set-up): new orders are held when an item
is more than 60 days past due; a release after 17:00 in the entity's time zone counts for the next
business day; a new limit or a raise to more than 50,000 in the entity's currency needs a second
person's approval."""

from datetime import time
from decimal import Decimal

from o2c.core.money import Money

PAST_DUE_DAYS = 60
CUTOFF_TIME = time(17, 0)
APPROVAL_THRESHOLD = Decimal(50_000)


def approval_threshold_minor(currency: str) -> int:
    return Money(APPROVAL_THRESHOLD, currency).to_minor()
