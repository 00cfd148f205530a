"""Video analytics on synthetic frames alone (no stream): the scenes of the simulator."""

from __future__ import annotations

import itertools

import cv2
from cv2.typing import MatLike

from adapters.video.analyser import CameraAnalyser, Observation
from adapters.video.regions import ZoneRegions
from simulators.overlay import stamp
from simulators.scene import Scene, SceneRenderer, Walker
from tests.adapters.kerb_scene import CROSSER, KERB_SCENE_S, KERB_ZONES, kerb_scene, on_lawn

LEFT = [[0.0, 0.45], [0.5, 0.45], [0.5, 1.0], [0.0, 1.0]]
RIGHT = [[0.5, 0.45], [1.0, 0.45], [1.0, 1.0], [0.5, 1.0]]
ZONES = {"Z01": LEFT, "Z02": RIGHT}
FPS = 5
EARLY = 1 / FPS


def run(scene: Scene, seconds: float, transform: object = None) -> list[tuple[float, Observation]]:
    renderer = SceneRenderer(scene)
    analyser = CameraAnalyser(ZONES)
    seen = []
    for i in range(int(seconds * FPS)):
        t = i / FPS
        frame = renderer.frame(t)
        if callable(transform):
            frame = transform(t, frame)
        seen += [(t, o) for o in analyser.analyse(frame, t)]
    return seen


def in_left(x: float, y: float) -> bool:
    return x < 0.5 and y >= 0.45


def in_right(x: float, y: float) -> bool:
    return x >= 0.5 and y >= 0.45


def test_a_zone_is_entered_where_the_feet_are() -> None:
    regions = ZoneRegions(ZONES)
    assert regions.zone_of(0.2, 0.9) == "Z01"
    assert regions.zone_of(0.7, 0.5) == "Z02"
    assert regions.zone_of(0.7, 0.2) is None, "above the fence line: no zone"
    assert regions.zone_of(0.505, 0.9) == "Z02"
    assert regions.zone_of(0.505, 0.9, margin=0.02) is None, "on the boundary: not yet in"
    assert regions.zone_of(0.53, 0.9, margin=0.02) == "Z02"


def test_an_intruder_crossing_two_zones_is_reported_in_each_within_a_second() -> None:
    walker = Walker(((0.08, 0.82), (0.92, 0.74)), start_s=4.0, speed=0.1)
    seen = run(Scene(walkers=[walker]), 16)
    persons = [(t, o.zone) for t, o in seen if o.kind == "person"]
    first: dict[str | None, float] = {}
    for t, zone in persons:
        first.setdefault(zone, t)
    entry_left, entry_right = walker.entry_time(in_left), walker.entry_time(in_right)
    assert entry_left is not None and entry_right is not None
    assert list(first) == ["Z01", "Z02"], persons
    # A detection's box is not the feet to the pixel: it may count one frame early.
    assert -EARLY <= first["Z01"] - entry_left <= 1.0
    assert -EARLY <= first["Z02"] - entry_right <= 1.0
    assert all(o.box is not None and (o.score or 0) > 0 for _, o in seen if o.kind == "person")
    assert any(o.kind == "motion" for _, o in seen), "the walker is motion too"


def test_vegetation_rain_and_a_floodlight_for_minutes_raise_no_person() -> None:
    for night in (False, True):
        seen = run(Scene(night=night, vegetation=True, rain=True, floodlight_at=60.0), 180)
        assert [o for _, o in seen if o.kind == "person"] == []
        assert [o for _, o in seen if o.kind.startswith("tamper")] == []


def test_a_covered_lens_is_a_tamper_until_uncovered() -> None:
    seen = run(Scene(covered=(10.0, 20.0)), 30)
    assert [(o.kind, o.detail) for _, o in seen] == [
        ("tamper", "covered"),
        ("tamper_cleared", None),
    ]
    raised, cleared = (t for t, _ in seen)
    # Held for 3 s before it counts, checked every other frame: 3 s to 3.4 s late.
    assert 13.0 <= raised <= 13.0 + 2 / FPS
    assert 23.0 <= cleared <= 23.0 + 2 / FPS


