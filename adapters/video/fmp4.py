"""Fragmented MP4 from passed-through H.264 packets, once per camera, without decoding.

One fragment per frame: a browser can show a frame as soon as it has arrived (a
fragment per GOP would hold it back by up to a GOP, one to several seconds). The
boxes are written here rather than by FFmpeg's muxer, which closes a fragment only
when the next packet arrives (one frame of delay), restarts its timeline at each
new muxer (every resolution change or reconnection) and hides when a fragment is
complete. See docs/video.md.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from typing import Final

from adapters.video.h264 import (
    HIGH_PROFILES,
    NAL_AUD,
    NAL_IDR,
    NAL_PPS,
    NAL_SPS,
    BitstreamError,
    Sps,
    length_prefixed,
    nal_types,
    nal_units,
    parameter_sets,
    parse_sps,
)
from adapters.video.media import Segment, SegmentKind, VideoPacket

log = logging.getLogger("vigie.video")

TIMESCALE: Final = 90_000
"""RTP's video clock: the camera's timestamps go into the file unchanged in scale."""

NOMINAL_FRAME: Final = TIMESCALE // 10
"""Frame duration assumed before two frames have been seen (10 fps)."""

MAX_GAP: Final = TIMESCALE * 2
"""A timestamp step beyond 2 s (or backwards) is a discontinuity, not a slow frame:
the timeline goes on by one frame instead of leaving a hole a player would stall at."""

KEY_FLAGS: Final = 0x02000000  # sample_depends_on = 2: depends on no other sample
DELTA_FLAGS: Final = 0x01010000  # depends on others, and is not a sync sample
MATRIX: Final = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full_box(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags), *parts)


def _avcc(sps_unit: bytes, pps_units: list[bytes], sps: Sps) -> bytes:
    body = bytes([1, sps.profile, sps.compatibility, sps.level, 0xFF, 0xE1])
    body += struct.pack(">H", len(sps_unit)) + sps_unit + bytes([len(pps_units)])
    body += b"".join(struct.pack(">H", len(p)) + p for p in pps_units)
    if sps.profile in HIGH_PROFILES:
        body += bytes(
            [
                0xFC | sps.chroma_format,
                0xF8 | (sps.bit_depth_luma - 8),
                0xF8 | (sps.bit_depth_chroma - 8),
                0,
            ]
        )
    return box(b"avcC", body)


def init_segment(sps_unit: bytes, pps_units: list[bytes]) -> tuple[bytes, Sps]:
    """ftyp + moov for one H.264 track whose samples come in movie fragments."""
    sps = parse_sps(sps_unit)
    w, h = sps.width, sps.height
    ftyp = box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso6avc1mp41")
    mvhd = full_box(
        b"mvhd", 0, 0, struct.pack(">IIII", 0, 0, 1000, 0), struct.pack(">IH", 0x10000, 0x100),
        bytes(10), MATRIX, bytes(24), struct.pack(">I", 2),
    )  # fmt: skip
    tkhd = full_box(
        b"tkhd", 0, 3, struct.pack(">IIIII", 0, 0, 1, 0, 0), bytes(8),
        struct.pack(">hhhh", 0, 0, 0, 0), MATRIX, struct.pack(">II", w << 16, h << 16),
    )  # fmt: skip
    mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, TIMESCALE, 0, 0x55C4, 0))
    hdlr = full_box(b"hdlr", 0, 0, bytes(4), b"vide", bytes(12), b"Vigie\x00")
    avc1 = box(
        b"avc1", bytes(6), struct.pack(">H", 1), bytes(16), struct.pack(">HH", w, h),
        struct.pack(">II", 0x480000, 0x480000), bytes(4), struct.pack(">H", 1), bytes(32),
        struct.pack(">Hh", 0x18, -1), _avcc(sps_unit, pps_units, sps),
    )  # fmt: skip
    empty = struct.pack(">I", 0)
    stbl = box(
        b"stbl", full_box(b"stsd", 0, 0, struct.pack(">I", 1), avc1),
        full_box(b"stts", 0, 0, empty), full_box(b"stsc", 0, 0, empty),
        full_box(b"stsz", 0, 0, empty, empty), full_box(b"stco", 0, 0, empty),
    )  # fmt: skip
    dinf = box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1)))
    minf = box(b"minf", full_box(b"vmhd", 0, 1, bytes(8)), dinf, stbl)
    trak = box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, minf))
    trex = full_box(b"trex", 0, 0, struct.pack(">IIIII", 1, 1, 0, 0, 0))
    return ftyp + box(b"moov", mvhd, trak, box(b"mvex", trex)), sps


def media_fragment(
    sequence: int, decode_time: int, sample: bytes, *, duration: int, key: bool, cto: int
) -> bytes:
    """moof + mdat holding one sample (4-byte length-prefixed NAL units)."""
    mfhd = full_box(b"mfhd", 0, 0, struct.pack(">I", sequence))
    tfhd = full_box(b"tfhd", 0, 0x020000, struct.pack(">I", 1))  # default-base-is-moof
    tfdt = full_box(b"tfdt", 1, 0, struct.pack(">Q", decode_time))
    flags = KEY_FLAGS if key else DELTA_FLAGS

    def moof(data_offset: int) -> bytes:
        # one sample; data offset (0x1), duration (0x100), size (0x200), flags (0x400),
        # signed composition offset (0x800, version 1)
        trun_body = struct.pack(">IiIIIi", 1, data_offset, duration, len(sample), flags, cto)
        trun = full_box(b"trun", 1, 0x000F01, trun_body)
        return box(b"moof", mfhd, box(b"traf", tfhd, tfdt, trun))

    size = len(moof(0))
    return moof(size + 8) + box(b"mdat", sample)


@dataclass(slots=True)
class MuxerCounts:
    """What the muxer had to leave out, for the worker's metrics."""

    waiting_keyframe: int = 0  # packets before the first keyframe of a session or format
    unreadable: int = 0  # packets that were not H.264 access units
    discontinuities: int = 0  # timestamp jumps smoothed over
    formats: int = 0  # init segments made (start, resolution or profile changes)


