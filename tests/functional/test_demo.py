"""`o2c demo`: a realistic demo company in an empty database, through the services, ledger intact."""

from __future__ import annotations

import itertools
import random
import re
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from schwifty import IBAN
from stdnum import get_cc_module

from o2c.audit.models import AuditEvent
from o2c.billing.models import (
    BilledLine,
    BillingRun,
    InvoiceProfile,
    Product,
    RevenueRelease,
    RevenueSchedule,
    Subscription,
    SubscriptionTerm,
    TaxExemption,
    UsageEvent,
)
from o2c.core import checks
from o2c.credit.checks import exposure_summary_equals_truth
from o2c.credit.models import CreditReview, CreditScore, RaiseRequest, SalesOrder
from o2c.customers.models import BankAccount, Contact, Customer
from o2c.disputes.models import Case, CaseNote
from o2c.ledger.models import (
    EntityBankAccount,
    EntityGrant,
    FiscalPeriod,
    FxRate,
    JournalEntry,
    LegalEntity,
    TaxRegistration,
)
from o2c.receivables.models import Allocation, Document, TaxLine
from o2c.workspace import demo, demo_billing, roles
from o2c.workspace.models import UserPreference

pytestmark = pytest.mark.django_db


def run_demo(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("demo", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def is_valid_vat_id(country: str, vat_id: str) -> bool:
    module = get_cc_module(country.lower(), "vat")
    assert module is not None
    return bool(module.is_valid(vat_id))


def row_counts() -> dict[str, int]:
    return {
        "customers": Customer.objects.count(),
        "documents": Document.objects.count(),
        "allocations": Allocation.objects.count(),
        "journal_entries": JournalEntry.objects.count(),
        "users": User.objects.count(),
        "audit_events": AuditEvent.objects.count(),
        "fx_rates": FxRate.objects.count(),
    }


@pytest.fixture
def small_demo(entity: LegalEntity) -> str:
    out, _ = run_demo("--customers", "30", "--seed", "7")
    return out


class TestDemo:
    """Each test runs the small demo of the issue (`--customers 30 --seed 7`) once."""

    def test_customers_span_five_countries_with_local_names_groups_and_valid_ids(self, small_demo):
        customers = Customer.objects.all()
        assert customers.count() >= 30
        assert set(customers.values_list("country", flat=True)) == {"US", "DE", "FR", "ES", "GB"}
        assert set(customers.values_list("currency", flat=True)) == {"USD", "EUR", "GBP"}
        assert set(customers.values_list("language", flat=True)) == {"de", "fr", "es", "en"}
        forms = {
            "DE": ("GmbH", "AG", "KG"),
            "FR": ("SAS", "SARL", "SA"),
            "ES": ("S.L.", "S.A."),
            "GB": ("Ltd", "PLC"),
            "US": ("Inc.", "LLC"),
        }
        for customer in customers:
            assert customer.currency == {"US": "USD", "GB": "GBP"}.get(customer.country, "EUR")
            assert customer.name.endswith(forms[customer.country]), customer.name
            assert customer.collector_id is not None
            if customer.country == "US":
                assert customer.vat_id == ""
            else:
                assert is_valid_vat_id(customer.country, customer.vat_id), customer.vat_id
        assert any(ch in "".join(customers.values_list("name", flat=True)) for ch in "äöüßéèñ")
        parents = Customer.objects.filter(children__isnull=False).distinct()
        assert parents.count() >= 2
        assert all(parent.children.count() >= 3 for parent in parents)
        terms = set(customers.values_list("payment_terms", flat=True))
        assert terms <= {"NET30", "NET14", "2/10NET30", "NET60", "NET30EOM", "DUE"}
        assert len(terms) >= 3
        assert customers.filter(status=Customer.Status.ACTIVE).count() > customers.count() // 2
        assert customers.exclude(status=Customer.Status.ACTIVE).exists()
        assert Contact.objects.exists()
        ibans = list(BankAccount.objects.values_list("iban", flat=True))
        assert ibans
        for iban in ibans:
            IBAN(iban)  # raises on a bad checksum or structure

    def test_two_years_of_documents_settle_realistically_and_every_check_holds(self, small_demo, entity):
        # the documents made by hand; the billing runs' are checked in TestDemoBilling
        manual = Document.objects.filter(entity=entity, origin=Document.Origin.MANUAL)
        invoices = manual.filter(document_type="invoice", status=Document.Status.ISSUED)
        assert invoices.count() >= 60
        assert manual.filter(document_type="credit_memo", corrects__isnull=False).exists()
        assert not manual.filter(status=Document.Status.DRAFT).exists()
        dates = sorted(invoices.values_list("issue_date", flat=True))
        assert (dates[-1] - dates[0]).days > 365 + 300
        settlements = set(invoices.values_list("settlement", flat=True))
        assert {"open", "paid"} <= settlements
        assert Allocation.objects.filter(kind="payment").exists()
        assert Allocation.objects.filter(kind="write_off").exists()
        # a year ago and older: mostly settled; some still open
        old = invoices.filter(issue_date__lt=dates[-1].replace(year=dates[-1].year - 1))
        assert old.filter(open_minor=0).count() > 4 * old.filter(open_minor__gt=0).count()
        assert invoices.filter(open_minor__gt=0).count() < invoices.filter(open_minor=0).count()
        rates = {
            "DE": {"19.000", "7.000"},
            "FR": {"20.000", "5.500"},
            "ES": {"21.000", "10.000"},
            "GB": {"20.000"},
            "US": {"0.000"},
        }
        for invoice in invoices.select_related("customer").prefetch_related("lines"):
            lines = list(invoice.lines.all())
            assert 1 <= len(lines) <= 4
            assert {f"{line.tax_rate:.3f}" for line in lines} <= rates[invoice.customer.country]
        assert FxRate.objects.filter(from_currency="USD", to_currency="EUR").count() >= 24
        assert FxRate.objects.filter(from_currency="GBP", to_currency="EUR").count() >= 24
        assert {check.name: check.run() for check in checks.all_checks()} == {
            check.name: [] for check in checks.all_checks()
        }

    def test_the_credit_desk_has_scores_reviews_due_orders_held_and_a_raise_request(self, small_demo, entity):
        orders = SalesOrder.objects.filter(entity=entity)
        held = orders.filter(status="held")
        summary = re.search(
            r"(\d+) sales orders \((\d+) held\), (\d+) customers scored \((\d+) reviews due\), "
            r"1 credit raise request",
            small_demo,
        )
        assert summary is not None, small_demo
        assert (int(summary[1]), int(summary[2])) == (orders.count(), held.count())
        assert held.exists() and orders.filter(status="released").exists()
        assert orders.filter(status="shipped").exists()
        # every held order says why, with the reason codes the credit check gives
        assert {reason["code"] for order in held for reason in order.hold_reasons} <= {
            "customer_blocked",
            "no_limit",
            "limit_expired",
            "over_customer_limit",
            "over_group_limit",
            "past_due",
            "review_overdue",
        }
        assert all(order.hold_reasons for order in held)
        assert int(summary[3]) == CreditScore.objects.filter(customer__entity=entity).count() > 0
        assert CreditReview.objects.filter(entity=entity, state="open").count() >= int(summary[4])
        assert RaiseRequest.objects.filter(customer__entity=entity, state="open").count() == 1
        assert exposure_summary_equals_truth() == []

    def test_dispute_cases_are_opened_worked_and_resolved_through_the_disputes_services(
        self, small_demo, entity
    ):
        cases = Case.objects.filter(entity=entity).select_related("document", "credit_memo")
        assert cases.count() >= demo.MIN_DISPUTES
        assert set(cases.values_list("kind", flat=True)) == {"dispute"}
        assert set(cases.values_list("created_by__username", flat=True)) == {"dana"}
        # each on an overdue invoice, opened after its due date
        for case in cases:
            assert case.document.due_date < case.opened_on <= case.due_date
        assert CaseNote.objects.filter(case__entity=entity).count() >= 3
        credited = cases.get(state="resolved_credit")
        assert credited.credit_memo is not None and credited.credit_memo.status == "issued"
        assert Allocation.objects.filter(source_document=credited.credit_memo).exists()
        assert cases.filter(state="rejected_invalid").count() == 1
        still_open = cases.filter(state="open")
        assert still_open.count() == cases.count() - 2
        # the open cases keep their invoices disputed, the ended ones cleared the flag
        disputed = set(Document.objects.filter(entity=entity, is_disputed=True).values_list("pk", flat=True))
        assert disputed == set(still_open.values_list("document_id", flat=True))
        assert f"{len(disputed)} disputed ({cases.count()} dispute cases, 2 of them resolved)" in small_demo
        assert {check.name: check.run() for check in checks.all_checks()} == {
            check.name: [] for check in checks.all_checks()
        }

    def test_one_user_per_role_signs_in_with_the_printed_password(self, small_demo, entity):
        for role in roles.ALL_ROLES:
            users = User.objects.filter(groups__name=role)
            assert users.exists(), role
            for user in users:
                assert EntityGrant.objects.filter(user=user, entity=entity).exists()
                assert UserPreference.objects.filter(user=user).exists()
                assert user.check_password(demo.PASSWORD)
                assert user.username in small_demo
        admin = User.objects.get(username="admin")
        assert admin.is_superuser and admin.is_staff
        language = {
            role: set(
                UserPreference.objects.filter(user__groups__name=role).values_list("language", flat=True)
            )
            for role in roles.ALL_ROLES
        }
        assert (language["billing"], language["credit"]) == ({"de"}, {"es"})
        assert "fr" in language["collector"]
        assert "http://127.0.0.1:8000" in small_demo
        assert demo.PASSWORD in small_demo

    def test_a_second_run_is_refused_and_with_if_empty_does_nothing(self, small_demo, capsys):
        before = row_counts()
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            run_demo("--customers", "30", "--seed", "8")
        assert exit_info.value.code == 2
        assert (
            capsys.readouterr().err
            == "error: entity MAIN has customers already; o2c demo fills an empty database\n"
        )
        assert row_counts() == before
        out, _ = run_demo("--if-empty", "--customers", "30")
        assert out == ""
        assert capsys.readouterr().err == "demo: entity MAIN has customers already; nothing to do\n"
        assert row_counts() == before


BILLING_ORIGINS = (Document.Origin.AUTOMATED, Document.Origin.CONSOLIDATED)
CATALOGUE = {
    ("PLATFORM", "flat", "month", "advance", ""),
    ("SEATS", "per_unit", "month", "advance", ""),
    ("API-CALLS", "tiered", "month", "arrears", "api_calls"),
    ("STORAGE", "volume", "month", "arrears", ""),
    ("SMS", "package", "month", "arrears", "sms"),
    ("SUPPORT", "flat", "year", "advance", ""),
    ("ONBOARDING", "flat", "once", "advance", ""),
}


class TestDemoBilling:
    """The small demo's second entity, contracts and a year of billing runs (each test runs it once)."""

    def test_a_german_and_a_us_entity_with_registrations_profiles_banks_users_and_customers(
        self, small_demo, entity
    ):
        us = LegalEntity.objects.get(code="US01")
        assert (us.name, us.country, us.currency, us.time_zone) == (
            "O2C Demo Inc.",
            "US",
            "USD",
            "America/New_York",
        )
        vat = TaxRegistration.objects.get(entity=entity)
        assert (vat.country, vat.scheme) == ("DE", "vat")
        assert is_valid_vat_id("DE", vat.number)
        assert sorted(TaxRegistration.objects.filter(entity=us).values_list("country", "scheme")) == [
            ("US", "CA"),
            ("US", "NY"),
            ("US", "TX"),
        ]
        profile = InvoiceProfile.objects.get(entity=entity)
        assert "Berlin" in profile.address
        assert profile.register_court == "Amtsgericht Charlottenburg"
        assert profile.register_number.startswith("HRB ")
        assert profile.managing_directors and profile.email
        assert InvoiceProfile.objects.get(entity=us).address
        accounts = {a.currency: a for a in EntityBankAccount.objects.filter(entity=entity)}
        assert set(accounts) == {"EUR", "GBP", "USD"}
        assert str(IBAN(accounts["EUR"].iban).compact) == "DE89370400440532013000"
        for account in accounts.values():
            IBAN(account.iban)
        assert EntityBankAccount.objects.filter(entity=us, currency="USD").exists()
        # the same people, granted to both, and the same open periods as the history needs
        for user in User.objects.all():
            assert set(EntityGrant.objects.filter(user=user).values_list("entity__code", flat=True)) == {
                "MAIN",
                "US01",
            }
        dates = Document.objects.filter(entity=entity).values_list("issue_date", flat=True)
        history = {day.replace(day=1) for day in dates}
        us_months = set(
            FiscalPeriod.objects.filter(entity=us, status="open").values_list("start_date", flat=True)
        )
        assert history - {max(dates).replace(day=1)} <= us_months  # the preview's month may be next year
        customers = Customer.objects.filter(entity=us)
        assert customers.count() == 8
        assert set(customers.values_list("country", "currency", "language")) == {("US", "USD", "en")}
        assert (
            {"NY", "CA", "TX"}
            <= set(customers.values_list("region", flat=True))
            <= {
                "NY",
                "CA",
                "TX",
                "WA",
                "OR",
            }
        )
        assert customers.filter(parent__isnull=False).count() == 3
        exemption = TaxExemption.objects.get(customer__entity=us)
        assert exemption.region == exemption.customer.region == "NY"
        assert not TaxExemption.objects.filter(customer__entity=entity).exists()

    def test_both_catalogues_are_subscribed_and_billed_by_a_year_of_monthly_runs(self, small_demo, entity):
        us = LegalEntity.objects.get(code="US01")
        for seller, currencies in ((entity, {"EUR", "GBP", "USD"}), (us, {"USD"})):
            products = Product.objects.filter(entity=seller).prefetch_related("prices")
            assert {
                (p.code, p.prices.all()[0].price_model, p.billing_period, p.timing, p.metric)
                for p in products
            } == CATALOGUE
            for product in products:
                assert {price.currency for price in product.prices.all()} == currencies
            subscriptions = Subscription.objects.filter(entity=seller).select_related("customer", "bill_to")
            assert subscriptions.exists()
            for subscription in subscriptions:
                assert subscription.currency == subscription.bill_to.currency
                assert subscription.bill_to in (subscription.customer, subscription.customer.parent)
            assert UsageEvent.objects.filter(entity=seller).exists()
            runs = BillingRun.objects.filter(entity=seller)
            issuing = sorted(runs.filter(issue=True).values_list("as_of", flat=True))
            assert len(issuing) == 12
            assert all(day.day == 1 for day in issuing)
            assert all(
                later.month - earlier.month in (1, -11) for earlier, later in itertools.pairwise(issuing)
            )
            [preview] = runs.filter(issue=False)
            assert preview.as_of == (issuing[-1] + timedelta(days=31)).replace(day=1)
            assert set(runs.values_list("status", flat=True)) == {BillingRun.Status.COMPLETED}
            assert all(run.errors == [] for run in runs)
            billed = Document.objects.filter(entity=seller, origin__in=BILLING_ORIGINS)
            issued = billed.filter(document_type="invoice", status=Document.Status.ISSUED)
            assert issued.count() >= 12
            assert min(issued.values_list("issue_date", flat=True)) == issuing[0]
            assert set(billed.filter(status=Document.Status.DRAFT).values_list("issue_date", flat=True)) == {
                preview.as_of
            }
            assert Allocation.objects.filter(document__in=issued, kind="payment").exists()
        main_customers = Customer.objects.filter(entity=entity).count()
        subscribers = Subscription.objects.filter(entity=entity).values("customer").distinct().count()
        assert main_customers // 5 <= subscribers <= main_customers // 2
        assert Subscription.objects.filter(entity=entity).exclude(po_number="").exists()
        assert SubscriptionTerm.objects.filter(discount_percent__gt=0).exists()
        # parent-billed subscriptions make consolidated invoices; a yearly plan defers revenue
        consolidated = Document.objects.filter(
            origin=Document.Origin.CONSOLIDATED, status=Document.Status.ISSUED
        )
        assert consolidated.exists()
        invoice = consolidated.order_by("pk").first()
        assert invoice is not None
        billed_for = set(
            BilledLine.objects.filter(document=invoice).values_list("subscription__customer_id", flat=True)
        )
        assert billed_for - {invoice.customer_id}
        assert RevenueSchedule.objects.exists()
        assert RevenueRelease.objects.filter(released=True).exists()
        assert RevenueRelease.objects.filter(released=False).exists()

    def test_us_invoices_carry_state_sales_tax_where_registered_and_the_ledger_verifies(self, small_demo):
        state_rates = {"NY": Decimal(4), "CA": Decimal("7.25"), "TX": Decimal("6.25")}
        tax_lines = TaxLine.objects.filter(
            document__entity__code="US01", document__status=Document.Status.ISSUED
        ).select_related("document__customer")
        categories = set()
        for tax_line in tax_lines:
            customer = tax_line.document.customer
            categories.add(tax_line.category)
            if TaxExemption.objects.filter(customer=customer).exists():
                assert (tax_line.category, tax_line.rate) == ("E", 0)
            elif customer.region in state_rates:
                assert (tax_line.category, tax_line.rate) == ("S", state_rates[customer.region])
                assert tax_line.tax_minor != 0
            else:  # not registered in WA; no sales tax in OR
                assert (tax_line.category, tax_line.rate) == ("O", 0)
        assert {"S", "E"} <= categories  # and "O" where the customers in WA or OR subscribe
        out = StringIO()
        call_command("ledger", "verify", stdout=out)
        assert "FAILED" not in out.getvalue()
        assert out.getvalue().count("ok ") == len(checks.all_checks())


class TestDemoPlan:
    def test_the_same_seed_gives_the_same_plan(self):
        first, _ = demo.make_plan(seed=3, customers=40, today=date(2026, 3, 16))
        second, _ = demo.make_plan(seed=3, customers=40, today=date(2026, 3, 16))
        assert [c.row for c in first.customers] == [c.row for c in second.customers]
        assert first.events == second.events

    def test_generated_vat_ids_pass_the_checksums(self):
        rng = random.Random(5)
        for country in ("DE", "FR", "ES", "GB"):
            for _ in range(200):
                vat_id = demo.vat_id_for(country, rng, legal_form="S.A.")
                assert is_valid_vat_id(country, vat_id), vat_id
        assert demo.vat_id_for("US", rng) == ""

    def test_the_same_seed_gives_the_same_contracts_and_usage(self):
        today, first_run = date(2026, 3, 16), date(2025, 4, 1)

        def plan() -> tuple[list[demo_billing._UsCustomer], demo_billing._Contracts]:
            rng = random.Random(3)
            customers = demo_billing.plan_us_customers(12, rng)
            buyers = [
                demo_billing.Buyer(c.row.number, c.row.currency, c.row.parent_number) for c in customers
            ]
            subscribers, parent_billed = demo_billing.choose_subscribers(
                buyers, {b.number for b in buyers}, 85, rng
            )
            contracts = demo_billing.plan_contracts(
                entity_code="US01",
                buyers=buyers,
                subscribers=subscribers,
                parent_billed=parent_billed,
                today=today,
                first_run=first_run,
                rng=rng,
                seq=itertools.count(1).__next__,
            )
            return customers, contracts

        first = plan()
        assert first == plan()
        customers, contracts = first
        assert [c.row.region for c in customers if c.exemption] == ["NY"]
        parents = {c.row.number: c.row.parent_number for c in customers}
        assert any(s.bill_to_number for s in contracts.subscriptions)
        for subscription in contracts.subscriptions:
            assert subscription.bill_to_number in ("", parents[subscription.customer_number])
            assert date(2025, 1, 16) <= subscription.start_date <= today - timedelta(days=15)
        starts = {s.number: s.start_date for s in contracts.subscriptions}
        events = [event for step in contracts.steps for event in step.usage]
        assert len(events) == contracts.usage_events == len({event.event_id for event in events})
        for event in events:
            assert starts[event.subscription_number] <= event.occurred_at.date() < today
