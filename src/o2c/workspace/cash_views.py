"""The cash application specialist's pages: bank files imported (with the import's progress), the
exceptions queue, a payment with what a person does to it (accept the matcher's suggestions, split it
across invoices, put it on a customer's account, reverse an application), and a legal entity's matching
policy.

Like every back-office page: reads are limited to the legal entities granted to the person (another
entity's payment is a 404) and need a role of VIEW_RECEIVABLES; importing and changing (the policy
included: readers see it read-only) need APPLY_CASH (cash application, AR manager, admin), 403
otherwise. A bank file is imported within the request, in one transaction; the import reports its
progress to the cache under a key the page chose, and the page polls it (htmx) while the upload runs. A
refused action is one line on the page.

Keyboard: on the queue j/k move between payments and Enter opens one; on a payment a accepts the
suggestions, s searches open items to split it, o puts it on account, j/k go to the next and previous
payment of the queue (templates/workspace/cash/_shortcuts.html); the buttons also carry access keys.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from babel.numbers import NumberFormatError, format_decimal, parse_decimal
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from o2c.audit import selectors as audit_selectors
from o2c.cash import csvmappings, selectors, services, workbench
from o2c.cash.models import Application, Payment, ReturnFeeCharge
from o2c.core import clock
from o2c.core.exceptions import DomainError
from o2c.core.money import Money, currency_decimals
from o2c.customers import selectors as customer_selectors
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.receivables import selectors as receivable_selectors
from o2c.workspace import cash_forms, roles
from o2c.workspace.templatetags.o2c_format import current_locale, money
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

PAYMENTS_PER_PAGE = 50
BANK_FILES_SHOWN = 20
CUSTOMER_OPTIONS = 20
MAX_FILE_BYTES = 64 * 1024 * 1024
PROGRESS_SECONDS = 1
# an import's progress is kept this long after it ends (the page reads it once more)
PROGRESS_KEPT_SECONDS = 3600


# --- bank files -----------------------------------------------------------------------------------


def _progress_key(request: HttpRequest, upload: str) -> str:
    return f"o2c:cash-import:{request.user.pk}:{upload}"


@dataclass
class _ImportProgress:
    """The import's callbacks: how many payments it has, how many are matched and posted so far. Kept in
    the cache, where another request (the page's poll) reads them while this one is still importing."""

    key: str
    total: int | None = None
    done: int = 0

    def _save(self) -> None:
        cache.set(self.key, {"total": self.total, "done": self.done}, PROGRESS_KEPT_SECONDS)

    def on_total(self, total: int) -> None:
        self.total = total
        self._save()

    def advance(self, done: int) -> None:
        self.done += done
        self._save()


def _granted_entities(request: HttpRequest) -> list[LegalEntity]:
    return list(ledger_selectors.entities_for_user(request.user))


def _upload_entity(request: HttpRequest, entity_id: int | None) -> LegalEntity:
    """The granted entity chosen; without one, the default entity if granted, else the first. An entity
    that is not granted is a 404, as if it did not exist."""
    granted = _granted_entities(request)
    if entity_id is not None:
        for entity in granted:
            if entity.pk == entity_id:
                return entity
        raise Http404
    if not granted:
        raise Http404
    return next((e for e in granted if e.is_default), granted[0])


def _bank_file_form(request: HttpRequest, data: Any = None, files: Any = None) -> cash_forms.BankFileForm:
    granted = _granted_entities(request)
    entities = [(e.pk, f"{e.code} {e.name}") for e in granted]
    default = next((e.pk for e in granted if e.is_default), granted[0].pk if granted else None)
    return cash_forms.BankFileForm(
        data,
        files,
        entities=entities,
        mappings=_mapping_choices(granted),
        initial={"upload": secrets.token_hex(16), "entity": default},
    )


def _mapping_choices(granted: list[LegalEntity]) -> list[tuple[str, str]]:
    """(name, label) of the saved CSV mappings of the granted entities; a name saved in several of
    them is one choice, read with the mapping of that name of the entity the file is imported into."""
    labels: dict[str, list[str]] = {}
    for record in csvmappings.csv_mapping_list(entity_ids=[entity.pk for entity in granted]):
        where = f"{record.entity.code} " if len(granted) > 1 else ""
        labels.setdefault(record.name, []).append(f"{where}{record.bank_account}")
    return [(name, f"{name} ({', '.join(accounts)})") for name, accounts in labels.items()]


def _import_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    bank_files = selectors.bank_file_list(entity_ids=_entity_ids(request))[:BANK_FILES_SHOWN]
    form = extra.get("form") or _bank_file_form(request)
    return {
        "form": form,
        "upload": form["upload"].value(),
        "bank_files": bank_files,
        "can_import": roles.has_any(request.user, roles.APPLY_CASH),
        "many_entities": form.entity_count > 1,
        "progress_seconds": PROGRESS_SECONDS,
        **extra,
    }


def _amounts(result: services.ImportResult | None) -> list[tuple[str, int, int]]:
    """(currency, received, applied) in minor units, per currency of the import."""
    if result is None:
        return []
    return [
        (currency, received, result.applied_minor.get(currency, 0))
        for currency, received in sorted(result.amount_minor.items())
    ]


@role_required(roles.VIEW_RECEIVABLES)
@require_http_methods(["GET", "POST"])
def bank_file_import(request: HtmxHttpRequest) -> HttpResponse:
    """GET: the import form (for those who may import) and the latest bank files. POST (APPLY_CASH):
    import one bank file (format detected), match and apply it; the summary, or the file's one-line
    refusal on the form (nothing written). htmx gets the panel alone, errors included (htmx swaps only
    successful answers)."""
    if request.method != "POST":
        return render(request, "workspace/cash/import.html", _import_context(request))
    if not roles.has_any(request.user, roles.APPLY_CASH):
        raise PermissionDenied
    form = _bank_file_form(request, request.POST, request.FILES)
    result = None
    if form.is_valid():
        data = form.cleaned_data
        entity = _upload_entity(request, data["entity"])
        upload = data["file"]
        name = upload.name or "statement"
        if upload.size is not None and upload.size > MAX_FILE_BYTES:
            form.add_error("file", _("%(name)s: the file is larger than 64 MiB.") % {"name": name})
        else:
            progress = _ImportProgress(_progress_key(request, data["upload"] or secrets.token_hex(16)))
            try:
                result = services.bank_file_import(
                    data=upload.read(),
                    file_name=name,
                    entity=entity,
                    actor=_actor(request),
                    now=clock.now(),
                    progress=progress.advance,
                    on_total=progress.on_total,
                    csv_mapping=data["mapping"] or None,
                )
            except DomainError as error:
                cache.delete(progress.key)
                form.add_error("file", error.message)
    # a fresh form (and progress key) for the next file; a refused one keeps its errors
    shown = form if form.errors else _bank_file_form(request)
    context = _import_context(request, form=shown, result=result, amounts=_amounts(result))
    if request.htmx:
        return render(request, "workspace/cash/_import_panel.html", context)
    return render(request, "workspace/cash/import.html", context, status=422 if form.errors else 200)


@role_required(roles.APPLY_CASH)
@require_GET
def bank_file_progress(request: HttpRequest) -> HttpResponse:
    """The progress of the person's import running in another request (polled by the import page)."""
    upload = request.GET.get("upload", "")
    state = cache.get(_progress_key(request, upload)) if len(upload) == 32 else None
    return render(request, "workspace/cash/_import_progress.html", {"state": state})


# --- the queue ------------------------------------------------------------------------------------


def _search_amount(text: str) -> Decimal | None:
    """The search as an amount, typed as the reader writes it ("1.190,00" in German) or plain."""
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "")
    if not cleaned or not any(ch.isdigit() for ch in cleaned):
        return None
    locale = translation.to_locale(translation.get_language() or "en")
    try:
        return parse_decimal(cleaned, locale=locale, strict=True)
    except NumberFormatError:
        pass
    try:
        return parse_decimal(cleaned, locale="en", strict=True)
    except NumberFormatError:
        return None


