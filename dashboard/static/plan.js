// The site plan: zones drawn from the site file's polygons (metres, y up), fitted to
// the screen, each with its state as colour, pattern and word; devices on top.
import { t } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function centroid(points) {
  let x = 0, y = 0;
  for (const [px, py] of points) { x += px; y += py; }
  return [x / points.length, y / points.length];
}

export class SitePlan {
  constructor(svg) {
    this.svg = svg;
    // A page with one plan names its layers by id; the joint centre's, one plan per
    // site, by class.
    this.zoneLayer = svg.querySelector("#zones, g.zones");
    this.deviceLayer = svg.querySelector("#devices, g.devices");
    this.zones = new Map();    // id -> {g, label, word}
    this.devices = new Map();  // id -> g
    this.siteKey = null;
  }

  draw(picture) {
    const key = JSON.stringify(picture.zones.map((z) => [z.id, z.polygon]));
    if (key !== this.siteKey) this.build(picture);
    for (const z of picture.zones) {
      this.setZone(z.id, z.state, z.degraded);
      this.setWatch(z.id, z.watch);
    }
    for (const d of [...picture.sensors, ...picture.cameras]) this.setDevice(d.id, d);
  }

  build(picture) {
    this.siteKey = JSON.stringify(picture.zones.map((z) => [z.id, z.polygon]));
    this.zoneLayer.replaceChildren();
    this.deviceLayer.replaceChildren();
    this.zones.clear();
    this.devices.clear();
    const all = picture.zones.flatMap((z) => z.polygon);
    const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
    const minX = Math.min(...xs), maxX = Math.max(...xs), minY = Math.min(...ys), maxY = Math.max(...ys);
    const w = Math.max(maxX - minX, 1), h = Math.max(maxY - minY, 1);
    const pad = 0.06 * Math.max(w, h);
    this.unit = Math.max(w, h) / 60;
    // Text must fit the thinnest zone: a fence line is long and narrow.
    const thinnest = Math.min(...picture.zones.map((z) => {
      const zy = z.polygon.map((p) => p[1]);
      return Math.max(...zy) - Math.min(...zy);
    }));
    this.svg.setAttribute("viewBox", `${minX - pad} ${-maxY - pad} ${w + 2 * pad} ${h + 2 * pad}`);
    const font = Math.max(Math.min(this.unit * 1.1, thinnest * 0.45), this.unit * 0.5);
    const boxes = new Map();  // zone id -> [min x, max x, min y]
    for (const z of picture.zones) {
      const g = el("g", { class: "zone", "data-zone": z.id, "data-state": z.state, tabindex: "0",
                          role: "group" }, this.zoneLayer);
      el("title", {}, g).textContent = z.name ? `${z.id} — ${z.name}` : z.id;
      el("polygon", { points: z.polygon.map(([x, y]) => `${x},${-y}`).join(" ") }, g);
      const [cx, cy] = centroid(z.polygon);
      boxes.set(z.id, [Math.min(...z.polygon.map((p) => p[0])),
                       Math.max(...z.polygon.map((p) => p[0])),
                       Math.min(...z.polygon.map((p) => p[1]))]);
      // Fit the label to its zone: "Z01 CONFIRMED" where it fits, the id alone in a small
      // zone (whose state still shows as its pattern and in its accessible name).
      const zx = z.polygon.map((p) => p[0]), zy = z.polygon.map((p) => p[1]);
      const zw = Math.max(...zx) - Math.min(...zx), zh = Math.max(...zy) - Math.min(...zy);
      const full = Math.min(font, zh * 0.6, zw / ((z.id.length + 11) * 0.62));
      const withWord = full >= this.unit * 0.6;
      const size = withWord ? full : Math.min(font, zh * 0.6, zw / (z.id.length * 0.7));
      const label = el("text", { x: cx, y: -cy, "text-anchor": "middle",
                                 "dominant-baseline": "central", "font-size": size,
                                 "stroke-width": size * 0.18 }, g);
      el("tspan", {}, label).textContent = withWord ? `${z.id} ` : z.id;
      const word = el("tspan", { class: "zstate", "font-size": size * 0.8 }, label);
      if (!withWord) word.style.display = "none";
      this.zones.set(z.id, { g, word, name: z.name });
    }
    // Devices without a position stand evenly along their zone, just below it.
    const devices = [...picture.sensors.map((s) => ({ ...s, zoneList: s.zone ? [s.zone] : [] })),
                     ...picture.cameras.map((c) => ({ ...c, kind: "camera", zoneList: c.zones }))];
    const byZone = new Map();
    for (const d of devices) {
      if (d.position || !d.zoneList.length || !boxes.has(d.zoneList[0])) continue;
      if (!byZone.has(d.zoneList[0])) byZone.set(d.zoneList[0], []);
      byZone.get(d.zoneList[0]).push(d.id);
    }
    for (const d of devices) {
      let pos = d.position;
      if (!pos && byZone.has(d.zoneList[0])) {
        const ids = byZone.get(d.zoneList[0]);
        const [x0, x1, y0] = boxes.get(d.zoneList[0]);
        pos = [x0 + (x1 - x0) * (ids.indexOf(d.id) + 1) / (ids.length + 1), y0 - this.unit * 1.6];
      }
      if (pos) this.devices.set(d.id, this.device(d, pos));
    }
  }

