// A page's live link to its service's /ws (the site's page and the joint centre's): a
// snapshot, then numbered updates applied in order. The page is called live only while
// the socket is open and its sequence unbroken; a missed frame asks for a new snapshot.
// A closed socket is opened again with backoff while the user is still signed in.
import { t } from "./i18n.js";

// The page's connection badge, and its picture greyed while not live.
export function showLive(live) {
  const $ = (sel) => document.querySelector(sel);
  $("#connection").dataset.connection = live ? "live" : "reconnecting";
  $("#connection-text").dataset.i18n = live ? "live" : "reconnecting";
  $("#connection-text").textContent = t(live ? "live" : "reconnecting");
  $("#app").classList.toggle("stale", !live);
}

export class LiveFeed {
  constructor({ onSnapshot, onUpdate, setLive, signedIn, checkSession }) {
    this.onSnapshot = onSnapshot;      // (picture) => void
    this.onUpdate = onUpdate;          // (frame) => void
    this.setLive = setLive;            // (boolean) => void
    this.signedIn = signedIn;          // () => boolean: the page still has a user
    this.checkSession = checkSession;  // () => Promise: rejects once signed out
    this.ws = null;
    this.seq = null;                   // last applied sequence number; null until a snapshot
    this.retry = 0;
  }

  connect() {
    if (this.ws) return;
    this.setLive(false);
    this.seq = null;
    const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
    this.ws = socket;
    socket.onmessage = (m) => this.receive(JSON.parse(m.data));
    socket.onopen = () => { this.retry = 0; };
    socket.onclose = () => {
      if (this.ws !== socket) return;
      this.ws = null;
      this.setLive(false);
      if (!this.signedIn()) return;
      const delay = Math.min(5000, 250 * 2 ** this.retry++);
      setTimeout(async () => {
        try { await this.checkSession(); } catch { if (!this.signedIn()) return; }
        if (this.signedIn()) this.connect();
      }, delay);
    };
  }

  close() {
    const socket = this.ws;
    this.ws = null;
    socket?.close();
  }

  receive(msg) {
    if (msg.type === "snapshot") {
      this.onSnapshot(msg.picture);
      this.seq = msg.seq;
      this.setLive(true);
      return;
    }
    if (msg.type !== "update" || this.seq === null) return;  // waiting for a snapshot
    if (msg.seq !== this.seq + 1) {
      // A frame was missed: this picture cannot be trusted until a new snapshot.
      this.setLive(false);
      this.askSnapshot();
      return;
    }
    this.seq = msg.seq;
    this.onUpdate(msg);
  }

  // Updates are ignored until the snapshot asked for here arrives.
  askSnapshot() {
    this.seq = null;
    this.ws?.send(JSON.stringify({ type: "snapshot" }));
  }
}
