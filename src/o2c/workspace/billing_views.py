"""The billing analyst's pages: subscriptions (with amending, cancelling and renewing them), billing
runs, the review of a run date from which the run is previewed and issued, customers' sales tax
exemption certificates; and the AR manager's page of the seller's invoice profile and tax registrations.

Like every back-office page: reads are limited to the legal entities granted to the person (another
entity's subscription is a 404), viewing needs a role of VIEW_RECEIVABLES, running and issuing one of
ISSUE_DOCUMENTS (403 otherwise), as do changing subscriptions and exemption certificates; the seller's
details are an AR manager's or admin's. A run is started by a POST (with CSRF) and runs within the request;
with htmx the page shows a "running" state meanwhile, and a run started elsewhere (the scheduled one)
shows as running, polled every few seconds, until it finishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms as django_forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from o2c.audit import selectors as audit_selectors
from o2c.billing import review, runs, selectors, services
from o2c.billing.models import BillingRun, Product, Subscription, TaxExemption
from o2c.core import clock
from o2c.core.exceptions import DomainError
from o2c.customers.models import Customer
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import LegalEntity
from o2c.workspace import billing_forms, forms, roles
from o2c.workspace.templatetags.o2c_format import fdate
from o2c.workspace.views import (
    HISTORY_LIMIT,
    HtmxHttpRequest,
    _actor,
    _customer_or_404,
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
# who may amend, cancel and renew subscriptions and keep customers' exemption certificates
CHANGE_SUBSCRIPTIONS = roles.ISSUE_DOCUMENTS
CHANGE_EXEMPTIONS = roles.ISSUE_DOCUMENTS
# who keeps the seller's invoice profile and tax registrations
MANAGE_SELLER = frozenset({roles.AR_MANAGER, roles.ADMIN})


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


def _subscription_or_404(request: HttpRequest, subscription_id: int) -> review.SubscriptionDetail:
    try:
        return review.subscription_detail(entity_ids=_entity_ids(request), subscription_id=subscription_id)
    except Subscription.DoesNotExist:
        raise Http404 from None


def _amendment_products(detail: review.SubscriptionDetail) -> list[Product]:
    if not detail.terms:
        return []
    return selectors.products_for_amendment(
        subscription=detail.subscription, product_code=detail.terms[-1].product_code
    )


def _subscription_page(
    request: HttpRequest,
    detail: review.SubscriptionDetail,
    *,
    amend_form: billing_forms.AmendForm | None = None,
    cancel_form: billing_forms.CancelForm | None = None,
    renew_form: billing_forms.RenewForm | None = None,
    status: int = 200,
) -> HttpResponse:
    subscription = detail.subscription
    can_change = roles.has_any(request.user, CHANGE_SUBSCRIPTIONS)
    context: dict[str, Any] = {
        "detail": detail,
        "subscription": subscription,
        "history": audit_selectors.audit_events_for(object_type="subscription", object_id=subscription.pk)[
            :HISTORY_LIMIT
        ],
        "can_change": can_change,
    }
    if can_change:
        context |= {
            "amend_form": amend_form
            or billing_forms.AmendForm(
                subscription=subscription,
                terms=detail.terms,
                products=_amendment_products(detail),
                initial={"effective_from": _today(subscription.entity)},
            ),
            "cancel_form": cancel_form or billing_forms.CancelForm(subscription=subscription),
            "renew_form": renew_form or billing_forms.RenewForm(subscription=subscription),
        }
    return render(request, "workspace/billing/subscription_detail.html", context, status=status)


@role_required(roles.VIEW_RECEIVABLES)
@require_GET
def subscription_detail(request: HttpRequest, subscription_id: int) -> HttpResponse:
    return _subscription_page(request, _subscription_or_404(request, subscription_id))


def _amended_message(
    subscription: Subscription, before: review.TermRow, day: date, after: tuple[str, Decimal, Decimal]
) -> str:
    """What the amendment means for billing: the days already billed are re-rated by the next run."""
    text = _("Subscription %(number)s amended from %(date)s.") % {
        "number": subscription.number,
        "date": fdate(day),
    }
    billed = subscription.billed_through
    if billed is None or day > billed:
        outlook = _("Billing runs bill the new terms for the periods from that day as they fall due.")
        return f"{text} {outlook}"
    prices = [
        selectors.term_period_price_minor(
            entity_id=subscription.entity_id,
            product_code=code,
            currency=subscription.currency,
            quantity=quantity,
            discount_percent=discount,
        )
        for code, quantity, discount in (
            (before.product_code, before.quantity, before.discount_percent),
            after,
        )
    ]
    old, new = prices
    if old is None or new is None:
        outlook = _(
            "%(first)s to %(last)s were billed already: the next billing run re-rates those days and "
            "charges or credits the difference."
        )
    elif new > old:
        outlook = _(
            "%(first)s to %(last)s were billed already: the next billing run charges the prorated "
            "difference on an invoice."
        )
    elif new < old:
        outlook = _(
            "%(first)s to %(last)s were billed already: the next billing run credits the prorated "
            "difference on a credit memo."
        )
    else:
        outlook = _(
            "%(first)s to %(last)s were billed already at the same price per period: the next billing run "
            "charges or credits nothing for them."
        )
    return f"{text} {outlook % {'first': fdate(day), 'last': fdate(billed)}}"


@role_required(CHANGE_SUBSCRIPTIONS)
@require_POST
def subscription_amend(request: HttpRequest, subscription_id: int) -> HttpResponse:
    """A quantity change, upgrade or downgrade, or discount change from a day on."""
    detail = _subscription_or_404(request, subscription_id)
    subscription = detail.subscription
    form = billing_forms.AmendForm(
        request.POST, subscription=subscription, terms=detail.terms, products=_amendment_products(detail)
    )
    if form.is_valid():
        data = form.cleaned_data
        day = data["effective_from"]
        before = billing_forms.term_on(detail.terms, day)
        after = (
            data["product_code"] or before.product_code,
            before.quantity if data["quantity"] is None else data["quantity"],
            before.discount_percent if data["discount_percent"] is None else data["discount_percent"],
        )
        try:
            services.subscription_amend(
                subscription_id=subscription.pk,
                effective_from=day,
                quantity=data["quantity"],
                product_code=data["product_code"] or None,
                discount_percent=data["discount_percent"],
                reason=data["reason"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _amended_message(subscription, before, day, after))
            return redirect("billing_subscription_detail", subscription_id=subscription.pk)
    return _subscription_page(request, detail, amend_form=form, status=422)


@role_required(CHANGE_SUBSCRIPTIONS)
@require_POST
def subscription_cancel(request: HttpRequest, subscription_id: int) -> HttpResponse:
    """An earlier last day of service; billed days after it are credited by the next run."""
    detail = _subscription_or_404(request, subscription_id)
    subscription = detail.subscription
    form = billing_forms.CancelForm(request.POST, subscription=subscription)
    if form.is_valid():
        end = form.cleaned_data["end_date"]
        try:
            services.subscription_end_set(
                subscription_id=subscription.pk,
                end_date=end,
                reason=form.cleaned_data["reason"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            text = _("Subscription %(number)s ends on %(date)s.") % {
                "number": subscription.number,
                "date": fdate(end),
            }
            billed = subscription.billed_through
            if billed is not None and end < billed:
                outlook = _(
                    "The next billing run credits the days billed after it (%(first)s to %(last)s) on a "
                    "credit memo."
                ) % {"first": fdate(end + timedelta(days=1)), "last": fdate(billed)}
            else:
                outlook = _("Billing runs bill it up to that day and no further.")
            messages.success(request, f"{text} {outlook}")
            return redirect("billing_subscription_detail", subscription_id=subscription.pk)
    return _subscription_page(request, detail, cancel_form=form, status=422)


@role_required(CHANGE_SUBSCRIPTIONS)
@require_POST
def subscription_renew(request: HttpRequest, subscription_id: int) -> HttpResponse:
    """A later last day of service, or none; the days after the old end are billed as they fall due."""
    detail = _subscription_or_404(request, subscription_id)
    subscription = detail.subscription
    old_end = subscription.end_date
    form = billing_forms.RenewForm(request.POST, subscription=subscription)
    if form.is_valid() and old_end is not None:
        end = None if form.cleaned_data["open_ended"] else form.cleaned_data["end_date"]
        try:
            services.subscription_end_set(
                subscription_id=subscription.pk,
                end_date=end,
                reason=form.cleaned_data["reason"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            if end is None:
                text = _("Subscription %(number)s renewed with no end date.") % {
                    "number": subscription.number
                }
            else:
                text = _("Subscription %(number)s renewed until %(date)s.") % {
                    "number": subscription.number,
                    "date": fdate(end),
                }
            outlook = _("Billing runs bill the days from %(date)s as their periods fall due.") % {
                "date": fdate(old_end + timedelta(days=1))
            }
            messages.success(request, f"{text} {outlook}")
            return redirect("billing_subscription_detail", subscription_id=subscription.pk)
    return _subscription_page(request, detail, renew_form=form, status=422)


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


# --- customers' sales tax exemption certificates -------------------------------------------------


@dataclass(frozen=True)
class ExemptionRow:
    exemption: TaxExemption
    status: str  # revoked | ended | future | valid, as of today in the entity's time zone
    end_form: billing_forms.ExemptionEndForm
    revoke_form: billing_forms.ExemptionRevokeForm

    @property
    def is_revoked(self) -> bool:
        return self.status == "revoked"


def _exemptions_page(
    request: HttpRequest,
    customer: Customer,
    *,
    add_form: billing_forms.ExemptionAddForm | None = None,
    failed: tuple[int, django_forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The certificates of a customer; a refused end or revoke shows its form again on its row."""
    rows = []
    today = _today(customer.entity)
    for exemption in selectors.tax_exemption_list(customer_id=customer.pk):
        end_form = billing_forms.ExemptionEndForm(prefix=f"end-{exemption.pk}")
        revoke_form = billing_forms.ExemptionRevokeForm(prefix=f"revoke-{exemption.pk}")
        if failed is not None and failed[0] == exemption.pk:
            if isinstance(failed[1], billing_forms.ExemptionEndForm):
                end_form = failed[1]
            elif isinstance(failed[1], billing_forms.ExemptionRevokeForm):
                revoke_form = failed[1]
        rows.append(ExemptionRow(exemption, exemption.status_on(today), end_form, revoke_form))
    context = {
        "customer": customer,
        "rows": rows,
        "can_change": roles.has_any(request.user, CHANGE_EXEMPTIONS),
        "add_form": add_form
        or billing_forms.ExemptionAddForm(initial={"region": customer.region[:2], "valid_from": today}),
        "history": selectors.tax_exemption_history(customer_id=customer.pk)[:HISTORY_LIMIT],
    }
    return render(request, "workspace/billing/tax_exemptions.html", context, status=status)


