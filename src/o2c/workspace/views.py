"""The back office's pages. Each view: a permission check, a form, one domain call, a template.

Every read is limited to the legal entities granted to the person (`_entity_ids`); an object of
another entity is a 404, an action without the role a 403.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import wraps
from typing import Any, Generic, TypeVar, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from o2c.audit import selectors as audit_selectors
from o2c.billing import selectors as billing_selectors
from o2c.billing.models import TaxExemption
from o2c.collections import bounces
from o2c.core import clock
from o2c.core.exceptions import DomainError
from o2c.core.money import Money
from o2c.customers import selectors as customer_selectors
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.disputes import selectors as dispute_selectors
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.receivables import selectors as receivable_selectors
from o2c.receivables import services as receivable_services
from o2c.receivables.models import ApprovalState, Document, DocumentType
from o2c.workspace import forms, roles
from o2c.workspace import services as workspace_services
from o2c.workspace.context_processors import VIEW_AUDIT_TRAIL

CUSTOMERS_PER_PAGE = 50
DOCUMENTS_PER_PAGE = 50
OPEN_ITEMS_PER_PAGE = 25
AUDIT_EVENTS_PER_PAGE = 100
HISTORY_LIMIT = 100

T = TypeVar("T", bound=Model)
View = Callable[..., HttpResponse]


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def role_required(allowed: frozenset[str]) -> Callable[[View], View]:
    """Login first (anonymous -> the login page), then the role (missing -> 403)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not roles.has_any(request.user, allowed):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


def _entity_ids(request: HttpRequest) -> list[int]:
    return ledger_selectors.entity_ids_for_user(request.user)


