"""``vigie demo``: the whole system on one machine, for a newcomer.

A broker of its own (Mosquitto from Debian's package, unless ``--broker``), the demo
site, simulated sensors playing the gate-intrusion story every 90 s with floodlights
that obey, simulated cameras (over RTSP where GStreamer's server is installed,
otherwise frames straight into the same analysis), the service on SQLite in a data
folder, the dashboard, and a demo operator who acknowledges what nobody else does.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import yaml

from adapters.camera import CameraWorker
from adapters.mqtt import Broker
from simulators.cameras import RtspUnavailable, SimulatedCameras, rtsp_available
from simulators.devices import Floodlights, play_scenario
from simulators.scenario import demo_site_path, load_scenario
from simulators.scene import Scene, SceneSource, Walker
from vigie.site_file import load_site

log = logging.getLogger("vigie.demo")

ROUND_S = 90.0
"""One run of the demo story; the camera's walker repeats in step with it."""

BOT_ACK_S = 20.0
BOT_RESOLVE_S = 60.0
"""The demo operator acknowledges an incident nobody took after 20 s, and resolves it as
a test after 60 s, so the queue shows the whole life of an incident without piling up."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scenes(t0_offset: float) -> dict[str, Scene]:
    """cam-02 watches Z06 (left) and Z07 (right): the intruder appears at the gate."""
    gate = Walker(
        ((0.78, 0.5), (0.66, 0.86)), start_s=13.0 + t0_offset, speed=0.04, repeat_s=ROUND_S
    )
    return {
        "cam-01": Scene(vegetation=True, seed=1),
        "cam-02": Scene(walkers=[gate], seed=2),
        "cam-03": Scene(vegetation=True, rain=True, seed=3),
    }


class Demo:
    def __init__(self, data: Path, http: str, broker_url: str | None, rtsp: bool = True) -> None:
        self.data = data
        self.rtsp = rtsp
        self.http = http
        self.broker_url = broker_url
        self.stop = threading.Event()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.threads: list[threading.Thread] = []
        self.cameras: SimulatedCameras | None = None
        self.lights: Floodlights | None = None

    def start_broker(self) -> Broker:
        if self.broker_url:
            return Broker.from_url(self.broker_url)
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise SystemExit(
                "vigie demo: Mosquitto is not installed (scripts/setup.sh installs"
                " it), or pass --broker mqtt://host:port"
            )
        port = _free_port()
        store = self.data / "broker"
        store.mkdir(parents=True, exist_ok=True)
        user = f"user {getpass.getuser()}\n" if os.geteuid() == 0 else ""
        conf = self.data / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence_location {store}/\n{user}"
            + (resources.files("vigie") / "mosquitto.conf").read_text()
        )
        with (self.data / "mosquitto.log").open("ab") as out:
            self.procs.append(subprocess.Popen([binary, "-c", str(conf)], stdout=out, stderr=out))
        time.sleep(0.5)
        return Broker("127.0.0.1", port)

    def run(self) -> int:
        self.data.mkdir(parents=True, exist_ok=True)
        broker = self.start_broker()
        rtsp_port = _free_port()
        site_data = yaml.safe_load(demo_site_path().read_text())
        for cam in site_data["cameras"]:
            cam["url"] = f"rtsp://127.0.0.1:{rtsp_port}/{cam['id']}"
        site_file = self.data / "site.yaml"
        site_file.write_text(yaml.safe_dump(site_data, sort_keys=False))
        site = load_site(site_file)
        logging.getLogger("httpx").setLevel(logging.WARNING)
        tokens = {"operator": secrets.token_urlsafe(9), "commander": secrets.token_urlsafe(9)}
        users = [
            {"name": n, "role": n, "token_sha256": hashlib.sha256(t.encode()).hexdigest()}
            for n, t in tokens.items()
        ]
        users_file = self.data / "users.yaml"
        users_file.write_text(yaml.safe_dump({"users": users}))
        t0 = time.time() + 3.0
        video = self.start_cameras(site, broker, rtsp_port, t0)
        serve_args = [
            sys.executable,
            "-m",
            "vigie.cli",
            "serve",
            "--site",
            str(site_file),
            "--users",
            str(users_file),
            "--db",
            str(self.data / "vigie.db"),
            "--broker",
            str(broker),
            "--http",
            self.http,
        ]
        if video != "rtsp":
            serve_args.append("--no-cameras")
        with (self.data / "vigie.log").open("ab") as out:
            self.procs.append(subprocess.Popen(serve_args, stdout=out, stderr=out))
        base = f"http://{self.http}"
        if not self.wait_healthy(base):
            print(
                f"vigie demo: the service did not start; see {self.data / 'vigie.log'}",
                file=sys.stderr,
            )
            return 1
        self.lights = Floodlights(site, broker)
        self.lights.start()
        self.spawn(self.sensor_loop, site, broker, t0)
        self.spawn(self.demo_operator, base, tokens["operator"])
        cameras_note = (
            "cameras: simulated scenes served over RTSP by GStreamer, analysed by"
            " camera worker processes"
            if video == "rtsp"
            else "cameras: GStreamer's RTSP server is not installed, so the simulated"
            " frames go straight into the same analysis code"
        )
        print(
            f"""
