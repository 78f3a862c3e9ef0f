"""The credit analyst's order pages (docs/credit.md, "Back-office pages: orders, holds and reports"): the
hold queue (release, reject, recheck one order or every one shown), the orders with an order's facts,
its check as of today, its history and the moves its state allows, and the credit reports.

Reading needs VIEW_CREDIT (credit analyst, AR manager, auditor, admin); releasing, rejecting and
rechecking MANAGE_CREDIT (credit analyst, AR manager, admin); shipping, invoicing and cancelling
TAKE_ORDERS (billing, credit analyst, AR manager, admin); the reports VIEW_CREDIT and VIEW_SCORING: the
API's capabilities of the same names. Others get a 403; another legal entity's order is a 404. Each POST
calls one service of `o2c.credit.orders`; a missing reason or a refusal comes back on the page (422),
nothing changed."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from o2c.core import clock
from o2c.core.exceptions import DomainError
from o2c.core.money import Money
from o2c.credit import order_selectors, orders, reviews, selectors
from o2c.credit.models import SalesOrder
from o2c.ledger.models import LegalEntity
from o2c.workspace import credit_order_forms as order_forms
from o2c.workspace import roles
from o2c.workspace.views import (
    _actor,
    _entity_ids,
    _page_number,
    _query_without_page,
    reader_default_entity,
    role_required,
    slice_page,
)

# the role sets of the API's capabilities of the same names (config/api.py maps them from roles)
VIEW_CREDIT = roles.VIEW_CREDIT
MANAGE_CREDIT = roles.MANAGE_CREDIT
TAKE_ORDERS = roles.TAKE_ORDERS
VIEW_SCORING = roles.VIEW_SCORING
VIEW_REPORTS = VIEW_CREDIT & VIEW_SCORING  # the reports read both credit's and scoring's figures

ORDERS_PER_PAGE = 50
HISTORY_MAX = 100
DUE_FOR_REVIEW_MAX = 200
BACK_TO_HOLDS = "holds"  # `?back=holds` on an action: answer with the hold queue, its filters kept
FILTERS = ("reason", "customer")


def _order(request: HttpRequest, number: str) -> SalesOrder:
    found = selectors.order_get(entity_ids=_entity_ids(request), number=number)
    if found is None:
        raise Http404
    return found


def _main_entity(request: HttpRequest) -> LegalEntity | None:
    return reader_default_entity(request)


def _today(entity: LegalEntity | None) -> date:
    return clock.today_in(entity.time_zone if entity is not None else "UTC")


def _reasons(reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored reasons with the name of their code."""
    return [
        {**reason, "label": order_forms.REASON_LABELS.get(reason.get("code", ""), reason.get("code", ""))}
        for reason in reasons
    ]


def _hold_filters(request: HttpRequest) -> str:
    return urlencode([(name, request.GET[name]) for name in FILTERS if request.GET.get(name)])


# --- the hold queue -------------------------------------------------------------------------------


def _hold_page(
    request: HttpRequest,
    *,
    failed: str = "",
    failed_form: order_forms.ReasonForm | None = None,
    status: int = 200,
) -> HttpResponse:
    form = order_forms.HoldFilterForm(request.GET)
    reason, customer = "", ""
    if form.is_valid():
        reason, customer = form.cleaned_data["reason"], form.cleaned_data["customer"]
    rows = order_selectors.hold_queue(
        entity_ids=_entity_ids(request), now=clock.now(), reason=reason, customer=customer
    )
    filters = _hold_filters(request)
    context = {
        "form": form,
        "rows": [{"held": row, "reasons": _reasons(row.reasons)} for row in rows],
        "filtered": bool(reason or customer),
        "back": urlencode([("back", BACK_TO_HOLDS)]) + ("&" + filters if filters else ""),
        "filters": filters,
        "may_manage": roles.has_any(request.user, MANAGE_CREDIT),
        "failed": failed,
        "failed_form": failed_form,
        "failed_shown": any(row.order.number == failed for row in rows),
    }
    return render(request, "workspace/credit/hold_list.html", context, status=status)


@role_required(VIEW_CREDIT)
@require_GET
def hold_list(request: HttpRequest) -> HttpResponse:
    """The held orders, the oldest first, filtered by reason code and customer."""
    return _hold_page(request)


