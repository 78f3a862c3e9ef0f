"""The seller's invoice profile and tax registrations, and customers' sales tax exemption certificates:
the services that keep them, their refusals, their audit trail, and what billing makes of them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from o2c.audit.models import AuditEvent
from o2c.billing import delivery, selectors, services
from o2c.billing.errors import UnableToSaveBillingData
from o2c.billing.models import InvoiceProfile, TaxExemption
from o2c.billing.services import InvoiceProfileIn
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger import services as ledger_services
from o2c.ledger.errors import UnableToSetUpEntity
from o2c.ledger.models import LegalEntity, TaxRegistration
from tests.conftest import NOW, customer_in, issued_invoice, make_user

pytestmark = pytest.mark.django_db

DE_VAT_ID = "DE812573467"
PROFILE = InvoiceProfileIn(
    address="Friedrichstraße 68\n10117 Berlin\nDeutschland",
    email="rechnung@o2c-demo.example",
    register_court="Amtsgericht Charlottenburg",
    register_number="HRB 234567 B",
    managing_directors="Dr. Julia Hartmann",
)


@pytest.fixture
def admin():
    return make_user("ada", "admin")


@pytest.fixture
def us_entity() -> LegalEntity:
    return ledger_services.entity_create(
        code="US01",
        name="O2C Demo Inc.",
        country="US",
        currency="USD",
        time_zone="America/New_York",
        today=date(2026, 3, 16),
        now=NOW,
    )


@pytest.fixture
def ny_customer(us_entity: LegalEntity) -> Customer:
    return customer_services.customer_create(
        entity=us_entity,
        data=customer_in(
            "U-1",
            name="Hudson Community Health Inc.",
            country="US",
            currency="USD",
            language="en",
            region="NY",
        ),
        actor=None,
        now=NOW,
    )


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


class TestInvoiceProfileSet:
    def test_creates_the_profile_and_audits_the_values_set(self, entity, admin):
        profile = services.invoice_profile_set(
            entity=entity, data=PROFILE, actor=admin, now=NOW, reason="setup"
        )
        assert (profile.address, profile.email, profile.register_court, profile.register_number) == (
            "Friedrichstraße 68\n10117 Berlin\nDeutschland",
            "rechnung@o2c-demo.example",
            "Amtsgericht Charlottenburg",
            "HRB 234567 B",
        )
        [event] = events("billing.invoice_profile.created")
        assert (event.actor, event.object_type, event.object_id, event.entity_id, event.reason) == (
            admin,
            "invoice_profile",
            profile.pk,
            entity.pk,
            "setup",
        )
        assert event.changes == {
            "address": [None, "Friedrichstraße 68\n10117 Berlin\nDeutschland"],
            "email": [None, "rechnung@o2c-demo.example"],
            "register_court": [None, "Amtsgericht Charlottenburg"],
            "register_number": [None, "HRB 234567 B"],
            "managing_directors": [None, "Dr. Julia Hartmann"],
        }

    def test_a_change_is_audited_with_the_old_and_new_values_only(self, entity, admin):
        services.invoice_profile_set(entity=entity, data=PROFILE, actor=admin, now=NOW)
        changed = InvoiceProfileIn(
            **{**PROFILE.__dict__, "managing_directors": "Dr. Julia Hartmann, Tobias Brandt"}
        )
        profile = services.invoice_profile_set(
            entity=entity, data=changed, actor=admin, now=NOW, reason="new CFO"
        )
        assert profile.managing_directors == "Dr. Julia Hartmann, Tobias Brandt"
        assert InvoiceProfile.objects.filter(entity=entity).count() == 1
        [event] = events("billing.invoice_profile.updated")
        assert event.changes == {
            "managing_directors": ["Dr. Julia Hartmann", "Dr. Julia Hartmann, Tobias Brandt"]
        }
        assert event.reason == "new CFO"

    def test_the_same_values_again_change_nothing_and_record_nothing(self, entity, admin):
        services.invoice_profile_set(entity=entity, data=PROFILE, actor=admin, now=NOW)
        services.invoice_profile_set(entity=entity, data=PROFILE, actor=admin, now=NOW)
        assert AuditEvent.objects.filter(object_type="invoice_profile").count() == 1

    def test_blank_lines_and_spaces_are_tidied(self, entity, admin):
        messy = InvoiceProfileIn(address="  Hauptstraße 1 \n\n 10115   Berlin\n", email=" a@b.example ")
        profile = services.invoice_profile_set(entity=entity, data=messy, actor=admin, now=NOW)
        assert (profile.address, profile.email) == ("Hauptstraße 1\n10115 Berlin", "a@b.example")

    @pytest.mark.parametrize(
        ("data", "field", "code"),
        [
            (InvoiceProfileIn(email="rechnung at example"), "email", "bad_email"),
            (InvoiceProfileIn(address="\n".join(f"line {n}" for n in range(7))), "address", "too_many_lines"),
            (InvoiceProfileIn(register_number="H" * 61), "register_number", "too_long"),
        ],
    )
    def test_refuses_what_an_invoice_cannot_print_and_writes_nothing(self, entity, admin, data, field, code):
        with pytest.raises(UnableToSaveBillingData) as refused:
            services.invoice_profile_set(entity=entity, data=data, actor=admin, now=NOW)
        assert (refused.value.field, refused.value.code) == (field, code)
        assert not InvoiceProfile.objects.filter(entity=entity).exists()
        assert not AuditEvent.objects.filter(object_type="invoice_profile").exists()

    def test_an_invoice_prints_the_profile_and_the_vat_id(self, entity, customer, admin):
        services.invoice_profile_set(entity=entity, data=PROFILE, actor=admin, now=NOW)
        ledger_services.tax_registration_set(
            entity=entity, country="DE", scheme="vat", number=DE_VAT_ID, actor=admin, now=NOW
        )
        printed = delivery.invoice_print(issued_invoice(customer))
        assert printed.seller.address_lines == ("Friedrichstraße 68", "10117 Berlin", "Deutschland")
        assert (printed.seller.vat_id, printed.seller.email) == (DE_VAT_ID, "rechnung@o2c-demo.example")
        assert (printed.seller_register_court, printed.seller_register_number) == (
            "Amtsgericht Charlottenburg",
            "HRB 234567 B",
        )


class TestTaxRegistrationSet:
    def test_registers_a_vat_id_in_its_compact_form_and_audits_it(self, entity, admin):
        registration = ledger_services.tax_registration_set(
            entity=entity,
            country="de",
            scheme="VAT",
            number="de 812 573 467",
            actor=admin,
            now=NOW,
            reason="r",
        )
        assert (registration.country, registration.scheme, registration.number) == ("DE", "vat", DE_VAT_ID)
        [event] = events("ledger.tax_registration.created")
        assert (event.object_id, event.entity_id, event.actor, event.object_label) == (
            registration.pk,
            entity.pk,
            admin,
            "MAIN DE vat",
        )
        assert event.changes == {
            "country": [None, "DE"],
            "scheme": [None, "vat"],
            "number": [None, DE_VAT_ID],
        }

    def test_a_new_number_for_the_same_country_and_scheme_changes_the_registration(self, entity, admin):
        ledger_services.tax_registration_set(
            entity=entity, country="DE", scheme="vat", number=DE_VAT_ID, actor=admin, now=NOW
        )
        ledger_services.tax_registration_set(
            entity=entity, country="DE", scheme="vat", number="136585428", actor=admin, now=NOW
        )
        assert list(TaxRegistration.objects.filter(entity=entity).values_list("number", flat=True)) == [
            "DE136585428"
        ]
        [event] = events("ledger.tax_registration.updated")
        assert event.changes == {"number": [DE_VAT_ID, "DE136585428"]}
        ledger_services.tax_registration_set(
            entity=entity, country="DE", scheme="vat", number="DE136585428", actor=admin, now=NOW
        )
        assert AuditEvent.objects.filter(object_type="tax_registration").count() == 2

    def test_a_us_sales_tax_registration_names_its_state_and_taxes_the_states_buyers(
        self, us_entity, ny_customer, admin
    ):
        resolve = selectors.TaxResolver(us_entity)
        before = resolve(customer=ny_customer, tax_category="standard", on=date(2026, 3, 1))
        assert (before.rate, before.category_code) == (Decimal(0), "O")  # not registered in NY
        registration = ledger_services.tax_registration_set(
            entity=us_entity, country="us", scheme="ny", number="NY-112345678", actor=admin, now=NOW
        )
        assert (registration.country, registration.scheme, registration.number) == (
            "US",
            "NY",
            "NY-112345678",
        )
        after = selectors.TaxResolver(us_entity)(
            customer=ny_customer, tax_category="standard", on=date(2026, 3, 1)
        )
        assert (after.rate, after.category_code) == (Decimal(4), "S")

    @pytest.mark.parametrize(
        ("country", "scheme", "number", "code"),
        [
            ("XX", "vat", DE_VAT_ID, "bad_country"),
            ("DE", "NY", "123", "bad_scheme"),
            ("US", "vat", "123", "bad_scheme"),
            ("US", "ZZ", "123", "bad_scheme"),
            ("DE", "vat", "  ", "missing_number"),
            ("DE", "vat", "DE812573468", "bad_vat_id"),
            ("DE", "vat", "FR40303265045", "bad_vat_id"),
            ("US", "CA", "SR-" + "1" * 40, "too_long"),
        ],
    )
    def test_refuses_what_is_not_a_registration_and_writes_nothing(
        self, entity, us_entity, admin, country, scheme, number, code
    ):
        seller = us_entity if country == "US" else entity
        with pytest.raises(UnableToSetUpEntity) as refused:
            ledger_services.tax_registration_set(
                entity=seller, country=country, scheme=scheme, number=number, actor=admin, now=NOW
            )
        assert refused.value.code == code
        assert not TaxRegistration.objects.exists()
        assert not AuditEvent.objects.filter(object_type="tax_registration").exists()


class TestTaxExemptions:
    def add(self, customer: Customer, **kw) -> TaxExemption:
        values = {
            "region": "NY",
            "certificate": "ST-119-1234567",
            "valid_from": date(2026, 1, 1),
            "valid_to": None,
            "actor": None,
            "now": NOW,
        }
        values.update(kw)
        return services.tax_exemption_add(customer_id=customer.pk, **values)

    def test_a_certificate_exempts_the_customers_lines_on_the_days_it_is_valid(self, us_entity, ny_customer):
        ledger_services.tax_registration_set(
            entity=us_entity, country="US", scheme="NY", number="NY-112345678", actor=None, now=NOW
        )
        self.add(ny_customer, valid_from=date(2026, 2, 1), valid_to=date(2026, 4, 30))
        resolve = selectors.TaxResolver(us_entity)
        taxes = {
            day: resolve(customer=ny_customer, tax_category="standard", on=day)
            for day in (date(2026, 1, 31), date(2026, 2, 1), date(2026, 4, 30), date(2026, 5, 1))
        }
        assert {day: (t.rate, t.category_code) for day, t in taxes.items()} == {
            date(2026, 1, 31): (Decimal(4), "S"),
            date(2026, 2, 1): (Decimal(0), "E"),
            date(2026, 4, 30): (Decimal(0), "E"),
            date(2026, 5, 1): (Decimal(4), "S"),
        }
        assert taxes[date(2026, 2, 1)].note == "Exempt from sales tax: certificate ST-119-1234567"

    def test_add_tidies_the_input_and_audits_the_certificate(self, ny_customer, admin):
        exemption = self.add(
            ny_customer,
            region=" ny ",
            certificate=" ST-119  1234567 ",
            actor=admin,
            reason="received by mail",
        )
        assert (exemption.region, exemption.certificate, exemption.valid_from, exemption.valid_to) == (
            "NY",
            "ST-119 1234567",
            date(2026, 1, 1),
            None,
        )
        [event] = events("billing.tax_exemption.created")
        assert (event.object_id, event.entity_id, event.actor, event.object_label, event.reason) == (
            exemption.pk,
            ny_customer.entity_id,
            admin,
            "U-1 NY ST-119 1234567",
            "received by mail",
        )
        assert event.changes == {
            "region": [None, "NY"],
            "certificate": [None, "ST-119 1234567"],
            "valid_from": [None, "2026-01-01"],
            "valid_to": [None, None],
        }

    def test_a_second_certificate_may_follow_the_first_one_but_not_overlap_it(self, ny_customer):
        self.add(ny_customer, valid_to=date(2026, 6, 30))
        with pytest.raises(UnableToSaveBillingData) as refused:
            self.add(ny_customer, certificate="ST-119-7654321", valid_from=date(2026, 6, 30))
        assert (refused.value.code, refused.value.field) == ("overlapping_exemption", "valid_from")
        following = self.add(ny_customer, certificate="ST-119-7654321", valid_from=date(2026, 7, 1))
        other_state = self.add(ny_customer, region="NJ", certificate="NJ-1", valid_from=date(2026, 3, 1))
        assert [e.pk for e in selectors.tax_exemption_list(customer_id=ny_customer.pk)] == [
            other_state.pk,
            TaxExemption.objects.get(certificate="ST-119-1234567").pk,
            following.pk,
        ]

    @pytest.mark.parametrize(
        ("changes", "field", "code"),
        [
            ({"region": "XX"}, "region", "bad_region"),
            ({"certificate": " "}, "certificate", "missing_certificate"),
            ({"certificate": "C" * 61}, "certificate", "too_long"),
            ({"valid_to": date(2025, 12, 31)}, "valid_to", "bad_dates"),
        ],
    )
    def test_refuses_a_bad_certificate_and_writes_nothing(self, ny_customer, changes, field, code):
        with pytest.raises(UnableToSaveBillingData) as refused:
            self.add(ny_customer, **changes)
        assert (refused.value.field, refused.value.code) == (field, code)
        assert not TaxExemption.objects.exists()
        assert not AuditEvent.objects.filter(object_type="tax_exemption").exists()

    def test_a_customer_outside_the_us_has_no_sales_tax_certificates(self, customer):
        with pytest.raises(UnableToSaveBillingData) as refused:
            self.add(customer)
        assert refused.value.code == "not_us_customer"
        assert not TaxExemption.objects.exists()

    def test_end_sets_the_last_valid_day_earlier_never_later(self, ny_customer, admin):
        exemption = self.add(ny_customer)
        ended = services.tax_exemption_end(
            exemption_id=exemption.pk, valid_to=date(2026, 5, 31), actor=admin, now=NOW, reason="expired"
        )
        assert ended.valid_to == date(2026, 5, 31)
        [event] = events("billing.tax_exemption.ended")
        assert (event.changes, event.reason) == ({"valid_to": [None, "2026-05-31"]}, "expired")
        with pytest.raises(UnableToSaveBillingData) as refused:
            services.tax_exemption_end(
                exemption_id=exemption.pk, valid_to=date(2026, 6, 30), actor=admin, now=NOW
            )
        assert refused.value.code == "cannot_extend"
        with pytest.raises(UnableToSaveBillingData) as refused:
            services.tax_exemption_end(
                exemption_id=exemption.pk, valid_to=date(2025, 12, 31), actor=admin, now=NOW
            )
        assert refused.value.code == "bad_dates"
        assert TaxExemption.objects.get(pk=exemption.pk).valid_to == date(2026, 5, 31)
        assert AuditEvent.objects.filter(object_type="tax_exemption").count() == 2

    def test_revoke_keeps_the_certificate_covering_no_day_and_needs_a_reason(
        self, us_entity, ny_customer, admin
    ):
        exemption = self.add(ny_customer)
        with pytest.raises(UnableToSaveBillingData) as refused:
            services.tax_exemption_revoke(exemption_id=exemption.pk, actor=admin, now=NOW, reason=" ")
        assert refused.value.code == "reason_required"
        revoked = services.tax_exemption_revoke(
            exemption_id=exemption.pk, actor=admin, now=NOW, reason="certificate not signed"
        )
        assert (revoked.valid_from, revoked.valid_to) == (date(2026, 1, 1), date(2025, 12, 31))
        [event] = events("billing.tax_exemption.revoked")
        assert (event.changes, event.reason) == ({"valid_to": [None, "2025-12-31"]}, "certificate not signed")
        ledger_services.tax_registration_set(
            entity=us_entity, country="US", scheme="NY", number="NY-112345678", actor=None, now=NOW
        )
        tax = selectors.TaxResolver(us_entity)(
            customer=ny_customer, tax_category="standard", on=date(2026, 1, 1)
        )
        assert tax.category_code == "S"
        with pytest.raises(UnableToSaveBillingData) as refused:
            services.tax_exemption_end(
                exemption_id=exemption.pk, valid_to=date(2026, 1, 31), actor=admin, now=NOW
            )
        assert refused.value.code == "exemption_revoked"
        # a revoked certificate does not stand in the way of the valid one that replaces it
        replacement = self.add(ny_customer, certificate="ST-119-7654321")
        assert replacement.valid_from == date(2026, 1, 1)
