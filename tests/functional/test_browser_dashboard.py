"""The AR dashboard in a real browser: an AR manager opens it, the charts are drawn (server-side SVG: a bar
per bucket and week with an amount, a point per month end with a KPI), the data tables open, and the page
is screenshot to a PNG. The history is tests/integration/reporting/history.py seen on Monday 2026-05-04
(the figures are explained in test_web_dashboard.py)."""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import make_user
from tests.functional.test_browser import live_server, page  # noqa: F401 - fixtures
from tests.integration.reporting.history import build_history

pytestmark = pytest.mark.browser

MAY_4 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def history(ledger_purgeable: None, entity: Any, customer: Any, time_machine: Any, settings: Any) -> Any:
    """Built before the browser starts (see test_browser.invoice). The server's clock is pinned to
    2026-05-04 and keeps ticking; the session cookie is made to outlive the browser's real clock, which
    would otherwise drop a cookie that expires two weeks after that date."""
    time_machine.move_to(MAY_4, tick=True)
    settings.SESSION_COOKIE_AGE = 10 * 365 * 24 * 3600
    make_user("maria", "ar_manager", entities=[entity])
    return build_history(entity, customer)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_a_manager_sees_the_charts_of_the_dashboard(live_server, history, page, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/dashboard/")
    page.fill("#id_username", "maria")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("AR dashboard")
    expect(page.locator("#card-open")).to_have_text("€1,635.00")
    expect(page.locator("#card-unapplied")).to_have_text("€987.70")

    # the aging by week: 18 weeks, 26 bars (one per bucket with an amount), 6 buckets in the legend
    aging = page.locator("svg#aging-chart")
    expect(aging).to_be_visible()
    expect(aging.locator("rect.o2c-chart-bar")).to_have_count(26)
    expect(aging.locator(".o2c-chart-legend text")).to_have_count(6)
    expect(aging.locator("title").first).to_have_text("Aging by week")
    expect(aging.locator(".o2c-chart-x text").last).to_have_text("May 3")
    box = aging.bounding_box()
    assert box is not None and box["width"] > 600 and box["height"] > 200
    # the bars are drawn inside the plot, each with a height
    heights = aging.locator("rect.o2c-chart-bar").evaluate_all(
        "bars => bars.map(bar => bar.getBBox().height)"
    )
    assert len(heights) == 26 and min(heights) >= 1

    # DSO and best possible DSO at 4 month ends each, CEI at 3 (no sales before January)
    expect(page.locator("svg#dso-chart circle.o2c-chart-point")).to_have_count(8)
    expect(page.locator("svg#dso-chart path")).to_have_count(2)
    expect(page.locator("svg#cei-chart circle.o2c-chart-point")).to_have_count(3)
    expect(page.locator("svg#cei-chart .o2c-chart-x text")).to_have_count(6)  # every other month end

    # the top past-due customers
    expect(page.locator("#past-due-table tbody tr")).to_have_count(2)
    expect(page.locator("#past-due-table tbody tr").first).to_contain_text("C-2000")

    path = tmp_path / "o2c-dashboard.png"
    page.screenshot(path=str(path), full_page=True)
    data = path.read_bytes()
    width, height = _png_size(data)
    assert width == 1280 and height > 900
    assert len(data) > 50_000  # charts, tables and text: far more than a blank page

    # the figures behind a chart, as a table
    page.locator("#aging-trend details summary").click()
    expect(page.locator("#aging-table tbody tr")).to_have_count(18)
    expect(page.locator("#aging-table tbody tr").last).to_contain_text("May 3, 2026")
