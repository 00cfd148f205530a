"""Two sites and a joint centre on this machine, as a deployment runs them: a Mosquitto
per site and one for the centre, bridged with the files of deploy/bridges through hops
a test can cut, a `vigie serve` per site and a `vigie centre` (docs/centre.md)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from websockets.sync.client import ClientConnection, connect

from simulators.bridges import bridge_config
from tests.builders import strip
from tests.centre.hop import Hop
from tests.peers import Mosquitto, VigieProcess, free_port
from tests.sensors import Gateway

YARD, PORT = "coquelles", "calais-port"
SITES = (YARD, PORT)
CENTRE = "calais"

USERS = {
    # name: (role, desk, token)
    "marie": ("operator", "fr-police", "marie-token"),
    "carl": ("commander", "fr-police", "carl-token"),
    "uma": ("operator", "uk-border", "uma-token"),
    "nils": ("operator", "nca", "nils-token"),
}
SITE_USERS = {"alice": ("operator", "alice-token")}
TOKEN = {name: entry[-1] for name, entry in {**USERS, **SITE_USERS}.items()}


def eventually(check: Callable[[], Any], within_s: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + within_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within_s} s: {what}")
        time.sleep(0.1)


def write_files(folder: Path) -> dict[str, Path]:
    """Site files, users files and the centre file for the two sites."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for site in SITES:
        data = strip()
        data["site"] = site
        data["name"] = "Coquelles railhead" if site == YARD else "Port of Calais"
        data["cameras"] = []
        data["intel_sources"] = [{"id": "jiu", "name": "Joint intelligence unit"}]
        paths[site] = folder / f"{site}.yaml"
        paths[site].write_text(yaml.safe_dump(data))

    def users(entries: Mapping[str, tuple[str, ...]]) -> list[dict[str, Any]]:
        out = []
        for name, entry in entries.items():
            user = {"name": name, "role": entry[0], "token_sha256": _sha(entry[-1])}
            if len(entry) == 3:
                user["desk"] = entry[1]
            out.append(user)
        return out

    paths["site_users"] = folder / "site-users.yaml"
    paths["site_users"].write_text(yaml.safe_dump({"users": users(SITE_USERS)}))
    paths["users"] = folder / "centre-users.yaml"
    paths["users"].write_text(yaml.safe_dump({"users": users(USERS)}))
    paths["centre"] = folder / "centre.yaml"
    paths["centre"].write_text(yaml.safe_dump(centre_file()))
    return paths


