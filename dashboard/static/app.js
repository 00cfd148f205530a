// Vigie's control-room page: login, then the live picture over /ws. The picture is
// only ever called live while the websocket is open and its sequence is unbroken.
import { t, setLanguage, initialLanguage, clock, language } from "./i18n.js";
import { SitePlan } from "./plan.js";
import { IncidentQueue } from "./queue.js";
import { IntelPanel } from "./intel.js";
import { ReportLinks, WalkTestPanel } from "./walk.js";
import { CameraPanel } from "./cameras.js";
import { serviceApi } from "./api.js";
import { LiveFeed, showLive } from "./live_feed.js";

const $ = (sel) => document.querySelector(sel);

const api = serviceApi(() => showLogin());

const plan = new SitePlan($("#plan"));
const queue = new IncidentQueue({
  list: $("#incidents"), resolvedList: $("#resolved"), empty: $("#no-incidents"),
  template: $("#incident-template"), api, onError: (msg) => alert(msg),
});
const intel = new IntelPanel({
  list: $("#intel"), empty: $("#no-intel"), form: $("#intel-form"), api,
  onError: (msg) => alert(msg),
});
queue.intelTitles = (ids) => intel.linked(ids);
const walk = new WalkTestPanel({
  root: $("#walk-panel"), template: $("#walk-test-template"), api, onError: (msg) => alert(msg),
});
const reportLinks = new ReportLinks($("#reports-panel"), language);
const cameras = new CameraPanel({
  list: $("#cameras"), views: $("#live-views"), empty: $("#no-cameras"),
  faults: $("#recording-faults"),
});
queue.extraDetail = (box, data) => cameras.detail(box, data);
const faults = new Map();   // number -> fault
let me = null;
let dirty = false;
let faultsDirty = true;
let muted = false;
let audio = null;

// -- connection ------------------------------------------------------------------

const feed = new LiveFeed({
  onSnapshot: (picture) => applySnapshot(picture),
  onUpdate: (frame) => applyUpdate(frame),
  setLive: showLive,
  signedIn: () => me !== null,
  checkSession: () => api.get("/api/me"),
});
const receive = (msg) => feed.receive(msg);

// -- applying ----------------------------------------------------------------------

function applySnapshot(picture) {
  queue.criticality = new Map(picture.zones.map((z) => [z.id, z.criticality]));
  intel.setZones(picture.zones);
  intel.draw(picture.intel ?? []);
  plan.draw(picture);
  cameras.draw(picture);
  cameras.bindPlan($("#plan"));
  queue.clear();
  for (const view of picture.incidents) queue.upsert(view);
  faults.clear();
  for (const f of picture.faults) faults.set(f.number, f);
  faultsDirty = true;
  walk.snapshot(picture);
  schedule();
}

function applyUpdate(frame) {
  let alarmNew = false;
  walk.sync(frame.t);
  for (const view of frame.incidents) {
    const isNew = queue.upsert(view);
    if (isNew && view.priority >= 4) { alarmNew = true; flag(view.id); }
    queue.touched(view.id);
  }
  for (const c of frame.changes) {
    if (c.type === "zone") plan.setZone(c.id, c.state, c.degraded);
    else if (c.type === "fault") {
      if (c.change === "raised") faults.set(c.fault.number, c.fault);
      else faults.delete(c.fault.number);
      faultsDirty = true;
      plan.setDevice(c.fault.sensor, { health: deviceHealth(c.fault.sensor) });
    } else if (c.type === "device") plan.setDevice(c.id, c);
    else if (c.type === "intel") intel.upsert(c.item);
    else if (c.type === "watch") plan.setWatch(c.id, c.watch);
    else if (c.type === "command") plan.setDevice(c.floodlight, {});
    else if (c.type === "walk_test") walk.apply(c);
    else if (c.type === "recording") { cameras.recording(c); faultsDirty = true; }
    else if (c.type === "clip") queue.touched(c.incident);
    else if (c.type === "incident" && c.change === "confirmed") {
      const entry = queue.items.get(c.id);
      if (entry && entry.view.priority >= 4) { alarmNew = true; flag(c.id); }
    }
  }
  if (alarmNew) beep();
  schedule();
}

function deviceHealth(id) {
  for (const f of faults.values()) if (f.sensor === id) return "faulty";
  return "ok";
}

