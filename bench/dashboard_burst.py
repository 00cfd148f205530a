"""The dashboard under load, measured in a real browser (Debian's Chromium).

Signs in to a real ``vigie serve`` (a quiet 20-zone site), puts 500 open incidents
on screen through a snapshot, then delivers a burst of 1,000 update frames, each as
its own task as websocket messages arrive (each frame: an incident's new state, an
event, a zone change). Prints the time until the burst is applied and drawn, the
longest animation frame and the longest task during it. Targets: burst within 1 s,
no frame over 100 ms.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.push_latency import site as fence_site
from tests.peers import CHROMIUM_FLAGS, Mosquitto, VigieProcess

BURST_JS = """async ({incidents, updates}) => {
  const picture = await (await fetch('/api/picture')).json();
  const now = Date.now() / 1000;
  picture.incidents = [];
  for (let i = 0; i < incidents; i++) {
    const z = picture.zones[i % picture.zones.length].id;
    picture.incidents.push({id: `INC-${String(i + 1).padStart(6, '0')}`, zones: [z],
      opened_t: now - 3600 + i, confirmed: i % 3 === 0, confirmed_t: i % 3 === 0 ? now : null,
      modalities: i % 3 === 0 ? ['fence', 'ir'] : ['ir'], sensors: [`ir-${i % 20}`],
      priority: 1 + (i % 5), state: 'open', last_joined_t: now});
  }
  const base = 1000000;
  window.vigie.receive({type: 'snapshot', seq: base, picture});
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const frames = [];
  let last = performance.now(), running = true;
  const tick = (ts) => {
    frames.push(ts - last); last = ts; if (running) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const longTasks = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) longTasks.push(e.duration);
  });
  observer.observe({entryTypes: ['longtask']});
  const start = performance.now();
  await new Promise((done) => {
    const channel = new MessageChannel();
    let n = 0;
    channel.port1.onmessage = () => {
      const i = n++;
      const id = `INC-${String((i * 7) % incidents + 1).padStart(6, '0')}`;
      const zone = picture.zones[i % picture.zones.length].id;
      window.vigie.receive({type: 'update', seq: base + 1 + i, t: now,
        incidents: [{id, zones: [zone], opened_t: now - 3600, confirmed: true, confirmed_t: now,
                     modalities: ['camera', 'ir'], sensors: ['cam-1', 'ir-1'],
                     priority: 1 + (i % 5), state: i % 10 === 0 ? 'acknowledged' : 'open',
                     last_joined_t: now}],
        events: [{t: now, sensor: 'ir-1', kind: 'ir', event: 'alarm', zone, id: `e${i}`,
                  data: {}, incident: id}],
        changes: [{type: 'zone', id: zone, state: i % 2 ? 'alarm' : 'confirmed',
                   degraded: false}]});
      if (n < updates) channel.port2.postMessage(0); else done();
    };
    for (let k = 0; k < 1; k++) channel.port2.postMessage(0);
  });
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const elapsed = performance.now() - start;
  running = false;
  observer.disconnect();
  const onScreen = document.querySelectorAll('#incidents [data-incident]').length;
  return {elapsed, longestFrame: Math.max(...frames.slice(1)), frames: frames.length,
          longestTask: longTasks.length ? Math.max(...longTasks) : 0, longTasks: longTasks.length,
          onScreen};
}"""


def main() -> None:
    token = "bench-token"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        broker = Mosquitto(tmp / "broker")
        broker.start()
        site_file = tmp / "site.yaml"
        site_file.write_text(yaml.safe_dump(fence_site()))
        users = tmp / "users.yaml"
        digest = hashlib.sha256(token.encode()).hexdigest()
        users.write_text(
            yaml.safe_dump({"users": [{"name": "op", "role": "operator", "token_sha256": digest}]})
        )
        v = VigieProcess(site_file, users, str(tmp / "v.db"), broker, tmp)
        v.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS
                )
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                page.goto(v.base + "/")
                page.fill('input[name="username"]', "op")
                page.fill('input[name="token"]', token)
                page.click('#login-form button[type="submit"]')
                page.wait_for_selector('[data-connection="live"]')
                results: list[dict[str, Any]] = [
                    page.evaluate(BURST_JS, {"incidents": 500, "updates": 1000}) for _ in range(3)
                ]
                browser.close()
        finally:
            v.stop()
            broker.stop()
    for r in results:
        print(
            f"500 incidents on screen ({r['onScreen']} drawn), burst of 1,000 updates: applied "
            f"and drawn in {r['elapsed']:.0f} ms; longest frame {r['longestFrame']:.0f} ms over "
            f"{r['frames']} frames; longest task {r['longestTask']:.0f} ms "
            f"({r['longTasks']} tasks over 50 ms)"
        )


if __name__ == "__main__":
    main()
