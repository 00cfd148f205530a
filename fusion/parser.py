"""The message parser of docs/protocol.md §2: topic + payload in, event or rejection out.

Shared by the live MQTT adapter (raw bytes) and by replay (a recording line whose
payload JSON was already decoded: :meth:`MessageParser.parse_value` runs the very
same checks on it). Nothing raises past :meth:`parse`: whatever the bytes, the
caller gets a :class:`DeviceEvent` or a :class:`Rejection`.

The parser is the gate for every later stage (the store, the websocket, the reports):
it accepts only what all of them can carry. Valid JSON that one of them cannot
encode (a lone UTF-16 surrogate, a NUL character, which PostgreSQL text refuses,
nesting deeper than :data:`MAX_DEPTH`, an integer outside 64 bits, a number that
overflows to infinity) is refused with reason ``unsupported_value``.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Final

import orjson

from fusion.events import (
    EVENTS_BY_KIND,
    ZONE_REQUIRED,
    DeviceEvent,
    DeviceKind,
    EventType,
    Refused,
    Rejection,
    RejectReason,
)
from fusion.intel import IntelMessage, parse_intel
from fusion.jsonvalues import UnsupportedValue, check_carriable, decode_json
from fusion.site import Site

MAX_PAYLOAD_BYTES: Final = 64 * 1024
"""Contract limit; a device message is a few hundred bytes, anything this big is hostile."""

PREFIX_BYTES: Final = 200
"""How much of a rejected payload is kept for the log: enough to recognise the sender."""

_NO_DATA: Final[dict[str, Any]] = {}

Parsed = DeviceEvent | IntelMessage | Rejection
"""What the parser makes of a message."""


class MessageParser:
    """Validates device messages against one site."""

    def __init__(self, site: Site) -> None:
        self._site = site
        self._zones = frozenset(z.id for z in site.zones)
        root = f"{site.mqtt.prefix}/{site.site}/"
        self._root = root
        self._devices: dict[str, tuple[DeviceKind, str, str | None]] = {}
        for s in site.sensors:
            kind = DeviceKind(s.kind.value)
            self._devices[f"{root}{kind}/{s.id}"] = (kind, s.id, s.zone)
        for c in site.cameras:
            self._devices[f"{root}camera/{c.id}"] = (DeviceKind.CAMERA, c.id, None)
        self._intel_root = f"{root}intel/"
        self._sources = {f"{root}intel/{s.id}": s.id for s in site.intel_sources}

    def parse(self, topic: str, payload: bytes) -> Parsed:
        """Parse raw bytes as received from the broker."""
        try:
            if len(payload) > MAX_PAYLOAD_BYTES:
                raise Refused(
                    RejectReason.TOO_LARGE,
                    f"{len(payload)} bytes, limit {MAX_PAYLOAD_BYTES}",
                )
            source = self._sources.get(topic)
            device = self._device(topic) if source is None else None
            try:
                body = decode_json(payload)
            except UnsupportedValue as exc:
                raise Refused(RejectReason.UNSUPPORTED_VALUE, str(exc)) from exc
            except (ValueError, RecursionError) as exc:
                raise Refused(RejectReason.NOT_JSON, _short(exc)) from exc
            if source is not None:
                return parse_intel(topic, source, body, self._zones)
            assert device is not None
            return self._validate(topic, device, body)
        except Refused as r:
            return Rejection(topic, r.reason, r.detail, payload[:PREFIX_BYTES])

    def parse_value(self, topic: str, body: Any, size: int) -> Parsed:
        """Parse a payload already decoded (by :func:`decode_json`, so already checked
        to be carriable) from JSON text of ``size`` bytes."""
        try:
            if size > MAX_PAYLOAD_BYTES:
                raise Refused(RejectReason.TOO_LARGE, f"{size} bytes, limit {MAX_PAYLOAD_BYTES}")
            device = self._devices.get(topic)  # the common case first: one lookup
            if device is not None:
                return self._validate(topic, device, body)
            source = self._sources.get(topic)
            if source is not None:
                return parse_intel(topic, source, body, self._zones)
            return self._validate(topic, self._device(topic), body)
        except Refused as r:
            return Rejection(topic, r.reason, r.detail, _prefix_of(body))

    def parse_intel_from(self, source: str, body: Any) -> IntelMessage | Rejection:
        """An intelligence message from an authenticated analyst (the API): its source is
        the analyst, who need not be a feed named in the site file."""
        topic = f"{self._intel_root}{source}"
        try:
            check_carriable(body)
        except UnsupportedValue as exc:
            return Rejection(topic, RejectReason.UNSUPPORTED_VALUE, str(exc), b"")
        try:
            return parse_intel(topic, source, body, self._zones)
        except Refused as r:
            return Rejection(topic, r.reason, r.detail, _prefix_of(body))

    def _device(self, topic: str) -> tuple[DeviceKind, str, str | None]:
        device = self._devices.get(topic)
        if device is not None:
            return device
        if topic.startswith(self._intel_root):
            source = topic[len(self._intel_root) :]
            raise Refused(RejectReason.UNKNOWN_SOURCE, f"no intel source {source!r} in the site")
        if not topic.startswith(self._root):
            raise Refused(RejectReason.BAD_TOPIC, f"topic is not under {self._root!r}")
        levels = topic[len(self._root) :].split("/")
        if len(levels) != 2:
            raise Refused(RejectReason.BAD_TOPIC, "expected <prefix>/<site>/<kind>/<id>")
        kind, device_id = levels
        if kind not in DeviceKind.__members__.values():
            raise Refused(RejectReason.BAD_TOPIC, f"unknown kind {kind!r}")
        raise Refused(RejectReason.UNKNOWN_DEVICE, f"no {kind} {device_id!r} in the site file")

    def _validate(
        self, topic: str, device: tuple[DeviceKind, str, str | None], body: Any
    ) -> DeviceEvent:
        if type(body) is not dict:
            raise Refused(RejectReason.NOT_OBJECT, f"payload is a JSON {_json_type(body)}")
        kind, device_id, home_zone = device
        msg_id = body.get("id")
        if type(msg_id) is not str:
            raise Refused(RejectReason.BAD_ID, _field_problem("id", msg_id))
        if "\x00" in msg_id:
            raise Refused(RejectReason.UNSUPPORTED_VALUE, "the id holds a NUL character")
        name = body.get("event")
        if type(name) is not str:
            raise Refused(RejectReason.BAD_EVENT, _field_problem("event", name))
        event = EVENTS_BY_KIND[kind].get(name)
        if event is None:
            allowed = ", ".join(EVENTS_BY_KIND[kind])
            raise Refused(
                RejectReason.UNKNOWN_EVENT, f"{kind} does not send {name!r} (one of {allowed})"
            )
        zone = body.get("zone")
        if zone is None:
            if event in ZONE_REQUIRED:
                raise Refused(RejectReason.MISSING_ZONE, f"{name} needs a zone")
            zone = home_zone
        elif type(zone) is not str or zone not in self._zones:
            raise Refused(RejectReason.BAD_ZONE, f"unknown zone {zone!r}")
        ts = body.get("ts")
        device_ts = None if ts is None else parse_device_time(ts)
        data = body.get("data")
        if type(data) is not dict:
            data = _NO_DATA  # details are optional; a malformed block is dropped, not fatal
        elif data:
            _carriable_data(data)
        if event is EventType.STATE and type(data.get("on")) is not bool:
            raise Refused(RejectReason.BAD_STATE, "floodlight state needs a boolean data.on")
        return DeviceEvent(device_id, kind, msg_id, event, zone, device_ts, data, topic)


def _carriable_data(data: dict[str, Any]) -> None:
    """The details travel on to the store and the websocket: numbers within ±2^63."""
    try:
        check_carriable(data)
    except UnsupportedValue as exc:
        raise Refused(RejectReason.UNSUPPORTED_VALUE, f"data: {exc}") from exc


def parse_device_time(ts: Any) -> float:
    """A device's ``ts``: epoch seconds, or ISO-8601 with a UTC offset; as epoch seconds."""
    if type(ts) is int or type(ts) is float:
        try:
            value = float(ts)
        except OverflowError as exc:
            raise Refused(RejectReason.BAD_TS, "ts out of range") from exc
        if not math.isfinite(value):
            raise Refused(RejectReason.BAD_TS, "ts is not a finite number")
        return value
    if type(ts) is not str:
        raise Refused(RejectReason.BAD_TS, _field_problem("ts", ts))
    try:
        when = datetime.fromisoformat(ts)
    except ValueError as exc:
        raise Refused(RejectReason.BAD_TS, f"ts {ts[:40]!r} is not ISO-8601") from exc
    if when.tzinfo is None or when.utcoffset() is None:
        raise Refused(RejectReason.BAD_TS, f"ts {ts[:40]!r} has no UTC offset")
    try:
        return when.timestamp()
    except (OverflowError, ValueError) as exc:
        raise Refused(RejectReason.BAD_TS, "ts out of range") from exc


def _field_problem(field: str, value: Any) -> str:
    if value is None:
        return f"{field} is missing"
    return f"{field} must be a string, got a JSON {_json_type(value)}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _short(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)[:120] or type(exc).__name__


def _prefix_of(body: Any) -> bytes:
    try:
        return orjson.dumps(body)[:PREFIX_BYTES]
    except (TypeError, RecursionError):  # integers beyond 64 bits, deep nesting
        return repr(body).encode()[:PREFIX_BYTES]
