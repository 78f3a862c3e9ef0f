"""The escalation and agency pages (docs/escalation.md, "Back-office pages"): the accounts the matrix
proposes to escalate, a customer's level with its history and the forms to move it, the matrix's rules,
and the collection agencies with their placements and the agency's CSV export.

Reading needs VIEW_COLLECTIONS (collector, AR manager, admin, auditor); escalating and de-escalating
CHANGE_COLLECTIONS (the service's `may_move` decides the levels offered: a collector raises an account
to the team lead only); the matrix, agencies, placements, recalls and the export MANAGE_ESCALATION (AR
manager, admin). Others get a 403; another legal entity's customer, rule, agency or placement is a 404.
Each POST calls one service; a refusal is the service's sentence on the form (422), nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from o2c.collections import agency as agencies
from o2c.collections import escalation
from o2c.collections.models import (
    ESCALATION_ORDER,
    AgencyPlacement,
    CollectionAgency,
    EscalationChange,
    EscalationLevel,
    EscalationReason,
    EscalationRule,
)
from o2c.core import clock
from o2c.core.exceptions import DomainError
from o2c.core.money import Money
from o2c.customers import selectors as customer_selectors
from o2c.customers.models import Customer
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.workspace import collection_forms, escalation_forms, roles
from o2c.workspace.collection_views import _chosen_entity, _customer_or_404, _entity_query
from o2c.workspace.views import _actor, _entity_ids, role_required

MANAGE_ESCALATION = frozenset({roles.AR_MANAGER, roles.ADMIN})
"""Who changes the matrix, adds agencies, places and recalls, and exports (the API's
`manage_escalation`)."""

LEVELS = dict(EscalationLevel.choices)
REASONS = dict(EscalationReason.choices)
CONDITIONS = {
    "days_overdue": gettext_lazy("days overdue"),
    "overdue_amount": gettext_lazy("overdue amount"),
    "broken_promises": gettext_lazy("broken promises"),
    "dunning_level": gettext_lazy("dunning level"),
}


def _entities(request: HttpRequest) -> tuple[list[LegalEntity], LegalEntity]:
    """The reader's entities and the one asked for (`?entity=CODE`, else the default)."""
    entities = list(ledger_selectors.entities_for_user(request.user))
    if not entities:
        raise Http404
    return entities, _chosen_entity(entities, request.GET.get("entity") or request.POST.get("entity", ""))


def _entity_form(entities: list[LegalEntity], entity: LegalEntity) -> collection_forms.WorklistForm:
    return collection_forms.WorklistForm(
        initial={"entity": entity.code}, entities=[choice.code for choice in entities], collectors=None
    )


# --- proposals ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalRow:
    proposal: escalation.Proposal
    current: str
    proposed: str
    conditions: list[str]


@role_required(roles.VIEW_COLLECTIONS)
@require_GET
def escalation_list(request: HttpRequest) -> HttpResponse:
    """The accounts the entity's matrix proposes to escalate as of today (`escalation_proposals`)."""
    entities, entity = _entities(request)
    today = clock.today_in(entity.time_zone)
    proposals = escalation.escalation_proposals(
        entity=entity, as_of=today, actor=_actor(request), now=clock.now()
    )
    context = {
        "entity": entity,
        "today": today,
        "form": _entity_form(entities, entity),
        "rows": [
            ProposalRow(
                proposal,
                str(LEVELS[proposal.current_level]),
                str(LEVELS[proposal.proposed_level]),
                [str(CONDITIONS[condition]) for condition in proposal.conditions],
            )
            for proposal in proposals
        ],
        "entity_query": _entity_query(entities, entity),
    }
    return render(request, "workspace/collections/escalation_list.html", context)


# --- a customer's level and history -------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeRow:
    change: EscalationChange
    from_level: str
    to_level: str
    reason: str


def _targets(request: HttpRequest, current: str, *, up: bool) -> list[tuple[str, str]]:
    """The levels the reader may move the account to (`escalation.may_move`); the agency level is
    reached by a placement only."""
    here = escalation.rank(current)
    return [
        (level, str(LEVELS[level]))
        for level in ESCALATION_ORDER
        if level != EscalationLevel.AGENCY
        and (escalation.rank(level) > here if up else escalation.rank(level) < here)
        and escalation.may_move(_actor(request), current, level)
    ]


