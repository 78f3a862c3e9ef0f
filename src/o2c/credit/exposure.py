"""The unbilled-usage part of the exposure: a snapshot per customer and currency of what billing's
unbilled revenue report says as of a date (service delivered up to the date and not invoiced yet, net of
tax: usage so far, elapsed arrears days, periods a run missed), written into the exposure summary's
`unbilled_minor` with its `unbilled_as_of`. The other parts of the summary are kept in step as they
change; this one is refreshed when `o2c credit unbilled-refresh` runs (daily, after the billing run)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.db import connection, transaction

from o2c.billing import reports as billing_reports
from o2c.credit.models import CustomerExposure
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity


@transaction.atomic
def unbilled_refresh(*, entity: LegalEntity, as_of: date) -> int:
    """Replace the entity's customers' unbilled usage in the summary by the report as of the date;
    returns how many customer-currency rows now hold an amount."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for row in billing_reports.unbilled_revenue(entity=entity, as_of=as_of):
        totals[(row.customer_number, row.currency)] += row.amount_minor
    ids = dict(Customer.objects.filter(entity=entity).values_list("number", "pk"))
    CustomerExposure.objects.filter(customer__entity=entity).exclude(
        unbilled_minor=0, unbilled_as_of=as_of
    ).update(unbilled_minor=0, unbilled_as_of=as_of)
    rows = [
        (ids[number], currency, minor, as_of) for (number, currency), minor in sorted(totals.items()) if minor
    ]
    with connection.cursor() as cursor:
        for offset in range(0, len(rows), 500):
            chunk = rows[offset : offset + 500]
            cursor.execute(
                "INSERT INTO credit_customerexposure (customer_id, currency, receivables_minor, orders_minor,"
                " shipped_minor, unbilled_minor, unbilled_as_of) VALUES "
                + ", ".join(["(%s, %s, 0, 0, 0, %s, %s)"] * len(chunk))
                + " ON CONFLICT (customer_id, currency) DO UPDATE SET"
                " unbilled_minor = excluded.unbilled_minor, unbilled_as_of = excluded.unbilled_as_of",
                [value for row in chunk for value in row],
            )
    return len(rows)