def _exemption_or_404(customer: Customer, exemption_id: int) -> TaxExemption:
    found = selectors.tax_exemption_list(customer_id=customer.pk).filter(pk=exemption_id).first()
    if found is None:
        raise Http404
    return found


def _exemptions_url(customer: Customer) -> HttpResponse:
    return redirect("billing_tax_exemptions", customer_id=customer.pk)


@role_required(roles.VIEW_RECEIVABLES)
@require_GET
def tax_exemptions(request: HttpRequest, customer_id: int) -> HttpResponse:
    return _exemptions_page(request, _customer_or_404(request, customer_id))


@role_required(CHANGE_EXEMPTIONS)
@require_POST
def tax_exemption_add(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_404(request, customer_id)
    form = billing_forms.ExemptionAddForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            exemption = services.tax_exemption_add(
                customer_id=customer.pk,
                region=data["region"],
                certificate=data["certificate"],
                valid_from=data["valid_from"],
                valid_to=data["valid_to"],
                reason=data["reason"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request,
                _(
                    "Certificate %(certificate)s recorded for %(state)s from %(date)s: lines billed to "
                    "%(customer)s for that state from then on are exempt from sales tax. Invoices issued "
                    "already keep their tax."
                )
                % {
                    "certificate": exemption.certificate,
                    "state": exemption.region,
                    "date": fdate(exemption.valid_from),
                    "customer": customer.number,
                },
            )
            return _exemptions_url(customer)
    return _exemptions_page(request, customer, add_form=form, status=422)


@role_required(CHANGE_EXEMPTIONS)
@require_POST
def tax_exemption_end(request: HttpRequest, customer_id: int, exemption_id: int) -> HttpResponse:
    customer = _customer_or_404(request, customer_id)
    exemption = _exemption_or_404(customer, exemption_id)
    form = billing_forms.ExemptionEndForm(request.POST, prefix=f"end-{exemption.pk}")
    if form.is_valid():
        try:
            services.tax_exemption_end(
                exemption_id=exemption.pk,
                valid_to=form.cleaned_data["valid_to"],
                reason=form.cleaned_data["reason"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request,
                _(
                    "Certificate %(certificate)s ends on %(date)s: lines billed for later days are taxed "
                    "again."
                )
                % {"certificate": exemption.certificate, "date": fdate(form.cleaned_data["valid_to"])},
            )
            return _exemptions_url(customer)
    return _exemptions_page(request, customer, failed=(exemption.pk, form), status=422)


@role_required(CHANGE_EXEMPTIONS)
@require_POST
def tax_exemption_revoke(request: HttpRequest, customer_id: int, exemption_id: int) -> HttpResponse:
    customer = _customer_or_404(request, customer_id)
    exemption = _exemption_or_404(customer, exemption_id)
    form = billing_forms.ExemptionRevokeForm(request.POST, prefix=f"revoke-{exemption.pk}")
    if form.is_valid():
        try:
            services.tax_exemption_revoke(
                exemption_id=exemption.pk,
                reason=form.cleaned_data["reason"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request,
                _(
                    "Certificate %(certificate)s revoked: it covers no day. Lines billed from now on are "
                    "taxed; invoices issued already keep their tax."
                )
                % {"certificate": exemption.certificate},
            )
            return _exemptions_url(customer)
    return _exemptions_page(request, customer, failed=(exemption.pk, form), status=422)


# --- the seller: invoice profile and tax registrations -------------------------------------------


def _profile_initial(entity: LegalEntity) -> dict[str, Any]:
    profile = selectors.invoice_profile_get(entity_id=entity.pk)
    if profile is None:
        return {}
    return {
        name: getattr(profile, name)
        for name in ("address", "email", "register_court", "register_number", "managing_directors")
    }


def _seller_page(
    request: HttpRequest,
    entity: LegalEntity,
    *,
    profile_form: billing_forms.InvoiceProfileForm | None = None,
    registration_form: billing_forms.TaxRegistrationForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "entity": entity,
        "entities": list(ledger_selectors.entities_for_user(request.user)),
        "profile_form": profile_form or billing_forms.InvoiceProfileForm(initial=_profile_initial(entity)),
        "registrations": list(selectors.tax_registration_list(entity_id=entity.pk)),
        "registration_form": registration_form
        or billing_forms.TaxRegistrationForm(initial={"country": entity.country}),
        "history": selectors.seller_history(entity_id=entity.pk)[:HISTORY_LIMIT],
    }
    return render(request, "workspace/billing/seller.html", context, status=status)


@role_required(MANAGE_SELLER)
@require_GET
def seller_default(request: HttpRequest) -> HttpResponse:
    """The seller page of the default granted entity (or the first granted one)."""
    return redirect("billing_seller", entity_id=_entity(request, None).pk)


@role_required(MANAGE_SELLER)
@require_http_methods(["GET", "POST"])
def seller(request: HttpRequest, entity_id: int) -> HttpResponse:
    """The seller details an entity prints on its invoices; a POST saves the invoice profile."""
    entity = _entity(request, entity_id)
    if request.method != "POST":
        return _seller_page(request, entity)
    form = billing_forms.InvoiceProfileForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.invoice_profile_set(
                entity=entity,
                data=services.InvoiceProfileIn(
                    address=data["address"],
                    email=data["email"],
                    register_court=data["register_court"],
                    register_number=data["register_number"],
                    managing_directors=data["managing_directors"],
                ),
                reason=data["reason"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request,
                _(
                    "Invoice profile of %(entity)s saved: invoices rendered from now on print it; issued "
                    "invoices are not changed."
                )
                % {"entity": entity.code},
            )
            return redirect("billing_seller", entity_id=entity.pk)
    return _seller_page(request, entity, profile_form=form, status=422)


@role_required(MANAGE_SELLER)
@require_POST
def tax_registration_set(request: HttpRequest, entity_id: int) -> HttpResponse:
    """Add a tax registration of the entity, or change the number of one it has."""
    entity = _entity(request, entity_id)
    form = billing_forms.TaxRegistrationForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            registration = ledger_services.tax_registration_set(
                entity=entity,
                country=data["country"],
                scheme=data["scheme"],
                number=data["number"],
                reason=data["reason"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request,
                _(
                    "Tax registration %(country)s %(scheme)s saved as %(number)s: the tax of lines billed "
                    "from now on follows it."
                )
                % {
                    "country": registration.country,
                    "scheme": registration.scheme,
                    "number": registration.number,
                },
            )
            return redirect("billing_seller", entity_id=entity.pk)
    return _seller_page(request, entity, registration_form=form, status=422)
