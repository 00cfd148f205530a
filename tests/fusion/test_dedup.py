"""The duplicate filter: same id and same bytes is a duplicate; same id, other bytes is a
device that restarted its numbering (docs/protocol.md §2a); and its two bounds."""

from __future__ import annotations

from fusion.dedup import DuplicateFilter, Seen, payload_key

A, B = payload_key(b'{"id":"a","event":"alarm"}'), payload_key(b'{"id":"a","event":"clear"}')


def test_an_id_is_new_once_then_a_duplicate() -> None:
    f = DuplicateFilter(horizon_s=100, per_device=10)
    assert f.offer("ir-01", "a", A, 0) is Seen.NEW
    assert f.offer("ir-01", "a", A, 50) is Seen.DUPLICATE
    assert f.offer("ir-02", "a", A, 50) is Seen.NEW, "ids are per device"


def test_the_same_id_with_other_content_is_an_id_reuse_not_a_duplicate() -> None:
    f = DuplicateFilter(horizon_s=100, per_device=10)
    assert f.offer("ir-01", "a", A, 0) is Seen.NEW
    assert f.offer("ir-01", "a", B, 5) is Seen.ID_REUSED
    assert f.offer("ir-01", "a", B, 6) is Seen.DUPLICATE, "a redelivery of the new content"
    assert f.offer("ir-01", "a", A, 7) is Seen.DUPLICATE, "a late redelivery of the old one"


def test_ids_are_forgotten_after_the_horizon() -> None:
    f = DuplicateFilter(horizon_s=100, per_device=10)
    f.offer("ir-01", "a", A, 0)
    assert f.offer("ir-01", "a", A, 100) is Seen.DUPLICATE, "exactly the horizon: remembered"
    assert f.offer("ir-01", "a", A, 100.5) is Seen.NEW
    assert not f.knows("ir-01", "b")


def test_each_device_keeps_only_its_latest_ids() -> None:
    f = DuplicateFilter(horizon_s=1e9, per_device=3)
    for n, msg_id in enumerate("abcd"):
        assert f.offer("ir-01", msg_id, A, n) is Seen.NEW
    assert len(f) == 3
    assert f.offer("ir-01", "a", A, 10) is Seen.NEW, "the oldest was let go"
    assert f.offer("ir-01", "d", A, 11) is Seen.DUPLICATE, "a recent one is still a duplicate"


def test_memory_is_bounded_by_devices_times_the_cap() -> None:
    f = DuplicateFilter(horizon_s=1e9, per_device=100)
    for n in range(100_000):
        f.offer(f"s{n % 7}", f"m{n % 300}", n, n)
    assert len(f) == 700


def test_the_memory_is_restored_from_stored_payloads() -> None:
    f = DuplicateFilter(
        horizon_s=100,
        per_device=10,
        seen=[(1.0, "ir-01", "a", b'{"id":"a","event":"alarm"}')],
    )
    assert f.offer("ir-01", "a", A, 2) is Seen.DUPLICATE
    assert f.offer("ir-01", "a", B, 3) is Seen.ID_REUSED
