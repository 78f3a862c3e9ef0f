"""The late-charges actions of `o2c dunning` (docs/late-charges.md):

`o2c dunning charge --as-of DATE [--dry-run] [--entity CODE] [--format table|json]`: issue, per customer
and currency, one debit memo of the late-payment interest accrued since it was last charged and the
recovery fees not charged yet, where the entity's policy charges them. JSON: `{"as_of", "entity",
"dry_run", "charges": [{"customer_number", "currency", "debit_memo", "interest", "fee", "total",
"items": [{"invoice_number", "interest_from", "interest_through", "interest", "fee"}]}]}`.

`o2c dunning rates [--name NAME] [--format table|json]` lists the reference rates;
`o2c dunning rate-add --name NAME --valid-from DATE --percent PERCENT [--source TEXT]` records the next
one (audited)."""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rich.console import Console
from rich.table import Table

from o2c.collections import late_charges
from o2c.core import clock
from o2c.core.cli import O2CCommand, date_option
from o2c.core.exceptions import InputError
from o2c.core.formatting import amount_human, cli_locale, date_human
from o2c.core.money import format_minor
from o2c.ledger.models import LegalEntity

ACTIONS = ("charge", "rates", "rate-add")


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--name", help="rates, rate-add: the reference rate, e.g. de_base")
    parser.add_argument("--valid-from", help="rate-add: the day the rate applies from, YYYY-MM-DD")
    parser.add_argument("--percent", help="rate-add: the annual rate in percent, e.g. 1.27 or -0.88")
    parser.add_argument("--source", default="", help="rate-add: where it is published")


def _date(option: str, text: str | None) -> date:
    if not text:
        raise InputError(_("%(option)s: give a date, YYYY-MM-DD") % {"option": option})
    return date_option(option, text)


def command(command: O2CCommand, options: dict[str, Any], *, entity: LegalEntity | None) -> None:
    if options["action"] == "rates":
        _rates(options)
    elif options["action"] == "rate-add":
        _rate_add(command, options)
    else:
        assert entity is not None
        _charge(command, options, entity=entity, as_of=_date("--as-of", options["as_of"]))


def _rate_add(command: O2CCommand, options: dict[str, Any]) -> None:
    if not options["name"]:
        raise InputError(_("--name: the reference rate's name, e.g. de_base"), code="bad_name")
    if not options["percent"]:
        raise InputError(_("--percent: the annual rate in percent, e.g. 1.27"), code="bad_rate")
    rate = late_charges.reference_rate_add(
        name=options["name"],
        valid_from=_date("--valid-from", options["valid_from"]),
        annual_percent=options["percent"],
        source=options["source"],
        actor=None,
        now=clock.now(),
    )
    command.note(
        _("%(name)s from %(day)s: %(percent)s %%")
        % {"name": rate.name, "day": rate.valid_from.isoformat(), "percent": rate.annual_percent.normalize()}
    )


def _rates(options: dict[str, Any]) -> None:
    rates = late_charges.reference_rate_list(name=options["name"])
    if options["format"] == "json":
        record = {
            "rates": [
                {
                    "name": rate.name,
                    "valid_from": rate.valid_from.isoformat(),
                    "percent": str(rate.annual_percent.normalize()),
                }
                for rate in rates
            ]
        }
        sys.stdout.write(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
        return
    locale = cli_locale()
    table = Table(title=_("Reference rates"))
    table.add_column(_("Name"))
    table.add_column(_("Valid from"))
    table.add_column(_("Annual rate"), justify="right")
    table.add_column(_("Source"))
    for rate in rates:
        table.add_row(
            rate.name,
            date_human(rate.valid_from, locale),
            late_charges.percent_human(rate.annual_percent, locale),
            rate.source,
        )
    Console(width=160).print(table)


def _charge(command: O2CCommand, options: dict[str, Any], *, entity: LegalEntity, as_of: date) -> None:
    result = late_charges.late_charges_run(
        entity=entity, as_of=as_of, dry_run=options["dry_run"], actor=None, now=clock.now()
    )
    for name, valid_from in result.stale_rates:
        command.warn(
            _(
                "%(name)s: the latest rate recorded is of %(day)s and was applied after it; record a "
                "newer one with o2c dunning rate-add"
            )
            % {"name": name, "day": valid_from.isoformat()}
        )
    if options["format"] == "json":
        sys.stdout.write(json.dumps(_record(result), ensure_ascii=False, indent=2) + "\n")
        return
    locale = cli_locale()
    title = (
        _("Late charges of %(entity)s on %(date)s (dry run: nothing charged)")
        if result.dry_run
        else _("Late charges of %(entity)s on %(date)s")
    )
    table = Table(title=title % {"entity": result.entity_code, "date": date_human(result.as_of, locale)})
    for column in (_("Customer"), _("Debit memo"), _("Invoice"), _("Interest from"), _("Interest through")):
        table.add_column(column)
    table.add_column(_("Interest"), justify="right")
    table.add_column(_("Fee"), justify="right")
    table.add_column(_("Currency"))
    for charge in result.charges:
        for position, item in enumerate(charge.items):
            first = position == 0
            table.add_row(
                charge.customer_number if first else "",
                charge.document_number if first else "",
                item.number,
                date_human(item.interest_from, locale) if item.interest_from else "",
                date_human(item.interest_through, locale) if item.interest_through else "",
                amount_human(item.interest_minor, item.currency, locale),
                amount_human(item.fee_minor, item.currency, locale),
                item.currency,
            )
    if result.charges:
        Console(width=160).print(table)
    count = len(result.charges)
    if result.dry_run:
        message = ngettext(
            "%(count)s debit memo would be issued", "%(count)s debit memos would be issued", count
        ) % {"count": count}
    else:
        message = ngettext("%(count)s debit memo issued", "%(count)s debit memos issued", count) % {
            "count": count
        }
    sys.stdout.write(message + "\n")


def _record(result: late_charges.ChargeRun) -> dict[str, Any]:
    return {
        "as_of": result.as_of.isoformat(),
        "entity": result.entity_code,
        "dry_run": result.dry_run,
        "charges": [
            {
                "customer_number": charge.customer_number,
                "currency": charge.currency,
                "debit_memo": charge.document_number or None,
                "interest": format_minor(charge.interest_minor, charge.currency),
                "fee": format_minor(charge.fee_minor, charge.currency),
                "total": format_minor(charge.total_minor, charge.currency),
                "items": [
                    {
                        "invoice_number": item.number,
                        "interest_from": item.interest_from.isoformat() if item.interest_from else None,
                        "interest_through": item.interest_through.isoformat()
                        if item.interest_through
                        else None,
                        "interest": format_minor(item.interest_minor, item.currency),
                        "fee": format_minor(item.fee_minor, item.currency),
                    }
                    for item in charge.items
                ],
            }
            for charge in result.charges
        ],
    }
