"""The back office in a real browser: log in, find a customer, open an invoice, credit it, and see the
credit memo in the invoice's and the customer's audit trail."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import issued_invoice, make_user

# Playwright's sync API runs an event loop in this thread; Django's ORM must still be usable here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(os.environ.get("O2C_SCREENSHOT_DIR", "/tmp"))


@pytest.fixture(scope="module")
def live_server(django_db_blocker: Any) -> Iterator[Any]:
    """A live server for this module only: stopped (and its database connections closed) before the
    test database is dropped, which PostgreSQL refuses while a session is still connected."""
    from pytest_django.live_server_helper import LiveServer

    with django_db_blocker.unblock():
        server = LiveServer("localhost")
    yield server
    server.stop()


@pytest.fixture
def page() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        yield tab
        context.close()
        browser.close()


@pytest.fixture
def invoice(ledger_purgeable: None, entity: Any, customer: Any) -> Any:
    """Built before the browser starts: Playwright's event loop would give later queries a database
    connection of their own, left open when the test ends."""
    make_user("bianca", "billing", entities=[entity])
    return issued_invoice(customer)


def test_credit_an_invoice_and_find_it_in_the_audit_trail(live_server, invoice, page):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")
    page.fill("#id_username", "bianca")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Receivables at a glance")
    expect(page.locator(".o2c-kpi-value")).to_have_text("€1,190.00")

    # live search with htmx: the results swap in without a page load
    page.get_by_role("link", name="Customers").click()
    page.fill("#id_q", "Maschinen")
    results = page.locator("#customer-results")
    expect(results).to_contain_text("Müller Maschinenbau GmbH")
    expect(page).to_have_url(f"{live_server.url}/customers/?q=Maschinen&status=")
    page.fill("#id_q", "nobody-by-this-name")
    expect(results).to_contain_text("No customers found.")
    page.fill("#id_q", "C-1000")
    results.get_by_role("link", name="Müller Maschinenbau GmbH").click()

    # the customer page lists the open invoice; open it
    expect(page.locator("h1")).to_have_text("Müller Maschinenbau GmbH")
    page.get_by_role("link", name=invoice.number).first.click()
    expect(page.locator("#document-number")).to_have_text(invoice.number)
    expect(page.locator("#document-total")).to_have_text("€1,190.00")
    page.screenshot(path=str(SCREENSHOTS / "o2c-invoice.png"), full_page=True)

    # credit 100.00 net + 19 % tax
    page.click("#credit-memo-link")
    page.fill("#id_description", "Goodwill for late delivery")
    page.fill("#id_net_amount", "100.00")
    page.select_option("#id_tax_rate", "19")
    page.fill("#id_reason", "delivery two weeks late")
    page.click("#issue-credit-memo")
    expect(page.locator(".o2c-message-success")).to_have_text(
        f"Credit memo CM-2026-000001 issued for {invoice.number}."
    )
    expect(page.locator("#document-total")).to_have_text("-€119.00")
    expect(page.locator("#document-open")).to_have_text("€0.00")

    # the invoice: partly settled by the credit memo, and its history says so
    page.get_by_role("link", name=invoice.number).first.click()
    expect(page.locator("#document-open")).to_have_text("€1,071.00")
    history = page.locator("#audit-history")
    expect(history).to_contain_text("Allocation posted")
    expect(history).to_contain_text("credit memo CM-2026-000001")
    expect(history).to_contain_text("bianca")
    page.screenshot(path=str(SCREENSHOTS / "o2c-invoice-credited.png"), full_page=True)

    # the customer's balance is down by the credit memo, which is used up and no longer an open item
    page.get_by_role("link", name="C-1000 Müller Maschinenbau GmbH").click()
    expect(page.locator("main")).to_contain_text("€1,071.00")
    expect(page.locator("main")).not_to_contain_text("CM-2026-000001")
    page.screenshot(path=str(SCREENSHOTS / "o2c-customer.png"), full_page=True)

    # and the language switch turns the page German, with German amounts
    page.select_option("select[name=language]", "de")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("main")).to_contain_text("Offene Posten")
    expect(page.locator("main")).to_contain_text("1.071,00\u00a0€")