@role_required(roles.VIEW_RECEIVABLES)
@require_GET
def payment_list(request: HtmxHttpRequest) -> HttpResponse:
    """The exceptions queue (or one status), the largest and oldest first; 50 a page without COUNT(*)."""
    form = cash_forms.PaymentFilterForm(request.GET)
    status = search = ""
    if form.is_valid():
        status, search = form.cleaned_data["status"], form.cleaned_data["q"]
    payments = selectors.payment_search(
        entity_ids=_entity_ids(request), status=status, search=search, amount=_search_amount(search)
    )
    page = slice_page(payments, number=_page_number(request), per_page=PAYMENTS_PER_PAGE)
    context = {"form": form, "page": page, "query": _query_without_page(request)}
    template = "workspace/cash/_payment_results.html" if request.htmx else "workspace/cash/payment_list.html"
    return render(request, template, context)


# --- a payment ------------------------------------------------------------------------------------


def _payment_or_404(request: HttpRequest, payment_id: int) -> Payment:
    try:
        return selectors.payment_get(entity_ids=_entity_ids(request), payment_id=payment_id)
    except Payment.DoesNotExist:
        raise Http404 from None


def _applications(payment: Payment) -> tuple[list[Application], list[Application]]:
    """(suggestions waiting, everything else: the history), as prefetched by the selector."""
    rows = list(payment.applications.all())
    suggested = [row for row in rows if row.state == Application.State.SUGGESTED]
    return suggested, [row for row in rows if row.state != Application.State.SUGGESTED]


