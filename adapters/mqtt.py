"""The service's MQTT link to its site (an :class:`~adapters.mqtt_client.MqttClient`).

One persistent-session client (fixed client id, clean session off, QoS 1) that:

- hands each received message to asyncio through a bounded hand-off whose
  overflow policy is **backpressure**: when the service is behind, paho's network
  thread waits, the broker holds the rest in our persistent session, and
  ``backpressure_waits`` counts each wait. Nothing is dropped. The hand-off is a
  deque: the network thread wakes the event loop only when the ingest task is
  waiting for work, not once per message (a wake-up is a system call);
- acknowledges a message (PUBACK) only when the caller says it is safe on disk,
  so a crash before that makes the broker deliver it again;
- publishes commands at QoS 1, queued by paho while the broker is away.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Final

import paho.mqtt.client as paho

from adapters.mqtt_client import AdapterError, Broker, MqttClient

__all__ = ["AdapterError", "Broker", "MqttLink", "RawMessage"]

HANDOFF_CAPACITY: Final = 10_000
"""Messages received but not yet processed. About half a second at the measured
ingest rate: enough to ride out a store commit, small enough to bound memory."""


@dataclass(frozen=True, slots=True)
class RawMessage:
    """A message as it came off the wire, with the wall-clock time it arrived."""

    topic: str
    payload: bytes
    received: float
    mid: int
    qos: int


class MqttLink:
    """Async context manager around the service's client; see the module docstring."""

    def __init__(
        self,
        broker: Broker,
        client_id: str,
        subscriptions: Sequence[str],
        *,
        presence: str | None = None,
        persistent: bool = True,
        capacity: int = HANDOFF_CAPACITY,
    ) -> None:
        self.client = MqttClient(
            broker,
            client_id,
            role="service",
            presence=presence,
            subscriptions=[(topic, 1) for topic in subscriptions],
            on_message=self._on_message,
            persistent=persistent,
            manual_ack=True,
        )
        self.broker = broker
        self.client_id = client_id
        self.capacity = capacity
        self._pending: deque[RawMessage] = deque()
        self._space = threading.Condition()
        self._waiting: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.received = 0  # written by the network thread only
        self.acked = 0  # written by the event loop only
        self.backpressure_waits = 0

    # -- lifecycle --------------------------------------------------------------

    async def __aenter__(self) -> MqttLink:
        self._loop = asyncio.get_running_loop()
        self.client.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.client.stop)

    @property
    def connected(self) -> bool:
        return self.client.connected

    async def wait_connected(self, within_s: float) -> bool:
        return await asyncio.to_thread(self.client.wait_connected, within_s)

    # -- receiving ----------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Messages handed over and not yet taken by :meth:`batch`."""
        return len(self._pending)

    async def batch(self, limit: int) -> list[RawMessage]:
        """Wait for at least one message, then take what is waiting, up to ``limit``."""
        pending = self._pending
        while not pending:
            loop = asyncio.get_running_loop()
            self._waiting = waiting = loop.create_future()
            if pending:  # arrived between the check and the flag: no wake-up is coming
                self._waiting = None
                break
            try:
                await waiting
            finally:
                self._waiting = None
        take = min(limit, len(pending))
        popleft = pending.popleft
        return [popleft() for _ in range(take)]

    def ack(self, messages: Iterable[RawMessage]) -> None:
        """Tell the broker these are safely stored; frees room in the hand-off."""
        messages = list(messages)
        self.client.ack_many((m.mid, m.qos) for m in messages if m.qos > 0)
        self.acked += len(messages)
        if self.received - self.acked < self.capacity:
            with self._space:
                self._space.notify_all()

    # -- publishing -----------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain)

    @property
    def published(self) -> int:
        return self.client.published

    @property
    def publish_errors(self) -> int:
        return self.client.publish_errors

    # -- paho callback (network thread) ----------------------------------------------

    def _on_message(self, message: paho.MQTTMessage) -> None:
        received = time.time()
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = message._topic.decode("utf-8", errors="replace")
        raw = RawMessage(topic, bytes(message.payload), received, message.mid, message.qos)
        if self.received - self.acked >= self.capacity:
            self.backpressure_waits += 1
            with self._space:
                while self.received - self.acked >= self.capacity:
                    if self.client.closing:
                        return  # not acknowledged: the broker delivers it again next session
                    self._space.wait(0.5)
        self.received += 1
        self._pending.append(raw)
        waiting = self._waiting
        loop = self._loop
        if waiting is not None and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(_wake, waiting)


def _wake(waiting: asyncio.Future[None]) -> None:
    if not waiting.done():
        waiting.set_result(None)
