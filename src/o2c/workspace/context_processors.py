from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from o2c.workspace import roles


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The menu a person sees follows their roles."""
    user = request.user
    if not user.is_authenticated:
        return {"nav_items": []}
    items = [
        (_("Home"), reverse("home"), roles.VIEW_RECEIVABLES),
        (_("Customers"), reverse("customer_list"), roles.VIEW_RECEIVABLES),
        (_("Invoices"), reverse("document_list"), roles.VIEW_RECEIVABLES),
        (_("New invoice"), reverse("document_create"), roles.ISSUE_DOCUMENTS),
        (_("Trial balance"), reverse("trial_balance"), roles.VIEW_LEDGER),
        (_("Audit trail"), reverse("audit_list"), frozenset({roles.AUDITOR, roles.AR_MANAGER, roles.ADMIN})),
    ]
    visible = [{"label": label, "url": url} for label, url, allowed in items if roles.has_any(user, allowed)]
    return {"nav_items": visible, "user_roles": sorted(roles.roles_of(user))}
