import pytest
from django.contrib.auth.models import User

from o2c.audit.models import AuditEvent
from o2c.ledger.models import LegalEntity
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_the_admin_is_for_admins_only(client, billing_user):
    client.force_login(billing_user)
    response = client.get("/admin/ledger/legalentity/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_an_admin_changes_an_entity_and_the_change_is_audited(client, entity):
    admin = User.objects.create_superuser("root", password="correct-horse-battery")
    client.force_login(admin)
    assert client.get("/admin/ledger/legalentity/").status_code == 200
    response = client.post(
        f"/admin/ledger/legalentity/{entity.pk}/change/",
        {
            "code": entity.code,
            "name": "O2C Deutschland GmbH",
            "country": "DE",
            "currency": "EUR",
            "time_zone": "Europe/Berlin",
            "is_default": "on",
            "tax_registrations-TOTAL_FORMS": "0",
            "tax_registrations-INITIAL_FORMS": "0",
            "bank_accounts-TOTAL_FORMS": "0",
            "bank_accounts-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    assert LegalEntity.objects.get(pk=entity.pk).name == "O2C Deutschland GmbH"
    event = AuditEvent.objects.get(action="admin.legalentity.changed")
    assert event.changes == {"name": ["O2C Demo GmbH", "O2C Deutschland GmbH"]}
    assert event.actor == admin


def test_customers_are_read_only_in_the_admin(client, customer):
    admin = make_user("root", is_superuser=True, is_staff=True)
    client.force_login(admin)
    assert client.get(f"/admin/customers/customer/{customer.pk}/change/").status_code == 200
    assert client.get("/admin/customers/customer/add/").status_code == 403
