"""The matching policy's FX tolerance: how far cash converted at the day's rate may be off the invoices it
names and still settle them in full (the difference realised FX). Changed through
`workbench.policy_change` (validated, audited with before and after), read by the matcher."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from o2c.audit.models import AuditEvent
from o2c.cash import services as cash_services
from o2c.cash import workbench
from o2c.cash.errors import UnableToChangeMatchingPolicy
from o2c.cash.models import CurrencyConversion, MatchingPolicy, Payment
from o2c.core import checks
from o2c.customers.models import Customer
from o2c.ledger import services as ledger_services
from o2c.ledger.models import LegalEntity
from o2c.receivables.models import Document
from tests.camt_builder import Credit, statement_xml
from tests.conftest import issued_invoice, make_user

pytestmark = pytest.mark.django_db

BASE = {
    "auto_apply_confidence": Decimal("0.900"),
    "write_off_tolerance": Decimal("5.00"),
    "discount_grace_days": 3,
}


def _verify() -> list[str]:
    return [problem for check in checks.all_checks() for problem in check.run()]


def _audits() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="cash.policy.changed").order_by("pk"))


@pytest.fixture
def carla(entity: LegalEntity) -> User:
    return make_user("carla", "cash_application", entities=[entity])


@pytest.fixture
def dollar_invoice(customer: Customer, now: datetime) -> Document:
    """1,190.00 USD issued on 2 March; 0.95 EUR a dollar on 20 March, the statement's value date."""
    ledger_services.fx_rates_import(
        rates=[
            ledger_services.FxRateIn(day, "USD", "EUR", Decimal(rate))
            for day, rate in ((date(2026, 3, 1), "0.90"), (date(2026, 3, 20), "0.95"))
        ],
        source="test",
        now=now,
    )
    return issued_invoice(customer, currency="USD")


def _pay_in_euros(entity: LegalEntity, invoice: Document, amount: str, now: datetime) -> Payment:
    data = statement_xml([Credit(amount, "E1", text=invoice.number)], statement_id="e1", message_id="e1")
    cash_services.bank_file_import(data=data, file_name="e1", entity=entity, actor=None, now=now)
    return Payment.objects.get(entry_reference="E1")


def _policy(entity: LegalEntity, now: datetime, percent: str) -> MatchingPolicy:
    return workbench.policy_change(
        entity=entity, actor=None, now=now, fx_tolerance_percent=Decimal(percent), **BASE
    )


class TestPolicyChange:
    def test_the_fx_tolerance_is_stored_read_by_the_matcher_and_audited_with_the_reason(
        self, entity: LegalEntity, carla: User, now: datetime
    ) -> None:
        policy = workbench.policy_change(
            entity=entity,
            actor=carla,
            now=now,
            fx_tolerance_percent=Decimal("0.25"),
            reason="our banks convert close to the ECB rate",
            **BASE,
        )

        policy.refresh_from_db()
        assert policy.fx_tolerance_percent == Decimal("0.25")
        assert cash_services.policy_for(entity).fx_tolerance_percent == Decimal("0.25")
        (audit,) = _audits()
        assert audit.changes == {"fx_tolerance_percent": ["1.00", "0.25"]}
        assert (audit.reason, audit.actor_id, audit.object_type, audit.object_id) == (
            "our banks convert close to the ECB rate",
            carla.pk,
            "matching_policy",
            policy.pk,
        )

    def test_left_out_it_keeps_what_is_stored_and_the_default_is_one_percent(
        self, entity: LegalEntity, carla: User, now: datetime
    ) -> None:
        first = workbench.policy_change(entity=entity, actor=carla, now=now, **BASE)
        assert first.fx_tolerance_percent == Decimal("1.00")
        workbench.policy_change(
            entity=entity, actor=carla, now=now, fx_tolerance_percent=Decimal("2.5"), **BASE
        )

        kept = workbench.policy_change(
            entity=entity, actor=carla, now=now, **{**BASE, "discount_grace_days": 5}
        )

        kept.refresh_from_db()
        assert (kept.fx_tolerance_percent, kept.discount_grace_days) == (Decimal("2.50"), 5)
        assert [audit.changes for audit in _audits()] == [
            {},  # the first change stored the defaults
            {"fx_tolerance_percent": ["1.00", "2.50"]},
            {"discount_grace_days": [3, 5]},
        ]

    @pytest.mark.parametrize(("percent", "stored"), [("0", Decimal("0.00")), ("10", Decimal("10.00"))])
    def test_0_and_10_percent_are_the_bounds(
        self, entity: LegalEntity, now: datetime, percent: str, stored: Decimal
    ) -> None:
        policy = _policy(entity, now, percent)

        policy.refresh_from_db()
        assert policy.fx_tolerance_percent == stored

    @pytest.mark.parametrize(
        ("percent", "message"),
        [
            ("10.01", "the FX tolerance of 10.01 % is not between 0 and 10 % with at most two decimals"),
            ("-0.01", "the FX tolerance of -0.01 % is not between 0 and 10 % with at most two decimals"),
            ("0.005", "the FX tolerance of 0.005 % is not between 0 and 10 % with at most two decimals"),
            ("NaN", "the FX tolerance of NaN % is not between 0 and 10 % with at most two decimals"),
        ],
    )
    def test_out_of_range_or_over_precise_is_refused_and_changes_nothing(
        self, entity: LegalEntity, carla: User, now: datetime, percent: str, message: str
    ) -> None:
        workbench.policy_change(entity=entity, actor=carla, now=now, **BASE)

        with pytest.raises(UnableToChangeMatchingPolicy) as refused:
            workbench.policy_change(
                entity=entity,
                actor=carla,
                now=now,
                fx_tolerance_percent=Decimal(percent),
                **{**BASE, "discount_grace_days": 7},
            )

        assert (refused.value.code, refused.value.message) == ("bad_fx_tolerance", message)
        stored = MatchingPolicy.objects.get()
        assert (stored.fx_tolerance_percent, stored.discount_grace_days) == (Decimal("1.00"), 3)
        assert len(_audits()) == 1  # the first change only

    def test_the_database_refuses_more_than_10_percent(self, entity: LegalEntity, now: datetime) -> None:
        with pytest.raises(IntegrityError), transaction.atomic():
            MatchingPolicy.objects.create(
                entity=entity, currency="EUR", changed_at=now, fx_tolerance_percent=Decimal("10.01")
            )


