"""The collector's and the manager's pages (docs/collections.md, "Back-office pages"): the worklist with
the day's tasks, a customer's collections page (open items, activities, promises, payment plans, and
one place to log a call, record a promise, propose a plan and decide it), and the dunning plans with
their steps and templates (a live preview of a template in its language and locale).

Reading needs VIEW_COLLECTIONS (collector, AR manager, admin, auditor); logging, promising and
proposing CHANGE_COLLECTIONS (collector, AR manager, admin); deciding a payment plan APPROVE_CREDITS
(AR manager, admin, never who proposed it: the service checks); another collector's worklist
REVIEW_PORTFOLIOS (AR manager, auditor, admin); changing a dunning plan, its steps and templates
EDIT_DUNNING_PLANS (AR manager, admin). Others get a 403; another legal entity's customer, plan or
payment plan is a 404. Each POST calls one service; a refusal is the service's sentence on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from o2c.collections import activities, plan_setup, plans, selectors, services, templating
from o2c.collections.defaults import LANGUAGES
from o2c.collections.models import DunningPlan, DunningStep, PaymentPlan, PromiseToPay
from o2c.core import clock
from o2c.core.exceptions import DomainError
from o2c.core.money import Money
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.disputes import selectors as dispute_selectors
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.receivables import selectors as receivable_selectors
from o2c.receivables.models import Document
from o2c.workspace import collection_forms, roles
from o2c.workspace.templatetags.o2c_format import money
from o2c.workspace.views import (
    HtmxHttpRequest,
    _actor,
    _entity_ids,
    _page_number,
    _query_without_page,
    role_required,
    slice_page,
)

REVIEW_PORTFOLIOS = frozenset({roles.AR_MANAGER, roles.AUDITOR, roles.ADMIN})
"""Who reads another collector's worklist (the API's `review_portfolios`)."""
EDIT_DUNNING_PLANS = frozenset({roles.AR_MANAGER, roles.ADMIN})
"""Who changes dunning plans, steps and templates (`templating.EDIT_PLANS` names the same groups)."""

ASSIGN_PORTFOLIOS = frozenset({roles.AR_MANAGER, roles.ADMIN})
"""Who moves customers between portfolios (the API's `assign_portfolios`)."""

LINES_PER_PAGE = 50
CUSTOMERS_PER_PAGE = 100
TASKS_SHOWN = 50
"""Follow-ups and promises shown of each kind on the worklist page, the oldest first; the rest counted."""
OPEN_ITEMS_MAX = 200
TIMELINE_MAX = 100
HISTORY_MAX = 50


# --- the worklist ---------------------------------------------------------------------------------


def _chosen_entity(entities: list[LegalEntity], code: str) -> LegalEntity:
    for entity in entities:
        if entity.code == code:
            return entity
    return next((entity for entity in entities if entity.is_default), entities[0])


@dataclass(frozen=True)
class Pager:
    """A page of the worklist's lines (computed in memory: the selector returns the whole list)."""

    number: int
    has_previous: bool
    has_next: bool

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


@dataclass(frozen=True)
class Portfolio:
    """Whose worklist, in which entity, as the reader asked for it (`?entity=CODE&collector=NAME`)."""

    entities: list[LegalEntity]
    entity: LegalEntity
    collector: User
    reader: User
    reviewer: bool

    @property
    def today(self) -> date:
        return clock.today_in(self.entity.time_zone)


def _portfolio(request: HttpRequest) -> Portfolio:
    """The reader's own portfolio, or (for managers, auditors and admins) another collector's; anyone
    else asking for another's gets a 403."""
    entities = list(ledger_selectors.entities_for_user(request.user))
    if not entities:
        raise Http404
    reviewer = roles.has_any(request.user, REVIEW_PORTFOLIOS)
    me = _actor(request)
    wanted = request.GET.get("collector", "") or me.username
    collector = me
    if wanted != me.username:
        if not reviewer:
            raise PermissionDenied
        found = User.objects.filter(username=wanted).first()
        if found is None:
            raise Http404
        collector = found
    entity = _chosen_entity(entities, request.GET.get("entity", ""))
    return Portfolio(entities, entity, collector, me, reviewer)


@role_required(roles.VIEW_COLLECTIONS)
@require_GET
def worklist(request: HttpRequest) -> HttpResponse:
    """A collector's portfolio by priority (`selectors.worklist`: three grouped queries), 50 lines a
    page; the day's tasks come into the page from `worklist_tasks` (htmx, once the list is shown), so
    the list's server time is the worklist's alone."""
    chosen = _portfolio(request)
    entity, collector = chosen.entity, chosen.collector
    names = None
    if chosen.reviewer:
        names = [
            name
            for _pk, name in dispute_selectors.case_owner_choices(
                entity_ids=[entity.pk], groups=roles.CHANGE_COLLECTIONS
            )
        ]
        if collector.username not in names:
            names = sorted([*names, collector.username])
    form = collection_forms.WorklistForm(
        initial={"entity": entity.code, "collector": collector.username},
        entities=[choice.code for choice in chosen.entities],
        collectors=names,
    )
    today = chosen.today
    lines = selectors.worklist(entity_ids=[entity.pk], collector_id=collector.pk, today=today)
    number = _page_number(request)
    start = (number - 1) * LINES_PER_PAGE
    context = {
        "form": form,
        "entity": entity,
        "collector": collector,
        "today": today,
        "lines": lines[start : start + LINES_PER_PAGE],
        "first_rank": start + 1,
        "line_count": len(lines),
        "page": Pager(number, number > 1, len(lines) > start + LINES_PER_PAGE),
        "query": _query(entity, collector, chosen.reader),
        "entity_query": _entity_query(chosen.entities, entity),
    }
    return render(request, "workspace/collections/worklist.html", context)


@role_required(roles.VIEW_COLLECTIONS)
@require_GET
def worklist_tasks(request: HttpRequest) -> HttpResponse:
    """The day's tasks of the same portfolio (`selectors.collector_tasks`): the oldest 50 follow-ups
    due and promises falling due, the rest counted."""
    chosen = _portfolio(request)
    today = chosen.today
    tasks = selectors.collector_tasks(
        entity_ids=[chosen.entity.pk], collector_id=chosen.collector.pk, today=today, limit=TASKS_SHOWN
    )
    context = {
        "today": today,
        "follow_ups": tasks.activities,
        "more_follow_ups": tasks.activities_total - len(tasks.activities),
        "promises_due": tasks.promises,
        "more_promises": tasks.promises_total - len(tasks.promises),
        "entity_query": _entity_query(chosen.entities, chosen.entity),
    }
    return render(request, "workspace/collections/_tasks.html", context)


def _query(entity: LegalEntity, collector: User, me: User) -> str:
    parts = [f"entity={entity.code}"]
    if collector.pk != me.pk:
        parts.append(f"collector={collector.username}")
    return "&".join(parts)


def _entity_query(entities: list[LegalEntity], entity: LegalEntity) -> str:
    """`?entity=CODE` for the customer links when the reader sees several entities (a customer number
    is unique within one entity only)."""
    return f"?entity={entity.code}" if len(entities) > 1 else ""


# --- a customer's collections page ----------------------------------------------------------------


def _customer_or_404(request: HttpRequest, number: str) -> Customer:
    """The customer of that number in the reader's entities (`?entity=CODE` picks one when several
    have it)."""
    customers = Customer.objects.filter(entity_id__in=_entity_ids(request), number=number).select_related(
        "entity", "collector"
    )
    code = request.GET.get("entity") or request.POST.get("entity")
    if code:
        customers = customers.filter(entity__code=code)
    found = list(customers.order_by("entity__code")[:2])
    if len(found) != 1:
        raise Http404
    return found[0]


@dataclass(frozen=True)
class ItemRow:
    document: Document
    days_overdue: int
    is_promised: bool
    is_planned: bool


@dataclass(frozen=True)
class PromiseRow:
    promise: PromiseToPay
    documents: list[str]


@dataclass(frozen=True)
class PlanRow:
    plan: PaymentPlan
    documents: list[str]
    may_decide: bool


def _document_choices(items: list[Document]) -> list[tuple[int, str]]:
    return [
        (document.pk, f"{document.number} · {money(document.open_minor, document.currency)}")
        for document in items
    ]


def _work_context(
    request: HttpRequest,
    customer: Customer,
    *,
    activity_form: collection_forms.ActivityForm | None = None,
    promise_form: collection_forms.PromiseForm | None = None,
    plan_form: collection_forms.PaymentPlanForm | None = None,
    error: str = "",
    done: str = "",
) -> dict[str, Any]:
    """Everything below the customer's name: a fixed number of queries whatever the customer's size."""
    entity_ids = [customer.entity_id]
    today = clock.today_in(customer.entity.time_zone)
    items = list(
        receivable_selectors.document_list(entity_ids=entity_ids, customer_id=customer.pk, open_only=True)
        .order_by("due_date", "number", "pk")
        .select_related(None)[:OPEN_ITEMS_MAX]
    )
    promises = list(
        selectors.promise_list(entity_ids=entity_ids)
        .filter(customer_id=customer.pk)
        .order_by("-made_on", "-pk")[:HISTORY_MAX]
    )
    payment_plans = list(
        selectors.payment_plan_list(entity_ids=entity_ids)
        .filter(customer_id=customer.pk)
        .prefetch_related("instalments")
        .order_by("-proposed_at", "-pk")[:HISTORY_MAX]
    )
    promised = selectors.promise_documents(promise_ids=[promise.pk for promise in promises])
    planned = selectors.payment_plans_documents(plan_ids=[plan.pk for plan in payment_plans])
    linked = {pk for ids in (*promised.values(), *planned.values()) for pk in ids}
    numbers = dict(
        receivable_selectors.document_list(entity_ids=entity_ids, customer_id=customer.pk)
        .filter(pk__in=linked)
        .values_list("pk", "number")
    )
    open_promised = {
        pk
        for promise in promises
        if promise.state == PromiseToPay.State.OPEN
        for pk in promised.get(promise.pk, [])
    }
    running = {
        pk
        for plan in payment_plans
        if plan.state in selectors.RUNNING_PLAN_STATES
        for pk in planned.get(plan.pk, [])
    }
    user = _actor(request)
    can_change = roles.has_any(user, roles.CHANGE_COLLECTIONS)
    can_approve = roles.has_any(user, roles.APPROVE_CREDITS)
    choices = _document_choices(items)
    context: dict[str, Any] = {
        "customer": customer,
        "today": today,
        "items": [
            ItemRow(item, (today - item.due_date).days, item.pk in open_promised, item.pk in running)
            for item in items
        ],
        "items_capped": len(items) == OPEN_ITEMS_MAX,
        "activities": list(
            selectors.activity_list(entity_ids=entity_ids, customer_id=customer.pk).order_by(
                "-created_at", "-pk"
            )[:TIMELINE_MAX]
        ),
        "promises": [
            PromiseRow(promise, sorted(numbers.get(pk) or "" for pk in promised.get(promise.pk, [])))
            for promise in promises
        ],
        "payment_plans": [
            PlanRow(
                plan,
                sorted(numbers.get(pk) or "" for pk in planned.get(plan.pk, [])),
                can_approve and plan.state == PaymentPlan.State.PROPOSED,
            )
            for plan in payment_plans
        ],
        "can_change": can_change,
        "entity_field": request.GET.get("entity") or request.POST.get("entity") or "",
        "error": error,
        "done": done,
    }
    if can_change:
        context |= {
            "activity_form": activity_form
            or collection_forms.ActivityForm(prefix="activity", documents=choices),
            "promise_form": promise_form or collection_forms.PromiseForm(prefix="promise", documents=choices),
            "plan_form": plan_form or collection_forms.PaymentPlanForm(prefix="plan", documents=choices),
        }
    if can_approve:
        context["decision_form"] = collection_forms.DecisionForm(prefix="decision")
    return context


def _customer_page(
    request: HttpRequest, customer: Customer, *, status: int = 200, **kwargs: Any
) -> HttpResponse:
    htmx = getattr(request, "htmx", False)
    template = "workspace/collections/_customer_work.html" if htmx else "workspace/collections/customer.html"
    # htmx swaps a 200 only: a refusal is shown in the swapped part
    return render(
        request, template, _work_context(request, customer, **kwargs), status=200 if htmx else status
    )


@role_required(roles.VIEW_COLLECTIONS)
@require_GET
def customer_collections(request: HttpRequest, number: str) -> HttpResponse:
    return _customer_page(request, _customer_or_404(request, number))


def _back(request: HttpRequest, customer: Customer, text: str) -> HttpResponse:
    """After a change: htmx gets the page's working part afresh, with empty forms; a plain POST is
    redirected to the page."""
    if getattr(request, "htmx", False):
        return _customer_page(request, customer, done=text)
    messages.success(request, text)
    url = reverse("collections_customer", args=[customer.number])
    entity = request.POST.get("entity")
    return redirect(f"{url}?entity={entity}" if entity else url)


def _documents(customer: Customer, ids: list[int]) -> list[Document]:
    """The customer's documents of these ids (the form offered only its open items)."""
    return list(
        receivable_selectors.document_list(entity_ids=[customer.entity_id], customer_id=customer.pk).filter(
            pk__in=ids
        )
    )


def _open_choices(customer: Customer) -> list[tuple[int, str]]:
    return _document_choices(
        list(
            receivable_selectors.document_list(
                entity_ids=[customer.entity_id], customer_id=customer.pk, open_only=True
            )
            .order_by("due_date", "number", "pk")
            .select_related(None)[:OPEN_ITEMS_MAX]
        )
    )


@role_required(roles.CHANGE_COLLECTIONS)
@require_POST
def activity_log(request: HtmxHttpRequest, number: str) -> HttpResponse:
    """A call, e-mail, letter or note with its outcome, note, documents and next action date
    (`activities.activity_log`)."""
    customer = _customer_or_404(request, number)
    form = collection_forms.ActivityForm(request.POST, prefix="activity", documents=_open_choices(customer))
    if form.is_valid():
        data = form.cleaned_data
        try:
            activities.activity_log(
                customer=customer,
                kind=data["kind"],
                outcome=data["outcome"],
                text=data["text"],
                next_action_date=data["next_action_date"],
                actor=_actor(request),
                now=clock.now(),
                documents=_documents(customer, data["documents"]),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            return _back(request, customer, _("Activity logged."))
    return _customer_page(request, customer, activity_form=form, status=422)


@role_required(roles.CHANGE_COLLECTIONS)
@require_POST
def promise_record(request: HtmxHttpRequest, number: str) -> HttpResponse:
    """A promise to pay some open items by a date (`services.promise_record`), in their currency."""
    customer = _customer_or_404(request, number)
    form = collection_forms.PromiseForm(request.POST, prefix="promise", documents=_open_choices(customer))
    if form.is_valid():
        data = form.cleaned_data
        documents = _documents(customer, data["documents"])
        try:
            services.promise_record(
                customer=customer,
                documents=documents,
                amount=Money(data["amount"], documents[0].currency if documents else customer.currency),
                promised_date=data["promised_date"],
                contact=data["contact"],
                actor=_actor(request),
                now=clock.now(),
                note=data["note"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            return _back(request, customer, _("Promise to pay recorded."))
    return _customer_page(request, customer, promise_form=form, status=422)


@role_required(roles.CHANGE_COLLECTIONS)
@require_POST
def payment_plan_propose(request: HtmxHttpRequest, number: str) -> HttpResponse:
    """A payment plan of some open items in instalments (`plans.payment_plan_propose`); a second
    person approves it."""
    customer = _customer_or_404(request, number)
    form = collection_forms.PaymentPlanForm(request.POST, prefix="plan", documents=_open_choices(customer))
    if form.is_valid():
        data = form.cleaned_data
        documents = _documents(customer, data["documents"])
        currency = documents[0].currency if documents else customer.currency
        try:
            plans.payment_plan_propose(
                customer=customer,
                documents=documents,
                instalments=[
                    plans.InstalmentIn(due, Money(amount, currency)) for due, amount in data["instalments"]
                ],
                actor=_actor(request),
                now=clock.now(),
                note=data["note"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            return _back(
                request, customer, _("Payment plan proposed: it waits for a second person's approval.")
            )
    return _customer_page(request, customer, plan_form=form, status=422)


def _decide(request: HttpRequest, plan_id: int, *, approve: bool) -> HttpResponse:
    try:
        plan = selectors.payment_plan_get(entity_ids=_entity_ids(request), plan_id=plan_id)
    except PaymentPlan.DoesNotExist:
        raise Http404 from None
    customer = plan.customer  # of the reader's entities: payment_plan_get scoped the plan
    form = collection_forms.DecisionForm(request.POST, prefix="decision")
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        if approve:
            plans.payment_plan_approve(plan_id=plan.pk, actor=_actor(request), now=clock.now(), reason=reason)
        else:
            plans.payment_plan_reject(plan_id=plan.pk, actor=_actor(request), now=clock.now(), reason=reason)
    except DomainError as error:
        return _customer_page(request, customer, error=error.message, status=422)
    if approve:
        return _back(request, customer, _("Payment plan %(plan)s approved.") % {"plan": plan.pk})
    return _back(request, customer, _("Payment plan %(plan)s rejected.") % {"plan": plan.pk})


@role_required(roles.APPROVE_CREDITS)
@require_POST
def payment_plan_approve(request: HtmxHttpRequest, plan_id: int) -> HttpResponse:
    return _decide(request, plan_id, approve=True)


@role_required(roles.APPROVE_CREDITS)
@require_POST
def payment_plan_reject(request: HtmxHttpRequest, plan_id: int) -> HttpResponse:
    return _decide(request, plan_id, approve=False)


# --- dunning plans, steps and templates -----------------------------------------------------------


def _plan_or_404(request: HttpRequest, plan_id: int) -> DunningPlan:
    try:
        return templating.dunning_plan_get(entity_ids=_entity_ids(request), plan_id=plan_id)
    except DunningPlan.DoesNotExist:
        raise Http404 from None


def _step_or_404(request: HttpRequest, plan_id: int, level: int) -> DunningStep:
    try:
        return templating.dunning_step_get(entity_ids=_entity_ids(request), plan_id=plan_id, level=level)
    except DunningStep.DoesNotExist:
        raise Http404 from None


def _may_edit(request: HttpRequest) -> bool:
    return roles.has_any(request.user, EDIT_DUNNING_PLANS)


def _plan_choices(plans: list[DunningPlan]) -> list[tuple[int, str]]:
    return [(plan.pk, f"{plan.entity.code} · {plan.name}") for plan in plans]


@role_required(roles.VIEW_COLLECTIONS)
@require_http_methods(["GET", "POST"])
def dunning_plan_list(request: HttpRequest) -> HttpResponse:
    """The plans by entity; managers make a new one as a copy of another
    (`plan_setup.dunning_plan_create`), to be given a segment on its page."""
    all_plans = templating.dunning_plans(entity_ids=_entity_ids(request))
    form = collection_forms.DunningPlanCreateForm(plans=_plan_choices(all_plans))
    status = 200
    if request.method == "POST":
        if not _may_edit(request):
            raise PermissionDenied
        form = collection_forms.DunningPlanCreateForm(request.POST, plans=_plan_choices(all_plans))
        if form.is_valid():
            try:
                plan = plan_setup.dunning_plan_create(
                    source_plan_id=form.cleaned_data["source"],
                    name=form.cleaned_data["name"],
                    actor=_actor(request),
                    now=clock.now(),
                )
            except DomainError as error:
                form.add_error("name", error.message)
            else:
                messages.success(
                    request, _("Plan %(name)s created: give it a segment.") % {"name": plan.name}
                )
                return redirect("collections_dunning_plan", plan_id=plan.pk)
        status = 422
    context = {"plans": all_plans, "create_form": form, "can_edit": _may_edit(request)}
    return render(request, "workspace/collections/plan_list.html", context, status=status)


@role_required(EDIT_DUNNING_PLANS)
@require_POST
def dunning_plan_delete(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan_or_404(request, plan_id)
    try:
        plan_setup.dunning_plan_delete(plan_id=plan.pk, actor=_actor(request), now=clock.now())
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("collections_dunning_plan", plan_id=plan.pk)
    messages.success(request, _("Plan %(name)s deleted.") % {"name": plan.name})
    return redirect("collections_dunning_plans")


@role_required(EDIT_DUNNING_PLANS)
@require_POST
def dunning_step_add(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan_or_404(request, plan_id)
    form = collection_forms.DunningStepAddForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            step = plan_setup.dunning_step_add(
                plan_id=plan.pk,
                reminder=data["reminder"],
                days=data["days"],
                channel=data["channel"],
                tone=data["tone"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Level %(level)s added: edit its texts.") % {"level": step.level})
            return redirect("collections_dunning_plan", plan_id=plan.pk)
    return _plan_page(request, plan, step_form=form, status=422)


@role_required(EDIT_DUNNING_PLANS)
@require_POST
def dunning_step_remove(request: HttpRequest, plan_id: int, level: int) -> HttpResponse:
    step = _step_or_404(request, plan_id, level)
    try:
        plan_setup.dunning_step_remove(
            plan_id=step.plan_id, level=level, actor=_actor(request), now=clock.now()
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Level %(level)s removed.") % {"level": level})
    return redirect("collections_dunning_plan", plan_id=step.plan_id)


def _plan_initial(plan: DunningPlan) -> dict[str, Any]:
    return {
        "priority": plan.priority,
        "countries": plan.countries,
        "payment_terms": plan.payment_terms,
        "risk_classes": plan.risk_classes,
        "customer_types": plan.customer_types,
        "min_open": Money.from_minor(plan.min_open_minor, plan.currency).amount
        if plan.min_open_minor is not None
        else None,
        "currency": plan.currency,
    }


@role_required(roles.VIEW_COLLECTIONS)
@require_http_methods(["GET", "POST"])
def dunning_plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    """The plan's segment criteria (managers change them: `templating.dunning_plan_set`) and its
    steps with the languages of their templates."""
    plan = _plan_or_404(request, plan_id)
    form = collection_forms.DunningPlanForm(initial=_plan_initial(plan))
    status = 200
    if request.method == "POST":
        if not _may_edit(request):
            raise PermissionDenied
        form = collection_forms.DunningPlanForm(request.POST, initial=_plan_initial(plan))
        if form.is_valid():
            data = form.cleaned_data
            try:
                templating.dunning_plan_set(
                    plan_id=plan.pk,
                    priority=data["priority"],
                    countries=data["countries"],
                    payment_terms=data["payment_terms"],
                    risk_classes=data["risk_classes"],
                    customer_types=data["customer_types"],
                    min_open=Money(data["min_open"], data["currency"])
                    if data["min_open"] is not None
                    else None,
                    actor=_actor(request),
                    now=clock.now(),
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Segment saved."))
                return redirect("collections_dunning_plan", plan_id=plan.pk)
        status = 422
    return _plan_page(request, plan, form=form, status=status)


def _plan_page(
    request: HttpRequest,
    plan: DunningPlan,
    *,
    form: collection_forms.DunningPlanForm | None = None,
    step_form: collection_forms.DunningStepAddForm | None = None,
    status: int = 200,
) -> HttpResponse:
    steps = templating.dunning_steps(plan_id=plan.pk)
    levels = {step.level for step, _languages in steps}
    notice_levels = sorted(level for level in levels if level > 0)
    context = {
        "plan": plan,
        "steps": steps,
        "languages": LANGUAGES,
        "form": form or collection_forms.DunningPlanForm(initial=_plan_initial(plan)),
        "step_form": step_form
        or collection_forms.DunningStepAddForm(initial={"channel": "email", "tone": "firm"}),
        # what may go: the reminder, and the highest notice level while another is left
        "removable": (levels & {0}) | set(notice_levels[1:][-1:]),
        "can_edit": _may_edit(request),
    }
    return render(request, "workspace/collections/plan_detail.html", context, status=status)


@role_required(roles.VIEW_COLLECTIONS)
@require_http_methods(["GET", "POST"])
def dunning_step(request: HttpRequest, plan_id: int, level: int) -> HttpResponse:
    """A step's days, channel and tone (`templating.dunning_step_set`), and its templates by language."""
    step = _step_or_404(request, plan_id, level)
    initial = {"days": step.days, "channel": step.channel, "tone": step.tone}
    form = collection_forms.DunningStepForm(initial=initial)
    status = 200
    if request.method == "POST":
        if not _may_edit(request):
            raise PermissionDenied
        form = collection_forms.DunningStepForm(request.POST, initial=initial)
        if form.is_valid():
            data = form.cleaned_data
            try:
                templating.dunning_step_set(
                    step_id=step.pk,
                    days=data["days"],
                    channel=data["channel"],
                    tone=data["tone"],
                    actor=_actor(request),
                    now=clock.now(),
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Step saved."))
                return redirect("collections_dunning_step", plan_id=plan_id, level=level)
        status = 422
    languages = dict(templating.dunning_steps(plan_id=plan_id))
    context = {
        "plan": step.plan,
        "step": step,
        "form": form,
        "languages": [(language, language in languages.get(step, [])) for language in LANGUAGES],
        "can_edit": _may_edit(request),
    }
    return render(request, "workspace/collections/step.html", context, status=status)


def _language_or_404(language: str) -> str:
    if language not in LANGUAGES:
        raise Http404
    return language


def _preview(step: DunningStep, language: str, subject: str, body: str) -> templating.Preview:
    today = clock.today_in(step.plan.entity.time_zone)
    return templating.template_preview(step=step, language=language, subject=subject, body=body, today=today)


@role_required(roles.VIEW_COLLECTIONS)
@require_http_methods(["GET", "POST"])
def dunning_template(request: HttpRequest, plan_id: int, level: int, language: str) -> HttpResponse:
    """A step's subject and body in one language with its preview; managers save it
    (`templating.dunning_template_set`: a template that does not compile is refused)."""
    step = _step_or_404(request, plan_id, level)
    language = _language_or_404(language)
    saved = templating.dunning_template_of(step_id=step.pk, language=language)
    initial = {"subject": saved.subject, "body": saved.body} if saved is not None else {}
    form = collection_forms.DunningTemplateForm(initial=initial)
    subject, body = initial.get("subject", ""), initial.get("body", "")
    status = 200
    if request.method == "POST":
        if not _may_edit(request):
            raise PermissionDenied
        form = collection_forms.DunningTemplateForm(request.POST)
        subject, body = request.POST.get("subject", ""), request.POST.get("body", "")
        if form.is_valid():
            try:
                templating.dunning_template_set(
                    step_id=step.pk,
                    language=language,
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                    actor=_actor(request),
                    now=clock.now(),
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Template saved."))
                return redirect(
                    "collections_dunning_template", plan_id=plan_id, level=level, language=language
                )
        status = 422
    names, item_names = templating.template_names(step=step, today=clock.today_in(step.plan.entity.time_zone))
    context = {
        "plan": step.plan,
        "step": step,
        "language": language,
        "languages": LANGUAGES,
        "saved": saved,
        "form": form,
        "preview": _preview(step, language, subject, body) if subject or body else None,
        "names": names,
        "item_names": item_names,
        "can_edit": _may_edit(request),
    }
    return render(request, "workspace/collections/template.html", context, status=status)


@role_required(roles.VIEW_COLLECTIONS)
@require_POST
def dunning_template_preview(request: HttpRequest, plan_id: int, level: int, language: str) -> HttpResponse:
    """The subject and body as typed, rendered for the sample customer (htmx, as the manager types)."""
    step = _step_or_404(request, plan_id, level)
    language = _language_or_404(language)
    preview = _preview(step, language, request.POST.get("subject", ""), request.POST.get("body", ""))
    return render(request, "workspace/collections/_preview.html", {"preview": preview, "language": language})


# --- portfolios -------------------------------------------------------------------------------------


@role_required(REVIEW_PORTFOLIOS)
@require_http_methods(["GET", "POST"])
def portfolios(request: HttpRequest) -> HttpResponse:
    """Each collector's number of customers, and the customers a filter finds, which AR managers move
    to another collector (or to none) in bulk: the ticked ones or every one the filter finds, with a
    reason (`customers.services.customers_assign_collector`, audited per customer moved)."""
    entities = list(ledger_selectors.entities_for_user(request.user))
    if not entities:
        raise Http404
    entity = _chosen_entity(entities, request.GET.get("entity", ""))
    collectors = [
        name
        for _pk, name in dispute_selectors.case_owner_choices(
            entity_ids=[entity.pk], groups=roles.CHANGE_COLLECTIONS
        )
    ]
    filters = collection_forms.PortfolioFilterForm(
        request.GET or None,
        initial={"entity": entity.code},
        entities=[choice.code for choice in entities],
        collectors=collectors,
    )
    chosen: dict[str, str] = filters.cleaned_data if filters.is_valid() else {}
    found = selectors.portfolio_customers(
        entity_id=entity.pk,
        collector=chosen.get("collector", ""),
        search=chosen.get("q", "").strip(),
        customer_type=chosen.get("customer_type", "").strip().lower(),
        country=chosen.get("country", "").strip(),
    )
    page = slice_page(found, number=_page_number(request), per_page=CUSTOMERS_PER_PAGE)
    may_assign = roles.has_any(request.user, ASSIGN_PORTFOLIOS)
    form = collection_forms.ReassignForm(
        request.POST if request.method == "POST" else None,
        customers=[(customer.pk, customer.number) for customer in page.object_list],
        collectors=collectors,
    )
    status = 200
    if request.method == "POST":
        if not may_assign:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            target = data["to_collector"]
            collector = None if target == selectors.UNASSIGNED else User.objects.get(username=target)
            ids = (
                list(found.values_list("pk", flat=True)) if data["all_matching"] else list(data["customers"])
            )
            moved = customer_services.customers_assign_collector(
                customer_ids=ids,
                collector=collector,
                actor=_actor(request),
                now=clock.now(),
                reason=data["reason"],
            )
            messages.success(
                request,
                ngettext(
                    "%(count)s customer moved to %(collector)s.",
                    "%(count)s customers moved to %(collector)s.",
                    moved,
                )
                % {"count": moved, "collector": target if collector is not None else _("nobody")},
            )
            return redirect(f"{reverse('collections_portfolios')}?{request.GET.urlencode()}")
        status = 422
    context = {
        "entity": entity,
        "sizes": selectors.portfolio_sizes(entity_id=entity.pk),
        "filters": filters,
        "page": page,
        "query": _query_without_page(request),
        "full_query": request.GET.urlencode(),
        "form": form,
        "may_assign": may_assign,
        "show_entity": len(entities) > 1,
    }
    return render(request, "workspace/collections/portfolios.html", context, status=status)
