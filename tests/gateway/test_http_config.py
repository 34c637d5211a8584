"""gateway.config and gateway.auth without a server: where settings come from, how bad
ones are refused, the admin token kept under var/, and Basic credentials decoding."""
from __future__ import annotations

import base64

import pytest

from gateway.auth import parse_basic
from gateway.config import Address, Config, ConfigError, with_admin_token


def test_defaults_run_with_nothing_set():
    config = Config.load(env={})
    assert config.http == Address("127.0.0.1", 8080)
    assert config.https == Address("127.0.0.1", 8443)
    assert config.db_url.startswith("sqlite+aiosqlite:///")
    assert config.base_url == "http://127.0.0.1:8080"


def test_file_then_environment_then_options(tmp_path):
    path = tmp_path / "easgate.toml"
    path.write_text('http = "0.0.0.0:9000"\nhttps = "off"\nmax_body_bytes = 2048\n'
                    'public_url = "https://mail.example.org/"\n')
    env = {"EASGATE_MAX_BODY_BYTES": "4096", "EASGATE_DB": "sqlite+aiosqlite:///x.db"}
    config = Config.load(path, env=env, http="127.0.0.1:7000", clock_mode=None)
    assert config.http == Address("127.0.0.1", 7000)  # the option wins
    assert config.https is None
    assert config.max_body_bytes == 4096  # the environment beats the file
    assert config.db_url == "sqlite+aiosqlite:///x.db"
    assert config.base_url == "https://mail.example.org"


@pytest.mark.parametrize("setting", [
    {"http": "nowhere"}, {"https": "host:99999"}, {"max_body_bytes": "-1"},
    {"workers": "many"}, {"clock_mode": "sideways"}, {"load_demo": "perhaps"},
])
def test_bad_settings_name_themselves(setting):
    with pytest.raises(ConfigError) as caught:
        Config.load(env={}, **setting)
    assert next(iter(setting)).split("_")[0] in str(caught.value)


def test_unknown_or_broken_file(tmp_path):
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('colour = "blue"\n')
    with pytest.raises(ConfigError, match="colour"):
        Config.load(unknown, env={})
    broken = tmp_path / "broken.toml"
    broken.write_text("http = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Config.load(broken, env={})
    with pytest.raises(ConfigError, match="cannot read"):
        Config.load(tmp_path / "absent.toml", env={})


def test_admin_token_is_made_once_and_kept(tmp_path):
    config = Config(var_dir=tmp_path / "var")
    first = with_admin_token(config).admin_token
    assert first and len(first) >= 32
    assert (tmp_path / "var" / "admin-token").stat().st_mode & 0o077 == 0
    assert with_admin_token(config).admin_token == first
    assert with_admin_token(config.replace(admin_token="given")).admin_token == "given"


def header(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


def test_basic_credentials():
    assert parse_basic(header(b"CONTOSO\\alice:pa:ss")).login == "CONTOSO\\alice"
    assert parse_basic(header(b"CONTOSO\\alice:pa:ss")).password == "pa:ss"
    assert parse_basic(header("bob:päss".encode())).password == "päss"
    assert parse_basic(header("bob:päss".encode("latin-1"))).password == "päss"
    for bad in (None, "", "Bearer abc", "Basic", "Basic !!!", header(b"no-colon"),
                header(b":nobody")):
        assert parse_basic(bad) is None, bad
