"""Traces written as JSON lines, one file per device, off the request path."""
import json

from observe_helpers import PASSWORD, sync_exchange

from gateway.observe.tracefile import TraceFileWriter
from gateway.observe.traces import TraceBook, TraceRecorder


async def test_every_exchange_lands_in_its_device_file(tmp_path):
    writer = TraceFileWriter(tmp_path / "traces")
    await writer.start()
    recorder = TraceRecorder(TraceBook(), writer)
    for pk in (1, 2, 1):
        await recorder.on_exchange(sync_exchange(device_pk=pk))
    await recorder.on_exchange(sync_exchange(device_pk=None, response_status=401))
    await writer.stop()
    lines = (tmp_path / "traces" / "device-1.jsonl").read_text().splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0])["command"] == "Sync"
    assert len((tmp_path / "traces" / "device-2.jsonl").read_text().splitlines()) == 1
    assert (tmp_path / "traces" / "no-device.jsonl").exists()
    everything = "".join(p.read_text() for p in (tmp_path / "traces").iterdir())
    assert PASSWORD not in everything


async def test_a_full_queue_drops_and_counts_instead_of_growing(tmp_path):
    writer = TraceFileWriter(tmp_path, queue_limit=2)  # not started: nothing drains it
    recorder = TraceRecorder(TraceBook(), writer)
    for _ in range(5):
        await recorder.on_exchange(sync_exchange())
    assert writer.dropped == 3