@role_required(MANAGE_CREDIT)
@require_POST
def hold_recheck_all(request: HttpRequest) -> HttpResponse:
    """Check every held order the queue shows with its filters again (`orders.orders_recheck`)."""
    form = order_forms.HoldFilterForm(request.GET)
    reason, customer = "", ""
    if form.is_valid():
        reason, customer = form.cleaned_data["reason"], form.cleaned_data["customer"]
    now = clock.now()
    shown = order_selectors.hold_queue(
        entity_ids=_entity_ids(request), now=now, reason=reason, customer=customer
    )
    released = orders.orders_recheck(
        order_ids=[row.order.pk for row in shown],
        actor=_actor(request),
        now=now,
        reason=_("rechecked by an analyst"),
    )
    messages.success(
        request,
        ngettext(
            "%(count)s held order rechecked: %(released)s released.",
            "%(count)s held orders rechecked: %(released)s released.",
            len(shown),
        )
        % {"count": len(shown), "released": len(released)},
    )
    filters = _hold_filters(request)
    return redirect(reverse("credit_hold_list") + ("?" + filters if filters else ""))


# --- actions on one order -------------------------------------------------------------------------


def _back(request: HttpRequest, order: SalesOrder) -> HttpResponse:
    if request.GET.get("back") == BACK_TO_HOLDS:
        filters = _hold_filters(request)
        return redirect(reverse("credit_hold_list") + ("?" + filters if filters else ""))
    return redirect("credit_order_detail", number=order.number)


def _refused(
    request: HttpRequest, order: SalesOrder, form: order_forms.ReasonForm, *, cancel: bool = False
) -> HttpResponse:
    if request.GET.get("back") == BACK_TO_HOLDS and not cancel:
        return _hold_page(request, failed=order.number, failed_form=form, status=422)
    if cancel:
        return _detail(request, order, cancel_form=form, status=422)
    return _detail(request, order, reason_form=form, status=422)


