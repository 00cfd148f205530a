"""Helpers for the HTTP-edge tests against a real `vigie serve`."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from tests.conftest import OPERATOR
from tests.peers import Mosquitto, VigieProcess
from tests.sensors import Gateway


def eventually(check: Callable[[], Any], within_s: float = 15.0, what: str = "") -> Any:
    deadline = time.monotonic() + within_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within_s} s: {what}")
        time.sleep(0.05)


def open_an_incident(v: VigieProcess, broker: Mosquitto, sensor: str = "ir-01") -> str:
    with Gateway(broker.port) as gw:
        gw.event("ir", sensor, id=f"{sensor}-a", event="alarm")
        gw.flush()
    eventually(
        lambda: v.get("/api/incidents/INC-000001", OPERATOR).status_code == 200,
        what="an incident",
    )
    return "INC-000001"


@contextlib.contextmanager
def signed_in(
    v: VigieProcess, name: str = "alice", token: str = OPERATOR
) -> Iterator[httpx.Client]:
    """A client holding a session cookie and sending the page's Origin, as the page's
    browser would after signing in."""
    with httpx.Client(base_url=v.base, timeout=10, headers={"Origin": v.base}) as client:
        answer = client.post("/api/login", json={"username": name, "token": token})
        assert answer.status_code == 200, answer.text
        yield client


def session_of(v: VigieProcess, name: str = "alice", token: str = OPERATOR) -> str:
    """A fresh session id (the cookie's value)."""
    with signed_in(v, name, token) as client:
        return str(client.cookies["vigie_session"])


def history(v: VigieProcess, incident: str) -> list[tuple[str, str]]:
    detail = v.get(f"/api/incidents/{incident}", OPERATOR).json()
    return [(h["who"], h["action"]) for h in detail["history"]]
