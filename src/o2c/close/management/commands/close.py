"""`o2c close period YYYY-MM [--entity CODE] [--format table|json]` (revalues the month's open
foreign-currency items first, where they are not revalued yet),
`o2c close revalue YYYY-MM [--entity CODE] [--format table|json]` and
`o2c close reopen YYYY-MM --user NAME --reason TEXT [--entity CODE] [--format table|json]`,
`o2c close provision YYYY-MM [--entity CODE] [--format table|json]` (the expected-credit-loss provision,
also posted by `o2c close period` after the revaluation) and
`o2c close provision-rates [--set SEGMENT BUCKET RATE | --derive [--factor F]] [--user NAME --reason TEXT]
[--entity CODE] [--format table|json]` (the provision matrix: lists it, or an AR manager edits it)."""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_decimal, format_percent
from django.contrib.auth.models import User
from django.utils import translation
from django.utils.translation import gettext as _
from rich.console import Console
from rich.table import Table

from o2c.close import provision, revaluation, services
from o2c.core import clock
from o2c.core.cli import O2CCommand
from o2c.core.exceptions import InputError
from o2c.core.formatting import amount_human, cli_language, cli_locale, date_human
from o2c.core.money import format_minor
from o2c.ledger.models import LegalEntity
from o2c.ledger.options import entity_option
from o2c.reporting.errors import UnableToReadPeriod
from o2c.reporting.rollforward import month_start


