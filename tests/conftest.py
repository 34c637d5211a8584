"""Project-wide pytest configuration: only the shared fixture plugins are registered here."""
import sys
from pathlib import Path

# tests/ is not a package: make its plugin modules importable by name.
sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = ["fixtures_store", "server_fixtures"]
