"""The intelligence panel in a real browser (Debian's Chromium), against a real
`vigie serve` and Mosquitto: an analyst issues and withdraws from the page, zones on
watch are marked without colour, an incident shows its linked item, a commander sees
items but cannot issue them, and a desk never sees an item meant for another."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.dashboard.test_page import browser, login, page  # noqa: F401 - fixtures
from tests.peers import Mosquitto, VigieProcess
from tests.sensors import Gateway
from tests.vigie.test_intel_live import ANA, FRED, URSULA, item
from tests.vigie.test_intel_live import service as intel_service  # noqa: F401 - fixture


@pytest.fixture
def service(intel_service: VigieProcess) -> Iterator[VigieProcess]:  # noqa: F811
    yield intel_service


def test_an_analyst_issues_from_the_page_and_the_zone_goes_on_watch(
    page: Page,  # noqa: F811
    service: VigieProcess,
    broker: Mosquitto,
) -> None:
    login(page, service, "ana", ANA)
    form = page.locator("#intel-form")
    expect(form).to_be_visible()
    form.locator('input[name="title"]').fill("Group of about 20 near the gate")
    form.locator('input[name="zone"][value="Z02"]').check()
    form.locator('select[name="source_grade"]').select_option("2")
    form.locator('select[name="information_grade"]').select_option("B")
    form.locator('button[type="submit"]').click()
    entry = page.locator('[data-intel^="ana/"]')
    expect(entry).to_contain_text("Group of about 20 near the gate")
    expect(entry).to_contain_text("2B · untested source, known indirectly, corroborated")
    expect(entry).to_contain_text("ends in")
    z02 = page.locator('[data-zone="Z02"]')
    expect(z02).to_have_attribute("data-watch", "true")
    expect(z02).to_contain_text("on watch")  # a word and a mark, not only a colour
    with Gateway(broker.port) as gw:
        gw.event("fence", "fence-02", id="f-1", event="alarm")
        gw.flush()
    incident = page.locator('[data-incident="INC-000001"]')
    expect(incident).to_have_attribute("data-priority", "5")
    expect(incident.locator(".intel-links")).to_contain_text("Group of about 20 near the gate")
    expect(incident.locator(".prio")).to_have_attribute(
        "title", "Priority 5 = zone criticality 4 +1 intelligence linked"
    )
    page.click('button[data-lang="fr"]')
    expect(entry).to_contain_text("source non éprouvée, connue indirectement, recoupée")
    expect(z02).to_contain_text("sous surveillance")
    entry.locator('[data-action="withdraw-intel"]').click()
    expect(page.locator('[data-intel^="ana/"]')).to_have_count(0)
    expect(z02).to_have_attribute("data-watch", "false")


def test_a_commander_sees_items_but_cannot_issue_and_desks_stay_apart(
    page: Page,  # noqa: F811
    service: VigieProcess,
    tmp_path: Path,
) -> None:
    assert service.post("/api/intel", item("OPEN-1", ["Z01"]), ANA).status_code == 201
    secret = item("SEC-1", ["Z03"], desks=["fr-police"])
    assert service.post("/api/intel", secret, ANA).status_code == 201
    login(page, service, "ursula", URSULA)  # a UK desk
    expect(page.locator('[data-intel="ana/OPEN-1"]')).to_be_visible()
    expect(page.locator("#intel-form")).to_be_hidden()
    expect(page.locator('[data-zone="Z01"]')).to_have_attribute("data-watch", "true")
    expect(page.locator('[data-zone="Z03"]')).to_have_attribute("data-watch", "false")
    assert page.locator('[data-intel="ana/SEC-1"]').count() == 0
    assert "SEC-1" not in page.content()
    page.click("#logout")
    login(page, service, "fred", FRED)  # a French police desk
    expect(page.locator('[data-intel="ana/SEC-1"]')).to_be_visible()
    expect(page.locator('[data-intel="ana/SEC-1"]')).to_contain_text("police desks only")
    expect(page.locator('[data-zone="Z03"]')).to_have_attribute("data-watch", "true")