function flag(id) {
  const li = queue.items.get(id)?.li;
  if (!li) return;
  li.classList.remove("fresh");
  void li.offsetWidth;
  li.classList.add("fresh");
}

function schedule() {
  if (dirty) return;
  dirty = true;
  requestAnimationFrame(() => { dirty = false; render(); });
}

function render() {
  queue.render();
  if (faultsDirty) renderFaults();
}

function renderFaults() {
  faultsDirty = false;
  const list = $("#faults");
  const items = [...faults.values()].sort((a, b) => a.t - b.t).map((f) => {
    const li = document.createElement("li");
    li.dataset.fault = f.fault;
    li.dataset.sensor = f.sensor;
    li.textContent = `${f.sensor}: ${t(`fault_${f.fault}`)} ${t("since")} ${clock(f.t)}`;
    return li;
  });
  list.replaceChildren(...items);
  $("#no-faults").hidden = items.length > 0 || cameras.faulty;
}

// -- alerts ------------------------------------------------------------------------

function beep() {
  if (muted) return;
  try {
    audio ??= new AudioContext();
    for (let i = 0; i < 3; i++) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.15;
      osc.connect(gain).connect(audio.destination);
      const start = audio.currentTime + i * 0.3;
      osc.start(start);
      osc.stop(start + 0.18);
    }
  } catch { /* no audio device: the visual cue remains */ }
}

function setMuted(value) {
  muted = value;
  try { localStorage.setItem("vigie.muted", value ? "1" : "0"); } catch { /* private mode */ }
  const button = $("#mute");
  button.setAttribute("aria-pressed", String(value));
  button.dataset.i18n = value ? "unmute" : "mute";
  button.textContent = t(button.dataset.i18n);
}

// -- session -----------------------------------------------------------------------

function showLogin() {
  me = null;
  cameras.stopAll();
  feed.close();
  $("#app").hidden = true;
  $("#login").hidden = false;
  $("#logout").hidden = true;
  $("#whoami").textContent = "";
  walk.show(false);
  showLive(false);
}

function showApp(user) {
  me = user;
  queue.mayAct = user.may_act;
  intel.setUser(user);
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#logout").hidden = false;
  $("#whoami").textContent = `${user.name} · ${t(`role_${user.role}`)}`;
  document.body.dataset.role = user.role;
  walk.show(user.role === "inspector" || user.role === "admin");
  reportLinks.show(user.role);
  feed.connect();
}

async function start() {
  setLanguage(initialLanguage());
  try { setMuted(localStorage.getItem("vigie.muted") === "1"); } catch { setMuted(false); }
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => {
      setLanguage(button.dataset.lang);
      markLanguage();
      plan.relabel();
      queue.relabel();
      intel.relabel();
      walk.relabel();
      reportLinks.relabel();
      cameras.relabel();
      if (me) $("#whoami").textContent = `${me.name} · ${t(`role_${me.role}`)}`;
      faultsDirty = true;
      render();
    });
  }
  markLanguage();
  $("#mute").addEventListener("click", () => setMuted(!muted));
  $("#login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    audio ??= new AudioContext();  // created on a user gesture, so alerts may sound later
    const form = new FormData(e.target);
    const res = await fetch("/api/login", {
      method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: form.get("username"), token: form.get("token") }),
    });
    $("#login-error").hidden = res.ok;
    if (res.ok) {
      e.target.reset();
      showApp(await api.get("/api/me"));
    }
  });
  $("#logout").addEventListener("click", async () => {
    await fetch("/api/logout", { method: "POST", credentials: "same-origin" });
    showLogin();
  });
  setInterval(() => { if (me) { queue.tick(); intel.tick(); } }, 1000);
  try { showApp(await api.get("/api/me")); } catch { showLogin(); }
}

function markLanguage() {
  for (const b of document.querySelectorAll("[data-lang]")) {
    b.classList.toggle("current", b.dataset.lang === document.documentElement.lang);
    b.setAttribute("aria-pressed", String(b.dataset.lang === document.documentElement.lang));
  }
}

// For the in-browser benchmark (bench/dashboard_burst.py): apply frames directly.
window.vigie = { receive, applySnapshot, applyUpdate, queue };

start();
