"""`o2c demo`: fill an empty database with a realistic demo company and print how to log in."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from o2c.core import clock
from o2c.core.cli import O2CCommand, progress_stages
from o2c.workspace import demo, demo_billing, demo_credit


class Command(O2CCommand):
    help = (
        "Fill an empty database with a demo company: customers in five countries, two years of invoices, "
        "credit memos and payments, and one user per role. Prints how to log in."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when there are customers already"
        )
        parser.add_argument(
            "--seed", type=int, default=demo.DEFAULT_SEED, help="random seed (same seed, same data)"
        )
        parser.add_argument(
            "--customers", type=int, default=demo.DEFAULT_CUSTOMERS, help="how many customers (default 300)"
        )
        parser.add_argument("--entity", help="legal entity code (default: the default entity)")

    def run(self, *args: Any, **options: Any) -> None:
        entity = demo.demo_entity(code=options["entity"])
        if options["if_empty"] and demo.has_customers(entity=entity):
            self.note(f"demo: entity {entity.code} has customers already; nothing to do")
            return
        with progress_stages() as stage:
            result = demo.demo_create(
                entity=entity,
                today=clock.today_in(entity.time_zone),
                now=clock.now(),
                seed=options["seed"],
                customers=options["customers"],
                progress=stage,
            )
        self.stdout.write(_summary(result))


def _summary(result: demo.DemoResult) -> str:
    head = ("username", "role", "language", "password")
    rows = [
        (
            login.username,
            login.role + (" (superuser)" if login.username == "admin" else ""),
            login.language,
            login.password,
        )
        for login in result.logins
    ]
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]

    def line(cells: tuple[str, ...]) -> str:
        return "  " + "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

    return "\n".join(
        [
            f"Demo company ready in legal entity {result.entity_code}:",
            f"  {result.customers} customers ({result.groups} groups, {result.on_hold} on hold, "
            f"{result.blocked} blocked), {result.contacts} contacts, {result.bank_accounts} bank accounts",
            f"  {result.invoices} invoices, {result.credit_memos} credit memos, {result.payments} payments, "
            f"{result.discounts} early-payment discounts, {result.write_offs} write-offs",
            f"  {result.open_invoices} invoices open, {result.overdue_invoices} of them overdue, "
            f"{result.disputed} disputed ({result.dispute_cases} dispute cases, "
            f"{result.dispute_cases_closed} of them resolved)",
            *_billing_lines(result.billing),
            *_credit_lines(result.credit, result.entity_code),
            "",
            f"Start the server (o2c runserver), open {demo.URL} and sign in as:",
            "",
            line(head),
            line(tuple("-" * width for width in widths)),
            *(line(row) for row in rows),
            "",
        ]
    )


def _credit_lines(credit: demo_credit.CreditSummary | None, entity_code: str) -> list[str]:
    if credit is None:
        return []
    return [
        f"Credit desk in {entity_code}:",
        f"  {credit.orders} sales orders ({credit.held} held), {credit.scored} customers scored "
        f"({credit.reviews_due} reviews due), {credit.raise_requests} credit raise request",
    ]


def _billing_lines(billing: demo_billing.BillingSummary | None) -> list[str]:
    if billing is None:
        return []
    return [
        f"Contracts and billing in {', '.join(billing.entities)} ({billing.us_customers} US customers):",
        f"  {billing.products} products, {billing.subscriptions} subscriptions ({billing.amended} amended, "
        f"{billing.cancelled} cancelled), {billing.usage_events} usage events",
        f"  {billing.runs} billing runs: {billing.invoices} invoices ({billing.consolidated} consolidated), "
        f"{billing.credit_memos} credit memos, {billing.payments} paid; {billing.drafts} drafts to review",
    ]