class TestMatcherReadsTheTolerance:
    """1,128.00 EUR at 1/0.95 is 1,187.37 USD: 2.63 USD (0.221 %) short of the 1,190.00 USD invoice."""

    @pytest.mark.parametrize("percent", [None, "1.00", "0.23"])
    def test_within_the_tolerance_the_converted_cash_settles_the_invoice_in_full(
        self, entity: LegalEntity, dollar_invoice: Document, now: datetime, percent: str | None
    ) -> None:
        if percent is not None:
            _policy(entity, now, percent)  # 0.23 % of 1,190.00 USD is 2.737 USD

        payment = _pay_in_euros(entity, dollar_invoice, "1128.00", now)

        dollar_invoice.refresh_from_db()
        assert (dollar_invoice.open_minor, payment.status, payment.unapplied_minor) == (0, "applied", 0)
        assert any("2.63 USD off the open amount" in reason for reason in payment.reasons), payment.reasons
        conversion = CurrencyConversion.objects.get()
        assert (conversion.from_minor, conversion.to_minor) == (112800, 119000)
        assert _verify() == []

    @pytest.mark.parametrize("percent", ["0.22", "0.00"])
    def test_below_the_difference_it_is_a_partial_payment_at_the_days_rate(
        self, entity: LegalEntity, dollar_invoice: Document, now: datetime, percent: str
    ) -> None:
        _policy(entity, now, percent)  # 0.22 % of 1,190.00 USD is 2.618 USD, less than 2.63

        payment = _pay_in_euros(entity, dollar_invoice, "1128.00", now)

        dollar_invoice.refresh_from_db()
        assert dollar_invoice.open_minor == 263
        assert (payment.status, payment.unapplied_minor) == ("applied", 0)
        assert not any("off the open amount" in reason for reason in payment.reasons), payment.reasons
        conversion = CurrencyConversion.objects.get()
        assert (conversion.from_minor, conversion.to_minor) == (112800, 118737)
        assert _verify() == []


def test_values_unchanged_are_not_audited_again(entity: LegalEntity, carla: User, now: datetime) -> None:
    arguments: dict[str, Any] = {"fx_tolerance_percent": Decimal("0.5"), **BASE}
    workbench.policy_change(entity=entity, actor=carla, now=now, **arguments)
    workbench.policy_change(
        entity=entity, actor=carla, now=now, **{**arguments, "fx_tolerance_percent": Decimal("0.50")}
    )

    assert len(_audits()) == 1
