"""The ledger's invariants, registered for `o2c ledger verify`."""

from django.db.models import F, Sum

from o2c.core import checks
from o2c.ledger.models import JournalEntry, JournalLine


def trial_balance_is_zero() -> list[str]:
    problems = []
    totals = (
        JournalLine.objects.filter(entry__status=JournalEntry.Status.POSTED)
        .values("entry__entity__code", "currency")
        .annotate(
            d=Sum("debit_minor"),
            c=Sum("credit_minor"),
            fd=Sum("functional_debit_minor"),
            fc=Sum("functional_credit_minor"),
        )
        .order_by("entry__entity__code", "currency")
    )
    functional: dict[str, int] = {}
    for t in totals:
        if t["d"] != t["c"]:
            problems.append(
                f"entity {t['entry__entity__code']}: {t['currency']} debits {t['d']}"
                f" != credits {t['c']} (minor units)"
            )
        functional[t["entry__entity__code"]] = functional.get(t["entry__entity__code"], 0) + t["fd"] - t["fc"]
    problems += [
        f"entity {code}: functional debits and credits differ by {diff}"
        for code, diff in functional.items()
        if diff
    ]
    return problems


def every_entry_balances() -> list[str]:
    unbalanced = (
        JournalLine.objects.filter(entry__status=JournalEntry.Status.POSTED)
        .values("entry_id", "currency")
        .annotate(d=Sum("debit_minor"), c=Sum("credit_minor"))
        .exclude(d=F("c"))
        .order_by()[:50]
    )
    return [f"journal entry {u['entry_id']} does not balance in {u['currency']}" for u in unbalanced]


def register() -> None:
    checks.register(
        "ledger.trial_balance_zero", "trial balance is zero per currency and entity", trial_balance_is_zero
    )
    checks.register("ledger.entries_balance", "every posted journal entry balances", every_entry_balances)