@role_required(MANAGE_CREDIT)
@require_POST
def order_release(request: HttpRequest, number: str) -> HttpResponse:
    """Release a held order whatever its reasons, with a reason (`orders.order_release`)."""
    order = _order(request, number)
    form = order_forms.ReasonForm(request.POST)
    if form.is_valid():
        try:
            orders.order_release(
                order_id=order.pk, reason=form.cleaned_data["reason"], actor=_actor(request), now=clock.now()
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Order %(number)s released.") % {"number": order.number})
            return _back(request, order)
    return _refused(request, order, form)


@role_required(MANAGE_CREDIT)
@require_POST
def order_reject(request: HttpRequest, number: str) -> HttpResponse:
    """Reject a held order, with a reason (`orders.order_reject`)."""
    order = _order(request, number)
    form = order_forms.ReasonForm(request.POST)
    if form.is_valid():
        try:
            orders.order_reject(
                order_id=order.pk, reason=form.cleaned_data["reason"], actor=_actor(request), now=clock.now()
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Order %(number)s rejected.") % {"number": order.number})
            return _back(request, order)
    return _refused(request, order, form)


@role_required(MANAGE_CREDIT)
@require_POST
def order_recheck(request: HttpRequest, number: str) -> HttpResponse:
    """Check a held order again (`orders.order_recheck`): released when it passes now, else held with
    today's reasons, which the message gives."""
    order = _order(request, number)
    try:
        checked = orders.order_recheck(order_id=order.pk, actor=_actor(request), now=clock.now())
    except DomainError as error:
        messages.error(request, error.message)
        return _back(request, order)
    if checked.status == SalesOrder.Status.RELEASED:
        messages.success(
            request, _("Order %(number)s passed the check and is released.") % {"number": number}
        )
    else:
        messages.warning(
            request,
            _("Order %(number)s is still held: %(reasons)s.")
            % {"number": order.number, "reasons": "; ".join(r.get("text", "") for r in checked.hold_reasons)},
        )
    return _back(request, order)


def _move(request: HttpRequest, number: str, to: str, done: str) -> HttpResponse:
    """`orders.order_move`; `done` is the message of the move, with the order's `%(number)s`."""
    order = _order(request, number)
    form = order_forms.ReasonForm(request.POST, prefix="cancel")
    if to == SalesOrder.Status.CANCELLED:
        if not form.is_valid():
            return _refused(request, order, form, cancel=True)
        reason = form.cleaned_data["reason"]
    else:
        reason = ""
    try:
        orders.order_move(order_id=order.pk, to=to, reason=reason, actor=_actor(request), now=clock.now())
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done % {"number": order.number})
    return redirect("credit_order_detail", number=order.number)


@role_required(TAKE_ORDERS)
@require_POST
def order_ship(request: HttpRequest, number: str) -> HttpResponse:
    return _move(request, number, SalesOrder.Status.SHIPPED, _("Order %(number)s marked shipped."))


@role_required(TAKE_ORDERS)
@require_POST
def order_invoice(request: HttpRequest, number: str) -> HttpResponse:
    return _move(request, number, SalesOrder.Status.INVOICED, _("Order %(number)s marked invoiced."))


@role_required(TAKE_ORDERS)
@require_POST
def order_cancel(request: HttpRequest, number: str) -> HttpResponse:
    return _move(request, number, SalesOrder.Status.CANCELLED, _("Order %(number)s cancelled."))


# --- the orders -----------------------------------------------------------------------------------


@role_required(VIEW_CREDIT)
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    """Every order, the newest first, filtered by status and customer, 50 a page (no total count)."""
    form = order_forms.OrderFilterForm(request.GET)
    status, customer = "", ""
    if form.is_valid():
        status, customer = form.cleaned_data["status"], form.cleaned_data["customer"]
    page = slice_page(
        order_selectors.order_list(entity_ids=_entity_ids(request), status=status, customer=customer),
        number=_page_number(request),
        per_page=ORDERS_PER_PAGE,
    )
    context = {
        "form": form,
        "page": page,
        "rows": page.object_list,
        "status_labels": order_forms.STATUS_LABELS,
        "query": _query_without_page(request),
        "filtered": bool(status or customer),
    }
    return render(request, "workspace/credit/order_list.html", context)


def _detail(
    request: HttpRequest,
    order: SalesOrder,
    *,
    reason_form: order_forms.ReasonForm | None = None,
    cancel_form: order_forms.ReasonForm | None = None,
    status: int = 200,
) -> HttpResponse:
    now = clock.now()
    held = order.status == SalesOrder.Status.HELD
    check, check_error = None, ""
    if held:  # a released order counts in its own exposure already: a what-if would count it twice
        try:
            check = orders.what_if(
                customer=order.customer,
                amount=Money.from_minor(order.amount_minor, order.currency).amount,
                currency=order.currency,
                as_of=_today(order.entity),
            )
        except DomainError as error:
            check_error = error.message
    may_move = roles.has_any(request.user, TAKE_ORDERS)
    context = {
        "order": order,
        "status_label": order_forms.STATUS_LABELS.get(order.status, order.status),
        "age_days": (now - order.held_at).days if held and order.held_at else None,
        "reasons": _reasons(order.hold_reasons),
        "check": check,
        "check_reasons": _reasons(check.reasons) if check else [],
        "check_error": check_error,
        "history": order_selectors.order_history(order)[:HISTORY_MAX],
        "may_decide": held and roles.has_any(request.user, MANAGE_CREDIT),
        "moves": [to for to, sources in orders.ORDER_MOVES.items() if order.status in sources]
        if may_move
        else [],
        "reason_form": reason_form or order_forms.ReasonForm(),
        "cancel_form": cancel_form or order_forms.ReasonForm(prefix="cancel"),
    }
    return render(request, "workspace/credit/order_detail.html", context, status=status)


@role_required(VIEW_CREDIT)
@require_GET
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    return _detail(request, _order(request, number))


# --- the reports ----------------------------------------------------------------------------------


@role_required(VIEW_REPORTS)
@require_GET
def reports(request: HttpRequest) -> HttpResponse:
    """Holds by reason and age (the orders on hold now), limit use, exposure and limit use by risk class,
    and the limits due for review, as of today or `?as_of=YYYY-MM-DD`."""
    form = order_forms.ReportForm(request.GET)
    as_of = _today(_main_entity(request))
    if form.is_valid() and form.cleaned_data["as_of"]:
        as_of = form.cleaned_data["as_of"]
    entity_ids = _entity_ids(request)
    holds = [
        {
            "reason": row.reason,
            "label": order_forms.REASON_LABELS.get(row.reason, row.reason),
            "bucket": row.bucket,
            "orders": row.orders,
            "amounts": sorted(row.amounts.items()),
        }
        for row in selectors.holds_by_reason_and_age(entity_ids=entity_ids, now=clock.now())
    ]
    limit_error = ""
    try:
        limit_use = selectors.limit_use(entity_ids=entity_ids, as_of=as_of)
        class_limits = reviews.risk_class_limit_use(entity_ids=entity_ids, as_of=as_of)
    except DomainError as error:  # a currency without any FX rate
        limit_use, class_limits, limit_error = [], [], error.message
    context = {
        "form": form,
        "as_of": as_of,
        "holds": holds,
        "limit_use": limit_use,
        "limit_error": limit_error,
        "classes": reviews.risk_class_distribution(entity_ids=entity_ids),
        "class_limits": class_limits,
        "due": reviews.limits_due_for_review(entity_ids=entity_ids, as_of=as_of)[:DUE_FOR_REVIEW_MAX],
    }
    return render(request, "workspace/credit/reports.html", context, status=200 if form.is_valid() else 422)
