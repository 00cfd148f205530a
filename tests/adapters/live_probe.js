// Test and bench page script: starts the live view of every <video data-camera-live>,
// and reads the clock the camera simulator draws into each frame (simulators/overlay.py)
// as the browser presents it, to measure glass-to-glass latency.
import { attachLiveViews } from "/static/live.js";

const BLOCK = 8, BITS = 2 + 44 + 4, X0 = 4, Y0 = 4;
const probe = { frames: 0, stamped: 0, latencies: [], lastStamp: 0, sizes: [] };
window.__probe = probe;
const views = attachLiveViews(document);
window.__views = views;

function readStamp(ctx) {
  const img = ctx.getImageData(0, 0, X0 + BITS * BLOCK, Y0 + BLOCK).data;
  const width = X0 + BITS * BLOCK;
  const bits = [];
  for (let i = 0; i < BITS; i++) {
    let sum = 0, n = 0;
    for (let y = Y0 + 2; y < Y0 + BLOCK - 2; y++) {
      for (let x = X0 + i * BLOCK + 2; x < X0 + (i + 1) * BLOCK - 2; x++) {
        const p = (y * width + x) * 4;
        sum += 0.299 * img[p] + 0.587 * img[p + 1] + 0.114 * img[p + 2];
        n++;
      }
    }
    bits.push(sum / n > 128 ? 1 : 0);
  }
  if (bits[0] !== 1 || bits[1] !== 0) return null;
  let value = 0, ones = 0;
  for (let i = 2; i < 46; i++) { value = value * 2 + bits[i]; ones += bits[i]; }
  let check = 0;
  for (let i = 46; i < 50; i++) check = check * 2 + bits[i];
  return ones % 16 === check ? value : null;
}

for (const video of document.querySelectorAll("video[data-camera-live]")) {
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const onFrame = () => {
    const shownAt = Date.now();
    probe.frames++;
    if (video.videoWidth) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      const size = `${video.videoWidth}x${video.videoHeight}`;
      if (probe.sizes[probe.sizes.length - 1] !== size) probe.sizes.push(size);
      ctx.drawImage(video, 0, 0);
      const stamp = readStamp(ctx);
      if (stamp !== null) {
        probe.stamped++;
        probe.lastStamp = stamp;
        probe.latencies.push(shownAt - stamp);
      }
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}
