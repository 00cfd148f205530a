"""Server-side sessions on the real store (SQLite and PostgreSQL), on a hand-turned clock."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

from dashboard.auth import Users
from dashboard.sessions import PER_USER, SessionBook, SessionPolicy, SessionRecord
from vigie.store import Store
from vigie.store.sessions import SessionTable


class TableStore:
    """The service's four session calls, straight onto a :class:`SessionTable`."""

    opened: ClassVar[list[SessionTable]] = []

    def __init__(self, url: str) -> None:
        Store(url).close()  # opens and migrates, as the service does first
        self.table = SessionTable(url)
        self.opened.append(self.table)

    async def load_sessions(self) -> list[SessionRecord]:
        return self.table.load()

    async def save_session(self, record: SessionRecord) -> None:
        self.table.save(record)

    async def touch_sessions(self, last_used: dict[str, float]) -> None:
        self.table.touch(last_used)

    async def end_sessions(self, ids: list[str]) -> None:
        self.table.end(ids)


@pytest.fixture(autouse=True)
def close_tables() -> Iterator[None]:
    yield
    while TableStore.opened:
        TableStore.opened.pop().close()


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


def users_yaml(path: Path, **tokens: tuple[str, str]) -> Users:
    entries = [
        {"name": n, "role": r, "token_sha256": hashlib.sha256(t.encode()).hexdigest()}
        for n, (r, t) in tokens.items()
    ]
    path.write_text(yaml.safe_dump({"users": entries}))
    return Users.load(path)


POLICY = SessionPolicy(idle_s=1800, absolute_s=12 * 3600)


def test_ids_are_random_stored_hashed_and_survive_a_restart(db_url: str, tmp_path: Path) -> None:
    async def run() -> None:
        users = users_yaml(tmp_path / "u.yaml", alice=("operator", "a-token"))
        store, clock = TableStore(db_url), Clock()
        book = SessionBook(store, users, POLICY, clock)
        alice = users.by_name("alice")
        assert alice is not None
        first, second = await book.open(alice), await book.open(alice)
        assert first != second and len(first) >= 43  # 256 bits, base64url
        stored = store.table.load()
        assert {r.id_sha256 for r in stored} == {
            hashlib.sha256(t.encode()).hexdigest() for t in (first, second)
        }
        assert all(first not in repr(r) for r in stored), "the id itself is never stored"

        again = SessionBook(TableStore(db_url), users, POLICY, clock)  # a restarted service
        clock.t += 60
        assert await again.user_of(first) == alice
        await again.end(first)
        assert await again.user_of(first) is None
        assert await again.user_of(second) == alice
        third = SessionBook(TableStore(db_url), users, POLICY, clock)
        assert await third.user_of(first) is None, "a logout is on disk"
        assert await third.user_of("made-up") is None

    asyncio.run(run())


def test_idle_and_absolute_limits(db_url: str, tmp_path: Path) -> None:
    async def run() -> None:
        users = users_yaml(tmp_path / "u.yaml", alice=("operator", "a-token"))
        store, clock = TableStore(db_url), Clock()
        book = SessionBook(store, users, POLICY, clock)
        alice = users.by_name("alice")
        assert alice is not None
        used, idle = await book.open(alice), await book.open(alice)
        for _ in range(24):  # used every 29 minutes for 11 h 36 min
            clock.t += 29 * 60
            assert await book.user_of(used) == alice
        assert await book.user_of(idle) is None, "unused for more than 30 minutes"
        clock.t += 24 * 60 - 1
        assert await book.user_of(used) == alice
        clock.t += 1
        assert await book.user_of(used) is None, "12 h after sign-in, used or not"
        assert store.table.load() == [], "ended sessions are gone from the store"

    asyncio.run(run())


def test_a_changed_users_file_ends_the_sessions_of_the_changed_entries(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("dashboard.auth.RELOAD_CHECK_S", 0.0)

    async def run() -> None:
        path = tmp_path / "u.yaml"
        users = users_yaml(
            path, alice=("operator", "a"), bob=("operator", "b"), carl=("commander", "c")
        )
        book = SessionBook(TableStore(db_url), users, POLICY, Clock())
        tokens = {}
        for name in ("alice", "bob", "carl"):
            user = users.by_name(name)
            assert user is not None
            tokens[name] = await book.open(user)
        # alice gets a new token, bob becomes a commander, carl is unchanged
        users_yaml(path, alice=("operator", "a2"), bob=("commander", "b"), carl=("commander", "c"))
        users.refresh()
        assert await book.user_of(tokens["alice"]) is None
        assert await book.user_of(tokens["bob"]) is None
        carl = await book.user_of(tokens["carl"])
        assert carl is not None and carl.name == "carl"
        path.write_text("users: [nonsense")  # a broken file keeps the previous users
        users.refresh()
        assert await book.user_of(tokens["carl"]) is not None

    asyncio.run(run())


def test_a_websocket_watch_ends_at_logout_and_one_user_holds_a_bounded_number(
    tmp_path: Path,
) -> None:
    async def run() -> None:
        users = users_yaml(tmp_path / "u.yaml", alice=("operator", "a"))
        book = SessionBook(TableStore(str(tmp_path / "s.db")), users, POLICY, Clock())
        alice = users.by_name("alice")
        assert alice is not None
        tokens = [await book.open(alice) for _ in range(PER_USER + 3)]
        live = [t for t in tokens if await book.user_of(t) is not None]
        assert live == tokens[3:], "the oldest went first"
        watch = asyncio.create_task(book.until_ended(tokens[-1], check_s=60))
        await asyncio.sleep(0.05)
        assert not watch.done()
        await book.end(tokens[-1])
        await asyncio.wait_for(watch, 1)

    asyncio.run(run())
