"""The month-end close in the back office (docs/close.md): the fiscal periods with their status, closed
(revalued and provided for first) and reopened with a reason; the AR rollforward of a month with the
journal lines behind each movement; the subledger-to-GL tie-out; the expected-credit-loss provision as
of a day with its matrix of loss rates; the accounts for review (docs/kpis.md).

Seen by AR managers, auditors and admins (VIEW_CLOSE, as the AR dashboard); closing, reopening and
setting loss rates by AR managers and admins (CHANGE_CLOSE = REOPEN_PERIODS, as `close.services` and
`close.provision` decide again). Others are refused (403). Every page covers one legal entity granted
to the person (`entity`, its code; default: the default entity); another is a 404.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from babel import Locale
from babel.numbers import format_decimal, format_percent
from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from o2c.close import provision, services
from o2c.core import clock
from o2c.core.exceptions import DomainError
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.reporting import exports, risk, rollforward
from o2c.reporting.errors import UnableToReadPeriod
from o2c.workspace import roles
from o2c.workspace.context_processors import VIEW_DASHBOARD
from o2c.workspace.templatetags.o2c_format import current_locale
from o2c.workspace.views import _actor, role_required

VIEW_CLOSE = VIEW_DASHBOARD
CHANGE_CLOSE = roles.REOPEN_PERIODS


# --- what every page shares ------------------------------------------------------------------------


def _granted(request: HttpRequest) -> list[LegalEntity]:
    granted = list(ledger_selectors.entities_for_user(request.user))
    if not granted:
        raise Http404
    return granted


def _entity(request: HttpRequest, code: str) -> tuple[LegalEntity, list[LegalEntity]]:
    """The granted entity of that code (404 otherwise); without a code the default entity if granted,
    else the first."""
    granted = _granted(request)
    if code:
        for entity in granted:
            if entity.code == code:
                return entity, granted
        raise Http404
    return next((entity for entity in granted if entity.is_default), granted[0]), granted


def _last_month_end(entity: LegalEntity) -> date:
    return clock.today_in(entity.time_zone).replace(day=1) - timedelta(days=1)


def _date(text: str, default: date) -> date:
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        return default


def _base(
    request: HttpRequest, entity: LegalEntity, granted: list[LegalEntity], current: str
) -> dict[str, Any]:
    return {
        "entity": entity,
        "entities": granted,
        "current": current,
        "can_change": roles.has_any(request.user, CHANGE_CLOSE),
    }


def _url(name: str, **params: Any) -> str:
    query = urlencode({key: value for key, value in params.items() if value not in (None, "")})
    return reverse(name) + (f"?{query}" if query else "")


# --- periods: close and reopen ---------------------------------------------------------------------


class ReopenForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)


def _periods_page(
    request: HttpRequest, entity: LegalEntity, granted: list[LegalEntity], year: int, status: int = 200
) -> HttpResponse:
    periods = ledger_selectors.periods_of(entity=entity)
    years = sorted({first.year for first, _last, _status in periods})
    context = {
        **_base(request, entity, granted, "periods"),
        "year": year,
        "years": years,
        "periods": [
            {"month": f"{first:%Y-%m}", "first": first, "last": last, "status": state}
            for first, last, state in periods
            if first.year == year
        ],
    }
    return render(request, "workspace/close/periods.html", context, status=status)


@role_required(VIEW_CLOSE)
@require_GET
def close_periods(request: HttpRequest) -> HttpResponse:
    entity, granted = _entity(request, request.GET.get("entity", ""))
    year_text = request.GET.get("year", "")
    year = int(year_text) if year_text.isdigit() else clock.today_in(entity.time_zone).year
    return _periods_page(request, entity, granted, year)


def _period_of(request: HttpRequest, entity_id: int, month: str) -> tuple[LegalEntity, date]:
    granted = _granted(request)
    entity = next((entity for entity in granted if entity.pk == entity_id), None)
    if entity is None:
        raise Http404
    try:
        return entity, rollforward.month_start(month)
    except UnableToReadPeriod:
        raise Http404 from None


def _back(entity: LegalEntity, start: date) -> HttpResponse:
    return redirect(_url("close_periods", entity=entity.code, year=start.year))


@role_required(CHANGE_CLOSE)
@require_POST
def close_period_close(request: HttpRequest, entity_id: int, month: str) -> HttpResponse:
    """The month-end close of `o2c close period`: revalued, provided for, closed, in one transaction."""
    entity, start = _period_of(request, entity_id, month)
    try:
        revalued, provided, result = services.month_close(
            entity=entity, start=start, actor=_actor(request), now=clock.now()
        )
    except DomainError as error:
        messages.error(request, error.message)
        return _back(entity, start)
    names = {"entity": entity.code, "period": result.month}
    if result.changed:
        messages.success(request, _("%(entity)s %(period)s closed") % names)
        if revalued is not None and revalued.posted:
            messages.info(request, _("Unrealised FX differences posted on the month's last day."))
        if provided is not None and provided.posted:
            messages.info(request, _("The expected-credit-loss provision is posted on the month's last day."))
    else:
        messages.info(request, _("%(entity)s %(period)s was closed already") % names)
    for warning in result.warnings:
        messages.warning(request, warning)
    return _back(entity, start)


@role_required(CHANGE_CLOSE)
@require_POST
def close_period_reopen(request: HttpRequest, entity_id: int, month: str) -> HttpResponse:
    """Reopen a closed month with a reason (audited); without one nothing changes (422)."""
    entity, start = _period_of(request, entity_id, month)
    form = ReopenForm(request.POST)
    if form.is_valid():
        try:
            result = services.period_reopen(
                entity=entity,
                start=start,
                actor=_actor(request),
                reason=form.cleaned_data["reason"],
                now=clock.now(),
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            names = {"entity": entity.code, "period": result.month}
            if result.changed:
                messages.success(request, _("%(entity)s %(period)s reopened") % names)
            else:
                messages.info(request, _("%(entity)s %(period)s is open") % names)
            return _back(entity, start)
    else:
        messages.error(request, _("Reopening a closed period needs a reason."))
    return _periods_page(request, entity, _granted(request), start.year, status=422)


# --- the rollforward and its drill-down -----------------------------------------------------------


def _month(request: HttpRequest, entity: LegalEntity) -> date:
    try:
        return rollforward.month_start(request.GET.get("period", ""))
    except UnableToReadPeriod:
        return _last_month_end(entity).replace(day=1)


@role_required(VIEW_CLOSE)
@require_GET
def close_rollforward(request: HttpRequest) -> HttpResponse:
    """Per currency: opening AR, each movement, closing AR against the open items; each movement's
    amount links to its journal lines. Below, the same in the functional currency with the FX
    revaluation and a total."""
    entity, granted = _entity(request, request.GET.get("entity", ""))
    start = _month(request, entity)
    report = rollforward.rollforward(entity=entity, start=start)
    labels = rollforward.movement_labels()
    period = f"{start:%Y-%m}"

    def cells(name: str, amounts: list[int], drill: bool) -> dict[str, Any]:
        return {
            "name": name,
            "label": labels[name],
            "url": _url("close_rollforward_lines", entity=entity.code, period=period, movement=name)
            if drill
            else "",
            "cells": [
                {
                    "minor": minor,
                    "currency": row.currency,
                    "url": _url(
                        "close_rollforward_lines",
                        entity=entity.code,
                        period=period,
                        movement=name,
                        currency=row.currency,
                    )
                    if drill
                    else "",
                }
                for minor, row in zip(amounts, report.rows, strict=True)
            ],
        }

    lines = [cells("opening", [row.opening_minor for row in report.rows], False)]
    lines += [
        cells(name, [row.movements_minor[name] for row in report.rows], True)
        for name in rollforward.MOVEMENTS
    ]
    lines += [
        cells("closing", [row.closing_minor for row in report.rows], False),
        cells("subledger_closing", [row.subledger_closing_minor for row in report.rows], False),
        cells("difference", [row.difference_minor for row in report.rows], False),
    ]
    functional = rollforward.rollforward_functional(entity=entity, start=start)
    shown = [*functional.rows, functional.total]
    functional_lines = [
        {"name": "opening", "label": labels["opening"], "amounts": [row.opening_minor for row in shown]},
        *(
            {"name": name, "label": labels[name], "amounts": [row.movements_minor[name] for row in shown]}
            for name in rollforward.FUNCTIONAL_MOVEMENTS
        ),
        {"name": "closing", "label": labels["closing"], "amounts": [row.closing_minor for row in shown]},
    ]
    context = {
        **_base(request, entity, granted, "rollforward"),
        "period": period,
        "report": report,
        "lines": lines,
        "functional": functional,
        "functional_lines": functional_lines,
        "previous": f"{start - timedelta(days=1):%Y-%m}",
        "next": f"{report.end + timedelta(days=1):%Y-%m}",
    }
    return render(request, "workspace/close/rollforward.html", context)


@role_required(VIEW_CLOSE)
@require_GET
def close_rollforward_lines(request: HttpRequest) -> HttpResponse:
    """The receivable journal lines behind one movement of the month (and currency)."""
    entity, granted = _entity(request, request.GET.get("entity", ""))
    start = _month(request, entity)
    movement = request.GET.get("movement", "")
    if movement not in rollforward.MOVEMENTS:
        raise Http404
    currency = request.GET.get("currency", "")
    lines = rollforward.rollforward_lines(
        entity=entity, start=start, movement=movement, currency=currency or None
    )
    context = {
        **_base(request, entity, granted, "rollforward"),
        "period": f"{start:%Y-%m}",
        "movement_label": rollforward.movement_labels()[movement],
        "currency": currency,
        "lines": lines,
        "totals": _totals(lines),
        "back": _url("close_rollforward", entity=entity.code, period=f"{start:%Y-%m}"),
    }
    return render(request, "workspace/close/rollforward_lines.html", context)


def _totals(lines: list[rollforward.RollforwardLine]) -> list[tuple[str, int]]:
    sums: dict[str, int] = {}
    for line in lines:
        sums[line.currency] = sums.get(line.currency, 0) + line.amount_minor
    return sorted(sums.items())


# --- the tie-out ----------------------------------------------------------------------------------


@role_required(VIEW_CLOSE)
@require_GET
def close_tie_out(request: HttpRequest) -> HttpResponse:
    entity, granted = _entity(request, request.GET.get("entity", ""))
    as_of = _date(request.GET.get("as_of", ""), _last_month_end(entity))
    context = {
        **_base(request, entity, granted, "tie_out"),
        "as_of": as_of,
        "differences": rollforward.tie_out(entity=entity, as_of=as_of),
    }
    return render(request, "workspace/close/tie_out.html", context)


# --- the provision and its matrix -----------------------------------------------------------------


class RateForm(forms.Form):
    segment = forms.ChoiceField(label=gettext_lazy("Segment"), choices=[])
    bucket = forms.ChoiceField(label=gettext_lazy("Bucket"), choices=[])
    percent = forms.DecimalField(
        label=gettext_lazy("Loss rate (%)"),
        min_value=Decimal(0),
        max_value=Decimal(100),
        decimal_places=4,
        localize=True,
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = _bucket_labels()
        segment_labels = _segment_labels()
        self.fields["segment"].choices = [(name, segment_labels[name]) for name in provision.SEGMENTS]  # type: ignore[attr-defined]
        self.fields["bucket"].choices = [(name, labels[name]) for name in provision.BUCKETS]  # type: ignore[attr-defined]


def _bucket_labels() -> dict[str, str]:
    return {name: str(text) for name, text in exports.bucket_labels().items()}


def _segment_labels() -> dict[str, str]:
    return {provision.DOMESTIC: _("Domestic"), provision.FOREIGN: _("Foreign")}


def _provision_page(
    request: HttpRequest,
    entity: LegalEntity,
    granted: list[LegalEntity],
    as_of: date,
    form: RateForm | None = None,
    status: int = 200,
) -> HttpResponse:
    error = ""
    try:
        rows = provision.provision_rows(entity=entity, as_of=as_of)
    except DomainError as refusal:  # a currency without an FX rate on the day
        rows, error = [], refusal.message
    cells = {(cell.segment, cell.bucket): cell for cell in provision.rate_matrix(entity=entity)}
    segment_labels, bucket_labels = _segment_labels(), _bucket_labels()
    context = {
        **_base(request, entity, granted, "provision"),
        "as_of": as_of,
        "method": provision.method_of(entity),
        "rows": [
            {
                "row": row,
                "segment": segment_labels[row.segment],
                "bucket": bucket_labels[row.bucket],
                "rate": _percent_of(row.rate),
            }
            for row in rows
        ],
        "total_minor": sum(row.functional_minor for row in rows),
        "error": error,
        "buckets": [bucket_labels[name] for name in provision.BUCKETS],
        "matrix": [
            {
                "segment": segment_labels[segment],
                "cells": [
                    {"cell": cells[(segment, bucket)], "rate": _percent_of(cells[(segment, bucket)].rate)}
                    for bucket in provision.BUCKETS
                ],
            }
            for segment in provision.SEGMENTS
        ],
        "changed": [
            {
                "cell": cell,
                "segment": segment_labels[cell.segment],
                "bucket": bucket_labels[cell.bucket],
                "rate": _percent_of(cell.rate),
            }
            for cell in sorted(
                (cell for cell in cells.values() if cell.set_at is not None),
                key=lambda cell: (cell.set_at, cell.segment, cell.bucket),
                reverse=True,
            )
        ],
        "form": form or RateForm(),
    }
    return render(request, "workspace/close/provision.html", context, status=status)


@role_required(VIEW_CLOSE)
@require_GET
def close_provision(request: HttpRequest) -> HttpResponse:
    entity, granted = _entity(request, request.GET.get("entity", ""))
    return _provision_page(
        request, entity, granted, _date(request.GET.get("as_of", ""), _last_month_end(entity))
    )


@role_required(CHANGE_CLOSE)
@require_POST
def close_provision_rate_set(request: HttpRequest) -> HttpResponse:
    """Set one loss rate by hand with a reason (`close.provision.provision_rate_set`, audited)."""
    entity, granted = _entity(request, request.POST.get("entity", ""))
    as_of = _date(request.POST.get("as_of", ""), _last_month_end(entity))
    form = RateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            provision.provision_rate_set(
                entity=entity,
                segment=data["segment"],
                bucket=data["bucket"],
                rate=provision.parse_rate(f"{(data['percent'] / 100).normalize():f}"),
                actor=_actor(request),
                reason=data["reason"],
                now=clock.now(),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("Loss rate of %(segment)s %(bucket)s set to %(rate)s %%")
                % {
                    "segment": _segment_labels()[data["segment"]],
                    "bucket": _bucket_labels()[data["bucket"]],
                    "rate": _percent_text(data["percent"]),
                },
            )
            return redirect(_url("close_provision", entity=entity.code, as_of=as_of.isoformat()))
    return _provision_page(request, entity, granted, as_of, form=form, status=422)


def _percent_of(rate: Decimal) -> str:
    """A loss rate in percent in the reader's locale: 0.005 -> "0.50 %" ("0,50 %" in German)."""
    locale = Locale.parse(current_locale())
    pattern = locale.percent_formats[None].pattern.split(";")[0].replace("#,##0", "#,##0.00##")
    return str(format_percent(rate, format=pattern, locale=locale))


def _percent_text(value: Decimal) -> str:
    return str(format_decimal(value.normalize(), locale=current_locale(), decimal_quantization=False))


# --- accounts for review --------------------------------------------------------------------------


@role_required(VIEW_CLOSE)
@require_GET
def close_review(request: HttpRequest) -> HttpResponse:
    """The risk report's flagged accounts with their reasons in the reader's language; `all=1` every
    account with something open or paid in the last 180 days."""
    entity, granted = _entity(request, request.GET.get("entity", ""))
    as_of = _date(request.GET.get("as_of", ""), clock.today_in(entity.time_zone))
    show_all = request.GET.get("all", "") in ("1", "true", "on")
    locale = current_locale()
    found = risk.accounts(entity_ids=[entity.pk], as_of=as_of, flagged_only=not show_all)
    context = {
        **_base(request, entity, granted, "review"),
        "as_of": as_of,
        "show_all": show_all,
        "accounts": [{"account": item, "reasons": risk.reasons(item, locale)} for item in found],
    }
    return render(request, "workspace/close/review.html", context)
