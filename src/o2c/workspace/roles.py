"""The roles of DESIGN.md as Django groups, and what each may do."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group

BILLING = "billing"
CASH_APPLICATION = "cash_application"
COLLECTOR = "collector"
DISPUTES = "disputes"
CREDIT = "credit"
AR_MANAGER = "ar_manager"
AUDITOR = "auditor"
ADMIN = "admin"

ALL_ROLES = (BILLING, CASH_APPLICATION, COLLECTOR, DISPUTES, CREDIT, AR_MANAGER, AUDITOR, ADMIN)

# who may see customers and documents (everyone with a role), who may change what
VIEW_RECEIVABLES = frozenset(ALL_ROLES)
EDIT_CUSTOMERS = frozenset({BILLING, CREDIT, AR_MANAGER, ADMIN})
ISSUE_DOCUMENTS = frozenset({BILLING, AR_MANAGER, ADMIN})
# the checker of maker-checker: approves or rejects credit memos above the approval threshold
APPROVE_CREDITS = frozenset({AR_MANAGER, ADMIN})
# month-end close: reopening a closed period (o2c.close.services.REOPEN_ROLES says the same)
REOPEN_PERIODS = frozenset({AR_MANAGER, ADMIN})
# the cash application specialist's work: import bank files, apply, accept, put on account, unapply
APPLY_CASH = frozenset({CASH_APPLICATION, AR_MANAGER, ADMIN})
VIEW_LEDGER = frozenset({AR_MANAGER, AUDITOR, ADMIN, BILLING, CASH_APPLICATION})
# dispute and deduction cases: worked by the disputes analysts (and AR managers), read by collectors
# and auditors; write-offs above the threshold approved as credit memos are (APPROVE_CREDITS)
CHANGE_DISPUTES = frozenset({DISPUTES, AR_MANAGER, ADMIN})
VIEW_DISPUTES = CHANGE_DISPUTES | {COLLECTOR, AUDITOR}
# collections: promises to pay, payment plans, activities and targets, changed by the collectors (and
# AR managers), read by auditors; a payment plan is approved as credits are (APPROVE_CREDITS)
CHANGE_COLLECTIONS = frozenset({COLLECTOR, AR_MANAGER, ADMIN})
VIEW_COLLECTIONS = CHANGE_COLLECTIONS | {AUDITOR}
# credit: limits, orders and holds (the credit API's capabilities of the same names, config/api.py)
VIEW_CREDIT = frozenset({CREDIT, AR_MANAGER, AUDITOR, ADMIN})
MANAGE_CREDIT = frozenset({CREDIT, AR_MANAGER, ADMIN})
APPROVE_LIMITS = frozenset({AR_MANAGER, ADMIN})
TAKE_ORDERS = frozenset({BILLING, CREDIT, AR_MANAGER, ADMIN})
# credit scoring: applications, scores, reviews, raise requests, the scorecard (the credit manager)
VIEW_SCORING = frozenset({CREDIT, AR_MANAGER, AUDITOR, ADMIN})
SCORE_CREDIT = frozenset({CREDIT, AR_MANAGER, ADMIN})
REQUEST_RAISES = frozenset({BILLING, CREDIT, AR_MANAGER, ADMIN})
MANAGE_SCORECARD = frozenset({AR_MANAGER, ADMIN})


def roles_of(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    if not user.is_authenticated:
        return frozenset()
    if getattr(user, "is_superuser", False):
        return frozenset(ALL_ROLES)
    cached: frozenset[str] | None = getattr(user, "_o2c_roles", None)
    if cached is None:
        cached = frozenset(Group.objects.filter(user=user.pk).values_list("name", flat=True))
        setattr(user, "_o2c_roles", cached)  # noqa: B010 - a per-request cache on the user object
    return cached


def has_any(user: AbstractBaseUser | AnonymousUser, allowed: frozenset[str]) -> bool:
    return bool(roles_of(user) & allowed)
