"""Recorded incidents (docs/protocol.md §4): one JSON line per message, in time order."""

from __future__ import annotations

import json
import math
from typing import Any, Final, NamedTuple

import orjson

from fusion.jsonvalues import (
    UnsupportedValue,
    check_carriable,
    decode_json,
    decode_json_leniently,
)
from fusion.parser import MAX_PAYLOAD_BYTES

SMALL_LINE: Final = MAX_PAYLOAD_BYTES // 5
"""A line shorter than this cannot hold a payload whose JSON text reaches the limit
(re-serialising a number such as ``1e15`` expands it at most ~4.5 times), so
replay skips re-encoding it just to measure it. Longer lines are measured."""


class BadLine(ValueError):
    """A recording line that is not ``{"t": number, "topic": string, "payload": ...}``."""


class RecordedMessage(NamedTuple):
    """One line. ``raw`` holds the bytes to send when the payload was a string;
    otherwise ``value`` holds the decoded JSON payload and ``size`` its encoded length
    (0 when the line is too short for the size to matter). ``unsupported`` says why a
    payload that is valid JSON cannot be carried by the pipeline (it is then rejected
    as a message, like the same bytes received live). A named tuple: one per line, and
    cheap to build."""

    t: float
    topic: str
    raw: bytes | None
    value: Any
    size: int
    unsupported: str | None = None

    def payload_bytes(self) -> bytes:
        return self.raw if self.raw is not None else encode_payload(self.value)


def encode_payload(value: Any) -> bytes:
    """The JSON text of a non-string payload, as it is published and measured."""
    try:
        return orjson.dumps(value)
    except TypeError:  # an integer beyond 64 bits: valid JSON all the same
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def parse_line(line: bytes) -> RecordedMessage:
    """Decode one recording line; raise :class:`BadLine` saying what is wrong."""
    unsupported: str | None = None
    try:
        obj = decode_json(line)
    except UnsupportedValue as exc:
        obj = _lenient(line)
        unsupported = str(exc)
    except (ValueError, RecursionError) as exc:
        raise BadLine(f"not JSON: {str(exc)[:80]}") from exc
    if type(obj) is not dict:
        raise BadLine("a line must be a JSON object")
    t = _seconds(obj.get("t"))
    topic = obj.get("topic")
    if type(topic) is not str:
        raise BadLine('"topic" must be a string')
    if "payload" not in obj:
        raise BadLine('"payload" is missing')
    payload = obj["payload"]
    if type(payload) is str:
        return RecordedMessage(t, topic, payload.encode("utf-8", "surrogatepass"), None, 0)
    if unsupported is not None:
        try:
            check_carriable(payload)
            unsupported = None  # the line's trouble lay outside the payload
        except UnsupportedValue as exc:
            return RecordedMessage(t, topic, None, None, 0, str(exc))
    size = 0 if len(line) < SMALL_LINE else len(encode_payload(payload))
    return RecordedMessage(t, topic, None, payload, size)


def _seconds(t: Any) -> float:
    if type(t) is float and 0 <= t < math.inf:  # the common case: a plain, sane number
        return t
    if isinstance(t, int | float) and not isinstance(t, bool):
        try:
            seconds = float(t)
        except OverflowError:
            seconds = math.inf
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    raise BadLine('"t" must be a number of seconds, zero or more')


def _lenient(line: bytes) -> Any:
    try:
        return decode_json_leniently(line)
    except (ValueError, RecursionError) as exc:
        raise BadLine(f"not JSON: {str(exc)[:80]}") from exc


def format_line(t: float, topic: str, payload: bytes) -> bytes:
    """A recording line for a message received ``t`` seconds into the recording.

    A payload that is a JSON object or array is kept as JSON, so the file stays
    readable; anything else (malformed bytes, a bare scalar) is kept as a string,
    which replays byte for byte.
    """
    value: Any = None
    try:
        value = decode_json(payload)
    except (ValueError, RecursionError):
        value = None
    body: Any = value if isinstance(value, dict | list) else _as_text(payload)
    line = {"t": round(t, 6), "topic": topic, "payload": body}
    try:
        return orjson.dumps(line)
    except TypeError:
        return json.dumps(line, ensure_ascii=False).encode()


def _as_text(payload: bytes) -> str:
    # surrogateescape would not survive JSON; bytes that are not UTF-8 are kept as
    # U+FFFD, which still replays as a rejected message.
    return payload.decode("utf-8", errors="replace")
