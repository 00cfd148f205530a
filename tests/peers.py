"""Real peers for the tests: a Mosquitto broker and a `vigie serve` process."""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = [  # Debian's Chromium on this machine kind (see infra notes)
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
BROKER_CONF = REPO / "vigie" / "mosquitto.conf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port} after {within_s} s")


class Mosquitto:
    """A broker of our own on a free port, with the shipped settings and persistence."""

    def __init__(self, workdir: Path) -> None:
        if shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists():
            pytest.fail("mosquitto is not installed: run scripts/setup.sh --test")
        self.port = free_port()
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.conf = self.dir / "mosquitto.conf"
        # Started as root, mosquitto drops to user "mosquitto", which cannot write its
        # session store in the test's folder: keep the user we are.
        user = f"user {getpass.getuser()}\n" if os.geteuid() == 0 else ""
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            f"persistence_location {self.dir}/\n" + user + BROKER_CONF.read_text()
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        with (self.dir / "mosquitto.log").open("ab") as log:
            self.proc = subprocess.Popen([binary, "-c", str(self.conf)], stdout=log, stderr=log)
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)  # clean stop: the session store is saved
            self.proc.wait(10)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


class VigieProcess:
    """`vigie serve` as an outside client sees it: a process, a port, a database."""

    def __init__(
        self,
        site: Path,
        users: Path,
        db: str,
        broker: Mosquitto,
        workdir: Path,
        *,
        extra: tuple[str, ...] = ("--no-cameras",),
    ) -> None:
        self.port = free_port()
        self.args = [
            sys.executable,
            "-m",
            "vigie.cli",
            "serve",
            "--site",
            str(site),
            "--users",
            str(users),
            "--db",
            db,
            "--broker",
            broker.url,
            "--http",
            f"127.0.0.1:{self.port}",
            *extra,
        ]
        self.log_path = workdir / "vigie.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self, within_s: float = 20.0) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=log, env=env, cwd=REPO)
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vigie serve exited {self.proc.returncode}: {self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.05)
        raise TimeoutError(f"vigie serve not healthy after {within_s} s: {self.log()}")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def get(self, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(f"{self.base}{path}", headers=headers, timeout=10, **kw)

    def post(self, path: str, body: Any, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.post(f"{self.base}{path}", json=body, headers=headers, timeout=10)

    def metric(self, name: str, token: str) -> float:
        text = self.get("/metrics", token).text
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        raise KeyError(name)
