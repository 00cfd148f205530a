"""``vigie demo --centre``: two sites and a joint centre on one machine (docs/centre.md).

The railhead (the demo site) and a ferry port (``sites/port.yaml``) each get what a site
has: a Mosquitto of its own, bridged to the centre's with the files of deploy/bridges,
a ``vigie serve`` on SQLite, and simulated sensors playing a story round after round
(sensors only: the single-site demo shows the cameras). A third Mosquitto and
``vigie centre`` make the joint centre, with two desks: the French police command sees
both sites and acts, the UK Border Force desk sees the port only and watches. A site's
demo operator resolves, as a test, what has been left for two minutes, so the queue
shows each incident's life without piling up.

Everything runs as in a deployment: processes of their own, talking over MQTT and HTTP.
Only the command line imports this module.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
import yaml

from adapters.mqtt import Broker
from fusion.site import Site
from simulators.bridges import BridgeTemplateError, bridge_config
from simulators.broker import BrokerUnavailable, Mosquitto, free_port
from simulators.demo import EXIT_GRACE_S, HEALTHY_WITHIN_S, DemoError, dashboard_address
from simulators.devices import Floodlights, play_scenario
from simulators.scenario import Scenario, demo_site_path, load_scenario
from vigie.site_file import load_site

log = logging.getLogger("vigie.demo")

PORT_SITE: Final = Path(__file__).with_name("sites") / "port.yaml"
CENTRE: Final = "calais"

RESOLVE_AFTER_S: Final = 120.0
"""A site's demo operator resolves, as a test, an incident nobody closed for this long:
time enough to acknowledge or resolve it from the centre first."""


@dataclass(frozen=True, slots=True)
class DemoSite:
    """One site of the demo: its file, story and the label of its desk's view."""

    key: str
    path: Path
    story: str


SITES: Final = (
    DemoSite("yard", demo_site_path(), "climb-and-walk"),
    DemoSite("port", PORT_SITE, "port-berth-stowaway"),
)


