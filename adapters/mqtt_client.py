"""The one way Vigie makes an MQTT client (paho-mqtt 2.x).

Every program that talks to the broker (the service, each camera worker, the
simulators, the recorder) gets its client from :class:`MqttClient`, so they all share:

- a client id that says who they are, MQTT 3.1.1 (bridges and clustered brokers such
  as NATS speak it), no client-side queue limit (a QoS 1 burst is never dropped by
  paho), and the same capped reconnect backoff;
- publishes whose return code is checked and counted (``published`` and
  ``publish_errors``), never silently dropped;
- a **presence flag**: a retained ``{"online": true}`` on
  ``<prefix>/<site>/presence/<role>/<client id>`` once connected, and the same topic
  set to ``{"online": false}`` by the broker's last will if the program dies, or by
  the program itself when it stops cleanly. A joint centre, or an operator with
  ``mosquitto_sub``, sees at once which workers and simulators are there.

Subscriptions are made again on every (re)connection.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from adapters.mqtt_socket import BufferedClient

log = logging.getLogger("vigie.mqtt")

RECONNECT_MIN_S: Final = 1
RECONNECT_MAX_S: Final = 30
"""Backoff bounds: quick after a blip, at most 30 s between tries during an outage."""

KEEPALIVE_S: Final = 30
"""The broker notices a dead client (and publishes its last will) within 1.5 x this."""

MessageHandler = Callable[[paho.MQTTMessage], None]


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


def presence_payload(online: bool, client_id: str, role: str) -> bytes:
    return orjson.dumps(
        {"online": online, "client": client_id, "role": role, "at": datetime.now(UTC).isoformat()}
    )


class MqttClient:
    """One paho client set up the Vigie way; see the module docstring.

    ``presence`` is the retained presence topic (``None``: no presence flag, for
    short-lived tools). ``on_message`` runs on paho's network thread.
    """

    def __init__(
        self,
        broker: Broker,
        client_id: str,
        *,
        role: str,
        presence: str | None = None,
        subscriptions: Sequence[tuple[str, int]] = (),
        on_message: MessageHandler | None = None,
        persistent: bool = False,
        manual_ack: bool = False,
    ) -> None:
        self.broker = broker
        self.client_id = client_id
        self.role = role
        self.presence = presence
        self.subscriptions = list(subscriptions)
        self.published = 0
        self.publish_errors = 0
        self.connect_attempts = 0
        self._connected = threading.Event()
        self._closing = threading.Event()
        self._on_message = on_message
        self.paho = BufferedClient(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=not persistent,
            protocol=paho.MQTTv311,
            manual_ack=manual_ack,
        )
        self.paho.max_inflight_messages_set(0)
        self.paho.max_queued_messages_set(0)
        self.paho.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        if presence is not None:
            self.paho.will_set(presence, presence_payload(False, client_id, role), 1, retain=True)
        self.paho.on_pre_connect = self._pre_connect
        self.paho.on_connect = self._connect
        self.paho.on_connect_fail = self._connect_fail
        self.paho.on_disconnect = self._disconnect
        if on_message is not None:
            self.paho.on_message = self._message

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (retrying for ever) and run the network thread."""
        self._closing.clear()
        self.paho.connect_async(self.broker.host, self.broker.port, keepalive=KEEPALIVE_S)
        if self.paho.loop_start() != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise AdapterError("could not start the MQTT network thread")

    def stop(self, flush_s: float = 2.0) -> None:
        """Say we are going (presence off), let queued publishes out, disconnect."""
        if self.presence is not None and self.connected:
            info = self.paho.publish(
                self.presence, presence_payload(False, self.client_id, self.role), 1, retain=True
            )
            if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                info.wait_for_publish(flush_s)
        self._closing.set()
        self.paho.disconnect()
        self.paho.loop_stop()

    def wait_connected(self, within_s: float) -> bool:
        return self._connected.wait(within_s)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def closing(self) -> bool:
        return self._closing.is_set()

    # -- publishing -----------------------------------------------------------------

    def publish(
        self, topic: str, payload: bytes, qos: int = 1, retain: bool = False
    ) -> paho.MQTTMessageInfo | None:
        """Queue a publish; paho sends it now, or after a reconnect. Failures are
        counted and logged; the info is returned so a caller may wait for it."""
        info = self.paho.publish(topic, payload, qos=qos, retain=retain)
        if info.rc in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            self.published += 1  # NO_CONN: kept in paho's queue, sent on reconnect
            return info
        self.publish_errors += 1
        log.error("publish to %s failed: %s", topic, paho.error_string(info.rc))
        return None

    def ack(self, mid: int, qos: int) -> None:
        self.paho.ack(mid, qos)

    def ack_many(self, acks: Iterable[tuple[int, int]]) -> None:
        """PUBACK many messages, waking paho's network thread once instead of once each.

        paho wakes its thread by writing a byte to a socket pair for every packet it
        queues; from another thread that is a system call that hands the GIL to the
        network thread, and getting it back can take up to the interpreter's switch
        interval. Measured here: the acknowledgements of a 50k backlog took 42 % of the
        service's event-loop time. The wake-up socket is paho's private attribute,
        created once by ``loop_start`` and kept across reconnections (paho 2.2, pinned);
        while it is set aside the network thread, should it queue a packet itself, is
        awake anyway.
        """
        client = self.paho
        wake = client._sockpairW
        client._sockpairW = None
        try:
            for mid, qos in acks:
                client.ack(mid, qos)
        finally:
            client._sockpairW = wake
        if wake is not None:
            with contextlib.suppress(BlockingIOError):
                wake.send(b"0")

    # -- paho callbacks (network thread) ---------------------------------------------

    def _pre_connect(self, client: paho.Client, userdata: Any) -> None:
        self.connect_attempts += 1
        log.info(
            "connecting to %s as %r (attempt %d)",
            self.broker,
            self.client_id,
            self.connect_attempts,
        )

    def _connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if reason.is_failure:
            log.error("broker %s refused %r: %s", self.broker, self.client_id, reason)
            return
        log.info(
            "%r connected to %s (session present: %s)",
            self.client_id,
            self.broker,
            flags.session_present,
        )
        if self.subscriptions:
            client.subscribe(self.subscriptions)
        if self.presence is not None:
            client.publish(
                self.presence, presence_payload(True, self.client_id, self.role), 1, retain=True
            )
        self._connected.set()

    def _connect_fail(self, client: paho.Client, userdata: Any) -> None:
        log.warning(
            "could not reach %s; retrying with backoff (at most %d s)", self.broker, RECONNECT_MAX_S
        )

    def _disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self._connected.clear()
        if not self._closing.is_set():
            log.warning("%r lost %s (%s); reconnecting", self.client_id, self.broker, reason)

    def _message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        assert self._on_message is not None
        self._on_message(message)


def unique_client_id(prefix: str) -> str:
    """For short-lived tools that must never take over another client's session."""
    return f"{prefix}-{time.time_ns():x}"
