"""The dashboard in a real browser (Debian's Chromium driven by Playwright), against a
real `vigie serve` and a real Mosquitto, through the hooks of docs/protocol.md §8."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from simulators.scenario import demo_site_path
from tests.conftest import COMMANDER, OPERATOR
from tests.peers import CHROMIUM_FLAGS, Mosquitto, VigieProcess, screenshot_path
from tests.sensors import Gateway

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT = screenshot_path("dashboard.png")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run scripts/setup.sh --test")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 850}, locale="en-GB")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on(  # the page must run under its Content-Security-Policy without a violation
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    yield pg
    context.close()
    assert errors == [], errors


def login(page: Page, v: VigieProcess, user: str, token: str) -> None:
    page.goto(v.base + "/")
    page.fill('input[name="username"]', user)
    page.fill('input[name="token"]', token)
    page.click('#login-form button[type="submit"]')
    expect(page.locator('[data-connection="live"]')).to_be_visible()


def test_an_operator_follows_an_intrusion_from_alarm_to_resolution(
    page: Page, vigie: VigieProcess, broker: Mosquitto
) -> None:
    login(page, vigie, "alice", OPERATOR)
    z01 = page.locator('[data-zone="Z01"]')
    expect(z01).to_have_attribute("data-state", "secure")
    with Gateway(broker.port) as gw:
        gw.event("fence", "fence-01", id="f-1", event="alarm", data={"mode": "climb"})
        gw.flush()
        expect(z01).to_have_attribute("data-state", "alarm")
        incident = page.locator('[data-incident="INC-000001"]')
        expect(incident).to_have_attribute("data-priority", "3")
        expect(incident).to_have_attribute("data-state", "open")
        gw.event("camera", "cam-01", id="c-1", event="person", zone="Z01")
        gw.flush()
    expect(z01).to_have_attribute("data-state", "confirmed")
    expect(incident).to_have_attribute("data-priority", "4")
    expect(incident).to_contain_text("Z01")

    incident.locator('input[name="comment"]').fill("patrol dispatched to Z01")
    incident.locator('[data-action="ack"]').click()
    expect(incident).to_have_attribute("data-state", "acknowledged")
    incident.locator("button.more").click()
    expect(incident.locator(".detail")).to_contain_text("alice")
    expect(incident.locator(".detail")).to_contain_text("patrol dispatched to Z01")
    expect(incident.locator(".detail")).to_contain_text("fence-01")

    incident.locator('select[name="outcome"]').select_option("intrusion")
    incident.locator('[data-action="resolve"]').click()
    expect(page.locator('[data-incident="INC-000001"]')).to_have_attribute("data-state", "resolved")
    expect(z01).to_have_attribute("data-state", "secure")
    stored = vigie.get("/api/incidents/INC-000001", OPERATOR).json()
    assert [(h["who"], h["action"]) for h in stored["history"]] == [
        ("alice", "ack"),
        ("alice", "resolve"),
    ]
    assert stored["outcome"] == "intrusion"


def test_a_commander_sees_everything_and_no_action(
    page: Page, vigie: VigieProcess, broker: Mosquitto
) -> None:
    with Gateway(broker.port) as gw:
        gw.event("ir", "ir-02", id="a-1", event="alarm")
        gw.flush()
    login(page, vigie, "carl", COMMANDER)
    expect(page.locator('[data-incident="INC-000001"]')).to_be_visible()
    expect(page.locator('[data-zone="Z02"]')).to_have_attribute("data-state", "alarm")
    assert page.locator("[data-action]").count() == 0


def test_the_page_switches_to_french_at_any_time(
    page: Page, vigie: VigieProcess, broker: Mosquitto
) -> None:
    login(page, vigie, "alice", OPERATOR)
    with Gateway(broker.port) as gw:
        gw.event("ir", "ir-02", id="a-1", event="alarm")
        gw.flush()
    incident = page.locator('[data-incident="INC-000001"]')
    expect(incident.locator('[data-action="ack"]')).to_have_text("Acknowledge")
    page.click('button[data-lang="fr"]')
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("#plan-title")).to_have_text("Plan du site")
    expect(incident.locator('[data-action="ack"]')).to_have_text("Prendre en compte")
    expect(page.locator('[data-zone="Z02"]')).to_contain_text("alarme")
    expect(page.locator('[data-connection="live"]')).to_have_text("En direct")
    page.reload()
    expect(page.locator("#plan-title")).to_have_text("Plan du site")  # the choice is kept
    page.click('button[data-lang="en"]')
    expect(page.locator("#plan-title")).to_have_text("Site plan")


def test_the_page_reconnects_after_the_service_restarts(
    page: Page, vigie: VigieProcess, broker: Mosquitto
) -> None:
    login(page, vigie, "alice", OPERATOR)
    vigie.kill()
    expect(page.locator('[data-connection="reconnecting"]')).to_be_visible()
    vigie.start()
    expect(page.locator('[data-connection="live"]')).to_be_visible(timeout=15_000)
    with Gateway(broker.port) as gw:
        gw.event("fence", "fence-02", id="f-9", event="alarm")
        gw.flush()
    expect(page.locator('[data-zone="Z02"]')).to_have_attribute("data-state", "alarm")


def test_a_gap_in_seq_is_never_shown_as_live(page: Page, vigie: VigieProcess) -> None:
    login(page, vigie, "alice", OPERATOR)
    connection = page.locator("#connection")
    state_right_after_gap = page.evaluate("""() => {
        window.vigie.receive({type: 'update', seq: 99999, incidents: [], events: [], changes: []});
        return [document.querySelector('#connection').dataset.connection,
                document.querySelector('#app').classList.contains('stale')];
    }""")
    assert state_right_after_gap == ["reconnecting", True], "greyed and not live on a gap"
    expect(connection).to_have_attribute("data-connection", "live")


def test_a_bad_login_is_refused_on_the_page(page: Page, vigie: VigieProcess) -> None:
    page.goto(vigie.base + "/")
    page.fill('input[name="username"]', "alice")
    page.fill('input[name="token"]', "wrong")
    page.click('#login-form button[type="submit"]')
    expect(page.locator("#login-error")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()


def test_the_readme_screenshot_shows_the_demo_site_during_an_intrusion(
    page: Page, broker: Mosquitto, users_file: Path, tmp_path: Path
) -> None:
    v = VigieProcess(demo_site_path(), users_file, str(tmp_path / "v.db"), broker, tmp_path)
    v.start()
    try:
        login(page, v, "alice", OPERATOR)
        with Gateway(broker.port) as gw:
            gw.event(
                "fence",
                "fence-07",
                id="f-1",
                event="alarm",
                data={"mode": "climb", "position_m": 54},
            )
            gw.event("ir", "ir-04", id="w-1", event="alarm")
            gw.event(
                "camera",
                "cam-02",
                id="c-1",
                event="person",
                zone="Z07",
                data={"box": [0.7, 0.5, 0.1, 0.35], "score": 2.1},
            )
            gw.event("floodlight", "fl-04", id="s-1", event="state", data={"on": True})
            gw.event("ir", "ir-10", id="t-1", event="tamper")
            gw.flush()
        expect(page.locator('[data-zone="Z07"]')).to_have_attribute("data-state", "confirmed")
        expect(page.locator('[data-zone="Z10"]')).to_have_attribute("data-state", "degraded")
        page.locator('[data-incident="INC-000001"] button.more').click()
        expect(page.locator('[data-incident="INC-000001"] .detail')).to_contain_text("fence-07")
        page.wait_for_timeout(400)
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
    finally:
        v.stop()
