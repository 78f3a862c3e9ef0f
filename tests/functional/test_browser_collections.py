"""Collections in a real browser: the collector opens her worklist, opens the customer at the top and
logs a call with its next action date (the timeline swaps in by htmx); the AR manager edits a dunning
text and sees the preview follow as he types, in German with German amounts and dates."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from o2c.collections.models import DunningPlan
from o2c.customers.models import Customer
from tests.conftest import issued_invoice, make_user
from tests.functional.test_browser import SCREENSHOTS, live_server, page  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


@pytest.fixture
def portfolio(ledger_purgeable: None, entity: Any, customer: Any) -> Any:
    """Built before the browser starts (see test_browser.invoice): Carla collects C-1000, which owes
    1,190.00 due 1 February; Martin manages."""
    carla = make_user("carla", "collector", entities=[entity])
    make_user("martin", "ar_manager", entities=[entity])
    Customer.objects.filter(pk=customer.pk).update(collector=carla)
    invoice = issued_invoice(customer, issue_date=date(2026, 1, 2))
    return {"invoice": invoice.pk, "plan": DunningPlan.objects.get(entity=entity, is_default=True).pk}


def _login(tab: Any, url: str, username: str) -> None:
    tab.goto(url)
    tab.fill("#id_username", username)
    tab.fill("#id_password", "correct-horse-battery")
    tab.click("button[type=submit]")


def test_log_a_call_from_the_worklist_and_preview_a_dunning_text(live_server, portfolio, page):  # noqa: F811
    from playwright.sync_api import expect

    _login(page, f"{live_server.url}/collections/", "carla")
    expect(page.locator("h1")).to_have_text("Collections worklist")
    rows = page.locator("#worklist-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("€1,190.00")
    expect(page.locator("#follow-ups")).to_contain_text("No follow-ups due.")  # the tasks, by htmx
    page.screenshot(path=str(SCREENSHOTS / "o2c-collections-worklist.png"), full_page=True)

    rows.first.locator("a[data-row-link]").click()
    expect(page.locator("h1")).to_have_text("Müller Maschinenbau GmbH")
    expect(page.locator("#timeline-empty")).to_be_visible()

    # the call: the working part swaps in without a page load, the form empty again
    page.select_option("#id_activity-kind", "call")
    page.select_option("#id_activity-outcome", "reached")
    page.fill("#id_activity-text", "Spoke to accounts payable: paying next week")
    page.fill("#id_activity-next_action_date", "2026-12-01")
    page.check(f"input[name=activity-documents][value='{portfolio['invoice']}']")
    page.click("#log-activity")
    expect(page.locator("#work-done")).to_have_text("Activity logged.")
    entry = page.locator("#timeline article")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("Spoke to accounts payable: paying next week")
    expect(entry).to_contain_text("Next action on Dec 1, 2026")
    expect(page.locator("#id_activity-text")).to_have_value("")
    page.screenshot(path=str(SCREENSHOTS / "o2c-collections-customer.png"), full_page=True)

    # the manager edits the German text of level 1: the preview follows the typing
    page.context.clear_cookies()
    _login(page, f"{live_server.url}/collections/plans/{portfolio['plan']}/steps/1/de/", "martin")
    expect(page.locator("#preview-subject")).to_contain_text("C-SAMPLE")
    page.fill("#id_subject", "Mahnung für {{ customer_name }}")
    page.fill("#id_body", "Offen: {{ total }}")
    expect(page.locator("#preview-subject")).to_have_text("Mahnung für Musterkunde GmbH")
    expect(page.locator("#preview-body")).to_have_text("Offen: 1.666,00\u00a0€")
    page.fill("#id_body", "{% for item in items %}{{ item.number }}")
    expect(page.locator("#preview-error")).to_have_text(
        "Body: Unclosed tag on line 1: 'for'. Looking for one of: empty, endfor."
    )
    page.fill("#id_body", "Offen: {{ total }}")
    expect(page.locator("#preview-body")).to_have_text("Offen: 1.666,00\u00a0€")
    page.screenshot(path=str(SCREENSHOTS / "o2c-collections-template.png"), full_page=True)
    page.click("#save-template")
    expect(page.locator(".o2c-message-success")).to_have_text("Template saved.")
