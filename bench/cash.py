"""The cash application figures: noisy bank files against a million open items, compared with the truth.

    scripts/with-postgres .venv/bin/python -m bench.cash              # 20,000 / 1,000,000 / 100,000
    scripts/with-postgres .venv/bin/python -m bench.cash --quick      # 2,000 / 50,000 / 5,000
    scripts/with-postgres .venv/bin/python -m bench.cash --customers 5000 --open-items 200000 --entries 20000

The data comes from bench/cash_data.py (written once into bench/data/cash-<sizes>-<seed>/ and reused).
In a fresh PostgreSQL database next to O2C_DATABASE_URL, each step the real command in its own process:
`o2c migrate`, `o2c import customers`, `o2c import fx-rates`, `o2c import invoices` (timed, not the
figure), the payer IBANs "known" from master data COPYed into customers_bankaccount, VACUUM ANALYZE, then
every bank file through `o2c cash import FILE --format json` in value-date order (the figure: their wall
time and peak RSS), `o2c ledger verify` and `o2c cash applications --format csv`, which is compared with
truth.json entry by entry. Figures to stdout and bench/results/cash_postgresql.json; see
docs/benchmarks.md ("Cash application") for what each one means.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench import cash_data
from bench.run import RESULTS, ROOT, _fresh_postgres, _o2c, _run, _write, machine

DEFAULT = (20_000, 1_000_000, 100_000)
QUICK = (2_000, 50_000, 5_000)
TARGETS = {
    "auto_match_rate": 0.95,
    "precision": 0.997,
    "ambiguous_auto_applied": 0,
    "import_seconds": 120,
    "peak_rss_mb": 3072,
}
OUTCOMES = ("correct", "wrong", "partial", "on_account", "person", "missing")
"""correct: posted exactly as the truth says. wrong: an invoice line posted that the truth does not have
(other invoice, amount, discount, write-off or deduction), or cash posted for an entry that needs a person,
or posted to another customer's account. partial: some of the truth's lines posted, none wrong, the rest
left. on_account: only put on the payer's account (the right customer), no invoice. person: nothing
posted, waiting for a person (suggested or unidentified). missing: no payment for the entry."""

Line = tuple[str, Decimal, Decimal, Decimal, Decimal]


@dataclass
class Outcome:
    applied: list[Line] = field(default_factory=list)
    on_account: Decimal = Decimal(0)
    suggested: int = 0


def _line(row: Mapping[str, str]) -> Line:
    return (
        row["invoice_number"],
        Decimal(row["amount"]),
        Decimal(row["discount"]),
        Decimal(row["write_off"]),
        Decimal(row["deduction"]),
    )


def outcomes_of(applications_csv: str) -> dict[str, Outcome]:
    """`o2c cash applications --format csv` per entry reference."""
    found: dict[str, Outcome] = {}
    for row in csv.DictReader(io.StringIO(applications_csv)):
        outcome = found.setdefault(row["entry_reference"], Outcome())
        if row["status"] != "applied":
            outcome.suggested += 1
        elif row["invoice_number"]:
            outcome.applied.append(_line(row))
        else:
            outcome.on_account += Decimal(row["amount"])
    return found


def classify(
    record: Mapping[str, Any],
    outcome: Outcome | None,
    posted_to: str | None,
    acceptable_customers: set[str],
) -> str:
    """One of OUTCOMES for a truth record and what the matcher did with its entry."""
    if outcome is None:
        return "missing"
    truth = sorted(_line(line) for line in record["lines"])
    applied = sorted(outcome.applied)
    wrong_account = bool(outcome.on_account) and posted_to not in acceptable_customers
    if record["needs_person"]:
        return "wrong" if applied or wrong_account else "person"
    if applied == truth and outcome.on_account == Decimal(record["on_account"]) and not outcome.suggested:
        return "correct"
    if any(line not in truth for line in applied) or wrong_account:
        return "wrong"
    if applied:
        return "partial"
    return "on_account" if outcome.on_account else "person"


_REASON_NOISE = (
    (re.compile(r"'[^']*'"), "'…'"),
    (re.compile(r"\([^)]*/100\)"), "(score)"),
    (re.compile(r"\b(?:INV-2026-\d+|RE26/\d+|C\d{6})\b"), "#"),
    (re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{10,30}\b"), "IBAN"),
    (re.compile(r"[\d.,]*\d(?:\s?(?:EUR|USD|€|\$))?"), "#"),
)


def reason_pattern(reasons: list[str]) -> str:
    """A payment's reasons with names, numbers and amounts taken out, so alike cases count together."""
    text = " | ".join(reasons)
    for pattern, replacement in _REASON_NOISE:
        text = pattern.sub(replacement, text)
    return text


