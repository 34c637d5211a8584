"""What the load generator measures: requests and latencies by command, errors by kind,
Pings held, push latency. Plain counters and lists; the summary is a JSON-able dict."""
from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

PERCENTILES = (50, 90, 99)
ERROR_SAMPLES = 3  # messages kept per kind of error, to say what went wrong


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def distribution(values: list[float]) -> dict[str, float]:
    """Count, percentiles and max of ``values`` (seconds), in milliseconds."""
    ordered = sorted(values)
    summary: dict[str, float] = {"count": len(ordered)}
    for p in PERCENTILES:
        summary[f"p{p}_ms"] = round(percentile(ordered, p) * 1000, 2)
    summary["max_ms"] = round((ordered[-1] if ordered else 0.0) * 1000, 2)
    return summary


@dataclass
class LoadStats:
    started: float = field(default_factory=time.perf_counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    ping_answers: Counter[str] = field(default_factory=Counter)  # "changes", "expired"
    pings_sent: int = 0
    push_latencies: list[float] = field(default_factory=list)
    deliveries: int = 0
    sends: int = 0
    devices_started: int = 0
    devices_ready: int = 0  # set up and in their loop
    devices_blocked: int = 0
    devices_quarantined: int = 0
    devices_wiped: int = 0
    pings_held: int = 0

    def request(self, command: str, elapsed: float) -> None:
        self.latencies[command].append(elapsed)

    def error(self, kind: str, message: str = "") -> None:
        self.errors[kind] += 1
        samples = self.error_samples[kind]
        if message and len(samples) < ERROR_SAMPLES:
            samples.append(message)

    @property
    def requests(self) -> int:
        return sum(len(values) for values in self.latencies.values())

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def summary(self, elapsed: float | None = None) -> dict[str, Any]:
        elapsed = elapsed or self.elapsed()
        commands = {}
        for command, values in sorted(self.latencies.items()):
            entry: dict[str, Any] = {"requests": len(values),
                                     "per_s": round(len(values) / elapsed, 2)}
            # a Ping's latency is how long it was held, not how fast the server is
            if command != "Ping":
                entry.update(distribution(values))
                del entry["count"]
            commands[command] = entry
        answered = [v for c, vs in self.latencies.items() if c != "Ping" for v in vs]
        return {
            "duration_s": round(elapsed, 2),
            "requests": self.requests,
            "requests_per_s": round(self.requests / elapsed, 2),
            "latency": distribution(answered),
            "commands": commands,
            "errors": dict(self.errors.most_common()),
            "error_samples": {k: v for k, v in self.error_samples.items() if v},
            "error_count": self.error_count,
            "pings": {"sent": self.pings_sent, **self.ping_answers,
                      "held_at_end": self.pings_held},
            "push_latency": distribution(self.push_latencies),
            "deliveries": self.deliveries,
            "sends": self.sends,
            "devices": {"started": self.devices_started, "ready": self.devices_ready,
                        "blocked": self.devices_blocked,
                        "quarantined": self.devices_quarantined,
                        "wiped": self.devices_wiped},
        }
