"""The admin API against its own OpenAPI document.

The document and the routes agree (every admin route documented, every documented route
served), and schemathesis — generating requests from the document — finds no 5xx and no
answer outside the documented statuses, content types and schemas. Examples per operation
are bounded so the test stays within seconds.
"""
import asyncio

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from gateway.admin.openapi import BASE_PATH, documented_routes

EXAMPLES_PER_OPERATION = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def served_routes(app) -> set[tuple[str, str]]:
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith(BASE_PATH)
        and route.method not in ("HEAD", "OPTIONS")
    }


async def test_every_admin_route_is_documented_and_every_documented_route_served(live_server):
    assert served_routes(live_server.app) == documented_routes()


async def test_the_document_is_served_behind_the_token(live_server):
    status, document = await live_server.admin("GET", "/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.0")
    schemathesis.openapi.from_dict(document)  # a document schemathesis accepts


@pytest.mark.parametrize("path", ["/devices/{}", "/devices/{}/events", "/devices/{}/trace"])
async def test_ids_beyond_64_bits_are_unknown_devices_not_server_errors(live_server, path):
    status, error = await live_server.admin("GET", path.format(2**64 + 1))
    assert status == 404 and error["error"] in ("unknown-device", "not-found")


def exercise(schema, base_url: str, token: str) -> list[str]:
    """Run every operation's generated cases; the failures as readable lines."""
    failures: list[str] = []
    for result in schema.get_all_operations():
        check_operation(result.ok(), base_url, token, failures)
    return failures


def check_operation(operation, base_url: str, token: str, failures: list[str]) -> None:
    name = f"{operation.method.upper()} {operation.path}"

    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case):
        response = case.call(base_url=base_url, headers={"Authorization": f"Bearer {token}"},
                             timeout=10)
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    except (AssertionError, FailureGroup) as failure:  # every operation runs: see them all
        failures.append(f"{name}: {failure}")


async def test_schemathesis_finds_no_server_error_and_no_schema_break(live_server):
    status, document = await live_server.admin("GET", "/openapi.json")
    assert status == 200
    schema = schemathesis.openapi.from_dict(document)
    # The server lives in this event loop; the generated requests run in a thread.
    failures = await asyncio.to_thread(exercise, schema, f"{live_server.http_url}{BASE_PATH}",
                                       live_server.admin_token)
    assert not failures, "\n".join(failures)