def _payment_page(
    request: HttpRequest,
    payment: Payment,
    *,
    lines: cash_forms.BaseApplyLineFormSet | None = None,
    on_account_form: cash_forms.OnAccountForm | None = None,
    reverse_forms: dict[int, cash_forms.ReverseForm] | None = None,
    error: cash_forms.ActionError | None = None,
    item_search: str = "",
    status: int = 200,
) -> HttpResponse:
    suggestions, history = _applications(payment)
    previous_id, next_id = selectors.payment_queue_neighbours(
        entity_ids=_entity_ids(request), payment=payment
    )
    can_change = roles.has_any(request.user, roles.APPLY_CASH) and payment.status != Payment.Status.RETURNED
    reverse_forms = reverse_forms or {}
    context: dict[str, Any] = {
        "payment": payment,
        "bank_file": payment.statement.bank_file,
        "suggestions": suggestions,
        "history": [(row, reverse_forms.get(row.pk) or cash_forms.ReverseForm()) for row in history],
        "events": audit_selectors.audit_events_for(object_type="payment", object_id=payment.pk)[
            :HISTORY_LIMIT
        ],
        "can_change": can_change,
        "previous_id": previous_id,
        "next_id": next_id,
        "error": error,
    }
    if can_change:
        context |= {
            "lines": lines or _lines_formset(),
            "items": selectors.open_items_for_payment(payment=payment, search=item_search),
            "item_search": item_search,
            "on_account_form": on_account_form
            or cash_forms.OnAccountForm(
                initial={"customer": payment.customer.number if payment.customer else ""}
            ),
        }
    return render(request, "workspace/cash/payment_detail.html", context, status=status)


def _lines_formset(data: Any = None, initial: list[dict[str, Any]] | None = None) -> Any:
    return cash_forms.ApplyLineFormSet(data, prefix="lines", initial=initial)


@role_required(roles.VIEW_RECEIVABLES)
@require_GET
def payment_detail(request: HttpRequest, payment_id: int) -> HttpResponse:
    return _payment_page(request, _payment_or_404(request, payment_id))