def _account_page(
    request: HttpRequest,
    customer: Customer,
    *,
    up_form: escalation_forms.MoveForm | None = None,
    down_form: escalation_forms.MoveForm | None = None,
    status: int = 200,
) -> HttpResponse:
    current = escalation.level_of(customer_id=customer.pk)
    changes = escalation.history(customer_id=customer.pk)
    may_change = roles.has_any(request.user, roles.CHANGE_COLLECTIONS)
    ups = _targets(request, current, up=True) if may_change else []
    downs = _targets(request, current, up=False) if may_change else []
    context: dict[str, Any] = {
        "customer": customer,
        "level": LEVELS[current],
        "level_code": current,
        "since": changes[-1].changed_on if changes else None,
        "history": [
            ChangeRow(
                change,
                str(LEVELS[change.from_level]),
                str(LEVELS[change.to_level]),
                str(REASONS[change.reason_code]),
            )
            for change in changes
        ],
        "entity_field": request.GET.get("entity") or request.POST.get("entity") or "",
        "up_form": (up_form or escalation_forms.MoveForm(prefix="up", levels=ups)) if ups else None,
        "down_form": (down_form or escalation_forms.MoveForm(prefix="down", levels=downs)) if downs else None,
    }
    return render(request, "workspace/collections/escalation_account.html", context, status=status)


@role_required(roles.VIEW_COLLECTIONS)
@require_GET
def escalation_account(request: HttpRequest, number: str) -> HttpResponse:
    return _account_page(request, _customer_or_404(request, number))


@role_required(roles.VIEW_COLLECTIONS)
@require_GET
def escalation_level(request: HttpRequest, number: str) -> HttpResponse:
    """The account's level, for the customer's collections page (htmx)."""
    customer = _customer_or_404(request, number)
    changes = escalation.history(customer_id=customer.pk)
    context = {
        "customer": customer,
        "level": LEVELS[escalation.level_of(customer_id=customer.pk)],
        "since": changes[-1].changed_on if changes else None,
        "entity_field": request.GET.get("entity", ""),
    }
    return render(request, "workspace/collections/escalation_level.html", context)


