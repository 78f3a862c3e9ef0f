"""`o2c credit SUBCOMMAND`: credit limits, orders and holds (docs/credit.md).

- `check --customer NUMBER --amount AMOUNT --currency CCY [--as-of DATE] --format json`: what-if check
- `orders-import FILE.csv`: order_number, customer_number, amount, currency, requested_date
- `holds [--reason CODE] [--format table|json]`, `release|reject|recheck --order NUMBER [--reason TEXT]`
- `ship|invoice|cancel --order NUMBER [--reason TEXT]`: a released order shipped, a shipped one
  invoiced, an order cancelled before it is invoiced (a reason required)
- `block|unblock --customer NUMBER --reason TEXT`
- `report holds|limits|risk-classes [--as-of DATE] [--format table|json]`
- `score`, `reviews`, `bureau-import`: credit scoring (`_scoring`, docs/credit-scoring.md)
- `unbilled-refresh [--as-of DATE]`: the unbilled usage of the exposure, from billing's unbilled revenue
- `policy [--past-due-days N] [--cutoff HH:MM] [--sales-email ADDRESS] [--threshold AMOUNT --currency CCY]`

Subcommands are the entries of `SUBCOMMANDS` (name → method): another module extends the table."""

from __future__ import annotations

import csv
import json
import sys
from argparse import ArgumentParser
from collections.abc import Callable
from datetime import date, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from o2c.core import clock
from o2c.core.cli import date_option
from o2c.core.exceptions import InputError
from o2c.core.money import UnableToHandleMoney, ensure_currency, format_minor, parse_amount
from o2c.credit import exposure, limits, orders, selectors
from o2c.credit.errors import UnableToTakeOrder
from o2c.credit.management.commands._scoring import SCORING_SUBCOMMANDS, ScoringSubcommands
from o2c.credit.models import SalesOrder
from o2c.ledger.models import LegalEntity
from o2c.ledger.options import entity_option

ORDER_COLUMNS = ("order_number", "customer_number", "amount", "currency", "requested_date")


def _date(option: str, text: str) -> date:
    return date_option(option, text)


