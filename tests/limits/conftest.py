"""The abuse-limit tests run the gateway with their own settings."""
from served import limited_server  # noqa: F401  (the fixture)