def _move(request: HttpRequest, number: str, *, up: bool) -> HttpResponse:
    customer = _customer_or_404(request, number)
    current = escalation.level_of(customer_id=customer.pk)
    targets = _targets(request, current, up=up)
    if not targets:
        raise PermissionDenied
    prefix = "up" if up else "down"
    form = escalation_forms.MoveForm(request.POST, prefix=prefix, levels=targets)
    if form.is_valid():
        data = form.cleaned_data
        service = escalation.customer_escalate if up else escalation.customer_deescalate
        try:
            service(
                customer=customer,
                level=data["level"],
                reason_code=data["reason_code"],
                reason_text=data["reason_text"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            if error.code == "not_allowed":
                raise PermissionDenied from error
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("%(number)s moved to %(level)s.")
                % {"number": customer.number, "level": LEVELS[data["level"]]},
            )
            url = reverse("collections_escalation_account", args=[customer.number])
            entity = request.POST.get("entity")
            return redirect(f"{url}?entity={entity}" if entity else url)
    forms = {"up_form": form} if up else {"down_form": form}
    return _account_page(request, customer, status=422, **forms)


@role_required(roles.CHANGE_COLLECTIONS)
@require_POST
def escalation_raise(request: HttpRequest, number: str) -> HttpResponse:
    return _move(request, number, up=True)


@role_required(roles.CHANGE_COLLECTIONS)
@require_POST
def escalation_lower(request: HttpRequest, number: str) -> HttpResponse:
    return _move(request, number, up=False)


# --- the matrix ---------------------------------------------------------------------------------------


def _rule_initial(rule: EscalationRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "level": rule.level,
        "min_days_overdue": rule.min_days_overdue,
        "min_overdue_amount": None
        if rule.min_overdue_minor is None
        else Money.from_minor(rule.min_overdue_minor, rule.currency).amount,
        "currency": rule.currency,
        "min_broken_promises": rule.min_broken_promises,
        "min_dunning_level": rule.min_dunning_level,
        "min_dunning_days": rule.min_dunning_days,
        "is_active": rule.is_active,
    }


def _may_manage(request: HttpRequest) -> bool:
    return roles.has_any(request.user, MANAGE_ESCALATION)


@role_required(roles.VIEW_COLLECTIONS)
@require_http_methods(["GET", "POST"])
def escalation_matrix(request: HttpRequest) -> HttpResponse:
    """The entity's rules, highest level first (`rule_list`); AR managers and admins add one
    (`rule_save`)."""
    entities, entity = _entities(request)
    escalation.matrix_ensure(entity=entity, actor=_actor(request), now=clock.now())
    form = escalation_forms.RuleForm()
    status = 200
    if request.method == "POST":
        if not _may_manage(request):
            raise PermissionDenied
        form = escalation_forms.RuleForm(request.POST)
        if form.is_valid():
            try:
                rule = escalation.rule_save(
                    entity=entity, data=form.rule_in(), actor=_actor(request), now=clock.now()
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Rule %(name)s added.") % {"name": rule.name})
                return redirect(f"{reverse('collections_escalation_matrix')}?entity={entity.code}")
        status = 422
    context = {
        "entity": entity,
        "form": _entity_form(entities, entity),
        "rules": [(rule, LEVELS[rule.level]) for rule in escalation.rule_list(entity_id=entity.pk)],
        "rule_form": form,
        "can_manage": _may_manage(request),
        "entity_query": _entity_query(entities, entity),
    }
    return render(request, "workspace/collections/escalation_matrix.html", context, status=status)


@role_required(MANAGE_ESCALATION)
@require_http_methods(["GET", "POST"])
def escalation_rule(request: HttpRequest, rule_id: int) -> HttpResponse:
    """Change a rule's level, conditions or whether it is active (`rule_save`)."""
    rule = (
        EscalationRule.objects.filter(pk=rule_id, entity_id__in=_entity_ids(request))
        .select_related("entity", "updated_by")
        .first()
    )
    if rule is None:
        raise Http404
    entity = rule.entity
    form = escalation_forms.RuleForm(initial=_rule_initial(rule))
    status = 200
    if request.method == "POST":
        form = escalation_forms.RuleForm(request.POST, initial=_rule_initial(rule))
        if form.is_valid():
            try:
                escalation.rule_save(
                    entity=entity,
                    data=form.rule_in(),
                    actor=_actor(request),
                    now=clock.now(),
                    rule_id=rule.pk,
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Rule %(name)s saved.") % {"name": form.cleaned_data["name"]})
                return redirect(f"{reverse('collections_escalation_matrix')}?entity={entity.code}")
        status = 422
    context = {"entity": entity, "rule": rule, "rule_form": form}
    return render(request, "workspace/collections/escalation_rule.html", context, status=status)


# --- agencies and placements ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacementRow:
    placement: AgencyPlacement
    reason: str
    amounts: list[tuple[str, int, int, int]]
    """(currency, placed, open, collected) in minor units"""


def _agencies_page(
    request: HttpRequest,
    *,
    agency_form: escalation_forms.AgencyForm | None = None,
    placement_form: escalation_forms.PlacementForm | None = None,
    recall_forms: dict[int, escalation_forms.RecallForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    entities, entity = _entities(request)
    found = list(CollectionAgency.objects.filter(entity=entity).order_by("code"))
    placements = agencies.placement_list(entity_ids=[entity.pk])
    figures = agencies.placement_figures(placement_ids=[placement.pk for placement in placements])
    rows = []
    for placement in placements:
        figure = figures[placement.pk]
        rows.append(
            PlacementRow(
                placement,
                str(REASONS.get(placement.reason_code, placement.reason_code)),
                [
                    (
                        currency,
                        placed,
                        figure.open_minor.get(currency, 0),
                        figure.collected_minor.get(currency, 0),
                    )
                    for currency, placed in sorted(figure.placed_minor.items())
                ],
            )
        )
    may_manage = _may_manage(request)
    recall_forms = recall_forms or {}
    context: dict[str, Any] = {
        "entity": entity,
        "form": _entity_form(entities, entity),
        "agencies": found,
        "rows": rows,
        "recall_forms": {
            row.placement.pk: recall_forms.get(row.placement.pk)
            or escalation_forms.RecallForm(prefix=f"recall-{row.placement.pk}")
            for row in rows
            if may_manage and row.placement.state == AgencyPlacement.State.PLACED
        },
        "can_manage": may_manage,
        "entity_query": _entity_query(entities, entity),
    }
    if may_manage:
        context["agency_form"] = agency_form or escalation_forms.AgencyForm(prefix="agency")
        context["placement_form"] = placement_form or escalation_forms.PlacementForm(
            prefix="place", agencies=_agency_choices(found)
        )
    return render(request, "workspace/collections/agency_list.html", context, status=status)


def _agency_choices(found: list[CollectionAgency]) -> list[tuple[int, str]]:
    return [(agency.pk, f"{agency.code} · {agency.name}") for agency in found if agency.is_active]


def _agencies_url(entity: LegalEntity) -> str:
    return f"{reverse('collections_agencies')}?entity={entity.code}"


@role_required(roles.VIEW_COLLECTIONS)
@require_GET
def agency_list(request: HttpRequest) -> HttpResponse:
    """The entity's agencies and placements with what was placed, is open and was collected."""
    return _agencies_page(request)


@role_required(MANAGE_ESCALATION)
@require_POST
def agency_create(request: HttpRequest) -> HttpResponse:
    _entities_list, entity = _entities(request)
    form = escalation_forms.AgencyForm(request.POST, prefix="agency")
    if form.is_valid():
        data = form.cleaned_data
        try:
            created = agencies.agency_create(
                entity=entity,
                code=data["code"],
                name=data["name"],
                email=data["email"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Agency %(code)s added.") % {"code": created.code})
            return redirect(_agencies_url(entity))
    return _agencies_page(request, agency_form=form, status=422)


@role_required(MANAGE_ESCALATION)
@require_POST
def placement_create(request: HttpRequest) -> HttpResponse:
    """Place the customer's open invoices and debit memos with the agency (`placement_create`)."""
    _entities_list, entity = _entities(request)
    found = list(CollectionAgency.objects.filter(entity=entity).order_by("code"))
    form = escalation_forms.PlacementForm(request.POST, prefix="place", agencies=_agency_choices(found))
    if form.is_valid():
        data = form.cleaned_data
        customer = customer_selectors.customer_by_number(entity_id=entity.pk, number=data["customer"].strip())
        chosen = next(agency for agency in found if agency.pk == data["agency"])
        if customer is None:
            form.add_error(
                "customer",
                _("No customer %(number)s in %(entity)s.")
                % {"number": data["customer"], "entity": entity.code},
            )
        else:
            try:
                placement = agencies.placement_create(
                    customer=customer,
                    agency=chosen,
                    reason_code=data["reason_code"],
                    reason_text=data["reason_text"],
                    actor=_actor(request),
                    now=clock.now(),
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request,
                    _("%(number)s placed with %(agency)s (placement %(id)s).")
                    % {"number": customer.number, "agency": chosen.code, "id": placement.pk},
                )
                return redirect(_agencies_url(entity))
    return _agencies_page(request, placement_form=form, status=422)


@role_required(MANAGE_ESCALATION)
@require_POST
def placement_recall(request: HttpRequest, placement_id: int) -> HttpResponse:
    """Take a placement back from the agency, with a reason (`placement_recall`)."""
    placement = (
        AgencyPlacement.objects.filter(pk=placement_id, entity_id__in=_entity_ids(request))
        .select_related("entity")
        .first()
    )
    if placement is None:
        raise Http404
    form = escalation_forms.RecallForm(request.POST, prefix=f"recall-{placement.pk}")
    if form.is_valid():
        try:
            agencies.placement_recall(
                placement_id=placement.pk,
                reason_code=form.cleaned_data["reason_code"],
                reason_text=form.cleaned_data["reason_text"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Placement %(id)s recalled.") % {"id": placement.pk})
            return redirect(_agencies_url(placement.entity))
    return _agencies_page(request, recall_forms={placement.pk: form}, status=422)


@role_required(MANAGE_ESCALATION)
@require_GET
def agency_export(request: HttpRequest, agency_id: int) -> HttpResponse:
    """The agency's placed items still open as CSV: the rows and CSV of the API's export
    (`agency.export_rows`, `agency.export_csv`)."""
    found = (
        CollectionAgency.objects.filter(pk=agency_id, entity_id__in=_entity_ids(request))
        .select_related("entity")
        .first()
    )
    if found is None:
        raise Http404
    rows = agencies.export_rows(agency=found, as_of=clock.today_in(found.entity.time_zone))
    response = HttpResponse(agencies.export_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="agency-{found.code}.csv"'
    return response
