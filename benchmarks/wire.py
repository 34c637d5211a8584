"""A lean HTTP/1.1 load client for the round-trip benchmarks.

Each device's request never changes (it resends its previous SyncKey), so its bytes are built
once and written as they are on one keep-alive connection per device; an answer is read by its
Content-Length and only its status line is looked at. The client then costs a few tens of
microseconds per request instead of the few hundred of a full HTTP client, so on a machine with
few cores the figures measure the servers, not the client sharing their cores.
"""
from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
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


async def read_answer(reader: asyncio.StreamReader) -> int:
    """Read one answer whole; its HTTP status."""
    head = await reader.readuntil(HEADER_END)
    status_line, _, rest = head.partition(b"\r\n")
    length = None
    for line in rest.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        elif name.strip().lower() == b"transfer-encoding":
            raise AnswerError("chunked answers are not read by this client")
    if length is None:
        raise AnswerError(f"no Content-Length in {status_line!r}")
    await reader.readexactly(length)
    return int(status_line.split(b" ", 2)[1])


async def drive(base: str, requests: list[Request], seconds: float,
                warm_up: float = 1.0) -> dict[str, float]:
    """Every request in a loop on its own connection for `seconds` (after `warm_up`);
    requests/s, p50/p99 latency and the count of answers other than 200 over `seconds`,
    and the count of all requests, warm-up included (for costs per request over the run)."""
    latencies: list[float] = []
    errors = 0
    sent = 0
    where = urlsplit(base)

    async def loop_one(request: Request, warm_until: float, until: float) -> None:
        nonlocal errors, sent
        reader, writer = await asyncio.open_connection(where.hostname, where.port)
        try:
            while (now := time.monotonic()) < until:
                started = time.perf_counter()
                writer.write(request.raw)
                status = await read_answer(reader)
                sent += 1
                if now >= warm_until:
                    latencies.append(time.perf_counter() - started)
                    errors += status != 200
        finally:
            writer.close()

    warm_until = time.monotonic() + warm_up
    until = warm_until + seconds
    await asyncio.gather(*(loop_one(r, warm_until, until) for r in requests))
    elapsed = time.monotonic() - warm_until
    quantiles = statistics.quantiles(latencies, n=100)
    return {"requests_per_s": len(latencies) / elapsed, "p50_ms": quantiles[49] * 1000,
            "p99_ms": quantiles[98] * 1000, "errors": errors, "requests": len(latencies),
            "requests_with_warm_up": sent}