class Fmp4Muxer:
    """Turns one camera's packets into init segments and one-frame media fragments on a
    single timeline that runs on across reconnections and format changes."""

    def __init__(self) -> None:
        self.counts = MuxerCounts()
        self.format: tuple[bytes, tuple[bytes, ...]] | None = None
        self.sps: Sps | None = None
        self._sequence = 0
        self._out_dts = 0  # decode time of the next fragment, TIMESCALE units
        self._session = -1
        self._synced = False  # a keyframe has been sent since the session/format began
        self._in_base = 0  # input dts that maps to _out_dts at the start of a session
        self._last_in: int | None = None
        self._delta = NOMINAL_FRAME

    def push(self, packet: VideoPacket) -> list[Segment]:
        """Segments for one packet: nothing (waiting for a keyframe), a fragment, or an
        init segment then a fragment."""
        try:
            units = nal_units(packet.data)
        except BitstreamError as exc:
            self.counts.unreadable += 1
            log.debug("unreadable packet: %s", exc)
            return []
        types = nal_types(units)
        key = NAL_IDR in types
        out: list[Segment] = []
        if packet.session != self._session:
            self._session, self._synced, self._last_in = packet.session, False, None
        if key:
            init = self._maybe_new_format(units, types, packet)
            if init is not None:
                out.append(init)
        if not self._synced and not key:
            self.counts.waiting_keyframe += 1
            return out
        if self.format is None:
            self.counts.waiting_keyframe += 1
            return out
        self._synced = True
        sample = length_prefixed(
            [u for u, t in zip(units, types, strict=True) if t not in (NAL_SPS, NAL_PPS, NAL_AUD)]
        )
        dts, cto = self._timing(packet)
        self._sequence += 1
        fragment = media_fragment(
            self._sequence, dts, sample, duration=self._delta, key=key, cto=cto
        )
        out.append(Segment(SegmentKind.KEY if key else SegmentKind.DELTA, packet.arrival, fragment))
        return out

    def _maybe_new_format(
        self, units: list[bytes], types: list[int], packet: VideoPacket
    ) -> Segment | None:
        sps = [u for u, t in zip(units, types, strict=True) if t == NAL_SPS]
        pps = [u for u, t in zip(units, types, strict=True) if t == NAL_PPS]
        if not sps and packet.extradata and (self.format is None or not self._synced):
            try:
                extra = parameter_sets(packet.extradata)
            except BitstreamError as exc:
                log.warning("unreadable stream extradata: %s", exc)
                extra = []
            sps = [u for u in extra if u[0] & 0x1F == NAL_SPS]
            pps = [u for u in extra if u[0] & 0x1F == NAL_PPS]
        if not sps or not pps:
            return None
        pps = list(dict.fromkeys(pps))  # cameras often repeat the parameter sets
        candidate = (sps[0], tuple(pps))
        if candidate == self.format:
            return None
        try:
            payload, parsed = init_segment(sps[0], pps)
        except BitstreamError as exc:
            self.counts.unreadable += 1
            log.warning("keyframe with an unreadable SPS: %s", exc)
            return None
        self.format, self.sps, self._synced = candidate, parsed, False
        self.counts.formats += 1
        log.info("stream format %dx%d %s", parsed.width, parsed.height, parsed.codec)
        return Segment(SegmentKind.INIT, packet.arrival, payload, parsed.codec)

    def _timing(self, packet: VideoPacket) -> tuple[int, int]:
        """Decode time on the output timeline and composition offset, both TIMESCALE.

        The output runs on without holes: each fragment's duration is the camera's last
        frame step, corrected by how far the output has drifted from the camera's clock.
        """
        num = packet.time_base.numerator * TIMESCALE  # integer arithmetic: no Fractions
        den = packet.time_base.denominator
        dts_in = packet.dts if packet.dts is not None else packet.pts
        if dts_in is None:  # no timestamp at all: one frame step after the last one
            in_ticks = (self._last_in or 0) + self._delta
            cto = 0
        else:
            in_ticks = dts_in * num // den
            cto = (packet.pts - dts_in) * num // den if packet.pts is not None else 0
        if self._last_in is not None:
            step = in_ticks - self._last_in
            if 0 < step <= MAX_GAP:
                self._delta = step
            else:
                log.debug("timestamp step %d ticks: discontinuity", step)
                self.counts.discontinuities += 1
                self._in_base = in_ticks - self._out_dts
        else:
            self._in_base = in_ticks - self._out_dts
        self._last_in = in_ticks
        dts = self._out_dts
        drift = (in_ticks - self._in_base) - dts  # > 0: the output lags the camera
        self._delta = max(1, self._delta + max(-self._delta // 2, min(self._delta // 2, drift)))
        self._out_dts = dts + self._delta
        return dts, cto