@role_required(roles.VIEW_RECEIVABLES)
@require_GET
def payment_open_items(request: HtmxHttpRequest, payment_id: int) -> HttpResponse:
    """Open items the payment can settle, by invoice number or customer (the split form's search)."""
    payment = _payment_or_404(request, payment_id)
    form = cash_forms.OpenItemSearchForm(request.GET)
    search = form.cleaned_data["item_q"] if form.is_valid() else ""
    if not request.htmx:
        return _payment_page(request, payment, item_search=search)
    items = selectors.open_items_for_payment(payment=payment, search=search)
    context = {"payment": payment, "items": items, "item_search": search}
    return render(request, "workspace/cash/_open_items.html", context)


@role_required(roles.VIEW_RECEIVABLES)
@require_GET
def payment_customer_options(request: HttpRequest, payment_id: int) -> HttpResponse:
    """Customers of the payment's entity by number or name, as options of the on-account picker."""
    payment = _payment_or_404(request, payment_id)
    form = cash_forms.CustomerSearchForm(request.GET)
    search = form.cleaned_data["customer"] if form.is_valid() else ""
    customers = (
        customer_selectors.customer_list(entity_ids=[payment.entity_id], search=search).order_by("number")[
            :CUSTOMER_OPTIONS
        ]
        if search.strip()
        else []
    )
    return render(request, "workspace/cash/_customer_options.html", {"customers": customers})


def _done(request: HttpRequest, payment: Payment, text: str) -> HttpResponse:
    messages.success(request, text)
    return redirect("cash_payment_detail", payment_id=payment.pk)


def _status_message(payment: Payment) -> str:
    return _("Payment %(reference)s is now: %(status)s. Unapplied: %(unapplied)s.") % {
        "reference": payment.entry_reference or payment.pk,
        "status": payment.get_status_display(),
        "unapplied": money(payment.unapplied_minor, payment.currency),
    }


@role_required(roles.APPLY_CASH)
@require_POST
def payment_accept(request: HttpRequest, payment_id: int) -> HttpResponse:
    """Accept the matcher's suggestions as they stand (checked again against what is open now)."""
    payment = _payment_or_404(request, payment_id)
    try:
        applied = workbench.application_accept(payment_id=payment.pk, actor=_actor(request), now=clock.now())
    except DomainError as error:
        return _payment_page(request, payment, error=cash_forms.action_error(error), status=422)
    return _done(request, applied, _status_message(applied))


def _raw_lines(data: Any) -> list[dict[str, str]]:
    """The split's rows as typed, without the empty ones."""
    try:
        count = min(int(data.get("lines-TOTAL_FORMS", "0")), 200)
    except ValueError:
        count = 0
    names = ("invoice", *cash_forms.ApplyLineForm.AMOUNTS)
    rows = [{name: (data.get(f"lines-{n}-{name}") or "").strip() for name in names} for n in range(count)]
    return [row for row in rows if any(row.values())]


def _amount_text(minor: int, currency: str) -> str:
    """An amount as the split form shows it and reads it back ("1190,00" in German)."""
    decimals = currency_decimals(currency)
    pattern = "0." + "0" * decimals if decimals else "0"
    return format_decimal(Money.from_minor(minor, currency).amount, format=pattern, locale=current_locale())


def _minor_or_zero(text: str, currency: str) -> int:
    """A typed amount in minor units; what does not read as an amount of the currency counts as 0."""
    try:
        value = cash_forms.ApplyLineForm().fields["amount"].clean(text)
        return Money(value, currency).to_minor() if value is not None else 0
    except (ValidationError, DomainError):
        return 0


def _with_line(request: HttpRequest, payment: Payment, document_id: str) -> list[dict[str, str]]:
    """The split's rows plus an open item, with what the payment has left to apply to it."""
    rows = _raw_lines(request.POST)
    item = None
    if document_id.isdigit():
        item = receivable_selectors.open_items_by_ids(
            entity_id=payment.entity_id, document_ids={int(document_id)}
        ).get(int(document_id))
    if (
        item is None
        or item.currency != payment.currency
        or any(row["invoice"] == item.number for row in rows)
    ):
        return rows
    planned = sum(_minor_or_zero(row["amount"], payment.currency) for row in rows)
    left = max(min(item.open_minor, payment.unapplied_minor - planned), 0)
    return [*rows, {"invoice": item.number, "amount": _amount_text(left, payment.currency)}]


