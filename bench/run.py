"""`make bench`: the import and page figures on PostgreSQL and SQLite.

    python -m bench.run            # what `make bench` runs inside scripts/with-postgres
    BENCH_ROWS=100000 python -m bench.run

With O2C_DATABASE_URL pointing at PostgreSQL the PostgreSQL variant runs in a fresh database created
next to it (and dropped afterwards); the SQLite variant always runs too, in a temporary file. Each
variant is a subprocess that drives the real `o2c` commands, each in its own process, so wall time
and peak memory (RSS, from wait4) are those a user sees. Figures go to stdout and to
bench/results/<name>.json. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.generate import generate

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_ROWS = 1_000_000
RUNS = 20  # per page figure; the median is reported


@dataclass(frozen=True)
class Run:
    """One command run in its own process."""

    command: str
    seconds: float
    peak_rss_mb: float
    exit_status: int
    stdout: str
    stderr: str


def _o2c() -> str:
    found = Path(sys.executable).with_name("o2c")
    return str(found) if found.exists() else (shutil.which("o2c") or "o2c")


def _run(args: list[str], *, env: dict[str, str] | None = None, check: bool = True) -> Run:
    """Run a command, measuring its wall time and peak RSS (wait4 gives this child's own rusage)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(args, stdout=out, stderr=err, env=env, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        run = Run(
            command=" ".join(Path(a).name if a.startswith("/") else a for a in args),
            seconds=round(seconds, 2),
            peak_rss_mb=round(usage.ru_maxrss / 1024, 1),
            exit_status=process.returncode,
            stdout=out.read(),
            stderr=err.read(),
        )
    if check and run.exit_status != 0:
        sys.stderr.write(run.stdout + run.stderr)
        raise SystemExit(f"bench: `{run.command}` failed with exit status {run.exit_status}")
    return run


