"""The close API (`/api/close`: periods closed and reopened, the revaluation, the provision and its
matrix) and the close's reports (`/api/reports/rollforward|tie-out|risk`) on a small hand-built history,
within the roles and legal entities of the caller."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from o2c.audit.models import AuditEvent
from o2c.close.models import ProvisionRate
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import AccountType, FiscalPeriod, JournalEntry, JournalLine, LegalEntity
from o2c.ledger.rules import LineIn
from o2c.receivables import services as receivable_services
from o2c.receivables.models import Document
from o2c.workspace import services as workspace_services
from tests.conftest import NOW, customer_in, issued_invoice, make_user

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
JSON = "application/json"


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def client_for(user: User) -> Client:
    _, token = workspace_services.api_token_create(user=user, name="test", now=NOW)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def body(response: Any) -> Any:
    return json.loads(response.content)


def _status(entity: LegalEntity, year: int, month: int) -> str:
    return FiscalPeriod.objects.get(entity=entity, start_date=date(year, month, 1)).status


def _pay(invoice: Document, amount_minor: int, day: date) -> None:
    receivable_services.allocation_create(
        document_id=invoice.pk,
        kind="payment",
        amount_minor=amount_minor,
        posting_date=day,
        actor=None,
        now=NOW,
    )


@pytest.fixture
def manager_user(entity: LegalEntity) -> User:
    return make_user("martin", "ar_manager", entities=[entity])


@pytest.fixture
def manager(manager_user: User) -> Client:
    return client_for(manager_user)


@pytest.fixture
def auditor(entity: LegalEntity) -> Client:
    return client_for(make_user("aude", "auditor", entities=[entity]))


@pytest.fixture
def collector(entity: LegalEntity) -> Client:
    return client_for(make_user("colin", "collector", entities=[entity]))


@pytest.fixture
def cash_specialist(entity: LegalEntity) -> Client:
    return client_for(make_user("cassie", "cash_application", entities=[entity]))


@pytest.fixture
def history(entity: LegalEntity, customer: Customer) -> None:
    """1,190.00 invoiced in January, 1,190.00 in February, 500.00 of January's paid on 10 February."""
    january = issued_invoice(customer, issue_date=date(2026, 1, 20))
    issued_invoice(customer, issue_date=date(2026, 2, 5))
    _pay(january, 50000, date(2026, 2, 10))


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


def _put_rate(client: Client, segment: str, bucket: str, rate: str, reason: str = "committee") -> Any:
    return client.put(
        "/api/close/provision-rates",
        data=json.dumps({"segment": segment, "bucket": bucket, "rate": rate, "reason": reason}),
        content_type=JSON,
    )


