"""`o2c close provision YYYY-MM` and `o2c close provision-rates` as a user runs them."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from o2c.audit.models import AuditEvent
from o2c.close.models import ProvisionRate
from o2c.customers import services as customer_services
from o2c.ledger import services as ledger_services
from o2c.ledger.models import JournalEntry, LegalEntity
from o2c.receivables import services as receivable_services
from tests.conftest import NOW, customer_in, issued_invoice, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def manager(entity: LegalEntity) -> User:
    return make_user("martin", "ar_manager", entities=[entity])


@pytest.fixture
def open_items(entity: LegalEntity) -> None:
    """On 31 March 2026: C-1000 (DE, domestic) 1,190.00 due 1 April (current); C-2000 (FR, foreign)
    1,190.00 due 31 December 2025 (90 days past due: 61_90)."""
    domestic = customer_services.customer_create(
        entity=entity, data=customer_in("C-1000"), actor=None, now=NOW
    )
    foreign = customer_services.customer_create(
        entity=entity, data=customer_in("C-2000", country="FR"), actor=None, now=NOW
    )
    issued_invoice(domestic, issue_date=date(2026, 3, 2))
    issued_invoice(foreign, issue_date=date(2025, 12, 1))


def _failing(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        call_command(*args)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.strip().splitlines()
    return line


def _set(segment: str, bucket: str, rate: str) -> None:
    call_command(
        "close",
        "provision-rates",
        "--set",
        segment,
        bucket,
        rate,
        "--user",
        "martin",
        "--reason",
        "committee",
    )


def test_an_ar_manager_sets_a_rate_and_the_matrix_lists_it_in_json(
    entity: LegalEntity, manager: User, capsys: pytest.CaptureFixture[str]
) -> None:
    _set("domestic", "current", "0.005")
    captured = capsys.readouterr()
    call_command("close", "provision-rates", "--format", "json")

    record = json.loads(capsys.readouterr().out)
    assert captured.err == "MAIN: loss rate of domestic current set to 0.005\n"
    assert "Loss rates of MAIN (IFRS 9 simplified approach)" in captured.out
    assert (record["entity"], record["method"], len(record["rates"])) == ("MAIN", "ifrs9_simplified", 12)
    assert record["rates"][0] == {
        "segment": "domestic",
        "bucket": "current",
        "rate": "0.005",
        "source": "manual",
        "set_by": "martin",
        "set_at": "2026-03-16T09:30:00+00:00",
        "reason": "committee",
    }
    assert record["rates"][1] == {
        "segment": "domestic",
        "bucket": "1_30",
        "rate": "0",
        "source": None,
        "set_by": None,
        "set_at": None,
        "reason": "",
    }
    assert AuditEvent.objects.filter(action="close.provision_rate.set").count() == 1


def test_setting_a_rate_is_refused_to_anyone_but_an_ar_manager_and_for_bad_input(
    entity: LegalEntity, manager: User, capsys: pytest.CaptureFixture[str]
) -> None:
    make_user("bianca", "billing", entities=[entity])
    base = ("close", "provision-rates", "--set", "domestic", "current")

    assert _failing(capsys, *base, "0.01", "--reason", "r") == (
        "error: --user: setting a loss rate names the AR manager who decides it"
    )
    assert _failing(capsys, *base, "0.01", "--user", "bianca", "--reason", "r") == (
        "error: setting loss rates needs an AR manager"
    )
    assert _failing(capsys, *base, "0.01", "--user", "martin") == "error: setting a loss rate needs a reason"
    assert _failing(capsys, *base, "12%", "--user", "martin", "--reason", "r") == (
        "error: a loss rate is a decimal between 0 and 1 with at most 6 decimals, not '12%'"
    )
    assert _failing(
        capsys,
        "close",
        "provision-rates",
        "--set",
        "export",
        "current",
        "0.1",
        "--user",
        "martin",
        "--reason",
        "r",
    ) == ("error: unknown segment 'export' (one of domestic, foreign)")
    assert not ProvisionRate.objects.exists()


def test_provision_posts_the_month_and_reports_it_in_json_once(
    entity: LegalEntity, manager: User, open_items: None, capsys: pytest.CaptureFixture[str]
) -> None:
    _set("domestic", "current", "0.005")
    _set("foreign", "61_90", "0.25")
    capsys.readouterr()

    call_command("close", "provision", "2026-03", "--format", "json")
    first = json.loads(capsys.readouterr().out)
    call_command("close", "provision", "2026-03", "--format", "json")
    again = json.loads(capsys.readouterr().out)

    # domestic current 1,190.00 × 0.005 = 5.95; foreign 61_90 1,190.00 × 0.25 = 297.50; total 303.45
    assert first == {
        "entity": "MAIN",
        "period": "2026-03",
        "as_of": "2026-03-31",
        "method": "ifrs9_simplified",
        "functional_currency": "EUR",
        "rows": [
            {
                "segment": "domestic",
                "bucket": "current",
                "currency": "EUR",
                "open": "1190.00",
                "rate": "0.005",
                "provision": "5.95",
                "provision_functional": "5.95",
            },
            {
                "segment": "foreign",
                "bucket": "61_90",
                "currency": "EUR",
                "open": "1190.00",
                "rate": "0.25",
                "provision": "297.50",
                "provision_functional": "297.50",
            },
        ],
        "total": "303.45",
        "posted": True,
        "reversal_date": "2026-04-01",
    }
    assert again == {**first, "posted": False}
    assert JournalEntry.objects.filter(source_type="ecl_provision").count() == 2  # the entry and its reversal
    call_command("ledger", "verify")


def test_provision_prints_its_supporting_table(
    entity: LegalEntity, manager: User, open_items: None, capsys: pytest.CaptureFixture[str]
) -> None:
    _set("foreign", "61_90", "0.25")
    capsys.readouterr()

    call_command("close", "provision", "2026-03")

    out = capsys.readouterr().out
    assert "Expected-credit-loss provision of MAIN on Mar 31, 2026 (IFRS 9 simplified approach)" in out
    assert "│ foreign  │ 61_90   │ EUR      │ 1,190.00 │ 25.00% │    297.50 │          297.50 │" in out
    assert out.endswith("MAIN 2026-03 provision posted, reversed on Apr 1, 2026\n")


def test_close_period_posts_the_provision_after_the_revaluation(
    entity: LegalEntity, manager: User, open_items: None, capsys: pytest.CaptureFixture[str]
) -> None:
    _set("foreign", "61_90", "0.25")
    capsys.readouterr()

    call_command("close", "period", "2026-03", "--format", "json")

    record = json.loads(capsys.readouterr().out)
    assert record["status"] == "closed"
    assert (record["provision"]["total"], record["provision"]["posted"]) == ("297.50", True)
    call_command("close", "provision", "2026-03")
    assert capsys.readouterr().out.endswith("MAIN 2026-03 was provided for already: nothing posted\n")
    call_command("close", "period", "2026-02")
    capsys.readouterr()
    assert _failing(capsys, "close", "provision", "2026-02") == (
        "error: period 2026-02 of entity MAIN is closed: reopen it to post its provision"
    )


def test_derive_replaces_the_matrix_with_rates_from_history(
    entity: LegalEntity, manager: User, capsys: pytest.CaptureFixture[str]
) -> None:
    """C-1000 1,190.00 issued 1 December 2025 (due 31 December), 119.00 written off on 10 February.
    31 December: current, 119.00 of 1,190.00 written off later: 0.1, × 1.5 = 0.15.
    31 January: 31 days past due (31_60), 0.1 again; 28 February: 59 days (31_60), 1,071.00 open and
    nothing written off later: 0. 31_60: (0.1 + 0) / 2 = 0.05, × 1.5 = 0.075."""
    customer = customer_services.customer_create(
        entity=entity, data=customer_in("C-1000"), actor=None, now=NOW
    )
    invoice = issued_invoice(customer, issue_date=date(2025, 12, 1))
    receivable_services.allocation_create(
        document_id=invoice.pk,
        kind="write_off",
        amount_minor=11900,
        posting_date=date(2026, 2, 10),
        actor=None,
        now=NOW,
    )

    call_command(
        "close", "provision-rates", "--derive", "--factor", "1.5", "--user", "martin", "--format", "json"
    )

    captured = capsys.readouterr()
    assert (
        captured.err == "MAIN: loss rates derived from the month ends 2025-03-31 to 2026-02-28, factor 1.5\n"
    )
    rates = {
        (cell["segment"], cell["bucket"]): (cell["rate"], cell["source"])
        for cell in json.loads(captured.out)["rates"]
    }
    assert rates[("domestic", "current")] == ("0.15", "derived")
    assert rates[("domestic", "31_60")] == ("0.075", "derived")
    assert rates[("domestic", "1_30")] == ("0", "derived")
    assert _failing(capsys, "close", "provision-rates", "--derive", "--factor", "x", "--user", "martin") == (
        "error: --factor: a decimal of 0 or more, not 'x'"
    )


def test_an_entity_in_the_us_is_reported_under_cecl(
    entity: LegalEntity, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger_services.entity_create(
        code="US01",
        name="O2C Inc.",
        country="US",
        currency="USD",
        time_zone="America/New_York",
        today=date(2026, 3, 16),
        now=NOW,
    )

    call_command("close", "provision", "2026-03", "--entity", "US01")

    assert "Expected-credit-loss provision of US01 on Mar 31, 2026 (CECL)" in capsys.readouterr().out
    call_command("close", "provision", "2026-03", "--entity", "US01", "--format", "json")
    assert json.loads(capsys.readouterr().out)["method"] == "cecl"


def test_provision_needs_a_period(entity: LegalEntity, capsys: pytest.CaptureFixture[str]) -> None:
    assert _failing(capsys, "close", "provision") == "error: the period is missing: write it YYYY-MM"