def machine() -> dict[str, Any]:
    versions: dict[str, str] = {"python": platform.python_version()}
    for package in ("django", "psycopg"):
        try:
            module = __import__(package)
            versions[package] = str(getattr(module, "__version__", ""))
        except ImportError:
            pass
    import sqlite3

    versions["sqlite"] = sqlite3.sqlite_version
    try:
        load = os.getloadavg()
    except OSError:
        load = (0.0, 0.0, 0.0)
    return {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "load_average_at_start": [round(value, 2) for value in load],
        "versions": versions,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _write(name: str, figures: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


# --- one database ----------------------------------------------------------------------------------


def run_variant(database: str, rows: int, data: Path) -> dict[str, Any]:
    """Fill the database of O2C_DATABASE_URL from scratch and measure; returns the import figures."""
    files = generate(data, rows)
    o2c = _o2c()
    env = dict(os.environ)
    say = _say(database)
    info = machine()
    info["server_version"] = _server_version(env["O2C_DATABASE_URL"]) if database == "postgresql" else ""

    migrate = _run([o2c, "migrate", "-v", "0"], env=env)
    customers = _run([o2c, "import", "customers", str(files.customers)], env=env)
    fx = _run([o2c, "import", "fx-rates", str(files.fx_rates)], env=env)
    say(
        f"set-up: migrate {migrate.seconds} s, {files.customer_count} customers {customers.seconds} s, "
        f"FX rates {fx.seconds} s"
    )

    parse = _run([sys.executable, "-m", "bench.run", "--parse", str(files.invoices)], env=env)
    parse_seconds = json.loads(parse.stdout)["seconds"]
    say(f"CSV parsing alone (read_open_items): {parse_seconds} s, peak {parse.peak_rss_mb} MB")

    first = _run([o2c, "import", "invoices", str(files.invoices)], env={**env, "O2C_LOG_LEVEL": "INFO"})
    phases = _phases(first.stderr)
    say(
        f"import of {rows:,} open items: {first.seconds} s = {rows / first.seconds:,.0f} rows/s, "
        f"peak {first.peak_rss_mb} MB"
    )
    say("  phases: " + ", ".join(f"{name} {seconds} s" for name, seconds in phases.items()))
    say("  " + first.stderr.strip().splitlines()[-1])

    second = _run([o2c, "import", "invoices", str(files.invoices)], env=env)
    say(
        f"second import of the same file: {second.seconds} s, peak {second.peak_rss_mb} MB "
        f"({second.stderr.strip().splitlines()[-1]})"
    )
    if f"0 open items created, {rows} unchanged" not in second.stderr:
        say("  WARNING: the second import changed something")

    verify = _run([o2c, "ledger", "verify"], env=env, check=False)
    say(f"o2c ledger verify: {verify.seconds} s, exit status {verify.exit_status}")
    if verify.exit_status:
        say("  " + "\n  ".join(verify.stdout.strip().splitlines()[:12]))

    figures: dict[str, Any] = {
        "name": f"import_{database}",
        "database": database,
        "rows": rows,
        "customers": files.customer_count,
        "import_seconds": first.seconds,
        "rows_per_second": round(rows / first.seconds),
        "import_peak_rss_mb": first.peak_rss_mb,
        "import_phases_seconds": phases,
        "import_output": first.stderr.strip().splitlines()[-1],
        "csv_parse_seconds": parse_seconds,
        "csv_parse_peak_rss_mb": parse.peak_rss_mb,
        "reimport_seconds": second.seconds,
        "reimport_peak_rss_mb": second.peak_rss_mb,
        "reimport_output": second.stderr.strip().splitlines()[-1],
        "verify_seconds": verify.seconds,
        "verify_exit_status": verify.exit_status,
        "verify_output": verify.stdout.strip().splitlines(),
        "setup_seconds": {"migrate": migrate.seconds, "customers": customers.seconds, "fx_rates": fx.seconds},
        "targets": {"import_seconds": 60 if database == "postgresql" else 120, "peak_rss_mb": 2048},
        "machine": info,
    }
    if database == "postgresql":
        baseline = copy_baseline(env["O2C_DATABASE_URL"], files.invoices)
        figures["copy_baseline"] = baseline
        figures["copy_ratio"] = round(first.seconds / baseline["csv_seconds"], 1)
        say(
            f"COPY baseline: the CSV into a plain table {baseline['csv_seconds']} s "
            f"({rows / baseline['csv_seconds']:,.0f} rows/s); the import takes {figures['copy_ratio']}x that"
        )
        say(
            f"  the {baseline['rows_written']:,} rows the import wrote, COPYed into copies of their tables "
            f"with the same indexes (no triggers, no foreign keys): {baseline['written_seconds']} s "
            f"(import / that = {round(first.seconds / baseline['written_seconds'], 1)}x)"
        )
    path = _write(f"import_{database}", figures)
    say(f"written {path.relative_to(ROOT)}")

    pages = _run([sys.executable, "-m", "bench.run", "--pages"], env=env)
    page_figures = json.loads(pages.stdout)
    page_figures.update({"name": f"pages_{database}", "database": database, "rows": rows, "machine": info})
    for name, figure in page_figures["timings_ms"].items():
        say(
            f"page figure {name}: median {figure['median']} ms, p95 {figure['p95']} ms "
            f"({figure['rows']} rows)"
        )
    path = _write(f"pages_{database}", page_figures)
    say(f"written {path.relative_to(ROOT)}")
    return figures


def _say(database: str) -> Callable[[str], None]:
    def say(message: str) -> None:
        print(f"[{database}] {message}", flush=True)

    return say


def _phases(stderr: str) -> dict[str, float]:
    """The INFO lines of receivables.migration: `open items import: <phase> in <seconds> s (Python
    <seconds> s)`, as {phase: seconds} and {phase (Python): seconds of the import's own CPU}."""
    phases: dict[str, float] = {}
    for line in stderr.splitlines():
        if "open items import: " in line and line.endswith(" s)"):
            text = line.split("open items import: ", 1)[1]
            timed, _, python = text.rpartition(" (Python ")
            phase, _, seconds = timed.rpartition(" in ")
            phases[phase] = float(seconds.removesuffix(" s"))
            phases[f"{phase} (Python)"] = float(python.removesuffix(" s)"))
    return phases


def _server_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else ""


def copy_baseline(url: str, invoices: Path) -> dict[str, Any]:
    """The physical limit on this machine, measured in the same run.

    csv_seconds: COPY of the invoice CSV (the same rows) into a plain table with typed columns.
    written_seconds: COPY of every row the import wrote (documents, allocations, journal lines and
    entries) into copies of their tables with the same indexes and checks but no triggers and no
    foreign keys: what writing those rows costs before the ledger's guards.
    """
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE bench_copy_invoices (invoice_number text, customer_number text, issue_date date, "
            "due_date date, currency char(3), amount numeric, open_amount numeric, po_number text, "
            "paid_date date)"
        )
        conn.commit()
        start = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy("COPY bench_copy_invoices FROM STDIN (FORMAT csv, HEADER true)") as copy,
            invoices.open("rb") as handle,
        ):
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        conn.commit()
        csv_seconds = time.perf_counter() - start
        conn.execute("DROP TABLE bench_copy_invoices")
        conn.commit()

        written = 0
        written_seconds = 0.0
        tables = (
            "receivables_document",
            "receivables_allocation",
            "ledger_journalentry",
            "ledger_journalline",
        )
        with tempfile.TemporaryDirectory() as tmp:
            for table in tables:
                dump = Path(tmp) / f"{table}.copy"
                with (
                    conn.cursor() as cursor,
                    dump.open("wb") as handle,
                    cursor.copy(f"COPY {table} TO STDOUT") as copy,
                ):
                    for block in copy:
                        handle.write(block)
                conn.execute(f"CREATE TABLE bench_copy_{table} (LIKE {table} INCLUDING ALL)")
                conn.commit()
                start = time.perf_counter()
                with (
                    conn.cursor() as cursor,
                    cursor.copy(f"COPY bench_copy_{table} FROM STDIN") as copy,
                    dump.open("rb") as handle,
                ):
                    while chunk := handle.read(1 << 20):
                        copy.write(chunk)
                conn.commit()
                written_seconds += time.perf_counter() - start
                row = conn.execute(f"SELECT count(*) FROM bench_copy_{table}").fetchone()
                written += int(row[0]) if row else 0
                conn.execute(f"DROP TABLE bench_copy_{table}")
                conn.commit()
    return {
        "csv_seconds": round(csv_seconds, 2),
        "written_seconds": round(written_seconds, 2),
        "rows_written": written,
    }


# --- in-process measurements (run as subprocesses of the variant) --------------------------------------


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "o2c.config.settings")
    import django

    django.setup()


