// Live camera view: one camera's fragmented MP4 over a same-origin websocket, into a
// <video data-camera-live="cam-id"> through Media Source Extensions. Nothing is
// transcoded: the service sends every viewer the bytes the camera worker made once.
// The view keeps to live: more than 1 s behind the newest frame, it jumps to it.
//
// Wire (docs/video.md): binary messages are [kind u8][arrival float64 BE][...];
// kind 1 = init segment, preceded by [codec length u8][codec ascii];
// kind 2 = keyframe fragment, 3 = other fragment. Text messages are JSON states.
// Needs CSP `media-src blob:` (the <video> plays a MediaSource object URL) and
// `connect-src 'self'` (the websocket).

const MAX_BEHIND_S = 1.0; // the rule: further behind than this, jump to live
const LIVE_EDGE_S = 0.05; // where a jump lands, behind the newest buffered frame
const AHEAD_TARGET_S = 0.15; // buffered beyond the playhead that needs no catching up
const CATCH_UP_RATE = 1.25; // playback speed while catching up (the eye barely sees it)
const KEEP_BEHIND_S = 10; // buffered video kept behind the playhead (MSE quota)
const MAX_PENDING_BYTES = 8 * 1024 * 1024; // appends waiting: past this, skip to a keyframe
const STALL_MS = 4000; // no progress this long while video arrives: start the view again
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 8000;
const INIT = 1, KEY = 2;

