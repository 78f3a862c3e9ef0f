"""Deterministic benchmark data: customers, FX rates and N open items in the public CSV formats.

    python -m bench.generate OUT_DIR [ROWS]

The same seed and row count always give byte-identical files: ~20,000 customers (some named Müller
for the search figure, a few in groups), issue dates over two years, EUR mostly (USD, GBP, CHF with
daily FX rates), ~60% fully paid history with `paid_date`, 20% partially paid, 20% open, and ~3%
credit memos with negative amounts.
"""

from __future__ import annotations

import csv
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

SEED = 20260316
FIRST_ISSUE = date(2024, 10, 1)
DAYS = 730  # two years of issue dates
CUSTOMERS = 20_000

SURNAMES = (
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "García",
    "Fernández",
    "González",
    "Rodríguez",
    "López",
    "Martínez",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Ruiz",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Evans",
    "Walker",
)
KINDS = ("GmbH", "AG", "KG", "SARL", "SA", "SL", "Ltd", "Inc", "& Söhne", "Holding", "Logistik", "Bau")
# country, currency, language, weight
MARKETS = (
    ("DE", "EUR", "de", 50),
    ("AT", "EUR", "de", 8),
    ("FR", "EUR", "fr", 14),
    ("ES", "EUR", "es", 10),
    ("NL", "EUR", "en", 8),
    ("US", "USD", "en", 5),
    ("GB", "GBP", "en", 3),
    ("CH", "CHF", "de", 2),
)
TERMS = ("NET30", "NET30", "NET30", "NET14", "NET60", "2/10NET30", "NET0")
FX = {"USD": 0.92, "GBP": 1.17, "CHF": 1.04}  # EUR per unit, start of the period


@dataclass(frozen=True)
class Files:
    customers: Path
    fx_rates: Path
    invoices: Path
    rows: int
    customer_count: int


def _customers(rng: random.Random, count: int) -> list[tuple[str, ...]]:
    markets = [m for m in MARKETS for _ in range(m[3])]
    rows: list[tuple[str, ...]] = []
    for i in range(1, count + 1):
        country, currency, language, _ = rng.choice(markets)
        surname = rng.choice(SURNAMES)
        name = f"{surname} {rng.choice(KINDS)} {i}"
        number = f"C{i:06d}"
        parent = f"C{i - rng.randint(1, 4):06d}" if i > 10 and i % 40 == 0 else ""
        limit = f"{rng.randrange(5, 500) * 1000}.00" if i % 3 == 0 else ""
        email = f"ap{i}@{surname.lower().replace('ü', 'ue')}-{i}.example"
        rows.append((number, name, country, currency, language, rng.choice(TERMS), email, "", parent, limit))
    return rows


def _fx_rates(rng: random.Random) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for currency, start in FX.items():
        rate = start
        for day in range(-40, DAYS + 120):
            rate *= 1 + rng.uniform(-0.004, 0.004)
            rows.append(((FIRST_ISSUE + timedelta(days=day)).isoformat(), currency, "EUR", f"{rate:.6f}"))
    return rows


def _amount(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    return f"{sign}{minor // 100}.{minor % 100:02d}"


def _invoices(rng: random.Random, rows: int, customers: Sequence[tuple[str, ...]]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for i in range(1, rows + 1):
        customer = customers[rng.randrange(len(customers))]
        issue = FIRST_ISSUE + timedelta(days=rng.randrange(DAYS))
        due = issue + timedelta(days=rng.choice((0, 14, 30, 30, 30, 60)))
        amount = rng.randint(1_000, 2_000_000)  # 10.00 .. 20,000.00
        is_credit = rng.random() < 0.03
        kind = rng.random()
        paid_date = ""
        if kind < 0.6:  # fully paid history
            open_amount = 0
            paid_date = (issue + timedelta(days=rng.randint(0, 90))).isoformat()
        elif kind < 0.8:  # partially paid
            open_amount = rng.randint(1, amount - 1)
            paid_date = (issue + timedelta(days=rng.randint(0, 60))).isoformat()
        else:
            open_amount = amount
        if is_credit:
            amount, open_amount = -amount, -open_amount
        prefix = "GS" if is_credit else "RE"
        po = f"PO-{rng.randrange(10**6):06d}" if rng.random() < 0.5 else ""
        out.append(
            (
                f"{prefix}{issue.year}-{i:07d}",
                customer[0],
                issue.isoformat(),
                due.isoformat(),
                customer[3],
                _amount(amount),
                _amount(open_amount),
                po,
                paid_date,
            )
        )
    return out


def generate(out_dir: Path, rows: int, *, customers: int = CUSTOMERS, seed: int = SEED) -> Files:
    """Write customers.csv, fx-rates.csv and invoices-<rows>.csv into out_dir (skipped if present)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = Files(
        customers=out_dir / f"customers-{customers}.csv",
        fx_rates=out_dir / "fx-rates.csv",
        invoices=out_dir / f"invoices-{rows}.csv",
        rows=rows,
        customer_count=customers,
    )
    rng = random.Random(seed)
    customer_rows = _customers(rng, customers)
    if not files.customers.exists():
        _write(
            files.customers,
            (
                "customer_number",
                "name",
                "country",
                "currency",
                "language",
                "payment_terms",
                "email",
                "vat_id",
                "parent_number",
                "credit_limit",
            ),
            customer_rows,
        )
    if not files.fx_rates.exists():
        _write(
            files.fx_rates,
            ("date", "from_currency", "to_currency", "rate"),
            _fx_rates(random.Random(seed + 1)),
        )
    if not files.invoices.exists():
        _write(
            files.invoices,
            (
                "invoice_number",
                "customer_number",
                "issue_date",
                "due_date",
                "currency",
                "amount",
                "open_amount",
                "po_number",
                "paid_date",
            ),
            _invoices(random.Random(seed + 2), rows, customer_rows),
        )
    return files


def _write(path: Path, header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    tmp.replace(path)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("bench/data")
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    made = generate(target, count)
    print(made.customers, made.fx_rates, made.invoices)
