"""The HTTP fuzz test runs the gateway with their own settings."""
from served import limited_server  # noqa: F401  (the fixture)
