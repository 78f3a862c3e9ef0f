"""The month-end close in the back office: periods closed and reopened, the rollforward with its
drill-down, the tie-out, the provision with its matrix of loss rates, the accounts for review; who may
see and change what, on a small hand-built history seen on 16 March 2026."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from o2c.audit.models import AuditEvent
from o2c.close.models import ProvisionRate
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger import services as ledger_services
from o2c.ledger.models import FiscalPeriod, LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.models import Document
from tests.conftest import NOW, customer_in, issued_invoice, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def _text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


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
def manager(entity: LegalEntity) -> Any:
    return make_user("martin", "ar_manager", entities=[entity])


@pytest.fixture
def history(entity: LegalEntity, customer: Customer) -> None:
    """1,190.00 invoiced in January, 1,190.00 in February, 500.00 of January's paid on 10 February."""
    january = issued_invoice(customer, issue_date=date(2026, 1, 20))
    issued_invoice(customer, issue_date=date(2026, 2, 5))
    _pay(january, 50000, date(2026, 2, 10))


PAGES = [
    reverse("close_periods"),
    reverse("close_rollforward") + "?period=2026-02",
    reverse("close_rollforward_lines") + "?period=2026-02&movement=invoices",
    reverse("close_tie_out") + "?as_of=2026-02-28",
    reverse("close_provision") + "?as_of=2026-02-28",
    reverse("close_review") + "?as_of=2026-02-28",
]


class TestAccess:
    @pytest.mark.parametrize("role", ["collector", "cash_application", "billing", "credit", "disputes"])
    def test_the_other_roles_may_not_see_the_close_nor_find_it_in_the_menu(self, client, entity, role):
        client.force_login(make_user("someone", role, entities=[entity]))
        for page in PAGES:
            assert client.get(page).status_code == 403, page
        assert reverse("close_periods") not in client.get(reverse("home")).content.decode()

    @pytest.mark.parametrize("role", ["ar_manager", "auditor", "admin"])
    def test_managers_auditors_and_admins_see_every_page_and_the_menu_link(self, client, entity, role):
        client.force_login(make_user("someone", role, entities=[entity]))
        for page in PAGES:
            assert client.get(page).status_code == 200, page
        home = client.get(reverse("home")).content.decode()
        assert f'href="{reverse("close_periods")}">Month-end close<' in home

    def test_another_entity_is_not_found(self, client, manager, other_entity):
        client.force_login(manager)
        for page in PAGES:
            separator = "&" if "?" in page else "?"
            assert client.get(f"{page}{separator}entity=FR01").status_code == 404, page
        url = reverse("close_period_close", args=[other_entity.pk, "2026-02"])
        assert client.post(url).status_code == 404
        assert _status(other_entity, 2026, 2) == "open"

    def test_someone_not_signed_in_is_sent_to_the_login_page(self, client, entity):
        assert client.get(reverse("close_periods")).status_code == 302


