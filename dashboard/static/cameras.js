// Cameras in the page (docs/video.md): any camera live (<video data-camera-live="id">),
// opened from the cameras panel or from the camera's symbol on the plan; an incident's
// cameras live in one click from its detail, and its evidence clips played there.
// Cameras whose clips are stopped (a full disk) are listed with the faults.
import { t, clock } from "./i18n.js";
import { openLive } from "./live.js";

function node(tag, attrs = {}, text = "") {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text) el.textContent = text;
  return el;
}

export class CameraPanel {
  constructor({ list, views, empty, faults }) {
    this.list = list;          // <ul>: one entry per camera, with its live button
    this.views = views;        // where live views open
    this.empty = empty;
    this.faultList = faults;   // <ul>: cameras whose clips are stopped
    this.cameras = new Map();  // id -> the camera as the picture shows it
    this.open = new Map();     // id -> {figure, view, observer}
    this.faults = new Map();   // id -> why its clips are stopped
    this.clipFigures = new Map();  // clip id -> <figure>, kept across detail refreshes
    list.addEventListener("click", (e) => {
      const button = e.target.closest("button[data-camera]");
      if (button) this.toggle(button.dataset.camera);
    });
    views.addEventListener("click", (e) => {
      const button = e.target.closest("button[data-close]");
      if (button) this.close(button.dataset.close);
    });
  }

  get faulty() { return this.faults.size > 0; }

  draw(picture) {
    this.cameras = new Map(picture.cameras.map((c) => [c.id, c]));
    this.faults.clear();
    for (const c of picture.cameras) {
      if (c.recording && !c.recording.ok) this.faults.set(c.id, c.recording.fault);
    }
    for (const id of [...this.open.keys()]) if (!this.cameras.has(id)) this.close(id);
    this.render();
  }

  // The plan's camera symbols open their camera live (click, or Enter on the keyboard).
  bindPlan(svg) {
    for (const g of svg.querySelectorAll('[data-kind="camera"][data-device]')) {
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
      g.setAttribute("aria-label", `${t("watch_live")} ${g.dataset.device}`);
    }
    if (svg.dataset.camerasBound) return;
    svg.dataset.camerasBound = "1";
    const open = (e) => {
      const g = e.target.closest?.('[data-kind="camera"][data-device]');
      if (g && this.cameras.has(g.dataset.device)) this.show(g.dataset.device);
    };
    svg.addEventListener("click", open);
    svg.addEventListener("keydown", (e) => { if (e.key === "Enter") open(e); });
  }

  render() {
    const items = [...this.cameras.values()].map((c) => {
      const li = node("li", { "data-camera": c.id });
      li.appendChild(node("span", { class: "name" }, c.name ? `${c.id} — ${c.name}` : c.id));
      const live = this.open.has(c.id);
      const button = node("button", { type: "button", "data-camera": c.id,
                                      "aria-pressed": String(live) },
                          t(live ? "stop_live" : "watch_live"));
      li.appendChild(button);
      return li;
    });
    this.list.replaceChildren(...items);
    this.empty.hidden = items.length > 0;
    this.renderFaults();
  }

  renderFaults() {
    const items = [...this.faults].map(([id, why]) => {
      const li = node("li", { "data-fault": "recording", "data-sensor": id },
                      `${id}: ${t("clips_stopped")} (${why})`);
      return li;
    });
    this.faultList.replaceChildren(...items);
  }

  // A websocket change: a camera's recording stopped, or works again.
  recording(change) {
    if (change.ok) this.faults.delete(change.camera);
    else this.faults.set(change.camera, change.fault);
    this.renderFaults();
  }

  toggle(id) {
    if (this.open.has(id)) this.close(id);
    else this.show(id);
  }

  show(id) {
    let entry = this.open.get(id);
    if (!entry) {
      const figure = node("figure", { class: "live", "data-camera": id });
      const caption = node("figcaption");
      caption.appendChild(node("span", { class: "name" }, id));
      const state = caption.appendChild(node("span", { class: "live-state" }));
      caption.appendChild(node("button", { type: "button", "data-close": id }, t("close")));
      const video = node("video", { "data-camera-live": id, "aria-label": `${t("live_of")} ${id}` });
      figure.append(caption, video);
      this.views.appendChild(figure);
      const view = openLive(video, id);
      const observer = new MutationObserver(() => {
        state.textContent = t(`live_${video.dataset.liveState}`);
        figure.dataset.state = video.dataset.liveState;
      });
      observer.observe(video, { attributes: true, attributeFilter: ["data-live-state"] });
      entry = { figure, view, observer };
      this.open.set(id, entry);
      this.render();
    }
    entry.figure.scrollIntoView?.({ block: "nearest" });
  }

  close(id) {
    const entry = this.open.get(id);
    if (!entry) return;
    entry.view.stop();
    entry.observer.disconnect();
    entry.figure.remove();
    this.open.delete(id);
    this.render();
  }

  stopAll() {
    for (const id of [...this.open.keys()]) this.close(id);
  }

  relabel() {
    this.render();
    for (const [id, { figure }] of this.open) {
      figure.querySelector("button[data-close]").textContent = t("close");
      figure.querySelector(".live-state").textContent = t(`live_${figure.dataset.state}`);
      figure.querySelector("video").setAttribute("aria-label", `${t("live_of")} ${id}`);
    }
  }

  // An incident's detail: a button that opens its cameras live, and its clips.
  detail(box, data) {
    const cameras = data.sensors.filter((id) => this.cameras.has(id));
    if (cameras.length) {
      const button = node("button", { type: "button", "data-action": "watch-cameras",
                                      "data-cameras": cameras.join(" ") },
                          `${t("watch_cameras")} (${cameras.join(", ")})`);
      button.addEventListener("click", () => { for (const id of cameras) this.show(id); });
      box.appendChild(button);
    }
    const clips = data.clips ?? [];
    if (!clips.length && !data.clips_removed) return;
    box.appendChild(node("h4", {}, t("clips")));
    const list = box.appendChild(node("div", { class: "clips" }));
    for (const clip of clips) {
      let figure = this.clipFigures.get(clip.id);
      if (!figure) {  // made once: a detail refreshed while a clip plays does not stop it
        figure = node("figure", { class: "clip", "data-clip": String(clip.id) });
        figure.appendChild(node("video", { controls: "", preload: "metadata", src: clip.url,
                                           "data-clip": String(clip.id) }));
        figure.appendChild(node("figcaption", {}, ""));
        this.clipFigures.set(clip.id, figure);
      }
      figure.querySelector("figcaption").textContent =
        `${clip.camera} ${clock(clip.start)} – ${clock(clip.end)}`;
      list.appendChild(figure);
    }
    if (data.clips_removed) {
      box.appendChild(node("p", { class: "quiet" }, `${t("clips_removed")}: ${data.clips_removed}`));
    }
  }
}
