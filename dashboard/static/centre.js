// The joint centre's page: sign in, then every site the desk sees over /ws, one plan per
// site side by side, each with the intelligence items the desk may see (read-only: items
// are issued at the sites), and one joint queue. A site whose link is lost is greyed and
// says as of when; the page is called live only while the websocket is open and unbroken.
import "./centre_i18n.js";
import { t, setLanguage, initialLanguage, clock } from "./i18n.js";
import { SitePlan } from "./plan.js";
import { JointQueue } from "./joint_queue.js";
import { IntelPanel } from "./intel.js";
import { serviceApi } from "./api.js";
import { LiveFeed, showLive } from "./live_feed.js";

const $ = (sel) => document.querySelector(sel);

const api = serviceApi(() => showLogin());

const queue = new JointQueue({
  list: $("#incidents"), resolvedList: $("#resolved"), empty: $("#no-incidents"),
  template: $("#incident-template"), api, onError: (msg) => alert(msg),
});
const sites = new Map();    // site -> {card, plan, view, intel}
queue.intelTitles = (site, ids) => sites.get(site)?.intel.linked(ids) ?? ids;
let me = null;
let desk = null;
let dirty = false;

// -- connection ------------------------------------------------------------------

const feed = new LiveFeed({
  onSnapshot: (picture) => applySnapshot(picture),
  onUpdate: (frame) => applyUpdate(frame),
  setLive: showLive,
  signedIn: () => me !== null,
  checkSession: () => api.get("/api/me"),
});
const receive = (msg) => feed.receive(msg);

// -- the sites ---------------------------------------------------------------------

function siteCard(view) {
  let entry = sites.get(view.site);
  if (!entry) {
    const card = $("#site-template").content.firstElementChild.cloneNode(true);
    card.dataset.site = view.site;
    const svg = card.querySelector("svg");
    svg.dataset.site = view.site;
    svg.setAttribute("aria-label", view.name);
    $("#sites").appendChild(card);
    const intel = new IntelPanel({
      list: card.querySelector(".intel-list"), empty: card.querySelector(".no-intel"),
      form: document.createElement("form"), api, onError: (msg) => alert(msg),
    });
    intel.setUser({ may_issue_intel: false });  // a centre shows the sites' items
    entry = { card, plan: new SitePlan(svg), view, intel };
    labelIntel(entry);
    sites.set(view.site, entry);
  }
  return entry;
}

function drawSite(view) {
  const entry = siteCard(view);
  entry.view = view;
  entry.card.querySelector(".site-name").textContent = view.name;
  queue.names.set(view.site, view.name);
  entry.plan.draw(view);
  entry.intel.draw(view.intel ?? []);
  entry.faults = new Map(view.faults.map((f) => [f.number, f]));
  showLink(view);
  showFaults(entry);
}

function showLink(state) {
  const entry = sites.get(state.site);
  if (!entry) return;
  Object.assign(entry.view, state);
  entry.card.dataset.link = state.link;
  entry.card.querySelector("svg").dataset.link = state.link;
  const label = entry.card.querySelector(".link");
  label.dataset.link = state.link;
  if (state.link === "up") label.textContent = t("link_up");
  else if (state.as_of) label.textContent = `${t("link_lost")} — ${t("as_of")} ${clock(state.as_of)}`;
  else label.textContent = `${t("link_lost")} — ${t("never_heard")}`;
  queue.setLink(state.site, state.link);
}

function labelIntel(entry) {
  entry.card.querySelector(".intel-heading").textContent = t("intel");
  entry.card.querySelector(".no-intel").textContent = t("no_intel");
  entry.intel.relabel();
}

function showFaults(entry) {
  const n = entry.faults.size;
  const line = entry.card.querySelector(".site-faults");
  line.hidden = n === 0;
  line.textContent = `${t("faults_count")} ${[...entry.faults.values()].map((f) => f.sensor).join(", ")}`;
}

