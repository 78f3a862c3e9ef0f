"""`o2c collections escalations --as-of DATE [--entity CODE] [--format table|json]`: the accounts the
escalation matrix proposes to move above their current level, with the rule that fired and its figures
(docs/escalation.md). JSON: `{"entity", "as_of", "proposals": [{"customer_number", "customer_name",
"current_level", "proposed_level", "rule", "conditions", "oldest_due_date", "days_overdue", "overdue":
[{"currency", "amount"}], "broken_promises", "dunning_level", "dunning_level_since"}]}`.

`o2c collections agency-export --agency CODE [--placed-from DATE] [--placed-to DATE] [--entity CODE]
--output FILE.csv`: the items placed with the agency that are still open, one CSV row each (the columns
of `agency.EXPORT_COLUMNS`, UTF-8, a header row). An unknown agency or a bad date is one line on stderr,
exit status 2, and no file."""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from datetime import date
from pathlib import Path
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rich.console import Console
from rich.table import Table

from o2c.collections import agency, escalation
from o2c.collections.models import EscalationLevel
from o2c.core import clock
from o2c.core.cli import O2CCommand, date_option
from o2c.core.exceptions import InputError
from o2c.core.formatting import amount_human, cli_language, cli_locale, date_human
from o2c.ledger.options import entity_option


def _date(option: str, text: str | None, *, required: bool = False) -> date | None:
    if not text:
        if required:
            raise InputError(_("%(option)s: a date is required, YYYY-MM-DD") % {"option": option})
        return None
    return date_option(option, text)


class Command(O2CCommand):
    help = (
        "Collections: escalations lists the accounts the escalation matrix proposes to escalate as of a "
        "day; agency-export writes the items placed with a collection agency that are still open as CSV."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["escalations", "agency-export"])
        parser.add_argument("--as-of", help="escalations: the day, YYYY-MM-DD")
        parser.add_argument("--entity", help="legal entity code (default: the default entity)")
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument("--agency", help="agency-export: the agency's code")
        parser.add_argument("--placed-from", help="agency-export: placements from this day, YYYY-MM-DD")
        parser.add_argument("--placed-to", help="agency-export: placements through this day, YYYY-MM-DD")
        parser.add_argument("--output", help="agency-export: the CSV file to write")

    def run(self, *args: Any, **options: Any) -> None:
        with translation.override(cli_language()):
            if options["action"] == "agency-export":
                self._export(options)
                return
            as_of = _date("--as-of", options["as_of"], required=True)
            assert as_of is not None
            entity = entity_option(options["entity"])
            proposals = escalation.escalation_proposals(
                entity=entity, as_of=as_of, actor=None, now=clock.now()
            )
            if options["format"] == "json":
                record = {
                    "entity": entity.code,
                    "as_of": as_of.isoformat(),
                    "proposals": [escalation.proposal_record(proposal) for proposal in proposals],
                }
                sys.stdout.write(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
                return
            self._table(entity.code, as_of, proposals)

    def _table(self, entity_code: str, as_of: date, proposals: list[escalation.Proposal]) -> None:
        locale = cli_locale()
        table = Table(
            title=_("Escalations proposed for %(entity)s on %(date)s")
            % {"entity": entity_code, "date": date_human(as_of, locale)}
        )
        for column in (_("Customer"), _("Name"), _("Level"), _("Proposed"), _("Rule")):
            table.add_column(column)
        table.add_column(_("Days overdue"), justify="right")
        table.add_column(_("Overdue"), justify="right")
        table.add_column(_("Broken promises"), justify="right")
        table.add_column(_("Dunning level"), justify="right")
        for proposal in proposals:
            table.add_row(
                proposal.customer_number,
                proposal.customer_name,
                str(EscalationLevel(proposal.current_level).label),
                str(EscalationLevel(proposal.proposed_level).label),
                proposal.rule_name,
                str(proposal.days_overdue),
                "\n".join(
                    f"{amount_human(minor, currency, locale)} {currency}"
                    for currency, minor in proposal.overdue
                ),
                str(proposal.broken_promises),
                str(proposal.dunning_level),
            )
        Console(width=160).print(table)
        self.note(
            ngettext("%(count)s account to escalate", "%(count)s accounts to escalate", len(proposals))
            % {"count": len(proposals)}
        )

    def _export(self, options: dict[str, Any]) -> None:
        if not options["agency"]:
            raise InputError(_("--agency: the agency's code is required"))
        if not options["output"]:
            raise InputError(_("--output: the CSV file to write is required"))
        placed_from = _date("--placed-from", options["placed_from"])
        placed_to = _date("--placed-to", options["placed_to"])
        entity = entity_option(options["entity"])
        try:
            found = agency.agency_get(entity_ids=[entity.pk], code=options["agency"])
        except agency.UnableToPlace as error:
            raise InputError(f"--agency: {error.message}", code=error.code) from None
        rows = agency.export_rows(
            agency=found, as_of=clock.today_in(entity.time_zone), placed_from=placed_from, placed_to=placed_to
        )
        path = Path(options["output"])
        try:
            path.write_text(agency.export_csv(rows), encoding="utf-8")
        except OSError as error:
            raise InputError(f"{path}: {error.strerror}") from None
        self.note(
            ngettext("%(count)s item written to %(file)s", "%(count)s items written to %(file)s", len(rows))
            % {"count": len(rows), "file": path}
        )
