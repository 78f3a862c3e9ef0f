from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from o2c.workspace import roles

# who may read the audit trail of all their entities
VIEW_AUDIT_TRAIL = frozenset({roles.AUDITOR, roles.AR_MANAGER, roles.ADMIN})
# who looks at billing runs and contracts
VIEW_BILLING = frozenset({roles.BILLING, roles.AR_MANAGER, roles.ADMIN, roles.AUDITOR})
# who works or reviews cash application (the pages themselves are open to every role)
VIEW_CASH = roles.APPLY_CASH | {roles.AUDITOR}
# who looks at the AR dashboard (aging trend, DSO and CEI, top past due): managers and their reviewers
VIEW_DASHBOARD = frozenset({roles.AR_MANAGER, roles.AUDITOR, roles.ADMIN})


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The menu a person sees follows their roles; the current page is marked."""
    language = get_language() or settings.LANGUAGE_CODE
    context: dict[str, Any] = {
        "nav_items": [],
        "languages": settings.LANGUAGES,
        "current_language": language,
        "current_language_name": dict(settings.LANGUAGES).get(language, language),
    }
    user = request.user
    if not user.is_authenticated:
        return context
    items = [
        (_("Home"), reverse("home"), roles.VIEW_RECEIVABLES),
        (_("Dashboard"), reverse("ar_dashboard"), VIEW_DASHBOARD),
        (_("Month-end close"), reverse("close_periods"), VIEW_DASHBOARD),
        (_("Customers"), reverse("customer_list"), roles.VIEW_RECEIVABLES),
        (_("Invoices"), reverse("document_list"), roles.VIEW_RECEIVABLES),
        (_("New invoice"), reverse("document_create"), roles.ISSUE_DOCUMENTS),
        (_("Billing"), reverse("billing_review"), VIEW_BILLING),
        (_("Approvals"), reverse("approval_list"), roles.ISSUE_DOCUMENTS | roles.APPROVE_CREDITS),
        (_("Cash"), reverse("cash_payment_list"), VIEW_CASH),
        (_("Disputes"), reverse("dispute_case_list"), roles.VIEW_DISPUTES),
        (_("Collections"), reverse("collections_worklist"), roles.VIEW_COLLECTIONS),
        (
            _("Credit"),
            reverse("credit_hold_list"),
            roles.VIEW_CREDIT,
        ),
        (_("Trial balance"), reverse("trial_balance"), roles.VIEW_LEDGER),
        (_("Audit trail"), reverse("audit_list"), VIEW_AUDIT_TRAIL),
    ]
    path = request.path
    home = reverse("home")
    context["nav_items"] = [
        {
            "label": label,
            "url": url,
            "current": path == url if url == home else path.startswith(_section(url)),
        }
        for label, url, allowed in items
        if roles.has_any(user, allowed)
    ]
    context["user_roles"] = sorted(roles.roles_of(user))
    return context


def _section(url: str) -> str:
    """The part of the site a menu item stands for: all of /credit/ for the credit pages' first tab."""
    return "/".join(url.split("/")[:2]) + "/" if url.startswith("/credit/") else url
