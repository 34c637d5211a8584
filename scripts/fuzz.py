"""`make fuzz`: a million hostile EAS bodies through the WBXML decoder and the dispatcher.

    python scripts/fuzz.py [--bodies 1000000] [--seed 1] [--processes 2] [--replay N]

Body number ``n`` is made by the seeded mutator of tests/fuzz/hostile.py from
``random.Random(seed * 10**9 + n)``, so any body can be made again (``--replay n`` prints
it, decoded, with the gateway's answer). Each body goes through ``protocol.wbxml.decode``
and then, with the command it was made for, through the gateway's real request handler
(`gateway.http.activesync`) over a demo database of its own, in process and without
sockets: authenticated, with the device's real policy key, SyncKeys and folders.

A failure is an exception the decoder raises other than WBXMLError, an HTTP 5xx the
protocol does not prescribe (`hostile.is_protocol_answer`), a traceback in an answer, a
WBXML answer that does not decode, or a command other than Ping and Sync still unanswered
after a minute. The run prints the count and the answers by status,
lists the failures with their numbers, and exits 1 when there is any.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))

import hostile  # noqa: E402
from aiohttp import web  # noqa: E402
from aiohttp.streams import StreamReader  # noqa: E402
from aiohttp.test_utils import make_mocked_request  # noqa: E402

from gateway import http  # noqa: E402
from gateway.app import create_app  # noqa: E402
from gateway.config import Config  # noqa: E402
from protocol import wbxml  # noqa: E402
from protocol.xml import E, child, children, text  # noqa: E402
from store import open_store  # noqa: E402
from store.fixtures import load_demo_tenant  # noqa: E402

USER, PASSWORD = "alice@contoso.com", "demo-pass"
DEVICES = (("FUZZ0001", "iPhone", "16.1"), ("FUZZ0002", "Android", "14.1"),
           ("FUZZ0003", "Android", "12.1"))
HELD_AFTER_S = 3.0  # a Ping or a waiting Sync still running then is "held" (and let go)
UNANSWERED_AFTER_S = 60.0  # any other command still running then is a failure
CONCURRENCY = 16


@dataclass
class Tally:
    bodies: int = 0
    decoded: Counter = field(default_factory=Counter)
    answers: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.bodies += other.bodies
        self.decoded.update(other.decoded)
        self.answers.update(other.answers)
        self.failures.extend(other.failures)


# --- the gateway in process ----------------------------------------------------------
class Gateway:
    """The real app, started without a listener; requests are handed to its handler."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.runner: web.AppRunner | None = None
        self.app: web.Application | None = None
        self.keys: dict[str, str] = {}
        self.state: dict[str, dict[str, str]] = {}

    async def start(self) -> None:
        db_url = f"sqlite+aiosqlite:///{self.directory / 'fuzz.db'}"
        store = await open_store(db_url)
        await load_demo_tenant(store)
        await store.close()
        config = Config(db_url=db_url, http=None, https=None, var_dir=self.directory / "var",
                        admin_token="fuzz", clock_mode="manual", ping_min_heartbeat_s=1,
                        ping_max_heartbeat_s=2, trace_dir=None)
        self.app = create_app(config)
        self.runner = web.AppRunner(self.app, handle_signals=False, shutdown_timeout=1.0)
        await self.runner.setup()
        for device, kind, version in DEVICES:
            self.keys[device] = await self._provision(device, kind, version)
            self.state[device] = await self._sync_state(device, kind, version)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def post(self, query: str, body: bytes, headers: dict[str, str]) -> web.Response:
        assert self.app is not None
        connection = _Connection()
        payload = StreamReader(connection, 2**16, loop=asyncio.get_running_loop())
        payload.feed_data(body)
        payload.feed_eof()
        request = make_mocked_request(
            "POST", f"/Microsoft-Server-ActiveSync?{query}",
            headers={"Authorization": _basic(), "Content-Length": str(len(body)), **headers},
            app=self.app, payload=payload, client_max_size=2**26, protocol=connection,
            transport=connection.transport, writer=connection.writer)
        return await http.activesync(request)

    async def command(self, device: str, kind: str, version: str, name: str,
                      document, key: str | None = None):
        query = urlencode({"Cmd": name, "User": USER, "DeviceId": device, "DeviceType": kind})
        headers = {"MS-ASProtocolVersion": version,
                   "Content-Type": "application/vnd.ms-sync.wbxml"}
        if key or self.keys.get(device):
            headers["X-MS-PolicyKey"] = key or self.keys[device]
        answer = await self.post(query, wbxml.encode(document), headers)
        return wbxml.decode(answer.body)

    async def _provision(self, device: str, kind: str, version: str) -> str:
        policy = E("Provision:Policy", E("Provision:PolicyType", "MS-EAS-Provisioning-WBXML"))
        first = await self.command(device, kind, version, "Provision",
                                   E("Provision:Provision", E("Provision:Policies", policy)))
        temporary = first.findtext(".//{Provision:}PolicyKey")
        policy.append(E("Provision:PolicyKey", temporary))
        policy.append(E("Provision:Status", "1"))
        second = await self.command(device, kind, version, "Provision",
                                    E("Provision:Provision", E("Provision:Policies", policy)),
                                    key=temporary)
        return second.findtext(".//{Provision:}PolicyKey")

    async def _sync_state(self, device: str, kind: str, version: str) -> dict[str, str]:
        hierarchy = await self.command(device, kind, version, "FolderSync", E(
            "FolderHierarchy:FolderSync", E("FolderHierarchy:SyncKey", "0")))
        state = {"": text(hierarchy, "FolderHierarchy:SyncKey")}
        for add in children(child(hierarchy, "FolderHierarchy:Changes"), "FolderHierarchy:Add"):
            if text(add, "FolderHierarchy:Type") in ("2", "12"):
                folder = text(add, "FolderHierarchy:ServerId")
                answer = await self.command(device, kind, version, "Sync", E(
                    "AirSync:Sync", E("AirSync:Collections", E(
                        "AirSync:Collection", E("AirSync:SyncKey", "0"),
                        E("AirSync:CollectionId", folder)))))
                state[folder] = answer.findtext(".//{AirSync:}Collection/{AirSync:}SyncKey")
        return state