class TestPeriods:
    def test_the_periods_are_listed_in_date_order_with_their_status(self, manager, auditor, entity):
        ledger_services.period_status_set(
            entity=entity, start=date(2026, 1, 1), status="closed", actor=None, now=NOW
        )
        for client in (manager, auditor):
            response = client.get("/api/close/periods")
            assert response.status_code == 200
            data = body(response)
            assert data["entity"] == entity.code
            by_month = {row["period"]: row for row in data["periods"]}
            assert by_month["2026-01"] == {
                "period": "2026-01",
                "first": "2026-01-01",
                "last": "2026-01-31",
                "status": "closed",
            }
            assert by_month["2026-02"]["status"] == "open"
            assert [row["period"] for row in data["periods"]] == sorted(by_month)
            assert (data["periods"][0]["period"], data["periods"][-1]["period"]) == ("2023-01", "2028-12")

    def test_an_open_month_is_revalued_provided_for_and_closed_and_the_close_is_audited(
        self, manager, manager_user, entity, history
    ):
        _put_rate(manager, "domestic", "1_30", "0.1")

        response = manager.post("/api/close/periods/2026-02/close")

        assert response.status_code == 200
        assert body(response) == {
            "entity": entity.code,
            "period": "2026-02",
            "status": "closed",
            "changed": True,
            "warnings": [
                "earlier periods are still open: 2025-08, 2025-09, 2025-10, 2025-11, 2025-12, 2026-01 …"
            ],
            "revaluation": {
                "entity": entity.code,
                "period": "2026-02",
                "functional_currency": "EUR",
                "rate_date": "2026-02-28",
                "rows": [],
                "posted": False,
            },
            "provision": {
                "entity": entity.code,
                "period": "2026-02",
                "as_of": "2026-02-28",
                "method": "ifrs9_simplified",
                "functional_currency": "EUR",
                "rows": [
                    {
                        "segment": "domestic",
                        "bucket": "current",
                        "currency": "EUR",
                        "open": "1190.00",
                        "rate": "0",
                        "provision": "0.00",
                        "provision_functional": "0.00",
                    },
                    {  # January's invoice, due 19 February: 9 days past due, 690.00 open
                        "segment": "domestic",
                        "bucket": "1_30",
                        "currency": "EUR",
                        "open": "690.00",
                        "rate": "0.1",
                        "provision": "69.00",
                        "provision_functional": "69.00",
                    },
                ],
                "total": "69.00",
                "posted": True,
                "reversal_date": "2026-03-01",
            },
        }
        assert _status(entity, 2026, 2) == "closed"
        assert JournalEntry.objects.filter(source_type="ecl_provision").count() == 2  # and its reversal
        [event] = AuditEvent.objects.filter(action="ledger.period.closed")
        assert (event.actor_id, event.object_label, event.changes) == (
            manager_user.pk,
            f"{entity.code} 2026-02",
            {"status": ["open", "closed"]},
        )

    def test_closing_a_closed_month_again_changes_nothing(self, manager, entity):
        manager.post("/api/close/periods/2026-02/close")

        response = manager.post("/api/close/periods/2026-02/close")

        assert response.status_code == 200
        data = body(response)
        assert (data["status"], data["changed"], data["warnings"]) == ("closed", False, [])
        assert (data["revaluation"], data["provision"]) == (None, None)
        assert AuditEvent.objects.filter(action="ledger.period.closed").count() == 1

    def test_reopening_needs_a_reason_and_then_is_audited_with_it(self, manager, manager_user, entity):
        manager.post("/api/close/periods/2026-02/close")

        refused = manager.post("/api/close/periods/2026-02/reopen", data=json.dumps({}), content_type=JSON)
        blank = manager.post(
            "/api/close/periods/2026-02/reopen", data=json.dumps({"reason": "  "}), content_type=JSON
        )

        for response in (refused, blank):
            assert (response.status_code, response["Content-Type"]) == (422, PROBLEM)
            assert (body(response)["code"], body(response)["detail"]) == (
                "reason_required",
                "reopening a closed period needs a reason",
            )
        assert _status(entity, 2026, 2) == "closed"
        assert not AuditEvent.objects.filter(action="ledger.period.reopened").exists()

        response = manager.post(
            "/api/close/periods/2026-02/reopen",
            data=json.dumps({"reason": "supplier credit booked late"}),
            content_type=JSON,
        )

        assert response.status_code == 200
        assert body(response) == {
            "entity": entity.code,
            "period": "2026-02",
            "status": "open",
            "changed": True,
            "warnings": [],
            "revaluation": None,
            "provision": None,
        }
        assert _status(entity, 2026, 2) == "open"
        [event] = AuditEvent.objects.filter(action="ledger.period.reopened")
        assert (event.actor_id, event.reason, event.changes) == (
            manager_user.pk,
            "supplier credit booked late",
            {"status": ["closed", "open"]},
        )

    def test_a_month_not_written_yyyy_mm_or_without_a_period_is_refused(self, manager):
        bad = manager.post("/api/close/periods/2026-2/close")
        missing = manager.post("/api/close/periods/2031-05/close")

        assert (bad.status_code, body(bad)["code"], body(bad)["detail"]) == (
            422,
            "bad_period",
            "period '2026-2' is not a month written YYYY-MM",
        )
        assert (missing.status_code, body(missing)["code"]) == (422, "unknown_period")

    @pytest.mark.parametrize("who", ["auditor", "collector", "cash_specialist"])
    def test_only_an_ar_manager_or_admin_closes_or_reopens(self, request, who, entity):
        client = request.getfixturevalue(who)
        ledger_services.period_status_set(
            entity=entity, start=date(2026, 1, 1), status="closed", actor=None, now=NOW
        )

        closing = client.post("/api/close/periods/2026-02/close")
        reopening = client.post(
            "/api/close/periods/2026-01/reopen", data=json.dumps({"reason": "x"}), content_type=JSON
        )

        for response in (closing, reopening):
            assert (response.status_code, body(response)["code"]) == (403, "forbidden")
        assert (_status(entity, 2026, 2), _status(entity, 2026, 1)) == ("open", "closed")
        assert AuditEvent.objects.filter(action__startswith="ledger.period.").count() == 1

    def test_an_admin_closes_too(self, entity):
        admin = client_for(make_user("ada", "admin", entities=[entity]))
        assert body(admin.post("/api/close/periods/2026-02/close"))["changed"] is True

    @pytest.mark.parametrize("who", ["collector", "cash_specialist"])
    def test_readers_are_ar_managers_auditors_and_admins(self, request, who):
        client = request.getfixturevalue(who)
        for path in (
            "/api/close/periods",
            "/api/close/provision?as_of=2026-02-28",
            "/api/close/provision-rates",
            "/api/reports/rollforward?period=2026-02",
            "/api/reports/tie-out?as_of=2026-02-28",
            "/api/reports/risk?as_of=2026-02-28",
        ):
            response = client.get(path)
            assert (response.status_code, body(response)["code"]) == (403, "forbidden"), path

    def test_an_entity_not_granted_is_not_found_to_read_and_unknown_to_change(self, manager, other_entity):
        for path in (
            "/api/close/periods?entity=FR01",
            "/api/close/provision?entity=FR01&as_of=2026-02-28",
            "/api/close/provision-rates?entity=FR01",
            "/api/reports/rollforward?entity=FR01&period=2026-02",
            "/api/reports/tie-out?entity=FR01&as_of=2026-02-28",
            "/api/reports/risk?entity=FR01&as_of=2026-02-28",
        ):
            assert manager.get(path).status_code == 404, path
        closing = manager.post("/api/close/periods/2026-02/close?entity=FR01")
        assert (closing.status_code, body(closing)["code"]) == (422, "unknown_entity")
        assert _status(other_entity, 2026, 2) == "open"


