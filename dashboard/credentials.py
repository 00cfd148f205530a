"""Who is calling: a bearer token or the session cookie, checked in this order:

1. a client address or user name that has failed too often waits (429, with
   ``Retry-After``), whether or not this attempt would have succeeded;
2. no valid credential: 401 (each wrong token and each failed sign-in is counted
   and logged with the address and the user name, never the token);
3. a session cookie on a request from another origin: 403 (see
   :func:`dashboard.security.cross_origin`).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from fastapi import HTTPException
from starlette.requests import HTTPConnection

from dashboard.auth import User, Users
from dashboard.security import cross_origin
from dashboard.sessions import SESSION_COOKIE, SessionBook
from dashboard.throttle import BY_ADDRESS, BY_USER, Throttle

log = logging.getLogger("vigie.auth")

WS_CHECK_S: Final = 30.0
"""An open websocket's credential is looked at again this often (and at once on
logout): a user removed from the users file is cut off within this time."""

UNAUTHENTICATED: Final = "a valid bearer token or session is required"


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller; ``session`` is the cookie's session id, if signed in so."""

    user: User
    session: str | None = None


class Credentials:
    """Checks credentials, slows down guessing, and keeps the browser to its origin."""

    def __init__(
        self,
        users: Users,
        sessions: SessionBook,
        clock: Callable[[], float],
        trusted_origins: Iterable[str] = (),
    ) -> None:
        self.users = users
        self.sessions = sessions
        self._clock = clock
        self._trusted = tuple(trusted_origins)
        self.by_user = Throttle(BY_USER)
        self.by_address = Throttle(BY_ADDRESS)

    async def caller(self, conn: HTTPConnection) -> Caller:
        """The caller of a request or websocket handshake, or HTTPException 401/403/429."""
        self.users.refresh()
        address = _address(conn)
        header = conn.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            self._not_waiting(address=address)
            user = self.users.by_token(header[7:].strip())
            if user is None:
                failures = self.by_address.failed(address, self._clock())
                log.warning("wrong bearer token from %s (%d failures)", address, failures)
                raise _unauthenticated()
            return Caller(user)
        cookie = conn.cookies.get(SESSION_COOKIE)
        if cookie:
            user = await self.sessions.user_of(cookie)
            if user is None:
                raise _unauthenticated("the session has ended: sign in again")
            self.same_origin(conn)
            return Caller(user, cookie)
        raise _unauthenticated()

    def same_origin(self, conn: HTTPConnection) -> None:
        """403 for a browser request sent from another origin."""
        why = cross_origin(conn.headers, conn.url.scheme, self._trusted)
        if why is not None:
            where = f"{_kind(conn)} {conn.url.path}"
            log.warning("refused %s from %s: %s", where, _address(conn), why)
            raise HTTPException(403, f"refused: {why}")

    async def sign_in(self, conn: HTTPConnection, name: str, token: str) -> User:
        """The user of a name and token, counted and logged when wrong."""
        address = _address(conn)
        self._not_waiting(address=address, name=name)
        user = self.users.login(name, token)
        now = self._clock()
        if user is None:
            by_name = self.by_user.failed(_user_key(name), now)
            by_address = self.by_address.failed(address, now)
            log.warning(
                "failed sign-in as %r from %s (%d for this name, %d from this address)",
                name[:64],
                address,
                by_name,
                by_address,
            )
            raise HTTPException(401, "unknown user or wrong token")
        self.by_user.succeeded(_user_key(name))
        log.info("%s signed in from %s", user.name, address)
        return user

    async def until_invalid(self, caller: Caller) -> None:
        """Return when the caller's credential no longer holds (for an open websocket)."""
        check_s = min(WS_CHECK_S, self.sessions.policy.idle_s / 3)
        if caller.session is not None:
            await self.sessions.until_ended(caller.session, check_s)
            return
        while True:
            await asyncio.sleep(check_s)
            self.users.refresh()
            now = self.users.by_name(caller.user.name)
            if now is None or now.fingerprint != caller.user.fingerprint:
                return

    def _not_waiting(self, *, address: str, name: str | None = None) -> None:
        now = self._clock()
        waits = [(self.by_address, address, self.by_address.wait(address, now))]
        if name is not None:
            key = _user_key(name)
            waits.append((self.by_user, key, self.by_user.wait(key, now)))
        throttle, key, wait = max(waits, key=lambda w: w[2])
        if wait <= 0:
            return
        if throttle.first_refusal(key):
            log.warning("too many failures for %s: attempts refused for %.0f s", _shown(key), wait)
        raise HTTPException(
            429,
            f"too many failed attempts: try again in {math.ceil(wait)} s",
            headers={"Retry-After": str(math.ceil(wait))},
        )


def _unauthenticated(detail: str = UNAUTHENTICATED) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def _address(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"


def _user_key(name: str) -> str:
    return "user:" + name[:256]


def _shown(key: str) -> str:
    return repr(key[:70]) if key.startswith("user:") else key


def _kind(conn: HTTPConnection) -> str:
    return "websocket" if conn.scope["type"] == "websocket" else str(conn.scope.get("method"))
