"""Video in the page, in Debian's Chromium: a camera opens live from its symbol on the
plan (frames advance, read from the clock drawn in them), an incident's detail opens
its cameras live in one click and plays its evidence clip, under the page's
Content-Security-Policy and its session cookie."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from simulators.cameras import rtsp_available
from tests.conftest import OPERATOR
from tests.peers import CHROMIUM_FLAGS, Mosquitto
from tests.sensors import Gateway
from tests.vigie.video_rig import camera_service

pytestmark = pytest.mark.skipif(
    not rtsp_available(), reason="needs GStreamer's RTSP server: scripts/setup.sh --test"
)

READ_CLOCK = """(video) => {
  // The simulator's clock (simulators/overlay.py): 50 blocks of 8x8 px from (4, 4).
  const c = document.createElement("canvas");
  c.width = video.videoWidth; c.height = video.videoHeight;
  const ctx = c.getContext("2d");
  ctx.drawImage(video, 0, 0);
  const img = ctx.getImageData(0, 0, 4 + 50 * 8, 12).data, w = 4 + 50 * 8;
  const bits = [];
  for (let i = 0; i < 50; i++) {
    let sum = 0, n = 0;
    for (let y = 6; y < 10; y++) for (let x = 4 + i * 8 + 2; x < 4 + (i + 1) * 8 - 2; x++) {
      const p = (y * w + x) * 4; sum += (img[p] + img[p + 1] + img[p + 2]) / 3; n++;
    }
    bits.push(sum / n > 128 ? 1 : 0);
  }
  if (bits[0] !== 1 || bits[1] !== 0) return null;
  let v = 0; for (let i = 2; i < 46; i++) v = v * 2 + bits[i];
  return { t: video.currentTime, state: video.dataset.liveState, clock: v / 1000 };
}"""


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-GB")
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on(
            "console",
            lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
        )
        try:
            yield pg
        finally:
            browser.close()
        assert errors == [], errors


def test_cameras_play_live_in_the_page_and_an_incident_shows_its_cameras_and_clip(
    page: Page, broker: Mosquitto, users_file: Path, tmp_path: Path
) -> None:
    with camera_service(tmp_path, broker, users_file, pre=1, post=1) as rig:
        page.goto(rig.v.base + "/")
        page.fill('input[name="username"]', "alice")
        page.fill('input[name="token"]', OPERATOR)
        page.click('#login-form button[type="submit"]')
        expect(page.locator('[data-connection="live"]')).to_be_visible()

        page.locator('#plan [data-kind="camera"][data-device="cam-01"]').click()
        video = page.locator('#live-views video[data-camera-live="cam-01"]')
        expect(video).to_have_attribute("data-live-state", "playing", timeout=20_000)
        page.wait_for_function(
            "v => v.readyState >= 2 && v.videoWidth > 0", arg=video.element_handle()
        )
        a = video.evaluate(READ_CLOCK)
        time.sleep(2)
        b = video.evaluate(READ_CLOCK)
        assert a is not None and b is not None, "the camera's clock is in the picture"
        assert b["t"] - a["t"] >= 1.0, (a, b)  # the player moves on
        assert b["clock"] - a["clock"] >= 1.0, (a, b)  # through new frames
        assert time.time() - b["clock"] < 2.0, "and stays near live"

        page.locator('#live-views button[data-close="cam-01"]').click()
        expect(video).to_have_count(0)
        with Gateway(broker.port) as gw:
            gw.event("camera", "cam-01", id="c-1", event="person", zone="Z01")
            gw.flush()
        incident = page.locator('[data-incident="INC-000001"]')
        incident.locator("button.more").click()
        incident.locator('[data-action="watch-cameras"]').click()  # one click: its cameras
        expect(video).to_have_attribute("data-live-state", "playing", timeout=20_000)

        clip = incident.locator("video[data-clip]")
        expect(clip).to_have_count(1, timeout=15_000)  # listed once post_capture_s has passed
        loaded = "v => v.readyState >= 1 && v.duration > 2"
        page.wait_for_function(loaded, arg=clip.element_handle())
        clip.evaluate("v => { v.muted = true; return v.play(); }")
        page.wait_for_function("v => v.currentTime > 0.5", arg=clip.element_handle())