class TestRevaluation:
    @pytest.fixture
    def usd_invoice(self, customer: Customer) -> None:
        """1,190.00 USD issued on 2 March at 0.90 (1,071.00 EUR); USD is 0.95 on 31 March."""
        ledger_services.fx_rates_import(
            rates=[
                ledger_services.FxRateIn(date(2026, 3, 1), "USD", "EUR", Decimal("0.90")),
                ledger_services.FxRateIn(date(2026, 3, 31), "USD", "EUR", Decimal("0.95")),
            ],
            source="test",
            now=NOW,
        )
        issued_invoice(customer, currency="USD")

    def test_a_month_is_revalued_once(self, manager, entity, usd_invoice):
        first = manager.post(
            "/api/close/revaluation", data=json.dumps({"period": "2026-03"}), content_type=JSON
        )
        again = manager.post(
            "/api/close/revaluation", data=json.dumps({"period": "2026-03"}), content_type=JSON
        )

        assert first.status_code == 200
        row = {
            "currency": "USD",
            "rate": "0.95",
            "open": "1190.00",
            "carrying": "1071.00",
            "revalued": "1130.50",
            "difference": "59.50",
        }
        assert body(first) == {
            "entity": entity.code,
            "period": "2026-03",
            "functional_currency": "EUR",
            "rate_date": "2026-03-31",
            "rows": [row],
            "posted": True,
        }
        assert (body(again)["rows"], body(again)["posted"]) == ([row], False)
        assert JournalEntry.objects.filter(source_type="fx_revaluation").count() == 2  # and its reversal

    def test_a_closed_month_is_not_revalued_and_an_auditor_may_not(self, manager, auditor, entity):
        manager.post("/api/close/periods/2026-02/close")

        closed = manager.post(
            "/api/close/revaluation", data=json.dumps({"period": "2026-02"}), content_type=JSON
        )
        forbidden = auditor.post(
            "/api/close/revaluation", data=json.dumps({"period": "2026-03"}), content_type=JSON
        )

        assert (closed.status_code, body(closed)["code"]) == (422, "period_closed")
        assert forbidden.status_code == 403