class Command(ScoringSubcommands):
    help = (
        "Credit management: what-if checks, orders under credit control, holds, blocks, scoring, "
        "reviews, reports."
    )

    SUBCOMMANDS: dict[str, str] = {
        "check": "_check",
        "orders-import": "_orders_import",
        "holds": "_holds",
        "release": "_release",
        "reject": "_reject",
        "recheck": "_recheck",
        "ship": "_ship",
        "invoice": "_invoice",
        "cancel": "_cancel",
        "block": "_block",
        "unblock": "_unblock",
        "report": "_report",
        "policy": "_policy",
        "unbilled-refresh": "_unbilled_refresh",
        **SCORING_SUBCOMMANDS,
    }

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=sorted(self.SUBCOMMANDS))
        parser.add_argument(
            "target",
            nargs="?",
            help="orders-import, bureau-import: the CSV file; report: holds, limits or risk-classes",
        )
        parser.add_argument("--entity", default=None)
        parser.add_argument("--customer", default=None)
        parser.add_argument("--amount", default=None)
        parser.add_argument("--currency", default=None)
        parser.add_argument("--as-of", default=None)
        parser.add_argument("--order", default=None)
        parser.add_argument("--reason", default="")
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument("--past-due-days", type=int, default=None)
        parser.add_argument("--cutoff", default=None, help="policy: the daily cut-off, HH:MM")
        parser.add_argument("--sales-email", default=None)
        parser.add_argument("--threshold", default=None, help="policy: the approval threshold in --currency")

    def run(self, *args: Any, **options: Any) -> None:
        entity = entity_option(options["entity"])
        method: Callable[[LegalEntity, dict[str, Any]], None] = getattr(
            self, self.SUBCOMMANDS[options["action"]]
        )
        method(entity, options)

    def _customer(self, entity: LegalEntity, options: dict[str, Any]) -> Any:
        number = options["customer"]
        if not number:
            raise InputError(_("--customer is required"))
        customer = selectors.customers_by_number(entity_ids=[entity.pk], number=number)
        if customer is None:
            raise InputError(
                _("--customer: unknown customer '%(number)s'") % {"number": number}, code="unknown_customer"
            )
        return customer

    # ── check ──────────────────────────────────────────────────────────────────────────────────

    def _check(self, entity: LegalEntity, options: dict[str, Any]) -> None:
        customer = self._customer(entity, options)
        if not options["amount"] or not options["currency"]:
            raise InputError(_("--amount and --currency are required"))
        try:
            currency = ensure_currency(options["currency"].strip().upper())
        except UnableToHandleMoney as error:
            raise InputError(f"--currency: {error.message}", code=error.code) from None
        try:
            amount = parse_amount(options["amount"], currency)
        except UnableToHandleMoney as error:
            raise InputError(f"--amount: {error.message}", code=error.code) from None
        as_of = _date("--as-of", options["as_of"]) if options["as_of"] else clock.today_in(entity.time_zone)
        decision = orders.what_if(customer=customer, amount=amount, currency=currency, as_of=as_of)
        result = decision_json(decision)
        if options["format"] == "json":
            sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
            return
        sys.stdout.write(f"{result['decision']}\n")
        for reason in decision.reasons:
            sys.stdout.write(f"- {reason['text']}\n")
        sys.stdout.write(
            _("exposure %(exposure)s, limit %(limit)s, available %(available)s %(currency)s")
            % {
                "exposure": result["exposure"],
                "limit": result["limit"] or "-",
                "available": result["available"] or "-",
                "currency": result["currency"],
            }
            + "\n"
        )

    # ── orders ────────────────────────────────────────────────────────────────────────────────

    def _orders_import(self, entity: LegalEntity, options: dict[str, Any]) -> None:
        name = options["target"]
        if not name:
            raise InputError(_("orders-import needs a CSV file"))
        rows = read_orders_csv(Path(name))
        try:
            result = orders.orders_receive(
                entity=entity, rows=rows, source=SalesOrder.Source.CSV, actor=None, now=clock.now()
            )
        except UnableToTakeOrder as error:
            raise InputError(error.message, file=name, code=error.code) from None
        released = sum(1 for o in result.created if o.status == SalesOrder.Status.RELEASED)
        self.note(
            _("%(new)s orders taken: %(released)s released, %(held)s held; %(known)s known already")
            % {
                "new": len(result.created),
                "released": released,
                "held": len(result.created) - released,
                "known": result.unchanged,
            }
        )

    def _order(self, entity: LegalEntity, options: dict[str, Any]) -> SalesOrder:
        if not options["order"]:
            raise InputError(_("--order is required"))
        order = selectors.order_get(entity_ids=[entity.pk], number=options["order"])
        if order is None:
            raise InputError(_("--order: unknown order '%(number)s'") % {"number": options["order"]})
        return order

    def _move(self, entity: LegalEntity, options: dict[str, Any], to: str) -> None:
        order = orders.order_move(
            order_id=self._order(entity, options).pk,
            to=to,
            reason=options["reason"],
            actor=None,
            now=clock.now(),
        )
        self.note(_("order %(number)s %(status)s") % {"number": order.number, "status": order.status})

    def _ship(self, entity: LegalEntity, options: dict[str, Any]) -> None:
        self._move(entity, options, SalesOrder.Status.SHIPPED)

    def _invoice(self, entity: LegalEntity, options: dict[str, Any]) -> None:
        self._move(entity, options, SalesOrder.Status.INVOICED)

    def _cancel(self, entity: LegalEntity, options: dict[str, Any]) -> None:
        self._move(entity, options, SalesOrder.Status.CANCELLED)

    def _release(self, entity: LegalEntity, options: dict[str, Any]) -> None:
        order = orders.order_release(
            order_id=self._order(entity, options).pk, reason=options["reason"], actor=None, now=clock.now()
        )
        self.note(
            _("order %(number)s released for %(date)s") % {"number": order.number, "date": order.release_date}
        )

    def _reject(self, entity: LegalEntity, options: dict[str, Any]) -> None:
        order = orders.order_reject(
            order_id=self._order(entity, options).pk, reason=options["reason"], actor=None, now=clock.now()
        )
        self.note(_("order %(number)s rejected") % {"number": order.number})

    def _recheck(self, entity: LegalEntity, options: dict[str, Any]) -> None:
        order = orders.order_recheck(order_id=self._order(entity, options).pk, actor=None, now=clock.now())
        self.note(_("order %(number)s: %(status)s") % {"number": order.number, "status": order.status})

    def _holds(self, entity: LegalEntity, options: dict[str, Any]) -> None:
        now = clock.now()
        held = selectors.hold_list(entity_ids=[entity.pk], reason=options["reason"])
        rows = [
            {
                "order": o.number,
                "customer": o.customer.number,
                "amount": format_minor(o.amount_minor, o.currency),
                "currency": o.currency,
                "held_at": o.held_at.isoformat() if o.held_at else None,
                "age_days": (now - o.held_at).days if o.held_at else 0,
                "reasons": o.hold_reasons,
            }
            for o in held
        ]
        if options["format"] == "json":
            sys.stdout.write(json.dumps({"holds": rows}, ensure_ascii=False) + "\n")
            return
        for row in rows:
            codes = ", ".join(r["code"] for r in row["reasons"])
            amount = f"{row['amount']} {row['currency']}"
            sys.stdout.write(f"{row['order']}\t{row['customer']}\t{amount}\t{row['age_days']}\t{codes}\n")

    # ── blocking ─────────────────────────────────────────────────────────────────────────────

    def _block(self, entity: LegalEntity, options: dict[str, Any]) -> None:
        customer = orders.customer_block(
            customer_id=self._customer(entity, options).pk,
            reason=options["reason"],
            actor=None,
            now=clock.now(),
        )
        self.note(_("customer %(number)s blocked") % {"number": customer.number})

    def _unblock(self, entity: LegalEntity, options: dict[str, Any]) -> None:
        customer = orders.customer_unblock(
            customer_id=self._customer(entity, options).pk,
            reason=options["reason"],
            actor=None,
            now=clock.now(),
        )
        self.note(_("customer %(number)s unblocked") % {"number": customer.number})

    # ── reports ──────────────────────────────────────────────────────────────────────────────

    def _report(self, entity: LegalEntity, options: dict[str, Any]) -> None:
        which = options["target"]
        if which not in ("holds", "limits", "risk-classes"):
            raise InputError(_("report: say holds, limits or risk-classes"))
        if which == "risk-classes":
            self._risk_report(entity, options)
            return
        if which == "holds":
            data: dict[str, Any] = {"rows": holds_report_json(entity_ids=[entity.pk])}
        else:
            as_of = (
                _date("--as-of", options["as_of"]) if options["as_of"] else clock.today_in(entity.time_zone)
            )
            data = {
                "as_of": as_of.isoformat(),
                "rows": limits_report_json(entity_ids=[entity.pk], as_of=as_of),
            }
        if options["format"] == "json":
            sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
            return
        for row in data["rows"]:
            sys.stdout.write("\t".join(str(v) for v in row.values()) + "\n")

    # ── unbilled usage ──────────────────────────────────────────────────────────────────────────

    def _unbilled_refresh(self, entity: LegalEntity, options: dict[str, Any]) -> None:
        as_of = _date("--as-of", options["as_of"]) if options["as_of"] else clock.today_in(entity.time_zone)
        count = exposure.unbilled_refresh(entity=entity, as_of=as_of)
        self.note(
            _("unbilled usage as of %(date)s: %(count)s customer amounts in the exposure")
            % {"date": as_of.isoformat(), "count": count}
        )

    # ── policy ───────────────────────────────────────────────────────────────────────────────

    def _policy(self, entity: LegalEntity, options: dict[str, Any]) -> None:
        """Show the entity's credit policy; change what the options give (audited)."""
        current = selectors.policy_of(entity.pk)
        days = current.past_due_days if options["past_due_days"] is None else options["past_due_days"]
        if days < 0:
            raise InputError(_("--past-due-days: must not be negative"))
        cutoff = current.cutoff_time
        if options["cutoff"] is not None:
            try:
                cutoff = time.fromisoformat(options["cutoff"])
            except ValueError:
                raise InputError(
                    _("--cutoff: '%(value)s' is not a time (HH:MM)") % {"value": options["cutoff"]}
                ) from None
        email = current.sales_email if options["sales_email"] is None else options["sales_email"]
        now = clock.now()
        if (days, cutoff, email) != (current.past_due_days, current.cutoff_time, current.sales_email):
            limits.policy_set(
                entity=entity, past_due_days=days, cutoff_time=cutoff, sales_email=email, actor=None, now=now
            )
        currency = (options["currency"] or entity.currency).strip().upper()
        if options["threshold"] is not None:
            try:
                amount = parse_amount(options["threshold"], ensure_currency(currency))
            except UnableToHandleMoney as error:
                raise InputError(f"--threshold: {error.message}", code=error.code) from None
            limits.threshold_set(entity=entity, currency=currency, amount=amount, actor=None, now=now)
        threshold = selectors.threshold_minor(entity, currency)
        data = {
            "entity": entity.code,
            "past_due_days": days,
            "cutoff_time": cutoff.strftime("%H:%M"),
            "sales_email": email,
            "approval_threshold": None if threshold is None else format_minor(threshold, currency),
            "currency": currency,
        }
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