class CentreDemo:
    """One run of the joint centre's demo: what it started, so that Ctrl-C stops it."""

    def __init__(self, data: Path, http: tuple[str, int] | None) -> None:
        self.data = data
        self.http_asked = http
        self.stop = threading.Event()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.brokers: list[Mosquitto] = []
        self.threads: list[threading.Thread] = []
        self.lights: list[Floodlights] = []

    def run(self) -> int:
        try:
            return self._run()
        except DemoError as exc:
            print(f"vigie demo --centre: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 0
        finally:
            self.shutdown()

    def _run(self) -> int:
        http = dashboard_address(self.http_asked, ("127.0.0.1", 8090))
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self.data.mkdir(parents=True, exist_ok=True)
        centre_broker = self.broker("centre", "")
        sites: dict[str, tuple[Site, Path, Broker]] = {}
        for demo in SITES:
            site_file, site = self.write_site(demo)
            try:
                bridge = bridge_config(
                    f"site-{site.site}.conf", centre_address=f"127.0.0.1:{centre_broker.port}"
                )
            except BridgeTemplateError as exc:
                raise DemoError(str(exc)) from exc
            mosquitto = self.broker(site.site, bridge)
            sites[site.site] = (site, site_file, Broker("127.0.0.1", mosquitto.port))
        tokens = {
            "site-operator": secrets.token_urlsafe(9),
            "marie": secrets.token_urlsafe(9),
            "james": secrets.token_urlsafe(9),
        }
        site_users = self.users_file(
            "site-users.yaml", [("site-operator", "operator", None)], tokens
        )
        centre_users = self.users_file(
            "centre-users.yaml",
            [("marie", "operator", "fr-police"), ("james", "operator", "uk-border-force")],
            tokens,
        )
        bases = {}
        for site_id, (_, site_file, site_broker) in sites.items():
            bases[site_id] = self.start(
                site_id,
                [
                    "serve",
                    "--site",
                    str(site_file),
                    "--users",
                    str(site_users),
                    "--db",
                    str(self.data / f"{site_id}.db"),
                    "--broker",
                    str(site_broker),
                    "--http",
                    f"127.0.0.1:{free_port()}",
                    "--no-cameras",
                ],
            )
        centre_file = self.centre_file([(s, sites[s][1]) for s in sites])
        base = self.start(
            "centre",
            [
                "centre",
                "--centre",
                str(centre_file),
                "--users",
                str(centre_users),
                "--db",
                str(self.data / "centre.db"),
                "--broker",
                f"mqtt://127.0.0.1:{centre_broker.port}",
                "--http",
                http,
            ],
        )
        for demo in SITES:
            site, _, site_broker = next(v for v in sites.values() if v[1].stem == demo.key)
            self.play(site, site_broker, load_scenario(demo.story))
        for site_id, site_base in bases.items():
            self.spawn(self.site_operator, site_base, tokens["site-operator"], site_id)
        self.banner(base, tokens, bases)
        while not self.stop.wait(1.0):
            exited = [p for p in self.procs if p.poll() is not None]
            if exited and not self.stop.wait(EXIT_GRACE_S):
                for p in exited:
                    print(f"vigie demo: {p.args!r} exited ({p.returncode})", file=sys.stderr)
                return 1
        return 0

    # -- the pieces ---------------------------------------------------------------------

    def broker(self, name: str, extra: str) -> Mosquitto:
        try:
            broker = Mosquitto(self.data / f"broker-{name}", extra)
        except BrokerUnavailable as exc:
            raise DemoError(str(exc)) from exc
        try:
            broker.start()
        except TimeoutError as exc:
            raise DemoError(f"Mosquitto did not start; see {broker.log_path}") from exc
        self.brokers.append(broker)
        return broker

    def write_site(self, demo: DemoSite) -> tuple[Path, Site]:
        """The site file without cameras (this demo plays sensors only)."""
        data = yaml.safe_load(demo.path.read_text())
        data["cameras"] = []
        path = self.data / f"{demo.key}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path, load_site(path)

    def users_file(
        self, name: str, users: list[tuple[str, str, str | None]], tokens: dict[str, str]
    ) -> Path:
        entries = []
        for user, role, desk in users:
            entry = {
                "name": user,
                "role": role,
                "token_sha256": hashlib.sha256(tokens[user].encode()).hexdigest(),
            }
            if desk is not None:
                entry["desk"] = desk
            entries.append(entry)
        path = self.data / name
        path.write_text(yaml.safe_dump({"users": entries}))
        return path

    def centre_file(self, sites: list[tuple[str, Path]]) -> Path:
        ids = [s for s, _ in sites]
        port = next(s for s, path in sites if path.stem == "port")
        path = self.data / "centre.yaml"
        path.write_text(
            yaml.safe_dump(
                {
                    "centre": CENTRE,
                    "name": "Joint command centre, Calais (demo)",
                    "sites": [{"site": s, "site_file": p.name} for s, p in sites],
                    "desks": [
                        {
                            "id": "fr-police",
                            "name": "Police nationale, commandement",
                            "sites": ids,
                            "acts": True,
                        },
                        {
                            "id": "uk-border-force",
                            "name": "UK Border Force",
                            "sites": [port],
                            "acts": False,
                        },
                    ],
                },
                sort_keys=False,
            )
        )
        return path

    def start(self, name: str, argv: list[str]) -> str:
        """A ``vigie`` command as its own process; its address once it is healthy."""
        http = argv[argv.index("--http") + 1]
        with (self.data / f"{name}.log").open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "vigie.cli", *argv], stdout=out, stderr=out
            )
        self.procs.append(proc)
        base = f"http://{http}"
        deadline = time.monotonic() + HEALTHY_WITHIN_S
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return base
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise DemoError(f"{name} did not start; see {self.data / f'{name}.log'}")

    def play(self, site: Site, broker: Broker, story: Scenario) -> None:
        lights = Floodlights(site, broker)
        lights.start()
        self.lights.append(lights)
        self.spawn(play_scenario, story, site, broker, self.stop, lights=lights, t0=time.time() + 2)

    def spawn(self, target: Any, *args: Any, **kwargs: Any) -> None:
        thread = threading.Thread(target=target, args=args, kwargs=kwargs, daemon=True)
        thread.start()
        self.threads.append(thread)

    def site_operator(self, base: str, token: str, site: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=5) as api:
            while not self.stop.wait(5.0):
                try:
                    for inc in api.get("/api/incidents").json():
                        if inc["state"] != "resolved" and time.time() - inc["opened_t"] > (
                            RESOLVE_AFTER_S
                        ):
                            api.post(
                                f"/api/incidents/{inc['id']}/resolve",
                                json={"outcome": "test", "comment": f"demo: {site} closes it"},
                            )
                except (httpx.HTTPError, ValueError) as exc:
                    log.debug("demo operator at %s: %s", site, exc)

    def banner(self, base: str, tokens: dict[str, str], bases: dict[str, str]) -> None:
        sites = "\n".join(
            f"    {site}: {url}/  (site-operator / {tokens['site-operator']})"
            for site, url in bases.items()
        )
        print(
            f"""
Vigie joint centre demo is running.
  centre:     {base}/
  sign in as  marie / {tokens["marie"]}   (Police nationale command: both sites, acts)
          or  james / {tokens["james"]}   (UK Border Force: the port only, watches)
  the sites, each with its own broker, bridged to the centre's:
{sites}
  an intruder climbs the railhead's north fence every 150 s, a stowaway boards the
  port's berth 5 every 120 s; acknowledge or resolve them from the centre, and watch the
  site's confirmation come back. A site's demo operator closes what is left for 2 min.
  data and logs in {self.data}; Ctrl-C stops everything.
""",
            flush=True,
        )

    def shutdown(self) -> None:
        """Stop what this run started, the last started first. A second Ctrl-C does not
        cut this short."""
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_IGN)
        self.stop.set()
        for lights in self.lights:
            lights.stop()
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        for broker in reversed(self.brokers):
            broker.stop()
        for t in self.threads:
            t.join(5)
