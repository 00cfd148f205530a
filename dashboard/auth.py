"""Users, roles and credentials (docs/protocol.md §7).

Tokens are never stored: the users file holds their SHA-256, and a presented
token is hashed and compared in constant time against every user. The browser
signs in once and then holds a server-side session (:mod:`dashboard.sessions`).

The users file is read again when it changes on disk (checked at most once a
second), so that removing a user or changing a role or a token takes effect
without a restart, and ends that user's sessions. A file that has become
invalid is reported and the previous users stay in force: locking the whole
control room out over a typo would be worse.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

log = logging.getLogger("vigie.auth")

RELOAD_CHECK_S: Final = 1.0
"""How often the users file's modification time is looked at; a stat per request
would be cheap too, but once a second is already faster than anyone edits it."""


class Role(StrEnum):
    """What a user may do; every role sees the picture (within its desk's limits)."""

    COMMANDER = "commander"  # sees everything
    OPERATOR = "operator"  # also acknowledges and resolves
    ADMIN = "admin"  # also manages
    ANALYST = "analyst"  # also issues and withdraws intelligence items
    INSPECTOR = "inspector"  # also runs walk tests

    @property
    def may_act(self) -> bool:
        return self in (Role.OPERATOR, Role.ADMIN)

    @property
    def may_issue_intel(self) -> bool:
        return self in (Role.ANALYST, Role.ADMIN)

    @property
    def may_inspect(self) -> bool:
        return self in (Role.INSPECTOR, Role.ADMIN)


class UsersFileError(ValueError):
    """A users file that cannot be used; the message names the file and the entry."""


class _UserEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, pattern=r"^[^\s]+$")
    role: Role
    token_sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    desk: str | None = Field(
        default=None,
        pattern=r"^[^\s/]+$",
        description="The agency desk the user sits at (docs/protocol.md §10): intelligence "
        "items that name desks are shown to those desks only.",
    )


class _UsersFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    users: list[_UserEntry]


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    token_sha256: bytes
    desk: str | None = None

    @property
    def fingerprint(self) -> str:
        """Identifies this entry of the users file: a session opened under one entry
        is not valid under another (changed role or token, user removed and re-added)."""
        desk = f"\n{self.desk}" if self.desk is not None else ""
        entry = f"{self.name}\n{self.role}\n{self.token_sha256.hex()}{desk}".encode()
        return hashlib.sha256(entry).hexdigest()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Users:
    """The people who may use the dashboard."""

    def __init__(self, users: list[User], path: Path | None = None) -> None:
        self._set(users)
        self._path = path
        self._stamp = _stamp(path) if path is not None else None
        self._checked = time.monotonic()

    def _set(self, users: list[User]) -> None:
        self._users = users
        self._by_name = {u.name: u for u in users}

    @classmethod
    def from_yaml(cls, text: str, source: str) -> Users:
        return cls(_parse(text, source))

    @classmethod
    def load(cls, path: Path) -> Users:
        return cls(_read(path), path)

    def __len__(self) -> int:
        return len(self._users)

    def __iter__(self) -> Iterator[User]:
        """The users in the order of the file (a joint centre checks their desks)."""
        return iter(self._users)

    def refresh(self) -> None:
        """Read the users file again if it changed on disk (at most once a second)."""
        if self._path is None or time.monotonic() - self._checked < RELOAD_CHECK_S:
            return
        self._checked = time.monotonic()
        stamp = _stamp(self._path)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            users = _read(self._path)
        except UsersFileError as exc:
            log.error("users file changed but cannot be used, keeping the previous one: %s", exc)
            return
        self._set(users)
        log.warning("users file %s read again: %d users", self._path, len(users))

    def by_name(self, name: str) -> User | None:
        return self._by_name.get(name)

    def by_token(self, token: str) -> User | None:
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        found = None
        for user in self._users:  # no early exit: the time does not depend on who matched
            if hmac.compare_digest(digest, user.token_sha256):
                found = user
        return found

    def login(self, name: str, token: str) -> User | None:
        user = self.by_token(token)
        if user is None:
            return None
        return user if hmac.compare_digest(user.name.encode(), name.encode()) else None


def _read(path: Path) -> list[User]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsersFileError(f"{path}: cannot read the users file: {exc}") from exc
    return _parse(text, str(path))


def _parse(text: str, source: str) -> list[User]:
    try:
        data = _UsersFile.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as exc:
        raise UsersFileError(f"{source}: {_first_problem(exc)}") from exc
    names = [u.name for u in data.users]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsersFileError(f"{source}: users: duplicate name {dupes[0]!r}")
    return [User(u.name, u.role, bytes.fromhex(u.token_sha256), u.desk) for u in data.users]


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _first_problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
        return f"{loc or 'users'}: {err['msg']}"
    return f"not valid YAML: {exc}"
