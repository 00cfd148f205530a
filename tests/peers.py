"""Real peers for the tests: a Mosquitto broker (the launcher `vigie demo` uses too), a
`vigie serve` process, and `vigie demo` as a newcomer starts it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from simulators.broker import Mosquitto, free_port, wait_for_port

__all__ = [
    "BROKER_CONF",
    "CHROMIUM_FLAGS",
    "REPO",
    "DemoProcess",
    "Mosquitto",
    "VigieProcess",
    "free_port",
    "processes_pointing_into",
    "wait_for_port",
]

REPO = Path(__file__).resolve().parent.parent


def screenshot_path(name: str) -> Path:
    """Where a page test saves its screenshot: the docs' picture when VIGIE_SCREENSHOTS=1 asks
    to refresh it, otherwise a scratch folder, so that a test run leaves the checkout clean."""
    if os.environ.get("VIGIE_SCREENSHOTS") == "1":
        return REPO / "docs" / name
    return Path(tempfile.gettempdir()) / "vigie-screenshots" / name


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


class DemoProcess:
    """`vigie demo` (or the README's `bash scripts/demo.sh`) in a process group of its own,
    as a terminal runs it, so that :meth:`interrupt` is the Ctrl-C a user types. Its output
    goes to a file (the INFO log would fill a pipe nobody reads)."""

    def __init__(self, argv: Sequence[str], cwd: Path, out: Path, env: dict[str, str]) -> None:
        self.out = out
        self.started = time.time()
        with out.open("wb") as sink:
            self.proc = subprocess.Popen(
                list(argv),
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=cwd,
                env={**env, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
        self.base = ""
        self.tokens: dict[str, str] = {}

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def wait_banner(self, within_s: float) -> str:
        """Wait for the banner; read the dashboard address and the demo logins from it."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            text = self.output()
            if "Ctrl-C stops everything" in text:
                address = re.search(r"dashboard:\s+(http://\S+?)/?\s", text)
                assert address, text[-3000:]
                self.base = address.group(1)
                for role in ("operator", "commander"):
                    login = re.search(rf"{role}\s+/\s+(\S+)", text)
                    assert login, text[-3000:]
                    self.tokens[role] = login.group(1)
                return text
            if self.proc.poll() is not None:
                raise AssertionError(f"the demo exited {self.proc.returncode}:\n{text[-3000:]}")
            time.sleep(0.2)
        raise AssertionError(f"no banner after {within_s} s:\n{self.output()[-3000:]}")

    def get(self, path: str, role: str = "operator") -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        return httpx.get(f"{self.base}{path}", headers=headers, timeout=10)

    def group(self) -> set[int]:
        """The live processes of the demo's process group (itself and what it started)."""
        members = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if fields[0] != "Z" and int(fields[2]) == self.proc.pid:
                    members.add(int(stat.parent.name))
        return members

    def interrupt(self, within_s: float = 30.0) -> int:
        """Ctrl-C: SIGINT to the whole process group, as a terminal sends it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            return self.proc.wait(within_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
            raise AssertionError(f"the demo did not stop within {within_s} s of Ctrl-C") from None


def processes_pointing_into(folder: Path) -> dict[int, str]:
    """Every live process whose command line, working folder or program lies in ``folder``
    (pid -> command line): what a demo left behind, whatever its process group."""
    root = str(folder.resolve())
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            if not cmdline:  # a zombie, or a kernel thread
                continue
            places = [cmdline]
            for link in ("cwd", "exe"):
                with contextlib.suppress(OSError):
                    places.append(os.readlink(entry / link))
            if any(root in place for place in places):
                found[int(entry.name)] = cmdline
    return found
