"""The isolation tests run the gateway with short Ping heartbeats."""
from served import limited_server  # noqa: F401  (the fixture)
