"""A lean HTTP/1.1 load client for the round-trip benchmarks.

Each device's request never changes (it resends its previous SyncKey), so its bytes are built
once and written as they are on one keep-alive connection per device; an answer is read by its
Content-Length and only its status line is looked at, all in the callbacks of an asyncio
protocol (no task or coroutine per request). The client then costs a few tens of
microseconds per request instead of the few hundred of a full HTTP client, so on a machine with
few cores the figures measure the servers, not the client sharing their cores.
"""
from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

HEADER_END = b"\r\n\r\n"


@dataclass(frozen=True)
class Request:
    """One device's fixed request: the bytes sent again and again."""

    raw: bytes

    @classmethod
    def post(cls, base: str, path: str, params: dict[str, str], headers: dict[str, str],
             body: bytes) -> Request:
        where = urlsplit(base)
        head = [f"POST {path}?{urlencode(params)} HTTP/1.1", f"Host: {where.netloc}",
                f"Content-Length: {len(body)}", "Connection: keep-alive"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        return cls(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


class AnswerError(RuntimeError):
    """The server answered something this client does not read (chunked, closed, garbled)."""


@dataclass
class Tally:
    """What the connections saw: latencies and refusals after the warm-up, all answers."""

    warm_until: float
    until: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    answers: int = 0

    def record(self, status: int, started: float, started_at: float) -> None:
        self.answers += 1
        if started_at >= self.warm_until:
            self.latencies.append(time.perf_counter() - started)
            self.errors += status != 200


class Connection(asyncio.Protocol):
    """One keep-alive connection writing its request again each time an answer is read
    whole, until the tally's end; all in the protocol's callbacks, no task per request."""

    def __init__(self, raw: bytes, tally: Tally, finished: asyncio.Future[None]) -> None:
        self.raw, self.tally, self.finished = raw, tally, finished
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.started = self.started_at = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._send()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        try:
            answer = answer_length(self.buffer)
        except AnswerError as error:
            self._finish(error)
            return
        if answer is None or len(self.buffer) < answer[1]:
            return
        status, length = answer
        del self.buffer[:length]
        self.tally.record(status, self.started, self.started_at)
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(AnswerError(f"the server closed the connection ({exc})"))

    def _send(self) -> None:
        assert self.transport is not None
        self.started_at = time.monotonic()
        if self.started_at >= self.tally.until:
            self._finish(None)
            return
        self.started = time.perf_counter()
        self.transport.write(self.raw)

    def _finish(self, error: Exception | None) -> None:
        if not self.finished.done():
            if error is None:
                self.finished.set_result(None)
            else:
                self.finished.set_exception(error)
        if self.transport is not None:
            self.transport.close()


def answer_length(buffer: bytearray) -> tuple[int, int] | None:
    """(HTTP status, length of the whole answer) once its head is in ``buffer``."""
    end = buffer.find(HEADER_END)
    if end < 0:
        return None
    status_line, _, rest = bytes(buffer[:end]).partition(b"\r\n")
    length = None
    for line in rest.split(b"\r\n"):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            raise AnswerError("chunked answers are not read by this client")
    if length is None:
        raise AnswerError(f"no Content-Length in {status_line!r}")
    return int(status_line.split(b" ", 2)[1]), end + len(HEADER_END) + length


async def drive(base: str, requests: list[Request], seconds: float,
                warm_up: float = 1.0) -> dict[str, float]:
    """Every request in a loop on its own connection for `seconds` (after `warm_up`);
    requests/s, p50/p99 latency and the count of answers other than 200 over `seconds`,
    and the count of all requests, warm-up included (for costs per request over the run)."""
    loop = asyncio.get_running_loop()
    where = urlsplit(base)
    warm_until = time.monotonic() + warm_up
    tally = Tally(warm_until, warm_until + seconds)
    finished = []
    for request in requests:
        done: asyncio.Future[None] = loop.create_future()
        await loop.create_connection(lambda r=request, d=done: Connection(r.raw, tally, d),
                                     where.hostname, where.port)
        finished.append(done)
    await asyncio.gather(*finished)
    elapsed = time.monotonic() - warm_until
    quantiles = statistics.quantiles(tally.latencies, n=100)
    return {"requests_per_s": len(tally.latencies) / elapsed, "p50_ms": quantiles[49] * 1000,
            "p99_ms": quantiles[98] * 1000, "errors": tally.errors,
            "requests": len(tally.latencies), "requests_with_warm_up": tally.answers}
