"""The translation service's metrics, rendered in the Prometheus text format.

Small on purpose: counters, one histogram and gauges, updated from the event loop
(or under the GIL from worker threads, where a dict update is atomic enough for
monotonic counters).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

# Latency buckets (seconds): cache hits land in the first, model work from ~10 ms up.
LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _labels(names: tuple[str, ...], values: tuple[str, ...], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf"
    return repr(float(value)) if value != int(value) else str(int(value))


class Counter:
    def __init__(self, name: str, help_text: str, labels: tuple[str, ...]) -> None:
        self.name, self.help, self.label_names = name, help_text, labels
        self.values: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()

    def inc(self, *labels: str, by: float = 1.0) -> None:
        with self._lock:
            self.values[labels] = self.values.get(labels, 0.0) + by

    def get(self, *labels: str) -> float:
        return self.values.get(labels, 0.0)

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        for labels, value in sorted(self.values.items()):
            lines.append(f"{self.name}{_labels(self.label_names, labels)} {_number(value)}")
        return lines


class Histogram:
    def __init__(self, name: str, help_text: str, labels: tuple[str, ...],
                 buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.name, self.help, self.label_names = name, help_text, labels
        self.buckets = tuple(buckets) + (math.inf,)
        self._series: dict[tuple[str, ...], list[float]] = {}  # bucket counts + [sum]
        self._lock = threading.Lock()

    def observe(self, value: float, *labels: str) -> None:
        with self._lock:
            series = self._series.setdefault(labels, [0.0] * (len(self.buckets) + 1))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    series[i] += 1
            series[-1] += value

    def count(self, *labels: str) -> int:
        series = self._series.get(labels)
        return int(series[-2]) if series else 0

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        for labels, series in sorted(self._series.items()):
            for bound, count in zip(self.buckets, series):
                le = 'le="' + _number(bound) + '"'
                lines.append(f"{self.name}_bucket{_labels(self.label_names, labels, le)} "
                             f"{_number(count)}")
            lines.append(f"{self.name}_sum{_labels(self.label_names, labels)} {series[-1]!r}")
            lines.append(f"{self.name}_count{_labels(self.label_names, labels)} "
                         f"{_number(series[-2])}")
        return lines


class Gauge:
    """A value read when the metrics are rendered."""

    def __init__(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        self.name, self.help, self.read = name, help_text, read

    def render(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} gauge",
                f"{self.name} {_number(self.read())}"]


class TranslationMetrics:
    """Everything the translation service exports on /metrics."""

    def __init__(self, queue_depth: Callable[[], float]) -> None:
        self.translations = Counter(
            "babelroom_translations_total",
            "Message translations (one per message per target language), by how they were served.",
            ("source", "target", "via"))
        self.latency = Histogram(
            "babelroom_translation_seconds",
            "Time from asking for a message translation to having it.", ("via",))
        self.queue_depth = Gauge(
            "babelroom_translation_queue_depth",
            "Sentences waiting for or inside a model call.", queue_depth)
        self.batches = Counter(
            "babelroom_translation_batches_total",
            "Model calls (translate_batch), by direct package pair.", ("pair",))
        self.sentences = Counter(
            "babelroom_translation_sentences_total",
            "Sentences translated by a model, by direct package pair.", ("pair",))
        self.errors = Counter(
            "babelroom_translation_errors_total",
            "Message translations that failed (the reader keeps the original).",
            ("source", "target"))
        self.detections = Counter(
            "babelroom_language_detections_total",
            "Language detections, by outcome (detected or fallback to the sender's language).",
            ("outcome",))

    def render(self) -> str:
        lines: list[str] = []
        for metric in (self.translations, self.latency, self.queue_depth,
                       self.batches, self.sentences, self.errors, self.detections):
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"
