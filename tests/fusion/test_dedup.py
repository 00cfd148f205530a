"""The duplicate filter's two bounds."""

from __future__ import annotations

from fusion.dedup import DuplicateFilter


def test_an_id_is_new_once_then_a_duplicate() -> None:
    f = DuplicateFilter(horizon_s=100, per_device=10)
    assert f.first_time("ir-01", "a", 0)
    assert not f.first_time("ir-01", "a", 50)
    assert f.first_time("ir-02", "a", 50), "ids are per device"


def test_ids_are_forgotten_after_the_horizon() -> None:
    f = DuplicateFilter(horizon_s=100, per_device=10)
    f.first_time("ir-01", "a", 0)
    assert not f.first_time("ir-01", "a", 100), "exactly the horizon: still remembered"
    assert f.first_time("ir-01", "a", 100.5)


def test_each_device_keeps_only_its_latest_ids() -> None:
    f = DuplicateFilter(horizon_s=1e9, per_device=3)
    for n, msg_id in enumerate("abcd"):
        assert f.first_time("ir-01", msg_id, n)
    assert len(f) == 3
    assert f.first_time("ir-01", "a", 10), "the oldest was let go"
    assert not f.first_time("ir-01", "d", 11), "a recent one is still a duplicate"


def test_memory_is_bounded_by_devices_times_the_cap() -> None:
    f = DuplicateFilter(horizon_s=1e9, per_device=100)
    for n in range(100_000):
        f.first_time(f"s{n % 7}", f"m{n}", n)
    assert len(f) == 700
