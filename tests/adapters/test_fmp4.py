"""The fMP4 muxer on H.264 made by libx264: what it writes, PyAV reads back frame for
frame; it waits for keyframes, follows resolution changes with a new init segment and
keeps one timeline across reconnections."""

from __future__ import annotations

import itertools
import struct
from pathlib import Path

import av
import pytest

from adapters.video.clips import salvage
from adapters.video.fmp4 import Fmp4Muxer
from adapters.video.h264 import NAL_SPS, nal_units, parameter_sets, parse_sps
from adapters.video.media import Segment, SegmentKind, VideoPacket
from tests.adapters.video_helpers import decoded_stamps, encoded


def mux(packets: list[VideoPacket], muxer: Fmp4Muxer | None = None) -> list[Segment]:
    m = muxer or Fmp4Muxer()
    return [s for p in packets for s in m.push(p)]


def decode_times(segments: list[Segment]) -> list[int]:
    """tfdt of each media fragment."""
    times = []
    for s in segments:
        if s.kind is not SegmentKind.INIT:
            at = s.payload.index(b"tfdt")
            times.append(struct.unpack(">Q", s.payload[at + 8 : at + 16])[0])
    return times


@pytest.mark.parametrize(
    ("size", "profile"), [((448, 256), "baseline"), ((640, 360), "high"), ((320, 180), "main")]
)
def test_the_sps_gives_the_picture_size_and_codec(size: tuple[int, int], profile: str) -> None:
    packet = encoded(1, size=size, profile=profile)[0]
    sps = parse_sps(next(u for u in nal_units(packet.data) if u[0] & 0x1F == NAL_SPS))
    assert (sps.width, sps.height) == size
    assert sps.codec.startswith("avc1.") and len(sps.codec) == 11
    assert sps.profile == {"baseline": 66, "main": 77, "high": 100}[profile]


def test_fragments_decode_frame_for_frame_with_their_stamps(tmp_path: Path) -> None:
    packets = encoded(30, profile="high")
    segments = mux(packets)
    assert [s.kind for s in segments[:2]] == [SegmentKind.INIT, SegmentKind.KEY]
    assert sum(s.kind is SegmentKind.KEY for s in segments) == 3
    assert segments[0].codec.startswith("avc1.64")
    path = tmp_path / "live.mp4"
    path.write_bytes(b"".join(s.payload for s in segments))
    frames = decoded_stamps(path)
    assert [f[0] for f in frames] == pytest.approx([p.arrival for p in packets])
    times = decode_times(segments)
    assert times == sorted(times) and len(set(times)) == len(times)


def test_a_stream_joined_mid_gop_waits_for_its_keyframe() -> None:
    packets = encoded(25)[4:]  # keyframes at 0, 10, 20: joined at frame 4
    muxer = Fmp4Muxer()
    segments = mux(packets, muxer)
    assert muxer.counts.waiting_keyframe == 6
    assert segments[0].kind is SegmentKind.INIT and segments[1].kind is SegmentKind.KEY
    assert segments[1].t == packets[6].arrival


def test_a_resolution_change_brings_a_new_init_segment(tmp_path: Path) -> None:
    first = encoded(12, size=(448, 256))
    second = encoded(12, size=(320, 180), t0=first[-1].arrival + 0.1, first_pts=12 * 9000)
    segments = mux(first + second)
    inits = [i for i, s in enumerate(segments) if s.kind is SegmentKind.INIT]
    assert len(inits) == 2 and segments[inits[1] + 1].kind is SegmentKind.KEY
    for part, (a, b) in enumerate([(inits[0], inits[1]), (inits[1], len(segments))]):
        path = tmp_path / f"part{part}.mp4"
        path.write_bytes(b"".join(s.payload for s in segments[a:b]))
        sizes = {(w, h) for _, w, h, _ in decoded_stamps(path)}
        assert sizes == {[(448, 256), (320, 180)][part]}


def test_one_timeline_across_a_reconnection() -> None:
    """A new session restarts the camera's timestamps; the output runs on."""
    first = encoded(20)
    again = encoded(20, session=2, t0=first[-1].arrival + 3.0)  # pts from 0 again
    muxer = Fmp4Muxer()
    segments = mux(first + again, muxer)
    times = decode_times(segments)
    assert all(b > a for a, b in itertools.pairwise(times))
    assert muxer.counts.formats == 1  # the same SPS: no new init segment


def test_the_wire_form_round_trips() -> None:
    segments = mux(encoded(3))
    for s in segments:
        assert Segment.from_wire(s.wire()) == s
    with pytest.raises(ValueError, match="kind"):
        Segment.from_wire(b"\x07" + bytes(8))


def test_extradata_in_avcc_form_gives_the_parameter_sets(tmp_path: Path) -> None:
    path = tmp_path / "x.mp4"
    path.write_bytes(b"".join(s.payload for s in mux(encoded(10))))
    with av.open(str(path)) as c:
        extradata = bytes(c.streams.video[0].codec_context.extradata or b"")
    assert extradata[0] == 1  # an avcC record, as MP4 files carry it
    assert [u[0] & 0x1F for u in parameter_sets(extradata)] == [7, 8]


def test_a_part_left_by_a_killed_service_is_finished_up_to_its_tear(tmp_path: Path) -> None:
    """salvage(): a clip part cut mid-fragment becomes a playable MP4 of every whole
    frame before the cut, dated by the note written when it began (or, without the note,
    by its last write less its span); an unreadable part is set aside, not retried."""
    packets = encoded(30, fps=10)
    whole = b"".join(s.payload for s in mux(packets))
    torn = whole[: len(whole) - 700]  # the kill tore the last fragment
    (tmp_path / "INC-000004.cam-02.1.fmp4").write_bytes(torn)
    (tmp_path / "INC-000004.cam-02.1.fmp4.start").write_text(repr(packets[0].arrival))
    (tmp_path / "INC-000005.cam-02.1.fmp4").write_bytes(whole)  # its note was never written
    (tmp_path / "INC-000006.cam-02.1.fmp4").write_bytes(b"not a video")
    noted, bare = salvage(tmp_path)
    assert (noted.key, noted.camera, noted.part) == ("INC-000004", "cam-02", 1)
    assert noted.start == packets[0].arrival
    frames = decoded_stamps(noted.path)
    assert 20 <= len(frames) < 30 and frames[0][3], "from its keyframe, up to the tear"
    assert noted.end == pytest.approx(noted.start + (len(frames) - 1) / 10, abs=0.01)
    assert noted.path.suffix == ".mp4" and noted.size == noted.path.stat().st_size
    assert bare.key == "INC-000005" and bare.end - bare.start == pytest.approx(2.9, abs=0.01)
    assert len(decoded_stamps(bare.path)) == 30
    left = sorted(p.name for p in tmp_path.iterdir())
    assert [n for n in left if not n.endswith(".mp4")] == ["INC-000006.cam-02.1.fmp4.unreadable"]
    assert salvage(tmp_path) == [], "nothing is finished twice"