class _Transport:
    """The socket side of a request, as aiohttp's Request asks about it."""

    _EXTRA = {"peername": ("192.0.2.7", 50000), "sockname": ("127.0.0.1", 443)}

    def get_extra_info(self, name: str, default: object = None) -> object:
        return self._EXTRA.get(name, default)

    def is_closing(self) -> bool:
        return False


class _Writer:
    """Never written to: the handler returns its Response unprepared."""

    def __init__(self, transport: _Transport):
        self.transport = transport


class _Connection:
    """What a Request and its body stream ask of their connection; plain objects rather
    than unittest.mock's, which cost more than the request itself."""

    max_field_size = max_line_length = 8190
    max_headers = 128
    peername = _Transport._EXTRA["peername"]
    sockname = _Transport._EXTRA["sockname"]
    ssl_context = None
    _reading_paused = False

    def __init__(self) -> None:
        self.transport = _Transport()
        self.writer = _Writer(self.transport)

    def pause_reading(self, *args: object, **kwargs: object) -> None: ...

    def resume_reading(self, *args: object, **kwargs: object) -> None: ...


def _basic() -> str:
    import aiohttp

    return aiohttp.encode_basic_auth(USER, PASSWORD)


# --- one body -------------------------------------------------------------------------
def make_request(gateway: Gateway, seed: int, number: int) -> tuple[str, str, bytes, dict]:
    rng = random.Random(seed * 10**9 + number)
    device, kind, version = rng.choice(DEVICES)
    command, body = hostile.hostile_body(rng, hostile.fit_to_mailbox(gateway.state[device]))
    query = {"Cmd": command, "User": USER, "DeviceId": device, "DeviceType": kind,
             **hostile.hostile_parameters(rng)}
    headers = {"MS-ASProtocolVersion": version,
               "X-MS-PolicyKey": gateway.keys[device] if rng.random() < 0.9 else "1234",
               "Content-Type": "application/vnd.ms-sync.wbxml"}
    return command, urlencode(query), body, headers


def decode_outcome(body: bytes) -> str:
    try:
        wbxml.decode(body)
    except wbxml.WBXMLError:
        return "refused (WBXMLError)"
    except Exception as exc:  # the failure this run looks for
        return f"CRASH {type(exc).__name__}: {exc}"
    return "decoded"


async def dispatch_outcome(gateway: Gateway, command: str, query: str, body: bytes,
                           headers: dict) -> str:
    try:
        patience = HELD_AFTER_S if command in ("Ping", "Sync") else UNANSWERED_AFTER_S
        response = await asyncio.wait_for(gateway.post(query, body, headers), patience)
    except TimeoutError:
        return "held" if command in ("Ping", "Sync") else f"CRASH {command} not answered"
    except Exception as exc:
        return f"CRASH {type(exc).__name__}: {exc}"
    payload = response.body or b""
    reason = response.headers.get(http.REASON_HEADER, "")
    if not hostile.is_protocol_answer(command, response.status, reason):
        return f"CRASH HTTP {response.status} {reason}"
    if b"Traceback" in payload:
        return "CRASH traceback in the answer"
    if payload and response.content_type == http.WBXML_CONTENT_TYPE:
        try:
            document = wbxml.decode(payload)
        except wbxml.WBXMLError as exc:
            return f"CRASH the answer is not WBXML: {exc}"
        status = next((el.text for el in document if isinstance(el.tag, str)
                       and el.tag.endswith("}Status")), "-")
        return f"HTTP {response.status} Status {status}"
    if response.status >= 500:  # one the protocol prescribes: say which
        return f"HTTP {response.status} ({command}: {reason})"
    return f"HTTP {response.status}"


