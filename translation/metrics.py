"""The translation service's metrics, kept in a prometheus_client registry of its own.

Each service has its own registry (several nodes may share a process, in tests), which
the node's /metrics registry includes. The small wrappers keep the call sites short:
`counter.inc(source, target, via)` instead of `.labels(...).inc()`.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client import Counter as _Counter
from prometheus_client import Gauge as _Gauge
from prometheus_client import Histogram as _Histogram

# Latency buckets (seconds): cache hits land in the first, model work from ~10 ms up.
LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Counter:
    """A labelled counter: `inc(*label_values, by=1)`."""

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...], registry: CollectorRegistry) -> None:
        # prometheus_client adds the `_total` suffix itself.
        self._metric = _Counter(name.removesuffix("_total"), help_text, labels, registry=registry)
        # each label set's child, kept: `labels()` validates and locks on every call, and `inc` runs
        # per message (detections) on the send path (issue 27); the label sets are few
        self._children: dict[tuple[str, ...], _Counter] = {}

    def inc(self, *labels: str, by: float = 1.0) -> None:
        child = self._children.get(labels)
        if child is None:
            child = self._children[labels] = self._metric.labels(*labels)
        child.inc(by)


class Histogram:
    """A labelled histogram: `observe(value, *label_values)`."""

    def __init__(
        self,
        name: str,
        help_text: str,
        labels: tuple[str, ...],
        registry: CollectorRegistry,
        buckets: tuple[float, ...] = LATENCY_BUCKETS,
    ) -> None:
        self._metric = _Histogram(name, help_text, labels, registry=registry, buckets=buckets)

    def observe(self, value: float, *labels: str) -> None:
        self._metric.labels(*labels).observe(value)


class TranslationMetrics:
    """Everything the translation service exports on /metrics."""

    def __init__(self, queue_depth: Callable[[], float]) -> None:
        self.registry = CollectorRegistry()
        self.translations = Counter(
            "babelroom_translations_total",
            "Message translations (one per message per target language), by how they were served.",
            ("source", "target", "via"),
            self.registry,
        )
        self.latency = Histogram(
            "babelroom_translation_seconds",
            "Time from asking for a message translation to having it.",
            ("via",),
            self.registry,
        )
        self.queue_depth = _Gauge(
            "babelroom_translation_queue_depth", "Sentences waiting for or inside a model call.", registry=self.registry
        )
        self.queue_depth.set_function(queue_depth)
        self.batches = Counter(
            "babelroom_translation_batches_total",
            "Model calls (translate_batch), by direct package pair.",
            ("pair",),
            self.registry,
        )
        self.sentences = Counter(
            "babelroom_translation_sentences_total",
            "Sentences translated by a model, by direct package pair.",
            ("pair",),
            self.registry,
        )
        self.errors = Counter(
            "babelroom_translation_errors_total",
            "Message translations that failed (the reader keeps the original).",
            ("source", "target"),
            self.registry,
        )
        self.detections = Counter(
            "babelroom_language_detections_total",
            "Language detections, by outcome (detected or fallback to the sender's language).",
            ("outcome",),
            self.registry,
        )

    def render(self) -> str:
        """The Prometheus text exposition of these metrics."""
        return generate_latest(self.registry).decode("utf-8")
