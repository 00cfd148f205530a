"""A TCP hop between two brokers that a test can cut: the network under a bridge."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from tests.peers import free_port


class Hop:
    """Forwards 127.0.0.1:``port`` to 127.0.0.1:``target``.

    :meth:`cut` either closes everything and refuses new connections (a broker that
    sees its peer go), or, ``silent``, keeps the connections open and swallows every
    byte both ways (a cable cut that nobody is told about: only timeouts notice).
    :meth:`restore` closes what was left hanging and forwards again, at ``rate`` bytes
    a second if given (a slow line: a catch-up then lasts long enough to be interrupted).
    """

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self.silent = False
        self.rate: float | None = None
        self._server: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def open(self) -> None:
        server = socket.create_server(("127.0.0.1", self.port))
        self._server = server
        self._spawn(self._accept, server)

    def cut(self, *, silent: bool) -> None:
        self.silent = True
        if not silent:
            self._close_server()
            self._close_all()

    def restore(self, rate: float | None = None) -> None:
        self._close_all()
        self.rate = rate
        self.silent = False
        if self._server is None:
            self.open()

    def close(self) -> None:
        self._close_server()
        self._close_all()
        for t in self._threads:
            t.join(5)

    def _spawn(self, target: object, *args: object) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        t.start()
        self._threads.append(t)

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns |= {client, upstream}
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        while True:
            try:
                data = src.recv(65536 if self.rate is None else 1024)
            except OSError:
                break
            if not data:
                break
            if self.silent:
                continue
            if self.rate is not None:
                time.sleep(len(data) / self.rate)
            try:
                dst.sendall(data)
            except OSError:
                break
        for s in (src, dst):
            self._drop(s)

    def _drop(self, s: socket.socket) -> None:
        with self._lock:
            self._conns.discard(s)
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        s.close()

    def _close_all(self) -> None:
        with self._lock:
            conns, self._conns = set(self._conns), set()
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def _close_server(self) -> None:
        if self._server is not None:
            with contextlib.suppress(OSError):
                self._server.shutdown(socket.SHUT_RDWR)
            self._server.close()
            self._server = None
