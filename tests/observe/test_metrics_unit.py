"""Metrics move with exchanges and audit rows, and parse as Prometheus text."""
from datetime import UTC, datetime

from observe_helpers import sync_exchange
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from gateway.observe.metrics import Metrics
from store.types import AuditEvent


def samples(metrics: Metrics) -> dict[tuple[str, tuple], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def event(kind: str, **detail) -> AuditEvent:
    return AuditEvent(id=1, device_pk=1, at=datetime(2026, 11, 20, tzinfo=UTC), kind=kind, detail=detail)


async def test_requests_and_latency_follow_exchanges():
    metrics = Metrics()
    await metrics.on_exchange(sync_exchange(eas_status=1))
    await metrics.on_exchange(sync_exchange(eas_status=1))
    await metrics.on_exchange(sync_exchange(command="Ping", response_status=200, eas_status=2, duration_s=30))
    found = samples(metrics)
    assert found[("easgate_requests_total", (("command", "Sync"), ("eas_status", "1"), ("status", "200")))] == 2
    assert found[("easgate_request_duration_seconds_count", (("command", "Ping"),))] == 1
    assert found[("easgate_request_duration_seconds_bucket", (("command", "Ping"), ("le", "60.0")))] == 1
    assert found[("easgate_request_duration_seconds_bucket", (("command", "Ping"), ("le", "10.0")))] == 0


async def test_store_failures_are_counted_from_the_exchange_error():
    metrics = Metrics()
    await metrics.on_exchange(sync_exchange(response_status=500, error="StoreError: database error: database is locked"))
    await metrics.on_exchange(sync_exchange(response_status=500, error="KeyError: 'x'"))
    assert samples(metrics)[("easgate_store_errors_total", ())] == 1


async def test_access_events_are_counted_by_kind():
    metrics = Metrics()
    await metrics.on_audit(event("notice-delivered"))
    await metrics.on_audit(event("chose-keep"))
    await metrics.on_audit(event("chose-outlook"))
    await metrics.on_audit(event("chose-keep"))
    await metrics.on_audit(event("quarantine-expired"))
    await metrics.on_audit(event("first-seen"))
    found = samples(metrics)
    assert found[("easgate_notices_sent_total", ())] == 1
    assert found[("easgate_choices_total", (("kind", "keep"),))] == 2
    assert found[("easgate_choices_total", (("kind", "outlook"),))] == 1
    assert found[("easgate_quarantine_timeouts_total", ())] == 1


def test_held_requests_are_read_at_scrape_time():
    metrics = Metrics()
    held = [3]
    metrics.follow_held_requests(lambda: held[0])
    assert samples(metrics)[("easgate_pings_held", ())] == 3
    held[0] = 0
    assert samples(metrics)[("easgate_pings_held", ())] == 0


def test_two_apps_never_share_counters():
    assert Metrics().registry is not Metrics().registry
