"""The credit analyst's review pages (docs/credit.md, "Back-office pages: reviews, raise requests and the
scorecard"): the task list of periodic reviews due and a review (score now, each factor shown, complete
it with a decision and a note); raise requests (asked for by sales, the due-diligence checklist, the
evidence, approve or decline); the scorecard (its factors, bands and classes, its versions, changed by a
credit manager); and a customer's score history.

The role sets are the API's (`o2c.config.api.CAPABILITY_ROLES`): reading needs VIEW_SCORING, scoring,
reviewing and deciding SCORE_CREDIT, asking for a raise REQUEST_RAISES, changing the scorecard
MANAGE_SCORECARD; others get a 403, another legal entity's object a 404. Each POST calls one service of
`o2c.credit`; a refusal is the service's sentence on the form (422), nothing changed."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from o2c.core import clock
from o2c.core.exceptions import DomainError
from o2c.core.money import Money
from o2c.credit import review_selectors, reviews, scoring
from o2c.credit.models import CreditReview, CreditScore, RaiseRequest
from o2c.customers.models import Customer
from o2c.disputes import rules as dispute_rules
from o2c.ledger import selectors as ledger_selectors
from o2c.workspace import credit_review_forms as review_forms
from o2c.workspace import roles
from o2c.workspace.credit_scoring_forms import FACTOR_LABELS
from o2c.workspace.views import _actor, _entity_ids, role_required

# the role sets of the API's capabilities of the same names (config/api.py maps them from roles)
VIEW_SCORING = roles.VIEW_SCORING
SCORE_CREDIT = roles.SCORE_CREDIT
REQUEST_RAISES = roles.REQUEST_RAISES
MANAGE_SCORECARD = roles.MANAGE_SCORECARD


def _score_shown(score: CreditScore) -> dict[str, Any]:
    """A stored score as the `score_factors` partial shows it: the API's record, each factor named."""
    record = scoring.score_record(score)
    record["limit_minor"] = score.recommended_limit_minor
    record["as_of_date"] = score.as_of
    for factor in record["factors"]:
        factor["label"] = FACTOR_LABELS.get(factor["code"], factor["code"])
    return record


def _entity_days(request: HttpRequest) -> dict[int, date]:
    return {e.pk: clock.today_in(e.time_zone) for e in ledger_selectors.entities_for_user(request.user)}


# --- reviews -----------------------------------------------------------------------------------------


def _review(request: HttpRequest, review_id: int) -> CreditReview:
    found = review_selectors.review_get(entity_ids=_entity_ids(request), review_id=review_id)
    if found is None:
        raise Http404
    return found


@role_required(VIEW_SCORING)
@require_GET
def review_list(request: HttpRequest) -> HttpResponse:
    """The open reviews due by today (in each legal entity's time zone), the oldest first."""
    days = _entity_days(request)
    context = {
        "rows": review_selectors.review_task_list(as_of_by_entity=days),
        "today": min(days.values()) if days else None,
    }
    return render(request, "workspace/credit/review_list.html", context)


def _review_page(
    request: HttpRequest,
    review: CreditReview,
    *,
    form: review_forms.ReviewCompleteForm | None = None,
    status: int = 200,
) -> HttpResponse:
    customer = review.customer
    latest = scoring.customer_scores(customer=customer)[:1]
    context = {
        "review": review,
        "customer": customer,
        "profile": review_selectors.profile_of(customer),
        "score": _score_shown(latest[0]) if latest else None,
        "review_score": None if review.score is None else _score_shown(review.score),
        "may_act": roles.has_any(request.user, SCORE_CREDIT) and review.state == CreditReview.State.OPEN,
        "form": form or review_forms.ReviewCompleteForm(),
    }
    return render(request, "workspace/credit/review_detail.html", context, status=status)


@role_required(VIEW_SCORING)
@require_GET
def review_detail(request: HttpRequest, review_id: int) -> HttpResponse:
    return _review_page(request, _review(request, review_id))


@role_required(SCORE_CREDIT)
@require_POST
def review_score(request: HttpRequest, review_id: int) -> HttpResponse:
    """Score the review's customer as of today in its entity's time zone (`scoring.customer_score`)."""
    review = _review(request, review_id)
    _score_now(request, review.customer)
    return redirect("credit_review_detail", review_id=review.pk)