def decision_json(decision: Any) -> dict[str, Any]:
    """The what-if check's JSON: amounts as decimal strings in the binding limit's currency."""
    currency = decision.currency
    return {
        "decision": decision.decision,
        "reasons": decision.reasons,
        "exposure": None
        if decision.exposure_minor is None
        else format_minor(decision.exposure_minor, currency),
        "limit": None if decision.limit_minor is None else format_minor(decision.limit_minor, currency),
        "available": None
        if decision.available_minor is None
        else format_minor(decision.available_minor, currency),
        "currency": currency,
    }


def holds_report_json(*, entity_ids: list[int]) -> list[dict[str, Any]]:
    return [
        {
            "reason": row.reason,
            "age": row.bucket,
            "orders": row.orders,
            "amounts": {cur: format_minor(minor, cur) for cur, minor in sorted(row.amounts.items())},
        }
        for row in selectors.holds_by_reason_and_age(entity_ids=entity_ids, now=clock.now())
    ]


def limits_report_json(*, entity_ids: list[int], as_of: date) -> list[dict[str, Any]]:
    return [
        {
            "customer": row.number,
            "scope": row.scope,
            "currency": row.currency,
            "limit": format_minor(row.limit_minor, row.currency),
            "exposure": format_minor(row.exposure_minor, row.currency),
            "available": format_minor(row.available_minor, row.currency),
        }
        for row in selectors.limit_use(entity_ids=entity_ids, as_of=as_of)
    ]


