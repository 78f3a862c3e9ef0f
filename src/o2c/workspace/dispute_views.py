"""The dispute analyst's pages: the case list, a case with its documents, notes, moves, owner and
resolution, and a dispute opened from an invoice's page.

Reading (and downloading a case's files) needs VIEW_DISPUTES (disputes, collector, AR manager, auditor,
admin); opening, noting, adding a file, moving,
assigning and resolving need CHANGE_DISPUTES (disputes, AR manager, admin); deciding a write-off waiting
for approval APPROVE_CREDITS (AR manager, admin: the service checks the same and that the checker is not
who asked). Others get a 403; another legal entity's case or invoice is a 404. Each POST calls one
service of `o2c.disputes.services`; a refusal is the service's sentence on the page, nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, cast

from django import forms as django_forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from o2c.audit import selectors as audit_selectors
from o2c.core import clock
from o2c.core.exceptions import DomainError, InputError
from o2c.core.money import Money
from o2c.customers import selectors as customer_selectors
from o2c.disputes import rules, selectors, services
from o2c.disputes.errors import UnableToChangeCase
from o2c.disputes.models import Case, CaseAttachment, ReasonCode, Team
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.receivables import selectors as receivable_selectors
from o2c.receivables.models import Document, DocumentType
from o2c.workspace import dispute_forms, forms, roles
from o2c.workspace.views import (
    HISTORY_LIMIT,
    HtmxHttpRequest,
    _actor,
    _entity_ids,
    _page_number,
    _query_without_page,
    rebill_lines_of,
    role_required,
    slice_page,
)

CASES_PER_PAGE = 50


@dataclass(frozen=True)
class CaseRow:
    """A case as the list shows it: its age and whether it is past its SLA, on its entity's date."""

    case: Case
    age_days: int
    is_overdue: bool


def _today(case: Case, todays: dict[str, date]) -> date:
    zone = case.entity.time_zone
    if zone not in todays:
        todays[zone] = clock.today_in(zone)
    return todays[zone]


def _row(case: Case, todays: dict[str, date]) -> CaseRow:
    today = _today(case, todays)
    return CaseRow(
        case=case,
        age_days=rules.age_days(case.opened_on, today, case.resolved_on),
        is_overdue=rules.is_overdue(case.state, case.due_date, today),
    )


def _owners(request: HttpRequest) -> list[tuple[int, str]]:
    return selectors.case_owner_choices(entity_ids=_entity_ids(request), groups=roles.CHANGE_DISPUTES)


# --- the list -------------------------------------------------------------------------------------


@role_required(roles.VIEW_DISPUTES)
@require_GET
def case_list(request: HtmxHttpRequest) -> HttpResponse:
    """Open cases by default, the nearest SLA due date first; 50 a page without COUNT(*)."""
    form = dispute_forms.CaseFilterForm(request.GET, owners=_owners(request))
    filters: dict[str, Any] = {"open_only": True}
    if form.is_valid():
        data = form.cleaned_data
        state = data["state"]
        filters = {
            "state": "" if state in ("", dispute_forms.ALL_STATES) else state,
            "open_only": state == "",
            "reason_code": data["reason"],
            "team": data["team"],
            "owner_id": data["owner"],
            "customer_search": data["customer"],
        }
    cases = selectors.case_list(entity_ids=_entity_ids(request), **filters).order_by("due_date", "pk")
    page = slice_page(cases, number=_page_number(request), per_page=CASES_PER_PAGE)
    todays: dict[str, date] = {}
    context = {
        "form": form,
        "page": page,
        "rows": [_row(case, todays) for case in page.object_list],
        "query": _query_without_page(request),
    }
    template = (
        "workspace/disputes/_case_results.html" if request.htmx else "workspace/disputes/case_list.html"
    )
    return render(request, template, context)


# --- opening from an invoice ----------------------------------------------------------------------


def _invoice_or_404(request: HttpRequest, document_id: int) -> Document:
    try:
        return receivable_selectors.document_get(entity_ids=_entity_ids(request), document_id=document_id)
    except Document.DoesNotExist:
        raise Http404 from None


