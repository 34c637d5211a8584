"""Project-wide pytest hooks.

With EASGATE_FORBID_SKIPS=1 (set by `make ci`) a skipped test fails the run: CI must run
the whole suite, so a missing service or tool shows up as a failure, not a silent skip.
"""
from __future__ import annotations

import os

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("EASGATE_FORBID_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter:
            reporter.write_line(f"FAILED: {skipped} test(s) skipped; CI forbids skips", red=True)