def _document_ids(payment: Payment, numbers: list[str]) -> dict[str, int]:
    found = (
        receivable_selectors.document_list(entity_ids=[payment.entity_id])
        .filter(number__in=numbers)
        .values_list("number", "pk")
    )
    return {number: pk for number, pk in found if number is not None}


@role_required(roles.APPLY_CASH)
@require_POST
def payment_apply(request: HtmxHttpRequest, payment_id: int) -> HttpResponse:
    """Apply the payment as split on the page. With `add` (an open item's id), the split form comes
    back with that invoice added (htmx: the split section alone) and nothing is applied."""
    payment = _payment_or_404(request, payment_id)
    if "add" in request.POST:
        rows = _with_line(request, payment, request.POST["add"])
        lines = _lines_formset(initial=rows)
        if rows:  # the cursor goes to the amount of the line just added
            lines.forms[len(rows) - 1].fields["amount"].widget.attrs["autofocus"] = True
        if request.htmx:
            context = {"payment": payment, "lines": lines, "can_change": True}
            return render(request, "workspace/cash/_split_lines.html", context)
        return _payment_page(request, payment, lines=lines)
    lines = _lines_formset(request.POST)
    if lines.is_valid():
        split = lines.lines()
        ids = _document_ids(payment, [line.invoice_number for line in split])
        unknown = [line.invoice_number for line in split if line.invoice_number not in ids]
        if unknown:
            for form in lines.forms:
                if form.is_valid() and (form.cleaned_data.get("invoice") or "").strip() in unknown:
                    form.add_error(
                        "invoice",
                        _("There is no invoice with this number in %(entity)s.")
                        % {"entity": payment.entity.code},
                    )
        else:
            try:
                applied = workbench.payment_apply(
                    payment_id=payment.pk,
                    lines=[
                        workbench.ApplyLine(
                            document_id=ids[line.invoice_number],
                            amount=line.amount,
                            discount=line.discount,
                            write_off=line.write_off,
                            deduction=line.deduction,
                        )
                        for line in split
                    ],
                    actor=_actor(request),
                    now=clock.now(),
                )
            except DomainError as error:
                return _payment_page(
                    request, payment, lines=lines, error=cash_forms.action_error(error), status=422
                )
            return _done(request, applied, _status_message(applied))
    return _payment_page(request, payment, lines=lines, status=422)


@role_required(roles.APPLY_CASH)
@require_POST
def payment_on_account(request: HttpRequest, payment_id: int) -> HttpResponse:
    """Leave what is unapplied on a customer's account (chosen by number)."""
    payment = _payment_or_404(request, payment_id)
    form = cash_forms.OnAccountForm(request.POST)
    if form.is_valid():
        number = form.cleaned_data["customer"].strip()
        customer = customer_selectors.customer_by_number(entity_id=payment.entity_id, number=number)
        if customer is None:
            form.add_error(
                "customer",
                _("There is no customer with this number in %(entity)s.") % {"entity": payment.entity.code},
            )
        else:
            try:
                changed = workbench.payment_put_on_account(
                    payment_id=payment.pk, customer_id=customer.pk, actor=_actor(request), now=clock.now()
                )
            except DomainError as error:
                return _payment_page(
                    request,
                    payment,
                    on_account_form=form,
                    error=cash_forms.action_error(error),
                    status=422,
                )
            return _done(request, changed, _status_message(changed))
    return _payment_page(request, payment, on_account_form=form, status=422)


