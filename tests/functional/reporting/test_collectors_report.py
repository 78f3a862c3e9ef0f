"""`o2c report collectors --period YYYY-MM` and `GET /api/reports/collectors`: the portfolio review of
tests/integration/reporting/test_collectors.py's history (Anna and Ben, March 2026)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import call_command

from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from tests.conftest import make_user
from tests.functional.reporting.test_api_reports import body, client_for
from tests.functional.test_import_commands import run_failing
from tests.integration.reporting.test_collectors import build_portfolios

pytestmark = pytest.mark.django_db

MARCH = [
    {
        "entity": "MAIN",
        "collector": "anna",
        "currency": "EUR",
        "customers": 1,
        "receivable": "595.00",
        "past_due": "0.00",
        "over_90": "0.00",
        "disputed": "0.00",
        "unapplied": "0.00",
        "collected": "1000.00",
        "target": "2000.00",
        "percent_of_target": "50.00",
    },
    {
        "entity": "MAIN",
        "collector": "ben",
        "currency": "EUR",
        "customers": 1,
        "receivable": "2380.00",
        "past_due": "2380.00",
        "over_90": "0.00",
        "disputed": "2380.00",
        "unapplied": "380.00",
        "collected": "0.00",
        "target": "1000.00",
        "percent_of_target": "0.00",
    },
    {
        "entity": "MAIN",
        "collector": "",
        "currency": "EUR",
        "customers": 1,
        "receivable": "119.00",
        "past_due": "0.00",
        "over_90": "0.00",
        "disputed": "0.00",
        "unapplied": "0.00",
        "collected": "0.00",
        "target": None,
        "percent_of_target": None,
    },
]


@pytest.fixture
def portfolios(entity: LegalEntity, customer: Customer) -> None:
    build_portfolios(entity, customer)


def _out(capsys: Any, *args: str) -> str:
    capsys.readouterr()
    call_command("report", "collectors", *args)
    captured = capsys.readouterr()
    assert captured.err == ""
    return str(captured.out)


class TestCommand:
    def test_json_lists_each_collector_s_portfolio_with_exact_amounts(self, capsys, portfolios):
        document = json.loads(_out(capsys, "--period", "2026-03", "--format", "json"))
        assert document == {"entity": "MAIN", "period": "2026-03", "as_of": "2026-03-31", "collectors": MARCH}

    def test_csv_has_a_header_and_a_row_per_collector_and_currency(self, capsys, portfolios):
        assert _out(capsys, "--period", "2026-03", "--format", "csv").splitlines() == [
            "entity,collector,currency,customers,receivable,past_due,over_90,disputed,unapplied,collected,"
            "target,percent_of_target",
            "MAIN,anna,EUR,1,595.00,0.00,0.00,0.00,0.00,1000.00,2000.00,50.00",
            "MAIN,ben,EUR,1,2380.00,2380.00,0.00,2380.00,380.00,0.00,1000.00,0.00",
            "MAIN,,EUR,1,119.00,0.00,0.00,0.00,0.00,0.00,,",
        ]

    def test_the_table_names_the_customers_without_a_collector(self, capsys, portfolios):
        out = _out(capsys, "--period", "2026-03", "--as-of", "2026-03-16")
        assert "Portfolio review, MAIN, 2026-03 as of Mar 16, 2026" in out
        assert "(no collector)" in out
        assert "380.00" in out and " 38.00 " in out  # Ben's 380.00 of 1,000.00, not undone yet

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            ((), "error: --period: the portfolio review needs the month, YYYY-MM"),
            (("--period", "2026-3"), "error: --period: period '2026-3' is not a month written YYYY-MM"),
            (
                ("--period", "2026-03", "--as-of", "2026-02-28"),
                "error: --as-of: 2026-02-28 is before the month 2026-03",
            ),
        ],
    )
    def test_bad_input_is_one_line_and_exit_status_2(self, capsys, entity, args, message):
        assert run_failing(capsys, "report", "collectors", *args) == message


class TestApi:
    def test_the_review_for_a_manager_is_the_command_s_document(self, entity, portfolios):
        manager = client_for(make_user("maria", "ar_manager", entities=[entity]))
        response = manager.get("/api/reports/collectors?period=2026-03")
        assert response.status_code == 200
        assert body(response) == {
            "entity": "MAIN",
            "period": "2026-03",
            "as_of": "2026-03-31",
            "collectors": MARCH,
        }

    def test_collectors_may_not_read_the_managers_review_and_other_entities_are_not_found(
        self, entity, other_entity: LegalEntity, portfolios
    ):
        collector = client_for(make_user("carl", "collector", entities=[entity]))
        assert collector.get("/api/reports/collectors?period=2026-03").status_code == 403
        french = client_for(make_user("francois", "ar_manager", entities=[other_entity]))
        assert french.get("/api/reports/collectors?period=2026-03&entity=MAIN").status_code == 404

    def test_a_bad_period_is_422(self, entity):
        manager = client_for(make_user("maria", "ar_manager", entities=[entity]))
        assert manager.get("/api/reports/collectors?period=March").status_code == 422
