"""Background tasks of the gateway (the access scheduler, the leader, the cross-process
bridge, the trace writer, the live page feed) share one way to stop."""
from __future__ import annotations

import asyncio
import contextlib


async def cancel_and_wait(task: asyncio.Task | None) -> None:
    """Cancel ``task`` and wait until it has really stopped, so that nothing it holds (a
    connection, a file) outlives the caller's clean-up. None is nothing to stop."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
