// The intelligence panel (docs/protocol.md §9): every item this desk may see, with its
// grading spelled out, its handling, its zones and the time its window has left; and,
// for analysts, a form to issue an item and a button to withdraw their own.
import { t, clock, age } from "./i18n.js";

function node(tag, attrs = {}, text = null) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v);
  }
  if (text !== null) el.textContent = text;
  return el;
}

export function grading(item) {
  return `${item.source_grade}${item.information_grade} · ${t(`source_${item.source_grade}`)}, ${t(`information_${item.information_grade}`)}`;
}

export class IntelPanel {
  constructor({ list, empty, form, api, onError }) {
    this.list = list;
    this.empty = empty;
    this.form = form;
    this.api = api;
    this.onError = onError;
    this.items = new Map();  // id -> item JSON
    this.user = null;
    this.zones = [];
    form.addEventListener("submit", (e) => { e.preventDefault(); this.issue(); });
  }

  setUser(user) {
    this.user = user;
    this.form.hidden = !user.may_issue_intel;
    this.render();
  }

  setZones(zones) {
    const ids = zones.map((z) => z.id);
    if (ids.join() === this.zones.join()) return;
    this.zones = ids;
    const box = this.form.querySelector(".intel-zones");
    box.replaceChildren(...ids.map((id) => {
      const label = node("label");
      label.append(node("input", { type: "checkbox", name: "zone", value: id }), ` ${id}`);
      return label;
    }));
  }

  draw(items) {
    this.items.clear();
    for (const item of items) this.items.set(item.id, item);
    this.render();
  }

  upsert(item) {
    this.items.set(item.id, item);
    this.render();
  }

  linked(ids) {
    return ids.map((id) => this.items.get(id)?.title ?? id);
  }

  render() {
    const now = Date.now() / 1000;
    const shown = [...this.items.values()].filter(
      (i) => i.withdrawn_t === null && i.active_until_t > now);
    const rows = shown.map((item) => this.row(item, now));
    this.list.replaceChildren(...rows);
    this.empty.hidden = rows.length > 0;
  }

  row(item, now) {
    const active = item.active_from_t <= now && now < item.active_until_t;
    const li = node("li", { class: "intel-item", dataset: {
      intel: item.id, credible: String(item.credible), active: String(active) } });
    const head = node("div", { class: "intel-head" });
    head.append(node("strong", {}, item.title));
    if (!item.credible) head.append(" ", node("span", { class: "badge" }, t("intel_not_acted_on")));
    li.append(head);
    li.append(node("div", { class: "intel-grading" }, grading(item)));
    const handling = item.handling === "C"
      ? `${t("handling_C")}: ${item.conditions ?? ""}` : t("handling_P");
    li.append(node("div", { class: "intel-handling" }, handling));
    const when = active
      ? `${t("intel_left")} ${age(item.active_until_t - now)}`
      : `${t("intel_from")} ${clock(item.active_from_t)}`;
    li.append(node("div", { class: "intel-when", dataset: { until: String(item.active_until_t) } },
      `${t("zones")}: ${item.zones.join(", ")} · ${when}`));
    if (this.user && this.user.may_issue_intel && item.source === this.user.name) {
      const withdraw = node("button", { type: "button", dataset: { action: "withdraw-intel" } },
        t("intel_withdraw"));
      withdraw.addEventListener("click", () => this.withdraw(item));
      li.append(withdraw);
    }
    return li;
  }

  tick() { if (this.items.size) this.render(); }

  async issue() {
    const f = new FormData(this.form);
    const startMin = Number(f.get("start") || 0), lengthMin = Number(f.get("minutes") || 60);
    const now = Date.now();
    const iso = (ms) => new Date(ms).toISOString();
    const desks = String(f.get("desks") || "").split(",").map((d) => d.trim()).filter(Boolean);
    const data = {
      ref: String(f.get("ref") || `INT-${now.toString(36).toUpperCase()}`),
      title: String(f.get("title") || ""),
      zones: f.getAll("zone").map(String),
      valid_from: iso(now + startMin * 60000),
      valid_until: iso(now + (startMin + lengthMin) * 60000),
      source_grade: String(f.get("source_grade")),
      information_grade: String(f.get("information_grade")),
      handling: String(f.get("handling")),
    };
    if (f.get("conditions")) data.conditions = String(f.get("conditions"));
    if (desks.length) data.desks = desks;
    const body = { id: `page-${now}-${Math.random().toString(36).slice(2, 8)}`,
                   ts: iso(now), event: "issue", data };
    try {
      const answer = await this.api.post("/api/intel", body);
      if (answer.item) this.upsert(answer.item);
      this.form.reset();
    } catch (err) { this.onError(String(err.message ?? err)); }
  }

  async withdraw(item) {
    try {
      const answer = await this.api.post(
        `/api/intel/${encodeURIComponent(item.source)}/${encodeURIComponent(item.ref)}/withdraw`, {});
      if (answer.item) this.upsert(answer.item);
    } catch (err) { this.onError(String(err.message ?? err)); }
  }

  relabel() { this.render(); }
}
