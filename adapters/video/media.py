"""What flows through the video path: encoded packets as the camera sent them, and the
fragmented-MP4 segments made from them once per camera (see docs/video.md)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from fractions import Fraction
from typing import Final


@dataclass(frozen=True, slots=True)
class VideoPacket:
    """One encoded H.264 access unit, untouched, with the wall-clock time it arrived.

    ``session`` counts connections to the camera: timestamps restart with each one.
    ``extradata`` is the stream's out-of-band parameter sets (from the RTSP SDP), used
    when the camera sends none in-band.
    """

    data: bytes
    pts: int | None
    dts: int | None
    time_base: Fraction
    keyframe: bool
    arrival: float
    session: int
    extradata: bytes = b""

    @property
    def size(self) -> int:
        return len(self.data)


class SegmentKind(IntEnum):
    """The three kinds of fMP4 piece a viewer or a clip receives."""

    INIT = 1  # ftyp + moov: a new stream format (start, resolution or profile change)
    KEY = 2  # moof + mdat of a keyframe: a viewer or a clip may start here
    DELTA = 3  # moof + mdat of a frame that needs the ones before it


HEADER: Final = struct.Struct(">Bd")
"""Wire header of every segment message: kind, then the arrival wall-clock time of its
frame at the camera worker (seconds since the epoch, float64). An init segment then
carries one byte of codec-string length and the codec string (``avc1.PPCCLL``)."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One fMP4 piece with what the ring, the viewers and the clips need to know."""

    kind: SegmentKind
    t: float
    payload: bytes
    codec: str = ""

    @property
    def keyframe(self) -> bool:
        return self.kind is SegmentKind.KEY

    @property
    def size(self) -> int:
        return len(self.payload)

    def wire(self) -> bytes:
        """The message sent on the live websocket (worker -> service -> browser)."""
        head = HEADER.pack(self.kind, self.t)
        if self.kind is SegmentKind.INIT:
            codec = self.codec.encode("ascii")
            return head + bytes([len(codec)]) + codec + self.payload
        return head + self.payload

    @classmethod
    def from_wire(cls, message: bytes) -> Segment:
        if len(message) < HEADER.size:
            raise ValueError(f"segment message of {len(message)} bytes is shorter than a header")
        kind_value, t = HEADER.unpack_from(message)
        try:
            kind = SegmentKind(kind_value)
        except ValueError as exc:
            raise ValueError(f"unknown segment kind {kind_value}") from exc
        body = message[HEADER.size :]
        if kind is SegmentKind.INIT:
            n = body[0] if body else 0
            if len(body) < 1 + n:
                raise ValueError("init segment message shorter than its codec string")
            return cls(kind, t, body[1 + n :], body[1 : 1 + n].decode("ascii"))
        return cls(kind, t, body)
