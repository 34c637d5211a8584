"""The trace settings reach the configuration from a TOML file and from the environment."""
from pathlib import Path

from gateway.config import Config


def test_trace_settings_have_working_defaults():
    config = Config.load(env={})
    assert config.trace_depth == 50
    assert config.trace_dir is None


def test_trace_settings_come_from_the_environment():
    config = Config.load(env={"EASGATE_TRACE_DEPTH": "7", "EASGATE_TRACE_DIR": "var/traces"})
    assert config.trace_depth == 7
    assert config.trace_dir == Path("var/traces")


def test_trace_settings_come_from_a_toml_file(tmp_path):
    path = tmp_path / "easgate.toml"
    path.write_text('trace_depth = 3\ntrace_dir = "traces"\n', encoding="utf-8")
    config = Config.load(path, env={})
    assert (config.trace_depth, config.trace_dir) == (3, Path("traces"))