class Command(O2CCommand):
    help = (
        "Month-end close: revalue a month's open foreign-currency items, close a fiscal period (revalued "
        "first), or reopen one (an AR manager, with a reason); post the expected-credit-loss provision and "
        "list or edit its loss rates."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["period", "revalue", "reopen", "provision", "provision-rates"])
        parser.add_argument("period", metavar="YYYY-MM", nargs="?")
        parser.add_argument("--entity", help="legal entity code (default: the default entity)")
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument(
            "--user", help="reopen, provision-rates --set/--derive: the AR manager's user name"
        )
        parser.add_argument("--reason", default="", help="reopen, provision-rates --set: why")
        parser.add_argument(
            "--set",
            nargs=3,
            metavar=("SEGMENT", "BUCKET", "RATE"),
            help="provision-rates: set one loss rate (a decimal: 0.025 is 2.5 %%)",
        )
        parser.add_argument(
            "--derive",
            action="store_true",
            help="provision-rates: derive every rate from the last 12 month ends",
        )
        parser.add_argument(
            "--factor", default="1", help="provision-rates --derive: forward-looking factor (default 1)"
        )

    def run(self, *args: Any, **options: Any) -> None:
        with translation.override(cli_language()):
            self._run(options)

    def _run(self, options: dict[str, Any]) -> None:
        entity = entity_option(options["entity"])
        if options["action"] == "provision-rates":
            self._provision_rates(entity, options)
            return
        if not options["period"]:
            raise InputError(_("the period is missing: write it YYYY-MM"))
        try:
            start = month_start(options["period"])
        except UnableToReadPeriod as error:
            raise InputError(error.message) from None
        revalued = provided = None
        if options["action"] == "provision":
            provided = provision.provision_post(entity=entity, start=start, actor=None, now=clock.now())
            if options["format"] == "json":
                self._json(_provision_record(provided))
            else:
                self._provision_table(provided)
            return
        if options["action"] == "revalue":
            revalued = revaluation.revalue(entity=entity, start=start, actor=None, now=clock.now())
            if options["format"] == "json":
                self._json(_revaluation_record(revalued))
            else:
                self._revaluation_table(revalued)
            return
        if options["action"] == "period":
            revalued, provided, result = services.month_close(
                entity=entity, start=start, actor=None, now=clock.now()
            )
        else:
            if not options["user"]:
                raise InputError(_("--user: reopening a period names the AR manager who decides it"))
            actor = User.objects.filter(username=options["user"]).first()
            if actor is None:
                raise InputError(_("--user: unknown user '%(name)s'") % {"name": options["user"]})
            result = services.period_reopen(
                entity=entity, start=start, actor=actor, reason=options["reason"], now=clock.now()
            )
        for warning in result.warnings:
            self.warn(warning)
        if options["format"] == "json":
            record = {
                "entity": result.entity_code,
                "period": result.month,
                "status": result.status,
                "changed": result.changed,
                "warnings": result.warnings,
            }
            if options["action"] == "period":
                record["revaluation"] = _revaluation_record(revalued) if revalued is not None else None
                record["provision"] = _provision_record(provided) if provided is not None else None
            self._json(record)
            return
        if revalued is not None and revalued.rows:
            self._revaluation_table(revalued)
        if provided is not None and provided.total_minor:
            self._provision_table(provided)
        if result.status == "closed":
            message = (
                _("%(entity)s %(period)s closed")
                if result.changed
                else _("%(entity)s %(period)s was closed already")
            )
        else:
            message = (
                _("%(entity)s %(period)s reopened") if result.changed else _("%(entity)s %(period)s is open")
            )
        sys.stdout.write(message % {"entity": result.entity_code, "period": result.month} + "\n")

    def _json(self, record: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(record, ensure_ascii=False, indent=2) + "\n")

    def _actor(self, options: dict[str, Any], what: str) -> User:
        if not options["user"]:
            raise InputError(_("--user: %(what)s names the AR manager who decides it") % {"what": what})
        actor = User.objects.filter(username=options["user"]).first()
        if actor is None:
            raise InputError(_("--user: unknown user '%(name)s'") % {"name": options["user"]})
        return actor

    def _provision_rates(self, entity: LegalEntity, options: dict[str, Any]) -> None:
        if options["set"] and options["derive"]:
            raise InputError(_("--set and --derive: choose one"))
        if options["set"]:
            segment, bucket, text = options["set"]
            actor = self._actor(options, _("setting a loss rate"))
            rate = provision.parse_rate(text)
            provision.provision_rate_set(
                entity=entity,
                segment=segment,
                bucket=bucket,
                rate=rate,
                actor=actor,
                reason=options["reason"],
                now=clock.now(),
            )
            done = _("%(entity)s: loss rate of %(segment)s %(bucket)s set to %(rate)s") % {
                "entity": entity.code,
                "segment": segment,
                "bucket": bucket,
                "rate": _rate_text(rate),
            }
            sys.stderr.write(done + "\n")
        elif options["derive"]:
            actor = self._actor(options, _("deriving loss rates"))
            try:
                factor = Decimal(options["factor"])
            except InvalidOperation:
                factor = Decimal(-1)
            if not factor.is_finite() or factor < 0:
                raise InputError(
                    _("--factor: a decimal of 0 or more, not '%(factor)s'") % {"factor": options["factor"]}
                )
            now = clock.now()
            derived = provision.provision_rates_derive(
                entity=entity, as_of=clock.today_in(entity.time_zone), actor=actor, now=now, factor=factor
            )
            sys.stderr.write(
                _(
                    "%(entity)s: loss rates derived from the month ends %(first)s to %(last)s, "
                    "factor %(factor)s"
                )
                % {
                    "entity": entity.code,
                    "first": derived.month_ends[0].isoformat(),
                    "last": derived.month_ends[-1].isoformat(),
                    "factor": _rate_text(factor),
                }
                + "\n"
            )
        cells = provision.rate_matrix(entity=entity)
        method = provision.method_of(entity)
        if options["format"] == "json":
            self._json(
                {
                    "entity": entity.code,
                    "method": method,
                    "rates": [
                        {
                            "segment": cell.segment,
                            "bucket": cell.bucket,
                            "rate": _rate_text(cell.rate),
                            "source": cell.source or None,
                            "set_by": cell.set_by or None,
                            "set_at": cell.set_at.isoformat() if cell.set_at else None,
                            "reason": cell.reason,
                        }
                        for cell in cells
                    ],
                }
            )
            return
        locale = cli_locale()
        table = Table(
            title=_("Loss rates of %(entity)s (%(method)s)")
            % {"entity": entity.code, "method": _method_label(method)}
        )
        for column in (_("Segment"), _("Bucket")):
            table.add_column(column)
        table.add_column(_("Rate"), justify="right")
        for column in (_("Source"), _("Set by"), _("Set on"), _("Reason")):
            table.add_column(column)
        for cell in cells:
            table.add_row(
                cell.segment,
                cell.bucket,
                format_percent(cell.rate, format="0.00##%", locale=locale),
                cell.source,
                cell.set_by,
                date_human(cell.set_at.date(), locale) if cell.set_at else "",
                cell.reason,
            )
        Console(width=160).print(table)

    def _provision_table(self, result: provision.ProvisionResult) -> None:
        locale = cli_locale()
        names = {"entity": result.entity_code, "period": result.month}
        functional = result.functional_currency
        table = Table(
            title=_("Expected-credit-loss provision of %(entity)s on %(date)s (%(method)s)")
            % {
                "entity": result.entity_code,
                "date": date_human(result.as_of, locale),
                "method": _method_label(result.method),
            }
        )
        for column in (_("Segment"), _("Bucket"), _("Currency")):
            table.add_column(column)
        for column in (
            _("Open"),
            _("Rate"),
            _("Provision"),
            _("Provision (%(currency)s)") % {"currency": functional},
        ):
            table.add_column(column, justify="right")
        for row in result.rows:
            table.add_row(
                row.segment,
                row.bucket,
                row.currency,
                amount_human(row.open_minor, row.currency, locale),
                format_percent(row.rate, format="0.00##%", locale=locale),
                amount_human(row.provision_minor, row.currency, locale),
                amount_human(row.functional_minor, functional, locale),
            )
        table.add_row(_("Total"), "", "", "", "", "", amount_human(result.total_minor, functional, locale))
        Console(width=160).print(table)
        if result.posted:
            message = _("%(entity)s %(period)s provision posted, reversed on %(date)s")
        elif result.entry_id is not None:
            message = _("%(entity)s %(period)s was provided for already: nothing posted")
        else:
            message = _("%(entity)s %(period)s: no provision to post")
        sys.stdout.write(
            message
            % {**names, "date": date_human(result.reversal_date, locale) if result.reversal_date else ""}
            + "\n"
        )

    def _revaluation_table(self, result: revaluation.RevaluationResult) -> None:
        locale = cli_locale()
        names = {"entity": result.entity_code, "period": result.month}
        if not result.rows:
            sys.stdout.write(_("%(entity)s %(period)s has no open foreign-currency items") % names + "\n")
            return
        functional = result.functional_currency
        table = Table(
            title=_("FX revaluation of %(entity)s on %(date)s")
            % {"entity": result.entity_code, "date": date_human(result.rate_date, locale)}
        )
        table.add_column(_("Currency"))
        for column in (
            _("Rate"),
            _("Open"),
            _("Carrying (%(currency)s)") % {"currency": functional},
            _("Revalued (%(currency)s)") % {"currency": functional},
            _("Difference (%(currency)s)") % {"currency": functional},
        ):
            table.add_column(column, justify="right")
        for row in result.rows:
            table.add_row(
                row.currency,
                format_decimal(row.rate, format="0.##########", locale=locale),
                amount_human(row.open_minor, row.currency, locale),
                amount_human(row.carrying_minor, functional, locale),
                amount_human(row.revalued_minor, functional, locale),
                amount_human(row.difference_minor, functional, locale),
            )
        Console(width=160).print(table)
        message = (
            _("%(entity)s %(period)s revalued: unrealised FX differences posted, reversed on %(date)s")
            if result.posted
            else _("%(entity)s %(period)s was revalued already: nothing posted")
        )
        reversed_on = next((row.reversal_date for row in result.rows if row.reversal_date), None)
        sys.stdout.write(
            message % {**names, "date": date_human(reversed_on, locale) if reversed_on else ""} + "\n"
        )


