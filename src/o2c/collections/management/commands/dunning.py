"""`o2c dunning run --as-of DATE [--dry-run] [--format table|json] [--entity CODE]`: send the dunning
notices and pre-due reminders due on that day (docs/collections.md). JSON:
`{"as_of": ..., "notices": [{"customer_number", "level", "language", "channel", "items": [{"invoice_number",
"days_overdue", "open_amount"}]}]}`; the table is for people, in their locale.

`o2c dunning promises --as-of DATE [--format table|json] [--entity CODE]`: judge the open promises to pay
and the payment plans as of that day (the run does it first too). JSON: `{"as_of": ..., "promises":
[{"id", "customer_number", "state", "judged_on", "amount", "paid", "currency"}], "plans": [{"id",
"customer_number", "state", "on", "total", "paid", "currency"}]}`, the promises that became kept or
broken and the plans that became active, completed or defaulted.

`o2c dunning bounces PATH...` and `o2c dunning letters --as-of DATE --output DIR|--merged FILE.pdf`:
see `_dunning_delivery` (docs/dunning-delivery.md)."""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from collections.abc import Callable
from datetime import date
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rich.console import Console
from rich.table import Table

from o2c.collections import services
from o2c.collections.management.commands import _dunning_delivery as delivery_actions
from o2c.collections.management.commands import _late_charges as late_charge_actions
from o2c.collections.models import Channel, PaymentPlan, PromiseToPay
from o2c.core import clock
from o2c.core.cli import O2CCommand, date_option, progress_stages
from o2c.core.exceptions import InputError
from o2c.core.formatting import amount_human, cli_language, cli_locale, date_human
from o2c.core.money import format_minor
from o2c.ledger.options import entity_option


def _as_of(text: str | None) -> date:
    if not text:
        raise InputError(_("--as-of: the run needs its date, YYYY-MM-DD"))
    return date_option("--as-of", text)