function applySnapshot(picture) {
  $("#centre-name").textContent = picture.name;
  const seen = new Set(picture.sites.map((s) => s.site));
  for (const [site, entry] of sites) if (!seen.has(site)) { entry.card.remove(); sites.delete(site); }
  queue.clear();
  for (const view of picture.sites) {
    drawSite(view);
    for (const inc of view.incidents) queue.upsert(inc);
  }
  $("#sites").dataset.count = String(picture.sites.length);
  schedule();
}

function applyUpdate(frame) {
  if (frame.changes.some((c) => c.type === "site")) {
    // A site's copy was replaced whole (it caught up by a snapshot): this frame mixes
    // changes from before and after, so take the whole picture again.
    feed.askSnapshot();
    return;
  }
  for (const view of frame.incidents) queue.upsert(view);
  for (const c of frame.changes) {
    const entry = sites.get(c.site);
    if (c.type === "link") showLink(c);
    else if (c.type === "reply") queue.reply(c);
    else if (!entry) continue;
    else if (c.type === "zone") entry.plan.setZone(c.id, c.state, c.degraded);
    else if (c.type === "watch") entry.plan.setWatch(c.id, c.watch);
    else if (c.type === "intel") entry.intel.upsert(c.item);
    else if (c.type === "device") entry.plan.setDevice(c.id, c);
    else if (c.type === "fault") {
      if (c.change === "raised") entry.faults.set(c.fault.number, c.fault);
      else entry.faults.delete(c.fault.number);
      const faulty = [...entry.faults.values()].some((f) => f.sensor === c.fault.sensor);
      entry.plan.setDevice(c.fault.sensor, { health: faulty ? "faulty" : "ok" });
      showFaults(entry);
    }
  }
  schedule();
}

function schedule() {
  if (dirty) return;
  dirty = true;
  requestAnimationFrame(() => { dirty = false; queue.render(); });
}

// -- session -----------------------------------------------------------------------

function showLogin() {
  me = null;
  feed.close();
  $("#app").hidden = true;
  $("#login").hidden = false;
  $("#logout").hidden = true;
  $("#whoami").textContent = "";
  showLive(false);
}

function whoami() {
  if (!me || !desk) return "";
  const acts = desk.acts && me.may_act ? "" : ` (${t("watch_only")})`;
  return `${me.name} · ${t(`role_${me.role}`)} · ${t("desk")} ${desk.name}${acts}`;
}

async function showApp(user) {
  me = user;
  desk = await api.get("/api/desk");
  queue.mayAct = user.may_act && desk.acts;
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#logout").hidden = false;
  $("#whoami").textContent = whoami();
  document.body.dataset.role = user.role;
  document.body.dataset.desk = desk.id;
  feed.connect();
}

function markLanguage() {
  for (const b of document.querySelectorAll("[data-lang]")) {
    b.classList.toggle("current", b.dataset.lang === document.documentElement.lang);
    b.setAttribute("aria-pressed", String(b.dataset.lang === document.documentElement.lang));
  }
}

async function start() {
  setLanguage(initialLanguage());
  document.title = t("centre_title");
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => {
      setLanguage(button.dataset.lang);
      document.title = t("centre_title");
      markLanguage();
      for (const entry of sites.values()) {
        entry.plan.relabel(); showLink(entry.view); showFaults(entry); labelIntel(entry);
      }
      queue.relabel();
      $("#whoami").textContent = whoami();
      schedule();
    });
  }
  markLanguage();
  $("#login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    const res = await fetch("/api/login", {
      method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: form.get("username"), token: form.get("token") }),
    });
    $("#login-error").hidden = res.ok;
    if (res.ok) {
      e.target.reset();
      await showApp(await api.get("/api/me"));
    }
  });
  $("#logout").addEventListener("click", async () => {
    await fetch("/api/logout", { method: "POST", credentials: "same-origin" });
    showLogin();
  });
  setInterval(() => {
    if (!me) return;
    queue.tick();
    for (const entry of sites.values()) entry.intel.tick();
  }, 1000);
  try { await showApp(await api.get("/api/me")); } catch { showLogin(); }
}

window.vigie = { receive, queue, sites };

start();