def _rate_text(rate: Decimal) -> str:
    """A rate as a plain decimal string: 0.95, not 0.9500000000 or 9.5E-1."""
    return f"{rate.normalize():f}"


def _method_label(method: str) -> str:
    return _("CECL") if method == provision.CECL else _("IFRS 9 simplified approach")


def _provision_record(result: provision.ProvisionResult) -> dict[str, Any]:
    functional = result.functional_currency
    return {
        "entity": result.entity_code,
        "period": result.month,
        "as_of": result.as_of.isoformat(),
        "method": result.method,
        "functional_currency": functional,
        "rows": [
            {
                "segment": row.segment,
                "bucket": row.bucket,
                "currency": row.currency,
                "open": format_minor(row.open_minor, row.currency),
                "rate": _rate_text(row.rate),
                "provision": format_minor(row.provision_minor, row.currency),
                "provision_functional": format_minor(row.functional_minor, functional),
            }
            for row in result.rows
        ],
        "total": format_minor(result.total_minor, functional),
        "posted": result.posted,
        "reversal_date": result.reversal_date.isoformat() if result.reversal_date else None,
    }


def _revaluation_record(result: revaluation.RevaluationResult) -> dict[str, Any]:
    functional = result.functional_currency
    return {
        "entity": result.entity_code,
        "period": result.month,
        "rate_date": result.rate_date.isoformat(),
        "rows": [
            {
                "currency": row.currency,
                "rate": _rate_text(row.rate),
                "open": format_minor(row.open_minor, row.currency),
                "carrying": format_minor(row.carrying_minor, functional),
                "revalued": format_minor(row.revalued_minor, functional),
                "difference": format_minor(row.difference_minor, functional),
            }
            for row in result.rows
        ],
        "posted": result.posted,
    }
