"""The billing analyst's pages: subscriptions, billing runs, and the review of a run date from which
the run is previewed and issued.

Like every back-office page: reads are limited to the legal entities granted to the person (another
entity's subscription is a 404), viewing needs a role of VIEW_RECEIVABLES, running and issuing one of
ISSUE_DOCUMENTS (403 otherwise). A run is started by a POST (with CSRF) and runs within the request;
with htmx the page shows a "running" state meanwhile, and a run started elsewhere (the scheduled one)
shows as running, polled every few seconds, until it finishes.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms as django_forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from o2c.audit import selectors as audit_selectors
from o2c.billing import review, runs, selectors
from o2c.billing.models import BillingRun, Subscription
from o2c.core import clock
from o2c.core.exceptions import DomainError
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.workspace import forms, roles
from o2c.workspace.templatetags.o2c_format import fdate
from o2c.workspace.views import (
    HISTORY_LIMIT,
    HtmxHttpRequest,
    _actor,
    _entity_ids,
    _page_number,
    _query_without_page,
    role_required,
    slice_page,
)

SUBSCRIPTIONS_PER_PAGE = 50
RUNS_PER_PAGE = 50
# a run still marked running after this long has died with its process: it is not polled
RUNNING_AT_MOST = timedelta(hours=12)
POLL_SECONDS = 5


class SubscriptionSearchForm(django_forms.Form):
    q = django_forms.CharField(label=gettext_lazy("Search"), required=False, max_length=100)


class ReviewForm(django_forms.Form):
    entity = django_forms.IntegerField(required=False, widget=django_forms.HiddenInput)
    as_of = django_forms.DateField(
        label=gettext_lazy("Run date"), required=False, widget=django_forms.DateInput(attrs={"type": "date"})
    )


class RunForm(django_forms.Form):
    PREVIEW = "preview"
    ISSUE = "issue"

    entity = django_forms.IntegerField(widget=django_forms.HiddenInput)
    as_of = django_forms.DateField(label=gettext_lazy("Run date"))
    action = django_forms.ChoiceField(choices=[(PREVIEW, PREVIEW), (ISSUE, ISSUE)])
    confirm = django_forms.BooleanField(
        required=False, label=gettext_lazy("I have reviewed the drafts: number them and post them")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == self.ISSUE and not data.get("confirm"):
            self.add_error("confirm", _("Confirm that you have reviewed the drafts before issuing them."))
        return data


def _entity(request: HttpRequest, raw: object) -> LegalEntity:
    """The granted entity with this id; without one, the default entity if granted, else the first.
    An entity that is not granted is a 404, as if it did not exist."""
    granted = list(ledger_selectors.entities_for_user(request.user))
    if raw not in (None, ""):
        for entity in granted:
            if str(entity.pk) == str(raw):
                return entity
        raise Http404
    if not granted:
        raise Http404
    return next((e for e in granted if e.is_default), granted[0])


def _today(entity: LegalEntity) -> date:
    return clock.today_in(entity.time_zone)


def _review_url(entity: LegalEntity, as_of: date) -> str:
    return f"{reverse('billing_review')}?{urlencode({'entity': entity.pk, 'as_of': as_of.isoformat()})}"


# --- subscriptions -------------------------------------------------------------------------------


@role_required(roles.VIEW_RECEIVABLES)
@require_GET
def subscription_list(request: HtmxHttpRequest) -> HttpResponse:
    """Search on subscription, customer and PO number prefixes; 50 a page, without COUNT(*)."""
    form = SubscriptionSearchForm(request.GET)
    search = form.cleaned_data["q"] if form.is_valid() else ""
    subscriptions = selectors.subscription_list(
        entity_ids=_entity_ids(request), search=search
    ).select_related("entity")
    page = slice_page(subscriptions, number=_page_number(request), per_page=SUBSCRIPTIONS_PER_PAGE)
    context = {"form": form, "page": page, "query": _query_without_page(request)}
    template = (
        "workspace/billing/_subscription_results.html"
        if request.htmx
        else "workspace/billing/subscription_list.html"
    )
    return render(request, template, context)


@role_required(roles.VIEW_RECEIVABLES)
@require_GET
def subscription_detail(request: HttpRequest, subscription_id: int) -> HttpResponse:
    try:
        detail = review.subscription_detail(entity_ids=_entity_ids(request), subscription_id=subscription_id)
    except Subscription.DoesNotExist:
        raise Http404 from None
    context = {
        "detail": detail,
        "subscription": detail.subscription,
        "history": audit_selectors.audit_events_for(object_type="subscription", object_id=subscription_id)[
            :HISTORY_LIMIT
        ],
    }
    return render(request, "workspace/billing/subscription_detail.html", context)


# --- runs ----------------------------------------------------------------------------------------


@role_required(roles.VIEW_RECEIVABLES)
@require_GET
def run_list(request: HttpRequest) -> HttpResponse:
    found = review.run_list(entity_ids=_entity_ids(request))
    page = slice_page(found, number=_page_number(request), per_page=RUNS_PER_PAGE)
    return render(
        request, "workspace/billing/run_list.html", {"page": page, "query": _query_without_page(request)}
    )


def _review_context(
    request: HttpRequest, entity: LegalEntity, as_of: date, *, run_form: RunForm | None = None
) -> dict[str, Any]:
    data = review.billing_review(entity_id=entity.pk, as_of=as_of)
    running: BillingRun | None = data.running
    if running is not None and running.started_at < clock.now() - RUNNING_AT_MOST:
        running = None
    return {
        "entity": entity,
        "entities": list(ledger_selectors.entities_for_user(request.user)),
        "as_of": as_of,
        "review": data,
        "running": running,
        "poll_seconds": POLL_SECONDS,
        "review_url": _review_url(entity, as_of),
        "can_run": roles.has_any(request.user, roles.ISSUE_DOCUMENTS),
        "run_form": run_form,
    }


@role_required(roles.VIEW_RECEIVABLES)
@require_GET
def billing_review(request: HtmxHttpRequest) -> HttpResponse:
    """The review of a run date (default: today in the entity's time zone); htmx gets the review alone."""
    form = ReviewForm(request.GET)
    valid = form.is_valid()
    entity = _entity(request, form.cleaned_data.get("entity") if valid else request.GET.get("entity"))
    as_of = (form.cleaned_data.get("as_of") if valid else None) or _today(entity)
    context = {**_review_context(request, entity, as_of), "form": form}
    template = "workspace/billing/_review.html" if request.htmx else "workspace/billing/review.html"
    return render(request, template, context)


@role_required(roles.ISSUE_DOCUMENTS)
@require_POST
def billing_run_start(request: HtmxHttpRequest) -> HttpResponse:
    """Preview (drafts) or issue (number and post every billing draft up to the date, after the
    confirmation), then back to the review of the date."""
    entity = _entity(request, request.POST.get("entity"))
    form = RunForm(request.POST)
    if not form.is_valid():
        as_of = form.cleaned_data.get("as_of") or _today(entity)
        context = {**_review_context(request, entity, as_of, run_form=form), "form": ReviewForm()}
        if request.htmx:  # htmx swaps only successful answers: the errors come as a 200 partial
            return render(request, "workspace/billing/_review.html", context)
        return render(request, "workspace/billing/review.html", context, status=422)
    as_of = form.cleaned_data["as_of"]
    issue = form.cleaned_data["action"] == RunForm.ISSUE
    try:
        result = runs.billing_run(
            entity=entity, as_of=as_of, issue=issue, actor=_actor(request), now=clock.now()
        )
    except DomainError as error:
        messages.error(request, forms.domain_message(error))
    else:
        count = len(result.documents)
        if issue:
            text = ngettext(
                "Billing run as of %(date)s: %(count)d document issued.",
                "Billing run as of %(date)s: %(count)d documents issued.",
                count,
            )
        else:
            text = ngettext(
                "Preview as of %(date)s: %(count)d draft created.",
                "Preview as of %(date)s: %(count)d drafts created.",
                count,
            )
        messages.success(request, text % {"date": fdate(as_of), "count": count})
        if result.errors:
            messages.warning(
                request,
                ngettext(
                    "%(count)d subscription could not be billed: see the exceptions.",
                    "%(count)d subscriptions could not be billed: see the exceptions.",
                    len(result.errors),
                )
                % {"count": len(result.errors)},
            )
    if request.htmx:
        context = {**_review_context(request, entity, as_of), "form": ReviewForm()}
        response = render(request, "workspace/billing/_review.html", context)
        response["HX-Push-Url"] = _review_url(entity, as_of)
        return response
    return redirect(_review_url(entity, as_of))
