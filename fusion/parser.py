"""The message parser of contract section 2: topic + payload in, event or rejection out.

Shared by the live MQTT adapter (raw bytes) and by replay (a recording line whose
payload JSON was already decoded: :meth:`MessageParser.parse_value` runs the very
same checks on it). Nothing raises past :meth:`parse`: whatever the bytes, the
caller gets a :class:`SensorEvent` or a :class:`Rejection`.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any, Final

import orjson

from fusion.events import (
    EVENTS_BY_KIND,
    ZONE_REQUIRED,
    DeviceKind,
    EventType,
    Rejection,
    RejectReason,
    SensorEvent,
)
from fusion.site import Site

MAX_PAYLOAD_BYTES: Final = 64 * 1024
"""Contract limit; a sensor message is a few hundred bytes, anything this big is hostile."""

PREFIX_BYTES: Final = 200
"""How much of a rejected payload is kept for the log: enough to recognise the sender."""

_NO_DATA: Final[dict[str, Any]] = {}


class _Refused(Exception):
    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode_json(payload: bytes) -> Any:
    """Strict JSON (UTF-8, no NaN/Infinity); raises ValueError or RecursionError.

    orjson is strict and fast; it also refuses integers beyond 64 bits, which are
    valid JSON, so a refusal is checked again with the standard library.
    """
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        text = payload.decode("utf-8")  # UnicodeDecodeError is a ValueError
        return json.loads(text, parse_constant=_refuse_constant)


class MessageParser:
    """Validates sensor messages against one site."""

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

    def parse(self, topic: str, payload: bytes) -> SensorEvent | Rejection:
        """Parse raw bytes as received from the broker."""
        try:
            if len(payload) > MAX_PAYLOAD_BYTES:
                raise _Refused(
                    RejectReason.TOO_LARGE,
                    f"{len(payload)} bytes, limit {MAX_PAYLOAD_BYTES}",
                )
            device = self._device(topic)
            try:
                body = decode_json(payload)
            except (ValueError, RecursionError) as exc:
                raise _Refused(RejectReason.NOT_JSON, _short(exc)) from exc
            return self._validate(topic, device, body)
        except _Refused as r:
            return Rejection(topic, r.reason, r.detail, payload[:PREFIX_BYTES])

    def parse_value(self, topic: str, body: Any, size: int) -> SensorEvent | Rejection:
        """Parse a payload already decoded from JSON text of ``size`` bytes."""
        try:
            if size > MAX_PAYLOAD_BYTES:
                raise _Refused(RejectReason.TOO_LARGE, f"{size} bytes, limit {MAX_PAYLOAD_BYTES}")
            return self._validate(topic, self._device(topic), body)
        except _Refused as r:
            return Rejection(topic, r.reason, r.detail, _prefix_of(body))

    def _device(self, topic: str) -> tuple[DeviceKind, str, str | None]:
        device = self._devices.get(topic)
        if device is not None:
            return device
        if not topic.startswith(self._root):
            raise _Refused(RejectReason.BAD_TOPIC, f"topic is not under {self._root!r}")
        levels = topic[len(self._root) :].split("/")
        if len(levels) != 2:
            raise _Refused(RejectReason.BAD_TOPIC, "expected <prefix>/<site>/<kind>/<id>")
        kind, device_id = levels
        if kind not in DeviceKind.__members__.values():
            raise _Refused(RejectReason.BAD_TOPIC, f"unknown kind {kind!r}")
        raise _Refused(RejectReason.UNKNOWN_DEVICE, f"no {kind} {device_id!r} in the site file")

    def _validate(
        self, topic: str, device: tuple[DeviceKind, str, str | None], body: Any
    ) -> SensorEvent:
        if type(body) is not dict:
            raise _Refused(RejectReason.NOT_OBJECT, f"payload is a JSON {_json_type(body)}")
        kind, device_id, home_zone = device
        msg_id = body.get("id")
        if type(msg_id) is not str:
            raise _Refused(RejectReason.BAD_ID, _field_problem("id", msg_id))
        name = body.get("event")
        if type(name) is not str:
            raise _Refused(RejectReason.BAD_EVENT, _field_problem("event", name))
        event = EVENTS_BY_KIND[kind].get(name)
        if event is None:
            allowed = ", ".join(EVENTS_BY_KIND[kind])
            raise _Refused(
                RejectReason.UNKNOWN_EVENT, f"{kind} does not send {name!r} (one of {allowed})"
            )
        zone = body.get("zone")
        if zone is None:
            if event in ZONE_REQUIRED:
                raise _Refused(RejectReason.MISSING_ZONE, f"{name} needs a zone")
            zone = home_zone
        elif type(zone) is not str or zone not in self._zones:
            raise _Refused(RejectReason.BAD_ZONE, f"unknown zone {zone!r}")
        ts = body.get("ts")
        device_ts = None if ts is None else parse_device_time(ts)
        data = body.get("data")
        if type(data) is not dict:
            data = _NO_DATA  # details are optional; a malformed block is dropped, not fatal
        if event is EventType.STATE and type(data.get("on")) is not bool:
            raise _Refused(RejectReason.BAD_STATE, "floodlight state needs a boolean data.on")
        return SensorEvent(device_id, kind, msg_id, event, zone, device_ts, data, topic)


def parse_device_time(ts: Any) -> float:
    """A device's ``ts``: epoch seconds, or ISO-8601 with a UTC offset; as epoch seconds."""
    if type(ts) is int or type(ts) is float:
        try:
            value = float(ts)
        except OverflowError as exc:
            raise _Refused(RejectReason.BAD_TS, "ts out of range") from exc
        if not math.isfinite(value):
            raise _Refused(RejectReason.BAD_TS, "ts is not a finite number")
        return value
    if type(ts) is not str:
        raise _Refused(RejectReason.BAD_TS, _field_problem("ts", ts))
    try:
        when = datetime.fromisoformat(ts)
    except ValueError as exc:
        raise _Refused(RejectReason.BAD_TS, f"ts {ts[:40]!r} is not ISO-8601") from exc
    if when.tzinfo is None or when.utcoffset() is None:
        raise _Refused(RejectReason.BAD_TS, f"ts {ts[:40]!r} has no UTC offset")
    try:
        return when.timestamp()
    except (OverflowError, ValueError) as exc:
        raise _Refused(RejectReason.BAD_TS, "ts out of range") from exc


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
