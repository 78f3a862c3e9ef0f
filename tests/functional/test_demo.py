"""`o2c demo`: a realistic demo company in an empty database, through the services, ledger intact."""

from __future__ import annotations

import random
from datetime import date
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from schwifty import IBAN
from stdnum import get_cc_module

from o2c.audit.models import AuditEvent
from o2c.core import checks
from o2c.customers.models import BankAccount, Contact, Customer
from o2c.ledger.models import EntityGrant, FxRate, JournalEntry, LegalEntity
from o2c.receivables.models import Allocation, Document
from o2c.workspace import demo, roles
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

    def test_two_years_of_documents_settle_realistically_and_every_check_holds(self, small_demo):
        invoices = Document.objects.filter(document_type="invoice", status=Document.Status.ISSUED)
        assert invoices.count() >= 60
        assert Document.objects.filter(document_type="credit_memo", corrects__isnull=False).exists()
        assert not Document.objects.filter(status=Document.Status.DRAFT).exists()
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
