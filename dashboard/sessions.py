"""Browser sessions, kept by the server.

A session id is 256 random bits, given to the browser once in an HttpOnly cookie
and kept only as its SHA-256, next to the user's name, a fingerprint of the user's
entry in the users file, when it was opened and when it was last used. A session
ends at logout, when its user's entry changes (role, token, removal), after
``idle_s`` without use and ``absolute_s`` after it was opened, whichever comes
first. An open websocket counts as use: the page on the control-room screen keeps
its session until the end of the shift, while a closed tab's session soon lapses.

Sessions are written through to the service's store (opened, ended, and last use
at most once a minute), so a restart signs nobody out, and a logout answered 200
is on disk.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Final, Protocol

from pydantic import BaseModel, ConfigDict, Field

from dashboard.auth import User, Users

SESSION_COOKIE: Final = "vigie_session"

ID_BYTES: Final = 32
"""256 bits: guessing a live id is out of reach, whatever the rate."""

TOUCH_WRITE_S: Final = 60.0
"""Last use is written to the store at most this often per session: a restart may
then shorten a session's idle allowance by up to a minute, never lengthen it."""

PER_USER: Final = 32
"""Live sessions per user at most; the least recently used goes first. Bounds what
one valid login, repeated, can make the service remember."""


class SessionPolicy(BaseModel):
    """How long a session lasts."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    idle_s: float = Field(
        default=30 * 60,
        gt=0,
        description="ends after this long without a request or an open websocket: a "
        "tab closed or a workstation cut off for half an hour signs in again",
    )
    absolute_s: float = Field(
        default=12 * 3600,
        gt=0,
        description="ends this long after sign-in whatever the use: a control-room shift",
    )


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A session as the store keeps it; ``id_sha256`` is the hash of the cookie's id."""

    id_sha256: str
    user: str
    fingerprint: str
    created: float
    last_used: float


class SessionStore(Protocol):
    """Where sessions are kept across restarts (the service's store)."""

    async def load_sessions(self) -> list[SessionRecord]: ...
    async def save_session(self, record: SessionRecord) -> None: ...
    async def touch_sessions(self, last_used: dict[str, float]) -> None: ...
    async def end_sessions(self, ids: list[str]) -> None: ...


@dataclass(slots=True)
class _Live:
    record: SessionRecord
    written: float
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class SessionBook:
    """The live sessions, in memory, written through to a :class:`SessionStore`."""

    def __init__(
        self,
        store: SessionStore,
        users: Users,
        policy: SessionPolicy,
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._users = users
        self.policy = policy
        self._clock = clock
        self._live: dict[str, _Live] | None = None
        self._loading = asyncio.Lock()

    async def open(self, user: User) -> str:
        """Start a session for ``user``; returns the id for the cookie (never stored)."""
        live = await self._sessions()
        now = self._clock()
        await self._end_lapsed(now)
        mine = sorted(
            (s for s in live.values() if s.record.user == user.name),
            key=lambda s: s.record.last_used,
        )
        if len(mine) >= PER_USER:
            await self._end([s.record.id_sha256 for s in mine[: len(mine) - PER_USER + 1]])
        token = secrets.token_urlsafe(ID_BYTES)
        record = SessionRecord(_hash(token), user.name, user.fingerprint, now, now)
        await self._store.save_session(record)
        live[record.id_sha256] = _Live(record, now)
        return token

    async def user_of(self, token: str) -> User | None:
        """The user of a live session, marking it used; None if there is no such session."""
        live = await self._sessions()
        session = live.get(_hash(token))
        if session is None:
            return None
        now = self._clock()
        user = self._users.by_name(session.record.user)
        if (
            self._lapsed(session.record, now)
            or user is None
            or user.fingerprint != session.record.fingerprint
        ):
            await self._end([session.record.id_sha256])
            return None
        session.record = replace(session.record, last_used=now)
        if now - session.written >= TOUCH_WRITE_S:
            session.written = now
            await self._store.touch_sessions({session.record.id_sha256: now})
        return user

    async def end(self, token: str) -> None:
        """Logout: the session is gone from memory and from the store."""
        await self._sessions()
        await self._end([_hash(token)])

    async def until_ended(self, token: str, check_s: float) -> None:
        """Return when the session ends, marking it used every ``check_s`` until then
        (for a websocket: its page is on screen)."""
        live = await self._sessions()
        while True:
            session = live.get(_hash(token))
            if session is None:
                return
            left = session.record.created + self.policy.absolute_s - self._clock()
            try:
                await asyncio.wait_for(session.ended.wait(), max(0.0, min(check_s, left)))
            except TimeoutError:
                if await self.user_of(token) is None:
                    return
            else:
                return

    async def _sessions(self) -> dict[str, _Live]:
        if self._live is None:
            async with self._loading:
                if self._live is None:
                    now = self._clock()
                    records = await self._store.load_sessions()
                    self._live = {r.id_sha256: _Live(r, r.last_used) for r in records}
                    await self._end_lapsed(now)
        return self._live

    def _lapsed(self, record: SessionRecord, now: float) -> bool:
        return (
            now >= record.created + self.policy.absolute_s
            or now >= record.last_used + self.policy.idle_s
        )

    async def _end_lapsed(self, now: float) -> None:
        live = self._live or {}
        await self._end([k for k, s in live.items() if self._lapsed(s.record, now)])

    async def _end(self, ids: list[str]) -> None:
        if not ids:
            return
        live = self._live or {}
        for key in ids:
            session = live.pop(key, None)
            if session is not None:
                session.ended.set()
        await self._store.end_sessions(ids)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
