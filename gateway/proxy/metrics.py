"""What ``/metrics`` tells about the upstream, beside the gateway's own request metrics
(which count proxied exchanges like any other): answers by HTTP status, times to the
answer's headers, requests held there now, credential checks, and every time the upstream
could not answer, by reason (``connect``, ``tls``, ``timeout``, ``disconnected``,
``error``) — the figure to alert on.

The counters live on the app's own registry (gateway/observe), so two apps in one process
never share them; without that registry (an app built without the observers) they count
on a private one."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# A held Ping answers after up to an hour; ordinary commands within a second or so.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800,
           3600)


class ProxyMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        registry = registry if registry is not None else CollectorRegistry()
        self.answers = Counter(
            "easgate_upstream_answers", "Answers from the upstream EAS server, by HTTP status.",
            ["status"], registry=registry)
        self.unavailable = Counter(
            "easgate_upstream_unavailable",
            "Requests the upstream did not answer (the client got 503), by reason.",
            ["reason"], registry=registry)
        self.latency = Histogram(
            "easgate_upstream_seconds", "Time until the upstream's answer began, by command.",
            ["command"], buckets=BUCKETS, registry=registry)
        self.held = Gauge(
            "easgate_upstream_held", "Requests waiting for the upstream's answer right now.",
            registry=registry)
        self.credential_checks = Counter(
            "easgate_upstream_credential_checks",
            "Credentials checked with the upstream before first use, by outcome.",
            ["outcome"], registry=registry)
