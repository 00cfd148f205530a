"""What every ``vigie`` command shares: one-line usage errors, the stop signal, and reading
the site file and broker URL (exit status 2 with the reason)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import NoReturn

from adapters.mqtt import AdapterError, Broker
from fusion.site import Site, SiteError
from vigie.site_file import load_site

EXIT_USAGE = 2
"""Bad arguments or a bad site file: the same status argparse uses."""


class Parser(argparse.ArgumentParser):
    """Argument errors in one line, with where to look for help."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def stop_on_signals() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM, so a command can finish its work cleanly."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def broker_from(url: str, command: str) -> Broker:
    """The broker URL of ``--broker``, or exit 2 with a one-line reason."""
    try:
        return Broker.from_url(url)
    except AdapterError as exc:
        print(f"vigie {command}: error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from exc


def site_from(path: str) -> Site:
    try:
        return load_site(path)
    except SiteError as exc:
        print(f"vigie: bad site file: {exc}", file=sys.stderr)
        if len(exc.problems) > 1:
            print(exc.details(), file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from exc


def http_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--http must be HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)
