"""The credit analyst's limit pages (docs/credit.md, "Back-office pages: limits, approvals and the
customer's credit page"): the limits with their use, a customer's credit page (its limits and their
history, exposure, group, held orders, latest score; asking for a new limit, blocking and unblocking),
the limits waiting for approval, and the entity's credit policy and approval thresholds.

Reading needs VIEW_CREDIT (credit analyst, AR manager, auditor, admin); asking for limits and blocking
MANAGE_CREDIT (credit analyst, AR manager, admin); approving and rejecting limits, and the settings,
APPROVE_LIMITS (AR manager, admin): the API's capabilities of the same names. Others get a 403; another
legal entity's customer or limit is a 404. Each POST calls one service of `o2c.credit`; a refusal is
the service's sentence on the page (422), nothing changed."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from o2c.core import clock
from o2c.core.exceptions import DomainError
from o2c.credit import limit_selectors, limits, orders, selectors
from o2c.credit.models import CreditLimit
from o2c.customers.models import Customer
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.workspace import credit_limit_forms as limit_forms
from o2c.workspace import roles
from o2c.workspace.templatetags.o2c_format import money
from o2c.workspace.views import (
    _actor,
    _entity_ids,
    _page_number,
    _query_without_page,
    reader_default_entity,
    role_required,
)

# the role sets of the API's capabilities of the same names (config/api.py maps them from roles)
VIEW_CREDIT = roles.VIEW_CREDIT
MANAGE_CREDIT = roles.MANAGE_CREDIT
APPROVE_LIMITS = roles.APPROVE_LIMITS

LIMITS_PER_PAGE = 50


def _entities(request: HttpRequest) -> list[LegalEntity]:
    return list(ledger_selectors.entities_for_user(request.user))


def _main_entity(request: HttpRequest) -> LegalEntity | None:
    return reader_default_entity(request)


def _today(entity: LegalEntity | None) -> date:
    return clock.today_in(entity.time_zone if entity is not None else "UTC")


def _customer(request: HttpRequest, customer_id: int) -> Customer:
    found = (
        Customer.objects.select_related("entity", "parent")
        .filter(entity_id__in=_entity_ids(request), pk=customer_id)
        .first()
    )
    if found is None:
        raise Http404
    return found


# --- the limits -----------------------------------------------------------------------------------


@role_required(VIEW_CREDIT)
@require_GET
def limit_list(request: HttpRequest) -> HttpResponse:
    """Every customer with a limit, by number, 50 a page (`limit_selectors.limit_list`: set-based)."""
    form = limit_forms.LimitFilterForm(request.GET)
    search, show = "", ""
    if form.is_valid():
        search, show = form.cleaned_data["q"], form.cleaned_data["show"]
    as_of = _today(_main_entity(request))
    page = limit_selectors.limit_list(
        entity_ids=_entity_ids(request),
        as_of=as_of,
        search=search,
        show=show,
        page=_page_number(request),
        per_page=LIMITS_PER_PAGE,
    )
    context = {
        "form": form,
        "page": page,
        "rows": page.rows,
        "as_of": as_of,
        "query": _query_without_page(request),
        "filtered": bool(search or show),
    }
    return render(request, "workspace/credit/limit_list.html", context)


# --- a customer's credit --------------------------------------------------------------------------


def _customer_page(
    request: HttpRequest,
    customer: Customer,
    *,
    limit_form: limit_forms.LimitRequestForm | None = None,
    block_form: limit_forms.ReasonForm | None = None,
    status: int = 200,
) -> HttpResponse:
    as_of = _today(customer.entity)
    credit = limit_selectors.customer_credit(customer=customer, as_of=as_of)
    own = next((applied.limit for applied in credit.limits if applied.own), None)
    history = list(selectors.limit_history(customer))
    context: dict[str, Any] = {
        "customer": customer,
        "credit": credit,
        "history": history,
        "pending": next((v for v in history if v.status == CreditLimit.Status.PENDING), None),
        "may_manage": roles.has_any(request.user, MANAGE_CREDIT),
        "limit_form": limit_form
        or limit_forms.LimitRequestForm(
            initial={"currency": own.currency if own is not None else customer.currency}
        ),
        "block_form": block_form or limit_forms.ReasonForm(),
        "is_blocked": customer.status == Customer.Status.BLOCKED,
    }
    return render(request, "workspace/credit/customer_credit.html", context, status=status)


@role_required(VIEW_CREDIT)
@require_GET
def customer_credit(request: HttpRequest, customer_id: int) -> HttpResponse:
    return _customer_page(request, _customer(request, customer_id))


@role_required(MANAGE_CREDIT)
@require_POST
def customer_limit_request(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Ask for a new limit (`limits.limit_request`): effective at once, or waiting for approval."""
    customer = _customer(request, customer_id)
    form = limit_forms.LimitRequestForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            limit = limits.limit_request(
                customer_id=customer.pk,
                amount=data["amount"],
                currency=data["currency"],
                valid_until=data["valid_until"],
                next_review_date=data["next_review_date"],
                reason=data["reason"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            figures = {"limit": money(limit.amount_minor, limit.currency), "number": customer.number}
            if limit.status == CreditLimit.Status.ACTIVE:
                messages.success(request, _("The limit of %(limit)s for %(number)s is in force.") % figures)
            else:
                messages.success(
                    request,
                    _("The limit of %(limit)s for %(number)s waits for a second person's approval.")
                    % figures,
                )
            return redirect("credit_customer", customer_id=customer.pk)
    return _customer_page(request, _customer(request, customer_id), limit_form=form, status=422)


def _block_or_unblock(request: HttpRequest, customer_id: int, *, block: bool) -> HttpResponse:
    customer = _customer(request, customer_id)
    form = limit_forms.ReasonForm(request.POST)
    if form.is_valid():
        service = orders.customer_block if block else orders.customer_unblock
        try:
            service(
                customer_id=customer.pk,
                reason=form.cleaned_data["reason"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            done = _("Customer %(number)s blocked.") if block else _("Customer %(number)s unblocked.")
            messages.success(request, done % {"number": customer.number})
            return redirect("credit_customer", customer_id=customer.pk)
    return _customer_page(request, _customer(request, customer_id), block_form=form, status=422)


@role_required(MANAGE_CREDIT)
@require_POST
def customer_block(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Block the customer (`orders.customer_block`): its new orders are held."""
    return _block_or_unblock(request, customer_id, block=True)


@role_required(MANAGE_CREDIT)
@require_POST
def customer_unblock(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Unblock the customer (`orders.customer_unblock`): its group's held orders are checked again."""
    return _block_or_unblock(request, customer_id, block=False)


# --- approvals ------------------------------------------------------------------------------------


def _approvals_page(
    request: HttpRequest,
    *,
    failed: tuple[int, limit_forms.DecisionForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    as_of = _today(_main_entity(request))
    rows = []
    for row in limit_selectors.pending_rows(entity_ids=_entity_ids(request), as_of=as_of):
        form = failed[1] if failed and failed[0] == row.request.pk else limit_forms.DecisionForm()
        form.prefix = f"limit-{row.request.pk}"
        rows.append({"row": row, "form": form})
    context = {"rows": rows, "as_of": as_of, "may_decide": roles.has_any(request.user, APPROVE_LIMITS)}
    return render(request, "workspace/credit/limit_approvals.html", context, status=status)


@role_required(VIEW_CREDIT)
@require_GET
def limit_approvals(request: HttpRequest) -> HttpResponse:
    """The limits waiting for a second person, the oldest first."""
    return _approvals_page(request)


def _pending_in_scope(request: HttpRequest, limit_id: int) -> CreditLimit:
    found = (
        CreditLimit.objects.select_related("customer")
        .filter(pk=limit_id, customer__entity_id__in=_entity_ids(request))
        .first()
    )
    if found is None:
        raise Http404
    return found


def _decide(request: HttpRequest, limit_id: int, *, approve: bool) -> HttpResponse:
    limit = _pending_in_scope(request, limit_id)
    form = limit_forms.DecisionForm(request.POST, prefix=f"limit-{limit.pk}")
    if form.is_valid():
        service = limits.limit_approve if approve else limits.limit_reject
        try:
            service(
                limit_id=limit.pk, actor=_actor(request), reason=form.cleaned_data["reason"], now=clock.now()
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            figures = {"limit": money(limit.amount_minor, limit.currency), "number": limit.customer.number}
            done = (
                _("The limit of %(limit)s for %(number)s is approved and in force.")
                if approve
                else _("The limit of %(limit)s for %(number)s is rejected.")
            )
            messages.success(request, done % figures)
            return redirect("credit_limit_approvals")
    return _approvals_page(request, failed=(limit.pk, form), status=422)


@role_required(APPROVE_LIMITS)
@require_POST
def limit_approve(request: HttpRequest, limit_id: int) -> HttpResponse:
    """Approve a pending limit (`limits.limit_approve`); never by who asked for it."""
    return _decide(request, limit_id, approve=True)


@role_required(APPROVE_LIMITS)
@require_POST
def limit_reject(request: HttpRequest, limit_id: int) -> HttpResponse:
    """Reject a pending limit (`limits.limit_reject`), a reason required."""
    return _decide(request, limit_id, approve=False)


# --- the entity's credit policy and approval thresholds -------------------------------------------


def _entity(request: HttpRequest, code: str) -> LegalEntity:
    """The entity named by its code among the reader's (404 for another), the default one without."""
    entities = _entities(request)
    if not entities:
        raise Http404
    if not code:
        return next((e for e in entities if e.is_default), entities[0])
    found = next((e for e in entities if e.code == code), None)
    if found is None:
        raise Http404
    return found


def _settings_page(
    request: HttpRequest,
    entity: LegalEntity,
    *,
    policy_form: limit_forms.PolicyForm | None = None,
    threshold_form: limit_forms.ThresholdForm | None = None,
    status: int = 200,
) -> HttpResponse:
    policy = selectors.policy_of(entity.pk)
    context = {
        "entity": entity,
        "entities": _entities(request),
        "policy": policy,
        "thresholds": limit_selectors.thresholds_of(entity),
        "may_change": roles.has_any(request.user, APPROVE_LIMITS),
        "policy_form": policy_form
        or limit_forms.PolicyForm(
            initial={
                "past_due_days": policy.past_due_days,
                "cutoff_time": policy.cutoff_time,
                "sales_email": policy.sales_email,
            }
        ),
        "threshold_form": threshold_form or limit_forms.ThresholdForm(initial={"currency": entity.currency}),
    }
    return render(request, "workspace/credit/limit_settings.html", context, status=status)


@role_required(VIEW_CREDIT)
@require_GET
def credit_settings(request: HttpRequest) -> HttpResponse:
    """The entity's credit policy and approval thresholds (`?entity=CODE`, the default entity without)."""
    return _settings_page(request, _entity(request, request.GET.get("entity", "")))


@role_required(APPROVE_LIMITS)
@require_POST
def credit_policy_save(request: HttpRequest) -> HttpResponse:
    """Save the entity's credit policy (`limits.policy_set`, audited)."""
    entity = _entity(request, request.POST.get("entity", ""))
    form = limit_forms.PolicyForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        limits.policy_set(
            entity=entity,
            past_due_days=data["past_due_days"],
            cutoff_time=data["cutoff_time"],
            sales_email=data["sales_email"],
            actor=_actor(request),
            now=clock.now(),
        )
        messages.success(request, _("The credit policy of %(code)s is saved.") % {"code": entity.code})
        return _settings_redirect(entity)
    return _settings_page(request, entity, policy_form=form, status=422)


@role_required(APPROVE_LIMITS)
@require_POST
def credit_threshold_save(request: HttpRequest) -> HttpResponse:
    """Set the entity's approval threshold in a currency (`limits.threshold_set`, audited)."""
    entity = _entity(request, request.POST.get("entity", ""))
    form = limit_forms.ThresholdForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            threshold = limits.threshold_set(
                entity=entity,
                currency=data["currency"],
                amount=data["amount"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("The approval threshold of %(code)s is %(amount)s.")
                % {"code": entity.code, "amount": money(threshold.threshold_minor, threshold.currency)},
            )
            return _settings_redirect(entity)
    return _settings_page(request, entity, threshold_form=form, status=422)


def _settings_redirect(entity: LegalEntity) -> HttpResponse:
    return redirect(f"{reverse('credit_settings')}?{urlencode({'entity': entity.code})}")
