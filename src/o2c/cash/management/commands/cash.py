"""`o2c cash import FILE [--format table|json]` and `o2c cash applications --format csv`."""

from __future__ import annotations

import csv
import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from o2c.cash import selectors, services
from o2c.core import clock
from o2c.core.cli import O2CCommand, progress_stages
from o2c.core.exceptions import InputError
from o2c.core.formatting import cli_locale, money_human
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity


def _entity(code: str | None) -> LegalEntity:
    entity = LegalEntity.objects.filter(code=code).first() if code else ledger_selectors.entity_default()
    if entity is None:
        raise InputError(f"--entity: unknown legal entity '{code}'")
    return entity


class Command(O2CCommand):
    help = (
        "Cash application. import: read, match and apply a bank file. "
        "applications: every allocation of a payment."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["import", "applications"])
        parser.add_argument("file", nargs="?", type=Path)
        parser.add_argument("--format", choices=["table", "json", "csv"], default=None)
        parser.add_argument("--entity", help="legal entity code (default: the default entity)")

    def run(self, *args: Any, **options: Any) -> None:
        entity = _entity(options["entity"])
        if options["action"] == "import":
            self._import(options["file"], entity, options["format"] or "table")
        else:
            if (options["format"] or "csv") != "csv":
                raise InputError("--format: applications are written as csv")
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(selectors.APPLICATION_COLUMNS)
            for row in selectors.application_rows(entity_ids=[entity.pk]):
                writer.writerow(row.values())

    def _import(self, path: Path | None, entity: LegalEntity, output: str) -> None:
        if output not in ("table", "json"):
            raise InputError("--format: import prints table or json")
        if path is None:
            raise InputError("import needs a FILE")
        try:
            data = path.read_bytes()
        except OSError as error:
            raise InputError(f"{path}: cannot be read ({error.strerror})") from None
        with progress_stages() as stage:
            advance: list[Any] = []
            result = services.bank_file_import(
                data=data,
                file_name=path.name,
                entity=entity,
                actor=None,
                now=clock.now(),
                on_total=lambda total: advance.append(stage("matching and applying payments", total)),
                progress=lambda done: advance[0](done) if advance else None,
            )
        for warning in result.warnings:
            self.warn(f"{path.name}: {warning}")
        if output == "json":
            sys.stdout.write(json.dumps(result.as_json(), indent=2) + "\n")
            return
        if result.already_imported:
            self.note(f"{path.name}: imported before; nothing changed")
        locale = cli_locale()
        table = Table(title=f"{path.name} ({result.file_format})")
        table.add_column("")
        table.add_column("", justify="right")
        for label, value in (
            ("statements", result.statements),
            ("entries", result.entries),
            ("payments created", result.payments),
            ("already imported", result.duplicates),
            ("not incoming cash", result.ignored),
            ("applied", result.applied),
            ("partially applied", result.partially_applied),
            ("on account", result.on_account),
            ("suggested (for a person)", result.suggested),
            ("unidentified", result.unidentified),
        ):
            table.add_row(label, str(value))
        for currency, minor in sorted(result.amount_minor.items()):
            table.add_row(f"received {currency}", money_human(minor, currency, locale))
            applied = result.applied_minor.get(currency, 0)
            table.add_row(f"applied {currency}", money_human(applied, currency, locale))
        Console().print(table)