  device(d, [x, y]) {
    const r = this.unit * 0.8;
    const g = el("g", { class: "device", "data-device": d.id, "data-kind": d.kind }, this.deviceLayer);
    el("title", {}, g).textContent = `${d.id} (${t(`kind_${d.kind}`)})`;
    if (d.kind === "fence") el("rect", { class: "shape", x: x - r, y: -y - r, width: 2 * r, height: 2 * r }, g);
    else if (d.kind === "camera") el("path", { class: "shape", d: `M${x - r},${-y - r}L${x + r},${-y}L${x - r},${-y + r}Z` }, g);
    else if (d.kind === "floodlight") el("path", { class: "shape",
      d: `M${x},${-y - r * 1.3}L${x + r * 0.4},${-y - r * 0.4}L${x + r * 1.3},${-y}L${x + r * 0.4},${-y + r * 0.4}L${x},${-y + r * 1.3}L${x - r * 0.4},${-y + r * 0.4}L${x - r * 1.3},${-y}L${x - r * 0.4},${-y - r * 0.4}Z` }, g);
    else el("circle", { class: "shape", cx: x, cy: -y, r }, g);
    return g;
  }

  setZone(id, state, degraded) {
    const z = this.zones.get(id);
    if (!z) return;
    z.g.dataset.state = state;
    z.g.dataset.degraded = degraded ? "true" : "false";
    z.word.textContent = t(`state_${state}`) + (degraded && state !== "degraded" ? " ⚠" : "");
    z.g.setAttribute("aria-label", `${id}${z.name ? " " + z.name : ""}: ${t(`state_${state}`)}`);
  }

  setDevice(id, d) {
    const g = this.devices.get(id);
    if (!g) return;
    if (d.health !== undefined) g.dataset.health = d.health;
    if (d.on !== undefined && d.on !== null) g.dataset.on = String(d.on);
    if (d.in_alarm !== undefined) g.dataset.alarm = String(d.in_alarm);
  }

  // A zone on watch (an active, credible intelligence item names it): marked by a ◉ (in
  // every font, where an eye emoji needs one that headless Chromium here lacks)
  // and a dashed outline, so that it reads without colour.
  setWatch(id, watch) {
    const z = this.zones.get(id);
    if (!z) return;
    z.g.dataset.watch = watch ? "true" : "false";
    z.watchWord ??= (() => {
      const label = z.g.querySelector("text");
      const word = el("tspan", { class: "zwatch" }, label);
      return word;
    })();
    z.watchWord.textContent = watch ? ` ◉ ${t("watch")}` : "";
  }

  relabel() {
    for (const [id, z] of this.zones) this.setWatch(id, z.g.dataset.watch === "true");
    for (const [id, z] of this.zones) this.setZone(id, z.g.dataset.state, z.g.dataset.degraded === "true");
  }
}
