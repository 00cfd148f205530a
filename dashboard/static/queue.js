// The incident queue: highest priority first, then oldest; each with its zones,
// modalities, ticking age and state, its actions (operators only) and its detail.
import { t, age, clock } from "./i18n.js";
import { chooseOutcome, showIntelLinks } from "./incident_item.js";

const RESOLVED_KEPT = 20;

function text(parent, tag, content, cls) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  node.textContent = content;
  parent.appendChild(node);
  return node;
}

export class IncidentQueue {
  constructor({ list, resolvedList, empty, template, api, onError }) {
    this.list = list;
    this.resolvedList = resolvedList;
    this.empty = empty;
    this.template = template;
    this.api = api;
    this.onError = onError;
    this.mayAct = false;
    this.items = new Map();      // id -> {view, li}
    this.resolved = [];          // [{view, li}], newest first
    this.order = "";
    this.open = new Set();       // ids whose detail is shown
    this.refreshTimers = new Map();
    this.changed = new Set();    // ids whose view changed since the last frame
  }

  clear() {
    this.items.clear();
    this.changed.clear();
    this.resolved = [];
    this.list.replaceChildren();
    this.resolvedList.replaceChildren();
    this.order = "";
  }

  // Upsert one incident view; returns true if it is new to this page.
  upsert(view) {
    if (view.state === "resolved") {
      this.toResolved(view);
      return false;
    }
    const known = this.items.get(view.id);
    if (known) {
      known.view = view;
      this.changed.add(view.id);  // drawn at the next frame, once however many updates came
      return false;
    }
    const li = this.make(view);
    this.items.set(view.id, { view, li });
    return true;
  }

  toResolved(view) {
    const known = this.items.get(view.id);
    if (known) {
      known.li.remove();
      this.items.delete(view.id);
    }
    if (this.resolved.some((r) => r.view.id === view.id)) return;
    const li = known ? known.li : this.make(view);
    li.querySelector(".actions")?.remove();
    this.fill(li, view);
    this.resolved.unshift({ view, li });
    this.resolvedList.prepend(li);
    for (const old of this.resolved.splice(RESOLVED_KEPT)) old.li.remove();
  }