def _invoice_owners(invoices: Path, wanted: set[str]) -> dict[str, str]:
    owners = {}
    with invoices.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            if row[0] in wanted:
                owners[row[0]] = row[1]
    return owners


def _parents(customers: Path) -> dict[str, str]:
    with customers.open(encoding="utf-8", newline="") as handle:
        return {row["customer_number"]: row["parent_number"] for row in csv.DictReader(handle)}


def compare(
    records: list[dict[str, Any]],
    outcomes: Mapping[str, Outcome],
    payments: Mapping[str, dict[str, Any]],
    files: cash_data.CashFiles,
) -> dict[str, Any]:
    """The figures of the run: rates over all and identifiable entries, precision, per kind."""
    owners = _invoice_owners(
        files.invoices, {line["invoice_number"] for record in records for line in record["lines"]}
    )
    parents = _parents(files.customers)
    per_kind: dict[str, Counter[str]] = {}
    patterns: dict[str, Counter[str]] = {}
    examples: dict[tuple[str, str], str] = {}
    statuses: dict[str, Counter[str]] = {}
    auto_applied = wrong = correct = ambiguous_applied = identifiable = identifiable_correct = 0
    for record in records:
        reference = record["entry_reference"]
        payment = payments.get(reference, {})
        acceptable = {record["customer_number"]} if record["customer_number"] else set()
        for line in record["lines"]:
            owner = owners.get(line["invoice_number"], "")
            acceptable |= {owner, parents.get(owner, "")}
        acceptable.discard("")
        outcome = outcomes.get(reference)
        result = classify(record, outcome, payment.get("customer"), acceptable)
        kind = record["kind"]
        per_kind.setdefault(kind, Counter())[result] += 1
        statuses.setdefault(kind, Counter())[payment.get("status", "none")] += 1
        if outcome is not None and (outcome.applied or result == "wrong"):
            auto_applied += 1
        wrong += result == "wrong"
        correct += result == "correct"
        if kind == "ambiguous" and outcome is not None and outcome.applied:
            ambiguous_applied += 1
        if not record["needs_person"]:
            identifiable += 1
            identifiable_correct += result == "correct"
        expected = "person" if record["needs_person"] else "correct"
        if result != expected:
            pattern = f"{result}: {reason_pattern(payment.get('reasons', []))}"
            patterns.setdefault(kind, Counter())[pattern] += 1
            examples.setdefault((kind, pattern), reference)
    total = len(records)
    kinds = {}
    for kind in sorted(per_kind):
        counts = per_kind[kind]
        count = sum(counts.values())
        kinds[kind] = {
            "entries": count,
            **{outcome: counts[outcome] for outcome in OUTCOMES},
            "left_for_a_person": counts["partial"] + counts["on_account"] + counts["person"],
            "payment_status": dict(sorted(statuses[kind].items())),
            "top_reasons_when_not_as_expected": [
                {"count": n, "reasons": pattern, "example": examples[(kind, pattern)]}
                for pattern, n in patterns.get(kind, Counter()).most_common(4)
            ],
        }
    return {
        "entries": total,
        "identifiable_entries": identifiable,
        "auto_correct": correct,
        "auto_match_rate": round(correct / total, 4) if total else None,
        "auto_match_rate_identifiable": round(identifiable_correct / identifiable, 4)
        if identifiable
        else None,
        "auto_applied": auto_applied,
        "applied_wrongly": wrong,
        "precision": round(1 - wrong / auto_applied, 4) if auto_applied else None,
        "ambiguous_auto_applied": ambiguous_applied,
        "per_kind": kinds,
    }


# --- the run --------------------------------------------------------------------------------------------


