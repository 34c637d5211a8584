"""AuthThrottle on its own, with a hand-driven clock."""
from __future__ import annotations

import logging

import pytest

from gateway import throttle as throttle_module
from gateway.config import Config
from gateway.throttle import AuthThrottle, Throttled, ThrottleLimits, throttle_limits


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def fail(throttle: AuthThrottle, times: int, login: str = "alice@contoso.com",
         address: str = "192.0.2.1") -> None:
    for _ in range(times):
        throttle.check(login, address)
        throttle.failed(login, address)


def test_a_login_is_throttled_after_its_limit_whatever_the_address(clock):
    throttle = AuthThrottle(ThrottleLimits(per_login=3, per_address=100, window_s=60), clock=clock)
    for n in range(3):
        fail(throttle, 1, address=f"192.0.2.{n}")
    with pytest.raises(Throttled) as refused:
        throttle.check("ALICE@contoso.com", "198.51.100.9")
    assert refused.value.key == "login alice@contoso.com"
    assert 1 <= refused.value.retry_after_s <= 60
    throttle.check("bob@contoso.com", "198.51.100.9")  # another login is not concerned


def test_an_address_is_throttled_after_its_limit_whatever_the_login(clock):
    throttle = AuthThrottle(ThrottleLimits(per_login=100, per_address=4, window_s=60), clock=clock)
    for n in range(4):
        fail(throttle, 1, login=f"user{n}@contoso.com")
    with pytest.raises(Throttled) as refused:
        throttle.check("carol@contoso.com", "192.0.2.1")
    assert refused.value.key == "address 192.0.2.1"
    throttle.check("carol@contoso.com", "192.0.2.2")


def test_the_window_slides_and_retry_after_says_when(clock):
    throttle = AuthThrottle(ThrottleLimits(per_login=2, per_address=100, window_s=60), clock=clock)
    fail(throttle, 1)
    clock.now += 20
    fail(throttle, 1)
    with pytest.raises(Throttled) as refused:
        throttle.check("alice@contoso.com", None)
    assert refused.value.retry_after_s == 40  # when the first failure leaves the window
    clock.now += 40
    throttle.check("alice@contoso.com", None)
    assert throttle.failures(login="alice@contoso.com") == 1


def test_success_clears_the_login_but_not_the_address(clock):
    throttle = AuthThrottle(ThrottleLimits(per_login=3, per_address=3, window_s=60), clock=clock)
    fail(throttle, 2)
    throttle.succeeded("alice@contoso.com")
    assert throttle.failures(login="alice@contoso.com") == 0
    assert throttle.failures(address="192.0.2.1") == 2


def test_throttling_is_logged_once_per_episode_without_the_password(clock, caplog):
    throttle = AuthThrottle(ThrottleLimits(per_login=2, per_address=100, window_s=60), clock=clock)
    fail(throttle, 2)
    with caplog.at_level(logging.WARNING, logger="easgate.throttle"):
        for _ in range(5):
            with pytest.raises(Throttled):
                throttle.check("alice@contoso.com", "192.0.2.1")
    lines = [r.getMessage() for r in caplog.records if r.name == "easgate.throttle"]
    assert lines == ["throttling login alice@contoso.com: 2 failed logins in 60 s"]


def test_memory_is_bounded_when_logins_are_invented(clock, monkeypatch):
    monkeypatch.setattr(throttle_module, "MAX_KEYS", 100)
    throttle = AuthThrottle(ThrottleLimits(per_login=5, per_address=10**9, window_s=60),
                            clock=clock)
    for n in range(1000):
        clock.now += 0.01
        throttle.failed(f"invented{n}", "192.0.2.1")
    assert len(throttle._logs) <= 100


def test_limits_come_from_the_configuration_and_zero_turns_a_counter_off():
    limits = throttle_limits(Config(auth_fail_limit_login=0, auth_fail_limit_address=7,
                                    auth_fail_window_s=9))
    assert limits.per_address == 7 and limits.window_s == 9
    assert limits.per_login > 10**9
