"""`o2c import customers|invoices|fx-rates|products|subscriptions|usage FILE.csv`."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from o2c.core import clock
from o2c.core.cli import O2CCommand, progress_stages
from o2c.workspace import billing_imports, importers


class Command(O2CCommand):
    help = (
        "Import customers, open items (invoices and credit memos), FX rates, products, subscriptions "
        "or usage events from a CSV file."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "kind", choices=["customers", "invoices", "fx-rates", "products", "subscriptions", "usage"]
        )
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
        elif kind in ("products", "subscriptions"):
            load = (
                billing_imports.import_products
                if kind == "products"
                else billing_imports.import_subscriptions
            )
            counts = load(path, entity_code=options["entity"], actor=None, now=now)
            self.note(
                f"{path}: {counts.created} {kind} created, {counts.updated} updated, "
                f"{counts.unchanged} unchanged"
            )
        elif kind == "usage":
            with progress_stages() as stage:
                usage = billing_imports.import_usage(
                    path,
                    entity_code=options["entity"],
                    now=now,
                    progress_factory=lambda total: stage("importing usage events", total),
                )
            self.note(
                f"{path}: {usage.created} usage events created, {usage.ignored} already known and ignored, "
                f"{usage.late} subscriptions to re-rate for late usage"
            )
        else:
            created, updated = importers.import_fx_rates(path, now=now)
            self.note(f"{path}: {created} FX rates created, {updated} updated")
