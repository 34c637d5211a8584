"""Traces kept on disk as JSON lines, one file per device (``device-<id>.jsonl``).

Writing happens off the request path: entries go into a bounded queue and a background task
appends them in batches from a worker thread, so a slow disk never slows a client. When the
queue is full (the disk cannot keep up) entries are dropped and counted rather than letting
memory grow.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from pathlib import Path

from gateway.observe.traces import TraceEntry
from gateway.tasks import cancel_and_wait

log = logging.getLogger("easgate.traces")

QUEUE_LIMIT = 10_000


class TraceFileWriter:
    def __init__(self, directory: str | Path, queue_limit: int = QUEUE_LIMIT) -> None:
        self.directory = Path(directory)
        self.dropped = 0
        self._queue: asyncio.Queue[TraceEntry] = asyncio.Queue(maxsize=queue_limit)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await asyncio.to_thread(self.directory.mkdir, parents=True, exist_ok=True)
        self._task = asyncio.create_task(self._run(), name="trace-file-writer")

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None:
            return
        await self._queue.join()
        task, self._task = self._task, None
        await cancel_and_wait(task)

    def submit(self, entry: TraceEntry) -> None:
        try:
            self._queue.put_nowait(entry)
        except asyncio.QueueFull:
            self.dropped += 1

    def path_for(self, device_pk: int | None) -> Path:
        # Only our own integer ids reach the file name, never a client-chosen DeviceId.
        name = f"device-{device_pk}.jsonl" if device_pk is not None else "no-device.jsonl"
        return self.directory / name

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await asyncio.to_thread(self._append, batch)
            except OSError as error:
                log.error("trace files not written: %s", error)
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _append(self, batch: list[TraceEntry]) -> None:
        lines: dict[Path, list[str]] = defaultdict(list)
        for entry in batch:
            lines[self.path_for(entry.device_pk)].append(
                json.dumps(entry.as_json(), ensure_ascii=False)
            )
        for path, chunk in lines.items():
            with path.open("a", encoding="utf-8") as handle:
                handle.write("\n".join(chunk) + "\n")