Vigie demo is running.
  dashboard:  {base}/
  sign in as  operator  / {tokens["operator"]}   (acknowledges and resolves)
          or  commander / {tokens["commander"]}   (sees everything, cannot act)
  {cameras_note}
  every {ROUND_S:.0f} s an intruder climbs the fence at the main gate (Z07): the fence alarm
  turns the zone amber, the camera confirms it red, the gate floodlight comes on; a demo
  operator acknowledges what you leave for {BOT_ACK_S:.0f} s.
  data and logs in {self.data}; Ctrl-C stops everything.
""",
            flush=True,
        )
        try:
            while not self.stop.wait(1.0):
                for p in self.procs:
                    if p.poll() is not None:
                        print(f"vigie demo: {p.args!r} exited ({p.returncode})", file=sys.stderr)
                        return 1
        except KeyboardInterrupt:
            pass
        finally:
            self.shutdown()
        return 0

    def start_cameras(self, site: Any, broker: Broker, port: int, t0: float) -> str:
        scenes = _scenes(0.0)
        if self.rtsp and rtsp_available():
            try:
                self.cameras = SimulatedCameras(port, scenes, fps=10)
                self.cameras.start(t0=t0)
                return "rtsp"
            except RtspUnavailable as exc:
                log.warning("RTSP server did not start (%s): frames go straight to analysis", exc)
        for cam_id, scene in scenes.items():
            worker = CameraWorker(site, cam_id, broker)
            source = SceneSource(scene, t0)
            self.spawn(worker.run, self.stop, source)
        return "direct"

    def spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self.threads.append(thread)

    def sensor_loop(self, site: Any, broker: Broker, t0: float) -> None:
        scenario = load_scenario("demo-gate-intrusion")
        n = 0
        while not self.stop.is_set():
            play_scenario(
                scenario,
                site,
                broker,
                self.stop,
                lights=self.lights,
                t0=t0 + n * ROUND_S,
                round_no=n,
            )
            n += 1

    def demo_operator(self, base: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=5) as api:
            while not self.stop.wait(2.0):
                try:
                    for inc in api.get("/api/incidents").json():
                        age = time.time() - inc["opened_t"]
                        if inc["state"] == "open" and age > BOT_ACK_S:
                            api.post(
                                f"/api/incidents/{inc['id']}/ack",
                                json={"comment": "demo operator: patrol sent to look"},
                            )
                        elif inc["state"] == "acknowledged" and age > BOT_RESOLVE_S:
                            api.post(
                                f"/api/incidents/{inc['id']}/resolve",
                                json={"outcome": "test", "comment": "demo: training run"},
                            )
                except (httpx.HTTPError, ValueError) as exc:
                    log.debug("demo operator: %s", exc)

    def wait_healthy(self, base: str, within_s: float = 30.0) -> bool:
        deadline = time.time() + within_s
        while time.time() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        return False

    def shutdown(self) -> None:
        self.stop.set()
        if self.lights is not None:
            self.lights.stop()
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in reversed(self.procs):
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        if self.cameras is not None:
            self.cameras.stop()
        for t in self.threads:
            t.join(5)
