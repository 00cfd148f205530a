"""Slowing down guessing, on a clock the test turns by hand."""

from __future__ import annotations

from dashboard.throttle import BY_USER, Throttle, ThrottlePolicy


def test_the_first_failures_are_free_then_each_wait_doubles_up_to_the_ceiling() -> None:
    t = Throttle(BY_USER)
    now = 1000.0
    for n in range(1, 5):
        assert t.failed("alice", now) == n
        assert t.wait("alice", now) == 0.0, f"{n} failures are still free"
    waits = []
    for _ in range(12):
        t.failed("alice", now)
        waits.append(t.wait("alice", now))
        now += waits[-1]  # the guesser waits exactly as told
    assert waits[:7] == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0]
    assert set(waits[6:]) == {BY_USER.max_wait_s}
    assert t.wait("bob", now) == 0.0, "other keys are not affected"


def test_a_success_clears_the_count_and_silence_forgets_it() -> None:
    policy = ThrottlePolicy(free=2, first_wait_s=1, max_wait_s=10, forget_s=100)
    t = Throttle(policy)
    for _ in range(4):
        t.failed("k", 0.0)
    assert t.wait("k", 0.0) == 4.0
    assert t.wait("k", 3.0) == 1.0
    t.succeeded("k")
    assert t.wait("k", 3.0) == 0.0
    for key in ("remembered", "forgotten"):
        for _ in range(4):
            t.failed(key, 10.0)
    assert t.failed("remembered", 109.0) == 5
    assert t.failed("forgotten", 110.0) == 1, "forgotten after forget_s without failure"


def test_a_refusal_is_reported_once_per_wait_and_memory_is_bounded() -> None:
    t = Throttle(ThrottlePolicy(free=1, first_wait_s=1, max_wait_s=10, forget_s=100), keep=3)
    t.failed("k", 0.0)
    assert t.first_refusal("k") and not t.first_refusal("k")
    t.failed("k", 2.0)
    assert t.first_refusal("k"), "a new failure, a new wait, reported again"
    for key in ("a", "b", "c"):
        t.failed(key, 1.0)
    assert t.wait("k", 2.0) == 0.0, "the oldest key was dropped to keep three"
    assert t.wait("c", 1.0) == 1.0
