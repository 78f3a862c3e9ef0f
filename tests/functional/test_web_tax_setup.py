"""The pages that keep tax set-up: a customer's sales tax exemption certificates (billing analysts) and
the seller's invoice profile and tax registrations (AR managers and admins)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.urls import reverse

from o2c.audit.models import AuditEvent
from o2c.billing import services
from o2c.billing.models import InvoiceProfile, TaxExemption
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger import services as ledger_services
from o2c.ledger.models import LegalEntity, TaxRegistration
from o2c.workspace.models import UserPreference
from tests.conftest import NOW, customer_in, make_user

pytestmark = pytest.mark.django_db

DE_VAT_ID = "DE812573467"


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


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
            "U-1", name="Hudson Health Inc.", country="US", currency="USD", language="en", region="NY"
        ),
        actor=None,
        now=NOW,
    )


@pytest.fixture
def biller(us_entity: LegalEntity, entity: LegalEntity):
    return make_user("bianca", "billing", entities=[entity, us_entity])


@pytest.fixture
def manager(entity: LegalEntity):
    return make_user("manon", "ar_manager", entities=[entity])


def exemptions_url(customer: Customer) -> str:
    return reverse("billing_tax_exemptions", args=[customer.pk])


def add(client, customer: Customer, **data: str) -> Any:
    values = {
        "region": "NY",
        "certificate": "ST-119-1234567",
        "valid_from": "2026-01-01",
        "reason": "received",
    }
    values.update(data)
    return client.post(reverse("billing_tax_exemption_add", args=[customer.pk]), values)


def exemption(customer: Customer, **kw: Any) -> TaxExemption:
    values: dict[str, Any] = {
        "region": "NY",
        "certificate": "ST-119-1234567",
        "valid_from": date(2026, 1, 1),
        "valid_to": None,
        "actor": None,
        "now": NOW,
    }
    values.update(kw)
    return services.tax_exemption_add(customer_id=customer.pk, **values)


def messages_of(client, response: Any) -> str:
    assert response.status_code == 302, response.content.decode()[:3000]
    return " ".join(str(m) for m in client.get(response["Location"]).context["messages"])


class TestExemptionCertificates:
    def test_the_customer_page_of_a_us_customer_links_to_the_certificates(self, client, biller, ny_customer):
        client.force_login(biller)
        text = client.get(reverse("customer_detail", args=[ny_customer.pk])).content.decode()
        assert f'href="{exemptions_url(ny_customer)}"' in text

    def test_a_billing_analyst_adds_a_certificate(self, client, biller, ny_customer):
        client.force_login(biller)
        response = add(client, ny_customer, certificate="st-119-1234567 ", valid_to="2026-12-31")
        assert response["Location"] == exemptions_url(ny_customer)
        assert messages_of(client, response) == (
            "Certificate st-119-1234567 recorded for NY from Jan 1, 2026: lines billed to U-1 for that state "
            "from then on are exempt from sales tax. Invoices issued already keep their tax."
        )
        [saved] = TaxExemption.objects.filter(customer=ny_customer)
        assert (saved.region, saved.certificate, saved.valid_from, saved.valid_to) == (
            "NY",
            "st-119-1234567",
            date(2026, 1, 1),
            date(2026, 12, 31),
        )
        [event] = AuditEvent.objects.filter(action="billing.tax_exemption.created")
        assert (event.actor, event.object_id, event.reason) == (biller, saved.pk, "received")
        page = client.get(exemptions_url(ny_customer))
        text = page.content.decode()
        assert "st-119-1234567" in text
        assert "Exemption certificate added" in text  # the history, in words

    def test_the_list_shows_each_certificates_standing_today_in_the_entitys_time_zone(
        self, client, biller, ny_customer
    ):
        ended = exemption(ny_customer, valid_to=date(2026, 3, 15))
        current = exemption(ny_customer, region="NJ", certificate="NJ-1", valid_to=date(2026, 3, 16))
        future = exemption(ny_customer, region="PA", certificate="PA-1", valid_from=date(2026, 3, 17))
        revoked = services.tax_exemption_revoke(
            exemption_id=exemption(ny_customer, region="CA", certificate="CA-1").pk,
            actor=None,
            now=NOW,
            reason="r",
        )
        client.force_login(biller)
        rows = client.get(exemptions_url(ny_customer)).context["rows"]
        assert [(row.exemption.pk, row.status) for row in rows] == [
            (revoked.pk, "revoked"),
            (current.pk, "valid"),
            (ended.pk, "ended"),
            (future.pk, "future"),
        ]

    def test_an_overlapping_certificate_is_refused_on_its_field(self, client, biller, ny_customer):
        exemption(ny_customer)
        client.force_login(biller)
        response = add(client, ny_customer, certificate="ST-119-7654321", valid_from="2026-03-01")
        assert response.status_code == 422
        assert response.context["add_form"].errors["valid_from"] == [
            "Another certificate of the customer is valid in this state on some of these days: end it first."
        ]
        assert TaxExemption.objects.count() == 1

    def test_a_refusal_is_shown_in_the_readers_language(self, client, biller, ny_customer):
        UserPreference.objects.create(user=biller, language="de")
        client.force_login(biller)
        response = add(client, ny_customer, region="ZZ")
        assert response.status_code == 422
        assert "Das ist kein Code eines US-Bundesstaats (Beispiele: NY, CA, TX)." in response.content.decode()
        assert not TaxExemption.objects.exists()

    def test_a_customer_outside_the_us_has_no_certificates(self, client, biller, customer):
        client.force_login(biller)
        page = client.get(exemptions_url(customer)).content.decode()
        assert 'id="not-us"' in page
        assert 'id="exemption-form"' not in page
        response = add(client, customer)
        assert response.status_code == 422
        assert response.context["add_form"].errors["region"] == [
            "Exemption certificates are for US sales tax: the customer is not in the US."
        ]
        assert not TaxExemption.objects.exists()

    def test_end_sets_the_last_valid_day(self, client, biller, ny_customer):
        certificate = exemption(ny_customer)
        client.force_login(biller)
        url = reverse("billing_tax_exemption_end", args=[ny_customer.pk, certificate.pk])
        prefix = f"end-{certificate.pk}"
        response = client.post(url, {f"{prefix}-valid_to": "2026-05-31", f"{prefix}-reason": "expired"})
        assert messages_of(client, response) == (
            "Certificate ST-119-1234567 ends on May 31, 2026: lines billed for later days are taxed again."
        )
        assert TaxExemption.objects.get(pk=certificate.pk).valid_to == date(2026, 5, 31)
        [event] = AuditEvent.objects.filter(action="billing.tax_exemption.ended")
        assert (event.actor, event.changes) == (biller, {"valid_to": [None, "2026-05-31"]})

    def test_end_cannot_move_the_last_day_later_and_says_so_on_the_row(self, client, biller, ny_customer):
        certificate = exemption(ny_customer, valid_to=date(2026, 5, 31))
        client.force_login(biller)
        url = reverse("billing_tax_exemption_end", args=[ny_customer.pk, certificate.pk])
        prefix = f"end-{certificate.pk}"
        response = client.post(url, {f"{prefix}-valid_to": "2026-06-30", f"{prefix}-reason": "longer"})
        assert response.status_code == 422
        [row] = response.context["rows"]
        assert row.end_form.errors["valid_to"] == [
            "A certificate cannot end later than it did: record the renewed certificate as a new one."
        ]
        assert TaxExemption.objects.get(pk=certificate.pk).valid_to == date(2026, 5, 31)

    def test_revoke_keeps_the_certificate_as_revoked(self, client, biller, ny_customer):
        certificate = exemption(ny_customer)
        client.force_login(biller)
        url = reverse("billing_tax_exemption_revoke", args=[ny_customer.pk, certificate.pk])
        prefix = f"revoke-{certificate.pk}"
        assert client.post(url, {f"{prefix}-reason": ""}).status_code == 422
        response = client.post(url, {f"{prefix}-reason": "not signed"})
        assert messages_of(client, response).startswith(
            "Certificate ST-119-1234567 revoked: it covers no day."
        )
        assert TaxExemption.objects.get(pk=certificate.pk).valid_to == date(2025, 12, 31)
        [row] = client.get(exemptions_url(ny_customer)).context["rows"]
        assert row.is_revoked

    def test_an_auditor_sees_the_certificates_without_the_forms_and_may_not_change_them(
        self, client, us_entity, ny_customer
    ):
        certificate = exemption(ny_customer)
        client.force_login(make_user("aude", "auditor", entities=[us_entity]))
        page = client.get(exemptions_url(ny_customer))
        assert page.status_code == 200
        text = page.content.decode()
        assert "ST-119-1234567" in text
        assert 'id="exemption-form"' not in text
        assert "revoke-" not in text
        assert add(client, ny_customer, region="NJ").status_code == 403
        end = reverse("billing_tax_exemption_end", args=[ny_customer.pk, certificate.pk])
        revoke = reverse("billing_tax_exemption_revoke", args=[ny_customer.pk, certificate.pk])
        prefix = f"end-{certificate.pk}"
        assert (
            client.post(end, {f"{prefix}-valid_to": "2026-05-31", f"{prefix}-reason": "r"}).status_code == 403
        )
        assert client.post(revoke, {f"revoke-{certificate.pk}-reason": "r"}).status_code == 403
        assert TaxExemption.objects.get().valid_to is None
        assert TaxExemption.objects.count() == 1

    def test_another_entitys_customer_is_404(self, client, entity, ny_customer):
        certificate = exemption(ny_customer)
        client.force_login(make_user("bernd", "billing", entities=[entity]))  # not granted US01
        assert client.get(exemptions_url(ny_customer)).status_code == 404
        assert add(client, ny_customer, region="NJ").status_code == 404
        end = reverse("billing_tax_exemption_end", args=[ny_customer.pk, certificate.pk])
        prefix = f"end-{certificate.pk}"
        assert (
            client.post(end, {f"{prefix}-valid_to": "2026-05-31", f"{prefix}-reason": "r"}).status_code == 404
        )
        assert TaxExemption.objects.count() == 1
        assert TaxExemption.objects.get().valid_to is None

    def test_another_customers_certificate_is_404_under_this_customer(
        self, client, biller, us_entity, ny_customer
    ):
        other = customer_services.customer_create(
            entity=us_entity,
            data=customer_in("U-2", country="US", currency="USD", language="en", region="CA"),
            actor=None,
            now=NOW,
        )
        foreign = exemption(other, region="CA", certificate="CA-1")
        client.force_login(biller)
        url = reverse("billing_tax_exemption_revoke", args=[ny_customer.pk, foreign.pk])
        assert client.post(url, {f"revoke-{foreign.pk}-reason": "r"}).status_code == 404
        assert TaxExemption.objects.get(pk=foreign.pk).valid_to is None


class TestSellerDetails:
    def test_the_menu_leads_an_ar_manager_to_the_default_entitys_page(self, client, entity, manager):
        client.force_login(manager)
        review = client.get(reverse("billing_review")).content.decode()
        assert f'href="{reverse("billing_seller_default")}"' in review
        response = client.get(reverse("billing_seller_default"))
        assert response["Location"] == reverse("billing_seller", args=[entity.pk])
        assert client.get(response["Location"]).status_code == 200

    def test_a_billing_analyst_has_no_link(self, client, biller):
        client.force_login(biller)
        assert reverse("billing_seller_default") not in client.get(reverse("billing_review")).content.decode()

    def test_an_ar_manager_saves_the_invoice_profile(self, client, entity, manager):
        client.force_login(manager)
        url = reverse("billing_seller", args=[entity.pk])
        data = {
            "address": "Friedrichstraße 68\r\n10117 Berlin",
            "email": "rechnung@o2c-demo.example",
            "register_court": "Amtsgericht Charlottenburg",
            "register_number": "HRB 234567 B",
            "managing_directors": "Dr. Julia Hartmann",
            "reason": "set-up",
        }
        response = client.post(url, data)
        assert messages_of(client, response) == (
            "Invoice profile of MAIN saved: invoices rendered from now on print it; issued invoices are not "
            "changed."
        )
        profile = InvoiceProfile.objects.get(entity=entity)
        assert (profile.address, profile.register_number) == (
            "Friedrichstraße 68\n10117 Berlin",
            "HRB 234567 B",
        )
        client.post(url, {**data, "managing_directors": "Tobias Brandt", "reason": "new director"})
        [created, updated] = AuditEvent.objects.filter(object_type="invoice_profile").order_by("pk")
        assert (created.action, created.actor) == ("billing.invoice_profile.created", manager)
        assert (updated.action, updated.changes, updated.reason) == (
            "billing.invoice_profile.updated",
            {"managing_directors": ["Dr. Julia Hartmann", "Tobias Brandt"]},
            "new director",
        )
        page = client.get(url)
        assert page.context["profile_form"].initial["managing_directors"] == "Tobias Brandt"
        assert "Invoice profile changed" in page.content.decode()

    def test_an_address_too_long_to_print_is_refused_on_its_field(self, client, entity, manager):
        client.force_login(manager)
        address = "\r\n".join(f"line {n}" for n in range(7))
        response = client.post(
            reverse("billing_seller", args=[entity.pk]), {"address": address, "reason": "r"}
        )
        assert response.status_code == 422
        assert response.context["profile_form"].errors["address"] == [
            "An invoice prints at most 6 address lines."
        ]
        assert not InvoiceProfile.objects.exists()

    def test_an_ar_manager_adds_and_changes_a_vat_registration(self, client, entity, manager):
        client.force_login(manager)
        url = reverse("billing_tax_registration_set", args=[entity.pk])
        response = client.post(url, {"country": "de", "scheme": "vat", "number": "812573467", "reason": "r"})
        assert messages_of(client, response) == (
            f"Tax registration DE vat saved as {DE_VAT_ID}: the tax of lines billed from now on follows it."
        )
        assert list(TaxRegistration.objects.values_list("country", "scheme", "number")) == [
            ("DE", "vat", DE_VAT_ID)
        ]
        [event] = AuditEvent.objects.filter(action="ledger.tax_registration.created")
        assert (event.actor, event.entity_id) == (manager, entity.pk)
        text = client.get(reverse("billing_seller", args=[entity.pk])).content.decode()
        assert DE_VAT_ID in text
        assert "Tax registration added" in text

    def test_an_invalid_vat_id_is_refused_on_its_field_in_the_readers_language(self, client, entity, manager):
        UserPreference.objects.create(user=manager, language="fr")
        client.force_login(manager)
        response = client.post(
            reverse("billing_tax_registration_set", args=[entity.pk]),
            {"country": "DE", "scheme": "vat", "number": "DE812573468", "reason": "r"},
        )
        assert response.status_code == 422
        assert response.context["registration_form"].errors["number"] == [
            "Ce n’est pas un numéro de TVA valide du pays."
        ]
        assert not TaxRegistration.objects.exists()

    @pytest.mark.parametrize("role", ["billing", "auditor", "collector", "credit"])
    def test_other_roles_may_neither_see_nor_change_the_seller_details(self, client, entity, role):
        client.force_login(make_user("someone", role, entities=[entity]))
        assert client.get(reverse("billing_seller", args=[entity.pk])).status_code == 403
        assert client.get(reverse("billing_seller_default")).status_code == 403
        response = client.post(
            reverse("billing_seller", args=[entity.pk]), {"email": "x@y.example", "reason": "r"}
        )
        assert response.status_code == 403
        registration = {"country": "DE", "scheme": "vat", "number": DE_VAT_ID, "reason": "r"}
        assert (
            client.post(reverse("billing_tax_registration_set", args=[entity.pk]), registration).status_code
            == 403
        )
        assert not InvoiceProfile.objects.exists()
        assert not TaxRegistration.objects.exists()

    def test_another_entity_is_404(self, client, manager, other_entity):
        client.force_login(manager)
        assert client.get(reverse("billing_seller", args=[other_entity.pk])).status_code == 404
        response = client.post(
            reverse("billing_seller", args=[other_entity.pk]), {"email": "x@y.example", "reason": "r"}
        )
        assert response.status_code == 404
        registration = {"country": "FR", "scheme": "vat", "number": "FR40303265045", "reason": "r"}
        url = reverse("billing_tax_registration_set", args=[other_entity.pk])
        assert client.post(url, registration).status_code == 404
        assert not InvoiceProfile.objects.exists()
        assert not TaxRegistration.objects.exists()
