"""A Mosquitto broker of our own on a free loopback port: the one launcher that `vigie demo`
and the tests share.

It runs Debian's ``mosquitto`` with the shipped settings (``vigie/mosquitto.conf``: no
queue limits, so QoS 1 bursts are never dropped), anonymous access on 127.0.0.1 only,
and its session store in a folder of ours.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from importlib import resources
from pathlib import Path
from typing import Final

MOSQUITTO_FALLBACK: Final = Path("/usr/sbin/mosquitto")
"""Where Debian's package puts the broker; /usr/sbin is not on every user's PATH."""

SETTINGS: Final = "mosquitto.conf"
"""The broker settings shipped in the ``vigie`` package (compose mounts the same file)."""


class BrokerUnavailable(RuntimeError):
    """Mosquitto is not installed (``scripts/setup.sh`` installs Debian's package)."""


def free_port() -> int:
    """A TCP port nothing listens on at this instant (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {within_s} s")


def mosquitto_binary() -> Path:
    found = shutil.which("mosquitto")
    binary = Path(found) if found else MOSQUITTO_FALLBACK
    if not binary.exists():
        raise BrokerUnavailable(
            "Mosquitto is not installed (scripts/setup.sh installs Debian's package)"
        )
    return binary


def shipped_settings() -> str:
    return (resources.files("vigie") / SETTINGS).read_text(encoding="utf-8")


class Mosquitto:
    """A broker on a free port of 127.0.0.1, its settings, log and session store in
    ``workdir``. ``stop`` ends it with SIGTERM, so its session store is saved.

    ``extra`` is appended to its configuration (a bridge's ``connection`` block, see
    :mod:`simulators.bridges`); change it and :meth:`restart` to reconfigure."""

    def __init__(self, workdir: Path, extra: str = "") -> None:
        self.binary = mosquitto_binary()
        self.port = free_port()
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.conf = self.dir / "mosquitto.conf"
        self.log_path = self.dir / "mosquitto.log"
        self.extra = extra
        self._configure()
        self.proc: subprocess.Popen[bytes] | None = None

    def _configure(self) -> None:
        # Started as root, mosquitto drops to user "mosquitto", which cannot write its
        # session store in our folder: keep the user we are.
        user = f"user {getpass.getuser()}\n" if os.geteuid() == 0 else ""
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            f"persistence_location {self.dir}/\n" + user + shipped_settings() + self.extra
        )

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._configure()
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(self.binary), "-c", str(self.conf)], stdout=log, stderr=log
            )
        try:
            wait_for_port(self.port)
        except TimeoutError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
