"""`easgate wbxml decode|encode`: in-process through the typer app, and once as a real
process, the way a user runs it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lxml import etree
from typer.testing import CliRunner

from gateway.cli import app
from protocol.wbxml import decode, encode
from protocol.wbxml.xmlview import infoset
from protocol.xml import E, sub

EASGATE = [sys.executable, "-m", "gateway.cli"]
ROOT = Path(__file__).resolve().parents[2]


class Done:
    def __init__(self, returncode: int, stdout: bytes, stderr: bytes) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run(*args: str, stdin: bytes = b"") -> Done:
    result = CliRunner().invoke(app, ["wbxml", *args], input=stdin)
    return Done(result.exit_code, result.stdout_bytes, result.stderr_bytes or b"")


def run_process(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([*EASGATE, "wbxml", *args], input=stdin, capture_output=True,
                          cwd=ROOT, timeout=120)


def sample() -> etree._Element:
    root = E("Search:Search")
    store = sub(root, "Search:Store")
    sub(store, "Search:Name", "GAL")
    sub(store, "Search:Query", "Zoë & <friends>")
    sub(sub(store, "Search:Options"), "Search:Range", "0-9")
    sub(root, "Email2:ConversationId", b"\x00\x01\xff")
    sub(root, "GAL:DisplayName", "a\r\nb")
    return root


def test_decode_prints_prefixed_indented_xml(tmp_path):
    body = tmp_path / "search.wbxml"
    body.write_bytes(encode(sample()))
    done = run("decode", str(body))
    assert done.returncode == 0, done.stderr
    xml = done.stdout.decode()
    assert '<Search:Search xmlns:Search="Search:"' in xml
    assert 'xmlns:GAL="GAL:"' in xml and 'xmlns:Email2="Email2:"' in xml
    assert "\n    <Search:Name>GAL</Search:Name>" in xml
    assert infoset(etree.fromstring(done.stdout)) == infoset(sample())


def test_decode_then_encode_gives_the_same_bytes():
    body = encode(sample())
    xml = run("decode", "-", stdin=body).stdout
    assert run("encode", stdin=xml).stdout == body


def test_as_a_process_through_a_pipe():
    body = encode(sample())
    xml = run_process("decode", stdin=body)
    assert xml.returncode == 0, xml.stderr
    assert run_process("encode", "-", stdin=xml.stdout).stdout == body
    failed = run_process("decode", stdin=b"\x03\x01\x6a\x00\x45\x5c")
    assert failed.returncode == 2
    assert failed.stderr == b"error: truncated: 2 element(s) still open (at byte 6)\n"


def test_encode_writes_a_file(tmp_path):
    source = tmp_path / "ping.xml"
    source.write_text('<Ping xmlns="Ping:"><HeartbeatInterval>470</HeartbeatInterval></Ping>')
    target = tmp_path / "ping.wbxml"
    done = run("encode", str(source), "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert decode(target.read_bytes()).findtext("{Ping:}HeartbeatInterval") == "470"


def test_bad_wbxml_prints_the_reason_and_exits_2():
    done = run("decode", stdin=b"\x03\x01\x6a\x00\x45\x5c")
    assert done.returncode == 2
    assert b"still open (at byte 6)" in done.stderr
    assert b"Traceback" not in done.stderr


def test_unencodable_xml_exits_2():
    done = run("encode", stdin=b'<Sync xmlns="AirSync:"><Nope/></Sync>')
    assert done.returncode == 2
    assert b"no MS-ASWBXML code page holds this tag (/AirSync:Sync/AirSync:Nope)" in done.stderr


def test_malformed_xml_exits_2():
    done = run("encode", stdin=b"<Sync xmlns='AirSync:'>")
    assert done.returncode == 2 and b"not well-formed XML" in done.stderr


def test_missing_file_exits_2(tmp_path):
    done = run("decode", str(tmp_path / "absent.wbxml"))
    assert done.returncode == 2 and b"cannot read" in done.stderr
