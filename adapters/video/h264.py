"""Just enough H.264 bitstream reading to pass video through without decoding it:
NAL units out of an access unit, and the sequence parameter set's profile, level and
picture size (for the MP4 sample entry and the browser's codec string)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

NAL_IDR: Final = 5
NAL_SEI: Final = 6
NAL_SPS: Final = 7
NAL_PPS: Final = 8
NAL_AUD: Final = 9
PARAMETER_SETS: Final = frozenset({NAL_SPS, NAL_PPS})
HIGH_PROFILES: Final = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})
"""Profiles whose SPS carries chroma format and bit depths (and whose avcC says them)."""


class BitstreamError(ValueError):
    """An H.264 unit that cannot be read."""


def nal_units(data: bytes) -> list[bytes]:
    """The NAL units of one access unit: Annex B (start codes, as RTSP delivers) or
    4-byte length prefixes (as MP4 stores)."""
    if data.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01")):
        return _annexb(data)
    units = []
    pos = 0
    while pos + 4 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        if size == 0 or pos + 4 + size > len(data):
            raise BitstreamError(f"NAL length {size} runs past the unit ({len(data)} bytes)")
        units.append(data[pos + 4 : pos + 4 + size])
        pos += 4 + size
    return units


def parameter_sets(extradata: bytes) -> list[bytes]:
    """The SPS and PPS units of a stream's out-of-band extradata: Annex B (RTSP's SDP)
    or an avcC record (an MP4 file's sample entry)."""
    if not extradata:
        return []
    if extradata[0] != 1:
        return nal_units(extradata)
    units = []
    pos = 5
    for count_mask in (0x1F, 0xFF):  # SPS count in the low 5 bits, then PPS count
        if pos >= len(extradata):
            raise BitstreamError("avcC record ends early")
        count = extradata[pos] & count_mask
        pos += 1
        for _ in range(count):
            size = int.from_bytes(extradata[pos : pos + 2], "big")
            units.append(extradata[pos + 2 : pos + 2 + size])
            pos += 2 + size
    return units


def _annexb(data: bytes) -> list[bytes]:
    units = []
    start = data.find(b"\x00\x00\x01")
    while start >= 0:
        begin = start + 3
        nxt = data.find(b"\x00\x00\x01", begin)
        end = len(data) if nxt < 0 else nxt
        # A four-byte start code, or trailing zero bytes, leave zeros before the next one.
        unit = data[begin:end].rstrip(b"\x00") if nxt >= 0 else data[begin:end]
        if unit:
            units.append(unit)
        start = nxt
    return units


def nal_type(unit: bytes) -> int:
    return unit[0] & 0x1F


def nal_types(units: list[bytes]) -> list[int]:
    return [u[0] & 0x1F for u in units]


def length_prefixed(units: list[bytes]) -> bytes:
    return b"".join(len(u).to_bytes(4, "big") + u for u in units)


@dataclass(frozen=True, slots=True)
class Sps:
    """What a sequence parameter set says that a container must repeat."""

    profile: int
    compatibility: int
    level: int
    width: int
    height: int
    chroma_format: int = 1
    bit_depth_luma: int = 8
    bit_depth_chroma: int = 8

    @property
    def codec(self) -> str:
        """The RFC 6381 codec string a browser asks for (``avc1.PPCCLL``)."""
        return f"avc1.{self.profile:02x}{self.compatibility:02x}{self.level:02x}"


class _Bits:
    def __init__(self, rbsp: bytes) -> None:
        self.data = rbsp
        self.pos = 0

    def bit(self) -> int:
        byte = self.pos >> 3
        if byte >= len(self.data):
            raise BitstreamError("SPS ends early")
        value = (self.data[byte] >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return value

    def bits(self, n: int) -> int:
        value = 0
        for _ in range(n):
            value = (value << 1) | self.bit()
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if zeros > 31:
                raise BitstreamError("exp-Golomb code too long")
        return (1 << zeros) - 1 + self.bits(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)


def _rbsp(unit: bytes) -> bytes:
    """The payload with emulation-prevention bytes (00 00 03) removed."""
    out = bytearray()
    zeros = 0
    for b in unit:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def _skip_scaling_list(r: _Bits, size: int) -> None:
    last, nxt = 8, 8
    for _ in range(size):
        if nxt:
            nxt = (last + r.se() + 256) % 256
        last = nxt or last


def parse_sps(unit: bytes) -> Sps:
    """Profile, level and the displayed picture size (after cropping) of an SPS unit."""
    if not unit or nal_type(unit) != NAL_SPS:
        raise BitstreamError("not a sequence parameter set")
    r = _Bits(_rbsp(unit[1:]))
    profile, compatibility, level = r.bits(8), r.bits(8), r.bits(8)
    r.ue()  # seq_parameter_set_id
    chroma, depth_luma, depth_chroma = 1, 8, 8
    if profile in HIGH_PROFILES:
        chroma = r.ue()
        if chroma == 3:
            r.bit()  # separate_colour_plane_flag
        depth_luma, depth_chroma = r.ue() + 8, r.ue() + 8
        r.bit()  # qpprime_y_zero_transform_bypass_flag
        if r.bit():  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma != 3 else 12):
                if r.bit():
                    _skip_scaling_list(r, 16 if i < 6 else 64)
    r.ue()  # log2_max_frame_num_minus4
    poc_type = r.ue()
    if poc_type == 0:
        r.ue()
    elif poc_type == 1:
        r.bit()
        r.se()
        r.se()
        for _ in range(r.ue()):
            r.se()
    r.ue()  # max_num_ref_frames
    r.bit()  # gaps_in_frame_num_value_allowed_flag
    width_mbs, height_units = r.ue() + 1, r.ue() + 1
    frame_mbs_only = r.bit()
    if not frame_mbs_only:
        r.bit()  # mb_adaptive_frame_field_flag
    r.bit()  # direct_8x8_inference_flag
    crop = (r.ue(), r.ue(), r.ue(), r.ue()) if r.bit() else (0, 0, 0, 0)
    sub_w = 2 if chroma in (1, 2) else 1
    sub_h = (2 if chroma == 1 else 1) * (2 - frame_mbs_only)
    if chroma == 0:
        sub_w, sub_h = 1, 2 - frame_mbs_only
    width = width_mbs * 16 - sub_w * (crop[0] + crop[1])
    height = (2 - frame_mbs_only) * height_units * 16 - sub_h * (crop[2] + crop[3])
    if width <= 0 or height <= 0:
        raise BitstreamError(f"SPS gives a {width}x{height} picture")
    return Sps(profile, compatibility, level, width, height, chroma, depth_luma, depth_chroma)