  make(view) {
    const li = this.template.content.firstElementChild.cloneNode(true);
    li.dataset.incident = view.id;
    for (const node of li.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    li.querySelector(".comment").placeholder = t("comment");
    li.querySelector(".comment").setAttribute("aria-label", t("comment"));
    li.querySelector(".outcome").setAttribute("aria-label", t("outcome"));
    li.querySelector(".disruption").setAttribute("aria-label", t("disruption"));
    li.querySelector(".outcome").addEventListener("change", () => chooseOutcome(li));
    if (!this.mayAct) li.querySelector(".actions").remove();
    li.addEventListener("click", (e) => this.click(e, li));
    this.fill(li, view);
    return li;
  }

  // Why this priority (docs/protocol.md §3 rule 4, §9): the most critical zone, +1 once
  // two kinds of sensor agree, +1 once an intelligence item is linked, at most 5.
  why(view) {
    const crit = Math.max(...view.zones.map((z) => this.criticality?.get(z) ?? 0));
    const parts = [`${t("why_criticality")} ${crit}`];
    if (view.confirmed) parts.push(`+1 ${t("why_confirmed")}`);
    if ((view.intel ?? []).length) parts.push(`+1 ${t("why_intel")}`);
    return `${t("priority")} ${view.priority} = ${parts.join(" ")}${crit + parts.length - 1 > 5 ? ` (${t("why_capped")})` : ""}`;
  }

  fill(li, view) {
    li.dataset.priority = String(view.priority);
    li.dataset.state = view.state;
    li.dataset.test = view.test ? "true" : "false";
    li.querySelector(".test-badge").hidden = !view.test;
    li.querySelector(".prio").textContent = `P${view.priority}`;
    li.querySelector(".prio").title = this.why(view);
    li.querySelector(".id").textContent = view.id;
    li.querySelector(".state").textContent = t(`incident_${view.state}`);
    li.querySelector(".zones").textContent = view.zones.join(" → ");
    li.querySelector(".mods").textContent = view.modalities.map((m) => t(`modality_${m}`)).join(" + ");
    const links = view.intel ?? [];
    showIntelLinks(li, links, links.length ? (this.intelTitles?.(links) ?? links) : []);
    const ack = li.querySelector('[data-action="ack"]');
    if (ack) ack.hidden = view.state !== "open";
    li.querySelector(".age").textContent = age(Date.now() / 1000 - view.opened_t);
  }

  // Keep the list in order, moving only the items whose place changed: re-inserting
  // 500 items with their controls costs hundreds of milliseconds of layout.
  render() {
    for (const id of this.changed) {
      const entry = this.items.get(id);
      if (entry) this.fill(entry.li, entry.view);
    }
    this.changed.clear();
    const sorted = [...this.items.values()].sort(
      (a, b) => b.view.priority - a.view.priority || a.view.opened_t - b.view.opened_t ||
        (a.view.id < b.view.id ? -1 : 1));
    let cursor = this.list.firstElementChild;
    for (const { li } of sorted) {
      if (li === cursor) { cursor = cursor.nextElementSibling; continue; }
      this.list.insertBefore(li, cursor);
    }
    while (cursor) { const next = cursor.nextElementSibling; cursor.remove(); cursor = next; }
    this.empty.hidden = sorted.length > 0;
  }

  // Once a second: the ages of the items on screen.
  tick(now = Date.now() / 1000) {
    for (const { view, li } of this.items.values()) {
      li.querySelector(".age").textContent = age(now - view.opened_t);
    }
  }

  relabel() {
    for (const { view, li } of [...this.items.values(), ...this.resolved]) {
      for (const node of li.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
      const comment = li.querySelector(".comment");
      if (comment) comment.placeholder = t("comment");
      this.fill(li, view);
      if (this.open.has(view.id)) this.showDetail(li, view.id);
    }
  }

  async click(event, li) {
    const id = li.dataset.incident;
    const button = event.target.closest("button");
    if (!button) return;
    if (button.classList.contains("more")) {
      const detail = li.querySelector(".detail");
      if (detail.hidden) { this.open.add(id); await this.showDetail(li, id); }
      else { this.open.delete(id); detail.hidden = true; button.textContent = t("details"); }
      return;
    }
    const action = button.dataset.action;
    if (!action) return;
    const comment = li.querySelector(".comment")?.value ?? "";
    const outcome = li.querySelector(".outcome")?.value ?? "";
    if (action === "resolve" && !outcome) return;
    const body = action === "ack" ? { comment } : { outcome, comment };
    if (outcome === "intrusion" && action === "resolve") {
      body.disruption = li.querySelector(".disruption").value;
    }
    button.disabled = true;
    try {
      const view = await this.api.post(`/api/incidents/${encodeURIComponent(id)}/${action}`, body);
      this.upsert(view);
      this.render();
      if (this.open.has(id)) this.showDetail(li, id);
    } catch (err) {
      this.onError(`${t("action_failed")} ${err.message}`);
    } finally {
      button.disabled = false;
      chooseOutcome(li);
    }
  }

  // New events or decisions for an incident whose detail is open: fetch it again, at
  // most every half second.
  touched(id) {
    if (!this.open.has(id) || this.refreshTimers.has(id)) return;
    this.refreshTimers.set(id, setTimeout(() => {
      this.refreshTimers.delete(id);
      const entry = this.items.get(id) ?? this.resolved.find((r) => r.view.id === id);
      if (entry) this.showDetail(entry.li, id);
    }, 500));
  }

  async showDetail(li, id) {
    const detail = li.querySelector(".detail");
    li.querySelector(".more").textContent = t("hide");
    let data;
    try { data = await this.api.get(`/api/incidents/${encodeURIComponent(id)}`); }
    catch (err) { this.onError(err.message); return; }
    detail.replaceChildren();
    text(detail, "h4", t("timeline"));
    const events = text(detail, "ol", "");
    for (const e of data.events) {
      const extra = e.data && e.data.mode ? ` (${e.data.mode})` : "";
      text(events, "li", `${clock(e.t)} ${e.sensor} ${e.event}${extra} — ${e.zone ?? ""}`);
    }
    if (data.evidence.length) {
      text(detail, "h4", t("evidence"));
      const box = text(detail, "div", "", "stills");
      for (const ev of data.evidence) {
        const img = document.createElement("img");
        img.src = `/api/evidence/${ev.seq}.jpg`;
        img.alt = `${ev.camera} ${clock(ev.t)} ${ev.zone ?? ""}`;
        img.loading = "lazy";
        box.appendChild(img);
      }
    }
    this.extraDetail?.(detail, data);  // the cameras live and the clips (cameras.js)
    if (data.commands.length) {
      text(detail, "h4", t("commands"));
      const cmds = text(detail, "ul", "");
      for (const c of data.commands) text(cmds, "li", `${clock(c.t)} ${c.floodlight}`);
    }
    text(detail, "h4", t("history"));
    const history = text(detail, "ul", "");
    for (const h of data.history) {
      const how = h.disruption ? `, ${t(`disruption_${h.disruption}`)}` : "";
      const what = h.action === "ack" ? t("incident_acknowledged")
        : `${t("incident_resolved")} (${t(`outcome_${h.outcome}`)}${how})`;
      const item = text(history, "li", `${what} ${t("by")} ${h.who} ${t("at")} ${clock(h.t)}`);
      item.dataset.who = h.who;
      if (h.comment) text(item, "q", h.comment);
    }
    detail.hidden = false;
  }
}
