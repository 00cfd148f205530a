"""The walk-test view and the resolve control in a real browser (Debian's Chromium driven
by Playwright), against a real `vigie serve` and a real Mosquitto, with alarms published
while the inspector crosses (docs/protocol.md §11)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.conftest import COMMANDER, INSPECTOR, OPERATOR
from tests.dashboard.test_page import browser, login, page
from tests.peers import Mosquitto, VigieProcess, screenshot_path
from tests.sensors import Gateway

__all__ = ["browser", "page"]  # the fixtures, shared with the page's other tests

SCREENSHOT = screenshot_path("walk-tests.png")


def test_an_inspector_runs_a_walk_test_and_sees_each_detection_live(
    page: Page, vigie: VigieProcess, broker: Mosquitto
) -> None:
    login(page, vigie, "ines", INSPECTOR)
    panel = page.locator("[data-walk-tests]")
    expect(panel).to_be_visible()
    expect(page.locator('[data-report="monthly"]')).to_be_hidden()  # commanders' report
    expect(page.locator('[data-report="inspection"]')).to_be_visible()
    panel.locator('select[name="zone"]').select_option("Z01")
    panel.locator('input[name="minutes"]').fill("30")
    panel.locator('[data-walk-action="open"]').click()
    test = page.locator('[data-walk-test="WT-000001"]')
    expect(test).to_have_attribute("data-state", "open")

    test.locator('[data-crossing-mode="climb"]').click()
    first = test.locator('[data-crossing="1"]')
    expect(first).to_have_attribute("data-mode", "climb")
    expect(first).to_have_attribute("data-settled", "false")
    expect(first.locator('[data-modality="fence"]')).to_have_attribute("data-result", "waiting")
    with Gateway(broker.port) as gw:
        gw.event("fence", "fence-01", id="f-1", event="alarm", data={"mode": "climb"})
        gw.flush()
        expect(first).to_have_attribute("data-detected", "fence", timeout=2_000)
        expect(first.locator('[data-modality="fence"]')).to_have_attribute(
            "data-result", "detected"
        )
        incident = page.locator('[data-incident="INC-000001"]')
        expect(incident).to_have_attribute("data-test", "true")
        expect(incident.locator(".test-badge")).to_have_text("TEST")
        expect(first).to_have_attribute("data-settled", "true", timeout=15_000)
        expect(first).to_have_attribute("data-missed", "camera ir")
        expect(first.locator('[data-modality="ir"]')).to_have_attribute("data-result", "missed")

        test.locator('[data-crossing-mode="walk"]').click()
        second = test.locator('[data-crossing="2"]')
        expect(second).to_have_attribute("data-settled", "false")
        gw.event("camera", "cam-01", id="c-1", event="person", zone="Z01")
        gw.event("ir", "ir-01", id="i-1", event="alarm")
        gw.flush()
        expect(second).to_have_attribute("data-detected", "camera ir", timeout=2_000)
    expect(test.locator(".walk-score")).to_contain_text("2 / 2")
    page.click('button[data-lang="fr"]')
    expect(test.locator('[data-crossing-mode="crawl"]')).to_have_text("Reptation")
    expect(incident.locator(".test-badge")).to_have_text("ESSAI")
    page.click('button[data-lang="en"]')
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    test.locator('[data-walk-action="close"]').click()
    expect(test).to_have_attribute("data-state", "closed")
    expect(test.locator('[data-crossing-mode="walk"]')).to_be_hidden()
    stored = vigie.get("/api/walk-tests/WT-000001", INSPECTOR).json()
    assert [c["detected"] for c in stored["crossings"]] == [["fence"], ["camera", "ir"]]
    assert stored["closed_by"] == "ines"


def test_resolve_waits_for_an_outcome_and_asks_what_became_of_an_intruder(
    page: Page, vigie: VigieProcess, broker: Mosquitto
) -> None:
    login(page, vigie, "alice", OPERATOR)
    expect(page.locator("[data-walk-tests]")).to_be_hidden()
    with Gateway(broker.port) as gw:
        gw.event("ir", "ir-03", id="a-1", event="alarm")
        gw.flush()
    incident = page.locator('[data-incident="INC-000001"]')
    expect(incident).to_have_attribute("data-test", "false")
    expect(incident.locator(".test-badge")).to_be_hidden()
    resolve = incident.locator('[data-action="resolve"]')
    expect(resolve).to_be_disabled()  # a careless click closes nothing
    expect(incident.locator('select[name="outcome"]')).to_have_value("")
    disruption = incident.locator('select[name="disruption"]')
    expect(disruption).to_be_hidden()
    incident.locator('select[name="outcome"]').select_option("intrusion")
    expect(resolve).to_be_enabled()
    expect(disruption).to_be_visible()
    expect(disruption).to_have_value("unknown")
    disruption.select_option("turned_back")
    resolve.click()
    expect(incident).to_have_attribute("data-state", "resolved")
    stored = vigie.get("/api/incidents/INC-000001", OPERATOR).json()
    assert (stored["outcome"], stored["disruption"]) == ("intrusion", "turned_back")


def test_a_commander_finds_the_reports_on_the_page(page: Page, vigie: VigieProcess) -> None:
    login(page, vigie, "carl", COMMANDER)
    expect(page.locator("[data-walk-tests]")).to_be_hidden()
    link = page.locator('a[data-report="monthly"]')
    expect(link).to_be_visible()
    href = link.get_attribute("href")
    assert href is not None and href.startswith("/api/reports/monthly?month=")
    answer = page.request.get(vigie.base + href)  # with the page's session cookie
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.body().startswith(b"%PDF")
    expect(page.locator('a[data-report="inspection"]')).to_have_attribute(
        "href", re.compile(r"^/api/reports/inspection\?from=\d{4}-\d\d-01&to=[-\d]{10}&lang=en$")
    )
