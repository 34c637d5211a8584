"""What an operator sees of the traffic: decoded traces, Prometheus metrics, request logs.

`setup_observe(app)` installs them on the gateway app: ``/metrics`` at the root and, at
start-up, the three observers appended to ``services.observers`` (the dispatcher calls each
with every `Exchange`) and the metrics' audit listener on the store.

Settings read from the configuration: ``trace_depth`` (exchanges kept per device),
``trace_dir`` (None: no JSON-lines files; a directory: one ``device-<id>.jsonl`` per device),
``log_level``.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from gateway.observe import logs
from gateway.observe.metrics import Metrics
from gateway.observe.tracefile import TraceFileWriter
from gateway.observe.traces import TraceBook, TraceRecorder
from gateway.services import SERVICES


@dataclass
class Observability:
    traces: TraceBook
    metrics: Metrics
    trace_files: TraceFileWriter | None = None


OBSERVE = web.AppKey("observe", Observability)


def setup_observe(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics_handler)
    app.cleanup_ctx.append(_observers)


async def _observers(app: web.Application) -> AsyncIterator[None]:
    """Runs after the services are up (its clean-up context is added after theirs)."""
    services = app[SERVICES]
    config = services.config
    observed = Observability(
        traces=TraceBook(depth=config.trace_depth),
        metrics=Metrics(),
    )
    if config.trace_dir is not None:
        observed.trace_files = TraceFileWriter(config.trace_dir)
        await observed.trace_files.start()
    observed.metrics.follow_held_requests(services.pushhub.waiting_count)
    services.store.add_audit_listener(observed.metrics.on_audit)
    logs.configure(config.log_level)
    services.observers.extend([
        TraceRecorder(observed.traces, observed.trace_files),
        observed.metrics,
        logs.RequestLogger(),
    ])
    app[OBSERVE] = observed
    try:
        yield
    finally:
        if observed.trace_files is not None:
            await observed.trace_files.stop()


async def metrics_handler(request: web.Request) -> web.Response:
    """``GET /metrics``: Prometheus text, device counts read from the store just now."""
    body = await request.app[OBSERVE].metrics.scrape(request.app[SERVICES].store)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
