// Walk tests, for inspectors and admins (docs/protocol.md §11): open a test on a zone,
// press a mode's button at each crossing, and watch which modalities detect it within
// its 10 s (a countdown, then detected or missed per modality), then close the test.
// Live from the websocket: the service sends every test change (opened, crossing,
// detection, settled, closed, expired) with the whole test.
import { t, clock } from "./i18n.js";

const MARK = { detected: "✓", missed: "✗", waiting: "…" };

export class WalkTestPanel {
  constructor({ root, template, api, onError }) {
    this.root = root;
    this.template = template;
    this.api = api;
    this.onError = onError;
    this.list = root.querySelector(".walk-list");
    this.none = root.querySelector(".walk-none");
    this.form = root.querySelector("#walk-open");
    this.tests = new Map();      // id -> {test, node}
    this.offset = 0;             // service clock minus this browser's, in seconds
    this.timer = null;
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.open(); });
    this.list.addEventListener("click", (e) => this.click(e));
  }

  show(visible) {
    this.root.hidden = !visible;
    clearInterval(this.timer);
    this.timer = visible ? setInterval(() => this.tick(), 1000) : null;
  }

  now() { return Date.now() / 1000 + this.offset; }

  // The service's clock, as a frame or snapshot gives it: countdowns follow it, not ours.
  sync(serviceT) {
    if (typeof serviceT === "number") this.offset = serviceT - Date.now() / 1000;
  }

  snapshot(picture) {
    this.sync(picture.t);
    const select = this.form.querySelector('select[name="zone"]');
    const chosen = select.value;
    select.replaceChildren(...picture.zones.map((z) => {
      const option = document.createElement("option");
      option.value = z.id;
      option.textContent = z.name ? `${z.id} — ${z.name}` : z.id;
      return option;
    }));
    if (chosen) select.value = chosen;
    this.tests.clear();
    this.list.replaceChildren();
    for (const test of picture.walk_tests ?? []) this.upsert(test);
    this.render();
  }

  apply(change) {
    this.upsert(change.walk_test);
    this.render();
  }

  upsert(test) {
    let entry = this.tests.get(test.id);
    if (!entry) {
      const node = this.template.content.firstElementChild.cloneNode(true);
      node.dataset.walkTest = test.id;
      for (const el of node.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
      node.querySelector(".modes").setAttribute("aria-label", t("record_crossing"));
      entry = { test, node };
      this.tests.set(test.id, entry);
      this.list.prepend(node);
    }
    entry.test = test;
    this.fill(entry);
  }

  render() {
    this.none.hidden = [...this.tests.values()].some((e) => e.test.state === "open");
  }

  fill({ test, node }) {
    node.dataset.state = test.state;
    node.dataset.testZone = test.zone;
    node.querySelector(".walk-id").textContent = test.id;
    node.querySelector(".walk-zone").textContent = test.zone;
    node.querySelector(".walk-state").textContent = t(`test_state_${test.state}`);
    node.querySelector(".walk-score").textContent =
      `${test.detected_count} / ${test.crossings_count} ${t("detected")}`;
    const running = test.state === "open";
    for (const b of node.querySelectorAll("button")) b.disabled = !running;
    node.querySelector(".modes").hidden = !running;
    const items = test.crossings.map((c) => this.crossing(test, c));
    node.querySelector(".crossings").replaceChildren(...items.reverse());
    this.countdown(node, test);
  }

  crossing(test, c) {
    const li = document.createElement("li");
    li.dataset.crossing = String(c.n);
    li.dataset.mode = c.mode;
    li.dataset.detected = c.detected.join(" ");
    li.dataset.missed = c.missed.join(" ");
    li.dataset.settled = String(c.settled);
    li.dataset.windowUntil = String(c.window_until_t);
    const head = document.createElement("span");
    head.className = "crossing-head";
    head.textContent = `#${c.n} ${t(`mode_${c.mode}`)} ${clock(c.t)}`;
    li.appendChild(head);
    const modalities = test.modalities.length ? test.modalities : c.detected;
    if (!modalities.length) {
      const none = document.createElement("span");
      none.className = "quiet";
      none.textContent = t("no_detector");
      li.appendChild(none);
    }
    for (const m of modalities) {
      const result = c.detected.includes(m) ? "detected" : c.settled ? "missed" : "waiting";
      const chip = document.createElement("span");
      chip.className = "chip";
      chip.dataset.modality = m;
      chip.dataset.result = result;
      chip.textContent = `${t(`modality_${m}`)} ${MARK[result]}`;
      chip.title = t(result);
      li.appendChild(chip);
    }
    const left = document.createElement("span");
    left.className = "window";
    li.appendChild(left);
    return li;
  }

  // Once a second: the test's time left, and each pending crossing's 10 s counting down.
  tick() {
    for (const { test, node } of this.tests.values()) this.countdown(node, test);
  }

  countdown(node, test) {
    const now = this.now();
    const left = node.querySelector(".walk-left");
    left.textContent = test.state === "open"
      ? `${Math.max(0, Math.ceil((test.until_t - now) / 60))} ${t("minutes")} ${t("time_left")}` : "";
    for (const li of node.querySelectorAll("li[data-crossing]")) {
      const win = li.querySelector(".window");
      if (li.dataset.settled === "true") { win.textContent = ""; continue; }
      const s = Math.max(0, Math.ceil(Number(li.dataset.windowUntil) - now));
      win.textContent = `${s} ${t("seconds")}`;
    }
  }

  relabel() {
    for (const entry of this.tests.values()) {
      for (const el of entry.node.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
      entry.node.querySelector(".modes").setAttribute("aria-label", t("record_crossing"));
      this.fill(entry);
    }
  }

  async open() {
    const form = new FormData(this.form);
    const button = this.form.querySelector('[data-walk-action="open"]');
    button.disabled = true;
    try {
      const test = await this.api.post("/api/walk-tests",
        { zone: form.get("zone"), minutes: Number(form.get("minutes")) });
      this.upsert(test);
      this.render();
    } catch (err) {
      this.onError(`${t("action_failed")} ${err.message}`);
    } finally {
      button.disabled = false;
    }
  }

  async click(event) {
    const button = event.target.closest("button");
    const node = event.target.closest("[data-walk-test]");
    if (!button || !node) return;
    const id = encodeURIComponent(node.dataset.walkTest);
    try {
      button.disabled = true;
      if (button.dataset.crossingMode) {
        await this.api.post(`/api/walk-tests/${id}/crossings`, { mode: button.dataset.crossingMode });
        // The websocket brings the crossing (with the whole test) a moment later.
      } else if (button.dataset.walkAction === "close") {
        this.upsert(await this.api.post(`/api/walk-tests/${id}/close`));
        this.render();
      }
    } catch (err) {
      this.onError(`${t("action_failed")} ${err.message}`);
    } finally {
      const entry = this.tests.get(node.dataset.walkTest);
      button.disabled = !entry || entry.test.state !== "open";
    }
  }
}

// Links to the reports (docs/reports.md): the monthly one for commanders and admins, the
// inspection for them and inspectors, in the page's language.
export class ReportLinks {
  constructor(root, language) {
    this.root = root;
    this.language = language;
    this.role = null;
    const today = new Date();
    const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
    root.querySelector('input[name="month"]').value = iso(today).slice(0, 7);
    root.querySelector('input[name="from"]').value = `${iso(today).slice(0, 8)}01`;
    root.querySelector('input[name="to"]').value = iso(today);
    for (const input of root.querySelectorAll("input")) input.addEventListener("input", () => this.relabel());
  }

  show(role) {
    this.role = role;
    const monthly = role === "commander" || role === "admin";
    const inspection = monthly || role === "inspector";
    this.root.hidden = !inspection;
    this.root.querySelector('[data-report-kind="monthly"]').hidden = !monthly;
    this.relabel();
  }

  relabel() {
    const lang = this.language();
    const value = (name) => encodeURIComponent(this.root.querySelector(`input[name="${name}"]`).value);
    this.root.querySelector('a[data-report="monthly"]').href =
      `/api/reports/monthly?month=${value("month")}&lang=${lang}`;
    this.root.querySelector('a[data-report="inspection"]').href =
      `/api/reports/inspection?from=${value("from")}&to=${value("to")}&lang=${lang}`;
  }
}
