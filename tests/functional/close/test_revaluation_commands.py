"""`o2c close revalue YYYY-MM` and the revaluation `o2c close period YYYY-MM` runs first, as a user runs
them."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from o2c.customers.models import Customer
from o2c.ledger import services as ledger_services
from o2c.ledger.models import FiscalPeriod, FxRate, JournalEntry, LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from tests.conftest import NOW, issued_invoice

pytestmark = pytest.mark.django_db

EARLIER_OPEN = "earlier periods are still open: 2025-09, 2025-10, 2025-11, 2025-12, 2026-01, 2026-02 …"


@pytest.fixture
def open_items(entity: LegalEntity, customer: Customer) -> None:
    """A USD invoice of 1,190.00 at 0.90 (1,071.00 EUR) and a GBP credit memo of 200.00 at 1.15
    (-230.00 EUR), both open on 31 March, when USD is 0.95 and GBP 1.20."""
    ledger_services.fx_rates_import(
        rates=[
            ledger_services.FxRateIn(day, currency, "EUR", Decimal(rate))
            for day, currency, rate in (
                (date(2026, 3, 1), "USD", "0.90"),
                (date(2026, 3, 31), "USD", "0.95"),
                (date(2026, 3, 1), "GBP", "1.15"),
                (date(2026, 3, 31), "GBP", "1.20"),
            )
        ],
        source="test",
        now=NOW,
    )
    issued_invoice(customer, currency="USD")
    draft = receivable_services.document_create(
        customer=customer,
        document_type="credit_memo",
        issue_date=date(2026, 3, 5),
        lines=[LineIn("Goodwill", Decimal(1), Decimal("200.00"), Decimal(0))],
        actor=None,
        now=NOW,
        currency="GBP",
    )
    receivable_services.document_issue(document_id=draft.pk, actor=None, now=NOW)


# USD: 1,190.00 x 0.95 = 1,130.50 against 1,071.00: +59.50
# GBP: -200.00 x 1.20 = -240.00 against -230.00: -10.00
ROWS = [
    {
        "currency": "GBP",
        "rate": "1.2",
        "open": "-200.00",
        "carrying": "-230.00",
        "revalued": "-240.00",
        "difference": "-10.00",
    },
    {
        "currency": "USD",
        "rate": "0.95",
        "open": "1190.00",
        "carrying": "1071.00",
        "revalued": "1130.50",
        "difference": "59.50",
    },
]


def _failing(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        call_command(*args)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.strip().splitlines()
    return line


def _entries() -> int:
    return JournalEntry.objects.filter(source_type="fx_revaluation").count()


def test_revalue_reports_each_currency_in_json_and_posts_once(
    entity: LegalEntity, open_items: None, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("close", "revalue", "2026-03", "--format", "json")
    first = capsys.readouterr()
    call_command("close", "revalue", "2026-03", "--format", "json")
    again = json.loads(capsys.readouterr().out)

    assert json.loads(first.out) == {
        "entity": entity.code,
        "period": "2026-03",
        "rate_date": "2026-03-31",
        "rows": ROWS,
        "posted": True,
    }
    assert first.err == ""
    assert (again["rows"], again["posted"]) == (ROWS, False)
    assert _entries() == 4  # per currency the revaluation and its reversal
    call_command("ledger", "verify")


def test_revalue_prints_a_table_in_the_readers_locale(
    entity: LegalEntity, open_items: None, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("close", "revalue", "2026-03")

    out = capsys.readouterr().out
    assert "FX revaluation of MAIN on Mar 31, 2026" in out
    assert "│ USD      │ 0.95 │ 1,190.00 │       1,071.00 │       1,130.50 │            59.50 │" in out
    assert out.endswith("MAIN 2026-03 revalued: unrealised FX differences posted, reversed on Apr 1, 2026\n")


def test_revalue_without_foreign_items_says_so(
    entity: LegalEntity, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("close", "revalue", "2026-03")

    assert capsys.readouterr().out == "MAIN 2026-03 has no open foreign-currency items\n"
    assert _entries() == 0


def test_a_missing_rate_is_one_line_naming_the_pair_and_the_day(
    entity: LegalEntity, open_items: None, capsys: pytest.CaptureFixture[str]
) -> None:
    FxRate.objects.filter(from_currency="GBP").delete()  # the rates deleted in the admin

    assert (
        _failing(capsys, "close", "revalue", "2026-03") == "error: no FX rate GBP/EUR on or before 2026-03-31"
    )
    assert (
        _failing(capsys, "close", "period", "2026-03") == "error: no FX rate GBP/EUR on or before 2026-03-31"
    )
    assert _entries() == 0
    assert FiscalPeriod.objects.get(entity=entity, start_date=date(2026, 3, 1)).status == "open"


def test_revaluing_a_closed_month_is_refused(
    entity: LegalEntity, open_items: None, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("close", "period", "2026-03")
    capsys.readouterr()

    assert _failing(capsys, "close", "revalue", "2026-03") == (
        "error: period 2026-03 of entity MAIN is closed: reopen it to revalue it"
    )


def test_close_period_revalues_the_month_first_and_reports_it_in_json(
    entity: LegalEntity, open_items: None, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("close", "period", "2026-03", "--format", "json")

    record = json.loads(capsys.readouterr().out)
    assert record == {
        "entity": entity.code,
        "period": "2026-03",
        "status": "closed",
        "changed": True,
        "warnings": [EARLIER_OPEN],
        "revaluation": {
            "entity": entity.code,
            "period": "2026-03",
            "rate_date": "2026-03-31",
            "rows": ROWS,
            "posted": True,
        },
        # then the provision: no loss rates set, so nothing to post
        "provision": {
            "entity": entity.code,
            "period": "2026-03",
            "as_of": "2026-03-31",
            "method": "ifrs9_simplified",
            "functional_currency": "EUR",
            "rows": [
                {
                    "segment": "domestic",
                    "bucket": "current",
                    "currency": "USD",
                    "open": "1190.00",
                    "rate": "0",
                    "provision": "0.00",
                    "provision_functional": "0.00",
                }
            ],
            "total": "0.00",
            "posted": False,
            "reversal_date": None,
        },
    }
    assert _entries() == 4
    call_command("ledger", "verify")


def test_close_period_of_a_revalued_month_posts_nothing_new(
    entity: LegalEntity, open_items: None, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("close", "revalue", "2026-03")
    capsys.readouterr()

    call_command("close", "period", "2026-03")

    out = capsys.readouterr().out
    assert out.endswith("MAIN 2026-03 was revalued already: nothing posted\nMAIN 2026-03 closed\n")
    assert _entries() == 4


def test_revalue_speaks_the_readers_language(
    entity: LegalEntity, open_items: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("O2C_LOCALE", "de_DE")

    call_command("close", "revalue", "2026-03")

    out = capsys.readouterr().out
    assert "Fremdwährungsbewertung von MAIN zum 31.03.2026" in out
    assert "│ USD     │ 0,95 │ 1.190,00 │       1.071,00 │           1.130,50 │           59,50 │" in out
    assert out.endswith(
        "MAIN 2026-03 bewertet: unrealisierte Kursdifferenzen gebucht, am 01.04.2026 storniert\n"
    )