@role_required(SCORE_CREDIT)
@require_POST
def review_complete(request: HttpRequest, review_id: int) -> HttpResponse:
    """Complete the review (`reviews.review_complete`: a rescore as of today, the decision, the note)."""
    review = _review(request, review_id)
    form = review_forms.ReviewCompleteForm(request.POST)
    if form.is_valid():
        try:
            reviews.review_complete(
                review_id=review.pk,
                decision=form.cleaned_data["decision"],
                note=form.cleaned_data["note"],
                as_of=clock.today_in(review.customer.entity.time_zone),
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request, _("Review of customer %(number)s completed.") % {"number": review.customer.number}
            )
            return redirect("credit_review_detail", review_id=review.pk)
    return _review_page(request, _review(request, review_id), form=form, status=422)


# --- a customer's scores -----------------------------------------------------------------------------


def _customer(request: HttpRequest, customer_id: int) -> Customer:
    found = review_selectors.customer_get(entity_ids=_entity_ids(request), customer_id=customer_id)
    if found is None:
        raise Http404
    return found


def _score_now(request: HttpRequest, customer: Customer) -> None:
    try:
        score = scoring.customer_score(
            customer_id=customer.pk,
            as_of=clock.today_in(customer.entity.time_zone),
            actor=_actor(request),
            now=clock.now(),
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Customer %(number)s scored: risk class %(risk_class)s.")
            % {"number": customer.number, "risk_class": score.risk_class},
        )


