"""Disputes invariants for `o2c ledger verify`: a document with an open case is marked disputed."""

from o2c.core import checks
from o2c.disputes import rules
from o2c.disputes.models import Case


def open_cases_mark_their_documents_disputed() -> list[str]:
    """(The other way round need not hold: a migration or the demo may mark a document disputed with no
    case.)"""
    rows = (
        Case.objects.filter(state__in=rules.WORKING_STATES, document__is_disputed=False)
        .values_list("pk", "document__number")
        .order_by("pk")[:50]
    )
    return [f"case {pk}: its document {number} is not marked disputed" for pk, number in rows]


def register() -> None:
    checks.register(
        "disputes.open_cases_disputed",
        "a document with an open dispute or deduction case is marked disputed",
        open_cases_mark_their_documents_disputed,
    )
