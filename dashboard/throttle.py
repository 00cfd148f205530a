"""Slowing down credential guessing, per user name and per client address.

Each key (a user name, an address) counts its failed attempts. The first few are
free (people mistype); after that, each failure makes the key wait before its
next attempt is even looked at, twice as long as the previous wait, up to a
ceiling. Attempts made while waiting are refused unchecked (429) and not counted,
so a flood costs the guesser time without lengthening the wait of whoever the
guesser is impersonating beyond the ceiling. A key with no failure for a while is
forgotten; a success clears the user's count (never the address's, or a guesser
with one valid login could clear their own address between guesses).

Pure: the time is passed in.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

KEYS_KEPT: Final = 10_000
"""Keys remembered at most (the least recently failing are dropped first): bounds the
memory a spray of made-up user names can take."""


class ThrottlePolicy(BaseModel):
    """How many failures are free, and how the wait grows after them."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    free: int = Field(ge=1, description="failures allowed before any wait")
    first_wait_s: float = Field(gt=0, description="wait after the first failure past the free ones")
    max_wait_s: float = Field(gt=0, description="the wait never grows beyond this")
    forget_s: float = Field(gt=0, description="a key with no failure for this long starts afresh")


BY_USER: Final = ThrottlePolicy(free=5, first_wait_s=1.0, max_wait_s=60.0, forget_s=900.0)
"""Five mistakes are free, then 1 s, 2 s, 4 s ... one minute at most. The ceiling is
low on purpose: anyone can make a user name wait, and an operator must not be kept
out for long during an intrusion; one guess a minute is still far too slow to find
a token (or a decent password)."""

BY_ADDRESS: Final = ThrottlePolicy(free=30, first_wait_s=1.0, max_wait_s=300.0, forget_s=900.0)
"""More free failures (a control room may sit behind one address, and wrong bearer
tokens count here too), then up to five minutes: spraying many user names from one
place is the pattern this stops."""


@dataclass(slots=True)
class _Record:
    failures: int
    last: float
    reported: bool = False


class Throttle:
    """Failed attempts per key and the wait they impose."""

    def __init__(self, policy: ThrottlePolicy, keep: int = KEYS_KEPT) -> None:
        self.policy = policy
        self._keep = keep
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def wait(self, key: str, now: float) -> float:
        """Seconds before ``key`` may try again; 0 when it may try now."""
        record = self._current(key, now)
        if record is None:
            return 0.0
        return max(0.0, record.last + self._delay(record.failures) - now)

    def failed(self, key: str, now: float) -> int:
        """Count a failure; returns the key's failures so far."""
        record = self._current(key, now)
        if record is None:
            record = _Record(0, now)
        record.failures += 1
        record.last = now
        record.reported = False
        self._records[key] = record
        self._records.move_to_end(key)
        while len(self._records) > self._keep:
            self._records.popitem(last=False)
        return record.failures

    def first_refusal(self, key: str) -> bool:
        """True once per wait: lets the caller log a refusal without logging a flood."""
        record = self._records.get(key)
        if record is None or record.reported:
            return False
        record.reported = True
        return True

    def succeeded(self, key: str) -> None:
        self._records.pop(key, None)

    def _current(self, key: str, now: float) -> _Record | None:
        record = self._records.get(key)
        if record is not None and now - record.last >= self.policy.forget_s:
            del self._records[key]
            return None
        return record

    def _delay(self, failures: int) -> float:
        past = failures - self.policy.free
        if past < 0:
            return 0.0
        return float(min(self.policy.max_wait_s, self.policy.first_wait_s * 2.0 ** min(past, 64)))
