"""`o2c dunning run` as a user runs it: JSON exactly as documented, a table for people, a dry run that
changes nothing, one-line errors with exit status 2 for bad input."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from o2c.collections.models import DunningNotice
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger import services as ledger_services
from o2c.ledger.models import LegalEntity
from o2c.receivables.calculations import LineIn
from tests.conftest import NOW, customer_in, issued_invoice
from tests.functional.test_import_commands import run_failing

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoices(entity: LegalEntity, customer: Customer) -> list[str]:
    """C-1000 (de): 1,190.00 due 1 February and 250.50 due 24 February 2026; C-2000 (en, JPY): ¥12,000 due
    1 February."""
    yen = customer_services.customer_create(
        entity=entity,
        data=customer_in("C-2000", name="Tanaka KK", country="JP", currency="JPY", language="en"),
        actor=None,
        now=NOW,
    )
    ledger_services.fx_rates_import(
        rates=[ledger_services.FxRateIn(date(2025, 12, 31), "JPY", "EUR", Decimal("0.0061"))],
        source="test",
        now=NOW,
    )
    return [
        issued_invoice(customer, issue_date=date(2026, 1, 2)).number or "",
        issued_invoice(
            customer,
            issue_date=date(2026, 1, 25),
            lines=[LineIn("Support", Decimal(1), Decimal("250.50"), Decimal(0))],
        ).number
        or "",
        issued_invoice(
            yen,
            issue_date=date(2026, 1, 2),
            lines=[LineIn("Licence", Decimal(1), Decimal(12000), Decimal(0))],
            currency="JPY",
        ).number
        or "",
    ]


def test_the_run_prints_its_notices_as_json(invoices: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    first, second, yen = invoices

    call_command("dunning", "run", "--as-of", "2026-02-19", "--format", "json")

    captured = capsys.readouterr()
    assert json.loads(captured.out) == {
        "as_of": "2026-02-19",
        "notices": [
            {
                "customer_number": "C-1000",
                "level": 0,
                "language": "de",
                "channel": "email",
                "items": [{"invoice_number": second, "days_overdue": -5, "open_amount": "250.50"}],
            },
            {
                "customer_number": "C-1000",
                "level": 2,
                "language": "de",
                "channel": "email",
                "items": [{"invoice_number": first, "days_overdue": 18, "open_amount": "1190.00"}],
            },
            {
                "customer_number": "C-2000",
                "level": 2,
                "language": "en",
                "channel": "email",
                "items": [{"invoice_number": yen, "days_overdue": 18, "open_amount": "12000"}],
            },
        ],
    }
    assert captured.err == ""
    assert DunningNotice.objects.count() == 3

    call_command("dunning", "run", "--as-of", "2026-02-19", "--format", "json")

    assert json.loads(capsys.readouterr().out) == {"as_of": "2026-02-19", "notices": []}


def test_a_dry_run_prints_the_same_and_records_nothing(
    invoices: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("dunning", "run", "--as-of", "2026-02-02", "--dry-run", "--format", "json")
    dry = json.loads(capsys.readouterr().out)
    assert DunningNotice.objects.count() == 0

    call_command("dunning", "run", "--as-of", "2026-02-02", "--format", "json")

    assert json.loads(capsys.readouterr().out) == dry
    assert [notice["level"] for notice in dry["notices"]] == [1, 1]


def test_the_table_lists_each_notice_with_its_items(
    invoices: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("O2C_LOCALE", "de_DE")

    call_command("dunning", "run", "--as-of", "2026-02-19", "--dry-run")

    out = capsys.readouterr().out
    assert "Mahnlauf von MAIN am 19.02.2026 (Probelauf: nichts versendet)" in out
    assert "1.190,00" in out
    assert "C-2000" in out
    assert out.rstrip().endswith("3 Mahnungen würden versendet")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--as-of", "2026-02-30"), "error: --as-of: '2026-02-30' is not an ISO 8601 date (YYYY-MM-DD)"),
        ((), "error: --as-of: the run needs its date, YYYY-MM-DD"),
        (("--as-of", "2026-02-19", "--entity", "NOPE"), "error: --entity: unknown legal entity 'NOPE'"),
    ],
)
def test_bad_input_exits_with_status_2_and_one_line(
    entity: LegalEntity, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    assert run_failing(capsys, "dunning", "run", *args) == message
    assert DunningNotice.objects.count() == 0
