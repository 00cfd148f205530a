"""The joint centre's page in a real browser (Debian's Chromium), against two real sites
and their bridges: a plan per site, one joint queue marked with each incident's site, the
link of each site lost and back, an acknowledgement from the centre, and a desk that
sees one site and acts on nothing (docs/protocol.md §8 and §10)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.centre.rig import PORT, TOKEN, YARD, Joint, alarm, joint, warning
from tests.peers import CHROMIUM_FLAGS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run scripts/setup.sh --test")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield b
        b.close()


def new_page(browser: Browser, errors: list[str]) -> Page:
    context = browser.new_context(viewport={"width": 1500, "height": 850}, locale="en-GB")
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return page


def login(page: Page, j: Joint, user: str) -> None:
    page.goto(j.centre.base + "/")
    page.fill('input[name="username"]', user)
    page.fill('input[name="token"]', TOKEN[user])
    page.click('#login-form button[type="submit"]')
    expect(page.locator('[data-connection="live"]')).to_be_visible()


def test_the_joint_page_shows_both_sites_their_links_and_acts(
    browser: Browser, tmp_path: Path
) -> None:
    errors: list[str] = []
    with joint(tmp_path) as j:
        page = new_page(browser, errors)
        login(page, j, "marie")
        yard = page.locator(f'section.site[data-site="{YARD}"]')
        port = page.locator(f'section.site[data-site="{PORT}"]')
        for site in (yard, port):
            expect(site).to_have_attribute("data-link", "up")
            expect(site.locator('[data-zone="Z01"]')).to_have_attribute("data-state", "secure")
        with j.gateway(YARD) as gw:
            alarm(gw, YARD, "ir-01", "y-1")
            gw.flush()
        with j.gateway(PORT) as gw:
            alarm(gw, PORT, "ir-03", "p-1")
            gw.flush()
        yard_item = page.locator(f'#incidents [data-site="{YARD}"][data-incident="INC-000001"]')
        port_item = page.locator(f'#incidents [data-site="{PORT}"][data-incident="INC-000001"]')
        expect(yard_item).to_have_attribute("data-state", "open")
        expect(port_item).to_have_attribute("data-priority", "2")
        expect(yard.locator('[data-zone="Z01"]')).to_have_attribute("data-state", "alarm")
        expect(port.locator('[data-zone="Z03"]')).to_have_attribute("data-state", "alarm")
        expect(port.locator('[data-zone="Z01"]')).to_have_attribute("data-state", "secure")

        with j.gateway(PORT) as gw:  # the port's unit warns the French police desk
            warning(gw, PORT, "INT-7", ["Z02"], desks=["fr-police"])
            gw.flush()
        expect(port.locator('[data-intel="jiu/INT-7"]')).to_contain_text("2B")
        expect(port.locator('[data-zone="Z02"]')).to_have_attribute("data-watch", "true")
        expect(yard.locator("[data-intel]")).to_have_count(0)
        with j.gateway(PORT) as gw:
            alarm(gw, PORT, "ir-02", "p-3")  # in the zone on watch: linked, raised
            gw.flush()
        linked = page.locator(f'#incidents [data-site="{PORT}"] [data-intel-links="jiu/INT-7"]')
        expect(linked).to_contain_text("Group heading for Z02")

        yard_item.locator('input[name="comment"]').fill("patrol sent")
        yard_item.locator('[data-action="ack"]').click()
        expect(yard_item).to_have_attribute("data-state", "acknowledged")
        expect(yard_item.locator(".reply")).to_have_text("Done by the site.")

        # No outcome is chosen for the desk: resolve waits for one; an intrusion asks
        # what became of the intruder, and the site records it.
        resolve = yard_item.locator('[data-action="resolve"]')
        expect(resolve).to_be_disabled()
        expect(yard_item.locator(".disruption")).to_be_hidden()
        yard_item.locator(".outcome").select_option("intrusion")
        expect(resolve).to_be_enabled()
        yard_item.locator(".disruption").select_option("intercepted")
        resolve.click()
        expect(yard_item).to_have_count(0)
        at_site = j.sites[YARD].get("/api/incidents/INC-000001", TOKEN["alice"]).json()
        assert (at_site["state"], at_site["outcome"]) == ("resolved", "intrusion")
        assert at_site["disruption"] == "intercepted"

        j.hops[PORT].cut(silent=False)
        expect(port).to_have_attribute("data-link", "lost", timeout=15_000)
        expect(port.locator(".link")).to_contain_text("as of")
        expect(port_item).to_have_attribute("data-link", "lost")
        expect(yard).to_have_attribute("data-link", "up")
        page.screenshot(path=str(tmp_path / "centre-lost.png"))
        with j.gateway(PORT) as gw:
            alarm(gw, PORT, "ir-09", "p-2")  # during the cut
            gw.flush()
        j.hops[PORT].restore()
        expect(port).to_have_attribute("data-link", "up", timeout=30_000)
        expect(port_item).to_have_attribute("data-link", "up")
        expect(page.locator(f'#incidents [data-site="{PORT}"][data-incident="INC-000002"]'))
        expect(port.locator('[data-zone="Z09"]')).to_have_attribute("data-state", "alarm")

        uk = new_page(browser, errors)
        login(uk, j, "uma")
        expect(uk.locator("section.site")).to_have_count(1)
        expect(uk.locator(f'section.site[data-site="{PORT}"]')).to_be_visible()
        expect(uk.locator("#incidents [data-incident]")).to_have_count(2)
        expect(uk.locator(f'#incidents [data-site="{YARD}"]')).to_have_count(0)
        expect(uk.locator('[data-action="ack"]')).to_have_count(0)
        # The warning names the French police desk: the UK desk sees neither the item
        # nor the zone it puts on watch.
        expect(uk.locator("[data-intel]")).to_have_count(0)
        expect(uk.locator('[data-zone="Z02"]')).to_have_attribute("data-watch", "false")
    assert errors == [], errors