@role_required(VIEW_SCORING)
@require_GET
def customer_scores(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The customer's scores, newest first, each with its factors."""
    customer = _customer(request, customer_id)
    context = {
        "customer": customer,
        "profile": review_selectors.profile_of(customer),
        "review": review_selectors.open_review_of(customer),
        "scores": [_score_shown(s) for s in scoring.customer_scores(customer=customer)],
        "may_score": roles.has_any(request.user, SCORE_CREDIT),
    }
    return render(request, "workspace/credit/score_history.html", context)


@role_required(SCORE_CREDIT)
@require_POST
def customer_score_now(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer(request, customer_id)
    _score_now(request, customer)
    return redirect("credit_customer_scores", customer_id=customer.pk)


# --- raise requests ----------------------------------------------------------------------------------


def _raise(request: HttpRequest, request_id: int) -> RaiseRequest:
    found = review_selectors.raise_request_get(entity_ids=_entity_ids(request), request_id=request_id)
    if found is None:
        raise Http404
    return found


@role_required(VIEW_SCORING)
@require_GET
def raise_list(request: HttpRequest) -> HttpResponse:
    """The raise requests, newest first, of the state asked for (`?state=open`)."""
    form = review_forms.RaiseFilterForm(request.GET)
    state = form.cleaned_data["state"] if form.is_valid() else ""
    context = {
        "form": form,
        "requests": review_selectors.raise_request_list(entity_ids=_entity_ids(request), state=state)[:500],
        "may_request": roles.has_any(request.user, REQUEST_RAISES),
    }
    return render(request, "workspace/credit/raise_list.html", context)


@role_required(REQUEST_RAISES)
@require_http_methods(["GET", "POST"])
def raise_create(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: ask for the raise (`reviews.raise_request_create`)."""
    if request.method != "POST":
        form = review_forms.RaiseCreateForm(initial={"customer_number": request.GET.get("customer", "")})
        return render(request, "workspace/credit/raise_form.html", {"form": form})
    form = review_forms.RaiseCreateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        found = review_selectors.customers_by_number(
            entity_ids=_entity_ids(request), number=data["customer_number"]
        )
        if not found:
            form.add_error("customer_number", _("No customer with this number."))
        elif len(found) > 1:
            form.add_error("customer_number", _("Several legal entities have this customer number."))
        else:
            customer = found[0]
            profile = review_selectors.profile_of(customer)
            currency = profile.limit.currency if profile.limit is not None else customer.currency
            if data["currency"] != currency:
                form.add_error(
                    "currency",
                    _("The limit of customer %(number)s is kept in %(currency)s.")
                    % {"number": customer.number, "currency": currency},
                )
            else:
                try:
                    created = reviews.raise_request_create(
                        customer=customer,
                        requested_limit=data["requested_limit"],
                        reason=data["reason"],
                        actor=_actor(request),
                        now=clock.now(),
                    )
                except DomainError as error:
                    form.add_error(None, error.message)
                else:
                    messages.success(request, _("Raise request %(id)s sent.") % {"id": created.pk})
                    if roles.has_any(request.user, VIEW_SCORING):
                        return redirect("credit_raise_detail", request_id=created.pk)
                    return redirect("credit_raise_create")
    return render(request, "workspace/credit/raise_form.html", {"form": form}, status=422)


def _raise_page(
    request: HttpRequest,
    raise_request: RaiseRequest,
    *,
    check_form: review_forms.CheckForm | None = None,
    evidence_form: review_forms.EvidenceForm | None = None,
    decide_form: review_forms.DecideForm | None = None,
    status: int = 200,
) -> HttpResponse:
    checklist = []
    for code, label in reviews.CHECKLIST:
        entry = raise_request.checklist.get(code, {})
        checklist.append({"code": code, "label": label, **entry, "checked": bool(entry.get("checked"))})
    evidence = list(review_selectors.evidence_list(raise_request))
    labels = dict(reviews.CHECKLIST)
    context = {
        "raise_request": raise_request,
        "checklist": checklist,
        "ticked": sum(1 for entry in checklist if entry["checked"]),
        "evidence": [(file, labels.get(file.checklist_item, "")) for file in evidence],
        "may_act": roles.has_any(request.user, SCORE_CREDIT)
        and raise_request.state == RaiseRequest.State.OPEN,
        "check_form": check_form,
        "evidence_form": evidence_form or review_forms.EvidenceForm(),
        "decide_form": decide_form
        or review_forms.DecideForm(
            initial={
                "limit": Money.from_minor(raise_request.requested_limit_minor, raise_request.currency).amount
            }
        ),
        "max_mb": dispute_rules.MAX_ATTACHMENT_BYTES // (1024 * 1024),
    }
    return render(request, "workspace/credit/raise_detail.html", context, status=status)


@role_required(VIEW_SCORING)
@require_GET
def raise_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    return _raise_page(request, _raise(request, request_id))


@role_required(SCORE_CREDIT)
@require_POST
def raise_check(request: HttpRequest, request_id: int) -> HttpResponse:
    """Tick or untick one item of the checklist (`reviews.raise_request_check`)."""
    raise_request = _raise(request, request_id)
    form = review_forms.CheckForm(request.POST)
    if form.is_valid():
        try:
            reviews.raise_request_check(
                request_id=raise_request.pk,
                item=form.cleaned_data["item"],
                checked=form.cleaned_data["checked"],
                note=form.cleaned_data["note"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Checklist updated."))
            return redirect("credit_raise_detail", request_id=raise_request.pk)
    return _raise_page(request, _raise(request, request_id), check_form=form, status=422)


@role_required(SCORE_CREDIT)
@require_POST
def raise_evidence_add(request: HttpRequest, request_id: int) -> HttpResponse:
    """Attach a file (`reviews.raise_evidence_add`: the types and size a dispute's attachments allow)."""
    raise_request = _raise(request, request_id)
    form = review_forms.EvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            added = reviews.raise_evidence_add(
                request_id=raise_request.pk,
                file_name=upload.name or "",
                content_type=upload.content_type or "",
                content=upload.read(dispute_rules.MAX_ATTACHMENT_BYTES + 1),
                item=form.cleaned_data["item"],
                description=form.cleaned_data["description"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_error("file", error.message)
        else:
            messages.success(request, _("File %(name)s added.") % {"name": added.file_name})
            return redirect("credit_raise_detail", request_id=raise_request.pk)
    return _raise_page(request, _raise(request, request_id), evidence_form=form, status=422)


@role_required(VIEW_SCORING)
@require_GET
def raise_evidence_get(request: HttpRequest, request_id: int, evidence_id: int) -> HttpResponse:
    """The file as it was uploaded, as a download (never shown inside the page)."""
    found = review_selectors.evidence_get(
        entity_ids=_entity_ids(request), request_id=request_id, evidence_id=evidence_id
    )
    if found is None:
        raise Http404
    response = HttpResponse(bytes(found.content), content_type=found.content_type)
    response["Content-Disposition"] = content_disposition_header(True, found.file_name) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@role_required(SCORE_CREDIT)
@require_POST
def raise_decide(request: HttpRequest, request_id: int) -> HttpResponse:
    """Approve (the checklist ticked; the decided limit, by default the requested one) or decline with a
    reason (`reviews.raise_request_decide`)."""
    raise_request = _raise(request, request_id)
    form = review_forms.DecideForm(request.POST)
    if form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        try:
            decided = reviews.raise_request_decide(
                request_id=raise_request.pk,
                approve=approve,
                limit=form.cleaned_data["limit"] if approve else None,
                note=form.cleaned_data["note"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            done = _("Raise request %(id)s approved.") if approve else _("Raise request %(id)s declined.")
            messages.success(request, done % {"id": decided.pk})
            return redirect("credit_raise_detail", request_id=raise_request.pk)
    return _raise_page(request, _raise(request, request_id), decide_form=form, status=422)


# --- the scorecard -----------------------------------------------------------------------------------


def _scorecard_page(
    request: HttpRequest,
    *,
    form: review_forms.ScorecardForm | None = None,
    json_form: review_forms.ScorecardJsonForm | None = None,
    status: int = 200,
) -> HttpResponse:
    version, card = scoring.scorecard_current()
    definition = version.definition
    factors = []
    for raw in definition.get("factors", []):
        bands = []
        for band in raw.get("bands", []):
            lower = band.get("from", band.get("above"))
            bands.append(
                {
                    "label": band.get("label", ""),
                    "points": band.get("points"),
                    "lower": None if lower is None else Decimal(str(lower)),
                    "exclusive": "above" in band,
                }
            )
        factors.append(
            {
                "code": raw["code"],
                "label": FACTOR_LABELS.get(raw["code"], raw["code"]),
                "weight": Decimal(str(raw["weight"])),
                "bands": bands,
            }
        )
    classes = [
        {
            "risk_class": rule.risk_class,
            "min_score": rule.min_score,
            "sales_share": rule.sales_share * 100,
            "equity_share": rule.equity_share * 100,
            "max_limit_minor": Money(rule.max_limit, card.currency).round_half_up().to_minor(),
            "review_months": rule.review_months,
        }
        for rule in card.classes
    ]
    may_change = roles.has_any(request.user, MANAGE_SCORECARD)
    context = {
        "version": version,
        "card": card,
        "limit_step_minor": Money(card.limit_step, card.currency).round_half_up().to_minor(),
        "factors": factors,
        "weight_sum": sum((f["weight"] for f in factors), Decimal(0)),
        "classes": classes,
        "versions": review_selectors.scorecard_versions(),
        "may_change": may_change,
        "form": form or (review_forms.ScorecardForm(current=definition) if may_change else None),
        "json_form": json_form
        or (
            review_forms.ScorecardJsonForm(initial={"definition": json.dumps(definition, indent=2)})
            if may_change
            else None
        ),
    }
    return render(request, "workspace/credit/scorecard.html", context, status=status)


@role_required(VIEW_SCORING)
@require_GET
def scorecard(request: HttpRequest) -> HttpResponse:
    return _scorecard_page(request)


def _changed(request: HttpRequest, definition: dict[str, Any], note: str) -> DomainError | None:
    try:
        version = scoring.scorecard_change(
            definition=definition, note=note, actor=_actor(request), now=clock.now()
        )
    except DomainError as error:
        return error
    messages.success(request, _("Scorecard version %(version)s is in force.") % {"version": version.version})
    return None


@role_required(MANAGE_SCORECARD)
@require_POST
def scorecard_change(request: HttpRequest) -> HttpResponse:
    """A new version with the weights and class thresholds of the form (`scoring.scorecard_change`)."""
    version, _card = scoring.scorecard_current()
    form = review_forms.ScorecardForm(request.POST, current=version.definition)
    if form.is_valid():
        error = _changed(request, form.definition(), form.cleaned_data["note"])
        if error is None:
            return redirect("credit_scorecard")
        form.add_error(None, error.message)
    return _scorecard_page(request, form=form, status=422)


@role_required(MANAGE_SCORECARD)
@require_POST
def scorecard_change_json(request: HttpRequest) -> HttpResponse:
    """A new version from the whole definition as JSON, checked by the service first."""
    form = review_forms.ScorecardJsonForm(request.POST)
    if form.is_valid():
        error = _changed(request, form.cleaned_data["definition"], form.cleaned_data["note"])
        if error is None:
            return redirect("credit_scorecard")
        form.add_error("definition", error.message)
    return _scorecard_page(request, json_form=form, status=422)