class TestPeriods:
    def test_the_year_s_periods_with_their_status_and_the_buttons_of_a_manager(self, client, manager, entity):
        ledger_services.period_status_set(
            entity=entity, start=date(2026, 1, 1), status="closed", actor=None, now=NOW
        )
        client.force_login(manager)

        text = _text(client.get(reverse("close_periods")))

        assert text.count('<tr id="period-2026-') == 12
        assert '<tr id="period-2025-' not in text
        january = text.split('<tr id="period-2026-01">')[1].split("</tr>")[0]
        february = text.split('<tr id="period-2026-02">')[1].split("</tr>")[0]
        assert "<td>Jan 1, 2026</td> <td>Jan 31, 2026</td>" in january
        assert '<td class="o2c-status">Closed</td>' in january
        assert reverse("close_period_reopen", args=[entity.pk, "2026-01"]) in january
        assert '<td class="o2c-status">Open</td>' in february
        assert reverse("close_period_close", args=[entity.pk, "2026-02"]) in february
        assert "<td>Dec 1, 2025</td>" in _text(client.get(reverse("close_periods") + "?year=2025"))

    def test_an_auditor_sees_the_periods_without_buttons_and_may_not_post(self, client, entity):
        client.force_login(make_user("aude", "auditor", entities=[entity]))

        text = _text(client.get(reverse("close_periods")))
        closing = client.post(reverse("close_period_close", args=[entity.pk, "2026-02"]))
        reopening = client.post(reverse("close_period_reopen", args=[entity.pk, "2026-02"]), {"reason": "x"})

        assert '<td class="o2c-status">Open</td>' in text
        assert "/close/" + str(entity.pk) not in text
        assert (closing.status_code, reopening.status_code) == (403, 403)
        assert _status(entity, 2026, 2) == "open"
        assert not AuditEvent.objects.filter(action__startswith="ledger.period.").exists()

    def test_a_manager_closes_a_month_and_closing_it_again_changes_nothing(
        self, client, manager, entity, history
    ):
        client.force_login(manager)
        url = reverse("close_period_close", args=[entity.pk, "2026-02"])

        response = client.post(url, follow=True)
        again = client.post(url, follow=True)

        assert response.redirect_chain == [
            (reverse("close_periods") + f"?entity={entity.code}&year=2026", 302)
        ]
        text = _text(response)
        assert "MAIN 2026-02 closed" in text
        assert (
            "earlier periods are still open: 2025-08, 2025-09, 2025-10, 2025-11, 2025-12, 2026-01 …" in text
        )
        assert '<tr id="period-2026-02"> <td>2026-02</td>' in text
        assert '<td class="o2c-status">Closed</td>' in text.split('<tr id="period-2026-02">')[1]
        assert "MAIN 2026-02 was closed already" in _text(again)
        assert _status(entity, 2026, 2) == "closed"
        [event] = AuditEvent.objects.filter(action="ledger.period.closed")
        assert (event.actor_id, event.changes) == (manager.pk, {"status": ["open", "closed"]})

    def test_reopening_asks_for_a_reason_and_is_audited_with_it(self, client, manager, entity):
        ledger_services.period_status_set(
            entity=entity, start=date(2026, 2, 1), status="closed", actor=None, now=NOW
        )
        client.force_login(manager)
        url = reverse("close_period_reopen", args=[entity.pk, "2026-02"])

        refused = client.post(url, {"reason": ""})

        assert refused.status_code == 422
        assert "Reopening a closed period needs a reason." in _text(refused)
        assert _status(entity, 2026, 2) == "closed"
        assert not AuditEvent.objects.filter(action="ledger.period.reopened").exists()

        response = client.post(url, {"reason": "supplier credit booked late"}, follow=True)

        assert "MAIN 2026-02 reopened" in _text(response)
        assert _status(entity, 2026, 2) == "open"
        [event] = AuditEvent.objects.filter(action="ledger.period.reopened")
        assert (event.actor_id, event.reason) == (manager.pk, "supplier credit booked late")

    def test_the_periods_in_german(self, client, manager, entity):
        client.force_login(manager)
        client.post(reverse("language_set"), {"language": "de", "next": "/"})

        text = _text(client.get(reverse("close_periods")))

        assert "<h1>Geschäftsperioden</h1>" in text
        assert "<td>01.01.2026</td> <td>31.01.2026</td>" in text
        assert '<td class="o2c-status">Offen</td>' in text