def _load_bank_accounts(url: str, bank_accounts: Path) -> int:
    """The payer IBANs known from master data (the customer CSV import has no IBAN column)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection, connection.cursor() as cursor:
        ids: dict[str, int] = dict(cursor.execute("SELECT number, id FROM customers_customer").fetchall())
        rows = 0
        with (
            bank_accounts.open(encoding="utf-8", newline="") as handle,
            cursor.copy("COPY customers_bankaccount (customer_id, iban, bic, holder) FROM STDIN") as copy,
        ):
            for row in csv.DictReader(handle):
                copy.write_row((ids[row["customer_number"]], row["iban"], row["bic"], row["holder"][:150]))
                rows += 1
        cursor.execute("VACUUM ANALYZE")
    return rows


def _payments(url: str) -> dict[str, dict[str, Any]]:
    import psycopg

    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT p.entry_reference, p.status, p.confidence, p.reasons, c.number "
            "FROM cash_payment p LEFT JOIN customers_customer c ON c.id = p.customer_id"
        ).fetchall()
    return {
        reference: {"status": status, "confidence": str(confidence), "reasons": reasons, "customer": number}
        for reference, status, confidence, reasons, number in rows
    }


def server_settings(url: str) -> dict[str, str]:
    """The PostgreSQL settings the figures depend on most, as the server reports them."""
    import psycopg

    with psycopg.connect(url) as conn:
        return {
            name: str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
            for name in ("shared_buffers", "max_wal_size", "work_mem", "fsync", "server_version")
        }


def measure(url: str, files: cash_data.CashFiles, say: Any, *, work_mem: str | None = None) -> dict[str, Any]:
    env = {**os.environ, "O2C_DATABASE_URL": url}
    if work_mem:
        # a diagnostic, off by default: the sessions of the o2c commands get this work_mem
        env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c work_mem={work_mem}".strip()
    o2c = _o2c()
    setup = {}
    setup["migrate"] = _run([o2c, "migrate", "-v", "0"], env=env).seconds
    setup["customers"] = _run([o2c, "import", "customers", str(files.customers)], env=env).seconds
    setup["fx_rates"] = _run([o2c, "import", "fx-rates", str(files.fx_rates)], env=env).seconds
    invoices = _run([o2c, "import", "invoices", str(files.invoices)], env=env)
    setup["invoices"] = invoices.seconds
    started = time.perf_counter()
    known = _load_bank_accounts(url, files.bank_accounts)
    setup["bank_accounts_and_vacuum"] = round(time.perf_counter() - started, 2)
    say(
        f"set-up: migrate {setup['migrate']} s, {files.customer_count:,} customers {setup['customers']} s, "
        f"{files.open_items:,} open items {setup['invoices']} s (peak {invoices.peak_rss_mb} MB), "
        f"{known:,} known payer IBANs + VACUUM ANALYZE {setup['bank_accounts_and_vacuum']} s"
    )
    per_file: list[dict[str, Any]] = []
    totals: Counter[str] = Counter()
    for path in files.bank_files:
        run = _run([o2c, "cash", "import", str(path), "--format", "json"], env=env, check=False)
        summary: dict[str, Any] = {}
        if run.exit_status == 0:
            summary = json.loads(run.stdout)
            for key in (
                "payments",
                "applied",
                "partially_applied",
                "on_account",
                "suggested",
                "unidentified",
            ):
                totals[key] += int(summary.get(key, 0))
            totals["warnings"] += len(summary.get("warnings", []))
        else:
            say(f"  {path.name}: exit status {run.exit_status}: {(run.stdout + run.stderr).strip()[-400:]}")
        per_file.append(
            {
                "file": path.name,
                "seconds": run.seconds,
                "peak_rss_mb": run.peak_rss_mb,
                "exit_status": run.exit_status,
                **{key: summary.get(key) for key in ("payments", "applied", "suggested", "unidentified")},
            }
        )
        say(
            f"  {path.name}: {run.seconds} s, peak {run.peak_rss_mb} MB, "
            f"{summary.get('payments', '?')} payments, {summary.get('applied', '?')} applied, "
            f"{summary.get('suggested', '?')} suggested, {summary.get('unidentified', '?')} unidentified"
        )
    seconds = round(sum(item["seconds"] for item in per_file), 2)
    peak = max((item["peak_rss_mb"] for item in per_file), default=0.0)
    verify = _run([o2c, "ledger", "verify"], env=env, check=False)
    say(f"o2c ledger verify: {verify.seconds} s, exit status {verify.exit_status}")
    if verify.exit_status:
        say("  " + "\n  ".join(verify.stdout.strip().splitlines()[:12]))
    applications = _run([o2c, "cash", "applications", "--format", "csv"], env=env)
    return {
        "setup_seconds": setup,
        "known_payer_ibans": known,
        "import": {
            "files": len(per_file),
            "seconds": seconds,
            "entries_per_second": round(files.entries / seconds, 1) if seconds else None,
            "peak_rss_mb": peak,
            "failed_files": sum(1 for item in per_file if item["exit_status"]),
            "summary": dict(totals),
            "per_file": per_file,
        },
        "verify_exit_status": verify.exit_status,
        "verify_output": verify.stdout.strip().splitlines()[:20],
        "applications_seconds": applications.seconds,
        "_applications_csv": applications.stdout,
        "_payments": _payments(url),
    }


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f} %"


def report(figures: dict[str, Any]) -> str:
    result = figures["result"]
    run = figures["import"]
    lines = [
        f"entries {result['entries']:,} ({result['identifiable_entries']:,} identifiable) against "
        f"{figures['data']['open_items']:,} open items of {figures['data']['customers']:,} customers",
        f"import of {run['files']} bank files: {run['seconds']} s = {run['entries_per_second']} entries/s, "
        f"peak RSS {run['peak_rss_mb']} MB (targets: <= {TARGETS['import_seconds']} s, "
        f"< {TARGETS['peak_rss_mb']} MB)",
        f"auto-match rate: {_percent(result['auto_match_rate'])} of all, "
        f"{_percent(result['auto_match_rate_identifiable'])} of identifiable (target >= 95 %)",
        f"precision: {_percent(result['precision'])} ({result['applied_wrongly']:,} wrong of "
        f"{result['auto_applied']:,} auto-applied; target >= 99.7 %)",
        f"ambiguous entries auto-applied: {result['ambiguous_auto_applied']} (target 0)",
        f"ledger verify exit status: {figures['verify_exit_status']}",
        "",
        f"{'kind':<20}{'entries':>8}{'correct':>9}{'wrong':>7}{'partial':>9}{'on acct':>9}{'person':>8}"
        f"{'missing':>9}",
    ]
    for kind, counts in result["per_kind"].items():
        lines.append(
            f"{kind:<20}{counts['entries']:>8}{counts['correct']:>9}{counts['wrong']:>7}{counts['partial']:>9}"
            f"{counts['on_account']:>9}{counts['person']:>8}{counts['missing']:>9}"
        )
    lines.append("")
    lines.append("most frequent reasons where an entry did not come out as expected:")
    for kind, counts in result["per_kind"].items():
        for item in counts["top_reasons_when_not_as_expected"][:2]:
            lines.append(f"  {kind} x{item['count']} (e.g. {item['example']}): {item['reasons'][:160]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=DEFAULT[0])
    parser.add_argument("--open-items", type=int, default=DEFAULT[1])
    parser.add_argument("--entries", type=int, default=DEFAULT[2])
    parser.add_argument(
        "--quick", action="store_true", help="2,000 customers, 50,000 open items, 5,000 entries"
    )
    parser.add_argument("--seed", type=int, default=cash_data.SEED)
    parser.add_argument("--data", type=Path, help="data folder (default bench/data/cash-<sizes>-<seed>)")
    parser.add_argument(
        "--work-mem",
        help="diagnostic: PostgreSQL work_mem for the o2c commands' sessions (e.g. 256MB); the figures "
        "are then not those of a default cluster and the JSON says so",
    )
    parser.add_argument(
        "--name", default="cash_postgresql", help="results file name (bench/results/NAME.json)"
    )
    args = parser.parse_args(argv)
    customers, open_items, entries = QUICK if args.quick else (args.customers, args.open_items, args.entries)
    base = os.environ.get("O2C_DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench.cash needs O2C_DATABASE_URL pointing at PostgreSQL (scripts/with-postgres)")

    def say(message: str) -> None:
        print(f"[cash] {message}", flush=True)

    data = args.data or ROOT / "bench" / "data" / f"cash-{customers}-{open_items}-{entries}-{args.seed}"
    started = time.perf_counter()
    sizes = {"customers": customers, "open_items": open_items, "entries": entries, "seed": args.seed}
    files = cash_data.cached(data, **sizes)
    if files is None:
        # In a process of its own: the commands are started by vfork, and a child's peak RSS (wait4) starts
        # at its parent's high-water mark, which generating a million items in this process would raise.
        _run(
            [sys.executable, "-m", "bench.cash_data", str(data)]
            + [f"--{key.replace('_', '-')}={value}" for key, value in sizes.items()]
        )
        files = cash_data.cached(data, **sizes)
        assert files is not None
    say(
        f"data in {data.relative_to(ROOT) if data.is_relative_to(ROOT) else data} "
        f"({time.perf_counter() - started:.1f} s): {files.entries:,} entries in {len(files.bank_files)} files"
    )
    info = machine()
    url, drop = _fresh_postgres(base)
    try:
        measured = measure(url, files, say, work_mem=args.work_mem)
    finally:
        drop()
    records = json.loads(files.truth.read_text(encoding="utf-8"))["records"]
    result = compare(
        records, outcomes_of(measured.pop("_applications_csv")), measured.pop("_payments"), files
    )
    figures = {
        "name": args.name,
        "machine": info,
        "work_mem": args.work_mem or "server default",
        "server_settings": server_settings(base),
        "data": {
            "customers": files.customer_count,
            "open_items": files.open_items,
            "entries": files.entries,
            "seed": args.seed,
            "kinds": files.kinds,
            "formats": files.formats,
        },
        **measured,
        "result": result,
        "targets": TARGETS,
    }
    path = _write(args.name, figures)
    print(report(figures), flush=True)
    say(f"written {path.relative_to(RESULTS.parent.parent)}")
    if figures["verify_exit_status"] or figures["import"]["failed_files"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