class Command(O2CCommand):
    help = (
        "Dunning: run sends the notices and pre-due reminders due on a day, one per customer, in the "
        "customer's language (--dry-run shows them without sending or recording anything); promises "
        "judges the open promises to pay as of the day."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "action", choices=["run", "promises", "bounces", "letters", *late_charge_actions.ACTIONS]
        )
        late_charge_actions.add_arguments(parser)
        parser.add_argument(
            "paths", nargs="*", metavar="PATH", help="bounces: .eml files, folders, mbox files"
        )
        parser.add_argument("--output", metavar="DIR", help="letters: one PDF per letter in this folder")
        parser.add_argument("--merged", metavar="FILE.pdf", help="letters: all of them in one PDF")
        parser.add_argument("--as-of", help="the run's date, YYYY-MM-DD")
        parser.add_argument("--dry-run", action="store_true", help="show what would be sent, change nothing")
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument("--entity", help="legal entity code (default: the default entity)")

    def run(self, *args: Any, **options: Any) -> None:
        with translation.override(cli_language()):
            if options["action"] in late_charge_actions.ACTIONS:
                charging = options["action"] == "charge"
                entity = entity_option(options["entity"]) if charging else None
                late_charge_actions.command(self, options, entity=entity)
                return
            if options["action"] == "bounces":
                delivery_actions.bounces_command(self, options)
                return
            as_of = _as_of(options["as_of"])
            entity = entity_option(options["entity"])
            if options["action"] == "letters":
                delivery_actions.letters_command(self, options, entity=entity, as_of=as_of)
                return
            if options["action"] == "promises":
                self._promises(
                    services.promises_review(entity=entity, as_of=as_of, actor=None, now=clock.now()),
                    options["format"],
                )
                return
            # sending the e-mail after commit is the long part (a statement PDF each): a bar on stderr
            with progress_stages() as stage:
                advance: list[Callable[[int], None]] = []
                result = services.dunning_run(
                    entity=entity,
                    as_of=as_of,
                    dry_run=options["dry_run"],
                    actor=None,
                    now=clock.now(),
                    on_mail_total=lambda total: advance.append(stage(_("sending e-mail notices"), total)),
                    mail_progress=lambda done: advance[0](done) if advance else None,
                )
            if options["format"] == "json":
                sys.stdout.write(json.dumps(_record(result), ensure_ascii=False, indent=2) + "\n")
            else:
                self._table(result)

    def _promises(self, review: services.PromiseReview, output: str) -> None:
        rows = [
            {
                "id": judgement.promise_id,
                "customer_number": judgement.customer_number,
                "state": judgement.verdict.state,
                "judged_on": str(judgement.verdict.judged_on),
                "amount": format_minor(judgement.amount_minor, judgement.currency),
                "paid": format_minor(judgement.verdict.paid_minor, judgement.currency),
                "currency": judgement.currency,
            }
            for judgement in review.judged
        ]
        plan_rows = [
            {
                "id": plan.plan_id,
                "customer_number": plan.customer_number,
                "state": plan.state,
                "on": str(plan.judged_on),
                "total": format_minor(plan.total_minor, plan.currency),
                "paid": format_minor(plan.paid_minor, plan.currency),
                "currency": plan.currency,
            }
            for plan in review.plans
        ]
        if output == "json":
            record = {"as_of": review.as_of.isoformat(), "promises": rows, "plans": plan_rows}
            sys.stdout.write(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
            return
        locale = cli_locale()
        table = Table(
            title=_("Promises to pay of %(entity)s judged on %(date)s")
            % {"entity": review.entity_code, "date": date_human(review.as_of, locale)}
        )
        for column in (_("Promise"), _("Customer"), _("State"), _("Judged on")):
            table.add_column(column)
        table.add_column(_("Promised"), justify="right")
        table.add_column(_("Paid"), justify="right")
        table.add_column(_("Currency"))
        for judgement in review.judged:
            verdict = judgement.verdict
            table.add_row(
                str(judgement.promise_id),
                judgement.customer_number,
                str(PromiseToPay.State(verdict.state).label),
                date_human(verdict.judged_on, locale) if verdict.judged_on else "",
                amount_human(judgement.amount_minor, judgement.currency, locale),
                amount_human(verdict.paid_minor, judgement.currency, locale),
                judgement.currency,
            )
        if review.judged:
            Console(width=160).print(table)
        if review.plans:
            plans = Table(title=_("Payment plans"))
            for column in (_("Plan"), _("Customer"), _("State"), _("Since")):
                plans.add_column(column)
            plans.add_column(_("Total"), justify="right")
            plans.add_column(_("Paid"), justify="right")
            plans.add_column(_("Currency"))
            for plan in review.plans:
                plans.add_row(
                    str(plan.plan_id),
                    plan.customer_number,
                    str(PaymentPlan.State(plan.state).label),
                    date_human(plan.judged_on, locale) if plan.judged_on else "",
                    amount_human(plan.total_minor, plan.currency, locale),
                    amount_human(plan.paid_minor, plan.currency, locale),
                    plan.currency,
                )
            Console(width=160).print(plans)
        kept, broken = len(review.kept), len(review.broken)
        sys.stdout.write(_("%(kept)s kept, %(broken)s broken") % {"kept": kept, "broken": broken} + "\n")

    def _table(self, result: services.DunningRunResult) -> None:
        locale = cli_locale()
        title = (
            _("Dunning run of %(entity)s on %(date)s (dry run: nothing sent)")
            if result.dry_run
            else _("Dunning run of %(entity)s on %(date)s")
        )
        table = Table(title=title % {"entity": result.entity_code, "date": date_human(result.as_of, locale)})
        for column in (_("Customer"), _("Level"), _("Language"), _("Channel"), _("Invoice")):
            table.add_column(column)
        table.add_column(_("Days overdue"), justify="right")
        table.add_column(_("Open"), justify="right")
        table.add_column(_("Currency"))
        for notice in result.notices:
            for position, item in enumerate(notice.items):
                first = position == 0
                table.add_row(
                    notice.customer_number if first else "",
                    str(notice.level) if first else "",
                    notice.language if first else "",
                    str(Channel(notice.channel).label) if first else "",
                    item.number,
                    str(item.days_overdue),
                    amount_human(item.open_minor, item.currency, locale),
                    item.currency,
                )
        if result.notices:
            Console(width=160).print(table)
        count = len(result.notices)
        if result.dry_run:
            message = ngettext("%(count)s notice would be sent", "%(count)s notices would be sent", count) % {
                "count": count
            }
        else:
            message = ngettext("%(count)s notice sent", "%(count)s notices sent", count) % {"count": count}
        sys.stdout.write(message + "\n")


def _record(result: services.DunningRunResult) -> dict[str, Any]:
    return {
        "as_of": result.as_of.isoformat(),
        "notices": [
            {
                "customer_number": notice.customer_number,
                "level": notice.level,
                "language": notice.language,
                "channel": notice.channel,
                "items": [
                    {
                        "invoice_number": item.number,
                        "days_overdue": item.days_overdue,
                        "open_amount": format_minor(item.open_minor, item.currency),
                    }
                    for item in notice.items
                ],
            }
            for notice in result.notices
        ],
    }
