// The joint centre's queue: the incidents of every site the desk sees, highest priority
// first, then oldest; each marked with its site, greyed while that site's link is lost.
// An action is sent to the site (202); the site's answer comes back as a reply.
import { t, age } from "./i18n.js";
import { chooseOutcome, showIntelLinks } from "./incident_item.js";

const RESOLVED_KEPT = 20;
const key = (view) => `${view.site}/${view.id}`;

export class JointQueue {
  constructor({ list, resolvedList, empty, template, api, onError }) {
    this.list = list;
    this.resolvedList = resolvedList;
    this.empty = empty;
    this.template = template;
    this.api = api;
    this.onError = onError;
    this.mayAct = false;
    this.names = new Map();      // site -> name
    this.links = new Map();      // site -> "up" | "lost"
    this.items = new Map();      // "site/id" -> {view, li}
    this.resolved = [];          // [{view, li}], newest first
    this.pending = new Map();    // request id -> li
    this.changed = new Set();
  }

  clear() {
    this.items.clear();
    this.changed.clear();
    this.resolved = [];
    this.list.replaceChildren();
    this.resolvedList.replaceChildren();
  }

  setLink(site, link) {
    this.links.set(site, link);
    for (const entry of [...this.items.values(), ...this.resolved]) {
      if (entry.view.site === site) entry.li.dataset.link = link;
    }
  }

  upsert(view) {
    if (view.state === "resolved") { this.toResolved(view); return false; }
    const known = this.items.get(key(view));
    if (known) { known.view = view; this.changed.add(key(view)); return false; }
    this.items.set(key(view), { view, li: this.make(view) });
    return true;
  }

  toResolved(view) {
    const known = this.items.get(key(view));
    if (known) { known.li.remove(); this.items.delete(key(view)); }
    if (this.resolved.some((r) => key(r.view) === key(view))) return;
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
    li.dataset.site = view.site;
    li.dataset.link = this.links.get(view.site) ?? "lost";
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

  fill(li, view) {
    li.dataset.priority = String(view.priority);
    li.dataset.state = view.state;
    li.querySelector(".prio").textContent = `P${view.priority}`;
    li.querySelector(".prio").title = t("priority");
    li.querySelector(".site-label").textContent = this.names.get(view.site) ?? view.site;
    li.querySelector(".id").textContent = view.id;
    li.querySelector(".state").textContent = t(`incident_${view.state}`);
    li.querySelector(".zones").textContent = view.zones.join(" → ");
    li.querySelector(".mods").textContent = view.modalities.map((m) => t(`modality_${m}`)).join(" + ");
    const links = view.intel ?? [];  // the site's items this desk may see
    showIntelLinks(li, links, links.length ? (this.intelTitles?.(view.site, links) ?? links) : []);
    const ack = li.querySelector('[data-action="ack"]');
    if (ack) ack.hidden = view.state !== "open";
    li.querySelector(".age").textContent = age(Date.now() / 1000 - view.opened_t);
  }

  render() {
    for (const k of this.changed) {
      const entry = this.items.get(k);
      if (entry) this.fill(entry.li, entry.view);
    }
    this.changed.clear();
    const sorted = [...this.items.values()].sort(
      (a, b) => b.view.priority - a.view.priority || a.view.opened_t - b.view.opened_t ||
        (key(a.view) < key(b.view) ? -1 : 1));
    let cursor = this.list.firstElementChild;
    for (const { li } of sorted) {
      if (li === cursor) { cursor = cursor.nextElementSibling; continue; }
      this.list.insertBefore(li, cursor);
    }
    while (cursor) { const next = cursor.nextElementSibling; cursor.remove(); cursor = next; }
    this.empty.hidden = sorted.length > 0;
  }

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
    }
  }

  // The site's answer to a request sent from this page (or from another at this desk).
  reply(change) {
    const li = this.pending.get(change.request) ??
      this.items.get(`${change.site}/${change.incident}`)?.li;
    this.pending.delete(change.request);
    if (!li) return;
    const line = li.querySelector(".reply");
    line.hidden = false;
    line.dataset.ok = String(change.ok);
    line.textContent = change.ok ? t("done_by_site") : `${t("refused_by_site")} ${change.reason}`;
  }

  async click(event, li) {
    const button = event.target.closest("button");
    const action = button?.dataset.action;
    if (!action) return;
    const comment = li.querySelector(".comment")?.value ?? "";
    const outcome = li.querySelector(".outcome")?.value ?? "";
    if (action === "resolve" && !outcome) return;
    const body = action === "ack" ? { comment } : { outcome, comment };
    if (action === "resolve" && outcome === "intrusion") {
      body.disruption = li.querySelector(".disruption").value;
    }
    const path = `/api/sites/${encodeURIComponent(li.dataset.site)}/incidents/${encodeURIComponent(li.dataset.incident)}/${action}`;
    button.disabled = true;
    try {
      const sent = await this.api.post(path, body);
      this.pending.set(sent.request, li);
      const line = li.querySelector(".reply");
      line.hidden = false;
      line.dataset.ok = "pending";
      line.textContent = t("sent_to_site");
    } catch (err) {
      this.onError(`${t("action_failed")} ${err.message}`);
    } finally {
      button.disabled = false;
      chooseOutcome(li);
    }
  }
}
