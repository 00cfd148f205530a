"""MQTT link to the site's sensors (paho-mqtt 2.x).

One persistent-session client (fixed client id, clean session off, QoS 1) that:

- hands each received message to asyncio through a bounded hand-off whose
  overflow policy is **backpressure**: when the service is behind, paho's network
  thread waits, the broker holds the rest in our persistent session, and
  ``backpressure_waits`` counts each wait. Nothing is dropped;
- acknowledges a message (PUBACK) only when the caller says it is safe on disk,
  so a crash before that makes the broker deliver it again;
- publishes commands at QoS 1, queued by paho while the broker is away.

Reconnection is paho's own loop (exponential backoff, capped), with every
attempt logged through ``on_pre_connect``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

log = logging.getLogger("vigie.mqtt")

RECONNECT_MIN_S: Final = 1
RECONNECT_MAX_S: Final = 30
"""Backoff bounds: quick after a blip, at most 30 s between tries during an outage."""

KEEPALIVE_S: Final = 30

HANDOFF_CAPACITY: Final = 10_000
"""Messages received but not yet processed. About half a second at the measured
ingest rate: enough to ride out a store commit, small enough to bound memory."""


class AdapterError(RuntimeError):
    """An adapter was misconfigured or could not do what it was asked."""


@dataclass(frozen=True, slots=True)
class Broker:
    host: str
    port: int

    @classmethod
    def from_url(cls, url: str) -> Broker:
        """``mqtt://host:port`` (port 1883 if absent)."""
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "tcp"):
            raise AdapterError(f"broker URL must be mqtt://host:port, got {url!r}")
        try:
            port = parts.port or 1883
        except ValueError as exc:
            raise AdapterError(f"bad port in broker URL {url!r}") from exc
        if not parts.hostname:
            raise AdapterError(f"no host in broker URL {url!r}")
        return cls(parts.hostname, port)

    def __str__(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class RawMessage:
    """A message as it came off the wire, with the wall-clock time it arrived."""

    topic: str
    payload: bytes
    received: float
    mid: int
    qos: int


class MqttLink:
    """Async context manager around one paho client; see the module docstring."""

    def __init__(
        self,
        broker: Broker,
        client_id: str,
        subscriptions: list[str],
        *,
        persistent: bool = True,
        capacity: int = HANDOFF_CAPACITY,
    ) -> None:
        self.broker = broker
        self.client_id = client_id
        self.subscriptions = subscriptions
        self._persistent = persistent
        self._credits = threading.Semaphore(capacity)
        self._capacity = capacity
        self._queue: asyncio.Queue[RawMessage] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = threading.Event()
        self._connected = threading.Event()
        self.received = 0
        self.backpressure_waits = 0
        self.connect_attempts = 0
        self.published = 0
        self.publish_errors = 0
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=not persistent,
            protocol=paho.MQTTv311,
            manual_ack=True,
        )
        self._client.max_inflight_messages_set(0)
        self._client.max_queued_messages_set(0)
        self._client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        self._client.on_pre_connect = self._on_pre_connect
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    # -- lifecycle --------------------------------------------------------------

    async def __aenter__(self) -> MqttLink:
        self._loop = asyncio.get_running_loop()
        self._client.connect_async(self.broker.host, self.broker.port, keepalive=KEEPALIVE_S)
        if self._client.loop_start() != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise AdapterError("could not start the MQTT network thread")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing.set()
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, within_s: float) -> bool:
        return await asyncio.to_thread(self._connected.wait, within_s)

    # -- receiving ----------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Messages handed over and not yet taken by :meth:`batch`."""
        return self._queue.qsize()

    async def batch(self, limit: int) -> list[RawMessage]:
        """Wait for at least one message, then take what is waiting, up to ``limit``."""
        first = await self._queue.get()
        taken = [first]
        while len(taken) < limit and not self._queue.empty():
            taken.append(self._queue.get_nowait())
        return taken

    def ack(self, messages: Iterable[RawMessage]) -> None:
        """Tell the broker these are safely stored; frees room in the hand-off."""
        n = 0
        for m in messages:
            n += 1
            if m.qos > 0:
                self._client.ack(m.mid, m.qos)
        for _ in range(n):
            self._credits.release()

    # -- publishing -----------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Queue a publish; paho sends it now, or after a reconnect."""
        info = self._client.publish(topic, payload, qos=qos)
        if info.rc in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            self.published += 1  # NO_CONN: kept in paho's queue, sent on reconnect
        else:
            self.publish_errors += 1
            log.error("publish to %s failed: %s", topic, paho.error_string(info.rc))

    # -- paho callbacks (network thread) ---------------------------------------------

    def _on_pre_connect(self, client: paho.Client, userdata: Any) -> None:
        self.connect_attempts += 1
        log.info(
            "connecting to %s as %r (attempt %d)",
            self.broker,
            self.client_id,
            self.connect_attempts,
        )

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if reason.is_failure:
            log.error("broker %s refused the connection: %s", self.broker, reason)
            return
        log.info("connected to %s (session present: %s)", self.broker, flags.session_present)
        client.subscribe([(topic, 1) for topic in self.subscriptions])
        self._connected.set()

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        log.warning(
            "could not reach %s; retrying with backoff (at most %d s)", self.broker, RECONNECT_MAX_S
        )

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self._connected.clear()
        if not self._closing.is_set():
            log.warning("lost %s (%s); reconnecting", self.broker, reason)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        received = time.time()
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = message._topic.decode("utf-8", errors="replace")
        raw = RawMessage(topic, bytes(message.payload), received, message.mid, message.qos)
        if not self._credits.acquire(blocking=False):
            self.backpressure_waits += 1
            while not self._credits.acquire(timeout=0.5):
                if self._closing.is_set():
                    return  # not acknowledged: the broker delivers it again next session
        self.received += 1
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._queue.put_nowait, raw)
