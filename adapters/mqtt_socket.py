"""paho's network loop with its reads buffered.

paho-mqtt 2.x reads each incoming packet with three ``recv`` calls (its type byte, its
length, its body) and goes round its ``select`` loop once per packet. Each call is a
system call and a hand-over of the interpreter lock, and under a QoS 1 backlog this,
not Vigie's own work, was the largest cost of ingest (docs/service.md, "Ingest
speed"). :class:`BufferedSocket` reads up to 64 KiB at once and serves paho's small
reads from that buffer; its ``pending()`` tells paho's loop that bytes are waiting, the
same hook paho already uses for TLS, so the loop does not sleep in ``select`` while a
packet is buffered. :class:`BufferedClient` installs it and reads every packet already
buffered in one turn of the loop (bounded, so that PUBACKs and keepalives still go out).

Only paho's reading changes: what it parses, acknowledges and calls back is its own.
"""

from __future__ import annotations

from typing import Any, Final

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode

READ_SIZE: Final = 65536
PACKETS_PER_TURN: Final = 256
"""Packets read from the buffer in one turn of paho's loop before it writes (PUBACKs)
and checks its keepalive again."""


class BufferedSocket:
    """A connected socket whose reads come from a buffer filled 64 KiB at a time."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buffer = b""
        self._at = 0

    def recv(self, size: int) -> bytes:
        if self._at >= len(self._buffer):
            data: bytes = self._sock.recv(READ_SIZE)  # BlockingIOError: nothing yet
            if not data:
                return b""  # the broker closed the connection
            self._buffer, self._at = data, 0
        start = self._at
        self._at = min(start + size, len(self._buffer))
        return self._buffer[start : self._at]

    def pending(self) -> int:
        """Bytes read from the network that paho has not taken yet (a TLS socket adds
        what it holds decrypted)."""
        inner = getattr(self._sock, "pending", None)
        return len(self._buffer) - self._at + (inner() if inner is not None else 0)

    def send(self, data: bytes | bytearray) -> int:
        sent: int = self._sock.send(data)
        return sent

    def close(self) -> None:
        self._sock.close()

    def fileno(self) -> int:
        fd: int = self._sock.fileno()
        return fd

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)

    def __getattr__(self, name: str) -> Any:  # anything else paho asks of a socket
        return getattr(self._sock, name)


class BufferedClient(paho.Client):
    """paho's client, reading through a :class:`BufferedSocket` (TCP and TLS)."""

    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        if self._transport == "websockets":
            return sock  # paho's websocket wrapper frames its own reads
        return BufferedSocket(sock)

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        rc = super().loop_read(max_packets)
        turns = 1
        while (
            rc == MQTTErrorCode.MQTT_ERR_SUCCESS
            and turns < PACKETS_PER_TURN
            and isinstance(self._sock, BufferedSocket)
            and self._sock.pending() > 0
        ):
            rc = super().loop_read(max_packets)
            turns += 1
        return rc
