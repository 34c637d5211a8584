"""Prometheus metrics, on a registry of the app's own (two apps in one process — as in the
test suite — never share counters).

Traffic metrics move with every exchange (the `Metrics` object is an observer); device counts
by access state are read from the store when `/metrics` is scraped, so they are true across
worker processes; access events (notices, choices, timeouts) are counted from the audit rows
the access service writes (`on_audit`).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from gateway.exchange import Exchange
    from store.api import Store
    from store.types import AuditEvent

log = logging.getLogger("easgate.metrics")

# Ping and long-poll Sync hold a request for up to an hour, so the buckets reach that far.
LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600,
)

DEVICE_STATES = ("allowed", "pending", "quarantined", "blocked", "wipe-pending", "wiped")

# How long a scrape waits for the store before answering with the last device counts.
STORE_READ_TIMEOUT_S = 5.0

# Audit row kinds (the lifecycle table of gateway/access/lifecycle.py) the counters follow.
NOTICE_SENT_KIND = "notice-delivered"
CHOICE_KINDS = {"chose-keep": "keep", "chose-outlook": "outlook"}
TIMEOUT_KIND = "quarantine-expired"


# The store turns every database failure into StoreError (or Conflict for a clashing
# write), and the dispatcher hands observers an unexpected failure as "Name: message".
STORE_FAILURES = frozenset({"StoreError", "Conflict"})


def is_store_failure(error: str | None) -> bool:
    return bool(error) and error.partition(":")[0] in STORE_FAILURES


def is_store_busy(error: str | None) -> bool:
    """The database pool had no connection free (StoreBusy, answered HTTP 503)."""
    return bool(error) and error.partition(":")[0] == "StoreBusy"


class DeviceStateCollector(Collector):
    """``easgate_devices{state}`` from the last store reading (`refresh` before a scrape)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    async def refresh(self, store: Store) -> None:
        self.counts = await store.count_devices_by_state()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "easgate_devices", "Devices by access state, read from the store.", labels=["state"]
        )
        for state in sorted(set(DEVICE_STATES) | set(self.counts)):
            family.add_metric([state], self.counts.get(state, 0))
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "easgate_requests", "EAS requests answered, by command, HTTP status and EAS Status.",
            ["command", "status", "eas_status"], registry=self.registry,
        )
        self.latency = Histogram(
            "easgate_request_duration_seconds", "Time to answer an EAS request, by command.",
            ["command"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.pings_held = Gauge(
            "easgate_pings_held", "Ping (and waiting Sync) requests held open right now.",
            registry=self.registry,
        )
        self.notices_sent = Counter(
            "easgate_notices_sent", "Notices put in a user's Inbox.", registry=self.registry
        )
        self.choices = Counter(
            "easgate_choices", "Choices made on a notice, by kind (keep or outlook).",
            ["kind"], registry=self.registry,
        )
        self.quarantine_timeouts = Counter(
            "easgate_quarantine_timeouts",
            "Quarantines that ended because nobody chose within the time.",
            registry=self.registry,
        )
        self.store_errors = Counter(
            "easgate_store_errors", "Store operations that failed.", registry=self.registry
        )
        self.busy = Counter(
            "easgate_busy_answers",
            "Requests answered HTTP 503 because no database connection came free in time.",
            registry=self.registry,
        )
        self.faults_injected = Counter(
            "easgate_faults_injected", "Faults injected on purpose (gateway/faults), by action.",
            ["action"], registry=self.registry,
        )
        self.devices = DeviceStateCollector()
        self.registry.register(self.devices)
        # The children of one answer's label values, looked up once: prometheus_client's
        # labels() takes a lock and builds the key on every call, and every request asks.
        self._series: dict[tuple[str, int, int | None], tuple[Counter, Histogram]] = {}

    def follow_held_requests(self, count: Callable[[], int]) -> None:
        """Read the held-request gauge from the push hub at each scrape."""
        self.pings_held.set_function(count)

    # --- observer hooks ---------------------------------------------------------------
    async def on_exchange(self, exchange: Exchange) -> None:
        requests, latency = self._request_series(
            exchange.command or "none", exchange.response_status, exchange.eas_status)
        requests.inc()
        latency.observe(exchange.duration_s)
        if is_store_failure(exchange.error):
            self.store_errors.inc()
        elif is_store_busy(exchange.error):
            self.busy.inc()
        if exchange.fault is not None:
            self.faults_injected.labels(exchange.fault.action).inc()

    def _request_series(
        self, command: str, status: int, eas_status: int | None
    ) -> tuple[Counter, Histogram]:
        key = (command, status, eas_status)
        series = self._series.get(key)
        if series is None:
            eas = "" if eas_status is None else str(eas_status)
            series = (self.requests.labels(command, str(status), eas),
                      self.latency.labels(command))
            self._series[key] = series
        return series

    async def on_audit(self, event: AuditEvent) -> None:
        if event.kind == NOTICE_SENT_KIND:
            self.notices_sent.inc()
        elif event.kind in CHOICE_KINDS:
            self.choices.labels(CHOICE_KINDS[event.kind]).inc()
        elif event.kind == TIMEOUT_KIND:
            self.quarantine_timeouts.inc()

    # --- exposition -------------------------------------------------------------------
    async def scrape(self, store: Store) -> bytes:
        try:
            await asyncio.wait_for(self.devices.refresh(store), STORE_READ_TIMEOUT_S)
        except Exception as error:  # a failing store must not take the metrics down with it
            self.store_errors.inc()
            log.warning("device counts not refreshed: %s", error)
        return generate_latest(self.registry)
