"""The only place that reads the clock. Interfaces call it and pass `now` / `as_of` down."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone


def now() -> datetime:
    return timezone.now()


def today_in(tz_name: str) -> date:
    """The business date in a legal entity's time zone (23:30 UTC is already tomorrow in Berlin)."""
    return now().astimezone(ZoneInfo(tz_name)).date()
