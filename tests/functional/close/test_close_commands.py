"""`o2c close period YYYY-MM` and `o2c close reopen YYYY-MM` as a user runs them."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from o2c.ledger.models import FiscalPeriod, LegalEntity

pytestmark = pytest.mark.django_db

EARLIER_OPEN = "earlier periods are still open: 2025-08, 2025-09, 2025-10, 2025-11, 2025-12, 2026-01 …"


def _status(entity: LegalEntity, month: int) -> str:
    return FiscalPeriod.objects.get(entity=entity, start_date=date(2026, month, 1)).status


def _failing(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        call_command(*args)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.strip().splitlines()
    return line


def test_close_period_closes_the_month_and_reports_it_in_json(
    entity: LegalEntity, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("close", "period", "2026-02", "--format", "json")

    captured = capsys.readouterr()
    assert json.loads(captured.out) == {
        "entity": entity.code,
        "period": "2026-02",
        "status": "closed",
        "changed": True,
        "warnings": [EARLIER_OPEN],
        # the month is revalued first: no open foreign-currency items here (tests/functional/close/
        # test_revaluation_commands.py has them)
        "revaluation": {
            "entity": entity.code,
            "period": "2026-02",
            "rate_date": "2026-02-28",
            "rows": [],
            "posted": False,
        },
        # then the expected-credit-loss provision: nothing open, nothing to post (tests/functional/close/
        # test_provision_commands.py has it)
        "provision": {
            "entity": entity.code,
            "period": "2026-02",
            "as_of": "2026-02-28",
            "method": "ifrs9_simplified",
            "functional_currency": "EUR",
            "rows": [],
            "total": "0.00",
            "posted": False,
            "reversal_date": None,
        },
    }
    assert captured.err == f"warning: {EARLIER_OPEN}\n"
    assert _status(entity, 2) == "closed"


def test_closing_a_closed_period_again_changes_nothing_and_exits_0(
    entity: LegalEntity, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("close", "period", "2026-02")
    capsys.readouterr()

    call_command("close", "period", "2026-02")

    assert capsys.readouterr().out == f"{entity.code} 2026-02 was closed already\n"


def test_reopen_names_the_ar_manager_and_the_reason(
    entity: LegalEntity, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("close", "period", "2026-02")
    manager = User.objects.create_user("martin", password="x")
    manager.groups.add(Group.objects.get_or_create(name="ar_manager")[0])
    User.objects.create_user("colin", password="x")
    capsys.readouterr()

    assert _failing(capsys, "close", "reopen", "2026-02") == (
        "error: --user: reopening a period names the AR manager who decides it"
    )
    assert (
        _failing(capsys, "close", "reopen", "2026-02", "--user", "nobody")
        == "error: --user: unknown user 'nobody'"
    )
    assert _failing(capsys, "close", "reopen", "2026-02", "--user", "colin", "--reason", "x") == (
        "error: reopening a closed period needs an AR manager"
    )
    call_command("close", "reopen", "2026-02", "--user", "martin", "--reason", "late supplier credit")

    assert capsys.readouterr().out == f"{entity.code} 2026-02 reopened\n"
    assert _status(entity, 2) == "open"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("2026-2",), "error: period '2026-2' is not a month written YYYY-MM"),
        (("2031-05",), "error: entity MAIN has no fiscal period 2031-05"),
        (("2026-02", "--entity", "XX"), "error: --entity: unknown legal entity 'XX'"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(
    entity: LegalEntity, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    assert _failing(capsys, "close", "period", *args) == message
