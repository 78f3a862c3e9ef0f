"""`o2c close period YYYY-MM [--entity CODE] [--format table|json]` and
`o2c close reopen YYYY-MM --user NAME --reason TEXT [--entity CODE] [--format table|json]`."""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import translation
from django.utils.translation import gettext as _

from o2c.close import services
from o2c.core import clock
from o2c.core.cli import O2CCommand
from o2c.core.exceptions import InputError
from o2c.core.formatting import cli_locale
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.reporting.errors import UnableToReadPeriod
from o2c.reporting.rollforward import month_start


class Command(O2CCommand):
    help = "Month-end close: close a fiscal period, or reopen one (an AR manager, with a reason)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["period", "reopen"])
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
        if options["action"] == "period":
            result = services.period_close(entity=entity, start=start, actor=None, now=clock.now())
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
            sys.stdout.write(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
            return
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
