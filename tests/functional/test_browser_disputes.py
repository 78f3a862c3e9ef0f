"""Dispute cases in a real browser: the analyst opens the case list, opens a case, adds a note (swapped
in by htmx) and resolves the case by a credit memo."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from o2c.disputes import services
from tests.conftest import NOW, issued_invoice, make_user
from tests.functional.test_browser import SCREENSHOTS, live_server, page  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


@pytest.fixture
def case(ledger_purgeable: None, entity: Any, customer: Any) -> Any:
    """Built before the browser starts (see test_browser.invoice): an open pricing dispute of 238.00 on
    an invoice of 1,190.00."""
    analyst = make_user("dora", "disputes", entities=[entity])
    invoice = issued_invoice(customer)
    return services.case_open(
        document_id=invoice.pk,
        amount=Decimal("238.00"),
        reason_code="pricing",
        actor=analyst,
        now=NOW,
        customer_reason_code="PR-7",
    )


def test_open_a_case_from_the_list_add_a_note_and_resolve_it_by_a_credit_memo(live_server, case, page):  # noqa: F811
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/disputes/")
    page.fill("#id_username", "dora")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Dispute cases")
    rows = page.locator("#case-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("€238.00")
    expect(rows.first).to_contain_text(case.document.number)
    page.screenshot(path=str(SCREENSHOTS / "o2c-disputes-list.png"), full_page=True)

    # the filters swap the results in with htmx: no rejected case yet
    page.select_option("#id_state", "rejected_invalid")
    expect(page.locator("#cases-empty")).to_be_visible()
    page.select_option("#id_state", "")
    expect(rows).to_have_count(1)

    rows.first.locator("a[data-row-link]").click()
    expect(page.locator("#case-state")).to_have_text("Open")
    expect(page.locator("#case-amount")).to_have_text("€238.00")

    # a note: the thread swaps in without a page load
    page.fill("#id_note_text", "Customer sent the 2025 price list")
    page.click("#add-note")
    expect(page.locator("#notes article")).to_have_count(1)
    expect(page.locator("#notes")).to_contain_text("Customer sent the 2025 price list")
    expect(page.locator("#id_note_text")).to_have_value("")

    # resolved by a credit memo applied to the invoice
    page.check("input[name=outcome][value=resolved_credit]")
    page.fill("#id_resolution", "The 2025 price list applies")
    page.click("#resolve-button")
    expect(page.locator(".o2c-message-success")).to_have_text("The case is closed: Resolved by credit memo.")
    expect(page.locator("#case-state")).to_have_text("Resolved by credit memo")
    expect(page.locator("#case-credit-memo")).to_contain_text("CM-")
    expect(page.locator("#resolve-form")).to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / "o2c-disputes-case.png"), full_page=True)

    page.locator("#case-document").click()
    expect(page.locator("#document-open")).to_have_text("€952.00")