@role_required(roles.APPLY_CASH)
@require_POST
def application_reverse(request: HttpRequest, application_id: int) -> HttpResponse:
    """Unapply misapplied cash (a reason is required); the payment can then be applied again."""
    try:
        application = selectors.application_get(
            entity_ids=_entity_ids(request), application_id=application_id
        )
    except Application.DoesNotExist:
        raise Http404 from None
    payment = _payment_or_404(request, application.payment_id)
    form = cash_forms.ReverseForm(request.POST)
    if form.is_valid():
        try:
            changed = workbench.application_reverse(
                application_id=application.pk,
                reason=form.cleaned_data["reason"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            return _payment_page(
                request,
                payment,
                reverse_forms={application.pk: form},
                error=cash_forms.action_error(error),
                status=422,
            )
        return _done(request, changed, _status_message(changed))
    return _payment_page(request, payment, reverse_forms={application.pk: form}, status=422)


# --- the matching policy --------------------------------------------------------------------------


def _policy_initial(policy: selectors.PolicyRow) -> dict[str, Any]:
    return {
        "auto_apply_confidence": policy.auto_apply_confidence,
        "write_off_tolerance": Money.from_minor(policy.write_off_tolerance_minor, policy.currency).amount,
        "discount_grace_days": policy.discount_grace_days,
        "fx_tolerance_percent": policy.fx_tolerance_percent,
        "return_fee_charge": policy.return_fee_charge,
        "return_fee": Money.from_minor(policy.return_fee_minor, policy.currency).amount,
    }


def _policy_page(
    request: HttpRequest,
    entity: LegalEntity,
    *,
    form: cash_forms.MatchingPolicyForm | None = None,
    status: int = 200,
) -> HttpResponse:
    policy = selectors.matching_policy_get(entity=entity)
    can_change = roles.has_any(request.user, roles.APPLY_CASH)
    if can_change and form is None:
        form = cash_forms.MatchingPolicyForm(initial=_policy_initial(policy), currency=entity.currency)
    history = (
        audit_selectors.audit_events_for(object_type="matching_policy", object_id=policy.policy_id)[
            :HISTORY_LIMIT
        ]
        if policy.policy_id is not None
        else []
    )
    context = {
        "entity": entity,
        "entities": _granted_entities(request),
        "policy": policy,
        "return_fee_charge": ReturnFeeCharge(policy.return_fee_charge).label,
        "can_change": can_change,
        "form": form,
        "history": history,
    }
    return render(request, "workspace/cash/policy.html", context, status=status)


@role_required(roles.VIEW_RECEIVABLES)
@require_GET
def policy_default(request: HttpRequest) -> HttpResponse:
    """The matching policy of the default granted entity (or the first granted one)."""
    return redirect("cash_policy", entity_id=_upload_entity(request, None).pk)


@role_required(roles.VIEW_RECEIVABLES)
@require_http_methods(["GET", "POST"])
def policy(request: HttpRequest, entity_id: int) -> HttpResponse:
    """GET: the entity's matching policy, with the form to change it for those who may (APPLY_CASH).
    POST: change it (`workbench.policy_change`, audited with the reason); a value out of range is
    refused on its field and nothing changes."""
    entity = _upload_entity(request, entity_id)
    if request.method != "POST":
        return _policy_page(request, entity)
    if not roles.has_any(request.user, roles.APPLY_CASH):
        raise PermissionDenied
    form = cash_forms.MatchingPolicyForm(request.POST, currency=entity.currency)
    if form.is_valid():
        data = form.cleaned_data
        try:
            workbench.policy_change(
                entity=entity,
                auto_apply_confidence=data["auto_apply_confidence"],
                write_off_tolerance=data["write_off_tolerance"],
                discount_grace_days=data["discount_grace_days"],
                return_fee_charge=data["return_fee_charge"],
                return_fee=data["return_fee"],
                fx_tolerance_percent=data["fx_tolerance_percent"],
                reason=data["reason"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as error:
            form.add_policy_error(error)
        else:
            messages.success(
                request,
                _("The matching policy of %(entity)s is saved: payments matched from now on follow it.")
                % {"entity": entity.code},
            )
            return redirect("cash_policy", entity_id=entity.pk)
    return _policy_page(request, entity, form=form, status=422)
