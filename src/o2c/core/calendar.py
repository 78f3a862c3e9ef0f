"""Business days of a legal entity's country: Monday to Friday less the public holidays the `holidays`
library knows for that country (its national holidays; regional ones, such as a German state's, are
not counted). A country the library does not know has weekends only."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

_SUPPORTED = frozenset(holidays.list_supported_countries())


@lru_cache(maxsize=512)
def public_holidays(country: str, year: int) -> frozenset[date]:
    """The national public holidays of the country (ISO 3166 alpha-2) in that year."""
    code = country.upper()
    if code not in _SUPPORTED:
        return frozenset()
    return frozenset(holidays.country_holidays(code, years=year))


def is_business_day(day: date, country: str) -> bool:
    return day.weekday() < 5 and day not in public_holidays(country, day.year)


def business_day_on_or_after(day: date, country: str) -> date:
    while not is_business_day(day, country):
        day += timedelta(days=1)
    return day


def add_business_days(start: date, days: int, country: str) -> date:
    """The day `days` business days after `start` (`start` itself not counted)."""
    day, left = start, days
    while left > 0:
        day += timedelta(days=1)
        if is_business_day(day, country):
            left -= 1
    return day
