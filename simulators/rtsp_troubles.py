"""GStreamer RTSP server for cameras in bad conditions (see ``troubled_cameras.py``).
Runs under Debian's ``/usr/bin/python3``, importing nothing but the standard library
and ``gi``:

    /usr/bin/python3 rtsp_troubles.py --port 8554 --fps 10 --resize cam-a=3 --gop cam-b=8

``--resize`` mounts flip between 640x360 and 320x240 every so many seconds (the
encoder starts again: a new SPS and a keyframe); ``--gop`` mounts send a keyframe
only every so many seconds.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

SIZES = ((640, 360), (320, 240))
ENCODE = (
    "videoconvert ! video/x-raw,format=I420 ! x264enc tune=zerolatency "
    "speed-preset=ultrafast key-int-max={gop} bitrate=800 ! "
    "rtph264pay name=pay0 pt=96 config-interval=1"
)


def flip_sizes(media: Any, every_s: float) -> None:
    caps = media.get_element().get_child_by_name("size")
    state = {"i": 0}

    def flip() -> bool:
        state["i"] += 1
        w, h = SIZES[state["i"] % len(SIZES)]
        caps.set_property("caps", Gst.Caps.from_string(f"video/x-raw,width={w},height={h}"))
        return True

    GLib.timeout_add(int(every_s * 1000), flip)


def add_mount(points: Any, name: str, fps: int, gop_frames: int, flip_s: float | None) -> None:
    w, h = SIZES[0]
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f"( videotestsrc is-live=true pattern=ball ! video/x-raw,framerate={fps}/1 ! "
        f"videoscale ! capsfilter name=size caps=video/x-raw,width={w},height={h} ! "
        f"{ENCODE.format(gop=gop_frames)} )"
    )
    factory.set_shared(True)
    if flip_s:
        factory.connect("media-configure", lambda f, media: flip_sizes(media, flip_s))
    points.add_factory(f"/{name}", factory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--resize", action="append", default=[], help="mount=seconds")
    parser.add_argument("--gop", action="append", default=[], help="mount=seconds")
    args = parser.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    points = server.get_mount_points()
    for spec in args.resize:
        name, seconds = spec.split("=", 1)
        add_mount(points, name, args.fps, args.fps, float(seconds))
    for spec in args.gop:
        name, seconds = spec.split("=", 1)
        add_mount(points, name, args.fps, max(1, round(float(seconds) * args.fps)), None)
    if server.attach(None) == 0:
        print(f"rtsp_troubles: cannot listen on port {args.port}", file=sys.stderr)
        sys.exit(1)
    print(f"rtsp_troubles: serving on rtsp://127.0.0.1:{args.port}/", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
