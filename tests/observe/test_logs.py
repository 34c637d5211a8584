"""One logfmt line per request; client-chosen values cannot forge lines or keys."""
import logging

from observe_helpers import sync_exchange

from gateway.observe.logs import LOGGER_NAME, RequestLogger, configure, logfmt


def test_logfmt_quotes_what_needs_quoting():
    line = logfmt("request", command="Sync", device='evil"\nrequest status=200', ms=12.345, empty="")
    assert line == 'request command=Sync device="evil\\"\\nrequest status=200" ms=12.3'
    assert "\n" not in line


async def test_one_line_per_request_with_its_facts(caplog):
    configure("INFO")
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        await RequestLogger().on_exchange(sync_exchange(eas_status=1))
    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        "request command=Sync user=alice@contoso.com device=ABC123 status=200 eas_status=1 ms=12.3"
    )


async def test_failures_log_louder_and_the_level_comes_from_config(caplog):
    configure("WARNING")
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
        await RequestLogger().on_exchange(sync_exchange())  # info: not shown at WARNING
        await RequestLogger().on_exchange(sync_exchange(response_status=401))
        await RequestLogger().on_exchange(sync_exchange(response_status=500))
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.ERROR]
    configure("INFO")
