"""The hold queue in a real browser: the credit analyst logs in, opens the hold queue, releases a held
order with a reason, sees it leave the queue and "Released" on its page; each page fits a 1280 px wide
window without a horizontal scrollbar."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from o2c.core import clock
from o2c.credit import orders
from o2c.customers import services as customer_services
from tests.conftest import customer_in, make_user
from tests.functional.test_browser import SCREENSHOTS, live_server, page  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

FITS = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.fixture
def queue(ledger_purgeable: None, entity: Any) -> None:
    """Built before the browser starts (see test_browser.invoice): Clara analyses credit; two orders of
    customers without a credit limit wait on hold, SO-LONG-NUMBER-2026-000001 (1,250.00) the older."""
    make_user("clara", "credit", entities=[entity])
    now = clock.now()
    for number, customer_number, name, amount in (
        (
            "SO-LONG-NUMBER-2026-000001",
            "C-2001",
            "Maschinenfabrik Augsburg-Nürnberg Vertriebs GmbH",
            "1250.00",
        ),
        ("SO-2026-000002", "C-2002", "Kunde Süd KG", "80.00"),
    ):
        customer = customer_services.customer_create(
            entity=entity, data=customer_in(customer_number, name=name), actor=None, now=now
        )
        orders.order_receive(
            entity=entity,
            data=orders.OrderIn(number, customer.number, Decimal(amount), "EUR", clock.today_in("UTC")),
            source="api",
            actor=None,
            now=now,
        )


def _login(tab: Any, url: str, username: str) -> None:
    tab.goto(url)
    tab.fill("#id_username", username)
    tab.fill("#id_password", "correct-horse-battery")
    tab.click("button[type=submit]")


def test_release_a_held_order_from_the_queue(live_server, queue, page):  # noqa: F811
    from playwright.sync_api import expect

    _login(page, f"{live_server.url}/credit/holds/", "clara")
    expect(page.locator("h1")).to_have_text("Hold queue")
    rows = page.locator("#holds tbody tr")
    expect(rows).to_have_count(2)
    first = page.locator("tr[data-order='SO-LONG-NUMBER-2026-000001']")
    expect(first).to_contain_text("€1,250.00")
    expect(first).to_contain_text("No credit limit: no credit limit is set for the customer or its group")
    assert page.evaluate(FITS), "the hold queue is wider than the window"
    page.screenshot(path=str(SCREENSHOTS / "o2c-credit-holds.png"), full_page=True)

    # release without a reason: refused, the order stays
    first.locator("button[data-action=release]").click()
    expect(page.locator("tr[data-order='SO-LONG-NUMBER-2026-000001'] .o2c-error")).to_have_text(
        "Reason: This field is required."
    )
    expect(rows).to_have_count(2)

    # with a reason: released, and gone from the queue
    first = page.locator("tr[data-order='SO-LONG-NUMBER-2026-000001']")
    first.locator("input[name=reason]").fill("prepaid by wire transfer")
    first.locator("button[data-action=release]").click()
    expect(page.locator(".o2c-message-success")).to_have_text("Order SO-LONG-NUMBER-2026-000001 released.")
    expect(rows).to_have_count(1)
    expect(page.locator("tr[data-order='SO-LONG-NUMBER-2026-000001']")).to_have_count(0)

    # its page says released, with the reason in its history
    page.get_by_role("link", name="Orders", exact=True).click()
    page.get_by_role("link", name="SO-LONG-NUMBER-2026-000001").click()
    expect(page.locator("#order-status")).to_have_text("Released")
    expect(page.locator("#order-history")).to_contain_text("prepaid by wire transfer")
    expect(page.locator("#order-history")).to_contain_text("Order released")
    assert page.evaluate(FITS), "the order page is wider than the window"
    page.screenshot(path=str(SCREENSHOTS / "o2c-credit-order.png"), full_page=True)

    page.goto(f"{live_server.url}/credit/orders/")
    expect(page.locator("#orders tbody tr")).to_have_count(2)
    assert page.evaluate(FITS), "the order list is wider than the window"
    page.goto(f"{live_server.url}/credit/reports/")
    expect(page.locator("#report-holds-table tbody tr")).to_have_count(1)
    assert page.evaluate(FITS), "the reports are wider than the window"
    page.screenshot(path=str(SCREENSHOTS / "o2c-credit-reports.png"), full_page=True)
