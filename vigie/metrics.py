"""Prometheus metrics of one service (its own registry: no global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)


class Metrics:
    """Every figure ``/metrics`` shows; live values are read at scrape time."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.received = Counter("vigie_messages_received", "MQTT messages received", registry=r)
        self.accepted = Counter(
            "vigie_messages_accepted",
            "Valid, new messages committed to the store (all time, restored at start)",
            registry=r,
        )
        self.rejected = Counter(
            "vigie_messages_rejected",
            "Rejected messages by reason (since start)",
            ["reason"],
            registry=r,
        )
        self.rejected_all = Counter(
            "vigie_messages_rejected_all",
            "Rejected messages (all time, restored at start)",
            registry=r,
        )
        self.duplicates = Counter(
            "vigie_messages_duplicate",
            "Duplicate messages: same device, id and bytes (all time, restored at start)",
            registry=r,
        )
        self.id_reuses = Counter(
            "vigie_messages_id_reused",
            "Accepted messages whose id the device had used with other content: a device"
            " that restarted its numbering (all time, restored at start)",
            registry=r,
        )
        self.dead_letters = Counter(
            "vigie_messages_dead_letter",
            "Messages set aside because processing or storing them failed (all time)",
            registry=r,
        )
        self.stills_refused = Counter(
            "vigie_stills_refused",
            "Camera stills refused: not a camera, not a JPEG, too big, or no such event",
            registry=r,
        )
        self.publish_errors = Gauge(
            "vigie_mqtt_publish_errors_total",
            "Publishes that paho refused (counted, logged, never silent)",
            registry=r,
        )
        self.queue_depth = Gauge(
            "vigie_ingest_queue_depth", "Messages received and not yet processed", registry=r
        )
        self.queue_capacity = Gauge(
            "vigie_ingest_queue_capacity", "Size of the ingest hand-off", registry=r
        )
        self.backpressure = Gauge(
            "vigie_ingest_backpressure_waits_total",
            "Times the MQTT thread waited for room (policy: backpressure, nothing dropped)",
            registry=r,
        )
        Info("vigie_ingest_overflow", "What happens when ingest falls behind", registry=r).info(
            {"policy": "backpressure"}
        )
        self.open_incidents = Gauge(
            "vigie_open_incidents", "Unresolved incidents by priority", ["priority"], registry=r
        )
        self.ws_clients = Gauge(
            "vigie_websocket_clients", "Connected websocket clients", registry=r
        )
        self.ws_slow_closed = Gauge(
            "vigie_websocket_slow_closed_total",
            "Websocket clients closed for being too slow",
            registry=r,
        )
        self.ws_dropped_changes = Gauge(
            "vigie_websocket_dropped_changes_total",
            "Changes that could not be encoded for the websocket (a bug if ever non-zero)",
            registry=r,
        )
        self.latency = Histogram(
            "vigie_publish_to_push_seconds",
            "From a message's arrival to its change being queued to the websocket clients",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.commands = Counter(
            "vigie_commands_published", "Floodlight commands published", registry=r
        )
        self.mqtt_connected = Gauge(
            "vigie_mqtt_connected", "1 while connected to the broker", registry=r
        )
        self.store_errors = Counter("vigie_store_errors", "Failed store transactions", registry=r)
        self.task_failures = Counter(
            "vigie_task_failures", "Supervised task failures", ["task"], registry=r
        )
