"""The node's /metrics: a prometheus_client registry per node with its gauges, the process
collector and the translation service's metrics."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, ProcessCollector, generate_latest


class NodeMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(
        self,
        connections: Callable[[], float],
        local_rooms: Callable[[], float],
        translation_registry: CollectorRegistry,
    ) -> None:
        self.registry = CollectorRegistry()
        Gauge("babelroom_connections", "Open WebSocket connections on this node.", registry=self.registry).set_function(
            connections
        )
        Gauge("babelroom_local_rooms", "Rooms with members on this node.", registry=self.registry).set_function(
            local_rooms
        )
        ProcessCollector(registry=self.registry)  # process_cpu_seconds_total, resident memory, open fds...
        self.registry.register(translation_registry)  # a registry is a collector

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