class TestProvision:
    def test_the_provision_as_of_a_day_with_the_matrix(self, manager, auditor, entity, open_items):
        _put_rate(manager, "domestic", "current", "0.005")
        _put_rate(manager, "foreign", "61_90", "0.25")

        response = auditor.get("/api/close/provision?as_of=2026-03-31")

        assert response.status_code == 200
        data = body(response)
        assert {key: value for key, value in data.items() if key != "rates"} == {
            "entity": entity.code,
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
        }
        assert [(r["segment"], r["bucket"], r["rate"], r["source"]) for r in data["rates"]] == [
            ("domestic", "current", "0.005", "manual"),
            ("domestic", "1_30", "0", None),
            ("domestic", "31_60", "0", None),
            ("domestic", "61_90", "0", None),
            ("domestic", "91_120", "0", None),
            ("domestic", "over_120", "0", None),
            ("foreign", "current", "0", None),
            ("foreign", "1_30", "0", None),
            ("foreign", "31_60", "0", None),
            ("foreign", "61_90", "0.25", "manual"),
            ("foreign", "91_120", "0", None),
            ("foreign", "over_120", "0", None),
        ]
        assert not JournalEntry.objects.filter(source_type="ecl_provision").exists()  # a read posts nothing

    def test_an_ar_manager_sets_a_rate_with_a_reason_and_it_is_audited(self, manager, manager_user, entity):
        response = _put_rate(manager, "foreign", "61_90", "0.25", reason="credit committee 2026-03")

        assert response.status_code == 200
        data = body(response)
        assert (data["entity"], data["method"]) == (entity.code, "ifrs9_simplified")
        [cell] = [r for r in data["rates"] if (r["segment"], r["bucket"]) == ("foreign", "61_90")]
        assert cell == {
            "segment": "foreign",
            "bucket": "61_90",
            "rate": "0.25",
            "source": "manual",
            "set_by": "martin",
            "set_at": "2026-03-16T09:30:00Z",
            "reason": "credit committee 2026-03",
        }
        [event] = AuditEvent.objects.filter(action="close.provision_rate.set")
        assert (event.actor_id, event.object_label, event.changes, event.reason) == (
            manager_user.pk,
            f"{entity.code} foreign 61_90",
            {"rate": [None, "0.25"]},
            "credit committee 2026-03",
        )
        assert body(manager.get("/api/close/provision-rates"))["rates"] == data["rates"]

    @pytest.mark.parametrize(
        ("segment", "bucket", "rate", "reason", "code"),
        [
            ("foreign", "61_90", "0.25", "", "reason_required"),
            ("foreign", "61_90", "1.5", "x", "bad_rate"),
            ("foreign", "61_90", "0.0000001", "x", "bad_rate"),
            ("export", "61_90", "0.25", "x", "bad_segment"),
            ("foreign", "1_90", "0.25", "x", "bad_bucket"),
        ],
    )
    def test_a_refused_rate_changes_nothing(self, manager, segment, bucket, rate, reason, code):
        response = _put_rate(manager, segment, bucket, rate, reason)

        assert (response.status_code, response["Content-Type"], body(response)["code"]) == (
            422,
            PROBLEM,
            code,
        )
        assert "\n" not in body(response)["detail"]
        assert not ProvisionRate.objects.exists()
        assert not AuditEvent.objects.filter(action="close.provision_rate.set").exists()

    @pytest.mark.parametrize("who", ["auditor", "collector", "cash_specialist"])
    def test_only_an_ar_manager_or_admin_sets_rates(self, request, who):
        response = _put_rate(request.getfixturevalue(who), "foreign", "61_90", "0.25")

        assert (response.status_code, body(response)["code"]) == (403, "forbidden")
        assert not ProvisionRate.objects.exists()


