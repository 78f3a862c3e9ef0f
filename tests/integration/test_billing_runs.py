"""Billing runs, worked by hand: catch-up, proration, tiers, usage, amendments, cancellation credits,
consolidation, tax per customer, idempotence. Amounts in cents; each comment shows the arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from o2c.billing import runs, services
from o2c.billing.models import BilledLine, BillingRun, Subscription
from o2c.billing.services import ProductIn, SubscriptionIn, UsageIn
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.receivables.models import Document
from tests.conftest import NOW, customer_in

pytestmark = pytest.mark.django_db


def product(
    code: str,
    model: str,
    unit: str = "0",
    *,
    tiers: str = "",
    period: str = "month",
    timing: str = "advance",
    metric: str = "",
    **kw: Any,
) -> ProductIn:
    return ProductIn(
        code=code,
        name=kw.pop("name", code.title()),
        price_model=model,
        currency="EUR",
        unit_price=Decimal(unit),
        tiers=tiers,
        billing_period=period,
        timing=timing,
        metric=metric,
        **kw,
    )


def subscribe(
    entity: LegalEntity,
    number: str,
    customer: str,
    code: str,
    quantity: str,
    start: date,
    *,
    end: date | None = None,
    bill_to: str = "",
    discount: str = "0",
    po: str = "",
) -> Subscription:
    services.subscriptions_import(
        entity=entity,
        subscriptions=[
            SubscriptionIn(
                number, customer, bill_to, code, Decimal(quantity), start, end, Decimal(discount), po
            )
        ],
        actor=None,
        now=NOW,
    )
    return Subscription.objects.get(number=number)


def run(entity: LegalEntity, as_of: date, *, issue: bool = True) -> runs.RunResult:
    return runs.billing_run(entity=entity, as_of=as_of, issue=issue, actor=None, now=NOW)


def amounts(document: runs.RunDocument) -> tuple[int, int, int]:
    return document.net_minor, document.tax_minor, document.total_minor


@pytest.fixture
def catalogue(entity: LegalEntity) -> None:
    services.products_import(
        entity=entity,
        products=[
            product("BASE", "flat", "100.00", name="Platform"),
            product("SEAT", "per_unit", "10.00", name="Seats"),
            product("SEAT-ARR", "per_unit", "12.50", timing="arrears", name="Seats in arrears"),
            product(
                "API",
                "tiered",
                tiers="1000:0.10|*:0.05",
                timing="arrears",
                metric="api_calls",
                name="API calls",
            ),
            product("STORAGE", "volume", tiers="1000:0.10|*:0.05", name="Storage"),
            product("SMS", "package", tiers="100:5.00", timing="arrears", metric="sms", name="SMS packs"),
            product("SUPPORT", "flat", "1200.00", period="year", name="Support"),
            product("SETUP", "flat", "500.00", period="once", name="Set-up fee"),
        ],
        actor=None,
        now=NOW,
    )


@pytest.fixture
def de_customer(entity: LegalEntity) -> Customer:
    return customer_services.customer_create(entity=entity, data=customer_in("C-DE"), actor=None, now=NOW)


def test_catch_up_bills_a_prorated_first_month_and_every_missed_month(entity, catalogue, de_customer) -> None:
    subscribe(entity, "S-1", "C-DE", "BASE", "1", date(2026, 1, 15))
    result = run(entity, date(2026, 3, 1))
    [invoice] = result.documents
    # January from the 15th: 100.00 over 31 days is 3.22 a day, the first 18 days take a cent more;
    # days 15-31 hold 4 of those: 17 × 3.22 + 0.04 = 54.78. February and March (in advance) in full.
    assert [line.amount_minor for line in invoice.lines] == [5478, 10000, 10000]
    assert [(line.period_start, line.period_end) for line in invoice.lines] == [
        (date(2026, 1, 15), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 31)),
    ]
    # 254.78 net, 19 % = 48.4082 -> 48.41 once per invoice
    assert amounts(invoice) == (25478, 4841, 30319)
    assert invoice.number == "INV-2026-000001"
    assert invoice.customer_number == "C-DE"
    assert Subscription.objects.get(number="S-1").billed_through == date(2026, 3, 31)


def test_a_second_run_for_the_same_date_bills_nothing(entity, catalogue, de_customer) -> None:
    subscribe(entity, "S-1", "C-DE", "BASE", "1", date(2026, 1, 1))
    assert len(run(entity, date(2026, 2, 1)).documents) == 1
    again = run(entity, date(2026, 2, 1))
    assert again.documents == []
    assert Document.objects.count() == 1
    assert BillingRun.objects.count() == 2


def test_arrears_bill_a_period_only_after_it_ended(entity, catalogue, de_customer) -> None:
    subscribe(entity, "S-2", "C-DE", "SEAT-ARR", "10", date(2026, 1, 1))
    assert run(entity, date(2026, 1, 31)).documents == []
    [invoice] = run(entity, date(2026, 2, 1)).documents
    # October is billed on 1 November: here January on 1 February, 10 × 12.50
    assert [(line.amount_minor, line.quantity, line.unit_price) for line in invoice.lines] == [
        (12500, Decimal(10), Decimal("12.50"))
    ]


def test_a_preview_drafts_without_numbers_and_an_issuing_run_numbers_and_posts_them(
    entity, catalogue, de_customer
) -> None:
    subscribe(entity, "S-1", "C-DE", "BASE", "1", date(2026, 1, 1))
    [draft] = run(entity, date(2026, 1, 1), issue=False).documents
    assert draft.number is None
    assert Document.objects.get().status == "draft"
    assert ledger_selectors.trial_balance(entity_ids=[entity.pk], as_of=date(2026, 1, 31)) == []
    [issued] = run(entity, date(2026, 1, 1)).documents
    assert issued.document_id == draft.document_id
    assert issued.number == "INV-2026-000001"
    assert amounts(issued) == (10000, 1900, 11900)


def test_usage_is_aggregated_per_period_and_rated_on_graduated_tiers(entity, catalogue, de_customer) -> None:
    subscribe(entity, "S-3", "C-DE", "API", "1", date(2026, 1, 1))
    services.usage_import(
        entity=entity,
        events=[
            UsageIn("e1", "S-3", "api_calls", Decimal(900), datetime(2026, 1, 5, 10, tzinfo=UTC)),
            UsageIn("e2", "S-3", "api_calls", Decimal(600), datetime(2026, 1, 31, 22, 59, tzinfo=UTC)),
            # 23:30 UTC on 31 January is 1 February in Berlin: February's usage
            UsageIn("e3", "S-3", "api_calls", Decimal(50), datetime(2026, 1, 31, 23, 30, tzinfo=UTC)),
        ],
        now=NOW,
    )
    [invoice] = run(entity, date(2026, 2, 1)).documents
    # 1,500 calls: 1,000 × 0.10 + 500 × 0.05 = 125.00
    assert [(line.quantity, line.amount_minor) for line in invoice.lines] == [(Decimal(1500), 12500)]


@pytest.mark.parametrize("entity_wide", [False, True], ids=["by-subscription", "entity-wide"])
def test_usage_is_aggregated_alike_by_subscription_and_for_the_whole_entity(
    entity, other_entity, catalogue, de_customer, monkeypatch, entity_wide: bool
) -> None:
    # Large runs read sums and maxima for the whole entity in one query; both paths give the same periods.
    if entity_wide:
        monkeypatch.setattr(runs, "_ENTITY_WIDE_FROM", 0)
    services.products_import(
        entity=entity,
        products=[product("PEAK", "per_unit", "0.50", timing="arrears", metric="users", aggregation="max")],
        actor=None,
        now=NOW,
    )
    subscribe(entity, "S-API", "C-DE", "API", "1", date(2026, 1, 1))
    subscribe(entity, "S-PEAK", "C-DE", "PEAK", "1", date(2026, 1, 1))
    subscribe(entity, "S-DONE", "C-DE", "API", "1", date(2025, 11, 1), end=date(2025, 11, 30))

    def event(event_id: str, number: str, metric: str, quantity: int, day: date) -> UsageIn:
        return UsageIn(
            event_id, number, metric, Decimal(quantity), datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
        )

    services.usage_import(
        entity=entity,
        events=[
            event("a1", "S-API", "api_calls", 700, date(2026, 1, 3)),
            event("a2", "S-API", "api_calls", 400, date(2026, 1, 20)),
            event("a3", "S-API", "api_calls", 25, date(2026, 2, 2)),
            event("p1", "S-PEAK", "users", 12, date(2026, 1, 4)),
            event("p2", "S-PEAK", "users", 30, date(2026, 1, 9)),
            event("p3", "S-PEAK", "users", 18, date(2026, 2, 1)),
            event("d1", "S-DONE", "api_calls", 99, date(2025, 11, 5)),
        ],
        now=NOW,
    )
    run(entity, date(2025, 12, 1))  # S-DONE billed to its end: no longer a candidate
    # another entity's events with the same period never count here
    customer_services.customer_create(
        entity=other_entity, data=customer_in("C-FR", country="FR"), actor=None, now=NOW
    )
    services.products_import(
        entity=other_entity,
        products=[product("API", "tiered", tiers="1000:0.10|*:0.05", timing="arrears", metric="api_calls")],
        actor=None,
        now=NOW,
    )
    subscribe(other_entity, "S-FR", "C-FR", "API", "1", date(2026, 1, 1))
    services.usage_import(
        entity=other_entity,
        events=[event("f1", "S-FR", "api_calls", 5000, date(2026, 1, 8))],
        now=NOW,
    )
    as_of = date(2026, 3, 1)
    candidates = runs.candidates(entity, as_of)
    terms = runs.terms_of([s.pk for s in candidates])
    usage = runs.usage_of(candidates, terms, runs.catalogue_of(entity), as_of)
    by_number = {s.pk: s.number for s in candidates}
    assert {(by_number[pk], start): micro // 1_000_000 for (pk, start), micro in usage.items()} == {
        ("S-API", date(2026, 1, 1)): 1100,  # 700 + 400
        ("S-API", date(2026, 2, 1)): 25,
        ("S-PEAK", date(2026, 1, 1)): 30,  # the peak of 12 and 30
        ("S-PEAK", date(2026, 2, 1)): 18,
    }


def test_resent_usage_events_are_ignored(entity, catalogue, de_customer) -> None:
    subscribe(entity, "S-3", "C-DE", "API", "1", date(2026, 1, 1))
    events = [UsageIn("e1", "S-3", "api_calls", Decimal(10), datetime(2026, 1, 5, tzinfo=UTC))]
    assert services.usage_import(entity=entity, events=events, now=NOW).created == 1
    again = services.usage_import(entity=entity, events=events, now=NOW)
    assert (again.created, again.ignored) == (0, 1)


def test_late_usage_goes_on_the_next_invoice_as_an_adjustment(entity, catalogue, de_customer) -> None:
    subscribe(entity, "S-3", "C-DE", "API", "1", date(2026, 1, 1))
    services.usage_import(
        entity=entity,
        events=[UsageIn("e1", "S-3", "api_calls", Decimal(1500), datetime(2026, 1, 10, tzinfo=UTC))],
        now=NOW,
    )
    run(entity, date(2026, 2, 1))
    late = services.usage_import(
        entity=entity,
        events=[
            UsageIn("e2", "S-3", "api_calls", Decimal(100), datetime(2026, 1, 20, tzinfo=UTC)),
            UsageIn("e3", "S-3", "api_calls", Decimal(200), datetime(2026, 2, 10, tzinfo=UTC)),
        ],
        now=NOW,
    )
    assert late.late == 1
    [invoice] = run(entity, date(2026, 3, 1)).documents
    # January now 1,600 calls = 100.00 + 30.00 = 130.00, billed 125.00: +5.00; February 200 × 0.10
    assert [(line.period_start, line.amount_minor) for line in invoice.lines] == [
        (date(2026, 1, 1), 500),
        (date(2026, 2, 1), 2000),
    ]
    # in the customer's language and date format
    assert invoice.lines[0].description == "API calls: Anpassung für den Zeitraum 01.01.2026 bis 31.01.2026"


def test_a_mid_period_upgrade_charges_the_prorated_difference(entity, catalogue, de_customer) -> None:
    subscription = subscribe(entity, "S-4", "C-DE", "SEAT", "10", date(2026, 1, 1))
    run(entity, date(2026, 1, 1))  # January: 10 × 10.00 = 100.00
    services.subscription_amend(
        subscription_id=subscription.pk,
        effective_from=date(2026, 1, 16),
        quantity=Decimal(20),
        actor=None,
        now=NOW,
    )
    [invoice] = run(entity, date(2026, 2, 1)).documents
    # January re-rated: 100.00 for days 1-15 = 15 × 3.22 + 0.15 = 48.45; 200.00 for days 16-31:
    # 6.45 a day with 5 cents for days 1-5, none of them in 16-31: 16 × 6.45 = 103.20. 151.65 − 100.00
    assert [line.amount_minor for line in invoice.lines] == [5165, 20000]
    assert amounts(invoice)[0] == 25165


def test_a_cancellation_credits_the_unused_days_on_a_credit_memo_at_the_invoice_tax(
    entity, catalogue, de_customer
) -> None:
    subscription = subscribe(entity, "S-5", "C-DE", "BASE", "1", date(2026, 1, 1))
    [january] = run(entity, date(2026, 2, 1)).documents  # January and February in advance
    services.subscription_end_set(
        subscription_id=subscription.pk, end_date=date(2026, 2, 14), actor=None, now=NOW
    )
    [credit] = run(entity, date(2026, 2, 20)).documents
    # February days 1-14: 3.57 a day, the first 4 days a cent more: 14 × 3.57 + 0.04 = 50.02 kept,
    # 49.98 credited with 19 %: 9.4962 -> 9.50
    assert credit.document_type == "credit_memo"
    assert amounts(credit) == (-4998, -950, -5948)
    memo = Document.objects.get(pk=credit.document_id)
    assert memo.corrects_id == january.document_id
    assert memo.status == "issued"
    assert Document.objects.get(pk=january.document_id).open_minor == 23800 - 5948
    assert run(entity, date(2026, 3, 1)).documents == []  # nothing after the end date


def test_a_parent_billed_for_its_subsidiaries_gets_one_consolidated_invoice(entity, catalogue) -> None:
    for number in ("P-1", "A-1", "B-1"):
        customer_services.customer_create(entity=entity, data=customer_in(number), actor=None, now=NOW)
    subscribe(entity, "S-A", "A-1", "BASE", "1", date(2026, 1, 1), bill_to="P-1")
    subscribe(entity, "S-B", "B-1", "SEAT", "3", date(2026, 1, 1), bill_to="P-1")
    [invoice] = run(entity, date(2026, 1, 1)).documents
    assert invoice.customer_number == "P-1"
    assert [line.product_code for line in invoice.lines] == ["BASE", "SEAT"]
    assert amounts(invoice) == (13000, 2470, 15470)
    assert Document.objects.get(pk=invoice.document_id).origin == "consolidated"


def test_volume_package_yearly_and_one_time_prices(entity, catalogue, de_customer) -> None:
    subscribe(entity, "S-6", "C-DE", "STORAGE", "1500", date(2026, 1, 1), discount="10")
    subscribe(entity, "S-7", "C-DE", "SUPPORT", "1", date(2026, 7, 1))
    subscribe(entity, "S-8", "C-DE", "SETUP", "1", date(2026, 1, 1))
    [invoice] = run(entity, date(2026, 7, 1), issue=False).documents
    by_code: dict[str, list[int]] = {}
    for line in invoice.lines:
        by_code.setdefault(line.product_code, []).append(line.amount_minor)
    # volume: 1,500 × 0.05 = 75.00 less 10 % = 67.50, January to July
    assert by_code["STORAGE"] == [6750] * 7
    # a yearly price from 1 July: 1,200.00 over 365 days, 184 days; 120000 = 328 × 365 + 280, the
    # first 280 days take a cent more, days 182-365 hold 99 of them: 184 × 3.28 + 0.99 = 604.51
    assert by_code["SUPPORT"] == [60451]
    assert by_code["SETUP"] == [50000]


def test_leap_year_february_is_prorated_over_29_days(entity, catalogue, de_customer) -> None:
    subscribe(entity, "S-9", "C-DE", "BASE", "1", date(2024, 2, 15), end=date(2024, 2, 29))
    [invoice] = run(entity, date(2024, 3, 1)).documents
    # 100.00 / 29 = 3.44 a day with 24 cents for days 1-24; days 15-29: 15 × 3.44 + 0.10 = 51.70
    assert [line.amount_minor for line in invoice.lines] == [5170]


def test_intra_eu_business_customer_is_invoiced_under_reverse_charge(entity, catalogue) -> None:
    customer_services.customer_create(
        entity=entity,
        data=customer_in("C-FR", country="FR", language="fr", vat_id="FR40303265045"),
        actor=None,
        now=NOW,
    )
    subscribe(entity, "S-10", "C-FR", "BASE", "1", date(2026, 1, 1))
    [invoice] = run(entity, date(2026, 1, 1)).documents
    assert amounts(invoice) == (10000, 0, 10000)
    document = Document.objects.get(pk=invoice.document_id)
    assert document.tax_lines.get().category == "AE"
    assert "196" in document.notes and "2006/112" in document.notes


def test_a_customer_outside_the_eu_is_invoiced_without_vat_as_an_export(entity, catalogue) -> None:
    customer_services.customer_create(
        entity=entity,
        data=customer_in("C-US", country="US", language="en", currency="EUR"),
        actor=None,
        now=NOW,
    )
    subscribe(entity, "S-11", "C-US", "BASE", "1", date(2026, 1, 1))
    [invoice] = run(entity, date(2026, 1, 1)).documents
    assert amounts(invoice) == (10000, 0, 10000)
    assert Document.objects.get(pk=invoice.document_id).tax_lines.get().category == "G"


def test_one_bad_subscription_does_not_stop_the_run(entity, catalogue, de_customer) -> None:
    services.products_import(
        entity=entity, products=[product("CAPPED", "volume", tiers="100:1.00")], actor=None, now=NOW
    )
    subscribe(entity, "S-1", "C-DE", "BASE", "1", date(2026, 1, 1))
    bad = subscribe(entity, "S-2", "C-DE", "CAPPED", "500", date(2026, 1, 1))
    result = run(entity, date(2026, 1, 1))
    assert [d.lines[0].product_code for d in result.documents] == ["BASE"]
    assert result.errors == [("S-2", "quantity 500 is above the last volume tier")]
    assert BillingRun.objects.get(pk=result.run_id).errors == [
        {"subscription_number": "S-2", "message": "quantity 500 is above the last volume tier"}
    ]
    assert Subscription.objects.get(number="S-2").billed_through is None
    assert BilledLine.objects.filter(subscription=bad).count() == 0


def test_time_limited_discounts_stop_after_their_last_period(entity, catalogue, de_customer) -> None:
    services.subscriptions_import(
        entity=entity,
        subscriptions=[
            SubscriptionIn(
                "S-12",
                "C-DE",
                "",
                "BASE",
                Decimal(1),
                date(2026, 1, 1),
                discount_percent=Decimal(10),
                discount_amount=Decimal("5.00"),
                discount_until=date(2026, 2, 28),
            )
        ],
        actor=None,
        now=NOW,
    )
    [invoice] = run(entity, date(2026, 3, 1), issue=False).documents
    # January and February: 100.00 less 10 % less 5.00 = 85.00; March at the list price
    assert [line.amount_minor for line in invoice.lines] == [8500, 8500, 10000]