def centre_file() -> dict[str, Any]:
    return {
        "centre": CENTRE,
        "name": "Joint centre, Calais",
        "sites": [
            {"site": YARD, "name": "Coquelles railhead", "site_file": f"{YARD}.yaml"},
            {"site": PORT, "name": "Port of Calais", "site_file": f"{PORT}.yaml"},
        ],
        "desks": [
            {"id": "fr-police", "name": "Police nationale", "sites": [YARD, PORT], "acts": True},
            {"id": "uk-border", "name": "UK Border Force", "sites": [PORT], "acts": False},
            {"id": "nca", "name": "National Crime Agency", "sites": [YARD, PORT], "acts": False},
        ],
    }


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CentreProcess(VigieProcess):
    """`vigie centre` as an outside client sees it."""

    def __init__(
        self, centre_file: Path, users: Path, db: str, broker: Mosquitto, workdir: Path
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.args = [
            sys.executable,
            "-m",
            "vigie.cli",
            "centre",
            "--centre",
            str(centre_file),
            "--users",
            str(users),
            "--db",
            db,
            "--broker",
            broker.url,
            "--http",
            f"127.0.0.1:{self.port}",
        ]
        self.log_path = workdir / "centre.log"
        self.proc = None
        self.base = f"http://127.0.0.1:{self.port}"

    def as_user(self, name: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {TOKEN[name]}"}, timeout=10
        )

    def ws(self, name: str) -> ClientConnection:
        return connect(
            f"ws://127.0.0.1:{self.port}/ws",
            additional_headers={"Authorization": f"Bearer {TOKEN[name]}"},
        )

    def links(self, name: str = "marie") -> dict[str, str]:
        picture = self.get("/api/picture", TOKEN[name]).json()
        return {s["site"]: s["link"] for s in picture["sites"]}


class Joint:
    """The whole set-up; see the module docstring. ``centre_dials``: the centre broker
    holds the bridges (deploy/bridges/centre.conf) instead of each site's."""

    def __init__(self, folder: Path, *, centre_dials: bool = False, centre_db: str = "") -> None:
        self.folder = folder
        self.files = write_files(folder / "config")
        self.centre_broker = Mosquitto(folder / "broker-centre")
        self.brokers = {site: Mosquitto(folder / f"broker-{site}") for site in SITES}
        self.hops: dict[str, Hop] = {}
        if centre_dials:
            for site in SITES:
                self.hops[site] = Hop(self.brokers[site].port)
            self.centre_broker.extra = bridge_config(
                "centre.conf",
                **{
                    f"{s.replace('-', '_')}_address": f"127.0.0.1:{self.hops[s].port}"
                    for s in SITES
                },
            )
        else:
            for site in SITES:
                self.hops[site] = Hop(self.centre_broker.port)
                self.brokers[site].extra = bridge_config(
                    f"site-{site}.conf", centre_address=f"127.0.0.1:{self.hops[site].port}"
                )
        self.sites = {
            site: VigieProcess(
                self.files[site],
                self.files["site_users"],
                str(folder / f"{site}.db"),
                self.brokers[site],
                folder / f"serve-{site}",
            )
            for site in SITES
        }
        for site in SITES:
            (folder / f"serve-{site}").mkdir(parents=True, exist_ok=True)
        self.centre = CentreProcess(
            self.files["centre"],
            self.files["users"],
            centre_db or str(folder / "centre.db"),
            self.centre_broker,
            folder / "centre",
        )

    def start(self) -> None:
        self.centre_broker.start()
        for site in SITES:
            self.hops[site].open()
            self.brokers[site].start()
        for site in SITES:
            self.sites[site].start()
        self.centre.start()
        eventually(
            lambda: self.centre.links() == {YARD: "up", PORT: "up"},
            within_s=30,
            what=f"both links up: {self.centre.links()}",
        )

    def stop(self) -> None:
        for proc in (self.centre, *self.sites.values()):
            with contextlib.suppress(Exception):
                proc.stop()
        for broker in (*self.brokers.values(), self.centre_broker):
            broker.stop()
        for hop in self.hops.values():
            hop.close()

    def gateway(self, site: str) -> Gateway:
        return Gateway(self.brokers[site].port, client_id=f"gateway-{site}")

    def site_incidents(self, site: str) -> list[dict[str, Any]]:
        r = self.sites[site].get("/api/incidents", TOKEN["alice"])
        assert r.status_code == 200, r.text
        return list(r.json())

    def centre_incidents(self, site: str, user: str = "marie") -> list[dict[str, Any]]:
        r = self.centre.get(f"/api/incidents?site={site}", TOKEN[user])
        assert r.status_code == 200, r.text
        return list(r.json())

    def same_incidents(self, site: str) -> bool:
        """The centre's incidents of ``site`` are the site's, one by one."""
        at_site = {i["id"]: i for i in self.site_incidents(site)}
        at_centre = {i["id"]: i for i in self.centre_incidents(site)}
        if at_site.keys() != at_centre.keys():
            return False
        return all(
            {k: v for k, v in at_centre[i].items() if k != "site"} == at_site[i] for i in at_site
        )


def alarm(gw: Gateway, site: str, sensor: str, msg_id: str) -> None:
    gw.send(f"perimeter/{site}/ir/{sensor}", {"id": msg_id, "event": "alarm"})


def warning(gw: Gateway, site: str, ref: str, zones: list[str], desks: list[str]) -> None:
    """A credible (2B) item from the site's intelligence unit, valid for an hour, for
    ``desks`` only."""
    now = datetime.now(UTC)
    data = {
        "ref": ref,
        "title": f"Group heading for {', '.join(zones)}",
        "zones": zones,
        "valid_from": _iso(now - timedelta(seconds=1)),
        "valid_until": _iso(now + timedelta(hours=1)),
        "source_grade": "2",
        "information_grade": "B",
        "handling": "C",
        "conditions": "police desks only",
        "desks": desks,
    }
    body = {"id": f"{ref}-{time.time_ns()}", "ts": _iso(now), "event": "issue", "data": data}
    gw.send(f"perimeter/{site}/intel/jiu", body)


def _iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


@contextlib.contextmanager
def joint(folder: Path, **kw: Any) -> Iterator[Joint]:
    j = Joint(folder, **kw)
    try:
        j.start()
        yield j
    finally:
        j.stop()


def frames(
    ws: ClientConnection, until: Callable[[dict[str, Any]], bool], within_s: float = 20
) -> list[dict[str, Any]]:
    """Receive until a change satisfies ``until``; returns every change seen."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        message = json.loads(ws.recv(max(0.1, deadline - time.monotonic())))
        if message["type"] != "update":
            continue
        views = [{"type": "incident-view", **i} for i in message["incidents"]]
        for c in views + message["changes"]:  # the page applies a frame's incidents first
            seen.append(c)
            if until(c):
                return seen
    raise AssertionError(f"not within {within_s} s; saw {seen[-10:]}")
