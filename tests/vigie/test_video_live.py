"""Video in the live service (docs/protocol.md §12, docs/video.md), from outside: a real
RTSP camera whose frames carry the simulator's clock, the camera worker's live feed,
`vigie serve`, a real Mosquitto. Person events -> the incident lists a clip -> fetched
through the API with its credentials -> decoded: it starts at a keyframe no later than
first event - pre_capture_s and covers last event + post_capture_s. Retention, a full
disk, the live websocket's credentials."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
import yaml
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from simulators.cameras import SimulatedCameras, rtsp_available
from simulators.scene import Scene, Walker
from tests.adapters.test_camera_live import camera_site
from tests.adapters.test_mqtt_link import read_retained
from tests.adapters.video_helpers import decoded_stamps
from tests.conftest import OPERATOR
from tests.peers import Mosquitto, VigieProcess, free_port
from tests.sensors import ROOT, Gateway
from tests.vigie.video_rig import camera_service
from tests.vigie.web import eventually

pytestmark = pytest.mark.skipif(
    not rtsp_available(), reason="needs GStreamer's RTSP server: scripts/setup.sh --test"
)
PRE_S, POST_S = 3.0, 2.0


def person(broker: Mosquitto, msg_id: str, zone: str = "Z01") -> None:
    with Gateway(broker.port, client_id=f"gw-{msg_id}") as gw:
        gw.event("camera", "cam-01", id=msg_id, event="person", zone=zone)
        gw.flush()


def detail(v: VigieProcess, incident: str) -> dict[str, Any]:
    answer = v.get(f"/api/incidents/{incident}", OPERATOR)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def clips_of(v: VigieProcess, incident: str, within_s: float) -> list[dict[str, Any]]:
    def listed() -> list[dict[str, Any]]:
        answer = v.get(f"/api/incidents/{incident}", OPERATOR)
        return list(answer.json()["clips"]) if answer.status_code == 200 else []

    found: list[dict[str, Any]] = eventually(listed, within_s, f"a clip of {incident}")
    return found


def test_a_person_event_gets_a_clip_from_pre_to_post_capture_served_to_the_api_callers(
    broker: Mosquitto, users_file: Path, tmp_path: Path
) -> None:
    with camera_service(tmp_path, broker, users_file, pre=PRE_S, post=POST_S) as rig:
        v = rig.v
        time.sleep(PRE_S + 1.5)  # the service's ring holds pre_capture_s of video
        person(broker, "c-1")
        time.sleep(1.5)
        person(broker, "c-2")  # joins the incident: the clip is extended
        clips = clips_of(v, "INC-000001", POST_S + 15)
        listed = time.time()
        events = detail(v, "INC-000001")["events"]
        assert [e["id"] for e in events] == ["c-1", "c-2"]
        first, last = events[0]["t"], events[-1]["t"]
        print(f"clip listed {listed - (last + POST_S):.2f} s after last event + post_capture_s")
        assert listed - (last + POST_S) < 5.0  # the issue asks 2 s; bench/live_view.py measures
        [clip] = clips
        assert clip["camera"] == "cam-01"
        assert clip["start"] <= first - PRE_S and clip["end"] >= last + POST_S
        assert clip["url"] == f"/api/clips/{clip['id']}.mp4"

        assert v.get(clip["url"]).status_code == 401
        assert v.get(f"/api/clips/{clip['id'] + 1}.mp4", OPERATOR).status_code == 404
        answer = v.get(clip["url"], OPERATOR)
        assert answer.status_code == 200 and answer.headers["content-type"] == "video/mp4"
        ranged = httpx.get(
            v.base + clip["url"],
            headers={"Authorization": f"Bearer {OPERATOR}", "Range": "bytes=100-199"},
        )
        assert ranged.status_code == 206 and ranged.content == answer.content[100:200]
    path = tmp_path / "clip.mp4"
    path.write_bytes(answer.content)
    frames = decoded_stamps(path)
    stamps = [s for s, _, _, _ in frames]
    assert None not in stamps, "every frame carries the camera's clock"
    assert frames[0][3], "the clip starts at a keyframe"
    assert stamps[0] <= first - PRE_S
    assert stamps[-1] >= last + POST_S - 0.5  # the clock is drawn ~0.1 s before arrival
    with av.open(str(path)) as container:
        duration = float(container.duration or 0) / av.time_base
    assert duration >= (last + POST_S) - (first - PRE_S) - 0.3
    assert not list(rig.clips.glob("*.fmp4")), "the spool file is gone"


def test_a_clip_cut_short_by_a_killed_service_is_finished_and_listed_at_the_restart(
    broker: Mosquitto, users_file: Path, tmp_path: Path
) -> None:
    """SIGKILL while an incident's clip is being written: at the next start the part left
    behind becomes the incident's clip, from its keyframe before first - pre_capture_s
    to the last whole frame written before the kill."""
    post = 60.0  # the service is killed well inside the clip
    with camera_service(tmp_path, broker, users_file, pre=PRE_S, post=post) as rig:
        v = rig.v
        time.sleep(PRE_S + 1.5)
        person(broker, "c-1")
        first = detail(v, "INC-000001")["events"][0]["t"]
        eventually(lambda: bool(list(rig.clips.glob("*.fmp4"))), 10, "the clip begun")
        time.sleep(4)
        killed = time.time()
        v.kill()
        assert list(rig.clips.glob("*.fmp4")), "the unfinished part is left behind"
        v.start()
        [clip] = clips_of(v, "INC-000001", 20)
        assert clip["start"] <= first - PRE_S
        assert first < clip["end"] <= killed
        answer = v.get(clip["url"], OPERATOR)
        assert answer.status_code == 200
    path = tmp_path / "clip.mp4"
    path.write_bytes(answer.content)
    frames = decoded_stamps(path)
    stamps = [s for s, _, _, _ in frames]
    assert frames[0][3], "the clip starts at a keyframe"
    assert stamps[0] is not None and stamps[0] <= first - PRE_S
    assert stamps[-1] is not None and stamps[-1] >= first + 2, "what was written is kept"
    assert not list(rig.clips.glob("*.fmp4")), "the part is finished, not left"


def test_retention_removes_resolved_incidents_clips_oldest_first_never_open_ones(
    broker: Mosquitto, users_file: Path, tmp_path: Path
) -> None:
    budget = ("--clip-budget", "1")  # any clip is over it: only open incidents' are kept
    with camera_service(tmp_path, broker, users_file, pre=1, post=1, extra=budget) as rig:
        v = rig.v
        time.sleep(2)
        person(broker, "c-1")
        [old] = clips_of(v, "INC-000001", 15)
        eventually(lambda: rig.metric("vigie_clips_over_budget_bytes") > 0, 5, "over budget")
        assert v.get(old["url"], OPERATOR).status_code == 200, "an open incident's clip stays"
        resolved = v.post("/api/incidents/INC-000001/resolve", {"outcome": "test"}, OPERATOR)
        assert resolved.status_code == 200
        person(broker, "c-2")  # a new incident: its clip takes the folder over budget again
        [new] = clips_of(v, "INC-000002", 15)
        eventually(lambda: detail(v, "INC-000001")["clips_removed"] == 1, 5, "removed")
        assert detail(v, "INC-000001")["clips"] == []
        assert v.get(old["url"], OPERATOR).status_code == 404
        assert v.get(new["url"], OPERATOR).status_code == 200
        assert rig.metric('vigie_clips_removed_total{reason="over_budget"}') == 1
        assert len(list(rig.clips.glob("*.mp4"))) == 1
        v.post("/api/incidents/INC-000002/resolve", {"outcome": "test"}, OPERATOR)
        v.stop()
        # Started again keeping clips 0 days after resolution: INC-000002's has expired.
        again = VigieProcess(
            tmp_path / "site.yaml", users_file, str(tmp_path / "vigie.db"), broker, tmp_path,
            extra=("--no-cameras", "--data", str(tmp_path / "data"), "--clip-keep-days", "0"),
        )  # fmt: skip
        again.start()
        try:
            eventually(lambda: detail(again, "INC-000002")["clips_removed"] == 1, 10, "expired")
            assert again.metric('vigie_clips_removed_total{reason="expired"}', OPERATOR) == 1
            assert not list(rig.clips.glob("*.mp4"))
        finally:
            again.stop()


def test_a_full_disk_stops_clips_and_shows_the_fault_while_live_and_service_go_on(
    broker: Mosquitto, users_file: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "data" / "clips"
    with camera_service(tmp_path, broker, users_file, pre=1, post=1) as rig:
        v = rig.v
        # After the start: at its start the service finishes the parts it finds left.
        folder.mkdir(parents=True, exist_ok=True)
        os.symlink("/dev/full", folder / "INC-000001.cam-01.1.fmp4")  # writes fail: ENOSPC
        ws_url = f"ws://127.0.0.1:{v.port}/ws"
        with connect(ws_url, additional_headers={"Authorization": f"Bearer {OPERATOR}"}) as ws:
            json.loads(ws.recv(5))  # the snapshot
            time.sleep(1.5)
            person(broker, "c-1")
            fault = None
            while fault is None:
                frame = json.loads(ws.recv(10))
                fault = next((c for c in frame["changes"] if c["type"] == "recording"), None)
        assert fault["camera"] == "cam-01" and not fault["ok"]
        assert "No space left" in fault["fault"]
        camera = v.get("/api/picture", OPERATOR).json()["cameras"][0]
        assert camera["recording"]["ok"] is False and camera["live"] is True
        assert rig.metric("vigie_clip_failures_total") == 1
        assert rig.metric("vigie_recording_faults") == 1
        assert v.get("/healthz").status_code == 200, "the service goes on"
        live_url = f"ws://127.0.0.1:{v.port}/api/cameras/cam-01/live"
        with pytest.raises(InvalidStatus) as refused:
            connect(live_url).close()
        assert refused.value.response.status_code == 401
        with pytest.raises(InvalidStatus) as unknown:
            connect(live_url.replace("cam-01", "cam-99"), additional_headers=_bearer()).close()
        assert unknown.value.response.status_code == 404
        with connect(live_url, additional_headers=_bearer()) as live:
            kinds = video_kinds(live, 12)
        assert kinds[0] == 1 and 2 in kinds and 3 in kinds, "live goes on, from a keyframe"
        # Room again (the file that failed is gone): the next clip is written, the fault clears.
        (folder / "INC-000001.cam-01.1.fmp4").unlink(missing_ok=True)
        v.post("/api/incidents/INC-000001/resolve", {"outcome": "test"}, OPERATOR)
        person(broker, "c-2")
        clips_of(v, "INC-000002", 15)
        eventually(lambda: recording_fault(v) is None, 5, "the fault cleared")
        assert not clips_of_now(v, "INC-000001")


def test_clips_stop_while_the_disk_is_short_of_its_reserve(
    broker: Mosquitto, users_file: Path, tmp_path: Path
) -> None:
    """Clips stop before the disk is full: the store, on the same disk, keeps room."""
    reserve = ("--clip-reserve", "1000000T")
    with camera_service(
        tmp_path, broker, users_file, pre=1, post=1, extra=reserve, feed=False
    ) as rig:
        v = rig.v
        recording = eventually(lambda: recording_fault(v), 10, "the reserve fault")
        assert "disk full" in recording
        person(broker, "c-1")
        eventually(lambda: rig.metric("vigie_clips_refused_total") == 1, 10, "refused")
        assert v.get("/api/incidents/INC-000001", OPERATOR).status_code == 200


def recording_fault(v: VigieProcess) -> str | None:
    camera = v.get("/api/picture", OPERATOR).json()["cameras"][0]
    return None if camera["recording"]["ok"] else str(camera["recording"]["fault"])


def clips_of_now(v: VigieProcess, incident: str) -> list[dict[str, Any]]:
    return list(detail(v, incident)["clips"])


def _bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {OPERATOR}"}


def video_kinds(live: ClientConnection, count: int) -> list[int]:
    """The kinds of the first ``count`` video messages (docs/video.md, "Wire format"):
    1 init segment, 2 keyframe, 3 other frame; states (waiting) are skipped."""
    kinds: list[int] = []
    while len(kinds) < count:
        message = live.recv(10)
        if isinstance(message, bytes):
            kinds.append(message[0])
        else:
            assert json.loads(message) == {"state": "waiting", "for": "keyframe"}
    return kinds


def test_the_service_runs_the_worker_that_reads_once_for_analysis_live_and_clips(
    broker: Mosquitto, users_file: Path, tmp_path: Path
) -> None:
    """`vigie serve` spawns `vigie camera --live`: one RTSP session gives the person
    events (the worker's own analysis), the live view and the incident's clip."""
    port = free_port()
    site = camera_site(port)
    site["cameras"][0].update(pre_capture_s=PRE_S, post_capture_s=POST_S)
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
    walker = Walker(((0.08, 0.82), (0.45, 0.8)), start_s=6.0, speed=0.1)
    sim = SimulatedCameras(port, {"cam-01": Scene(walkers=[walker])})
    sim.start()
    v = VigieProcess(
        tmp_path / "site.yaml", users_file, str(tmp_path / "v.db"), broker, tmp_path,
        extra=("--data", str(tmp_path / "data")),
    )  # fmt: skip
    v.start()
    try:
        eventually(lambda: v.metric("vigie_live_feeds_connected", OPERATOR) == 1, 20, "feed")
        live_url = f"ws://127.0.0.1:{v.port}/api/cameras/cam-01/live"
        with connect(live_url, additional_headers=_bearer()) as live:
            kinds = video_kinds(live, 12)
        assert kinds[0] == 1 and 2 in kinds, "live through the service, from a keyframe"
        presence = read_retained(broker.port, f"{ROOT}/presence/camera/cam-01")
        assert presence["online"] is True and presence["role"] == "camera"
        clips = clips_of(v, "INC-000001", 40)
        events = [e for e in detail(v, "INC-000001")["events"] if e["sensor"] == "cam-01"]
        answer = v.get(clips[0]["url"], OPERATOR)
        assert answer.status_code == 200
    finally:
        v.stop()
        sim.stop()
    assert events and events[0]["event"] == "person", "the worker's own analysis"
    first, last = events[0]["t"], events[-1]["t"]
    path = tmp_path / "clip.mp4"
    path.write_bytes(answer.content)
    frames = decoded_stamps(path)
    assert frames[0][3] and frames[0][0] is not None and frames[0][0] <= first - PRE_S
    assert len(clips) == 1 and frames[-1][0] is not None
    assert frames[-1][0] >= last + POST_S - 0.5
    running = v.log_path.read_text().split("Shutting down")[0]
    assert "Traceback" not in running and "camera cam-01 stopped" in v.log()
