"""Credit's invariants for `o2c ledger verify`: the exposure summary equals the truth."""

from o2c.core import checks
from o2c.credit import selectors
from o2c.credit.models import CustomerExposure


def exposure_summary_equals_truth() -> list[str]:
    """Each customer's and currency's open receivables, released orders and shipped orders in the summary
    equal the sums over the documents and the orders."""
    truth = selectors.exposure_truth()
    summary = {
        (c, cur): (r, o, s)
        for c, cur, r, o, s in CustomerExposure.objects.values_list(
            "customer_id", "currency", "receivables_minor", "orders_minor", "shipped_minor"
        )
    }
    problems = []
    for key in sorted(set(truth) | set(summary)):
        have = summary.get(key, (0, 0, 0))
        want = truth.get(key, (0, 0, 0))
        if have != want:
            customer_id, currency = key
            problems.append(
                f"customer {customer_id} {currency}: exposure summary (receivables, orders, shipped) {have}"
                f" != {want} from the documents and orders (minor units)"
            )
        if len(problems) >= 50:
            break
    return problems


def register() -> None:
    checks.register(
        "credit.exposure_summary",
        "the exposure summary equals the open items and the released and shipped orders",
        exposure_summary_equals_truth,
    )
