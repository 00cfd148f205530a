"""``vigie demo``: the whole system on one machine, for a newcomer.

A broker of its own (Mosquitto from Debian's package, unless ``--broker``), the demo
site, simulated sensors playing the gate-intrusion story every 90 s with floodlights
that obey, simulated cameras (over RTSP where GStreamer's server is installed,
otherwise frames straight into the same analysis), the service on SQLite in a data
folder, the dashboard, and a demo operator who acknowledges what nobody else does.

It drives the product from outside, as a site would: ``vigie serve`` as a process of
its own, devices over MQTT, the operator over the HTTP API. Only the command line
imports this module (an import-linter contract in pyproject.toml says so).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Final

import httpx
import yaml

from adapters.camera import CameraWorker
from adapters.mqtt import Broker
from fusion.site import Site
from simulators.broker import BrokerUnavailable, Mosquitto, free_port
from simulators.cameras import RtspUnavailable, SimulatedCameras, rtsp_available
from simulators.devices import Floodlights, play_scenario
from simulators.scenario import demo_site_path, load_scenario
from simulators.scene import Scene, SceneSource, Walker
from vigie.site_file import load_site

log = logging.getLogger("vigie.demo")

STORY: Final = "demo-gate-intrusion"
"""The scenario the sensors play, round after round (its duration is the round); the
camera's walker repeats in step with it."""

BOT_ACK_S: Final = 20.0
BOT_RESOLVE_S: Final = 60.0
"""The demo operator acknowledges an incident nobody took after 20 s, and resolves it as
a test after 60 s, so the queue shows the whole life of an incident without piling up."""

DEFAULT_HTTP: Final = ("127.0.0.1", 8080)
"""Where the dashboard is served unless ``--http`` says otherwise; when something else
already listens there, the demo takes a free port and prints it."""

EXIT_GRACE_S: Final = 1.0
"""Ctrl-C reaches every process of the terminal's group at once, and the broker may be
gone before the signal is handled here (a thread of ours may take it): a process that
exits is reported as a failure only if no Ctrl-C follows within this long."""

HEALTHY_WITHIN_S: Final = 30.0
"""How long the service may take to answer /healthz (it starts in 2-5 s here)."""


class DemoError(RuntimeError):
    """The demo cannot start: the reason is one line for the user."""


