"""A test-side sensor gateway: publishes at QoS 1 over a real paho client."""

from __future__ import annotations

import json
import threading
import time
from types import TracebackType
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

ROOT = "perimeter/coquelles"


class Gateway:
    """Publishes like a field gateway: QoS 1, persistent session, resends after reconnects."""

    def __init__(self, port: int, client_id: str = "test-gateway") -> None:
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=paho.MQTTv311,
        )
        self.client.max_inflight_messages_set(100)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(1, 2)
        self._connected = threading.Event()
        self._acked: set[int] = set()
        self._lock = threading.Lock()
        self.client.on_connect = lambda c, u, f, rc, p: self._connected.set()
        self.client.on_publish = self._on_publish
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()
        if not self._connected.wait(10):
            raise TimeoutError(f"no broker on port {port}")
        self.pending: list[int] = []

    def _on_publish(self, client: Any, userdata: Any, mid: int, rc: Any, props: Any) -> None:
        with self._lock:
            self._acked.add(mid)

    def __enter__(self) -> Gateway:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def send(self, topic: str, payload: Any, qos: int = 1) -> None:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        info = self.client.publish(topic, raw, qos=qos)
        if qos > 0:
            self.pending.append(info.mid)

    def event(self, kind: str, device: str, **body: Any) -> None:
        self.send(f"{ROOT}/{kind}/{device}", body)

    def flush(self, within_s: float = 60.0) -> None:
        """Wait until the broker has acknowledged everything sent so far."""
        deadline = time.monotonic() + within_s
        for mid in self.pending:
            while True:
                with self._lock:
                    if mid in self._acked:
                        self._acked.discard(mid)
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError("the broker did not acknowledge every message")
                time.sleep(0.01)
        self.pending.clear()
