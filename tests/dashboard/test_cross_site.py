"""Cross-site attacks in a real browser (Debian's Chromium driven by Playwright) against a
real `vigie serve` and Mosquitto: a page on another port of the same host (same site,
another origin, so the operator's SameSite=Strict cookie goes along) tries to act and to
listen in the operator's name, and to frame the dashboard. And the dashboard itself runs
under its Content-Security-Policy without a single violation."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.conftest import OPERATOR
from tests.peers import CHROMIUM_FLAGS, Mosquitto, VigieProcess
from tests.sensors import Gateway
from tests.vigie.web import eventually, history

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class Attacker:
    """A web server on another port of the same host, serving the given pages."""

    def __init__(self, pages: dict[str, str]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path, "not here").encode()
                self.send_response(200 if self.path in pages else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run scripts/setup.sh --test")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 850}, locale="en-GB")
    ctx.add_init_script(
        "window.__csp = [];"
        "document.addEventListener('securitypolicyviolation',"
        " (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));"
    )
    yield ctx
    ctx.close()


def sign_in(page: Page, v: VigieProcess) -> None:
    page.goto(v.base + "/")
    page.fill('input[name="username"]', "alice")
    page.fill('input[name="token"]', OPERATOR)
    page.click('#login-form button[type="submit"]')
    expect(page.locator('[data-connection="live"]')).to_be_visible()


def attack_pages(v: VigieProcess, incident: str) -> dict[str, str]:
    ack = f"{v.base}/api/incidents/{incident}/ack"
    return {
        # the reported attack: an empty text/plain form, submitted on load
        "/form.html": f"""<!doctype html><title>prize</title>
            <form id="f" method="POST" enctype="text/plain" action="{ack}"></form>
            <script>document.getElementById("f").submit();</script>""",
        # a text/plain form whose body reads as JSON
        "/json-form.html": f"""<!doctype html><title>prize</title>
            <form id="f" method="POST" enctype="text/plain" action="{ack}">
            <input name='{{"comment": "pwned", "x": "' value='"}}'></form>
            <script>document.getElementById("f").submit();</script>""",
        "/fetch.html": f"""<!doctype html><title>waiting</title><script>
            fetch("{ack}", {{method: "POST", mode: "no-cors", credentials: "include",
                             body: JSON.stringify({{comment: "pwned"}})}})
              .finally(() => {{ document.title = "sent"; }});</script>""",
        "/ws.html": f"""<!doctype html><title>waiting</title><script>
            const ws = new WebSocket("ws://127.0.0.1:{v.port}/ws");
            ws.onmessage = (m) => {{ document.title = "read " + m.data.slice(0, 30); }};
            ws.onclose = () => {{
              if (!document.title.startsWith("read")) document.title = "refused"; }};
            </script>""",
        "/frame.html": f"""<!doctype html><title>frame</title>
            <iframe id="victim" src="{v.base}/" width="800" height="600"></iframe>""",
    }


def test_a_page_on_another_port_can_neither_act_nor_listen_with_the_operators_cookie(
    context: BrowserContext, vigie: VigieProcess, broker: Mosquitto
) -> None:
    operator = context.new_page()
    sign_in(operator, vigie)
    with Gateway(broker.port) as gw:
        gw.event("ir", "ir-01", id="a-1", event="alarm")
        gw.flush()
    incident = operator.locator('[data-incident="INC-000001"]')
    expect(incident).to_have_attribute("data-state", "open")
    attacker = Attacker(attack_pages(vigie, "INC-000001"))
    try:
        evil = context.new_page()
        for form in ("/form.html", "/json-form.html"):
            with evil.expect_response(lambda r: r.url.endswith("/ack")) as answer:
                evil.goto(attacker.base + form)
            assert answer.value.status == 403, form
            assert "another origin" in answer.value.text()
        evil.goto(attacker.base + "/fetch.html")
        expect(evil).to_have_title("sent")
        evil.goto(attacker.base + "/ws.html")
        expect(evil).not_to_have_title("waiting")
        assert evil.title() == "refused", evil.title()
    finally:
        attacker.close()
    assert history(vigie, "INC-000001") == [], "nothing done in alice's name"
    expect(incident).to_have_attribute("data-state", "open")
    log = vigie.log()
    # refused for their origin, with a session that was valid: the cookie did go along
    assert log.count("refused POST /api/incidents/INC-000001/ack from 127.0.0.1") == 3
    assert "refused websocket /ws from 127.0.0.1: request from another origin" in log
    assert "ERROR" not in log
    incident.locator('[data-action="ack"]').click()  # the page itself still acts
    expect(incident).to_have_attribute("data-state", "acknowledged")
    assert operator.evaluate("window.__csp") == []


def test_the_dashboard_cannot_be_framed_by_another_page(
    context: BrowserContext, vigie: VigieProcess
) -> None:
    refusals: list[str] = []
    attacker = Attacker(attack_pages(vigie, "INC-000001"))
    try:
        page = context.new_page()
        page.on("console", lambda m: refusals.append(m.text))
        page.goto(attacker.base + "/frame.html")
        eventually(lambda: any("frame-ancestors" in r for r in refusals), what="a refusal")
        frame = page.frame_locator("#victim")
        expect(frame.locator("#login-form")).to_have_count(0)
    finally:
        attacker.close()


def test_the_dashboard_runs_under_its_policy_without_a_violation(
    context: BrowserContext, vigie: VigieProcess, broker: Mosquitto
) -> None:
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    sign_in(page, vigie)
    with Gateway(broker.port) as gw:
        gw.event("fence", "fence-01", id="f-1", event="alarm", data={"mode": "climb"})
        gw.event("camera", "cam-01", id="c-1", event="person", zone="Z01")
        gw.event("ir", "ir-03", id="t-1", event="tamper")
        gw.flush()
    incident = page.locator('[data-incident="INC-000001"]')
    expect(incident).to_have_attribute("data-priority", "4")
    incident.locator("button.more").click()
    expect(incident.locator(".detail")).to_contain_text("fence-01")
    page.click('button[data-lang="fr"]')
    page.click('button[data-lang="en"]')
    incident.locator('input[name="comment"]').fill("seen")
    incident.locator('[data-action="ack"]').click()
    expect(incident).to_have_attribute("data-state", "acknowledged")
    page.click("#logout")
    expect(page.locator("#login-form")).to_be_visible()
    assert page.evaluate("window.__csp") == []
    assert not [c for c in console if "Content Security Policy" in c], console
    assert page.evaluate("document.querySelector('link[rel=icon]').href").endswith(".svg")
