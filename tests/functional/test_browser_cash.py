"""Cash application in a real browser: upload a bank statement, find the suggested payment in the queue
with the keyboard, and accept the matcher's suggestion with its shortcut."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from o2c.cash import workbench
from tests.camt_builder import Credit, statement_xml
from tests.conftest import NOW, issued_invoice, make_user
from tests.functional.test_browser import SCREENSHOTS, live_server, page  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


@pytest.fixture
def invoice(ledger_purgeable: None, entity: Any, customer: Any) -> Any:
    """Built before the browser starts (see test_browser.invoice). An auto-apply confidence of 0.999
    leaves a payment quoting the invoice's number as a suggestion for a person."""
    make_user("carla", "cash_application", entities=[entity])
    workbench.policy_change(
        entity=entity,
        auto_apply_confidence=Decimal("0.999"),
        write_off_tolerance=Decimal("5.00"),
        discount_grace_days=3,
        actor=None,
        now=NOW,
    )
    return issued_invoice(customer)


def test_upload_a_statement_and_accept_a_suggestion_with_the_keyboard(live_server, invoice, page):  # noqa: F811
    from playwright.sync_api import expect

    statement = statement_xml(
        [
            Credit("1190.00", "BANKREF-1", name="Mueller", text=f"Rechnung {invoice.number}"),
            Credit("77.70", "BANKREF-2", name="Unknown Trading Ltd", text="thanks"),
        ]
    )
    page.goto(f"{live_server.url}/cash/import/")
    page.fill("#id_username", "carla")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Bank files")

    # the upload runs through htmx: the summary swaps in without a page load
    page.set_input_files(
        "#id_file", files=[{"name": "statement.xml", "mimeType": "application/xml", "buffer": statement}]
    )
    page.click("#import-button")
    expect(page.locator("#summary-payments")).to_have_text("2")
    expect(page.locator("#summary-suggested")).to_have_text("1")
    expect(page.locator("#summary-unidentified")).to_have_text("1")
    expect(page.locator("#summary-amounts")).to_contain_text("€1,267.70")
    expect(page.locator("#bank-files")).to_contain_text("statement.xml")
    page.screenshot(path=str(SCREENSHOTS / "o2c-cash-import.png"), full_page=True)

    # the queue, largest first: j selects the first payment, Enter opens it
    page.click("#to-queue")
    expect(page.locator("h1")).to_have_text("Exceptions queue")
    expect(page.locator("#payment-queue tbody tr")).to_have_count(2)
    page.screenshot(path=str(SCREENSHOTS / "o2c-cash-queue.png"), full_page=True)
    page.keyboard.press("j")
    expect(page.locator("#payment-queue tbody tr").first.locator("a[data-row-link]")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#payment-reference")).to_have_text("BANKREF-1")
    expect(page.locator("#payment-status")).to_have_text("Suggested")
    expect(page.locator("#suggestions")).to_contain_text(invoice.number)
    expect(page.locator("#shortcuts-hint")).to_contain_text("accept the suggestions")
    page.screenshot(path=str(SCREENSHOTS / "o2c-cash-payment.png"), full_page=True)

    # a accepts the suggestion: the payment is applied and the invoice paid
    page.keyboard.press("a")
    expect(page.locator(".o2c-message-success")).to_have_text(
        "Payment BANKREF-1 is now: Applied. Unapplied: €0.00."
    )
    expect(page.locator("#payment-status")).to_have_text("Applied")
    expect(page.locator("#history")).to_contain_text("accepted by carla")
    page.get_by_role("link", name=invoice.number).first.click()
    expect(page.locator("#document-open")).to_have_text("€0.00")
