"""The rules of CONVENTIONS.md that a reviewer would otherwise have to remember."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.db import models

SRC = Path(__file__).resolve().parents[2] / "src" / "o2c"
PYTHON_FILES = sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)

# Interfaces (views, API, commands, tasks) read the clock and pass `now` down; the domain never does.
INTERFACE_PARTS = {"views.py", "api.py", "admin.py", "management", "tasks.py", "demo.py", "middleware.py"}
CLOCK_READS = re.compile(r"timezone\.now\(|datetime\.now\(|datetime\.utcnow\(|date\.today\(|time\.time\(")


def _relative(path: Path) -> str:
    return str(path.relative_to(SRC))


def test_no_float_in_code() -> None:
    offenders = []
    for path in PYTHON_FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "float":
                offenders.append(f"{_relative(path)}:{node.lineno}")
    assert offenders == []


def test_no_float_or_decimal_money_fields_in_models() -> None:
    for model in apps.get_models():
        if not model.__module__.startswith("o2c."):
            continue
        for field in model._meta.get_fields():
            assert not isinstance(field, models.FloatField), f"{model.__name__}.{field.name} is a FloatField"
            if field.name.endswith("_minor"):
                assert isinstance(field, models.BigIntegerField), (
                    f"{model.__name__}.{field.name} is not an integer"
                )


def test_money_fields_have_a_currency_beside_them() -> None:
    for model in apps.get_models():
        if not model.__module__.startswith("o2c."):
            continue
        names = {field.name for field in model._meta.get_fields()}
        if any(name.endswith("_minor") for name in names):
            has_currency = "currency" in names or any(n.endswith("currency") for n in names)
            # lines and limits inherit the currency of their document or customer
            inherits = {"document", "customer"} & names
            assert has_currency or inherits, f"{model.__name__} has money without a currency"


def test_only_the_clock_module_and_interfaces_read_the_clock() -> None:
    offenders = []
    for path in PYTHON_FILES:
        relative = _relative(path)
        if relative == "core/clock.py" or INTERFACE_PARTS & set(path.parts):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if CLOCK_READS.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []


def test_no_django_signals() -> None:
    offenders = [
        _relative(path)
        for path in PYTHON_FILES
        if "django.db.models.signals" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_models_have_no_meta_ordering() -> None:
    for model in apps.get_models():
        if model.__module__.startswith("o2c."):
            assert not model._meta.ordering, f"{model.__name__} has Meta.ordering"


def test_only_ledger_services_write_journal_tables() -> None:
    writers = []
    for path in PYTHON_FILES:
        if path.parts[-2:] in {("ledger", "services.py"), ("ledger", "models.py")}:
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(
            r"\b(JournalEntry|JournalLine)\.objects\.(create|bulk_create|update|filter\([^)]*\)\.update)",
            text,
        ):
            writers.append(_relative(path))
    assert writers == []


@pytest.mark.parametrize("contract", ["lint-imports"])
def test_import_layers_hold(contract: str) -> None:
    lint = Path(sys.executable).with_name(contract)
    result = subprocess.run([str(lint)], capture_output=True, text=True, check=False, cwd=SRC.parents[1])
    assert result.returncode == 0, result.stdout[-3000:]
