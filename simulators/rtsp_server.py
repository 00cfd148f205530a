"""A real RTSP server for simulated cameras: GStreamer's, from Debian's packages.

Runs under Debian's ``/usr/bin/python3`` (the only interpreter with the ``gi``
bindings here), so it imports nothing but the standard library and ``gi``.

    /usr/bin/python3 rtsp_server.py --port 8554 --size 640x360 --fps 10 \\
        --mount cam-01 --mount cam-02 [--clip cam-03=/path/clip.mp4]

Frames for ``--mount`` cameras come on standard input, one record each: one byte
(the mount's index) then width*height*3 bytes of BGR. A ``--clip`` mount plays a
file once, from its start for the first viewer, then ends the stream: an H.264 MP4 or
Matroska file as it is (no decoding), any other (an MPEG-4 AVI) decoded and encoded
to H.264 (needs gstreamer1.0-libav for the decoders).

    /usr/bin/python3 rtsp_server.py --write-clip out.mp4 --size 640x360 --fps 10

writes frames from standard input (BGR, no index byte) to an H.264 MP4 file instead.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

ENCODE = (
    "videoconvert ! video/x-raw,format=I420 ! x264enc tune=zerolatency speed-preset=ultrafast "
    "key-int-max={gop} bitrate=1500 ! rtph264pay name=pay0 pt=96 config-interval=1"
)


class FedMount:
    """A mount whose frames arrive from standard input, pushed into an appsrc."""

    def __init__(self, width: int, height: int, fps: int) -> None:
        self.src: Gst.Element | None = None
        self.lock = threading.Lock()
        self.caps = f"video/x-raw,format=BGR,width={width},height={height},framerate={fps}/1"
        self.launch = (
            f"( appsrc name=src is-live=true do-timestamp=true format=time caps={self.caps} "
            f"! {ENCODE.format(gop=fps)} )"
        )

    def configured(
        self, factory: GstRtspServer.RTSPMediaFactory, media: GstRtspServer.RTSPMedia
    ) -> None:
        src = media.get_element().get_child_by_name("src")
        with self.lock:
            self.src = src
        media.connect("unprepared", self.unprepared)

    def unprepared(self, media: GstRtspServer.RTSPMedia) -> None:
        with self.lock:
            self.src = None

    def push(self, data: bytes) -> None:
        with self.lock:
            src = self.src
        if src is not None:
            src.emit("push-buffer", Gst.Buffer.new_wrapped(data))


def feed(mounts: list[FedMount], frame_bytes: int, loop: GLib.MainLoop) -> None:
    stream = sys.stdin.buffer
    while True:
        head = stream.read(1)
        if not head:
            break
        data = stream.read(frame_bytes)
        if len(data) < frame_bytes:
            break
        index = head[0]
        if index < len(mounts):
            mounts[index].push(data)
    loop.quit()  # the feeder went away: so does the camera


def clip_launch(path: str, gop: int) -> str:
    """An H.264 MP4 or Matroska file is served as it is; anything else (the MPEG-4 part 2
    AVI of real CCTV samples) is decoded (gstreamer1.0-libav) and encoded to H.264."""
    source = f'filesrc location="{path}"'
    if path.endswith((".mp4", ".mkv")):
        demux = "matroskademux" if path.endswith(".mkv") else "qtdemux"
        return f"( {source} ! {demux} ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )"
    return f"( {source} ! decodebin ! {ENCODE.format(gop=gop)} )"


def write_clip(path: str, width: int, height: int, fps: int) -> None:
    encode = ENCODE.format(gop=fps).split(" ! rtph264pay", maxsplit=1)[0]
    pipeline = Gst.parse_launch(
        f"fdsrc fd=0 ! rawvideoparse width={width} height={height} format=bgr "
        f'framerate={fps}/1 ! {encode} ! h264parse ! mp4mux ! filesink location="{path}"'
    )
    pipeline.set_state(Gst.State.PLAYING)
    bus = pipeline.get_bus()
    msg = bus.timed_pop_filtered(Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if msg.type == Gst.MessageType.ERROR:
        print(
            f"rtsp_server: writing {path} failed: {msg.parse_error()[0].message}", file=sys.stderr
        )
        sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--mount", action="append", default=[])
    parser.add_argument("--clip", action="append", default=[], help="name=/path/to/file")
    parser.add_argument("--write-clip", help="write stdin frames to this MP4 and exit")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    Gst.init(None)
    if args.write_clip:
        write_clip(args.write_clip, width, height, args.fps)
        return
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    points = server.get_mount_points()
    mounts = []
    for name in args.mount:
        mount = FedMount(width, height, args.fps)
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(mount.launch)
        factory.set_shared(True)
        factory.connect("media-configure", mount.configured)
        points.add_factory(f"/{name}", factory)
        mounts.append(mount)
    for spec in args.clip:
        name, path = spec.split("=", 1)
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(clip_launch(path, args.fps))
        factory.set_shared(True)
        points.add_factory(f"/{name}", factory)
    if server.attach(None) == 0:
        print(f"rtsp_server: cannot listen on port {args.port}", file=sys.stderr)
        sys.exit(1)
    print(f"rtsp_server: serving on rtsp://127.0.0.1:{args.port}/", flush=True)
    loop = GLib.MainLoop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C in the demo's terminal: quietly
        signal.signal(sig, lambda *_: loop.quit())
    if mounts:
        threading.Thread(target=feed, args=(mounts, width * height * 3, loop), daemon=True).start()
    loop.run()
    sys.stdout.flush()
    os._exit(0)  # the feeding thread may be blocked reading stdin: do not wait for it


if __name__ == "__main__":
    main()