class TestRollforward:
    def test_the_month_per_currency_with_each_movement_linked_to_its_lines(
        self, client, manager, entity, history
    ):
        client.force_login(manager)

        text = _text(client.get(reverse("close_rollforward") + "?period=2026-02"))

        assert "MAIN, Feb 1, 2026 to Feb 28, 2026" in text
        lines_url = reverse("close_rollforward_lines")

        def line(name: str) -> str:
            return text.split(f'<tr id="line-{name}">')[1].split("</tr>")[0]

        assert '<td class="o2c-num">1,190.00</td>' in line("opening")
        assert (
            f'<a href="{lines_url}?entity=MAIN&amp;period=2026-02&amp;movement=invoices&amp;currency=EUR">'
            "1,190.00</a>"
        ) in line("invoices")
        assert ">-500.00</a>" in line("cash_applied")
        assert '<td class="o2c-num">1,880.00</td>' in line("closing")
        assert '<td class="o2c-num">1,880.00</td>' in line("subledger_closing")
        assert '<td class="o2c-num">0.00</td>' in line("difference")

        def functional(name: str) -> str:
            return text.split(f'<tr id="functional-{name}">')[1].split("</tr>")[0]

        # euros only: the EUR column and the total are the same, no FX revaluation
        assert "In EUR, the functional currency" in text
        assert functional("opening").count('<td class="o2c-num">1,190.00</td>') == 2
        assert functional("cash_applied").count('<td class="o2c-num">-500.00</td>') == 2
        assert functional("fx_revaluation").count('<td class="o2c-num">0.00</td>') == 2
        assert functional("closing").count('<td class="o2c-num">1,880.00</td>') == 2

    def test_a_movement_s_drill_down_lists_its_journal_lines(
        self, client, manager, entity, customer, history
    ):
        client.force_login(manager)
        invoice = Document.objects.get(issue_date=date(2026, 1, 20))

        text = _text(
            client.get(
                reverse("close_rollforward_lines") + "?period=2026-02&movement=cash_applied&currency=EUR"
            )
        )

        assert "<h1>Cash applied</h1>" in text
        assert text.count("<td>JE") == 1
        assert "<td>Feb 10, 2026</td><td></td>" in text
        assert f'<td>{customer.number}</td><td>{invoice.number}</td><td class="o2c-num">-€500.00</td>' in text
        assert '<td class="o2c-num" id="total-EUR">-€500.00</td>' in text

    def test_an_unknown_movement_is_not_found(self, client, manager):
        client.force_login(manager)
        assert (
            client.get(reverse("close_rollforward_lines") + "?period=2026-02&movement=refunds").status_code
            == 404
        )


class TestTieOut:
    def test_open_items_equal_the_ledger(self, client, manager, history):
        client.force_login(manager)

        text = _text(client.get(reverse("close_tie_out") + "?as_of=2026-02-28"))

        assert "MAIN · as of Feb 28, 2026" in text
        assert '<p id="tie-out-ok">Open items equal the receivable accounts for every customer.</p>' in text


class TestProvision:
    @pytest.fixture
    def open_items(self, entity: LegalEntity) -> None:
        """On 31 March 2026: C-1000 (DE, domestic) 1,190.00 current; C-2000 (FR, foreign) 1,190.00 90
        days past due (61_90)."""
        domestic = customer_services.customer_create(
            entity=entity, data=customer_in("C-1000"), actor=None, now=NOW
        )
        foreign = customer_services.customer_create(
            entity=entity, data=customer_in("C-2000", country="FR"), actor=None, now=NOW
        )
        issued_invoice(domestic, issue_date=date(2026, 3, 2))
        issued_invoice(foreign, issue_date=date(2025, 12, 1))

    def _set(
        self, client: Any, entity: LegalEntity, segment: str, bucket: str, percent: str, reason: str
    ) -> Any:
        return client.post(
            reverse("close_provision_rate_set"),
            {
                "entity": entity.code,
                "as_of": "2026-03-31",
                "segment": segment,
                "bucket": bucket,
                "percent": percent,
                "reason": reason,
            },
        )

    def test_a_manager_sets_rates_and_sees_the_provision_and_the_matrix(
        self, client, manager, entity, open_items
    ):
        client.force_login(manager)

        first = self._set(client, entity, "domestic", "current", "0.5", "committee")
        self._set(client, entity, "foreign", "61_90", "25", "credit committee 2026-03")
        text = _text(client.get(reverse("close_provision") + "?as_of=2026-03-31"))

        assert first.status_code == 302
        assert first["Location"] == reverse("close_provision") + "?entity=MAIN&as_of=2026-03-31"
        assert "MAIN · as of Mar 31, 2026 · IFRS 9 simplified approach" in text
        assert (
            '<td>Domestic</td><td>Current</td><td>EUR</td><td class="o2c-num">1,190.00</td>'
            '<td class="o2c-num">0.50%</td><td class="o2c-num">5.95</td><td class="o2c-num">€5.95</td>'
        ) in text
        assert (
            '<td>Foreign</td><td>61-90 days</td><td>EUR</td><td class="o2c-num">1,190.00</td>'
            '<td class="o2c-num">25.00%</td><td class="o2c-num">297.50</td><td class="o2c-num">€297.50</td>'
        ) in text
        assert '<td class="o2c-num" id="provision-total">€303.45</td>' in text
        assert (
            '<td class="o2c-num" id="rate-foreign-61_90" '
            'title="martin, Mar 16, 2026: credit committee 2026-03">25.00%</td>' in text
        )
        assert '<td class="o2c-num" id="rate-foreign-current">0.00%</td>' in text
        assert ProvisionRate.objects.get(segment="foreign", bucket="61_90").rate == Decimal("0.25")
        [event, _] = AuditEvent.objects.filter(action="close.provision_rate.set").order_by("-pk")
        assert (event.actor_id, event.changes, event.reason) == (
            manager.pk,
            {"rate": [None, "0.25"]},
            "credit committee 2026-03",
        )

    def test_a_rate_without_a_reason_or_out_of_range_changes_nothing(self, client, manager, entity):
        client.force_login(manager)

        no_reason = self._set(client, entity, "foreign", "61_90", "25", "")
        too_high = self._set(client, entity, "foreign", "61_90", "150", "x")

        assert (no_reason.status_code, too_high.status_code) == (422, 422)
        assert "This field is required." in _text(no_reason)
        assert "Ensure this value is less than or equal to 100." in _text(too_high)
        assert not ProvisionRate.objects.exists()
        assert not AuditEvent.objects.filter(action="close.provision_rate.set").exists()

    def test_an_auditor_sees_the_matrix_without_the_form_and_may_not_post(self, client, entity):
        client.force_login(make_user("aude", "auditor", entities=[entity]))

        text = _text(client.get(reverse("close_provision")))
        response = self._set(client, entity, "foreign", "61_90", "25", "x")

        assert 'id="matrix"' in text and 'id="rate-form"' not in text
        assert response.status_code == 403
        assert not ProvisionRate.objects.exists()

    def test_the_rates_in_german(self, client, manager, entity, open_items):
        client.force_login(manager)
        client.post(reverse("language_set"), {"language": "de", "next": "/"})

        self._set(client, entity, "foreign", "61_90", "2,5", "Kreditausschuss")
        text = _text(client.get(reverse("close_provision") + "?as_of=2026-03-31"))

        assert (
            '<td class="o2c-num" id="rate-foreign-61_90" '
            'title="martin, 16.03.2026: Kreditausschuss">2,50 %</td>' in text
        )
        assert '<td class="o2c-num">29,75 €</td>' in text