@role_required(roles.CHANGE_DISPUTES)
@require_http_methods(["GET", "POST"])
def case_open(request: HttpRequest, document_id: int) -> HttpResponse:
    """GET: the form, with the invoice's open amount as the disputed amount. POST: open the dispute
    (`services.case_open`) and go to the case."""
    invoice = _invoice_or_404(request, document_id)
    owners = _owners(request)
    if request.method != "POST":
        initial = {"amount": Money.from_minor(invoice.open_minor, invoice.currency).amount}
        form = dispute_forms.CaseOpenForm(initial=initial, owners=owners)
        return _open_page(request, invoice, form)
    form = dispute_forms.CaseOpenForm(request.POST, owners=owners)
    if form.is_valid():
        data = form.cleaned_data
        try:
            case = services.case_open(
                document_id=invoice.pk,
                amount=data["amount"],
                reason_code=data["reason_code"],
                actor=_actor(request),
                now=clock.now(),
                customer_reason_code=data["customer_reason_code"],
                owner_id=data["owner"],
                team=data["team"],
                note=data["note"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("Dispute case %(case)s opened on %(invoice)s; its SLA ends on the due date shown.")
                % {"case": case.pk, "invoice": invoice.number},
            )
            return redirect("dispute_case_detail", case_id=case.pk)
    return _open_page(request, invoice, form, status=422)


def _open_page(
    request: HttpRequest, invoice: Document, form: dispute_forms.CaseOpenForm, *, status: int = 200
) -> HttpResponse:
    context = {"invoice": invoice, "form": form}
    return render(request, "workspace/disputes/case_open.html", context, status=status)


# --- a case ---------------------------------------------------------------------------------------


def _case_or_404(request: HttpRequest, case_id: int) -> Case:
    try:
        return selectors.case_get(entity_ids=_entity_ids(request), case_id=case_id)
    except Case.DoesNotExist:
        raise Http404 from None


def _case_page(
    request: HttpRequest,
    case: Case,
    *,
    error: str = "",
    note_form: dispute_forms.NoteForm | None = None,
    attachment_form: dispute_forms.AttachmentForm | None = None,
    assign_form: dispute_forms.AssignForm | None = None,
    resolve_form: dispute_forms.ResolveForm | None = None,
    decision_form: dispute_forms.DecisionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    can_change = roles.has_any(request.user, roles.CHANGE_DISPUTES)
    is_open = rules.is_open(case.state)
    row = _row(case, {})
    context: dict[str, Any] = {
        "case": case,
        "row": row,
        "notes": sorted(case.notes.all(), key=lambda note: note.pk),
        "attachments": sorted(case.attachments.all(), key=lambda file: file.pk),
        "history": audit_selectors.audit_events_for(object_type="dispute_case", object_id=case.pk)[
            :HISTORY_LIMIT
        ],
        "is_open": is_open,
        "can_change": can_change,
        "can_work": can_change and is_open and not case.pending,
        "can_decide": roles.has_any(request.user, roles.APPROVE_CREDITS)
        and case.pending == Case.Pending.WRITE_OFF,
        "error": error,
    }
    if can_change:
        context["note_form"] = note_form or dispute_forms.NoteForm()
        context["attachment_form"] = attachment_form or dispute_forms.AttachmentForm()
    if context["can_work"]:
        context |= {
            "moves": [
                (state, Case.State(state).label)
                for state in (Case.State.OPEN, Case.State.IN_REVIEW, Case.State.WAITING_ON_CUSTOMER)
                if state in rules.TRANSITIONS[case.state]
            ],
            "assign_form": assign_form
            or dispute_forms.AssignForm(
                initial={"owner": case.owner_id, "team": case.team}, owners=_owners(request)
            ),
            "resolve_form": resolve_form or dispute_forms.ResolveForm(),
            "can_rebill": case.document.document_type == DocumentType.INVOICE,
        }
    if context["can_decide"]:
        context["decision_form"] = decision_form or dispute_forms.DecisionForm()
    return render(request, "workspace/disputes/case_detail.html", context, status=status)


@role_required(roles.VIEW_DISPUTES)
@require_GET
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    return _case_page(request, _case_or_404(request, case_id))


def _done(request: HttpRequest, case_id: int, text: str) -> HttpResponse:
    messages.success(request, text)
    return redirect("dispute_case_detail", case_id=case_id)


def _refused(request: HttpRequest, case_id: int, error: DomainError, **forms_: Any) -> HttpResponse:
    """The page again with the service's sentence, read afresh (nothing changed)."""
    return _case_page(request, _case_or_404(request, case_id), error=error.message, status=422, **forms_)


@role_required(roles.CHANGE_DISPUTES)
@require_POST
def case_note_add(request: HtmxHttpRequest, case_id: int) -> HttpResponse:
    """A note in the thread; htmx gets the thread alone, with an empty form."""
    case = _case_or_404(request, case_id)
    form = dispute_forms.NoteForm(request.POST)
    if form.is_valid():
        try:
            services.case_note_add(
                case_id=case.pk, text=form.cleaned_data["text"], actor=_actor(request), now=clock.now()
            )
        except DomainError as error:
            form.add_error("text", error.message)
        else:
            if request.htmx:
                case = _case_or_404(request, case_id)
                context = {
                    "case": case,
                    "notes": sorted(case.notes.all(), key=lambda note: note.pk),
                    "note_form": dispute_forms.NoteForm(),
                    "can_change": True,
                }
                return render(request, "workspace/disputes/_notes.html", context)
            return _done(request, case.pk, _("Note added."))
    if request.htmx:
        context = {
            "case": case,
            "notes": sorted(case.notes.all(), key=lambda note: note.pk),
            "note_form": form,
            "can_change": True,
        }
        return render(request, "workspace/disputes/_notes.html", context)
    return _case_page(request, case, note_form=form, status=422)


@role_required(roles.CHANGE_DISPUTES)
@require_POST
def case_attachment_add(request: HttpRequest, case_id: int) -> HttpResponse:
    """A file on the case (open or ended, like a note); a refusal shows on the form's file field."""
    case = _case_or_404(request, case_id)
    form = dispute_forms.AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > rules.MAX_ATTACHMENT_BYTES:
                raise UnableToChangeCase(
                    _("the file is larger than %(size)s MB")
                    % {"size": rules.MAX_ATTACHMENT_BYTES // (1024 * 1024)},
                    code="file_too_large",
                )
            added = services.case_attachment_add(
                case_id=case.pk,
                file_name=upload.name or "",
                content=upload.read(rules.MAX_ATTACHMENT_BYTES + 1),
                content_type=upload.content_type or "",
                description=form.cleaned_data["description"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_error("file", error.message)
        else:
            return _done(request, case.pk, _("File %(name)s added.") % {"name": added.file_name})
    return _case_page(request, case, attachment_form=form, status=422)


@role_required(roles.VIEW_DISPUTES)
@require_GET
def case_attachment_get(request: HttpRequest, case_id: int, attachment_id: int) -> HttpResponse:
    """The file as it was uploaded, as a download (never shown inside the page)."""
    case = _case_or_404(request, case_id)
    try:
        attachment = selectors.case_attachment_get(case_id=case.pk, attachment_id=attachment_id)
    except CaseAttachment.DoesNotExist:
        raise Http404 from None
    response = HttpResponse(bytes(attachment.content), content_type=attachment.content_type)
    response["Content-Disposition"] = content_disposition_header(True, attachment.file_name) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@role_required(roles.CHANGE_DISPUTES)
@require_POST
def case_transition(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_or_404(request, case_id)
    form = dispute_forms.TransitionForm(request.POST)
    if not form.is_valid():
        return _case_page(request, case, error=_("Choose a working state."), status=422)
    try:
        moved = services.case_transition(
            case_id=case.pk, state=form.cleaned_data["state"], actor=_actor(request), now=clock.now()
        )
    except DomainError as error:
        return _refused(request, case.pk, error)
    return _done(
        request, case.pk, _("The case is now: %(state)s.") % {"state": Case.State(moved.state).label}
    )


@role_required(roles.CHANGE_DISPUTES)
@require_POST
def case_assign(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_or_404(request, case_id)
    form = dispute_forms.AssignForm(request.POST, owners=_owners(request))
    if not form.is_valid():
        return _case_page(request, case, assign_form=form, status=422)
    try:
        services.case_assign(
            case_id=case.pk,
            owner_id=form.cleaned_data["owner"],
            team=form.cleaned_data["team"],
            actor=_actor(request),
            now=clock.now(),
        )
    except DomainError as error:
        return _refused(request, case.pk, error, assign_form=form)
    return _done(request, case.pk, _("Owner and team saved."))


def _resolved_message(case: Case) -> str:
    if case.pending:
        return _("The resolution waits for a second person's approval: %(pending)s.") % {
            "pending": Case.Pending(case.pending).label
        }
    return _("The case is closed: %(state)s.") % {"state": Case.State(case.state).label}


@role_required(roles.CHANGE_DISPUTES)
@require_POST
def case_resolve(request: HttpRequest, case_id: int) -> HttpResponse:
    """Resolve by a credit memo, a rejection as invalid, or a write-off (one service each)."""
    case = _case_or_404(request, case_id)
    form = dispute_forms.ResolveForm(request.POST)
    if not form.is_valid():
        return _case_page(request, case, resolve_form=form, status=422)
    data = form.cleaned_data
    actor, now = _actor(request), clock.now()
    outcome, root_cause, resolution = data["outcome"], data["root_cause"], data["resolution"]
    try:
        if outcome == Case.State.RESOLVED_CREDIT:
            net_amount: Decimal | None = data["net_amount"]
            resolved = services.case_resolve_credit(
                case_id=case.pk,
                root_cause=root_cause,
                resolution=resolution,
                actor=actor,
                now=now,
                net_amount=net_amount,
            )
        elif outcome == Case.State.REJECTED_INVALID:
            resolved = services.case_reject(
                case_id=case.pk, resolution=resolution, actor=actor, now=now, root_cause=root_cause
            )
        else:
            resolved = services.case_write_off(
                case_id=case.pk, root_cause=root_cause, resolution=resolution, actor=actor, now=now
            )
    except DomainError as error:
        return _refused(request, case.pk, error, resolve_form=form)
    return _done(request, case.pk, _resolved_message(resolved))


@role_required(roles.CHANGE_DISPUTES)
@require_http_methods(["GET", "POST"])
def case_rebill(request: HttpRequest, case_id: int) -> HttpResponse:
    """Credit-and-rebill: the invoice credited in full and a draft replacement with the corrected lines
    (`services.case_resolve_rebill`). The page starts with the invoice's lines."""
    case = _case_or_404(request, case_id)
    if not rules.is_open(case.state) or case.pending:
        return redirect("dispute_case_detail", case_id=case.pk)
    invoice = _invoice_or_404(request, case.document_id)
    if request.method != "POST":
        lines = rebill_lines_of(invoice)
        return _rebill_page(request, case, invoice, dispute_forms.RebillForm(), lines)
    form = dispute_forms.RebillForm(request.POST)
    lines = cast(forms.BaseRebillLineFormSet, forms.RebillLineFormSet(request.POST, prefix="lines"))
    if form.is_valid() and lines.is_valid():
        try:
            resolved = services.case_resolve_rebill(
                case_id=case.pk,
                lines=lines.lines(),
                root_cause=form.cleaned_data["root_cause"],
                resolution=form.cleaned_data["resolution"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            return _done(request, case.pk, _resolved_message(resolved))
    return _rebill_page(request, case, invoice, form, lines, status=422)


def _rebill_page(
    request: HttpRequest,
    case: Case,
    invoice: Document,
    form: dispute_forms.RebillForm,
    lines: forms.BaseRebillLineFormSet,
    *,
    status: int = 200,
) -> HttpResponse:
    context = {"case": case, "invoice": invoice, "form": form, "lines": lines}
    return render(request, "workspace/disputes/case_rebill.html", context, status=status)


def _decide(request: HttpRequest, case_id: int, *, approve: bool) -> HttpResponse:
    case = _case_or_404(request, case_id)
    form = dispute_forms.DecisionForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        if approve:
            decided = services.case_write_off_approve(
                case_id=case.pk, actor=_actor(request), now=clock.now(), reason=reason
            )
        else:
            decided = services.case_write_off_reject(
                case_id=case.pk, actor=_actor(request), now=clock.now(), reason=reason
            )
    except DomainError as error:
        return _refused(request, case.pk, error, decision_form=form)
    if approve:
        return _done(request, case.pk, _resolved_message(decided))
    return _done(request, case.pk, _("The write-off is rejected: the case is worked on again."))


@role_required(roles.APPROVE_CREDITS)
@require_POST
def case_write_off_approve(request: HttpRequest, case_id: int) -> HttpResponse:
    return _decide(request, case_id, approve=True)


@role_required(roles.APPROVE_CREDITS)
@require_POST
def case_write_off_reject(request: HttpRequest, case_id: int) -> HttpResponse:
    return _decide(request, case_id, approve=False)


# --- the disputes settings of a legal entity ------------------------------------------------------

SETTINGS_FORMS: dict[str, type[django_forms.Form]] = {
    "mapping": dispute_forms.ReasonMappingForm,
    "policy": dispute_forms.ReasonPolicyForm,
    "threshold": dispute_forms.WriteOffThresholdForm,
}


def _settings_entity(request: HttpRequest, entity_id: int | None) -> LegalEntity:
    """The granted entity chosen; without one, the default entity if granted, else the first; an entity
    not granted is a 404."""
    granted = list(ledger_selectors.entities_for_user(request.user))
    if entity_id is not None:
        found = next((entity for entity in granted if entity.pk == entity_id), None)
        if found is None:
            raise Http404
        return found
    if not granted:
        raise Http404
    return next((entity for entity in granted if entity.is_default), granted[0])


def _settings_page(
    request: HttpRequest, entity: LegalEntity, *, bound: django_forms.Form | None = None, status: int = 200
) -> HttpResponse:
    can_change = roles.has_any(request.user, roles.APPROVE_CREDITS)
    context: dict[str, Any] = {
        "entity": entity,
        "entities": list(ledger_selectors.entities_for_user(request.user)),
        "mappings": selectors.reason_mapping_list(entity_ids=[entity.pk]),
        "policies": [
            (row, ReasonCode(row.reason_code).label, Team(row.team).label)
            for row in selectors.reason_policy_list(entity_id=entity.pk)
        ],
        "thresholds": selectors.write_off_policy_list(entity_id=entity.pk),
        "can_change": can_change,
    }
    if can_change:
        for key, form_class in SETTINGS_FORMS.items():
            context[f"{key}_form"] = (
                bound
                if isinstance(bound, form_class)
                else form_class(prefix=key, initial=_initial(key, entity))
            )
    return render(request, "workspace/disputes/settings.html", context, status=status)


def _initial(key: str, entity: LegalEntity) -> dict[str, Any]:
    return {"currency": entity.currency} if key == "threshold" else {}


@role_required(roles.VIEW_DISPUTES)
@require_GET
def settings_default(request: HttpRequest) -> HttpResponse:
    return redirect("dispute_settings", entity_id=_settings_entity(request, None).pk)


@role_required(roles.VIEW_DISPUTES)
@require_GET
def settings_page(request: HttpRequest, entity_id: int) -> HttpResponse:
    """The entity's customers' codes, routing and SLA per reason, and write-off thresholds; the forms to
    change them for AR managers and admins."""
    return _settings_page(request, _settings_entity(request, entity_id))


@role_required(roles.APPROVE_CREDITS)
@require_POST
def settings_change(request: HttpRequest, entity_id: int, what: str) -> HttpResponse:
    """One setting changed through its service (audited); a refusal shows on the form, nothing changed."""
    entity = _settings_entity(request, entity_id)
    if what not in SETTINGS_FORMS:
        raise Http404
    form = SETTINGS_FORMS[what](request.POST, prefix=what)
    if form.is_valid():
        data = form.cleaned_data
        try:
            done = _settings_apply(request, entity, what, data)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, done)
            return redirect("dispute_settings", entity_id=entity.pk)
    return _settings_page(request, entity, bound=form, status=422)


def _settings_apply(request: HttpRequest, entity: LegalEntity, what: str, data: dict[str, Any]) -> str:
    now = clock.now()
    if what == "mapping":
        customer_id = None
        if data["customer_number"].strip():
            customer = customer_selectors.customer_by_number(
                entity_id=entity.pk, number=data["customer_number"].strip()
            )
            if customer is None:
                raise InputError(
                    _("no customer %(number)s") % {"number": data["customer_number"].strip()},
                    code="unknown_customer",
                )
            customer_id = customer.pk
        mapping = services.reason_mapping_set(
            entity_id=entity.pk,
            customer_code=data["customer_code"],
            reason_code=data["reason_code"],
            customer_id=customer_id,
            actor=_actor(request),
            now=now,
            reason=data["reason"],
        )
        return _("The code %(code)s now means: %(reason)s.") % {
            "code": mapping.customer_code,
            "reason": ReasonCode(mapping.reason_code).label,
        }
    if what == "policy":
        services.reason_policy_set(
            entity_id=entity.pk,
            reason_code=data["reason_code"],
            team=data["team"],
            sla_days=data["sla_days"],
            actor=_actor(request),
            now=now,
            reason=data["reason"],
        )
        return _("New cases of %(reason)s go to %(team)s within %(days)s business days.") % {
            "reason": ReasonCode(data["reason_code"]).label,
            "team": Team(data["team"]).label,
            "days": data["sla_days"],
        }
    currency = data["currency"].upper()
    services.write_off_policy_set(
        entity_id=entity.pk,
        currency=currency,
        threshold=data["threshold"],
        actor=_actor(request),
        now=now,
        reason=data["reason"],
    )
    return _("The write-off threshold in %(currency)s is saved.") % {"currency": currency}
