"""Prometheus metrics of a joint centre (its own registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from vigie.metrics import LATENCY_BUCKETS


class CentreMetrics:
    """Every figure a centre's ``/metrics`` shows; live values are read at scrape time."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.received = Counter(
            "vigie_centre_messages_received", "Messages received from the sites' feeds", registry=r
        )
        self.bad = Counter(
            "vigie_centre_messages_bad",
            "Feed messages that could not be applied (the site's copy is resynchronised)",
            ["site"],
            registry=r,
        )
        self.snapshots_asked = Counter(
            "vigie_centre_snapshots_asked", "Snapshots asked of a site", ["site"], registry=r
        )
        self.link_up = Gauge(
            "vigie_centre_link_up", "1 while the site's link is up", ["site"], registry=r
        )
        self.seq = Gauge(
            "vigie_centre_site_seq", "Last change of the site applied", ["site"], registry=r
        )
        self.requests = Counter(
            "vigie_centre_requests_sent", "Requests sent to sites", ["site"], registry=r
        )
        self.replies = Counter(
            "vigie_centre_replies", "Answers from sites, by status", ["status"], registry=r
        )
        self.ws_clients = Gauge(
            "vigie_websocket_clients", "Connected websocket clients", registry=r
        )
        self.latency = Histogram(
            "vigie_centre_receive_to_push_seconds",
            "From a feed message's arrival at the centre to its change queued to the pages",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.mqtt_connected = Gauge(
            "vigie_mqtt_connected", "1 while connected to the broker", registry=r
        )
        self.store_errors = Counter("vigie_store_errors", "Failed store transactions", registry=r)
        self.task_failures = Counter(
            "vigie_task_failures", "Supervised task failures", ["task"], registry=r
        )