class TestReview:
    def test_the_flagged_accounts_with_their_reasons_in_the_reader_s_locale(
        self, client, manager, entity, customer
    ):
        """NET30, a 1,000.00 limit; 1,190.00 open since April; paid 10 days late in April and 30 days
        late in July (tests/integration/reporting/test_risk.py)."""
        Customer.objects.filter(pk=customer.pk).update(credit_limit_minor=100000)
        issued_invoice(customer, issue_date=date(2026, 3, 2))
        _pay(issued_invoice(customer, issue_date=date(2026, 3, 2)), 119000, date(2026, 4, 11))
        _pay(issued_invoice(customer, issue_date=date(2026, 6, 1)), 119000, date(2026, 7, 31))
        client.force_login(manager)

        text = _text(client.get(reverse("close_review") + "?as_of=2026-09-30"))

        row = text.split(f'<tr id="account-{customer.number}-EUR">')[1].split("</tr>")[0]
        assert f">{customer.number}</a> {customer.name}</td>" in row
        assert (
            '<td class="o2c-num">1,190.00</td> <td class="o2c-num">1,190.00</td> <td class="o2c-num">30</td>'
            in row
        )
        assert (
            "<li>€1,190.00 of €1,190.00 is over 90 days past due</li>"
            "<li>pays 30 days late over the last 90 days, 10 the 90 before</li>"
            "<li>owes €1,190.00 against a credit limit of €1,000.00</li>"
        ) in row

    def test_an_account_without_a_flag_is_listed_only_with_all(self, client, manager, customer):
        _pay(issued_invoice(customer, issue_date=date(2026, 8, 1)), 119000, date(2026, 8, 25))
        client.force_login(manager)

        flagged = _text(client.get(reverse("close_review") + "?as_of=2026-09-30"))
        every = _text(client.get(reverse("close_review") + "?as_of=2026-09-30&all=1"))

        assert '<p class="o2c-muted" id="review-none">No account needs review.</p>' in flagged
        assert f'<tr id="account-{customer.number}-EUR">' in every
        assert '<td class="o2c-num">-6</td>' in every