def port_is_free(host: str, port: int) -> bool:
    """Whether the service could listen on host:port now (uvicorn sets SO_REUSEADDR too,
    so a connection of an earlier run still closing does not count as busy)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def dashboard_address(
    asked: tuple[str, int] | None, default: tuple[str, int] = DEFAULT_HTTP
) -> str:
    """``HOST:PORT`` for the dashboard: the one asked for, which must be free; else the
    default, or a free port when something already listens there (a newcomer with
    another server on 8080 is not stuck)."""
    if asked is None:
        host, port = default
        return f"{host}:{port if port_is_free(host, port) else free_port()}"
    host, port = asked
    if not port_is_free(host, port):
        raise DemoError(
            f"{host}:{port} is in use; choose another --http, or leave it out"
            " and the demo takes a free port"
        )
    return f"{host}:{port}"


def _scenes(round_s: float) -> dict[str, Scene]:
    """cam-02 watches Z06 (left) and Z07 (right): the intruder comes into its view at the
    gate a few seconds after climbing the fence there (the story's fence alarm is at
    about 23.5 s of each round), so the zone turns amber, then red."""
    gate = Walker(((0.78, 0.5), (0.66, 0.86)), start_s=25.0, speed=0.04, repeat_s=round_s)
    return {
        "cam-01": Scene(vegetation=True, seed=1),
        "cam-02": Scene(walkers=[gate], seed=2),
        "cam-03": Scene(vegetation=True, rain=True, seed=3),
    }


class Demo:
    """One demo run: what it started, so that Ctrl-C stops all of it."""

    def __init__(
        self,
        data: Path,
        http: tuple[str, int] | None,
        broker_url: str | None,
        rtsp: bool = True,
    ) -> None:
        self.data = data
        self.rtsp = rtsp
        self.http_asked = http
        self.story = load_scenario(STORY)
        self.broker_url = broker_url
        self.stop = threading.Event()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.threads: list[threading.Thread] = []
        self.broker: Mosquitto | None = None
        self.cameras: SimulatedCameras | None = None
        self.lights: Floodlights | None = None

    def run(self) -> int:
        try:
            return self._run()
        except DemoError as exc:
            print(f"vigie demo: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 0
        finally:
            self.shutdown()

    def _run(self) -> int:
        http = dashboard_address(self.http_asked)
        logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per API call
        logging.getLogger("vigie.mqtt").setLevel(logging.WARNING)  # simulators' connections
        self.data.mkdir(parents=True, exist_ok=True)
        broker = self.start_broker()
        rtsp_port = free_port()
        site_file, site = self.write_site(rtsp_port)
        tokens = {"operator": secrets.token_urlsafe(9), "commander": secrets.token_urlsafe(9)}
        users = [
            {"name": n, "role": n, "token_sha256": hashlib.sha256(t.encode()).hexdigest()}
            for n, t in tokens.items()
        ]
        users_file = self.data / "users.yaml"
        users_file.write_text(yaml.safe_dump({"users": users}))
        t0 = time.time() + 3.0
        video = self.start_cameras(site, broker, rtsp_port, t0)
        base = self.start_service(http, site_file, users_file, broker, video == "rtsp")
        self.close_earlier_runs(base, tokens["operator"])
        self.lights = Floodlights(site, broker)
        self.lights.start()
        self.spawn(self.sensor_loop, site, broker, t0)
        self.spawn(self.demo_operator, base, tokens["operator"])
        self.banner(base, tokens, video)
        while not self.stop.wait(1.0):
            exited = [p for p in self.procs if p.poll() is not None]
            if exited and not self.stop.wait(EXIT_GRACE_S):
                for p in exited:
                    print(f"vigie demo: {p.args!r} exited ({p.returncode})", file=sys.stderr)
                return 1
        return 0

    def start_broker(self) -> Broker:
        if self.broker_url:
            return Broker.from_url(self.broker_url)
        try:
            self.broker = Mosquitto(self.data / "broker")
        except BrokerUnavailable as exc:
            raise DemoError(f"{exc}, or pass --broker mqtt://host:port") from exc
        try:
            self.broker.start()
        except TimeoutError as exc:
            raise DemoError(f"Mosquitto did not start; see {self.broker.log_path}") from exc
        assert self.broker.proc is not None
        self.procs.append(self.broker.proc)
        return Broker("127.0.0.1", self.broker.port)

    def write_site(self, rtsp_port: int) -> tuple[Path, Site]:
        """The demo site, its cameras at the simulated RTSP server's port."""
        site_data = yaml.safe_load(demo_site_path().read_text())
        for cam in site_data["cameras"]:
            cam["url"] = f"rtsp://127.0.0.1:{rtsp_port}/{cam['id']}"
        site_file = self.data / "site.yaml"
        site_file.write_text(yaml.safe_dump(site_data, sort_keys=False))
        return site_file, load_site(site_file)

    def start_service(
        self, http: str, site_file: Path, users_file: Path, broker: Broker, cameras: bool
    ) -> str:
        """``vigie serve`` as its own process; its dashboard address once it is healthy."""
        args = [
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
            "--data",  # evidence clips in data/demo/clips
            str(self.data),
            "--broker",
            str(broker),
            "--http",
            http,
        ]
        if not cameras:
            args.append("--no-cameras")
        with (self.data / "vigie.log").open("ab") as out:
            service = subprocess.Popen(args, stdout=out, stderr=out)
        self.procs.append(service)
        base = f"http://{http}"
        if self.wait_healthy(base, service):
            return base
        raise DemoError(f"the service did not start; see {self.data / 'vigie.log'}")

    def banner(self, base: str, tokens: dict[str, str], video: str) -> None:
        cameras_note = (
            "cameras: simulated scenes served over RTSP by GStreamer, analysed by"
            " camera worker processes"
            if video == "rtsp"
            else "cameras: GStreamer's RTSP server is not installed, so the simulated"
            " frames go straight into the same analysis code"
        )
        busy = (
            f"  ({DEFAULT_HTTP[0]}:{DEFAULT_HTTP[1]} was in use, so the demo took a free port)\n"
            if self.http_asked is None and not base.endswith(f":{DEFAULT_HTTP[1]}")
            else ""
        )
        round_s = self.story.duration_s
        print(
            f"""
Vigie demo is running.
  dashboard:  {base}/
{busy}  sign in as  operator  / {tokens["operator"]}   (acknowledges and resolves)
          or  commander / {tokens["commander"]}   (sees everything, cannot act)
  {cameras_note}
  every {round_s:.0f} s: the joint intelligence unit warns of a group heading for the main
  gate (Z06 and Z07 go on watch, marked ◉); an intruder climbs the fence at the
  gate (Z07): the fence alarm turns the zone amber, the camera confirms it red, the
  incident is linked to the warning, the gate floodlight comes on; a demo operator
  acknowledges what you leave for {BOT_ACK_S:.0f} s.
  data and logs in {self.data}; Ctrl-C stops everything.
""",
            flush=True,
        )

    def start_cameras(self, site: Site, broker: Broker, port: int, t0: float) -> str:
        scenes = _scenes(self.story.duration_s)
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

    def sensor_loop(self, site: Site, broker: Broker, t0: float) -> None:
        play_scenario(self.story, site, broker, self.stop, lights=self.lights, t0=t0, loop=True)

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

    def close_earlier_runs(self, base: str, token: str) -> None:
        """Each run tells the story from its start: the demo operator resolves, as a
        test, what an earlier run in this folder left unresolved. Otherwise a run started
        within ``window_s`` of the last one joins its gate intrusion to the old incident,
        whose floodlight command was already sent, and the gate stays dark."""
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=5) as api:
            try:
                for state in ("open", "acknowledged"):
                    for inc in api.get("/api/incidents", params={"state": state}).json():
                        api.post(
                            f"/api/incidents/{inc['id']}/resolve",
                            json={"outcome": "test", "comment": "demo: left by an earlier run"},
                        ).raise_for_status()
                        log.info("resolved %s, left by an earlier run", inc["id"])
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("could not resolve what an earlier run left: %s", exc)

    def wait_healthy(self, base: str, proc: subprocess.Popen[bytes]) -> bool:
        deadline = time.monotonic() + HEALTHY_WITHIN_S
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        return False

    def shutdown(self) -> None:
        """Stop what this run started, the last started first: the service before the
        broker it commits through. A second Ctrl-C does not cut this short."""
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_IGN)
        self.stop.set()
        if self.lights is not None:
            self.lights.stop()
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        if self.cameras is not None:
            self.cameras.stop()
        for t in self.threads:
            t.join(5)
