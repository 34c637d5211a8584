"""``easgate serve`` as a real process: it prints its URLs and token, answers on the ports
it was given, makes its certificate and token under ./var/, honours --no-demo, refuses bad
options with one line, and stops cleanly on SIGINT."""
from __future__ import annotations

import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from server_fixtures import basic_auth

EASGATE = [sys.executable, "-c", "from gateway.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(tmp_path: Path, *options: str) -> tuple[subprocess.Popen, str]:
    """Start ``easgate serve`` in ``tmp_path`` and read its announcement."""
    process = subprocess.Popen(
        [*EASGATE, "serve", "--db", f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}", *options],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.strip().startswith("database:"):
            return process, "".join(lines)
    process.kill()
    raise AssertionError("serve did not announce itself: " + "".join(lines)
                         + process.stderr.read())


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()


def options(url: str, user: str = "alice@contoso.com", context=None) -> int:
    request = urllib.request.Request(url + "/Microsoft-Server-ActiveSync", method="OPTIONS",
                                     headers={"Authorization": basic_auth(user)})
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_serve_on_given_ports_with_self_signed_tls(tmp_path):
    http, https = free_port(), free_port()
    process, announced = start(tmp_path, "--http", f"127.0.0.1:{http}",
                               "--https", f"127.0.0.1:{https}", "--clock", "manual")
    try:
        token = (tmp_path / "var" / "admin-token").read_text().strip()
        assert f"http://127.0.0.1:{http}/Microsoft-Server-ActiveSync" in announced
        assert f"https://127.0.0.1:{https}/Microsoft-Server-ActiveSync" in announced
        assert f"admin token: {token}" in announced and len(token) >= 32
        assert options(f"http://127.0.0.1:{http}") == 200  # the demo tenant was loaded
        cert = tmp_path / "var" / "tls" / "easgate-cert.pem"
        context = ssl.create_default_context(cafile=str(cert))
        assert options(f"https://127.0.0.1:{https}", context=context) == 200
    finally:
        assert stop(process) == 0


def test_no_demo_and_given_token(tmp_path):
    http = free_port()
    process, announced = start(tmp_path, "--http", f"127.0.0.1:{http}", "--https", "off",
                               "--admin-token", "my-token", "--no-demo")
    try:
        assert "admin token: my-token" in announced and "https://" not in announced.split(
            "admin")[0]
        assert options(f"http://127.0.0.1:{http}") == 401  # nobody exists
        assert not (tmp_path / "var" / "admin-token").exists()
    finally:
        assert stop(process) == 0


@pytest.mark.parametrize("bad", [["--http", "nonsense"], ["--clock", "sideways"],
                                 ["--workers", "2"], ["--http", "off", "--https", "off"],
                                 ["--config", "missing.toml"]])
def test_bad_options_are_one_line_and_exit_1(tmp_path, bad):
    result = subprocess.run([*EASGATE, "serve", "--db", f"sqlite+aiosqlite:///{tmp_path}/x.db",
                             *bad], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    if bad[0] != "--workers":  # typer checks --workers' range itself
        assert result.stderr.strip().startswith("error:") and "\n" not in result.stderr.strip()


def test_port_in_use_is_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*EASGATE, "serve", "--db", f"sqlite+aiosqlite:///{tmp_path}/x.db",
             "--http", f"127.0.0.1:{port}", "--https", "off", "--no-demo"],
            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: cannot listen")
