"""`o2c close period YYYY-MM [--entity CODE] [--format table|json]` (revalues the month's open
foreign-currency items first, where they are not revalued yet),
`o2c close revalue YYYY-MM [--entity CODE] [--format table|json]` and
`o2c close reopen YYYY-MM --user NAME --reason TEXT [--entity CODE] [--format table|json]`."""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import translation
from django.utils.translation import gettext as _
from rich.console import Console
from rich.table import Table

from o2c.close import revaluation, services
from o2c.core import clock
from o2c.core.cli import O2CCommand
from o2c.core.exceptions import InputError
from o2c.core.formatting import amount_human, cli_locale, date_human
from o2c.core.money import format_minor
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.reporting.errors import UnableToReadPeriod
from o2c.reporting.rollforward import month_start


class Command(O2CCommand):
    help = (
        "Month-end close: revalue a month's open foreign-currency items, close a fiscal period (revalued "
        "first), or reopen one (an AR manager, with a reason)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["period", "revalue", "reopen"])
        parser.add_argument("period", metavar="YYYY-MM")
        parser.add_argument("--entity", help="legal entity code (default: the default entity)")
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument("--user", help="reopen: the AR manager's user name")
        parser.add_argument("--reason", default="", help="reopen: why the period opens again")

    def run(self, *args: Any, **options: Any) -> None:
        language = cli_locale().split("_")[0]
        with translation.override(language if language in dict(settings.LANGUAGES) else "en"):
            self._run(options)

    def _run(self, options: dict[str, Any]) -> None:
        code = options["entity"]
        entity = LegalEntity.objects.filter(code=code).first() if code else ledger_selectors.entity_default()
        if entity is None:
            raise InputError(_("--entity: unknown legal entity '%(code)s'") % {"code": code})
        try:
            start = month_start(options["period"])
        except UnableToReadPeriod as error:
            raise InputError(error.message) from None
        revalued = None
        if options["action"] == "revalue":
            revalued = revaluation.revalue(entity=entity, start=start, actor=None, now=clock.now())
            if options["format"] == "json":
                self._json(_revaluation_record(revalued))
            else:
                self._revaluation_table(revalued)
            return
        if options["action"] == "period":
            revalued, _provided, result = services.month_close(
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
            self._json(record)
            return
        if revalued is not None and revalued.rows:
            self._revaluation_table(revalued)
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