export function liveUrl(camera) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/api/cameras/${encodeURIComponent(camera)}/live`;
}

export class LiveView {
  constructor(video, { url = liveUrl(video.dataset.cameraLive) } = {}) {
    this.video = video;
    this.url = url;
    this.jumps = 0;
    this.skips = 0;
    this.stopped = true;
    this.retryMs = RETRY_FIRST_MS;
    this.timer = null;
    video.muted = true; // autoplay is allowed for muted video only
    video.playsInline = true;
  }

  start() {
    if (!this.stopped) return this;
    this.stopped = false;
    this.open();
    this.timer = setInterval(() => this.keepLive(), 250);
    return this;
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    this.close();
    this.setState("stopped");
  }

  setState(state) {
    this.video.dataset.liveState = state;
  }

  open() {
    this.close();
    this.lastProgress = Date.now();
    this.lastTime = -1;
    this.pending = [];
    this.pendingBytes = 0;
    this.skipping = false;
    this.codec = null;
    this.sb = null;
    this.ms = new MediaSource();
    this.objectUrl = URL.createObjectURL(this.ms);
    this.video.src = this.objectUrl;
    this.setState("connecting");
    this.ms.addEventListener("sourceopen", () => this.connect(), { once: true });
  }

  close() {
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close();
      this.ws = null;
    }
    if (this.objectUrl) {
      this.video.removeAttribute("src");
      this.video.load();
      URL.revokeObjectURL(this.objectUrl);
      this.objectUrl = null;
    }
  }

  connect() {
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onopen = () => { this.retryMs = RETRY_FIRST_MS; };
    ws.onclose = (ev) => {
      if (this.stopped) return;
      this.setState(ev.code === 1013 ? "too-slow" : "reconnecting");
      // 1012: the camera's feed restarted (a new timeline): come back at once.
      const wait = ev.code === 1012 ? 100 : this.retryMs;
      setTimeout(() => { if (!this.stopped) this.open(); }, wait);
      if (ev.code !== 1012) this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    };
    this.ws = ws;
  }

  receive(data) {
    if (typeof data === "string") {
      const msg = JSON.parse(data);
      if (msg.state === "waiting") this.setState("waiting");
      return;
    }
    const bytes = new Uint8Array(data);
    const kind = bytes[0];
    // Arrival of the frame at the camera worker, and here: for diagnostics and the bench.
    this.lastArrival = new DataView(data).getFloat64(1) * 1000;
    this.lastReceived = Date.now();
    if (kind === INIT) {
      const n = bytes[9];
      const codec = new TextDecoder().decode(bytes.subarray(10, 10 + n));
      this.format(codec);
      this.queue(bytes.subarray(10 + n), true);
      return;
    }
    if (this.skipping && kind !== KEY) return;
    this.skipping = false;
    this.queue(bytes.subarray(9), false);
  }

  format(codec) {
    const mime = `video/mp4; codecs="${codec}"`;
    if (!this.sb) {
      this.sb = this.ms.addSourceBuffer(mime);
      this.sb.mode = "segments";
      this.sb.addEventListener("updateend", () => { this.keepLive(); this.pump(); });
      this.sb.addEventListener("error", () => this.fail("source buffer error"));
    } else if (codec !== this.codec && this.sb.changeType) {
      this.sb.changeType(mime);
    }
    this.codec = codec;
  }

  queue(payload, isInit) {
    if (!this.sb) return; // media before any init segment: nothing can decode it
    if (!isInit && this.pendingBytes > MAX_PENDING_BYTES) {
      // The decoder cannot keep up: drop what waits and start again at a keyframe.
      this.pending = this.pending.filter((p) => p.isInit);
      this.pendingBytes = this.pending.reduce((n, p) => n + p.payload.byteLength, 0);
      this.skipping = true;
      this.skips += 1;
      return;
    }
    this.pending.push({ payload, isInit });
    this.pendingBytes += payload.byteLength;
    this.pump();
  }

  pump() {
    const sb = this.sb;
    if (!sb || sb.updating || !this.pending.length || this.ms.readyState !== "open") return;
    const parts = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const joined = new Uint8Array(parts.reduce((n, p) => n + p.payload.byteLength, 0));
    let at = 0;
    for (const p of parts) { joined.set(p.payload, at); at += p.payload.byteLength; }
    try {
      sb.appendBuffer(joined);
    } catch (err) {
      if (err.name === "QuotaExceededError") {
        this.trim(true);
        this.skipping = true;
      } else {
        this.fail(err.message);
      }
    }
  }

  // Never drift away from live: more than MAX_BEHIND_S behind the newest frame (or stuck
  // before a hole left by a skip), jump to the newest frame.
  keepLive() {
    const sb = this.sb;
    const v = this.video;
    if (!sb || !sb.buffered.length) return;
    const end = sb.buffered.end(sb.buffered.length - 1);
    const start = sb.buffered.start(sb.buffered.length - 1);
    if (v.currentTime !== this.lastTime) {
      this.lastTime = v.currentTime;
      this.lastProgress = Date.now();
    } else if (Date.now() - this.lastProgress > STALL_MS && Date.now() - this.lastReceived < 1000) {
      // Video arrives but the player does not move (a timeline it cannot place, a
      // decoder error): open again from the next init segment and keyframe.
      this.stalls = (this.stalls || 0) + 1;
      this.open();
      return;
    }
    const behind = end - v.currentTime;
    if (behind > MAX_BEHIND_S || v.currentTime < start) {
      v.currentTime = Math.max(start, end - LIVE_EDGE_S);
      this.jumps += 1;
      v.dataset.liveJumps = String(this.jumps);
    } else {
      // Chrome builds a playout buffer after each stall: play it down slightly faster.
      const rate = behind > AHEAD_TARGET_S ? CATCH_UP_RATE : 1.0;
      if (v.playbackRate !== rate) v.playbackRate = rate;
    }
    if (v.paused) v.play().catch(() => { /* retried on the next tick */ });
    if (v.readyState >= 2) this.setState("playing");
    this.trim(false);
  }

  trim(hard) {
    const sb = this.sb;
    if (!sb || sb.updating || !sb.buffered.length) return;
    const from = sb.buffered.start(0);
    const upTo = this.video.currentTime - (hard ? 1 : KEEP_BEHIND_S);
    if (upTo - from > (hard ? 0 : 5)) sb.remove(from, upTo);
  }

  fail(reason) {
    this.setState("error");
    this.video.dataset.liveError = reason;
    if (!this.stopped) setTimeout(() => { if (!this.stopped) this.open(); }, this.retryMs);
  }
}

// A live view in `element` (a <video>, or any element, which then gets one inside it,
// carrying the same data-camera-live). Call .stop() on the result to close it.
export function openLive(element, camera = element.dataset.cameraLive, options = {}) {
  let video = element;
  if (element.tagName !== "VIDEO") {
    video = element.querySelector("video") || element.appendChild(document.createElement("video"));
  }
  video.dataset.cameraLive = camera;
  element.dataset.cameraLive = camera;
  return new LiveView(video, { url: options.urlFor?.(camera) }).start();
}

// Start a live view on every element with data-camera-live under root; returns them.
export function attachLiveViews(root = document, options = {}) {
  const found = [...root.querySelectorAll("[data-camera-live]")];
  const outer = found.filter((el) => el.tagName !== "VIDEO" || !el.parentElement?.closest("[data-camera-live]"));
  return outer.map((el) => openLive(el, el.dataset.cameraLive, options));
}