def _actor(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # role_required let only signed-in people through
    return user


def _page_number(request: HttpRequest, name: str = "page") -> int:
    try:
        return max(int(request.GET.get(name, "1")), 1)
    except ValueError:
        return 1


@dataclass(frozen=True)
class SlicePage(Generic[T]):
    """A page without a total count: on a million documents, COUNT(*) costs more than the page.
    Fetches one row more than it shows to know whether there is a next page."""

    object_list: list[T]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1


def slice_page(items: QuerySet[T], *, number: int, per_page: int) -> SlicePage[T]:
    start = (number - 1) * per_page
    rows = list(items[start : start + per_page + 1])
    return SlicePage(object_list=rows[:per_page], number=number, has_next=len(rows) > per_page)


def reader_default_entity(request: HttpRequest) -> LegalEntity | None:
    """The reader's default legal entity among those granted (else the first), None when none is."""
    entities = list(ledger_selectors.entities_for_user(request.user))
    return next((e for e in entities if e.is_default), entities[0] if entities else None)


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _today(entity: LegalEntity | None = None) -> date:
    return clock.today_in(entity.time_zone if entity is not None else settings.TIME_ZONE)


# --- home and language ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EntitySummary:
    entity: LegalEntity
    as_of: date
    rows: Sequence[receivable_selectors.OpenItemsSummary]


@role_required(roles.VIEW_RECEIVABLES)
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    summaries = []
    for entity in ledger_selectors.entities_for_user(request.user):
        as_of = _today(entity)
        rows = receivable_selectors.open_items_summary(entity_ids=[entity.pk], as_of=as_of)
        summaries.append(EntitySummary(entity=entity, as_of=as_of, rows=rows))
    return render(request, "workspace/home.html", {"summaries": summaries})


@login_required
@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Remember the person's language in their preferences (the middleware applies it on every page)."""
    form = forms.LanguageForm(request.POST)
    target = request.POST.get("next") or reverse("home")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("home")
    if form.is_valid():
        language = form.cleaned_data["language"]
        workspace_services.user_language_set(user=_actor(request), language=language)
        translation.activate(language)
    return HttpResponseRedirect(target)


# --- customers -----------------------------------------------------------------------------------


@role_required(roles.VIEW_RECEIVABLES)
@require_GET
def customer_list(request: HtmxHttpRequest) -> HttpResponse:
    """Live search on number, name and VAT id; 50 a page. Customers only: no join on documents."""
    form = forms.CustomerSearchForm(request.GET)
    search = status = ""
    if form.is_valid():
        search, status = form.cleaned_data["q"], form.cleaned_data["status"]
    customers = customer_selectors.customer_list(
        entity_ids=_entity_ids(request), search=search, status=status
    )
    # no COUNT(*): on PostgreSQL it repeats the whole search, which costs more than the page
    page = slice_page(customers, number=_page_number(request), per_page=CUSTOMERS_PER_PAGE)
    context = {"form": form, "page": page, "query": _query_without_page(request)}
    template = "workspace/_customer_results.html" if request.htmx else "workspace/customer_list.html"
    return render(request, template, context)


def _customer_or_404(request: HttpRequest, customer_id: int) -> Customer:
    try:
        return customer_selectors.customer_get(entity_ids=_entity_ids(request), customer_id=customer_id)
    except Customer.DoesNotExist:
        raise Http404 from None


@dataclass(frozen=True)
class ExemptionLine:
    exemption: TaxExemption
    status: str  # revoked | ended | future | valid, as of today in the entity's time zone


def _exemption_lines(customer: Customer, today: date) -> list[ExemptionLine]:
    """A US customer's sales tax exemption certificates; other customers have none (no query)."""
    if customer.country != "US":
        return []
    return [
        ExemptionLine(exemption, exemption.status_on(today))
        for exemption in billing_selectors.tax_exemption_list(customer_id=customer.pk)
    ]


def _customer_page(
    request: HttpRequest,
    customer: Customer,
    *,
    contact_form: forms.ContactForm | None = None,
    bank_account_form: forms.BankAccountForm | None = None,
    status: int = 200,
) -> HttpResponse:
    open_items = receivable_selectors.document_list(
        entity_ids=[customer.entity_id], customer_id=customer.pk, open_only=True
    )
    today = _today(customer.entity)
    context = {
        "customer": customer,
        "balances": receivable_selectors.customer_balances(customer_id=customer.pk, as_of=today),
        "exemptions": _exemption_lines(customer, today),
        "open_items": slice_page(open_items, number=_page_number(request), per_page=OPEN_ITEMS_PER_PAGE),
        "history": audit_selectors.audit_events_for(object_type="customer", object_id=customer.pk)[
            :HISTORY_LIMIT
        ],
        "can_edit": roles.has_any(request.user, roles.EDIT_CUSTOMERS),
        "contact_form": contact_form or forms.ContactForm(),
        "bank_account_form": bank_account_form or forms.BankAccountForm(),
        "credit_limit": customer.credit_limit_minor,
        # dunning e-mails that bounced, the latest first (docs/dunning-delivery.md)
        "delivery_problems": bounces.delivery_problem_list(
            entity_ids=[customer.entity_id], customer_id=customer.pk
        )[:HISTORY_LIMIT],
        "may_clear_addresses": roles.has_any(request.user, roles.CHANGE_COLLECTIONS),
        "may_view_credit": roles.has_any(request.user, roles.VIEW_CREDIT),
    }
    return render(request, "workspace/customer_detail.html", context, status=status)


@role_required(roles.VIEW_RECEIVABLES)
@require_GET
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    return _customer_page(request, _customer_or_404(request, customer_id))


@role_required(roles.EDIT_CUSTOMERS)
@require_http_methods(["GET", "POST"])
def customer_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_404(request, customer_id)
    if request.method != "POST":
        form = forms.CustomerForm(initial=forms.CustomerForm.initial_for(customer))
        return render(request, "workspace/customer_edit.html", {"customer": customer, "form": form})
    form = forms.CustomerForm(request.POST, initial=forms.CustomerForm.initial_for(customer))
    if form.is_valid():
        data = form.cleaned_data
        limit = customer.credit_limit_minor
        try:
            customer_services.customer_update(
                customer_id=customer.pk,
                data=customer_services.CustomerIn(
                    number=customer.number,
                    name=data["name"],
                    country=data["country"],
                    currency=data["currency"],
                    language=data["language"],
                    payment_terms=data["payment_terms"],
                    email=data["email"],
                    vat_id=data["vat_id"],
                    parent_number=data["parent_number"],
                    credit_limit=None if limit is None else Money.from_minor(limit, customer.currency).amount,
                    status=data["status"],
                    crm_id=data["crm_id"],
                    erp_id=data["erp_id"],
                    address=data["address"],
                    region=customer.region,
                    customer_type=data["customer_type"],
                ),
                actor=_actor(request),
                now=clock.now(),
                reason=data["reason"],
            )
        except DomainError as error:
            forms.add_domain_error(form, error)
        else:
            messages.success(request, _("Customer %(number)s saved.") % {"number": customer.number})
            return redirect("customer_detail", customer_id=customer.pk)
    return render(request, "workspace/customer_edit.html", {"customer": customer, "form": form}, status=422)


@role_required(roles.CHANGE_COLLECTIONS)
@require_POST
def undeliverable_clear(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Dunning e-mails go to the address again (`bounces.undeliverable_clear`), with the reason."""
    customer = _customer_or_404(request, customer_id)
    form = forms.UndeliverableClearForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the address may be used again."))
        return redirect("customer_detail", customer_id=customer.pk)
    try:
        bounces.undeliverable_clear(
            entity_ids=[customer.entity_id],
            customer_id=customer.pk,
            address=form.cleaned_data["address"],
            reason=form.cleaned_data["reason"],
            actor=_actor(request),
            now=clock.now(),
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Dunning e-mails go to %(address)s again.") % {"address": form.cleaned_data["address"]},
        )
    return redirect("customer_detail", customer_id=customer.pk)


@role_required(roles.EDIT_CUSTOMERS)
@require_POST
def contact_add(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_404(request, customer_id)
    form = forms.ContactForm(request.POST)
    if form.is_valid():
        try:
            customer_services.contact_add(
                customer_id=customer.pk, actor=_actor(request), now=clock.now(), **form.cleaned_data
            )
        except DomainError as error:
            forms.add_domain_error(form, error)
        else:
            messages.success(request, _("Contact added."))
            return redirect("customer_detail", customer_id=customer.pk)
    return _customer_page(request, customer, contact_form=form, status=422)


@role_required(roles.EDIT_CUSTOMERS)
@require_POST
def bank_account_add(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_404(request, customer_id)
    form = forms.BankAccountForm(request.POST)
    if form.is_valid():
        try:
            customer_services.bank_account_add(
                customer_id=customer.pk, actor=_actor(request), now=clock.now(), **form.cleaned_data
            )
        except DomainError as error:
            forms.add_domain_error(form, error)
        else:
            messages.success(request, _("Bank account added."))
            return redirect("customer_detail", customer_id=customer.pk)
    return _customer_page(request, customer, bank_account_form=form, status=422)


# --- documents -----------------------------------------------------------------------------------


@role_required(roles.VIEW_RECEIVABLES)
@require_GET
def document_list(request: HtmxHttpRequest) -> HttpResponse:
    """Newest first on the (entity, issue_date) index; pages without COUNT(*)."""
    form = forms.DocumentFilterForm(request.GET)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {"search": data["q"], "document_type": data["type"], "open_only": data["open"]}
    documents = receivable_selectors.document_list(entity_ids=_entity_ids(request), **filters)
    page = slice_page(documents, number=_page_number(request), per_page=DOCUMENTS_PER_PAGE)
    context = {"form": form, "page": page, "query": _query_without_page(request)}
    template = "workspace/_document_results.html" if request.htmx else "workspace/document_list.html"
    return render(request, template, context)


def _document_or_404(request: HttpRequest, document_id: int) -> Document:
    try:
        return receivable_selectors.document_get(entity_ids=_entity_ids(request), document_id=document_id)
    except Document.DoesNotExist:
        raise Http404 from None


@role_required(roles.VIEW_RECEIVABLES)
@require_GET
def document_detail(request: HttpRequest, document_id: int) -> HttpResponse:
    document = _document_or_404(request, document_id)
    can_issue = roles.has_any(request.user, roles.ISSUE_DOCUMENTS)
    context = {
        "doc": document,
        "allocations": receivable_selectors.document_allocations(document_id=document.pk),
        "entries": ledger_selectors.entries_for_document(document_id=document.pk),
        "history": audit_selectors.audit_events_for(object_type="document", object_id=document.pk)[
            :HISTORY_LIMIT
        ],
        "can_issue": can_issue and document.status == Document.Status.DRAFT,
        "can_credit": can_issue
        and document.status == Document.Status.ISSUED
        and document.document_type == DocumentType.INVOICE,
        "dispute_cases": dispute_selectors.cases_on(entity_ids=_entity_ids(request), document_id=document.pk)
        if roles.has_any(request.user, roles.VIEW_DISPUTES)
        else [],
        "can_dispute": roles.has_any(request.user, roles.CHANGE_DISPUTES)
        and document.status == Document.Status.ISSUED
        and document.document_type != DocumentType.CREDIT_MEMO
        and document.open_minor > 0,
    }
    return render(request, "workspace/document_detail.html", context)


def _entity_choices(request: HttpRequest) -> list[tuple[int, str]]:
    return [(e.pk, f"{e.code} {e.name}") for e in ledger_selectors.entities_for_user(request.user)]


@role_required(roles.ISSUE_DOCUMENTS)
@require_http_methods(["GET", "POST"])
def document_create(request: HttpRequest) -> HttpResponse:
    """A manual invoice, saved as a draft; it is issued from its page."""
    entities = _entity_choices(request)
    if request.method != "POST":
        form = forms.DocumentForm(entities=entities, initial={"issue_date": _today()})
        lines = forms.LineFormSet(prefix="lines")
        return render(request, "workspace/document_create.html", {"form": form, "lines": lines})
    form = forms.DocumentForm(request.POST, entities=entities)
    lines = cast(forms.BaseLineFormSet, forms.LineFormSet(request.POST, prefix="lines"))
    if form.is_valid() and lines.is_valid():
        data = form.cleaned_data
        customer = customer_selectors.customer_by_number(
            entity_id=data["entity"], number=data["customer_number"]
        )
        if customer is None:
            form.add_error("customer_number", _("There is no customer with this number in the legal entity."))
        else:
            try:
                draft = receivable_services.document_create(
                    customer=customer,
                    document_type=DocumentType.INVOICE,
                    issue_date=data["issue_date"],
                    lines=lines.lines(),
                    actor=_actor(request),
                    now=clock.now(),
                    po_number=data["po_number"],
                )
            except DomainError as error:
                forms.add_domain_error(form, error)
            else:
                messages.success(request, _("Draft invoice saved. Check it and issue it."))
                return redirect("document_detail", document_id=draft.pk)
    return render(request, "workspace/document_create.html", {"form": form, "lines": lines}, status=422)


@role_required(roles.ISSUE_DOCUMENTS)
@require_POST
def document_issue(request: HttpRequest, document_id: int) -> HttpResponse:
    document = _document_or_404(request, document_id)
    try:
        issued = receivable_services.document_issue(
            document_id=document.pk, actor=_actor(request), now=clock.now()
        )
    except DomainError as error:
        messages.error(request, forms.domain_message(error))
    else:
        messages.success(request, _("Issued as %(number)s.") % {"number": issued.number})
    return redirect("document_detail", document_id=document.pk)


# --- corrections: credit memos, credit-and-rebill, approvals ------------------------------------


def rebill_lines_of(invoice: Document) -> forms.BaseRebillLineFormSet:
    """The rebill's line forms, starting from the invoice's lines (credit-and-rebill pages)."""
    return cast(
        forms.BaseRebillLineFormSet,
        forms.RebillLineFormSet(
            prefix="lines",
            initial=[
                {
                    "description": line.description,
                    "quantity": _plain(line.quantity),
                    "unit_price": _plain(line.unit_price),
                    "discount_percent": _plain(line.discount_percent),
                    "tax_rate": _plain(line.tax_rate),
                    "tax_category": line.tax_category,
                    "item_code": line.item_code,
                    "period_start": line.period_start,
                    "period_end": line.period_end,
                }
                for line in sorted(invoice.lines.all(), key=lambda line: line.position)
            ],
        ),
    )


def _plain(value: Decimal) -> Decimal:
    """10.000000 -> 10, 2.500000 -> 2.5: stored quantities as a person types them."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _invoice_to_credit(request: HttpRequest, document_id: int) -> Document | None:
    invoice = _document_or_404(request, document_id)
    if invoice.status != Document.Status.ISSUED or invoice.document_type != DocumentType.INVOICE:
        messages.error(request, _("Only an issued invoice can be credited."))
        return None
    return invoice


def _credit_memo_done(request: HttpRequest, credit_memo: Document, invoice: Document) -> HttpResponse:
    if credit_memo.approval_state == ApprovalState.PENDING:
        messages.warning(
            request,
            _(
                "The credit memo for %(invoice)s is above the approval threshold: it waits for a "
                "second person's approval before it is issued."
            )
            % {"invoice": invoice.number},
        )
    else:
        messages.success(
            request,
            _("Credit memo %(number)s issued for %(invoice)s.")
            % {"number": credit_memo.number, "invoice": invoice.number},
        )
    return redirect("document_detail", document_id=credit_memo.pk)


@role_required(roles.ISSUE_DOCUMENTS)
@require_http_methods(["GET", "POST"])
def credit_memo_create(request: HttpRequest, document_id: int) -> HttpResponse:
    """Credit an issued invoice, with a reason code and a reason: all that is left of it, chosen lines
    (by quantity or net amount, at each line's own tax rate), or a net amount spread over its tax rates.
    The credit memo is issued at once and settles the invoice, unless it needs approval."""
    invoice = _invoice_to_credit(request, document_id)
    if invoice is None:
        return redirect("document_detail", document_id=document_id)
    position = receivable_selectors.invoice_credit_position(invoice=invoice)
    tax_rates = [rate for rate, _category in position.rates]
    initial_lines = [{"line_id": left.line.pk} for left in position.lines]
    if request.method != "POST":
        form = forms.CreditMemoForm(tax_rates=tax_rates, initial={"issue_date": _today(invoice.entity)})
        lines = cast(
            forms.BaseCreditLineFormSet, forms.CreditLineFormSet(prefix="credit", initial=initial_lines)
        )
        return _credit_memo_page(request, invoice, position, form, lines)
    form = forms.CreditMemoForm(request.POST, tax_rates=tax_rates)
    # a request without the lines' management form (a script posting an amount) credits no lines
    posted_lines = request.POST if "credit-TOTAL_FORMS" in request.POST else None
    lines = cast(
        forms.BaseCreditLineFormSet,
        forms.CreditLineFormSet(posted_lines, prefix="credit", initial=initial_lines),
    )
    if form.is_valid() and (not lines.is_bound or lines.is_valid()):
        data = form.cleaned_data
        credits = lines.credits() if lines.is_bound else []
        chosen = [bool(data["full"]), bool(credits), data["net_amount"] is not None]
        if chosen.count(True) != 1:
            form.add_error(
                None,
                _("Choose lines to credit, or enter a net amount, or credit all that is left: one of them.")
                if any(chosen)
                else _("Choose lines to credit, enter a net amount, or credit all that is left."),
            )
        else:
            common: dict[str, Any] = {
                "invoice_id": invoice.pk,
                "reason_code": data["reason_code"],
                "reason": data["reason"],
                "actor": _actor(request),
                "now": clock.now(),
                "issue_date": data["issue_date"],
            }
            try:
                if data["full"]:
                    credit_memo = receivable_services.credit_memo_full(
                        description=form.description_or_default(), **common
                    )
                elif credits:
                    credit_memo = receivable_services.credit_memo_for_lines(lines=credits, **common)
                else:
                    credit_memo = receivable_services.credit_memo_for_amount(
                        net_amount=data["net_amount"],
                        tax_rate=data["tax_rate"],
                        description=form.description_or_default(),
                        **common,
                    )
            except DomainError as error:
                forms.add_domain_error(form, error)
            else:
                return _credit_memo_done(request, credit_memo, invoice)
    return _credit_memo_page(request, invoice, position, form, lines, status=422)


def _credit_memo_page(
    request: HttpRequest,
    invoice: Document,
    position: receivable_selectors.CreditPosition,
    form: forms.CreditMemoForm,
    lines: forms.BaseCreditLineFormSet,
    *,
    status: int = 200,
) -> HttpResponse:
    context = {
        "invoice": invoice,
        "position": position,
        "form": form,
        "lines": lines,
        "rows": list(zip(lines.forms, position.lines, strict=False)),
    }
    return render(request, "workspace/credit_memo_create.html", context, status=status)


@role_required(roles.ISSUE_DOCUMENTS)
@require_http_methods(["GET", "POST"])
def credit_and_rebill(request: HttpRequest, document_id: int) -> HttpResponse:
    """Credit all that is left of an invoice and draft its replacement, in one step: the page starts
    with the invoice's lines to correct."""
    invoice = _invoice_to_credit(request, document_id)
    if invoice is None:
        return redirect("document_detail", document_id=document_id)
    if request.method != "POST":
        form = forms.CreditAndRebillForm(initial={"issue_date": _today(invoice.entity)})
        lines = rebill_lines_of(invoice)
        return _rebill_page(request, invoice, form, lines)
    form = forms.CreditAndRebillForm(request.POST)
    lines = cast(forms.BaseRebillLineFormSet, forms.RebillLineFormSet(request.POST, prefix="lines"))
    if form.is_valid() and lines.is_valid():
        data = form.cleaned_data
        try:
            credit_memo, rebill = receivable_services.credit_and_rebill(
                invoice_id=invoice.pk,
                lines=lines.lines(),
                reason_code=data["reason_code"],
                reason=data["reason"],
                actor=_actor(request),
                now=clock.now(),
                issue_date=data["issue_date"],
            )
        except DomainError as error:
            forms.add_domain_error(form, error)
        else:
            if credit_memo.approval_state == ApprovalState.PENDING:
                messages.warning(
                    request,
                    _(
                        "The credit memo waits for a second person's approval. The replacement "
                        "invoice is a draft, issued once the credit memo is."
                    ),
                )
            else:
                messages.success(
                    request,
                    _(
                        "Credit memo %(number)s issued for %(invoice)s. The replacement invoice is a "
                        "draft: check it and issue it."
                    )
                    % {"number": credit_memo.number, "invoice": invoice.number},
                )
            return redirect("document_detail", document_id=rebill.pk)
    return _rebill_page(request, invoice, form, lines, status=422)


def _rebill_page(
    request: HttpRequest,
    invoice: Document,
    form: forms.CreditAndRebillForm,
    lines: forms.BaseRebillLineFormSet,
    *,
    status: int = 200,
) -> HttpResponse:
    context = {"invoice": invoice, "form": form, "lines": lines}
    return render(request, "workspace/credit_and_rebill.html", context, status=status)


@role_required(roles.ISSUE_DOCUMENTS | roles.APPROVE_CREDITS)
@require_GET
def approval_list(request: HttpRequest) -> HttpResponse:
    """Credit memos waiting for approval, oldest first. A checker approves or rejects the ones another
    person made; the maker sees theirs waiting."""
    pending = receivable_selectors.credit_memo_pending_list(entity_ids=_entity_ids(request))
    page = slice_page(pending, number=_page_number(request), per_page=DOCUMENTS_PER_PAGE)
    context = {
        "page": page,
        "query": _query_without_page(request),
        "can_approve": roles.has_any(request.user, roles.APPROVE_CREDITS),
        "form": forms.ApprovalForm(),
        "policies": receivable_selectors.approval_policy_list(entity_ids=_entity_ids(request)),
        "threshold_form": _threshold_form(request),
    }
    return render(request, "workspace/approval_list.html", context)


def _threshold_form(request: HttpRequest, data: Any = None) -> forms.ApprovalThresholdForm:
    entities = [(e.pk, f"{e.code} {e.name}") for e in ledger_selectors.entities_for_user(request.user)]
    return forms.ApprovalThresholdForm(data, entities=entities)


@role_required(roles.APPROVE_CREDITS)
@require_POST
def approval_threshold_set(request: HttpRequest) -> HttpResponse:
    """Set or remove an entity's approval threshold for credit memos in a currency (audited)."""
    form = _threshold_form(request, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            receivable_services.approval_policy_set(
                entity_id=data["entity"],
                currency=data["currency"],
                threshold=data["threshold"],
                actor=_actor(request),
                now=clock.now(),
                reason=data["reason"],
            )
        except DomainError as error:
            messages.error(request, forms.domain_message(error))
        else:
            messages.success(request, _("The approval threshold is saved."))
    else:
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            text = " ".join(str(error) for error in errors)
            messages.error(request, f"{label}: {text}" if label else text)
    return redirect("approval_list")


def _approval_decide(request: HttpRequest, document_id: int, *, approve: bool) -> HttpResponse:
    credit_memo = _document_or_404(request, document_id)
    form = forms.ApprovalForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    decide = receivable_services.credit_memo_approve if approve else receivable_services.credit_memo_reject
    try:
        decide(document_id=credit_memo.pk, actor=_actor(request), now=clock.now(), reason=reason)
    except DomainError as error:
        messages.error(request, forms.domain_message(error))
    else:
        label = credit_memo.corrects.number if credit_memo.corrects is not None else ""
        if approve:
            messages.success(
                request,
                _("The credit memo for %(invoice)s is approved: it can be issued now.") % {"invoice": label},
            )
        else:
            messages.success(request, _("The credit memo for %(invoice)s is rejected.") % {"invoice": label})
    return redirect("approval_list")


@role_required(roles.APPROVE_CREDITS)
@require_POST
def credit_memo_approve(request: HttpRequest, document_id: int) -> HttpResponse:
    return _approval_decide(request, document_id, approve=True)


@role_required(roles.APPROVE_CREDITS)
@require_POST
def credit_memo_reject(request: HttpRequest, document_id: int) -> HttpResponse:
    return _approval_decide(request, document_id, approve=False)


# --- ledger and audit ----------------------------------------------------------------------------


@role_required(roles.VIEW_LEDGER)
@require_GET
def trial_balance(request: HttpRequest) -> HttpResponse:
    form = forms.TrialBalanceForm(request.GET)
    as_of = (form.cleaned_data.get("as_of") if form.is_valid() else None) or _today()
    rows = ledger_selectors.trial_balance(entity_ids=_entity_ids(request), as_of=as_of)
    return render(request, "workspace/trial_balance.html", {"form": form, "rows": rows, "as_of": as_of})


@role_required(VIEW_AUDIT_TRAIL)
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    events = audit_selectors.audit_events_list(entity_ids=_entity_ids(request))
    page = slice_page(events, number=_page_number(request), per_page=AUDIT_EVENTS_PER_PAGE)
    return render(request, "workspace/audit_list.html", {"page": page, "query": _query_without_page(request)})