def parse_only(path: Path) -> None:
    """Time the CSV reading and checking of `o2c import invoices` alone (no database writes)."""
    _django()
    from o2c.workspace import importers

    start = time.perf_counter()
    per_entity = importers.read_open_items(path, entity_code=None)
    seconds = time.perf_counter() - start
    items = sum(len(items) for _, items in per_entity.values())
    print(json.dumps({"seconds": round(seconds, 2), "items": items}))


def _timed(call: Callable[[], int], runs: int = RUNS) -> dict[str, Any]:
    for _ in range(2):  # warm caches and connections
        call()
    times = []
    count = 0
    for _ in range(runs):
        start = time.perf_counter()
        count = call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "median": round(statistics.median(times), 2),
        "p95": round(times[int(len(times) * 0.95) - 1], 2),
        "min": round(times[0], 2),
        "rows": count,
    }


def pages() -> None:
    """Median server time of the list pages' queries with the imported data (and of the views, if any)."""
    _django()
    from django.db import connection
    from django.db.models import Count

    from o2c.customers import selectors as customer_selectors
    from o2c.ledger import selectors as ledger_selectors
    from o2c.receivables import selectors as receivable_selectors
    from o2c.receivables.models import Document

    entity = ledger_selectors.entity_default()
    assert entity is not None
    ids = [entity.pk]
    busiest = (
        Document.objects.filter(entity=entity)
        .values("customer_id")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    customer_id = busiest["customer_id"] if busiest else 0
    documents = Document.objects.filter(entity=entity).count()

    def customer_search() -> int:
        return len(list(customer_selectors.customer_list(entity_ids=ids, search="Müller")[:50]))

    def document_list() -> int:
        return len(list(receivable_selectors.document_list(entity_ids=ids)[:51]))

    def document_list_customer() -> int:
        return len(list(receivable_selectors.document_list(entity_ids=ids, customer_id=customer_id)[:51]))

    def document_list_open() -> int:
        return len(list(receivable_selectors.document_list(entity_ids=ids, open_only=True)[:51]))

    timings = {
        "customer_list search=Müller [:50]": _timed(customer_search),
        "document_list [:50]": _timed(document_list),
        "document_list customer_id=X [:50]": _timed(document_list_customer),
        "document_list open_only [:50]": _timed(document_list_open),
    }
    plans = {
        "customer_list": str(
            customer_selectors.customer_list(entity_ids=ids, search="Müller")[:50].explain()
        ),
        "document_list": str(receivable_selectors.document_list(entity_ids=ids)[:51].explain()),
        "document_list_customer": str(
            receivable_selectors.document_list(entity_ids=ids, customer_id=customer_id)[:51].explain()
        ),
        "document_list_open": str(
            receivable_selectors.document_list(entity_ids=ids, open_only=True)[:51].explain()
        ),
    }
    timings.update(_views(customer_id))
    print(
        json.dumps(
            {
                "documents": documents,
                "customer_id": customer_id,
                "timings_ms": timings,
                "plans": plans,
                "vendor": connection.vendor,
                "target_ms": 100,
            },
            ensure_ascii=False,
        )
    )


def _views(customer_id: int) -> dict[str, Any]:
    """The real pages through django.test.Client as a logged-in superuser, when the views exist."""
    try:
        from o2c.workspace import views
    except ImportError:
        return {}
    if not (hasattr(views, "customer_list") and hasattr(views, "document_list")):
        return {}
    from django.contrib.auth.models import User
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", "bench@example.invalid", "bench-password-not-secret"
    )
    client = Client()
    client.force_login(user)
    pages = {
        "view GET /customers/?q=Müller": "/customers/?q=Müller",
        "view GET /invoices/": "/invoices/",
        "view GET /invoices/?open=on": "/invoices/?open=on",
        "view GET /customers/<busiest>/": f"/customers/{customer_id}/",
    }
    timings: dict[str, Any] = {}
    for name, url in pages.items():

        def get(url: str = url) -> int:
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"bench: GET {url} answered {response.status_code}")
            return len(response.content)

        timings[name] = _timed(get)
    return timings


