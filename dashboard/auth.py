"""Users, roles and credentials (docs/protocol.md §7).

Tokens are never stored: the users file holds their SHA-256, and a presented
token is hashed and compared in constant time against every user. The browser's
session cookie is ``name.expiry.mac`` where the MAC is keyed with that user's
token hash: nothing else to keep secret, sessions survive a restart of the
service, and changing a user's token ends their sessions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

SESSION_COOKIE: Final = "vigie_session"
SESSION_S: Final = 12 * 3600
"""A control-room shift; the operator logs in again at the next one."""


class Role(StrEnum):
    COMMANDER = "commander"  # sees everything
    OPERATOR = "operator"  # also acknowledges and resolves
    ADMIN = "admin"  # also manages

    @property
    def may_act(self) -> bool:
        return self in (Role.OPERATOR, Role.ADMIN)


class UsersFileError(ValueError):
    """A users file that cannot be used; the message names the file and the entry."""


class _UserEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, pattern=r"^[^\s]+$")
    role: Role
    token_sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")


class _UsersFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    users: list[_UserEntry]


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    token_sha256: bytes


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Users:
    """The people who may use the dashboard."""

    def __init__(self, users: list[User]) -> None:
        self._users = users
        self._by_name = {u.name: u for u in users}

    @classmethod
    def from_yaml(cls, text: str, source: str) -> Users:
        try:
            data = _UsersFile.model_validate(yaml.safe_load(text))
        except (yaml.YAMLError, ValidationError) as exc:
            raise UsersFileError(f"{source}: {_first_problem(exc)}") from exc
        names = [u.name for u in data.users]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise UsersFileError(f"{source}: users: duplicate name {dupes[0]!r}")
        return cls([User(u.name, u.role, bytes.fromhex(u.token_sha256)) for u in data.users])

    @classmethod
    def load(cls, path: Path) -> Users:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsersFileError(f"{path}: cannot read the users file: {exc}") from exc
        return cls.from_yaml(text, str(path))

    def __len__(self) -> int:
        return len(self._users)

    def by_token(self, token: str) -> User | None:
        digest = hashlib.sha256(token.encode()).digest()
        found = None
        for user in self._users:  # no early exit: the time does not depend on who matched
            if hmac.compare_digest(digest, user.token_sha256):
                found = user
        return found

    def login(self, name: str, token: str) -> User | None:
        user = self.by_token(token)
        return user if user is not None and hmac.compare_digest(user.name, name) else None

    def session(self, user: User, now: float) -> str:
        expiry = int(now) + SESSION_S
        name = base64.urlsafe_b64encode(user.name.encode()).decode().rstrip("=")
        return f"{name}.{expiry}.{_mac(user, expiry)}"

    def from_session(self, cookie: str, now: float) -> User | None:
        try:
            name_b64, expiry_text, mac = cookie.split(".")
            name = base64.urlsafe_b64decode(name_b64 + "=" * (-len(name_b64) % 4)).decode()
            expiry = int(expiry_text)
        except ValueError:
            return None
        user = self._by_name.get(name)
        if user is None or expiry < now:
            return None
        return user if hmac.compare_digest(mac, _mac(user, expiry)) else None


def _mac(user: User, expiry: int) -> str:
    msg = f"{user.name}\n{expiry}".encode()
    return hmac.new(user.token_sha256, msg, hashlib.sha256).hexdigest()


def _first_problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
        return f"{loc or 'users'}: {err['msg']}"
    return f"not valid YAML: {exc}"