def test_a_defocused_camera_and_one_turned_away_are_tampers() -> None:
    def blur(t: float, frame: object) -> object:
        return cv2.GaussianBlur(frame, (31, 31), 0) if t >= 8 else frame  # type: ignore[call-overload]

    def turned(t: float, frame: object) -> object:
        return cv2.flip(frame, -1) if t >= 8 else frame  # type: ignore[call-overload]

    for transform, detail in ((blur, "defocused"), (turned, "moved")):
        seen = run(Scene(vegetation=True), 16, transform)
        assert [(o.kind, o.detail) for _, o in seen if o.kind == "tamper"] == [("tamper", detail)]


def with_clock(t: float, frame: MatLike) -> MatLike:
    """A camera's on-screen clock (the simulator's, simulators/overlay.py) on every frame."""
    frame = frame.copy()
    stamp(frame, 1_800_000_000 + t, int(t * FPS))
    return frame


def test_an_on_screen_clock_hides_neither_a_covered_nor_a_defocused_lens() -> None:
    seen = run(Scene(covered=(10.0, 20.0)), 30, with_clock)
    kinds = [(o.kind, o.detail) for _, o in seen]
    assert kinds == [("tamper", "covered"), ("tamper_cleared", None)]

    def blurred(t: float, frame: MatLike) -> MatLike:
        return with_clock(t, cv2.GaussianBlur(frame, (31, 31), 0) if t >= 8 else frame)

    seen = run(Scene(vegetation=True), 16, blurred)
    assert [(o.kind, o.detail) for _, o in seen if o.kind == "tamper"] == [("tamper", "defocused")]
    assert not [o for _, o in run(Scene(vegetation=True, rain=True), 30, with_clock)
                if o.kind.startswith("tamper")]  # fmt: skip


def test_a_new_resolution_starts_the_background_again_without_false_motion() -> None:
    """A camera that switches to a 4:3 crop of its view (a new stream format): what was
    learnt of the old picture would see motion everywhere."""

    def cropped(t: float, frame: MatLike) -> MatLike:
        return cv2.resize(frame[:, 80:560], (320, 240)) if 8 <= t < 16 else frame

    assert run(Scene(), 24, cropped) == []


def test_walkers_along_a_sterile_zone_are_reported_where_they_walk_at_any_phase() -> None:
    """The kerb scene (kerb_scene.py): walkers follow the lawn's edge on the path, then
    one steps onto the lawn. Sampled at 5 fps from a 10 fps stream at either phase, and
    unevenly, as a live worker samples: nobody is on the lawn until the step."""
    renderer = SceneRenderer(kerb_scene())
    frames = [renderer.frame(n / 10) for n in range(int(KERB_SCENE_S * 10))]
    entry = CROSSER.entry_time(on_lawn)
    assert entry is not None
    uneven = list(itertools.accumulate([1] + [1, 2, 3, 2] * len(frames)))
    for picks in (range(0, len(frames), 2), range(1, len(frames), 2), uneven):
        analyser = CameraAnalyser(KERB_ZONES)
        seen = [
            (n / 10, o)
            for n in picks
            if n < len(frames)
            for o in analyser.analyse(frames[n], n / 10)
            if o.kind == "person"
        ]
        lawn = [t for t, o in seen if o.zone == "Z01"]
        assert lawn and min(lawn) >= entry, f"on the lawn before anyone: {lawn}"
        assert min(lawn) - entry <= 1.0, "the step onto the lawn is still reported at once"
        assert sum(o.zone == "Z02" for _, o in seen) >= 10, "the walkers are on the path"
        assert all(o.feet is not None for _, o in seen)