class TestReports:
    def test_the_rollforward_of_a_month_per_currency(self, auditor, entity, history):
        response = auditor.get("/api/reports/rollforward?period=2026-02")

        assert response.status_code == 200
        assert body(response) == {
            "entity": entity.code,
            "period": "2026-02",
            "first": "2026-02-01",
            "last": "2026-02-28",
            "rows": [
                {
                    "entity": entity.code,
                    "currency": "EUR",
                    "opening": "1190.00",
                    "invoices": "1190.00",
                    "credit_memos": "0.00",
                    "cash_applied": "-500.00",
                    "discounts": "0.00",
                    "write_offs": "0.00",
                    "credit_memos_applied": "0.00",
                    "migrated": "0.00",
                    "other": "0.00",
                    "closing": "1880.00",
                    "subledger_closing": "1880.00",
                    "difference": "0.00",
                }
            ],
            "late_entries": [],
            "movement": None,
            "lines": None,
        }

    def test_the_rollforward_in_the_functional_currency_with_its_total(self, auditor, entity, history):
        response = auditor.get("/api/reports/rollforward/functional?period=2026-02")

        euros = {
            "entity": entity.code,
            "currency": "EUR",
            "opening": "1190.00",
            "invoices": "1190.00",
            "credit_memos": "0.00",
            "cash_applied": "-500.00",
            "discounts": "0.00",
            "write_offs": "0.00",
            "credit_memos_applied": "0.00",
            "migrated": "0.00",
            "fx_revaluation": "0.00",
            "other": "0.00",
            "closing": "1880.00",
        }
        assert response.status_code == 200
        assert body(response) == {
            "entity": entity.code,
            "period": "2026-02",
            "first": "2026-02-01",
            "last": "2026-02-28",
            "functional_currency": "EUR",
            "rows": [euros],
            "total": euros,
        }

    def test_the_functional_rollforward_is_not_for_a_collector(self, collector, history):
        response = collector.get("/api/reports/rollforward/functional?period=2026-02")

        assert (response.status_code, body(response)["code"]) == (403, "forbidden")

    def test_a_movement_drills_down_to_its_journal_lines(self, manager, customer, history):
        data = body(manager.get("/api/reports/rollforward?period=2026-02&movement=cash_applied&currency=EUR"))

        entry_id = JournalLine.objects.get(credit_minor=50000, account__type="receivable").entry_id
        invoice = Document.objects.get(issue_date=date(2026, 1, 20))
        assert data["movement"] == "cash_applied"
        assert data["lines"] == [
            {
                "entry": entry_id,
                "posting_date": "2026-02-10",
                "dated": None,
                "description": data["lines"][0]["description"],
                "customer_number": customer.number,
                "document_number": invoice.number,
                "currency": "EUR",
                "amount": "-500.00",
            }
        ]
        assert (
            body(manager.get("/api/reports/rollforward?period=2026-02&movement=cash_applied&currency=USD"))[
                "lines"
            ]
            == []
        )
        bad = manager.get("/api/reports/rollforward?period=2026-02&movement=refunds")
        assert (bad.status_code, body(bad)["code"]) == (422, "validation_error")

    def test_a_period_not_written_yyyy_mm_is_refused(self, manager):
        response = manager.get("/api/reports/rollforward?period=Feb-2026")
        assert (response.status_code, body(response)["code"]) == (422, "bad_period")

    def test_the_tie_out_lists_only_the_differences(self, manager, entity, customer, history):
        assert body(manager.get("/api/reports/tie-out?as_of=2026-02-28")) == {
            "entity": entity.code,
            "as_of": "2026-02-28",
            "differences": [],
        }
        # a manual journal entry on the customer's receivable account, without a document behind it
        receivable = ledger_selectors.account_for(entity=entity, type=AccountType.RECEIVABLE).pk
        revenue = ledger_selectors.account_for(entity=entity, type=AccountType.REVENUE).pk
        ledger_services.journal_entry_post(
            entity=entity,
            lines=[
                LineIn(account_id=receivable, currency="EUR", debit_minor=1000, customer_id=customer.pk),
                LineIn(account_id=revenue, currency="EUR", credit_minor=1000),
            ],
            posting_date=date(2026, 2, 20),
            description="manual",
            source_type="manual",
            source_id=None,
            idempotency_key="manual-1",
            now=NOW,
        )

        assert body(manager.get("/api/reports/tie-out?as_of=2026-02-28"))["differences"] == [
            {
                "customer_number": customer.number,
                "currency": "EUR",
                "subledger": "1880.00",
                "ledger": "1890.00",
                "difference": "10.00",
            }
        ]

    def test_the_accounts_for_review_with_their_reasons(self, auditor, entity, customer):
        """NET30, a 1,000.00 limit; 1,190.00 open since April; paid 10 days late in April and 30 days
        late in July (tests/integration/reporting/test_risk.py)."""
        Customer.objects.filter(pk=customer.pk).update(credit_limit_minor=100000)
        issued_invoice(customer, issue_date=date(2026, 3, 2))
        _pay(issued_invoice(customer, issue_date=date(2026, 3, 2)), 119000, date(2026, 4, 11))
        _pay(issued_invoice(customer, issue_date=date(2026, 6, 1)), 119000, date(2026, 7, 31))

        response = auditor.get("/api/reports/risk?as_of=2026-09-30")

        assert response.status_code == 200
        assert body(response) == {
            "entity": entity.code,
            "as_of": "2026-09-30",
            "accounts": [
                {
                    "entity": entity.code,
                    "customer_number": customer.number,
                    "customer_name": customer.name,
                    "currency": "EUR",
                    "open": "1190.00",
                    "over_90": "1190.00",
                    "credit_limit": "1000.00",
                    "days_to_pay": "60.0",
                    "days_late": "30.0",
                    "days_late_before": "10.0",
                    "flags": ["well_past_due", "paying_slower", "over_credit_limit"],
                    "reasons": [
                        "1190.00 EUR of 1190.00 EUR is over 90 days past due",
                        "pays 30.0 days late over the last 90 days, 10.0 the 90 before",
                        "owes 1190.00 EUR against a credit limit of 1000.00 EUR",
                    ],
                }
            ],
        }

    def test_an_account_without_a_flag_is_listed_only_with_all(self, manager, entity, customer):
        _pay(issued_invoice(customer, issue_date=date(2026, 8, 1)), 119000, date(2026, 8, 25))

        assert body(manager.get("/api/reports/risk?as_of=2026-09-30"))["accounts"] == []
        [account] = body(manager.get("/api/reports/risk?as_of=2026-09-30&all=true"))["accounts"]
        assert (account["open"], account["days_to_pay"], account["days_late"], account["flags"]) == (
            "0.00",
            "24.0",
            "-6.0",
            [],
        )
