"""What the pipeline can carry: JSON decoded strictly, and the limits every later stage
(the store, the websocket, the reports) can hold.

Python's ``json`` accepts lone surrogates, which no UTF-8 encoder writes back; orjson
writes at most 254 levels of nesting and reads integers beyond 64 bits as floats;
PostgreSQL text holds no NUL. A message holding such a value is refused with reason
``unsupported_value`` (docs/protocol.md §2) instead of failing later, where it once
killed the ingest task and took its batch with it.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

import orjson

MAX_DEPTH: Final = 32
"""Deepest nesting of arrays and objects accepted in a message. Device details are flat
(a box, a score); 32 leaves room for any vendor's extras while staying far under the
254 levels that orjson can write back out (the store and the websocket use it)."""

INT_MIN: Final = -(2**63)
INT_MAX: Final = 2**63 - 1
"""Integers must fit in 64 signed bits: what JSON encoders and the store carry exactly."""

FLOAT_LIMIT: Final = 2.0**63
"""Numbers in a message's details must lie within ±2^63. orjson reads an integer beyond
64 bits as a float, silently losing its digits; refusing every number of that size
catches it without decoding the message twice, and no device reports such a value."""


class UnsupportedValue(ValueError):
    """Valid JSON holding a value that a later stage of the pipeline cannot carry."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _exact_int(text: str) -> int:
    value = int(text)
    if not INT_MIN <= value <= INT_MAX:
        raise UnsupportedValue(f"integer {text[:24]}... does not fit in 64 bits")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnsupportedValue(f"number {text[:24]} overflows")
    return value


def decode_json(payload: bytes) -> Any:
    """Strict JSON (UTF-8, no NaN/Infinity).

    Raises :class:`UnsupportedValue` for valid JSON that cannot be carried, ValueError
    (or RecursionError) for what is not JSON. orjson is strict and fast, and refuses lone
    surrogates; what it refuses is decoded again with the standard library to tell the
    two apart (and then walked in full). What orjson accepts may still hold a NUL, deep
    nesting or a huge number: the parser checks the parts it passes on (the id, the
    details) with :func:`check_carriable`, not the whole payload, which is only ever
    stored as bytes.
    """
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError:
        text = payload.decode("utf-8")  # UnicodeDecodeError is a ValueError
        value = json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_int=_exact_int,
            parse_float=_finite_float,
        )
        check_carriable(value)
    return value


def decode_json_leniently(payload: bytes) -> Any:
    """Any valid JSON, exactly as the standard library reads it (lone surrogates, big
    integers and deep nesting included): for looking inside a recording line whose
    payload :func:`decode_json` refused, so that the message is rejected, not the line."""
    return json.loads(payload, parse_constant=_refuse_constant)


def check_carriable(value: Any, depth: int = 0) -> None:
    """Raise :class:`UnsupportedValue` if ``value`` holds anything a later stage cannot
    encode: nesting beyond :data:`MAX_DEPTH`, a lone surrogate or NUL in a string (keys
    included), an integer outside 64 bits, a non-finite number."""
    kind = type(value)
    if kind is str:
        _check_text(value)
    elif kind is dict:
        if depth >= MAX_DEPTH:
            raise UnsupportedValue(f"nested deeper than {MAX_DEPTH} levels")
        for k, v in value.items():
            _check_text(k)
            if type(v) in _SCALARS:
                if type(v) is not str:
                    _check_number(v)
                else:
                    _check_text(v)
            else:
                check_carriable(v, depth + 1)
    elif kind is list:
        if depth >= MAX_DEPTH:
            raise UnsupportedValue(f"nested deeper than {MAX_DEPTH} levels")
        for v in value:
            check_carriable(v, depth + 1)
    else:
        _check_number(value)


_SCALARS: Final = frozenset({str, int, float, bool, type(None)})


def _check_text(s: str) -> None:
    if "\x00" in s:
        raise UnsupportedValue("a string holds a NUL character")
    if not s.isascii():
        try:
            s.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise UnsupportedValue("a string holds a lone UTF-16 surrogate") from exc


def _check_number(v: Any) -> None:
    kind = type(v)
    if kind is int:
        if not INT_MIN <= v <= INT_MAX:
            raise UnsupportedValue("an integer does not fit in 64 bits")
    elif kind is float and not -FLOAT_LIMIT < v < FLOAT_LIMIT:
        raise UnsupportedValue("a number is beyond ±2^63 (or not finite)")
