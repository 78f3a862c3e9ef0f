"""The credit analyst's application pages: the applications, a new account's application entered by
hand, and an application with its statements, bureau reports and scores (each factor with its value,
band, points and weight), scored, approved for its customer or declined (docs/credit-scoring.md).

Reading needs the credit, AR manager, auditor or admin role; entering, scoring and deciding the credit,
AR manager or admin role; others get a 403, another legal entity's application a 404. Each POST calls
one service of `o2c.credit`; a refusal is the service's sentence on the page, nothing changed."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from o2c.core import clock
from o2c.core.exceptions import DomainError
from o2c.core.money import Money
from o2c.credit import applications, scoring
from o2c.credit import selectors as credit_selectors
from o2c.credit.applications import ApplicationIn, StatementIn, TradeReferenceIn
from o2c.credit.models import CreditApplication
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.workspace import credit_scoring_forms as scoring_forms
from o2c.workspace import roles
from o2c.workspace.views import _actor, _entity_ids, reader_default_entity, role_required

VIEW_APPLICATIONS = roles.VIEW_SCORING
CHANGE_APPLICATIONS = roles.SCORE_CREDIT


def _application(request: HttpRequest, application_id: int) -> CreditApplication:
    found = (
        CreditApplication.objects.select_related("entity", "customer")
        .filter(entity_id__in=_entity_ids(request), pk=application_id)
        .first()
    )
    if found is None:
        raise Http404
    return found


@role_required(VIEW_APPLICATIONS)
@require_GET
def application_list(request: HttpRequest) -> HttpResponse:
    """The applications, newest first, with their latest score."""
    rows = [
        {"application": application, "score": score}
        for application, score in credit_selectors.applications_with_scores(entity_ids=_entity_ids(request))
    ]
    context = {
        "rows": rows,
        "may_change": roles.has_any(request.user, CHANGE_APPLICATIONS),
        "bureau_form": scoring_forms.BureauFileForm(),
    }
    return render(request, "workspace/credit_scoring/application_list.html", context)


BUREAU_FILE_MAX = 5 * 1024 * 1024


@role_required(CHANGE_APPLICATIONS)
@require_POST
def bureau_upload(request: HttpRequest) -> HttpResponse:
    """Import a bureau's CSV export for the reader's default entity (`applications.bureau_import`: atomic,
    idempotent); the outcome, or the one-line refusal naming the row and column, as a message."""
    form = scoring_forms.BureauFileForm(request.POST, request.FILES)
    entity = _default_entity(request)
    if not form.is_valid():
        messages.error(request, _("Choose the bureau's CSV file."))
    elif form.cleaned_data["file"].size > BUREAU_FILE_MAX:
        messages.error(request, _("The bureau file is larger than 5 MB."))
    else:
        upload = form.cleaned_data["file"]
        try:
            result = applications.bureau_import(
                data=upload.read(),
                file_name=upload.name,
                entity=entity,
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                ngettext(
                    "%(file)s: %(rows)s report read: %(created)s new, %(updated)s changed, "
                    "%(unchanged)s unchanged.",
                    "%(file)s: %(rows)s reports read: %(created)s new, %(updated)s changed, "
                    "%(unchanged)s unchanged.",
                    result.rows,
                )
                % {
                    "file": result.file_name,
                    "rows": result.rows,
                    "created": result.created,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                },
            )
    return redirect("credit_application_list")


def _default_entity(request: HttpRequest) -> LegalEntity:
    entity = reader_default_entity(request)
    if entity is None:
        raise Http404
    return entity


@role_required(CHANGE_APPLICATIONS)
@require_http_methods(["GET", "POST"])
def application_create(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: submit the application (`applications.application_submit`) and go to it."""
    if request.method != "POST":
        form = scoring_forms.ApplicationForm()
        context = {"form": form, "references": scoring_forms.TradeReferenceFormSet(prefix="reference")}
        return render(request, "workspace/credit_scoring/application_form.html", context)
    form = scoring_forms.ApplicationForm(request.POST)
    references_form = scoring_forms.TradeReferenceFormSet(request.POST, prefix="reference")
    if form.is_valid() and references_form.is_valid():
        data = form.cleaned_data
        entity = _default_entity(request)
        currency = data["currency"].upper()
        references = [
            TradeReferenceIn(
                name=row["name"],
                contact=row["contact"],
                years_known=row["years_known"] or 0,
                highest_credit=row["highest_credit"] or Money.zero(currency).amount,
                currency=currency,
                payment_experience=row["payment_experience"],
            )
            for row in references_form.cleaned_data
            if row.get("name")
        ]
        statements = []
        if data["statement_date"]:
            statements.append(
                StatementIn(
                    statement_date=data["statement_date"],
                    currency=currency,
                    **{name: data[name] for name, _label in scoring_forms.FIGURES},
                )
            )
        try:
            application = applications.application_submit(
                entity=entity,
                data=ApplicationIn(
                    company_name=data["company_name"],
                    country=data["country"],
                    vat_id=data["vat_id"],
                    registration_number=data["registration_number"],
                    address=data["address"],
                    requested_limit=data["requested_limit"],
                    currency=currency,
                    trade_references=references,
                    statements=statements,
                ),
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Application %(id)s submitted.") % {"id": application.pk})
            return redirect("credit_application_detail", application_id=application.pk)
    context = {"form": form, "references": references_form}
    return render(request, "workspace/credit_scoring/application_form.html", context, status=422)


def _detail(
    request: HttpRequest,
    application: CreditApplication,
    *,
    approve: scoring_forms.ApproveForm | None = None,
    decline: scoring_forms.DeclineForm | None = None,
    status: int = 200,
) -> HttpResponse:
    scores = []
    for stored in application.scores.select_related("scorecard").order_by("-as_of", "-pk"):
        record = scoring.score_record(stored)
        record["limit_minor"] = stored.recommended_limit_minor
        record["as_of_date"] = stored.as_of
        scores.append(record)
    for record in scores:
        for factor in record["factors"]:
            factor["label"] = scoring_forms.FACTOR_LABELS.get(factor["code"], factor["code"])
    latest = application.scores.order_by("-as_of", "-pk").first()
    initial: dict[str, Any] = {}
    if (
        latest is not None
        and latest.recommended_limit_minor is not None
        and latest.currency == application.currency
    ):
        initial["limit"] = Money.from_minor(latest.recommended_limit_minor, latest.currency).amount
    context = {
        "application": application,
        "statements": application.financial_statements.order_by("statement_date", "pk"),
        "references": application.trade_references.order_by("pk"),
        "reports": application.bureau_reports.order_by("as_of", "pk"),
        "scores": scores,
        "latest": scores[0] if scores else None,
        "may_change": roles.has_any(request.user, CHANGE_APPLICATIONS),
        "approve_form": approve or scoring_forms.ApproveForm(initial=initial),
        "decline_form": decline or scoring_forms.DeclineForm(),
    }
    return render(request, "workspace/credit_scoring/application_detail.html", context, status=status)


@role_required(VIEW_APPLICATIONS)
@require_GET
def application_detail(request: HttpRequest, application_id: int) -> HttpResponse:
    return _detail(request, _application(request, application_id))


@role_required(CHANGE_APPLICATIONS)
@require_POST
def application_score(request: HttpRequest, application_id: int) -> HttpResponse:
    """Score as of today in the entity's time zone."""
    application = _application(request, application_id)
    try:
        scoring.application_score(
            application_id=application.pk,
            as_of=clock.today_in(application.entity.time_zone),
            actor=_actor(request),
            now=clock.now(),
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Application %(id)s scored.") % {"id": application.pk})
    return redirect("credit_application_detail", application_id=application.pk)


@role_required(CHANGE_APPLICATIONS)
@require_POST
def application_approve(request: HttpRequest, application_id: int) -> HttpResponse:
    application = _application(request, application_id)
    form = scoring_forms.ApproveForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        customer = Customer.objects.filter(entity=application.entity, number=data["customer_number"]).first()
        if customer is None:
            form.add_error("customer_number", _("No customer with this number."))
        else:
            try:
                applications.application_approve(
                    application_id=application.pk,
                    limit=data["limit"],
                    customer=customer,
                    note=data["note"],
                    actor=_actor(request),
                    now=clock.now(),
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Application %(id)s approved.") % {"id": application.pk})
                return redirect("credit_application_detail", application_id=application.pk)
    return _detail(request, _application(request, application_id), approve=form, status=422)


@role_required(CHANGE_APPLICATIONS)
@require_POST
def application_decline(request: HttpRequest, application_id: int) -> HttpResponse:
    application = _application(request, application_id)
    form = scoring_forms.DeclineForm(request.POST)
    if form.is_valid():
        try:
            applications.application_decline(
                application_id=application.pk,
                note=form.cleaned_data["note"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Application %(id)s declined.") % {"id": application.pk})
            return redirect("credit_application_detail", application_id=application.pk)
    return _detail(request, _application(request, application_id), decline=form, status=422)
