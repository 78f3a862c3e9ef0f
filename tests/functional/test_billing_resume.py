"""A billing run killed midway (SIGKILL, no clean-up) and run again ends exactly as one uninterrupted
run: the same invoices, the same numbers without gaps, nothing billed twice, nothing missed."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

CUSTOMERS = 180
AS_OF = "2026-03-01"


def o2c(database: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "o2c.manage", *args],
        env=_env(database),
        capture_output=True,
        text=True,
        check=check,
        timeout=600,
    )


def _env(database: Path) -> dict[str, str]:
    return {
        **os.environ,
        "O2C_DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_SETTINGS_MODULE": "o2c.config.settings",
        "O2C_DELIVER_INVOICES": "0",  # rendering 180 PDFs is measured and tested apart
        "O2C_BILLING_BATCH": "10",  # many small transactions, so the kill lands between and inside them
    }


def outcome(database: Path) -> dict[str, object]:
    """Everything a run decides: documents with numbers and amounts, what was billed, watermarks."""
    with sqlite3.connect(database) as db:
        documents = db.execute(
            "select d.number, c.number, d.status, d.total_minor from receivables_document d "
            "join customers_customer c on c.id = d.customer_id order by c.number"
        ).fetchall()
        billed = db.execute(
            "select s.number, b.period_start, b.amount_minor from billing_billedline b "
            "join billing_subscription s on s.id = b.subscription_id order by s.number, b.period_start"
        ).fetchall()
        watermarks = db.execute(
            "select number, billed_through, rerate_from from billing_subscription order by number"
        ).fetchall()
        entries = db.execute("select count(*) from ledger_journalentry").fetchone()[0]
        series = db.execute("select prefix, year, last_number from receivables_numberseries").fetchall()
    return {
        "documents": documents,
        "billed": billed,
        "watermarks": watermarks,
        "entries": entries,
        "series": series,
    }


def count(database: Path, sql: str) -> int:
    try:
        with sqlite3.connect(database, timeout=0.2) as db:
            return int(db.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # the writer holds the lock: ask again
        return -1


@pytest.fixture(scope="module")
def loaded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("billing-resume")
    database = folder / "loaded.sqlite3"
    o2c(database, "migrate", "--verbosity", "0")
    customers = folder / "customers.csv"
    customers.write_text(
        "customer_number,name,country,currency,language,payment_terms,email,vat_id,parent_number,credit_limit\n"
        + "".join(f"C-{n:04d},Kunde {n} GmbH,DE,EUR,de,NET30,,,,\n" for n in range(CUSTOMERS)),
        encoding="utf-8",
    )
    products = folder / "products.csv"
    products.write_text(
        "product_code,name,price_model,currency,unit_price,tiers,billing_period,timing,metric\n"
        "PLAT,Platform,flat,EUR,99.00,,month,advance,\n"
        "SEAT,Seats,per_unit,EUR,12.00,,month,arrears,\n",
        encoding="utf-8",
    )
    subscriptions = folder / "subscriptions.csv"
    subscriptions.write_text(
        "subscription_number,customer_number,bill_to_number,product_code,quantity,start_date,end_date,"
        "discount_percent,po_number\n"
        + "".join(
            f"S-{n:04d}-P,C-{n:04d},,PLAT,1,2026-01-{1 + n % 28:02d},,,\n"
            f"S-{n:04d}-S,C-{n:04d},,SEAT,{1 + n % 9},2026-01-01,,{n % 3 * 5},\n"
            for n in range(CUSTOMERS)
        ),
        encoding="utf-8",
    )
    for kind, path in (("customers", customers), ("products", products), ("subscriptions", subscriptions)):
        o2c(database, "import", kind, str(path))
    return database


@pytest.fixture(scope="module")
def expected(loaded_database: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The outcome of one uninterrupted run."""
    reference = tmp_path_factory.mktemp("reference") / "reference.sqlite3"
    shutil.copy(loaded_database, reference)
    o2c(reference, "billing", "run", "--as-of", AS_OF, "--issue")
    return outcome(reference)


@pytest.mark.parametrize(
    ("phase", "preview_first", "kill_when"),
    [
        # while customers are billed, each chunk's invoices numbered and posted in its transaction
        ("billing", False, "select count(*) from receivables_document where status = 'issued'"),
        # while the drafts of an earlier preview are numbered and posted, before billing starts
        ("issuing", True, "select count(*) from receivables_document where status = 'issued'"),
    ],
)
def test_a_killed_run_run_again_ends_as_one_uninterrupted_run(
    loaded_database: Path,
    expected: dict[str, object],
    tmp_path: Path,
    phase: str,
    preview_first: bool,
    kill_when: str,
) -> None:
    interrupted = tmp_path / "interrupted.sqlite3"
    shutil.copy(loaded_database, interrupted)
    if preview_first:  # every customer billed as a draft; the issuing run then numbers them
        o2c(interrupted, "billing", "run", "--as-of", AS_OF)
        assert (
            count(interrupted, "select count(*) from receivables_document where status = 'draft'")
            == CUSTOMERS
        )

    process = subprocess.Popen(
        [sys.executable, "-m", "o2c.manage", "billing", "run", "--as-of", AS_OF, "--issue"],
        env=_env(interrupted),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while count(interrupted, kill_when) < CUSTOMERS // 3:
        assert process.poll() is None, f"the run ended before it could be killed while {phase}"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = count(interrupted, "select count(*) from receivables_document")
    assert 0 < killed_at <= CUSTOMERS

    o2c(interrupted, "billing", "run", "--as-of", AS_OF, "--issue")
    assert outcome(interrupted) == expected
    numbers = [number for number, *_ in expected["documents"]]  # type: ignore[attr-defined]
    assert sorted(numbers) == [f"INV-2026-{n:06d}" for n in range(1, CUSTOMERS + 1)]
    # and a third run has nothing left to do
    o2c(interrupted, "billing", "run", "--as-of", AS_OF, "--issue")
    assert outcome(interrupted) == expected
