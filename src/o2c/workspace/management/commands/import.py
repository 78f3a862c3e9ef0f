"""`o2c import customers|invoices|fx-rates FILE.csv`: load master data, open items and FX rates."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from o2c.core import clock
from o2c.core.cli import O2CCommand, progress_stages
from o2c.workspace import importers


class Command(O2CCommand):
    help = "Import customers, open items (invoices and credit memos) or FX rates from a CSV file."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("kind", choices=["customers", "invoices", "fx-rates"])
        parser.add_argument("file", type=Path)
        parser.add_argument("--entity", help="legal entity code (default: the default entity)")

    def run(self, *args: Any, **options: Any) -> None:
        kind: str = options["kind"]
        path: Path = options["file"]
        now = clock.now()
        if kind == "customers":
            customers = importers.import_customers(path, entity_code=options["entity"], actor=None, now=now)
            self.note(
                f"{path}: {customers.created} customers created, {customers.updated} updated, "
                f"{customers.unchanged} unchanged"
            )
        elif kind == "invoices":
            with progress_stages() as stage:
                invoices = importers.import_invoices(
                    path,
                    entity_code=options["entity"],
                    actor=None,
                    now=now,
                    progress_factory=lambda total: stage("importing open items", total),
                )
            self.note(
                f"{path}: {invoices.created} open items created, {invoices.unchanged} unchanged, "
                f"{invoices.journal_entries} journal entries posted"
            )
        else:
            created, updated = importers.import_fx_rates(path, now=now)
            self.note(f"{path}: {created} FX rates created, {updated} updated")