# --- a run ----------------------------------------------------------------------------
async def run_range(seed: int, first: int, count: int, progress: bool) -> Tally:
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="easgate-fuzz-", dir=_scratch()) as directory:
        gateway = Gateway(Path(directory))
        await gateway.start()
        queue: asyncio.Queue[int | None] = asyncio.Queue(maxsize=CONCURRENCY * 4)
        started = time.monotonic()

        async def worker() -> None:
            while (number := await queue.get()) is not None:
                command, query, body, headers = make_request(gateway, seed, number)
                decoded = decode_outcome(body)
                answered = await dispatch_outcome(gateway, command, query, body, headers)
                tally.bodies += 1
                tally.decoded[decoded] += 1
                tally.answers[f"{command}: {answered}" if answered.startswith("CRASH")
                              else answered] += 1
                for outcome in (decoded, answered):
                    if outcome.startswith("CRASH"):
                        failure = f"body {number} ({command}): {outcome[6:]}"
                        tally.failures.append(failure)
                        print(f"  FAILURE {failure}", flush=True)  # a cut run keeps it

        workers = [asyncio.create_task(worker()) for _ in range(CONCURRENCY)]
        for number in range(first, first + count):
            await queue.put(number)
            if progress and number and number % max(count // 20, 1) == 0:
                rate = (number - first) / (time.monotonic() - started)
                print(f"  {number - first:>9,} bodies  {rate:,.0f}/s", flush=True)
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
        await gateway.stop()
    return tally


def _scratch() -> str | None:
    """Memory-backed storage when there is some: the database's fsyncs are not what is
    being fuzzed, and they would set the pace."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() else None


def _run_part(args: tuple[int, int, int, bool]) -> Tally:
    logging.disable(logging.CRITICAL)  # the request log of a million bodies is not news
    seed, first, count, progress = args
    return asyncio.run(run_range(seed, first, count, progress))


def report(tally: Tally, seconds: float) -> None:
    print(f"\n{tally.bodies:,} bodies fuzzed in {seconds:,.0f} s "
          f"({tally.bodies / max(seconds, 1e-9):,.0f}/s)")
    print("\ndecoder:")
    for outcome, count in tally.decoded.most_common():
        print(f"  {count:>10,}  {outcome}")
    print("\ndispatcher, answers by status:")
    for outcome, count in sorted(tally.answers.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {count:>10,}  {outcome}")
    print(f"\nfailures: {len(tally.failures)}")
    for line in tally.failures[:50]:
        print(f"  {line}")


async def replay(seed: int, number: int) -> None:
    from protocol.xml import to_pretty_xml

    with tempfile.TemporaryDirectory(prefix="easgate-fuzz-") as directory:
        gateway = Gateway(Path(directory))
        await gateway.start()
        command, query, body, headers = make_request(gateway, seed, number)
        print(f"body {number}: {command}  ?{query}\n{body.hex()}")
        try:
            print(to_pretty_xml(wbxml.decode(body)))
        except wbxml.WBXMLError as exc:
            print(f"(not WBXML: {exc})")
        print(await dispatch_outcome(gateway, command, query, body, headers))
        await gateway.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/fuzz.py", description=__doc__.split("\n")[0])
    parser.add_argument("--bodies", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--processes", type=int, default=multiprocessing.cpu_count())
    parser.add_argument("--replay", type=int, metavar="N", help="make body N again and show it")
    args = parser.parse_args(argv)
    if args.replay is not None:
        asyncio.run(replay(args.seed, args.replay))
        return 0
    processes = max(1, min(args.processes, args.bodies))
    share = -(-args.bodies // processes)
    parts = [(args.seed, n * share, min(share, args.bodies - n * share), n == 0)
             for n in range(processes) if n * share < args.bodies]
    print(f"fuzzing {args.bodies:,} bodies (seed {args.seed}) in {len(parts)} process(es)")
    started = time.monotonic()
    tally = Tally()
    if len(parts) == 1:
        tally.add(_run_part(parts[0]))
    else:
        with multiprocessing.get_context("spawn").Pool(len(parts)) as pool:
            for part in pool.imap_unordered(_run_part, parts):
                tally.add(part)
    report(tally, time.monotonic() - started)
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
