"""`o2c ledger verify`: run every registered invariant check; exit 0 when all hold."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from o2c.core import checks
from o2c.core.cli import O2CCommand


class Command(O2CCommand):
    help = "Ledger tools. `verify`: trial balance zero, receivables equal open items, caches equal the truth."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["verify"])

    def run(self, *args: Any, **options: Any) -> None:
        failed = 0
        for check in checks.all_checks():
            problems = check.run()
            mark = "ok" if not problems else "FAILED"
            self.stdout.write(f"{mark:6} {check.name}: {check.description}")
            for problem in problems:
                self.stdout.write(f"       - {problem}")
            failed += bool(problems)
        if failed:
            sys.stderr.write(f"error: {failed} check(s) failed\n")
            sys.exit(1)