def read_orders_csv(path: Path) -> list[orders.OrderIn]:
    """The CSV's orders, or an InputError naming the file, row (1-based, header not counted) and column."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise InputError(error.strerror or str(error), file=name) from None
    except UnicodeDecodeError:
        raise InputError(_("not UTF-8 text"), file=name) from None
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in ORDER_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(_("missing columns: %(columns)s") % {"columns": ", ".join(missing)}, file=name)
    rows = []
    for index, row in enumerate(reader, start=1):
        for column in ORDER_COLUMNS:
            if not (row.get(column) or "").strip():
                raise InputError(_("empty"), file=name, row=index, column=column)
        try:
            amount = Decimal(row["amount"].strip())
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite() or amount <= 0:
            raise InputError(
                _("'%(value)s' is not a positive amount") % {"value": row["amount"]},
                file=name,
                row=index,
                column="amount",
            )
        try:
            requested = date.fromisoformat(row["requested_date"].strip())
        except ValueError:
            raise InputError(
                _("'%(value)s' is not an ISO 8601 date (YYYY-MM-DD)") % {"value": row["requested_date"]},
                file=name,
                row=index,
                column="requested_date",
            ) from None
        rows.append(
            orders.OrderIn(
                row["order_number"].strip(),
                row["customer_number"].strip(),
                amount,
                row["currency"].strip().upper(),
                requested,
            )
        )
    return rows
