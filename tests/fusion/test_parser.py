"""The message parser: every rejection reason of docs/protocol.md §2, and no crash on any bytes."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fusion.events import DeviceEvent, DeviceKind, EventType, Rejection, RejectReason
from fusion.jsonvalues import UnsupportedValue, decode_json
from fusion.parser import MAX_PAYLOAD_BYTES, MessageParser, Parsed
from tests.builders import strip_site

PARSER = MessageParser(strip_site())
ROOT = "perimeter/coquelles"


def parse(topic: str, payload: Any) -> Parsed:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return PARSER.parse(f"{ROOT}/{topic}", raw)


def reason(topic: str, payload: Any) -> RejectReason:
    result = parse(topic, payload)
    assert isinstance(result, Rejection), result
    return result.reason


def test_a_valid_alarm_becomes_a_typed_event_in_its_home_zone() -> None:
    result = parse(
        "fence/fence-01",
        {
            "id": "f-1",
            "ts": "2026-11-26T21:04:05.120Z",
            "event": "alarm",
            "data": {"position_m": 3, "mode": "cut"},
        },
    )
    assert isinstance(result, DeviceEvent)
    assert (result.device, result.kind, result.event) == (
        "fence-01",
        DeviceKind.FENCE,
        EventType.ALARM,
    )
    assert result.zone == "Z01"
    assert result.device_ts == pytest.approx(1795727045.12)
    assert result.data == {"position_m": 3, "mode": "cut"}


def test_the_message_zone_overrides_the_site_file_and_epoch_ts_is_accepted() -> None:
    result = parse("ir/ir-01", {"id": "1", "event": "alarm", "zone": "Z03", "ts": 1795727045})
    assert isinstance(result, DeviceEvent)
    assert (result.zone, result.device_ts) == ("Z03", 1795727045.0)


def test_a_camera_detection_carries_its_zone() -> None:
    result = parse(
        "camera/cam-01",
        {
            "id": "c",
            "event": "person",
            "zone": "Z02",
            "data": {"box": [0.1, 0.2, 0.1, 0.3], "score": 0.8},
        },
    )
    assert isinstance(result, DeviceEvent)
    assert (result.kind, result.zone) == (DeviceKind.CAMERA, "Z02")


@pytest.mark.parametrize(
    ("topic", "payload", "expected"),
    [
        ("ir/ir-01", b"not json", RejectReason.NOT_JSON),
        ("ir/ir-01", b'{"id": "1", "event": "alarm"', RejectReason.NOT_JSON),
        ("ir/ir-01", b'{"id": "1", "event": "alarm", "data": {"x": NaN}}', RejectReason.NOT_JSON),
        ("ir/ir-01", '{"id": "1", "event": "alarm"}'.encode("utf-16"), RejectReason.NOT_JSON),
        ("ir/ir-01", b"\xff\xfe{}", RejectReason.NOT_JSON),
        ("ir/ir-01", [1, 2], RejectReason.NOT_OBJECT),
        ("ir/ir-01", "alarm", RejectReason.NOT_OBJECT),
        ("ir/ir-01", {"event": "alarm"}, RejectReason.BAD_ID),
        ("ir/ir-01", {"id": 7, "event": "alarm"}, RejectReason.BAD_ID),
        ("ir/ir-01", {"id": "1"}, RejectReason.BAD_EVENT),
        ("ir/ir-01", {"id": "1", "event": ["alarm"]}, RejectReason.BAD_EVENT),
        ("ir/ir-01", {"id": "1", "event": "person", "zone": "Z01"}, RejectReason.UNKNOWN_EVENT),
        ("floodlight/fl-01", {"id": "1", "event": "tamper"}, RejectReason.UNKNOWN_EVENT),
        ("camera/cam-01", {"id": "1", "event": "clear"}, RejectReason.UNKNOWN_EVENT),
        ("ir/ir-77", {"id": "1", "event": "alarm"}, RejectReason.UNKNOWN_DEVICE),
        ("ir/fence-01", {"id": "1", "event": "alarm"}, RejectReason.UNKNOWN_DEVICE),
        ("camera/ir-01", {"id": "1", "event": "heartbeat"}, RejectReason.UNKNOWN_DEVICE),
        ("radar/ir-01", {"id": "1", "event": "alarm"}, RejectReason.BAD_TOPIC),
        ("ir/ir-01/extra", {"id": "1", "event": "alarm"}, RejectReason.BAD_TOPIC),
        ("ir/ir-01", {"id": "1", "event": "alarm", "zone": "Z77"}, RejectReason.BAD_ZONE),
        ("ir/ir-01", {"id": "1", "event": "alarm", "zone": 1}, RejectReason.BAD_ZONE),
        ("camera/cam-01", {"id": "1", "event": "motion"}, RejectReason.MISSING_ZONE),
        ("camera/cam-01", {"id": "1", "event": "person", "zone": None}, RejectReason.MISSING_ZONE),
        ("ir/ir-01", {"id": "1", "event": "alarm", "ts": "yesterday"}, RejectReason.BAD_TS),
        (
            "ir/ir-01",
            {"id": "1", "event": "alarm", "ts": "2026-11-26T21:04:05"},
            RejectReason.BAD_TS,
        ),
        ("ir/ir-01", {"id": "1", "event": "alarm", "ts": True}, RejectReason.BAD_TS),
        ("ir/ir-01", {"id": "1", "event": "alarm", "ts": [1]}, RejectReason.BAD_TS),
        ("floodlight/fl-01", {"id": "1", "event": "state"}, RejectReason.BAD_STATE),
        (
            "floodlight/fl-01",
            {"id": "1", "event": "state", "data": {"on": "yes"}},
            RejectReason.BAD_STATE,
        ),
        (
            "floodlight/fl-01",
            {"id": "1", "event": "state", "data": {"on": 1}},
            RejectReason.BAD_STATE,
        ),
    ],
)
def test_each_rejection_reason(topic: str, payload: Any, expected: RejectReason) -> None:
    assert reason(topic, payload) is expected


def test_a_message_on_another_site_or_prefix_is_refused() -> None:
    body = json.dumps({"id": "1", "event": "alarm"}).encode()
    for topic in ("perimeter/calais/ir/ir-01", "other/coquelles/ir/ir-01", "ir-01"):
        result = PARSER.parse(topic, body)
        assert isinstance(result, Rejection)
        assert result.reason is RejectReason.BAD_TOPIC


def test_an_oversized_payload_is_refused_before_it_is_decoded() -> None:
    big = {"id": "1", "event": "alarm", "data": {"pad": "x" * MAX_PAYLOAD_BYTES}}
    result = parse("ir/ir-01", big)
    assert isinstance(result, Rejection)
    assert result.reason is RejectReason.TOO_LARGE
    assert len(result.prefix) == 200
    exactly = json.dumps({"id": "1", "event": "alarm", "data": {"pad": ""}}).encode()
    padded = exactly.replace(
        b'"pad": ""', b'"pad": "' + b"x" * (MAX_PAYLOAD_BYTES - len(exactly)) + b'"'
    )
    assert len(padded) == MAX_PAYLOAD_BYTES
    assert isinstance(PARSER.parse(f"{ROOT}/ir/ir-01", padded), DeviceEvent)


def test_optional_details_of_the_wrong_shape_do_not_lose_the_event() -> None:
    result = parse("fence/fence-01", {"id": "1", "event": "alarm", "data": "cut"})
    assert isinstance(result, DeviceEvent)
    assert result.data == {}
    result = parse("fence/fence-01", {"id": "1", "event": "alarm", "ts": None, "zone": None})
    assert isinstance(result, DeviceEvent)
    assert (result.zone, result.device_ts) == ("Z01", None)


def test_huge_integers_and_deep_nesting_are_refused_not_fatal() -> None:
    big = b'{"id": "1", "event": "alarm", "data": {"n": 123456789012345678901234567890}}'
    result = PARSER.parse(f"{ROOT}/ir/ir-01", big)
    assert isinstance(result, Rejection) and result.reason is RejectReason.UNSUPPORTED_VALUE
    deep = b'{"id": "1", "event": "alarm", "data": ' + b"[" * 30000 + b"]" * 30000 + b"}"
    result = PARSER.parse(f"{ROOT}/ir/ir-01", deep)
    assert isinstance(result, Rejection)


def nested(levels: int) -> bytes:
    return (
        b'{"id": "1", "event": "alarm", "data": ' + b'{"a": ' * levels + b"1" + b"}" * levels + b"}"
    )


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b'{"id": "x-\\ud800", "event": "alarm"}', "a lone surrogate in the id"),
        (b'{"id": "x", "event": "alarm", "data": {"k": "\\udc00"}}', "a lone low surrogate"),
        (b'{"id": "x", "event": "alarm", "data": {"\\ud83d": 1}}', "a lone surrogate in a key"),
        (b'{"id": "x\\u0000", "event": "alarm"}', "NUL, which PostgreSQL text refuses"),
        (b'{"id": "x", "event": "alarm", "data": {"k": ["\\u0000"]}}', "NUL deep in data"),
        (nested(300), "300 levels of nesting (1,860 bytes)"),
        (nested(33), "details nested one level beyond the limit of 32"),
        (b'{"id": "x", "event": "alarm", "data": {"n": 9223372036854775808}}', "2^63"),
        (b'{"id": "x", "event": "alarm", "data": {"n": -9223372036854775809}}', "-2^63 - 1"),
        (b'{"id": "x", "event": "alarm", "data": {"n": 1e999}}', "a number that overflows"),
        (b'{"id": "x", "event": "alarm", "data": {"n": -1e400}}', "and its negative"),
        (b'{"id": "x", "event": "alarm", "data": {"n": 1e308}}', "beyond the ±2^63 limit"),
    ],
)
def test_what_no_later_stage_can_carry_is_refused(payload: bytes, why: str) -> None:
    result = PARSER.parse(f"{ROOT}/fence/fence-01", payload)
    assert isinstance(result, Rejection), why
    assert result.reason is RejectReason.UNSUPPORTED_VALUE, why


@pytest.mark.parametrize(
    "payload",
    [
        nested(32),
        b'{"id": "x", "event": "alarm", "data": {"n": 9223372036854775807}}',
        b'{"id": "x", "event": "alarm", "data": {"n": -9223372036854775808}}',
        b'{"id": "x", "event": "alarm", "data": {"n": 9.2e18, "ok": "\\ud83d\\ude00"}}',
        b'{"id": "cam-20261127T210405-0000000000000000001", "event": "alarm"}',
    ],
)
def test_what_every_stage_carries_is_accepted(payload: bytes) -> None:
    result = PARSER.parse(f"{ROOT}/fence/fence-01", payload)
    assert isinstance(result, DeviceEvent)
    orjson.dumps(dict(result.data))


@settings(max_examples=400)
@given(topic=st.text(max_size=60), payload=st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(topic: str, payload: bytes) -> None:
    for t in (topic, f"{ROOT}/ir/ir-01", f"{ROOT}/camera/cam-01"):
        result = PARSER.parse(t, payload)
        assert isinstance(result, DeviceEvent | Rejection)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=400)
@given(
    kind_id=st.sampled_from(["ir/ir-01", "fence/fence-01", "floodlight/fl-01", "camera/cam-01"]),
    body=st.fixed_dictionaries(
        {},
        optional={
            "id": st.one_of(st.text(max_size=5), json_values),
            "event": st.one_of(st.sampled_from([e.value for e in EventType]), json_values),
            "zone": st.one_of(st.sampled_from(["Z01", "Z02", "Z77"]), json_values),
            "ts": st.one_of(st.sampled_from(["2026-11-26T21:04:05Z", "bad"]), json_values),
            "data": st.one_of(st.fixed_dictionaries({"on": st.booleans()}), json_values),
        },
    ),
)
def test_arbitrary_json_objects_never_raise_and_agree_with_the_value_path(
    kind_id: str, body: dict[str, Any]
) -> None:
    topic = f"{ROOT}/{kind_id}"
    raw = json.dumps(body).encode()
    from_bytes = PARSER.parse(topic, raw)
    try:
        value = decode_json(raw)
    except UnsupportedValue:
        assert isinstance(from_bytes, Rejection)
        assert from_bytes.reason is RejectReason.UNSUPPORTED_VALUE
        return
    from_value = PARSER.parse_value(topic, value, len(raw))
    assert isinstance(from_bytes, DeviceEvent | Rejection)
    assert type(from_bytes) is type(from_value)
    if isinstance(from_bytes, Rejection):
        assert isinstance(from_value, Rejection)
        assert from_bytes.reason is from_value.reason
    else:
        assert from_bytes == from_value
