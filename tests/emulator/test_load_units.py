"""The load generator's pieces that need no server: bounds, loopback, statistics."""
import pytest

from emulator.load import LoadGenerator, LoadPlan, PlanError, generated_address, is_loopback
from emulator.stats import LoadStats, distribution, percentile


@pytest.mark.parametrize(("url", "loopback"), [
    ("http://127.0.0.1:8080", True), ("https://localhost:8443/Microsoft-Server-ActiveSync", True),
    ("http://[::1]:8080", True), ("127.0.0.5:8080", True), ("http://192.0.2.10", False),
    ("https://mail.contoso.com", False),
])
def test_loopback_is_decided_by_address_not_by_name_resolution(url, loopback):
    assert is_loopback(url) is loopback


@pytest.mark.parametrize(("changes", "message"), [
    ({"devices": 0}, "--devices"), ({"devices": 20_001}, "--devices"),
    ({"duration": 0}, "--duration"), ({"duration": 90_000}, "--duration"),
    ({"active_fraction": 1.5}, "active fraction"), ({"send_rate": -1}, "negative"),
    ({"url": "http://192.0.2.10:8080"}, "--allow-remote"),
    ({"token": None, "deliver_rate": 1.0}, "admin token"),
    ({"token": None, "deliver_rate": 0, "create_users": 5}, "admin token"),
])
def test_plans_out_of_bounds_are_refused(changes, message):
    plan = LoadPlan(**{"token": "t", **changes})
    with pytest.raises(PlanError, match=message):
        plan.check()


def test_remote_allowed_when_asked_and_reused_users_need_no_token():
    LoadPlan(url="http://192.0.2.10:8080", allow_remote=True, token="t").check()
    LoadPlan(create_users=5, reuse_users=True, deliver_rate=0, token=None).check()
    assert generated_address(7, "contoso.com") == "load-00007@contoso.com"


def test_percentiles_are_nearest_rank():
    values = sorted(float(n) for n in range(1, 101))
    assert percentile(values, 50) == 50 and percentile(values, 99) == 99
    assert percentile([], 99) == 0
    summary = distribution([0.010, 0.020, 0.030])
    assert summary == {"count": 3, "p50_ms": 20.0, "p90_ms": 30.0, "p99_ms": 30.0,
                       "max_ms": 30.0}


def test_summary_keeps_held_pings_out_of_the_latency_figures():
    stats = LoadStats()
    stats.request("Sync", 0.02)
    stats.request("Ping", 300.0)
    stats.error("Sync HTTP 500", "Sync answered HTTP 500")
    summary = stats.summary(elapsed=10.0)
    assert summary["latency"]["max_ms"] == 20.0
    assert "p99_ms" not in summary["commands"]["Ping"]
    assert summary["errors"] == {"Sync HTTP 500": 1}
    assert summary["error_samples"]["Sync HTTP 500"] == ["Sync answered HTTP 500"]


def test_push_latency_counts_from_the_first_delivery_during_the_hold():
    load = LoadGenerator(LoadPlan(token="t"))
    load._deliveries["alice@contoso.com"] = [10.0, 12.0, 15.0]
    assert load.delivered_since("alice@contoso.com", 11.0) == 12.0
    assert load.delivered_since("alice@contoso.com", 16.0) is None
    assert load.delivered_since("bob@contoso.com", 0.0) is None
