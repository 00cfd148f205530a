"""One bad message must never cost the others (issue 10), and a device that restarts its
numbering is heard (docs/protocol.md §2a), through the real live path: a Mosquitto,
`vigie serve` as a process, its store on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ADMIN, OPERATOR
from tests.peers import Mosquitto, VigieProcess
from tests.sensors import ROOT, Gateway
from tests.vigie.test_service_live import eventually

POISON = [
    b'{"id":"x-\\ud800","event":"alarm"}',  # a lone surrogate escape: valid JSON
    b'{"id":"x","event":"alarm","data":' + b'{"a":' * 300 + b"1" + b"}" * 300 + b"}",
    b'{"id":"x","event":"alarm","data":{"n":123456789012345678901234567890}}',
    b'{"id":"x\\u0000y","event":"alarm"}',  # NUL: PostgreSQL text refuses it
    b'{"id":"x","event":"alarm","data":{"k\\udfff":1}}',
    b'{"id":"x","event":"alarm","data":{"n":1e999}}',
]


class Store:
    """Reads what `vigie serve` stored, whichever database it runs on."""

    def __init__(self, url: str) -> None:
        self.url = url

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.url.startswith("postgresql://"):
            with psycopg.connect(self.url) as conn:
                return list(conn.execute(sql).fetchall())
        with sqlite3.connect(self.url) as conn:
            return list(conn.execute(sql).fetchall())

    def count(self, table: str) -> int:
        return int(self.rows(f"SELECT COUNT(*) FROM {table}")[0][0])

    def ids(self, device: str) -> set[str]:
        return {r[0] for r in self.rows(f"SELECT msg_id FROM messages WHERE device = '{device}'")}


@pytest.fixture
def service(
    db_url: str, site_file: Path, users_file: Path, broker: Mosquitto, tmp_path: Path
) -> Iterator[tuple[VigieProcess, Store]]:
    v = VigieProcess(site_file, users_file, db_url, broker, tmp_path)
    v.start()
    yield v, Store(db_url)
    v.stop()


def valid(n: int, prefix: str) -> list[tuple[str, bytes]]:
    return [
        (f"{ROOT}/ir/ir-09", json.dumps({"id": f"{prefix}-{i}", "event": "heartbeat"}).encode())
        for i in range(n)
    ]


def test_a_poison_message_in_a_backlog_costs_nothing_across_restarts(
    service: tuple[VigieProcess, Store], broker: Mosquitto
) -> None:
    """300 valid, every poison, 300 valid, all queued while the service is down."""
    vigie, store = service
    vigie.stop()
    batch = valid(300, "before") + [(f"{ROOT}/fence/fence-01", p) for p in POISON]
    batch += valid(300, "after")
    with Gateway(broker.port) as gw:
        for topic, payload in batch:
            gw.send(topic, payload)
        gw.flush()
    vigie.start()
    eventually(lambda: len(store.ids("ir-09")) == 600, what="600 valid messages stored")
    assert vigie.metric("vigie_messages_rejected_all_total", OPERATOR) == len(POISON)
    assert vigie.metric("vigie_messages_accepted_total", OPERATOR) == 600
    assert store.count("rejects") == len(POISON)
    assert vigie.get("/healthz").status_code == 200
    vigie.stop()
    vigie.start()  # nothing comes back: everything was acknowledged
    time.sleep(1.0)
    assert store.count("messages") == 600 and store.count("rejects") == len(POISON)
    assert vigie.metric("vigie_messages_accepted_total", OPERATOR) == 600, "counts survive"
    with Gateway(broker.port, client_id="later") as gw:
        gw.event("ir", "ir-02", id="still-alive", event="alarm")
        gw.flush()
    eventually(lambda: "still-alive" in store.ids("ir-02"), what="ingest goes on")


surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
strings = st.text(st.characters() | surrogates | st.just("\x00"), max_size=6)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | strings,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(strings, inner, max_size=3),
    max_leaves=8,
)
deep = st.integers(20, 300).map(lambda n: {"n": json.loads("[" * n + "]" * n)})
messages = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"id": strings | json_values, "event": st.sampled_from(["alarm", "clear", "x"])},
        optional={"data": json_values | deep, "ts": json_values, "zone": json_values},
    ).map(lambda v: json.dumps(v).encode()),
)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(messages, min_size=5, max_size=40))
def test_arbitrary_messages_are_rejected_or_stored_and_the_next_one_is_processed(
    service: tuple[VigieProcess, Store], broker: Mosquitto, payloads: list[bytes]
) -> None:
    vigie, store = service
    before = {
        name: vigie.metric(name, OPERATOR)
        for name in (
            "vigie_messages_accepted_total",
            "vigie_messages_rejected_all_total",
            "vigie_messages_duplicate_total",
            "vigie_messages_dead_letter_total",
        )
    }
    canaries = []
    with Gateway(broker.port, client_id="fuzz") as gw:
        for payload in payloads:
            gw.send(f"{ROOT}/fence/fence-01", payload)
            canary = f"canary-{time.time_ns()}"
            gw.event("ir", "ir-09", id=canary, event="heartbeat")
            canaries.append(canary)
        gw.flush()
    eventually(lambda: set(canaries) <= store.ids("ir-09"), what="every canary processed")

    def accounted() -> bool:
        now = {name: vigie.metric(name, OPERATOR) for name in before}
        return sum(now.values()) - sum(before.values()) == 2 * len(payloads)

    eventually(accounted, what="each message rejected, stored or a duplicate")
    assert vigie.metric("vigie_messages_dead_letter_total", OPERATOR) == 0
    assert vigie.get("/healthz").status_code == 200


def test_a_device_that_restarts_its_numbering_is_heard(
    service: tuple[VigieProcess, Store], broker: Mosquitto
) -> None:
    vigie, store = service
    with Gateway(broker.port) as gw:
        gw.event("fence", "fence-01", id="000001", event="alarm", data={"mode": "climb"})
        gw.event("fence", "fence-01", id="000001", event="alarm", data={"mode": "climb"})
        gw.flush()
    eventually(lambda: vigie.metric("vigie_messages_duplicate_total", OPERATOR) == 1)
    vigie.stop()
    vigie.start()  # the restored memory follows the same rule
    with Gateway(broker.port) as gw:
        gw.event("fence", "fence-01", id="000001", event="alarm", data={"mode": "climb"})
        gw.event("fence", "fence-01", id="000001", event="tamper")  # rebooted, counting again
        gw.flush()
    eventually(lambda: vigie.metric("vigie_messages_id_reused_total", OPERATOR) == 1)
    assert vigie.metric("vigie_messages_duplicate_total", OPERATOR) == 2
    picture = vigie.get("/api/picture", OPERATOR).json()
    [fence] = [s for s in picture["sensors"] if s["id"] == "fence-01"]
    assert fence["faults"] == ["tamper"], "the reused id's event was processed"
    assert store.count("messages") == 2
    assert "sent id '000001' again with other content" in vigie.log()


def test_stills_are_accepted_only_from_cameras_for_their_own_events(
    service: tuple[VigieProcess, Store], broker: Mosquitto
) -> None:
    vigie, store = service
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"
    with Gateway(broker.port) as gw:
        gw.event("camera", "cam-01", id="p1", event="person", zone="Z01")
        gw.flush()
        time.sleep(0.3)
        gw.send(f"{ROOT}/camera/fence-01/still/forged", jpeg)  # not a camera
        gw.send(f"{ROOT}/camera/cam-01/still/p1", b"<script>not a jpeg</script>")
        gw.send(f"{ROOT}/camera/cam-01/still/nothing", jpeg)  # no such event
        gw.send(f"{ROOT}/camera/cam-01/still/p1", jpeg[:-2] + b"\x00" * 600_000 + b"\xff\xd9")
        gw.send(f"{ROOT}/camera/cam-01/still/p1", jpeg)  # the one true still
        gw.flush()
    eventually(lambda: vigie.metric("vigie_stills_refused_total", OPERATOR) == 4)
    eventually(lambda: store.count("evidence") == 1, what="the true still kept")
    [incident] = vigie.get("/api/incidents", OPERATOR).json()
    detail = vigie.get(f"/api/incidents/{incident['id']}", OPERATOR).json()
    assert [e["id"] for e in detail["evidence"]] == ["p1"]


def test_dead_letters_are_for_admins_only(service: tuple[VigieProcess, Store]) -> None:
    vigie, _ = service
    assert vigie.get("/api/dead-letters", OPERATOR).status_code == 403
    response = vigie.get("/api/dead-letters", ADMIN)
    assert response.status_code == 200 and response.json() == []


class LockedOutRole:
    """A PostgreSQL role of its own for one service, which a test can lock out (its
    connections cut) and let in again: the store unreachable, then back."""

    def __init__(self, pg_url: str, tmp_path: Path) -> None:
        self.role = f"vigie_{tmp_path.name[-12:].replace('-', '_').lower()}"
        schema = pg_url.split("search_path%3D")[1]
        self.admin = psycopg.connect(pg_url.split("?", maxsplit=1)[0], autocommit=True)
        self.admin.execute(f'CREATE ROLE "{self.role}" LOGIN')
        self.admin.execute(f'GRANT ALL ON SCHEMA "{schema}" TO "{self.role}"')
        self.url = pg_url.replace("postgres@", f"{self.role}@")

    def lock_out(self) -> None:
        self.admin.execute(f'ALTER ROLE "{self.role}" NOLOGIN')
        self.admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
            (self.role,),
        )

    def let_in(self) -> None:
        self.admin.execute(f'ALTER ROLE "{self.role}" LOGIN')

    def drop(self) -> None:
        self.admin.execute(f'DROP OWNED BY "{self.role}" CASCADE')
        self.admin.execute(f'DROP ROLE "{self.role}"')
        self.admin.close()


@pytest.fixture
def lockable(
    site_file: Path, users_file: Path, broker: Mosquitto, tmp_path: Path, pg_url: str
) -> Iterator[tuple[VigieProcess, LockedOutRole, Store]]:
    """`vigie serve` on PostgreSQL as a role of its own, which the test can lock out."""
    role = LockedOutRole(pg_url, tmp_path)
    vigie = VigieProcess(site_file, users_file, role.url, broker, tmp_path)
    try:
        vigie.start()
        yield vigie, role, Store(pg_url)
    finally:
        vigie.stop()
        role.drop()


def test_an_unreachable_store_holds_the_batch_and_loses_nothing(
    lockable: tuple[VigieProcess, LockedOutRole, Store], broker: Mosquitto
) -> None:
    """The service's PostgreSQL role is locked out and its connection cut mid-stream:
    /healthz says so, nothing is acknowledged, and everything is stored once it is back."""
    vigie, role, store = lockable
    with Gateway(broker.port) as gw:
        for i in range(100):
            gw.event("ir", "ir-09", id=f"a-{i}", event="heartbeat")
        gw.flush()
        eventually(lambda: len(store.ids("ir-09")) == 100, what="first 100 stored")
        role.lock_out()
        for i in range(100):
            gw.event("ir", "ir-09", id=f"b-{i}", event="heartbeat")
        gw.flush()
        eventually(lambda: vigie.get("/healthz").status_code == 503, what="503 while down")
        assert vigie.get("/healthz").json()["store"] is False
        role.let_in()
        eventually(lambda: len(store.ids("ir-09")) == 200, within_s=30, what="all stored")
        eventually(lambda: vigie.get("/healthz").status_code == 200, what="healthy again")
    assert store.count("messages") == 200 and store.count("dead_letters") == 0


def test_an_acknowledgement_while_the_store_is_down_is_written_once_it_is_back(
    lockable: tuple[VigieProcess, LockedOutRole, Store], broker: Mosquitto
) -> None:
    """The engine takes the acknowledgement at once; the store cannot: the operator gets a
    503 saying it stands, and it is written (with its audit entry) when the store returns,
    so the store never stays behind what the engine decided."""
    vigie, role, store = lockable
    with Gateway(broker.port) as gw:
        gw.event("ir", "ir-01", id="alarm-1", event="alarm")
        gw.flush()
    eventually(lambda: store.count("incidents") == 1, what="the incident stored")
    [(incident,)] = store.rows("SELECT id FROM incidents")
    role.lock_out()
    answer = httpx.post(
        f"{vigie.base}/api/incidents/{incident}/ack",
        json={"comment": "patrol sent"},
        headers={"Authorization": f"Bearer {OPERATOR}"},
        timeout=60,
    )
    assert answer.status_code == 503, answer.text
    assert "stands" in answer.json()["detail"]
    assert store.rows(f"SELECT state FROM incidents WHERE id = '{incident}'") == [("open",)]
    role.let_in()

    def written() -> bool:
        return store.rows(f"SELECT state FROM incidents WHERE id = '{incident}'") == [
            ("acknowledged",)
        ]

    eventually(written, within_s=30, what="the acknowledgement written")
    audit = store.rows(f"SELECT who, action, comment FROM audit WHERE incident_id = '{incident}'")
    assert [a[1:] for a in audit] == [("ack", "patrol sent")]
    again = vigie.post(f"/api/incidents/{incident}/ack", {"comment": "again"}, OPERATOR)
    assert again.status_code == 409, "it was acknowledged once, not twice"


def test_a_flood_of_bad_messages_is_counted_exactly_and_logged_sparingly(
    service: tuple[VigieProcess, Store], broker: Mosquitto
) -> None:
    vigie, _ = service
    with Gateway(broker.port) as gw:
        for i in range(2000):
            gw.send(f"{ROOT}/ir/ir-01", b"not json %d" % i)
        for i in range(500):
            gw.send(f"{ROOT}/ir/ir-01", json.dumps({"id": f"z{i}", "event": "nope"}).encode())
        gw.flush()
    eventually(lambda: vigie.metric("vigie_messages_rejected_all_total", OPERATOR) == 2500)
    whole = vigie.log_path.read_text(errors="replace")
    lines = [line for line in whole.splitlines() if "rejected '" in line]
    assert 1 <= len(lines) <= 4, "the first of each reason, not one line per message"