# --- the whole run ----------------------------------------------------------------------------------


def _fresh_postgres(url: str) -> tuple[str, Callable[[], None]]:
    """A new database beside the one of `url` (the bench never touches existing data)."""
    import psycopg
    from psycopg import sql

    name = f"o2c_bench_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, query = url.partition("?")
    bench_url = base.rsplit("/", 1)[0] + "/" + name + (f"?{query}" if query else "")

    def drop() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))

    return bench_url, drop


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_ROWS", DEFAULT_ROWS)))
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("BENCH_DATA", ROOT / "bench" / "data"))
    )
    parser.add_argument("--only", choices=["postgresql", "sqlite"])
    parser.add_argument("--variant", choices=["postgresql", "sqlite"], help=argparse.SUPPRESS)
    parser.add_argument("--parse", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--pages", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.parse:
        parse_only(args.parse)
        return
    if args.pages:
        pages()
        return
    if args.variant:
        run_variant(args.variant, args.rows, args.data)
        return

    started = time.perf_counter()
    print(f"bench: {args.rows:,} open items, data in {args.data}", flush=True)
    files = generate(args.data, args.rows)
    print(f"bench: data ready ({files.invoices.stat().st_size / 2**20:.0f} MB of invoices CSV)", flush=True)
    variant = [
        sys.executable,
        "-m",
        "bench.run",
        "--rows",
        str(args.rows),
        "--data",
        str(args.data),
        "--variant",
    ]
    url = os.environ.get("O2C_DATABASE_URL", "")
    failed = False
    if args.only in (None, "postgresql"):
        if url.startswith(("postgres://", "postgresql://")):
            bench_url, drop = _fresh_postgres(url)
            try:
                failed |= (
                    subprocess.run(
                        [*variant, "postgresql"], env={**os.environ, "O2C_DATABASE_URL": bench_url}, cwd=ROOT
                    ).returncode
                    != 0
                )
            finally:
                drop()
        else:
            print(
                "bench: O2C_DATABASE_URL is not PostgreSQL, so no PostgreSQL figures (`make bench` sets it)"
            )
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory(prefix="o2c-bench-") as tmp:
            env = {**os.environ, "O2C_DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3"}
            failed |= subprocess.run([*variant, "sqlite"], env=env, cwd=ROOT).returncode != 0
    print(f"bench: done in {time.perf_counter() - started:.0f} s", flush=True)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
